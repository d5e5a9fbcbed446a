#!/usr/bin/env python3
"""Runs one EZKL step in this process and prints {"seconds": ...} (the parent measures RSS).

Usage: ezkl_step.py STEP JSON_ARGS
"""
import asyncio
import json
import sys
import time

import ezkl


def main():
    step, args = sys.argv[1], json.loads(sys.argv[2])
    t0 = time.perf_counter()
    if step == "gen_settings":
        run_args = ezkl.PyRunArgs()
        run_args.input_visibility = "public"
        run_args.param_visibility = "fixed"
        run_args.output_visibility = "public"
        ezkl.gen_settings(args["model"], args["settings"], py_run_args=run_args)
    elif step == "calibrate_settings":
        async def run():
            return await ezkl.calibrate_settings(args["data"], args["model"], args["settings"], "resources")
        try:
            asyncio.run(run())
        except TypeError:
            ezkl.calibrate_settings(args["data"], args["model"], args["settings"], "resources")
    elif step == "compile_circuit":
        ezkl.compile_circuit(args["model"], args["compiled"], args["settings"])
    elif step == "gen_srs":
        ezkl.gen_srs(args["srs"], args["logrows"])
    elif step == "setup":
        ezkl.setup(args["compiled"], args["vk"], args["pk"], args["srs"])
    elif step == "gen_witness":
        ezkl.gen_witness(args["data"], args["compiled"], args["witness"])
    elif step == "prove":
        ezkl.prove(args["witness"], args["compiled"], args["pk"], args["proof"], args["srs"])
    elif step == "verify":
        assert ezkl.verify(args["proof"], args["settings"], args["vk"], args["srs"])
    else:
        raise SystemExit(f"unknown step {step}")
    print(json.dumps({"seconds": time.perf_counter() - t0}))


if __name__ == "__main__":
    main()
