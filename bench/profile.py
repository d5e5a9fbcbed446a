#!/usr/bin/env python3
"""Where a small model's proving time goes: `perf record --call-graph dwarf` (all threads, user
and kernel) over three `zkinfer prove` runs of each model's default build. Each sample is given
to the innermost function on its stack that names a phase of the prover (an MSM, an FFT, the
quotient's evaluator, the lookup or permutation argument, witness generation and layout, loading
the SRS and keys), so the field arithmetic an FFT or MSM calls is counted in that FFT or MSM.
Needs `perf` (Debian's linux-perf).

Writes bench/profile.md and bench/profile.json. `make bench-profile`. A benchmark, not a test."""
import json
import os
import re
import shutil
import subprocess
import sys

import harness
from gas import ADDR

SMALL = ["mlp_tiny", "mlp_digits", "cnn_digits", "mlp_sigmoid"]
RUNS = 3
HZ = 499
OUT = os.path.join(harness.OUT, "profile")
ENV = dict(os.environ, ZKINFER_CACHE=os.path.join(harness.OUT, "zkinfer", "cache"))

# (phase, pattern on one stack frame's function), checked innermost frame first; the first
# frame that matches any pattern (in this order) names the sample's phase.
PHASES = [
    ("MSM (commitments, KZG openings)", r"msm|multiexp|[Bb]ucket|curve::G1|pippenger"),
    ("FFT / iFFT (mostly onto the extended domain)",
     r"fft|butterfly|bitreverse|coeff_to_extended|extended_to_coeff|lagrange_to_coeff"),
    ("quotient: gates, lookup and permutation on the extended domain", r"evaluate_h|[Ee]valuator::|ValueSource"),
    ("lookup argument (permute, sort, grand product)", r"lookup::prover"),
    ("permutation argument (grand product)", r"permutation::prover"),
    ("loading the SRS and proving key", r"read_srs|read_custom|read_pk|ProvingKey<.*>::read|from_raw_bytes|SerdeObject"),
    ("witness and layout (zkinfer, halo2-base, tract)",
     r"synthesize|halo2_base|ModelCircuit|zkinfer_prover::(circuit|chips|ops|quantize|model|onnx)|tract"),
    ("transcript and hashing", r"[Kk]eccak|[Tt]ranscript|[Pp]oseidon"),
    ("rest of create_proof (evaluations, vanishing, SHPLONK)", r"halo2_axiom::"),
    ("allocation and memory copies", r"memcpy|memmove|memset|malloc|free|realloc|_rjem|jemalloc"),
    ("process start, CLI and I/O (zkinfer)", r"zkinfer_|^_start$|^main$|__libc_start"),
    ("threads waiting (rayon)", r"rayon_core::sleep|rayon_core::latch"),
]


def build(name):
    """The model's default build (bench/harness.py's flow): compile, dev SRS setup."""
    d = os.path.join(OUT, name)
    m = harness.model_file(name, "onnx")
    s, _, _, _ = harness.zk("compile", m, "--calibration", harness.model_file(name, "calib.json"), "-o", d,
                            "--force", env=ENV)
    harness.zk("setup", d, "--dev-srs", env=ENV)
    return d, s


def record(name, d):
    """perf samples of RUNS proves, with their stacks; returns {phase: samples}, {leaf: samples}."""
    data = os.path.join(OUT, f"{name}.perf.data")
    proof = os.path.join(d, "proof.json")
    prove = (f"'{harness.ZKINFER}' -q prove '{d}' --input '{harness.model_file(name, 'input.json')}' "
             f"-o '{proof}' --subject {ADDR}")
    loop = f"for i in $(seq {RUNS}); do {prove} > /dev/null || exit 1; done"
    subprocess.run(["perf", "record", "-q", "-F", str(HZ), "--call-graph", "dwarf,16384", "-o", data, "--",
                    "bash", "-c", loop], check=True, env=ENV, stdout=subprocess.DEVNULL)
    script = subprocess.run(["perf", "script", "-i", data, "-F", "comm,ip,sym", "--comm", "zkinfer"],
                            capture_output=True, text=True, check=True).stdout
    phases, leaves = {}, {}
    for block in script.split("\n\n"):
        frames = [line.strip().split(None, 1) for line in block.splitlines()[1:] if line.strip()]
        symbols = [f[1] if len(f) == 2 else "[unknown]" for f in frames]
        if not symbols:
            continue
        phase = "kernel (page faults, scheduling)" if frames[0][0].startswith("ffffffff") else None
        for sym in symbols if phase is None else []:
            phase = next((p for p, pattern in PHASES if re.search(pattern, sym)), None)
            if phase:
                break
        phase = phase or "other"
        phases[phase] = phases.get(phase, 0) + 1
        leaf = symbols[0][:110]
        leaves[leaf] = leaves.get(leaf, 0) + 1
    os.remove(data)
    return phases, leaves


def main():
    if shutil.which("perf") is None:
        sys.exit("perf is not installed (apt-get install linux-perf)")
    names = sys.argv[1:] or SMALL
    os.makedirs(OUT, exist_ok=True)
    results = []
    for name in names:
        print(f"{name}: build, {RUNS} proves under perf", file=sys.stderr, flush=True)
        d, s = build(name)
        phases, leaves = record(name, d)
        total = sum(phases.values()) or 1
        results.append({
            "model": name, "k": s["k"], "layout": s["layout"], "samples": total,
            "phases": {p: round(100 * n / total, 1) for p, n in sorted(phases.items(), key=lambda x: -x[1])},
            "top": [[round(100 * n / total, 1), sym] for sym, n in sorted(leaves.items(), key=lambda x: -x[1])[:8]],
        })
    every = []
    for r in results:
        every += [p for p in r["phases"] if p not in every]
    lines = ["| phase (share of samples, %) | " + " | ".join(f"{r['model']} (k {r['k']}, {r['layout']})" for r in results) + " |",
             "|---|" + "---|" * len(results)]
    for p in every:
        lines.append(f"| {p} | " + " | ".join(f"{r['phases'].get(p, 0.0):.1f}" for r in results) + " |")
    lines.append("| samples | " + " | ".join(str(r["samples"]) for r in results) + " |")
    for r in results:
        lines += ["", f"{r['model']}: hottest functions (samples in the function itself, %)", ""]
        lines += [f"- {pct:.1f} `{sym}`" for pct, sym in r["top"]]
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(harness.HERE, "profile.md"), "w") as f:
        f.write(f"perf --call-graph dwarf, {RUNS} `zkinfer prove` runs per model, {HZ} Hz, all threads; each sample "
                f"counted in the innermost function on its stack that names a phase (bench/profile.py)\n\n{text}\n")
    with open(os.path.join(harness.HERE, "profile.json"), "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
