#!/usr/bin/env python3
"""Breadth beside EZKL: runs EZKL's gen_settings (its ONNX import and circuit layout, before any
key or proof) on every zkinfer op fixture (prover/tests/fixtures/ops, the refusal fixtures left
out) and writes bench/ezkl_breadth.md: which ones EZKL 23.0.5 takes and how it fails on the rest.
zkinfer's own suite proves and verifies every one of them (prover/tests/ops.rs).

A first gate only: passing gen_settings does not mean EZKL proves the model. Hand-written
fixtures omit attributes that ONNX defaults (Conv strides); EZKL requires some of them, so part
of its failures are strictness rather than missing operators. Run with the bench venv:
    .venv-bench/bin/python bench/ezkl_breadth.py
"""
import glob
import os
import tempfile

import ezkl

HERE = os.path.dirname(os.path.abspath(__file__))
OPS = os.path.join(HERE, "..", "prover", "tests", "fixtures", "ops")


def main():
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in sorted(glob.glob(os.path.join(OPS, "*.onnx"))):
            name = os.path.basename(path)[:-5]
            if name.startswith("unsupported_"):
                continue
            args = ezkl.PyRunArgs()
            args.input_visibility, args.param_visibility, args.output_visibility = "public", "fixed", "public"
            try:
                ezkl.gen_settings(path, os.path.join(tmp, name + ".json"), py_run_args=args)
                rows.append((name, "yes", ""))
            except BaseException as e:  # EZKL raises RuntimeError, and panics surface as others
                rows.append((name, "no", str(e).replace("\n", " ").replace("|", "/")[:140]))
    ok = sum(1 for r in rows if r[1] == "yes")
    lines = [f"# EZKL 23.0.5 gen_settings on zkinfer's op fixtures: {ok} of {len(rows)}", "",
             __doc__.split("\n\n")[0].replace("\n", " "), "",
             "| fixture | EZKL gen_settings | EZKL's error |", "|---|---|---|"]
    lines += [f"| {n} | {s} | {e} |" for n, s, e in rows]
    with open(os.path.join(HERE, "ezkl_breadth.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"EZKL gen_settings takes {ok} of {len(rows)} fixtures; wrote bench/ezkl_breadth.md")


if __name__ == "__main__":
    main()
