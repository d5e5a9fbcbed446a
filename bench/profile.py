#!/usr/bin/env python3
"""Where a small model's proving time goes: `perf record` (user and kernel samples, all threads)
over five `zkinfer prove` runs of each model's default build, samples grouped into the prover's
phases by function name. A flat profile: a function's own samples, not its callees'; field
arithmetic that the compiler did not inline into FFT, MSM or the quotient's evaluator shows on
its own line (a call-graph profile, `perf record --call-graph dwarf`, puts nearly all of the
scalar-field multiplications in the FFTs onto the extended domain, and the inversions, which
all bn256 inversions share, in the MSMs' conversions to affine points). Needs `perf`.

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
RUNS = 5
OUT = os.path.join(harness.OUT, "profile")
ENV = dict(os.environ, ZKINFER_CACHE=os.path.join(harness.OUT, "zkinfer", "cache"))

# (phase, pattern on "dso symbol"), first match wins.
PHASES = [
    ("MSM: curve arithmetic (commitments, KZG openings)",
     r"msm|multiexp|[Bb]ucket|curve::G1|bn256::fq::Fq|pippenger|BYInverter"),
    ("FFT / iFFT", r"fft|butterfly|bitreverse|coeff_to_extended|extended_to_coeff|lagrange_to_coeff"),
    ("quotient: gates, lookup and permutation on the extended domain", r"evaluate_h|[Ee]valuator|ValueSource|Calculation"),
    ("lookup argument (permute, sort, grand product)", r"lookup::prover|permute_expression|sort"),
    ("permutation argument (grand product)", r"permutation::prover|permutation::keygen"),
    ("polynomial evaluation and vanishing", r"eval_polynomial|vanishing|poly::|compute_inner_product|kate_division"),
    ("scalar-field arithmetic not inlined (Fr mul, square)", r"bn256::fr::Fr|batch_invert"),
    ("witness and layout (zkinfer, halo2-base, tract)", r"zkinfer_prover|zkinfer_cli|halo2_base|synthesize|tract"),
    ("proving key and file loading", r"[Dd]eserial|from_raw|from_bytes|SerdeObject|serde|read_exact|read_to"),
    ("transcript and hashing", r"keccak|Keccak|transcript|Transcript|sha|blake|poseidon|Poseidon"),
    ("allocation and memory copies", r"memcpy|memmove|memset|malloc|free|realloc|alloc|_rjem|jemalloc"),
    ("threads (rayon, futex)", r"rayon|crossbeam|futex|sched|pthread|spin"),
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
    """perf samples of RUNS proves; returns [(samples, dso, symbol)]."""
    data = os.path.join(OUT, f"{name}.perf.data")
    proof = os.path.join(d, "proof.json")
    prove = f"'{harness.ZKINFER}' -q prove '{d}' --input '{harness.model_file(name, 'input.json')}' -o '{proof}' --subject {ADDR}"
    loop = f"for i in $(seq {RUNS}); do {prove} > /dev/null || exit 1; done"
    subprocess.run(["perf", "record", "-q", "-F", "1999", "-o", data, "--", "bash", "-c", loop],
                   check=True, env=ENV, stdout=subprocess.DEVNULL)
    report = subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children", "-n", "--sort", "dso,symbol",
                             "--percent-limit", "0", "-q", "--comm", "zkinfer"],
                            capture_output=True, text=True, check=True).stdout
    rows = []
    for line in report.splitlines():
        parts = line.split(None, 4)
        if len(parts) == 5 and parts[0].endswith("%") and parts[1].isdigit():
            symbol = re.split(r"\s{2,}", parts[4].strip())[0]
            symbol = re.sub(r"^\[[.k]\]\s*", "", symbol)
            rows.append((int(parts[1]), parts[2], symbol))
    return rows


def phase_of(dso, symbol):
    if dso.startswith("[kernel"):
        return "kernel (page faults, scheduling, I/O)"
    for phase, pattern in PHASES:
        if re.search(pattern, symbol):
            return phase
    return "other"


def main():
    if shutil.which("perf") is None:
        sys.exit("perf is not installed (apt-get install linux-perf)")
    names = sys.argv[1:] or SMALL
    os.makedirs(OUT, exist_ok=True)
    results = []
    for name in names:
        print(f"{name}: build, {RUNS} proves under perf", file=sys.stderr, flush=True)
        d, s = build(name)
        rows = record(name, d)
        total = sum(n for n, _, _ in rows) or 1
        phases = {}
        for n, dso, symbol in rows:
            p = phase_of(dso, symbol)
            phases[p] = phases.get(p, 0) + n
        top = sorted(rows, reverse=True)[:8]
        results.append({
            "model": name, "k": s["k"], "layout": s["layout"], "samples": total,
            "phases": {p: round(100 * n / total, 1) for p, n in sorted(phases.items(), key=lambda x: -x[1])},
            "top": [[round(100 * n / total, 1), f"{dso} {sym}"[:120]] for n, dso, sym in top],
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
        lines += ["", f"{r['model']}: hottest functions (own samples, %)", ""]
        lines += [f"- {pct:.1f} `{sym}`" for pct, sym in r["top"]]
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(harness.HERE, "profile.md"), "w") as f:
        f.write(f"perf, {RUNS} `zkinfer prove` runs per model, 1999 Hz, all threads (bench/profile.py)\n\n{text}\n")
    with open(os.path.join(harness.HERE, "profile.json"), "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
