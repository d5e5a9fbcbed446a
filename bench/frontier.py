#!/usr/bin/env python3
"""The prove-time / verify-gas frontier of zkinfer's layouts, beside EZKL, on one machine in one run.

For every model named (default: the four small bench models) this compiles the model once per
layout family (`zkinfer compile --layout plain|chain|dot|columns`), keeps the ones that apply,
and measures each: k, columns, MSM points, prove seconds (median of three runs, wall clock of
`zkinfer prove` as in bench/harness.py) and the snark-verifier verifier's verify gas (receipt
gasUsed of a transaction sending the proof straight to the verifier, on a real anvil, as in
bench/gas.py). EZKL's prove runs in the same script (bench/harness.py's flow). A layout is on the
frontier when no other layout proves faster for no more gas (or costs less gas for no slower a
prove); `auto` marks the planner's own choice. Every layout is compiled at the scales the
planner's own build chose, and their proven outputs are compared (one quantized model, laid out
differently: a difference is printed as a warning).

Writes bench/frontier.md and bench/frontier.json. Run by `make bench-frontier` (and `make bench`)
with the bench venv (EZKL). A benchmark, not a test: CI does not run it."""
import json
import os
import shutil
import sys

import harness
from gas import ADDR, KEY, TOOLS, calldata_gas, raw_calldata, send

# (label, compile flags): every family, the multi-column one at each width it may take.
LAYOUTS = [("plain", ["--layout", "plain"]), ("chain", ["--layout", "chain"]), ("dot", ["--layout", "dot"])] + [
    (f"columns ≤{c}", ["--layout", "columns", "--max-columns", str(c)]) for c in (2, 3, 4)]
SMALL = ["mlp_tiny", "mlp_digits", "cnn_digits", "mlp_sigmoid"]
OUT = os.path.join(harness.OUT, "frontier")
ENV = dict(os.environ, PATH=f"{TOOLS}:{os.environ['PATH']}", ZKINFER_SOLC=str(TOOLS / "solc"),
           ZKINFER_CACHE=os.path.join(harness.OUT, "zkinfer", "cache"))


def layout_point(name, layout, flags, url, seen):
    """One layout of one model, measured; `skipped` (the CLI's reason) when it does not apply."""
    d = os.path.join(OUT, name, layout.replace(" ≤", "_"))
    m = harness.model_file(name, "onnx")
    try:
        s, _, _, _ = harness.zk("compile", m, "--calibration", harness.model_file(name, "calib.json"),
                                "-o", d, "--force", *flags, env=ENV)
    except SystemExit as e:  # harness.run exits on a failed step
        if "cannot hold this model" not in str(e):
            raise
        return {"layout": layout, "skipped": "does not apply: " + harness.last_line(e)}
    shape = (s["layout"], s["k"], s["advice_columns"], s["dot_width"])
    if shape in seen:
        return {"layout": layout, "skipped": f"the same circuit as {seen[shape]}"}
    seen[shape] = layout
    harness.zk("setup", d, "--dev-srs", env=ENV)
    proof_path = os.path.join(d, "proof.json")
    prove = lambda: harness.zk("prove", d, "--input", harness.model_file(name, "input.json"), "-o", proof_path,
                               "--subject", ADDR, env=ENV)[1:]
    (prove_s, rss, _), runs = harness.median_run(prove)
    proof = json.load(open(proof_path))
    plan, _, _, _ = harness.zk("codegen", d, "--verifier", "reusable", "-o", os.path.join(d, "Reusable.sol"), env=ENV)
    dep, _, _, _ = harness.zk("deploy", d, "--verifier", "snark-verifier", "--rpc-url", url, "--private-key", KEY, env=ENV)
    gas, sent = send(url, dep["verifier"], raw_calldata(proof))
    return {
        "layout": layout, "family": s["layout"], "k": s["k"], "advice_columns": s["advice_columns"], "dot_width": s["dot_width"],
        "advice_cells": s["advice_cells"], "msm_points": plan["msm_points"], "proof_bytes": plan["proof_bytes"],
        "instances": len(proof["instances"]), "prove_s": prove_s, "prove_runs": runs, "prove_rss": rss,
        "verify_gas": gas, "calldata_gas": calldata_gas(sent), "runtime_bytes": dep["verifier_runtime_bytes"],
        "outputs": proof["output_data"],
    }


def mark_frontier(points):
    """Sets `frontier` on every measured point: no other point is at least as good on both axes
    and better on one."""
    for p in points:
        p["frontier"] = not any(
            q is not p and q["prove_s"] <= p["prove_s"] and q["verify_gas"] <= p["verify_gas"]
            and (q["prove_s"] < p["prove_s"] or q["verify_gas"] < p["verify_gas"]) for q in points)


def render(rows):
    lines = [
        "| model | layout | k | gate columns (+ dot width) | advice cells | MSM points | prove s (median of 3) | "
        "prove / EZKL | verify gas (snark-verifier) | to 300k | on the frontier |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ezkl = r["ezkl_prove_s"]
        for p in r["points"]:
            if "skipped" in p:
                lines.append(f"| {r['model']} | {p['layout']} | — | — | — | — | — | — | — | — | "
                             f"{p['skipped'].replace('|', '/')} |")
                continue
            auto = " (auto)" if (p["family"], p["k"], p["advice_columns"]) == tuple(r["auto"]) else ""
            cols = f"{p['advice_columns']}" + (f" + {p['dot_width']}" if p["dot_width"] else "")
            ratio = f"{p['prove_s'] / ezkl:.3f}" if ezkl else "—"
            lines.append(
                f"| {r['model']} | {p['layout']}{auto} | {p['k']} | {cols} | {p['advice_cells']:,} | {p['msm_points']} | "
                f"{p['prove_s']:.3f} | {ratio} | {p['verify_gas']:,} | {p['verify_gas'] - 300_000:+,} | "
                f"{'yes' if p['frontier'] else 'no'} |")
    ezkl = ", ".join(f"{r['model']} {r['ezkl_prove_s']:.2f} s" for r in rows if r["ezkl_prove_s"])
    lines += ["", f"EZKL's prove (median of 3, same script): {ezkl}.",
              "Goal (issue 20): prove ≤ 0.2× EZKL and verify gas ≤ 300k at once; \"to 300k\" is the gas over (+) or under (−) it."]
    return "\n".join(lines)


def main():
    names = sys.argv[1:] or SMALL
    for n in names:
        shutil.rmtree(os.path.join(OUT, n), ignore_errors=True)
    anvil, url = harness.start_anvil()
    rows = []
    try:
        for name in names:
            ort = json.load(open(harness.model_file(name, "meta.json")))["ort_output"]
            print(f"{name}: EZKL", file=sys.stderr, flush=True)
            ezkl = harness.ezkl_model(name, ort)
            auto_dir = os.path.join(OUT, name, "auto")
            auto, _, _, _ = harness.zk("compile", harness.model_file(name, "onnx"), "--calibration",
                                       harness.model_file(name, "calib.json"), "-o", auto_dir, "--force", env=ENV)
            # Every layout at the scales the planner's own build chose (the scale search would
            # otherwise run per layout), so that only the layout differs.
            q = json.load(open(os.path.join(auto_dir, "settings.json")))["quantization"]
            scales = ["--scale", str(q["scale"]), "--weight-scale", str(q["weight_scale"]),
                      "--table-bits", str(q["table_bits"])]
            points, seen = [], {}
            for layout, flags in LAYOUTS:
                print(f"{name}: {layout}", file=sys.stderr, flush=True)
                points.append(layout_point(name, layout, flags + scales, url, seen))
            measured = [p for p in points if "skipped" not in p]
            outputs = {json.dumps(p.pop("outputs")) for p in measured}
            if len(outputs) != 1:
                print(f"{name}: WARNING the layouts proved different outputs: {sorted(outputs)}", file=sys.stderr)
            mark_frontier(measured)
            rows.append({"model": name, "ezkl_prove_s": ezkl["prove_s"], "points": points,
                         "auto": (auto["layout"], auto["k"], auto["advice_columns"])})
    finally:
        anvil.kill()
    text = render(rows)
    print(text)
    with open(os.path.join(harness.HERE, "frontier.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(harness.HERE, "frontier.json"), "w") as f:
        json.dump(rows, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
