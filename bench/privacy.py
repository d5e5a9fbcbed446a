#!/usr/bin/env python3
"""Cost of each visibility mode on mlp_digits: circuit size, setup and prove time, proof size and
verify gas on anvil (snark-verifier contract and reusable verifier). Writes bench/privacy.md.
A benchmark, not a test: CI does not run it."""
import json, socket, subprocess, sys, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gas import KEY, MODELS, OUT, ROOT, TOOLS, run, send, zk  # noqa: E402

MODES = [  # inputs, outputs, params
    ("public", "public", "fixed"),
    ("private", "public", "fixed"),
    ("hashed", "public", "fixed"),
    ("public", "private", "fixed"),
    ("public", "hashed", "fixed"),
    ("hashed", "hashed", "fixed"),
    ("public", "public", "hashed"),
    ("hashed", "public", "hashed"),
]


def main(name="mlp_digits"):
    run("cargo", "build", "--release", "-q", "-p", "zkinfer-cli")
    port = socket.socket(); port.bind(("127.0.0.1", 0)); p = port.getsockname()[1]; port.close()
    anvil = subprocess.Popen([str(TOOLS / "anvil"), "--port", str(p), "--silent"])
    url = f"http://127.0.0.1:{p}"
    time.sleep(2)
    m = MODELS / name
    data = json.loads(Path(f"{m}.input.json").read_text())
    data["salt"] = "0x" + "5a17" * 15
    rows, reusable = [], None
    try:
        for inputs, outputs, params in MODES:
            b = OUT.parent / "privacy" / f"{inputs}-{outputs}-{params}"
            b.mkdir(parents=True, exist_ok=True)
            (b / "input.json").write_text(json.dumps(data))
            print(f"{name} {inputs}/{outputs}/{params}", file=sys.stderr)
            s = zk("compile", f"{m}.onnx", "--calibration", f"{m}.calib.json", "-o", str(b / "build"), "--force",
                   "--input-visibility", inputs, "--output-visibility", outputs, "--param-visibility", params)
            t0 = time.time(); zk("setup", str(b / "build"), "--dev-srs"); setup = time.time() - t0
            t0 = time.time()
            zk("prove", str(b / "build"), "--input", str(b / "input.json"), "-o", str(b / "proof.json"))
            prove = time.time() - t0
            proof = json.loads((b / "proof.json").read_text())
            zk("codegen", str(b / "build"), "--verifier", "reusable", "-o", str(b / "Halo2Verifier.sol"))
            if reusable is None:
                code = (b / "Halo2Verifier.bin").read_text().strip()
                reusable = json.loads(run("cast", "send", "--json", "--rpc-url", url, "--private-key", KEY,
                                          "--create", code))["contractAddress"]
            key = json.loads(run("cast", "send", "--json", "--rpc-url", url, "--private-key", KEY, "--create",
                                 (b / "Halo2Verifier.key.bin").read_text().strip()))["contractAddress"]
            inst = "[" + ",".join(proof["instances"]) + "]"
            rv, _ = send(url, reusable, "verifyProof(address,bytes,uint256[])", key, proof["proof"], inst)
            try:
                sv = zk("codegen", str(b / "build"), "--verifier", "snark-verifier", "-o", str(b / "Verifier.sol"))
                addr = json.loads(run("cast", "send", "--json", "--rpc-url", url, "--private-key", KEY,
                                      "--create", (b / "Verifier.bin").read_text().strip()))["contractAddress"]
                raw = "0x" + "".join(w[2:] for w in proof["instances"]) + proof["proof"][2:]
                sv_gas = f"{send(url, addr, raw)[0]:,}"
            except SystemExit as e:
                sv_gas = "over EIP-170" if "EIP-170" in str(e) else "n/a"
            rows.append((inputs, outputs, params, s["k"], s["advice_columns"], s["advice_cells"],
                         len(proof["instances"]), f"{setup:.2f}", f"{prove:.2f}",
                         len(proof["proof"]) // 2 - 1, sv_gas, f"{rv:,}"))
    finally:
        anvil.kill()
    head = ("| inputs | outputs | params | k | columns | advice cells | instances | setup s | prove s | "
            "proof B | verify gas (snark-verifier) | verify gas (reusable) |")
    lines = [f"# Visibility modes on {name}", "", head, "|" + "---|" * 12]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    text = "\n".join(lines)
    print(text)
    (ROOT / "bench" / "privacy.md").write_text(text + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
