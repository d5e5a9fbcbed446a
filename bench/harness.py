#!/usr/bin/env python3
"""zkinfer vs EZKL on ../shared/bench-models and the project's own bench/models (gpt_small, a
GPT-style decoder), one machine, one run, tools alternating per model; a prove under 30 s runs
three times and its median is reported.

Per step: wall seconds, peak RSS (the step's own process, from wait4), and the CPU other
processes used meanwhile (from /proc/stat) so a loaded machine shows in the table.
Writes bench/results.json and bench/results.md. Invoked by bench/vs_ezkl.sh (`make bench`).
"""
import json
import os
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED_MODELS = os.path.join(ROOT, "..", "shared", "bench-models")
OWN_MODELS = os.path.join(HERE, "models")
MODELS = ["mlp_tiny", "mlp_digits", "cnn_digits", "mlp_sigmoid", "mlp_large", "gpt_small"]
# A step that runs longer than this (seconds) is stopped and reported as such.
STEP_TIMEOUT = int(os.environ.get("BENCH_STEP_TIMEOUT", "3600"))
# A prove that took under this many seconds is run twice more and its median reported (both tools).
REPEAT_BELOW_S = float(os.environ.get("BENCH_REPEAT_BELOW_S", "30"))


def start_anvil():
    """A fresh anvil on a free loopback port (the project's own, from .tools/bin): (process, RPC URL)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    p = subprocess.Popen([os.path.join(ROOT, ".tools", "bin", "anvil"), "--host", "127.0.0.1", "--port", str(port),
                          "--silent"])
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return p, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    p.kill()
    sys.exit("anvil did not start")


def median_run(step):
    """Runs `step` (returning (seconds, peak RSS, others' load)) once, and twice more when it took
    under REPEAT_BELOW_S seconds: the median run by seconds, and the number of runs."""
    runs = [step()]
    if runs[0][0] < REPEAT_BELOW_S:
        runs += [step(), step()]
    runs.sort(key=lambda r: r[0])
    return runs[len(runs) // 2], len(runs)


def model_file(name, ext):
    """<name>.<ext> in bench/models when the project generates it, else ../shared/bench-models."""
    own = os.path.join(OWN_MODELS, f"{name}.{ext}")
    return own if os.path.exists(own) else os.path.join(SHARED_MODELS, f"{name}.{ext}")
OUT = os.path.join(HERE, "out")
ZKINFER = os.path.join(ROOT, "target", "release", "zkinfer")
PY = sys.executable
TICK = os.sysconf("SC_CLK_TCK")


def busy_jiffies():
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    return sum(parts) - parts[3] - parts[4]  # minus idle and iowait


def step_name(cmd):
    """'zkinfer prove', 'ezkl_step.py setup': the tool and its step (past a `perf record ... --`)."""
    cmd = cmd[cmd.index("--") + 1:] if "--" in cmd else cmd
    words = [os.path.basename(a) for a in cmd if not a.startswith("-")]
    return " ".join(words[1:3] if words[0].startswith("python") else words[:2])


def run(cmd, env=None):
    """Runs cmd; returns (stdout, wall s, peak RSS MiB, other processes' cores)."""
    b0, t0 = busy_jiffies(), time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    stopped = threading.Event()

    def stop():
        stopped.set()
        p.kill()

    timer = threading.Timer(STEP_TIMEOUT, stop)
    timer.start()
    # stderr is drained beside stdout so that a chatty step cannot block on a full pipe.
    errs = []
    drain = threading.Thread(target=lambda: errs.append(p.stderr.read()))
    drain.start()
    out = p.stdout.read()
    drain.join()
    err = errs[0]
    _, status, usage = os.wait4(p.pid, 0)
    timer.cancel()
    if stopped.is_set():
        raise SystemExit(f"{step_name(cmd)} stopped after {STEP_TIMEOUT} s (BENCH_STEP_TIMEOUT)")
    wall = time.perf_counter() - t0
    if status != 0:
        # A step killed for memory leaves no message of its own: say so.
        how = f"killed by signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit {os.WEXITSTATUS(status)}"
        raise SystemExit(f"{step_name(cmd)} failed ({how}, {wall:.0f} s): {err.decode()[-2000:]}")
    own = usage.ru_utime + usage.ru_stime
    others = max(0.0, (busy_jiffies() - b0) / TICK - own) / max(wall, 1e-9)
    return out.decode(), wall, usage.ru_maxrss / 1024, others


def ezkl(step, **args):
    out, wall, rss, others = run([PY, os.path.join(HERE, "ezkl_step.py"), step, json.dumps(args)])
    return json.loads(out.strip().splitlines()[-1])["seconds"], rss, others


def ezkl_model(name, ort):
    d = os.path.join(OUT, "ezkl", name)
    os.makedirs(d, exist_ok=True)
    f = lambda x: os.path.join(d, x)
    m = model_file(name, "onnx")
    r = {}
    ezkl("gen_settings", model=m, settings=f("settings.json"))
    r["calibrate_s"], _, _ = ezkl("calibrate_settings", data=model_file(name, "calib.json"), model=m, settings=f("settings.json"))
    ezkl("compile_circuit", model=m, compiled=f("model.compiled"), settings=f("settings.json"))
    settings = json.load(open(f("settings.json")))
    k = settings["run_args"]["logrows"]
    srs = os.path.join(OUT, "ezkl", f"kzg{k}.srs")
    if not os.path.exists(srs):
        r["srs_s"], _, _ = ezkl("gen_srs", srs=srs, logrows=k)
    r["setup_s"], r["setup_rss"], _ = ezkl("setup", compiled=f("model.compiled"), vk=f("vk.key"), pk=f("pk.key"), srs=srs)
    ezkl("gen_witness", data=model_file(name, "input.json"), compiled=f("model.compiled"), witness=f("witness.json"))
    prove = lambda: ezkl("prove", witness=f("witness.json"), compiled=f("model.compiled"), pk=f("pk.key"), proof=f("proof.json"), srs=srs)
    (r["prove_s"], r["prove_rss"], r["prove_others"]), r["prove_runs"] = median_run(prove)
    r["verify_s"], _, _ = ezkl("verify", proof=f("proof.json"), settings=f("settings.json"), vk=f("vk.key"), srs=srs)
    proof = json.load(open(f("proof.json")))
    r["k"] = k
    r["proof_bytes"] = len(proof["proof"]) if isinstance(proof["proof"], list) else len(bytes.fromhex(proof["hex_proof"][2:]))
    r["pk_bytes"], r["vk_bytes"] = os.path.getsize(f("pk.key")), os.path.getsize(f("vk.key"))
    wit = json.load(open(f("witness.json")))
    outs = [float(v) for row in wit["pretty_elements"]["rescaled_outputs"] for v in row]
    r.update(accuracy(outs, ort))
    return r


def zk(*args, env=None, prefix=()):
    """zkinfer --json ARGS (behind `prefix`, e.g. a profiler): its JSON, wall s, peak RSS MiB, others' cores."""
    out, wall, rss, others = run([*prefix, ZKINFER, "--json", "-q", *args], env=env)
    return json.loads(out), wall, rss, others


def last_line(e):
    """A failed step's own message: the last line of its error (the CLI's `error: ...`)."""
    return str(e).strip().splitlines()[-1][-300:]


def zkinfer_model(name, ort):
    d = os.path.join(OUT, "zkinfer", name)
    os.makedirs(d, exist_ok=True)
    env = dict(os.environ, ZKINFER_CACHE=os.path.join(OUT, "zkinfer", "cache"))
    m = model_file(name, "onnx")
    r = {}
    # --force: the folder is the bench's own; an earlier run's build there is replaced.
    settings, r["calibrate_s"], _, _ = zk("compile", m, "--calibration", model_file(name, "calib.json"), "-o", d, "--force", env=env)
    # First setup generates (and caches) the dev SRS; the second, on fresh keys, is the keygen time.
    _, first, _, _ = zk("setup", d, "--dev-srs", env=env)
    os.remove(os.path.join(d, "keys.json"))
    _, r["setup_s"], r["setup_rss"], _ = zk("setup", d, "--dev-srs", env=env)
    r["srs_s"] = max(0.0, first - r["setup_s"])
    proof_path = os.path.join(d, "proof.json")
    prove = lambda: zk("prove", d, "--input", model_file(name, "input.json"), "-o", proof_path, env=env)[1:]
    (r["prove_s"], r["prove_rss"], r["prove_others"]), r["prove_runs"] = median_run(prove)
    _, r["verify_s"], _, _ = zk("verify", d, proof_path, env=env)
    proof = json.load(open(proof_path))
    r["k"] = settings["k"]
    r["proof_bytes"] = (len(proof["proof"]) - 2) // 2
    r["pk_bytes"], r["vk_bytes"] = os.path.getsize(os.path.join(d, "pk.bin")), os.path.getsize(os.path.join(d, "vk.bin"))
    r.update(accuracy([v for row in proof["output_data"] for v in row], ort))
    return r


def accuracy(outs, ort):
    err = max(abs(a - b) for a, b in zip(outs, ort))
    argmax = lambda v: max(range(len(v)), key=lambda i: v[i])
    return {"max_abs_err": err, "argmax_ok": argmax(outs) == argmax(ort)}


def fmt(v, unit=""):
    if v is None:
        return "—"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return f"{v:.3g}{unit}"
    return f"{v}{unit}"


def main():
    # `harness.py NAME...` re-measures only those models and keeps the others from results.json;
    # `harness.py --render` rewrites results.md from results.json.
    render_only = sys.argv[1:] == ["--render"]
    chosen = [] if render_only else [m for m in MODELS if m in sys.argv[1:]] or MODELS
    results = {}
    if chosen != MODELS and os.path.exists(os.path.join(HERE, "results.json")):
        results = json.load(open(os.path.join(HERE, "results.json")))
    for name in results:
        for tool in results[name].values():
            if "failed" in tool:
                tool["failed"] = last_line(tool["failed"])
    for i, name in enumerate(chosen):
        ort = json.load(open(model_file(name, "meta.json")))["ort_output"]
        order = [("ezkl", ezkl_model), ("zkinfer", zkinfer_model)]
        if i % 2:
            order.reverse()
        results[name] = {}
        for tool, fn in order:
            print(f"{name}: {tool} ...", file=sys.stderr, flush=True)
            try:
                results[name][tool] = fn(name, ort)
            except SystemExit as e:  # a failed or stopped step: reported, the others still run
                print(f"{name}: {tool} failed: {e}", file=sys.stderr, flush=True)
                # The step's last line (the error itself), for one table cell.
                results[name][tool] = {"failed": last_line(e)}
    rows = [
        ("k", "k", ""), ("setup s", "setup_s", ""), ("prove s (median)", "prove_s", ""), ("prove runs", "prove_runs", ""), ("verify s", "verify_s", ""),
        ("peak RSS prove MiB", "prove_rss", ""), ("proof bytes", "proof_bytes", ""), ("pk bytes", "pk_bytes", ""),
        ("vk bytes", "vk_bytes", ""), ("max abs err", "max_abs_err", ""), ("argmax ok", "argmax_ok", ""),
        ("other load during prove (cores)", "prove_others", ""),
    ]
    lines = ["| model | figure | zkinfer | EZKL 23.0.5 | zkinfer / EZKL |", "|---|---|---|---|---|"]
    for name in MODELS:
        r = results.get(name)
        if r is None:
            continue
        for tool in ("zkinfer", "ezkl"):
            if "failed" in r.get(tool, {}):
                lines.append(f"| {name} | failed ({tool}) | {r[tool]['failed'].replace('|', '/')} | | |")
        for label, key, unit in rows:
            z, e = r["zkinfer"].get(key), r["ezkl"].get(key)
            ratio = f"{z / e:.3f}" if isinstance(z, (int, float)) and not isinstance(z, bool) and isinstance(e, (int, float)) and e else ""
            lines.append(f"| {name} | {label} | {fmt(z, unit)} | {fmt(e, unit)} | {ratio} |")
    meta = f"Machine: {os.cpu_count()} cores; date {time.strftime('%Y-%m-%d %H:%M')}; EZKL runs each step in its own Python process (RSS includes Python and the ezkl import); zkinfer runs its CLI. Setup excludes SRS generation for both (EZKL gen_srs, zkinfer's dev SRS cache)."
    md = "# zkinfer vs EZKL\n\n" + meta + "\n\n" + "\n".join(lines) + "\n"
    with open(os.path.join(HERE, "results.md"), "w") as f:
        f.write(md)
    with open(os.path.join(HERE, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(md)


if __name__ == "__main__":
    main()
