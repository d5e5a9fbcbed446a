"""A data scientist's path through zkinfer: train a small scikit-learn credit model, export it to
ONNX, prove one applicant's score, verify it, and (with anvil) put it on chain and read the
verified output back.

    python examples/python/credit_sklearn.py [--rpc-url URL --private-key KEY] [--work DIR]

Without --rpc-url it starts an anvil from PATH (``make tools`` puts one in .tools/bin) on a free
port. Needs: pip install ./python numpy scikit-learn skl2onnx onnx.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import tempfile
import time

import numpy as np
from skl2onnx import to_onnx
from sklearn.neural_network import MLPRegressor

import zkinfer

# anvil's first default account (a well-known test key: never use it on a real chain).
ANVIL_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ANVIL_ADDR = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"


def credit_data(n: int, seed: int = 7):
    """Synthetic applicants: income, debt ratio, years employed, late payments, age, savings
    (standardised), and a repayment logit."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    w = np.array([0.9, -1.2, 0.5, -0.8, 0.2, 0.6], dtype=np.float32)
    y = x @ w + 0.3 * np.tanh(x[:, 0] * x[:, 1]) + rng.normal(scale=0.1, size=n)
    return x, y.astype(np.float32)


def train():
    """A 6-16-1 ReLU network and its ONNX export (one applicant per inference)."""
    x, y = credit_data(512)
    model = MLPRegressor(hidden_layer_sizes=(16,), max_iter=600, random_state=0).fit(x, y)
    onnx_model = to_onnx(model, x[:1], target_opset=13)
    return model, onnx_model, x


def start_anvil():
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    number = port.getsockname()[1]
    port.close()
    anvil = shutil.which("anvil")
    if anvil is None:
        raise SystemExit("anvil not found on PATH: run `make tools` and add .tools/bin to PATH")
    proc = subprocess.Popen([anvil, "--host", "127.0.0.1", "--port", str(number), "--silent"])
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", number), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{number}"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("anvil did not start")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rpc-url", help="an existing chain (default: start anvil)")
    parser.add_argument("--private-key", default=ANVIL_KEY)
    parser.add_argument("--work", help="build folder (default: a temporary one)")
    args = parser.parse_args(argv)
    work = args.work or tempfile.mkdtemp(prefix="zkinfer-example-")
    build = os.path.join(work, "build")

    model, onnx_model, x = train()
    applicant = x[3]
    expected = float(model.predict(applicant[None, :])[0])
    print(f"trained; sklearn scores applicant 3 at {expected:.4f}")

    report = zkinfer.compile(onnx_model, {"input_data": [x[:64].ravel().tolist()]}, build, force=True)
    print(f"compiled: model {report['model_id'][:18]}…, k = {report['k']}")
    zkinfer.setup(build, dev_srs=True)  # INSECURE development SRS: local tests only
    proof = zkinfer.prove(build, applicant, proof_path=os.path.join(work, "proof.json"), subject=ANVIL_ADDR)
    proven = proof["output_data"][0][0]
    print(f"proved: {proven:.4f} (sklearn {expected:.4f}), {len(proof['proof']) // 2 - 1} bytes")
    assert zkinfer.verify(build, proof), "the proof does not verify"

    anvil = None
    rpc_url = args.rpc_url
    if rpc_url is None:
        anvil, rpc_url = start_anvil()
    try:
        deployment = zkinfer.deploy(build, rpc_url, args.private_key)
        sent = zkinfer.submit(proof, rpc_url, deployment=os.path.join(build, "deployment.json"),
                              private_key=args.private_key)
        stored = zkinfer.read(ANVIL_ADDR, rpc_url, deployment=os.path.join(build, "deployment.json"))
        print(f"on chain: oracle {deployment['oracle']} stored {stored['outputs'][0]:.4f} "
              f"for {ANVIL_ADDR} (submit gas {sent['gas_used']})")
    finally:
        if anvil is not None:
            anvil.kill()
            anvil.wait()
    return {"sklearn": expected, "proven": proven, "on_chain": stored["outputs"][0], "report": report}


if __name__ == "__main__":
    main()
