"""The Python package against real builds and proofs: in-memory inputs, error classes, the GIL
released during long calls, and the example (train, export, prove, verify, anvil) end to end."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import zkinfer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "credit_risk"
OPS = ROOT / "prover" / "tests" / "fixtures" / "ops"
TOOLS = ROOT / ".tools" / "bin"
SUBJECT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """The bundled credit-risk model, compiled from ONNX bytes and set up with the dev SRS."""
    out = tmp_path_factory.mktemp("credit") / "build"
    calibration = json.loads((EXAMPLE / "calibration.json").read_text())
    report = zkinfer.compile((EXAMPLE / "model.onnx").read_bytes(), calibration, out, scale=13)
    assert report["model_id"].startswith("0x") and report["k"] >= 8
    keys = zkinfer.setup(out, dev_srs=True)
    assert keys["dev_srs"] is True
    return out


def example_input() -> np.ndarray:
    return np.array(json.loads((EXAMPLE / "input.json").read_text())["input_data"][0], dtype=np.float32)


def test_prove_a_numpy_input_and_verify(build, tmp_path):
    x = example_input()
    proof = zkinfer.prove(build, x, proof_path=tmp_path / "p.json", subject=SUBJECT)
    assert (tmp_path / "p.json").exists()
    reference = json.loads((EXAMPLE / "meta.json").read_text())["ort_output"][0]
    assert abs(proof["output_data"][0][0] - reference) < 2e-3
    # The subject is the proof's last instance.
    assert proof["instances"][-1].endswith(SUBJECT[2:].lower())
    assert zkinfer.verify(build, proof) is True
    assert zkinfer.verify(build, tmp_path / "p.json") is True
    # The same input as a list, and as EZKL's dict, proves the same output.
    again = zkinfer.prove(build, {"input_data": [x.tolist()]}, subject=SUBJECT)
    assert again["output_data"] == proof["output_data"]


def test_tampering_is_caught(build):
    proof = zkinfer.prove(build, example_input().tolist(), subject=SUBJECT)
    flipped = dict(proof)
    raw = bytearray.fromhex(proof["proof"][2:])
    raw[100] ^= 1
    flipped["proof"] = "0x" + raw.hex()
    assert zkinfer.verify(build, flipped) is False
    other = dict(proof)
    other["instances"] = proof["instances"][:-1] + ["0x" + "00" * 12 + SUBJECT[2:].lower().replace("7", "8")]
    assert zkinfer.verify(build, other) is False
    edited = dict(proof)
    edited["output_data"] = [[proof["output_data"][0][0] + 1.0]]
    with pytest.raises(zkinfer.ProofInvalid) as err:
        zkinfer.verify(build, edited)
    assert "output_data" in str(err.value)


def test_errors_have_a_class_per_kind(build, tmp_path):
    with pytest.raises(zkinfer.InvalidModel):
        zkinfer.compile(b"not an onnx file", [[0.0]], tmp_path / "junk")
    with pytest.raises(zkinfer.UnsupportedOperator) as err:
        zkinfer.compile(
            OPS / "unsupported_svm_classifier.onnx", OPS / "unsupported_svm_classifier.calib.json", tmp_path / "svm"
        )
    assert err.value.kind == "unsupported_operator" and "SVMClassifier" in str(err.value)
    with pytest.raises(zkinfer.InvalidInput):
        zkinfer.prove(build, [0.1, 0.2], subject=SUBJECT)
    with pytest.raises(zkinfer.InvalidInput):
        zkinfer.prove(build, example_input(), subject="0x1234")
    with pytest.raises(zkinfer.UsageError):
        zkinfer.setup(build)
    with pytest.raises(zkinfer.UsageError):
        zkinfer.compile(EXAMPLE / "model.onnx", EXAMPLE / "calibration.json", tmp_path / "b", target="fastest")
    with pytest.raises(zkinfer.BuildError):
        zkinfer.prove(tmp_path / "nothing-here", example_input())
    assert issubclass(zkinfer.ChainError, zkinfer.ZkinferError)
    # Unreachable RPC endpoint: a chain error naming it.
    with pytest.raises(zkinfer.ChainError) as err:
        zkinfer.read(SUBJECT, "http://127.0.0.1:9", consumer=SUBJECT, model_id="0x" + "00" * 32)
    assert "127.0.0.1:9" in str(err.value)
    # --version through the native entry point is an answer, not an error.
    code, text = zkinfer._zkinfer.run(["--version"])
    assert code == 0 and zkinfer.__version__ in json.loads(text)["text"]


def test_long_calls_release_the_gil(build, tmp_path):
    """A Python thread runs in the middle of the native prove call (not only around it)."""
    input_file = tmp_path / "input.json"
    input_file.write_text((EXAMPLE / "input.json").read_text())
    args = ["-q", "prove", str(build), "--input", str(input_file), "-o", str(tmp_path / "p.json")]
    args += ["--subject", SUBJECT]
    stamps = []
    stop = threading.Event()

    def tick():
        while not stop.is_set():
            stamps.append(time.perf_counter())

    worker = threading.Thread(target=tick)
    worker.start()
    try:
        time.sleep(0.05)
        start = time.perf_counter()
        zkinfer._zkinfer.run(args)
        end = time.perf_counter()
    finally:
        stop.set()
        worker.join()
    middle = [t for t in stamps if start + 0.25 * (end - start) <= t <= start + 0.75 * (end - start)]
    assert end - start > 0.05, "prove was too quick to tell"
    assert len(middle) > 1000, f"the other thread ran {len(middle)} times in the middle half of prove"


def test_the_example_trains_proves_and_reads_the_output_on_anvil(tmp_path, monkeypatch):
    if not (TOOLS / "anvil").exists():
        pytest.fail("anvil missing: run `make tools`")
    monkeypatch.setenv("PATH", f"{TOOLS}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("ZKINFER_SOLC", str(TOOLS / "solc"))
    spec = importlib.util.spec_from_file_location("credit_sklearn", ROOT / "examples" / "python" / "credit_sklearn.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    result = example.main(["--work", str(tmp_path)])
    # The circuit's output is the float model's within the fixed-point tolerance, and the chain
    # stores what was proven.
    assert abs(result["proven"] - result["sklearn"]) < 2e-3 + 2e-3 * abs(result["sklearn"])
    assert result["on_chain"] == pytest.approx(result["proven"], abs=1e-9)
    assert shutil.which("anvil") is not None


def test_input_data_conversions():
    one = zkinfer._data_dict(np.ones((2, 3), dtype=np.float32))
    assert one == {"input_data": [[1.0] * 6]}, "an array is one input, samples back to back"
    assert zkinfer._data_dict([[1, 2], [3, 4]]) == {"input_data": [[1.0, 2.0, 3.0, 4.0]]}
    scalars = [np.float32(0.5), np.float64(1.5)]
    assert zkinfer._data_dict(scalars) == {"input_data": [[0.5, 1.5]]}
    two = zkinfer._data_dict((np.zeros(2), np.ones(3)))
    assert two == {"input_data": [[0.0, 0.0], [1.0, 1.0, 1.0]]}, "a tuple of arrays is one per input"
    assert zkinfer._data_dict({"input_data": [np.arange(3)], "salt": "0x5"}) == {
        "input_data": [[0.0, 1.0, 2.0]],
        "salt": "0x5",
    }
    with pytest.raises(zkinfer.InvalidInput):
        zkinfer._data_dict([1.0, float("nan")])
    with pytest.raises(TypeError):
        zkinfer._data_dict(object())
    assert zkinfer._flags({"max_columns": 4, "force": np.bool_(True), "quiet": False, "attester": ["a", "b"]}) == [
        "--max-columns=4",
        "--force",
        "--attester=a",
        "--attester=b",
    ]


def test_no_temporary_files_are_left_behind(build, tmp_path):
    scratch = Path(tempfile.gettempdir())
    before = {p.name for p in scratch.glob("zkinfer-*")}
    proof = zkinfer.prove(build, example_input(), subject=SUBJECT, salt="0x5a17")
    assert zkinfer.verify(build, proof)
    after = {p.name for p in scratch.glob("zkinfer-*")}
    assert after <= before, f"left behind: {after - before}"


def test_codegen_and_calldata_from_python(build, tmp_path):
    out = zkinfer.codegen(build, tmp_path / "Verifier.sol")
    assert (tmp_path / "Verifier.key.sol").exists() and out["proof_bytes"] > 0
    assert "INSECURE KEYS" in (tmp_path / "Verifier.key.sol").read_text()
    proof = zkinfer.prove(build, example_input(), subject=SUBJECT)
    raw = zkinfer.encode_calldata(proof, target="snark-verifier")
    assert raw == "0x" + "".join(w[2:] for w in proof["instances"]) + proof["proof"][2:]
