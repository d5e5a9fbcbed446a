#!/usr/bin/env python3
"""`make bench-scale`: models larger than one circuit, segmented and aggregated, beside EZKL.

For each model of bench/models/make_scale_models.py (generated into bench/models/scale/ when
missing, with .venv-torch): zkinfer compile --max-k, inputs private (the segment plan: per segment k, columns,
estimated memory), setup (segment keys + aggregation keys), prove with 1 and with 2 parallel
provers (segments, then aggregation), verify, then on a real anvil: deploy, the verifier's gas for
the aggregated proof (a transaction straight to it), and submit through the oracle (`ok` when it is
accepted). Accuracy against onnxruntime. EZKL runs the same model in the same script (its steps
as in bench/harness.py, each with BENCH_STEP_TIMEOUT): its times and memory, or how it fails.

Per step: wall seconds and the step's own peak RSS (wait4). Writes bench/scale.md and
bench/scale.json (per model: params, segments, prove_s, peak_rss_mib, verify_gas, max_abs_err,
ok, and the details). A benchmark, not a test: CI does not run it.

    python3 bench/scale.py [--max-k K] [--aggregation-k K] [--aggregation-root-k K]
                           [--skip-ezkl | --ezkl-only]
                           [--reuse-build] [--jobs 1,2 | --jobs 1 | --jobs 2] [NAME ...]

--reuse-build keeps an earlier run's build of the model (bench/out/scale/zkinfer/NAME/build: its
compile and segment keys, whose figures scale.json holds) and makes only the aggregation keys
again: for a change to aggregation alone, without an hour of compile and segment keygen. The
table says which rows reused what.

--jobs 2 measures the 2-prover run alone, on a fresh build: the 1-prover figures (and its
profile) are the earlier row's in scale.json, kept only when this compile gives the same segment
plan; the row then says so (`prove_1_from_earlier_run`).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402  (the step runner, EZKL steps and accuracy of `make bench`)

ROOT = os.path.dirname(HERE)
MODELS = os.path.join(HERE, "models", "scale")
OUT = os.path.join(HERE, "out", "scale")
TOOLS = os.path.join(ROOT, ".tools", "bin")
KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ADDR = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
NAMES = ["mlp_wide", "mlp_deep", "resnet_cnn", "resnet_5m"]
# Private inputs: the statement is the outputs and the subject (1,024 packed input words would
# otherwise dominate calldata and the verifier's instance work). Outputs are public, except where a
# model has too many to deploy a verifier for (1,024 instances make a verifier past EIP-170): there
# the statement carries their Poseidon commitment, and `prove --outputs` the values.
COMPILE_FLAGS = ["--input-visibility", "private"]
MANY_OUTPUTS = 64


# A convolution is laid out as a sparse linear map (three cells a term): one 3x3 conv of 16
# channels at 32x32 needs more than 4 advice columns at 2^21 rows, so the CNN gets 8. One
# 1024x4096 Gemm (4.2M multiply-accumulates) does not fit 2^21 rows in the default 4 columns
# either ("cannot be cut further"): the MLPs get 16.
# resnet_5m's 512-channel 3x3 conv at 2x2 is 9.4M terms: with --max-columns 16 and --max-k 21 it
# compiles (700 s, 2.5 GiB) into 8 segments of k 17-20 and 22-34 columns, that conv alone one of
# k 20 and 30 columns.
EXTRA_FLAGS = {"resnet_cnn": ["--max-columns", "8"], "resnet_5m": ["--max-columns", "16"],
               "mlp_wide": ["--max-columns", "16"],
               "mlp_deep": ["--max-columns", "16"]}


def compile_flags(name):
    outputs = 1
    for d in json.load(open(model(name, "meta.json")))["output_shape"]:
        outputs *= d
    hashed = ["--output-visibility", "hashed"] if outputs > MANY_OUTPUTS else []
    return COMPILE_FLAGS + hashed + EXTRA_FLAGS.get(name, [])
ENV = dict(os.environ, PATH=f"{TOOLS}:{os.environ['PATH']}", ZKINFER_SOLC=os.path.join(TOOLS, "solc"),
           ZKINFER_CACHE=os.path.join(OUT, "cache"))


def model(name, ext):
    return os.path.join(MODELS, f"{name}.{ext}")


def ensure_models(names):
    missing = [n for n in names if not os.path.exists(model(n, "meta.json"))]
    if missing:
        py = os.path.join(ROOT, ".venv-torch", "bin", "python")
        if not os.path.exists(py):
            sys.exit("bench/models/scale is missing models and .venv-torch is absent: see "
                     "bench/models/make_scale_models.py")
        subprocess.run([py, os.path.join(HERE, "models", "make_scale_models.py"), *missing], check=True)


def zk(*args):
    out, wall, rss, _ = harness.zk(*args, env=ENV)
    return out, wall, rss


def perf_prefix(path):
    """`perf record` at 49 Hz (flat, no call graphs: ~0.1% overhead) when perf is installed."""
    if os.environ.get("BENCH_PERF", "1") == "0" or shutil.which("perf") is None:
        return ()
    return ("perf", "record", "-q", "-F", "49", "-o", path, "--")


def perf_top(path, limit=15):
    """The hottest functions of a perf recording: [[percent of samples, symbol], ...]."""
    if not os.path.exists(path):
        return []
    out = subprocess.run(["perf", "report", "-i", path, "--stdio", "--no-children", "--sort", "dso,symbol",
                          "--percent-limit", "0.8", "-q"], capture_output=True, text=True).stdout
    top = []
    for line in out.splitlines():
        parts = line.split(None, 3)
        if len(parts) == 4 and parts[0].endswith("%"):
            symbol = re.split(r"\s{2,}", parts[3].strip())[0]  # perf pads, then adds empty columns
            top.append([float(parts[0][:-1]), f"{parts[1]} {symbol}"[:140]])
    return top[:limit]


def cast(*args):
    out = subprocess.run([os.path.join(TOOLS, "cast"), *args], capture_output=True, text=True, env=ENV)
    if out.returncode != 0:
        raise SystemExit(f"cast {args[0]} failed: {out.stderr[-500:]}")
    return out.stdout


def zkinfer_model(name, max_k, agg_k, url, earlier=None, jobs_list=(1, 2), root_k=None, prove_1_from=None):
    """zkinfer's figures for one model; `earlier` (an earlier run's zkinfer figures) reuses that
    run's build: its compile and segment keys, with their recorded figures. `prove_1_from` (an
    earlier run's zkinfer figures, for `jobs_list == [2]`) gives the 1-prover figures, when this
    build's plan is that run's."""
    d = os.path.join(OUT, "zkinfer", name)
    os.makedirs(d, exist_ok=True)
    build, proof = os.path.join(d, "build"), os.path.join(d, "proof.json")
    # The proven outputs, whatever their visibility (a proof file holds public ones only).
    outputs = os.path.join(d, "outputs.json")
    r = {"max_k": max_k}
    if earlier is None:
        plan, r["compile_s"], r["compile_rss"] = zk("compile", model(name, "onnx"), "--calibration",
                                                    model(name, "calib.json"), "-o", build, "--force",
                                                    "--max-k", str(max_k), *compile_flags(name))
        r["compile_flags"] = compile_flags(name)
    else:
        # The build on disk must be the one the earlier figures describe: same flags, same k,
        # same segment plan.
        settings = os.path.join(build, "segments.json")
        on_disk = ([s["plan"] for s in json.load(open(settings))["segments"]]
                   if os.path.exists(settings) else None)
        if (earlier["compile_flags"] != compile_flags(name) or on_disk != earlier["plan"]
                or earlier.get("max_k", max_k) != max_k):
            sys.exit(f"{name}: the build on disk is not the earlier run's with today's flags: "
                     "run without --reuse-build")
        plan = {"segments": earlier["plan"]}
        for key in ("compile_s", "compile_rss", "compile_flags"):
            r[key] = earlier[key]
        before = earlier.get("reused", {})
        r["reused"] = {
            "segments_setup_s": before.get(
                "segments_setup_s", earlier["setup_s"] - earlier["aggregation"]["setup_seconds"]),
            "segments_setup_rss": before.get("segments_setup_rss", earlier["setup_rss"]),
        }
        # Only the aggregation is made again.
        shutil.rmtree(os.path.join(build, "aggregation"), ignore_errors=True)
    inputs = model(name, "input.json")
    if "hashed" in r["compile_flags"]:
        # Hashed outputs are salted: the input file carries a random field element (31 bytes < r).
        data = json.load(open(inputs))
        data["salt"] = "0x" + os.urandom(31).hex()
        inputs = os.path.join(d, "input.json")
        with open(inputs, "w") as f:
            json.dump(data, f)
    r["plan"] = plan["segments"]
    if prove_1_from is not None:
        if prove_1_from["plan"] != r["plan"] or prove_1_from["compile_flags"] != r["compile_flags"]:
            sys.exit(f"{name}: --jobs 2 alone needs the earlier row's segment plan and flags; this "
                     "compile differs: run --jobs 1,2")
        r["prove_1"], r["profile"] = prove_1_from["prove_1"], prove_1_from.get("profile")
        r["prove_1_from_earlier_run"] = True
    root = ("--aggregation-root-k", str(root_k)) if root_k else ()
    setup, r["setup_s"], r["setup_rss"] = zk("setup", build, "--dev-srs", "--aggregation-k", str(agg_k), *root)
    if "reused" in r:
        u = r["reused"]
        u["aggregation_setup_s"] = setup["aggregation"]["setup_seconds"]
        u["setup_rss_this_run"] = r["setup_rss"]
        u["segments_check_s"] = setup["segments_setup_seconds"]
        if u["segments_check_s"] > 60:
            # Segment keys were made again after all: this run's setup is a whole one.
            del r["reused"]
        else:
            # The whole setup: the earlier run's segment keys and this run's aggregation keys.
            r["setup_s"] += u["segments_setup_s"]
            r["setup_rss"] = max(r["setup_rss"], u["segments_setup_rss"])
    r["aggregation"] = setup["aggregation"]
    # Each inner node's advice columns (the root's are `advice_columns`).
    info = json.load(open(os.path.join(build, "aggregation", "keys.json")))
    r["aggregation"]["node_advice_columns"] = [
        n["config"]["num_advice"] for n in (info.get("tree") or {}).get("nodes", [])]
    profile = os.path.join(d, "prove.perf.data")
    r["prove_2"] = None
    for jobs in jobs_list:
        prefix = perf_prefix(profile) if jobs == 1 else ()
        out, wall, rss, others = harness.zk("prove", build, "--input", inputs, "-o", proof, "--outputs", outputs,
                                            "--jobs", str(jobs), "--subject", ADDR, env=ENV, prefix=prefix)
        r[f"prove_{jobs}"] = {"wall_s": wall, "rss_mib": rss, "segments_s": out["segments_seconds"],
                              "aggregation_s": out["aggregation_seconds"], "other_cores": others}
    if 1 in jobs_list:
        r["profile"] = perf_top(profile)
    v, r["verify_s"], _ = zk("verify", build, proof)
    r["verified"] = v["valid"]
    artifact = json.load(open(proof))
    r["proof_bytes"] = (len(artifact["proof"]) - 2) // 2
    ort = json.load(open(model(name, "meta.json")))["ort_output"]
    proven = json.load(open(outputs))["output_data"]
    r.update(harness.accuracy([x for row in proven for x in row], ort))
    try:
        deployed, _, _ = zk("deploy", build, "--rpc-url", url, "--private-key", KEY)
    except SystemExit as e:
        # E.g. a statement of a thousand outputs makes a verifier over EIP-170: reported, not fatal.
        r.update(verify_gas=None, submit_gas=None, ok=False, deploy_error=harness.last_line(e))
        return r
    r["verifier_runtime_bytes"] = deployed["verifier_runtime_bytes"]
    calldata = "0x" + "".join(w[2:] for w in artifact["instances"]) + artifact["proof"][2:]
    receipt = json.loads(cast("send", "--json", "--rpc-url", url, "--private-key", KEY,
                              deployed["verifier"], calldata))
    r["verify_gas"] = int(receipt["gasUsed"], 16) if int(receipt["status"], 16) == 1 else None
    try:
        submitted, _, _ = zk("submit", proof, "--rpc-url", url, "--consumer", deployed["oracle"],
                             "--private-key", KEY)
        r["submit_gas"], r["ok"] = submitted["gas_used"], True
    except SystemExit as e:
        r["submit_gas"], r["ok"], r["submit_error"] = None, False, harness.last_line(e)
    return r


def ezkl_model(name):
    """EZKL on the same model: its figures, or the step it failed at and why."""
    harness.OUT = os.path.join(OUT, "ezkl-work")
    saved = harness.model_file
    harness.model_file = model
    try:
        return harness.ezkl_model(name, json.load(open(model(name, "meta.json")))["ort_output"])
    except SystemExit as e:
        failed = {"failed": str(e)[-400:]}
        # How far it got: the circuit EZKL chose, when calibration finished.
        settings = os.path.join(harness.OUT, "ezkl", name, "settings.json")
        calibrated = not any(step in failed["failed"] for step in ("gen_settings", "calibrate_settings"))
        if calibrated and os.path.exists(settings):
            s = json.load(open(settings))
            failed.update(k=s["run_args"]["logrows"], num_rows=s.get("num_rows"))
        return failed
    finally:
        harness.model_file = saved


def fmt(v, unit="", digits=1):
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.{digits}f}{unit}"
    return f"{v:,}{unit}"


def write(rows):
    """Writes bench/scale.{json,md}: this run's models, and earlier runs' rows for the others."""
    path = os.path.join(HERE, "scale.json")
    earlier = json.load(open(path)) if os.path.exists(path) else []
    mine = {r["model"] for r in rows}
    kept = [s for s in earlier if s["model"] not in mine]
    summary = kept + [{
        "model": r["model"], "params": r["params"], "macs": r["macs"],
        "segments": len(r["zkinfer"]["plan"]),
        "prove_s": r["zkinfer"]["prove_1"]["wall_s"],
        "prove_2_jobs_s": (r["zkinfer"]["prove_2"] or {}).get("wall_s"),
        "peak_rss_mib": max(r["zkinfer"]["setup_rss"], r["zkinfer"]["prove_1"]["rss_mib"],
                            (r["zkinfer"]["prove_2"] or {}).get("rss_mib", 0), r["zkinfer"]["compile_rss"]),
        "verify_gas": r["zkinfer"]["verify_gas"], "max_abs_err": r["zkinfer"]["max_abs_err"],
        "ok": r["zkinfer"]["ok"], "zkinfer": r["zkinfer"], "ezkl": r["ezkl"],
    } for r in rows]
    summary.sort(key=lambda s: NAMES.index(s["model"]) if s["model"] in NAMES else len(NAMES))
    with open(path, "w") as f:
        json.dump(summary, f, indent=1)
    lines = ["# Scale: segmented proving and aggregation vs EZKL", "",
             "Generated by `make bench-scale` (bench/scale.py) on this machine (2 cores, 24 GiB).", "",
             "| model | params | MACs | segments (k) | compile s | setup s | prove s, 1 job (segments + aggregation) | prove s, 2 jobs | peak RSS MiB | proof B | verify gas | submit gas | max abs err | ok | EZKL |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in summary:
        z, e = s["zkinfer"], s["ezkl"]
        ks = ",".join(str(p["k"]) for p in z["plan"])
        p1, p2 = z["prove_1"], z["prove_2"] or {}
        ez = (f"failed{' at k ' + str(e['k']) + ', ' + fmt(e['num_rows']) + ' rows' if 'k' in e else ''}: "
              f"{e['failed'][:160]}" if "failed" in e else
              f"k {e['k']}, setup {fmt(e['setup_s'])} s ({fmt(e['setup_rss'], digits=0)} MiB), prove "
              f"{fmt(e['prove_s'])} s ({fmt(e['prove_rss'], digits=0)} MiB), err {e['max_abs_err']:.4f}")
        lines.append(
            f"| {s['model']} | {fmt(s['params'])} | {fmt(s['macs'])} | {s['segments']} ({ks}) | {fmt(z['compile_s'])} | "
            f"{fmt(z['setup_s'])} | {fmt(p1['wall_s'])} ({fmt(p1['segments_s'])} + {fmt(p1['aggregation_s'])}) | "
            f"{fmt(p2.get('wall_s'))} | {fmt(s['peak_rss_mib'], digits=0)} | {fmt(z['proof_bytes'])} | {fmt(z['verify_gas'])} | "
            f"{fmt(z['submit_gas'])} | {z['max_abs_err']:.4f} | {s['ok'] or z.get('deploy_error', z.get('submit_error'))} | {ez} |")
    lines += ["", "Per segment (compile's plan): nodes, k, advice columns, estimated memory.", ""]
    for s in summary:
        plan = "; ".join(f"{p['nodes'][0]}..{p['nodes'][1]}: k {p['k']}, {p['columns']} cols, {p['memory_mib']} MiB"
                         for p in s["zkinfer"]["plan"])
        agg = s["zkinfer"]["aggregation"]
        tree = ""
        if agg.get("arity"):
            wrapped = agg.get("wrapped_segments") or []
            cols = agg.get("node_advice_columns")
            node_k = agg.get("node_k") or agg["k"]
            tree = (f" (the root of a tree of arity {agg['arity']}: {agg['inner_nodes']} inner nodes at k {node_k}"
                    + (f" of {', '.join(map(str, cols))} advice columns" if cols else "")
                    + (f", segments {wrapped} under nodes of their own" if wrapped else "") + ")")
        lines.append(f"- {s['model']}: {plan}; aggregation k {agg['k']}, {agg['advice_columns']} advice columns{tree}")
    reused = [s for s in summary if "reused" in s["zkinfer"]]
    if reused:
        lines += ["", "Rows that reused an earlier run's build (`--reuse-build`): compile s is that run's; setup s "
                  "is that run's segment keygen plus this run's whole setup (segment keys checked, aggregation "
                  "keys made); peak RSS includes that run's segment keygen.", ""]
        for s in reused:
            u = s["zkinfer"]["reused"]
            lines.append(f"- {s['model']}: segment keys {fmt(u['segments_setup_s'])} s, "
                         f"{fmt(u['segments_setup_rss'], digits=0)} MiB (earlier run); this run: segment keys "
                         f"checked in {fmt(u.get('segments_check_s'))} s, aggregation keys "
                         f"{fmt(u['aggregation_setup_s'])} s, setup peak {fmt(u.get('setup_rss_this_run'), digits=0)} MiB")
    carried = [s["model"] for s in summary if s["zkinfer"].get("prove_1_from_earlier_run")]
    if carried:
        lines += ["", f"Rows whose 2-job prove ran on a later, fresh build of the same segment plan "
                  f"(`--jobs 2`): {', '.join(carried)}. Their compile s, setup s and 2-job figures are "
                  "that run's; the 1-job figures and profile are the earlier run's."]
    lines += ["", "Where the 1-job prove's time goes (`perf record -F 49`, flat: share of CPU samples by function; "
              "`segments_s` per segment and the aggregation are in scale.json).", ""]
    for s in summary:
        top = s["zkinfer"].get("profile") or []
        if top:
            lines.append(f"- {s['model']}: " + "; ".join(f"{pct:.1f}% `{sym}`" for pct, sym in top[:10]))
    with open(os.path.join(HERE, "scale.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-k", type=int, default=int(os.environ.get("BENCH_MAX_K", "21")))
    ap.add_argument("--aggregation-k", type=int, default=int(os.environ.get("BENCH_AGG_K", "21")))
    ap.add_argument("--aggregation-root-k", type=int, default=os.environ.get("BENCH_AGG_ROOT_K"),
                    help="the root (a tree's, or a flat aggregation too wide at --aggregation-k) at this k "
                         "(default: setup's, --aggregation-k + 1)")
    ap.add_argument("--skip-ezkl", action="store_true")
    ap.add_argument("--ezkl-only", action="store_true",
                    help="run EZKL only, beside the zkinfer figures scale.json already holds")
    ap.add_argument("--reuse-build", action="store_true",
                    help="keep the earlier run's compile and segment keys; make the aggregation again")
    ap.add_argument("--jobs", default="1,2",
                    help="parallel provers to measure: 1, 1,2, or 2 (the 1-prover figures kept from scale.json)")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    names = a.names or NAMES
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        sys.exit(f"unknown model(s) {unknown}; scale models: {NAMES}")
    ensure_models(names)
    os.makedirs(OUT, exist_ok=True)
    if a.ezkl_only:
        earlier = {s["model"]: s for s in json.load(open(os.path.join(HERE, "scale.json")))}
        rows = []
        for name in names:
            meta = json.load(open(model(name, "meta.json")))
            print(f"{name}: EZKL", file=sys.stderr)
            rows.append({"model": name, "params": meta["params"], "macs": meta["macs"],
                         "zkinfer": earlier[name]["zkinfer"], "ezkl": ezkl_model(name)})
            write(rows)
        return
    jobs_list = sorted({int(j) for j in a.jobs.split(",")})
    if jobs_list not in ([1], [2], [1, 2]):
        sys.exit("--jobs: 1, 2 or 1,2 (the table reports these; 1 is the profiled run)")
    recorded = {}
    if os.path.exists(os.path.join(HERE, "scale.json")):
        recorded = {s["model"]: s for s in json.load(open(os.path.join(HERE, "scale.json")))}
    if jobs_list == [2]:
        missing = [n for n in names if n not in recorded]
        if missing:
            sys.exit(f"--jobs 2: no earlier 1-prover row for {missing} in scale.json")
    earlier = {}
    if a.reuse_build:
        earlier = {s["model"]: s for s in json.load(open(os.path.join(HERE, "scale.json")))}
        missing = [n for n in names if n not in earlier]
        if missing:
            sys.exit(f"--reuse-build: no earlier row for {missing} in scale.json")
    anvil, url = harness.start_anvil()
    rows = []
    try:
        for name in names:
            meta = json.load(open(model(name, "meta.json")))
            print(f"{name}: zkinfer", file=sys.stderr)
            before = earlier.get(name)
            z = zkinfer_model(name, a.max_k, a.aggregation_k, url,
                              before and before["zkinfer"], jobs_list, a.aggregation_root_k,
                              recorded[name]["zkinfer"] if jobs_list == [2] else None)
            e = None
            if a.skip_ezkl:
                # The same model's EZKL figures from the earlier run, when there is one.
                kept = recorded.get(name)
                e = kept["ezkl"] if kept else {"failed": "skipped (--skip-ezkl)"}
            if e is None:
                print(f"{name}: EZKL", file=sys.stderr)
                e = ezkl_model(name)
            rows.append({"model": name, "params": meta["params"], "macs": meta["macs"], "zkinfer": z, "ezkl": e})
            write(rows)
    finally:
        anvil.kill()


if __name__ == "__main__":
    main()
