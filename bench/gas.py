#!/usr/bin/env python3
"""Verifier gas report: for every model in ../shared/bench-models, zkinfer's two verifiers on a real
anvil — the model-specific snark-verifier contract (default) and the reusable ReusableHalo2Verifier (deployed
once for all models) with the model's key contract — beside EZKL's measured verify gas
(../shared/anchors/ezkl-results.md, same machine type). Verify gas is the receipt gasUsed of a
transaction sending the proof straight to the verifier (as EZKL's anchor); submit gas goes through
the oracle (checks, replay mark, output storage, event). Writes bench/gas.md and bench/gas.json.
A benchmark, not a test: CI does not run it."""
import json, os, shutil, subprocess, sys
from pathlib import Path

import harness

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT.parent / "shared" / "bench-models"
ANCHORS = ROOT.parent / "shared" / "anchors" / "ezkl-results.md"
OUT = ROOT / "bench" / "out" / "gas"
TOOLS = ROOT / ".tools" / "bin"
ZK = str(ROOT / "target" / "release" / "zkinfer")
KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
# The subject of the proofs: KEY's address (it submits them itself).
ADDR = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
NAMES = ["mlp_tiny", "mlp_digits", "cnn_digits", "mlp_sigmoid", "mlp_large"]
ENV = dict(os.environ, PATH=f"{TOOLS}:{os.environ['PATH']}", ZKINFER_SOLC=str(TOOLS / "solc"))


def run(*cmd):
    out = subprocess.run(cmd, capture_output=True, text=True, env=ENV)
    if out.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{out.stderr}")
    return out.stdout


def zk(*args):
    return json.loads(run(ZK, "--json", "-q", *args))


def ezkl_gas():
    """Verify gas per model from the first EZKL table that has it."""
    gas = {}
    for line in ANCHORS.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) > 13 and cells[0] in NAMES and cells[0] not in gas:
            gas[cells[0]] = int(cells[13].replace(",", ""))
    return gas


def calldata_gas(hexdata):
    data = bytes.fromhex(hexdata[2:] if hexdata.startswith("0x") else hexdata)
    return sum(4 if b == 0 else 16 for b in data)


def raw_calldata(proof):
    """What the snark-verifier contract takes: the instances, then the proof, as one 0x string."""
    return "0x" + "".join(w[2:] for w in proof["instances"]) + proof["proof"][2:]


def send(url, to, *args):
    """Sends a transaction; returns (gasUsed, input calldata)."""
    receipt = json.loads(run("cast", "send", "--json", "--rpc-url", url, "--private-key", KEY, to, *args))
    tx = json.loads(run("cast", "tx", "--json", "--rpc-url", url, receipt["transactionHash"]))
    if int(receipt["status"], 16) != 1:
        sys.exit(f"transaction to {to} reverted")
    return int(receipt["gasUsed"], 16), tx["input"]


def main():
    """`gas.py [MODEL...]`: all bench models, or the named ones merged into the earlier results."""
    names = sys.argv[1:] or NAMES
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        sys.exit(f"unknown model(s) {unknown}; bench models: {NAMES}")
    run("cargo", "build", "--release", "-q", "-p", "zkinfer-cli")
    for name in names:
        shutil.rmtree(OUT / name, ignore_errors=True)
    OUT.mkdir(parents=True, exist_ok=True)
    anvil, url = harness.start_anvil()
    ezkl = ezkl_gas()
    rows, reusable = [], None
    try:
        for name in names:
            m, b = MODELS / name, OUT / name
            print(f"{name}: compile, setup, prove", file=sys.stderr)
            settings = zk("compile", f"{m}.onnx", "--calibration", f"{m}.calib.json", "-o", str(b))
            zk("setup", str(b), "--dev-srs")
            zk("prove", str(b), "--input", f"{m}.input.json", "-o", str(b / "proof.json"), "--subject", ADDR)
            proof = json.loads((b / "proof.json").read_text())
            raw = raw_calldata(proof)
            plan = zk("codegen", str(b), "--verifier", "reusable", "-o", str(b / "Halo2Verifier.sol"))

            sv = zk("deploy", str(b), "--verifier", "snark-verifier", "--rpc-url", url, "--private-key", KEY)
            sv_gas, sv_input = send(url, sv["verifier"], raw)
            sv_submit = zk("submit", str(b / "proof.json"), "--rpc-url", url, "--consumer", sv["oracle"],
                           "--private-key", KEY)["gas_used"]
            extra = ["--reusable-verifier", reusable] if reusable else []
            rv = zk("deploy", str(b), "--verifier", "reusable", "--rpc-url", url, "--private-key", KEY, *extra)
            reusable = rv["verifier"]
            inst = "[" + ",".join(proof["instances"]) + "]"
            rv_gas, rv_input = send(url, reusable, "verifyProof(address,bytes,uint256[])", rv["key"],
                                    proof["proof"], inst)
            # A second proof (the same statement) for the second oracle, deployed with the reusable verifier.
            zk("prove", str(b), "--input", f"{m}.input.json", "-o", str(b / "proof2.json"), "--subject", ADDR)
            rv_submit = zk("submit", str(b / "proof2.json"), "--rpc-url", url, "--consumer", rv["oracle"],
                           "--private-key", KEY)["gas_used"]
            points = plan["msm_points"]
            rows.append({
                "model": name, "k": settings.get("k"), "ezkl_verify_gas": ezkl.get(name),
                "proof_bytes": plan["proof_bytes"], "instances": len(proof["instances"]),
                "snark_verifier": {"verify_gas": sv_gas, "submit_gas": sv_submit, "deploy_gas": sv["gas"]["verifier"],
                                   "runtime_bytes": sv["verifier_runtime_bytes"], "calldata_gas": calldata_gas(sv_input)},
                "reusable": {"verify_gas": rv_gas, "submit_gas": rv_submit, "key_deploy_gas": rv["gas"]["key"],
                             "verifier_deploy_gas": rv["gas"]["verifier"], "key_bytes": rv["key_bytes"],
                             "runtime_bytes": rv["verifier_runtime_bytes"], "calldata_gas": calldata_gas(rv_input),
                             "msm_points": points},
            })
    finally:
        anvil.kill()
    earlier = ROOT / "bench" / "gas.json"
    if names != NAMES and earlier.exists():
        fresh = {r["model"]: r for r in rows}
        old = {r["model"]: r for r in json.loads(earlier.read_text())}
        rows = [fresh.get(n) or old[n] for n in NAMES if n in fresh or n in old]

    lines = [
        "| model | k | EZKL verify gas | snark-verifier verify gas (ratio) | reusable verify gas (ratio) | oracle submit gas sv / reusable | deploy gas sv / key (+ verifier once) | runtime B sv / reusable + key | proof B | MSM points |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        e, s, u = r["ezkl_verify_gas"], r["snark_verifier"], r["reusable"]
        ratio = lambda g: f"{g:,} ({g / e:.3f})" if e else f"{g:,}"
        lines.append(
            f"| {r['model']} | {r['k']} | {e:,} | {ratio(s['verify_gas'])} | {ratio(u['verify_gas'])} | "
            f"{s['submit_gas']:,} / {u['submit_gas']:,} | {s['deploy_gas']:,} / {u['key_deploy_gas']:,}"
            f"{' (+ ' + format(u['verifier_deploy_gas'], ',') + ')' if u['verifier_deploy_gas'] else ''} | "
            f"{s['runtime_bytes']:,} / {u['runtime_bytes']:,} + {u['key_bytes']:,} | {r['proof_bytes']:,} | {u['msm_points']} |")
    lines += ["", "Breakdown of the reusable verifier's verify tx (gas): base 21,000; calldata (16 per non-zero byte, 4 per zero);",
              "pairing 113,000 (two pairs); MSM: points × (6,000 ecMul + 150 ecAdd); the rest is transcript hashing, input",
              "validation, Lagrange/constraint/interpolation arithmetic and one modexp inversion.", "",
              "| model | total | base | calldata | pairing | MSM | rest |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        u = r["reusable"]
        msm = u["msm_points"] * 6150
        rest = u["verify_gas"] - 21000 - u["calldata_gas"] - 113000 - msm
        lines.append(f"| {r['model']} | {u['verify_gas']:,} | 21,000 | {u['calldata_gas']:,} | 113,000 | {msm:,} | {rest:,} |")
    text = "\n".join(lines)
    print(text)
    (ROOT / "bench" / "gas.md").write_text(text + "\n")
    (ROOT / "bench" / "gas.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
