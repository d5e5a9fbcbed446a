"""zkinfer: verifiable ML inference on an EVM chain, from Python.

ONNX model + input -> fixed-point inference in a halo2 circuit -> KZG proof -> Solidity verifier
-> an oracle contract that credits the verified output to the account the proof names.

Every function runs the same code as the ``zkinfer`` command line (in-process, with the GIL
released) and takes paths or in-memory data: ONNX ``bytes`` (or an ``onnx.ModelProto``), inputs
as a dict in EZKL's format ``{"input_data": [[...]]}``, a list, or a numpy array. Failures raise
a :class:`ZkinferError` subclass per kind (:class:`UnsupportedOperator`, :class:`InvalidInput`,
:class:`ProofInvalid`, :class:`ChainError`, ...) carrying the Rust message.

    import zkinfer
    zkinfer.compile("model.onnx", calibration, "build")
    zkinfer.setup("build", dev_srs=True)          # tests only: use srs="....ptau" for real keys
    proof = zkinfer.prove("build", x, subject="0x...")
    assert zkinfer.verify("build", proof)
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from . import _zkinfer

__version__ = "0.1.0"

# `compile` is left out of `__all__` so that `from zkinfer import *` does not shadow the builtin;
# call it as `zkinfer.compile`.
__all__ = [
    "commitment",
    "setup",
    "prove",
    "verify",
    "codegen",
    "deploy",
    "attest",
    "submit",
    "read",
    "verify_evm",
    "encode_calldata",
    "ZkinferError",
    "UsageError",
    "UnsupportedOperator",
    "InvalidModel",
    "InvalidInput",
    "ModelMismatch",
    "BuildError",
    "SrsError",
    "ResourceLimit",
    "CodegenError",
    "ProofInvalid",
    "ChainError",
    "ZkinferIOError",
    "InternalError",
]

PathLike = Union[str, "os.PathLike[str]"]
#: A model: a path to an ONNX file, its bytes, or an ``onnx.ModelProto``.
ModelLike = Union[PathLike, bytes, Any]
#: Input data: a path to a JSON file in EZKL's format, such a dict, or the values of the graph
#: inputs (one flat sequence or array per input; a single array for a one-input model).
DataLike = Union[PathLike, Dict[str, Any], Sequence[Any], Any]


class ZkinferError(Exception):
    """A zkinfer command failed. ``kind`` is the machine-readable kind, ``message`` the reason."""

    kind: str = "error"

    def __init__(self, message: str, kind: Optional[str] = None):
        super().__init__(message)
        self.message = message
        if kind is not None:
            self.kind = kind


class UsageError(ZkinferError):
    """Arguments the command line refuses (a wrong option or value)."""

    kind = "usage"


class UnsupportedOperator(ZkinferError):
    """The ONNX model uses an operator zkinfer cannot prove (the message names op and node)."""

    kind = "unsupported_operator"


class InvalidModel(ZkinferError):
    """The ONNX model is malformed or a node is used in a way zkinfer does not support."""

    kind = "invalid_model"


class InvalidInput(ZkinferError):
    """Input data of the wrong length, out of the calibrated range, or malformed."""

    kind = "invalid_input"


class ModelMismatch(ZkinferError):
    """A build folder whose files do not belong together (e.g. an edited model.json)."""

    kind = "model_mismatch"


class BuildError(ZkinferError):
    """A build folder in the wrong state (no keys yet, another model's files, ...)."""

    kind = "build"


class SrsError(ZkinferError):
    """A malformed, truncated or too small SRS file."""

    kind = "srs"


class ResourceLimit(ZkinferError):
    """The circuit would need more memory than allowed."""

    kind = "resources"


class CodegenError(ZkinferError):
    """Generating or compiling the Solidity verifier failed."""

    kind = "codegen"


class ProofInvalid(ZkinferError):
    """A malformed proof file, or one whose outputs disagree with its verified instances."""

    kind = "malformed_proof"


class ChainError(ZkinferError):
    """The RPC endpoint, a transaction, or a contract refused (the decoded revert reason)."""

    kind = "chain"


class InternalError(ZkinferError):
    """A bug in zkinfer (a Rust panic); please report it with the message."""

    kind = "internal"


class ZkinferIOError(ZkinferError):
    """A file could not be read or written."""

    kind = "io"


_KINDS = {
    cls.kind: cls
    for cls in (
        UsageError,
        UnsupportedOperator,
        InvalidModel,
        InvalidInput,
        ModelMismatch,
        BuildError,
        SrsError,
        ResourceLimit,
        CodegenError,
        ProofInvalid,
        ChainError,
        ZkinferIOError,
        InternalError,
    )
}
_KINDS["output_mismatch"] = ProofInvalid


def _run(args: List[str]) -> Any:
    """Runs one zkinfer command; returns its JSON outcome or raises the matching error."""
    try:
        _code, text = _zkinfer.run([str(a) for a in args])
    except _zkinfer.ZkinferError as e:
        kind, message = e.args
        raise _KINDS.get(kind, ZkinferError)(message, kind) from None
    return json.loads(text)


def _model_path(model: ModelLike, scratch: str) -> str:
    """A path to the model: as given, or its bytes written into ``scratch``."""
    if isinstance(model, (bytes, bytearray)):
        path = os.path.join(scratch, "model.onnx")
        Path(path).write_bytes(bytes(model))
        return path
    if hasattr(model, "SerializeToString"):
        return _model_path(model.SerializeToString(), scratch)
    return os.fspath(model)


def _is_array(x: Any) -> bool:
    """A numpy array (or pandas object) of at least one dimension; numpy scalars are not."""
    return getattr(x, "ndim", 0) > 0


def _as_list(values: Any) -> List[float]:
    """The values flattened (row-major) into floats; arrays anywhere inside are flattened too.
    Non-finite values are refused."""
    out: List[float] = []

    def flatten(v: Any) -> None:
        if hasattr(v, "to_numpy"):
            v = v.to_numpy()
        if hasattr(v, "tolist"):
            v = v.tolist()
        if isinstance(v, (list, tuple)):
            for x in v:
                flatten(x)
        else:
            f = float(v)
            if f != f or f in (float("inf"), float("-inf")):
                raise InvalidInput(f"input value {v!r} is not finite", "invalid_input")
            out.append(f)

    flatten(values)
    return out


def _data_dict(data: DataLike) -> Dict[str, Any]:
    """EZKL's input format. A dict is taken as it is (its arrays converted); an array, or a list
    of numbers or nested lists, is ONE graph input (samples back to back, as for calibration);
    several graph inputs are a list or tuple of arrays, or a dict ``{"input_data": [...]}``."""
    if isinstance(data, dict):
        out = dict(data)
        if "input_data" in out:
            out["input_data"] = [_as_list(x) for x in out["input_data"]]
        return out
    if _is_array(data):
        return {"input_data": [_as_list(data)]}
    if isinstance(data, (list, tuple)):
        if data and all(_is_array(x) for x in data):
            return {"input_data": [_as_list(x) for x in data]}
        return {"input_data": [_as_list(data)]}
    raise TypeError(f"input data must be a path, a dict, a list or an array, not {type(data).__name__}")


def _data_path(data: DataLike, scratch: str, name: str, **extra: Any) -> str:
    """A path to the data in EZKL's format: a given file as is (unless ``extra`` keys such as a
    salt must be added), else the data written into ``scratch``."""
    extra = {k: v for k, v in extra.items() if v is not None}
    if isinstance(data, (str, os.PathLike)) and not extra:
        return os.fspath(data)
    if isinstance(data, (str, os.PathLike)):
        content = json.loads(Path(data).read_text())
    else:
        content = _data_dict(data)
    content.update(extra)
    path = os.path.join(scratch, name)
    Path(path).write_text(json.dumps(content, allow_nan=False))
    return path


def _flags(options: Dict[str, Any]) -> List[str]:
    """Keyword options as command-line flags: ``max_columns=4`` -> ``--max-columns=4``,
    ``force=True`` -> ``--force``, a list repeats the flag, ``None``/``False`` are left out."""
    args: List[str] = []
    for key, value in options.items():
        if value is None:
            continue
        flag = "--" + key.replace("_", "-")
        if type(value).__name__ in ("bool", "bool_"):
            if bool(value):
                args.append(flag)
            continue
        for v in value if isinstance(value, (list, tuple)) else [value]:
            text = os.fspath(v) if isinstance(v, os.PathLike) else str(v)
            args.append(f"{flag}={text}")
    return args


def _scratch() -> "tempfile.TemporaryDirectory[str]":
    """A private scratch folder for one call's temporary files (inputs, salts, models), removed
    when the call returns."""
    return tempfile.TemporaryDirectory(prefix="zkinfer-")


def _chain(rpc_url: Optional[str], private_key: Optional[str] = None) -> List[str]:
    """The chain flags: ``--rpc-url`` (else ``ETH_RPC_URL`` from the environment) and the key."""
    return _flags({"rpc_url": rpc_url, "private_key": private_key})


def compile(model: ModelLike, calibration: DataLike, build_dir: PathLike, **options: Any) -> Dict[str, Any]:
    """Imports an ONNX model, calibrates fixed-point scales on ``calibration`` (samples back to
    back) and lays out the circuit in ``build_dir``. Options are the CLI's, as keywords:
    ``target="resources"``, ``scale=13``, ``max_columns=4``, ``input_visibility="hashed"``,
    ``force=True``, ... Returns the compile report (model id, k, per-layer costs)."""
    with _scratch() as scratch:
        args = ["--json", "-q", "compile", _model_path(model, scratch)]
        args += ["--calibration", _data_path(calibration, scratch, "calibration.json")]
        args += ["-o", os.fspath(build_dir)] + _flags(options)
        return _run(args)


def setup(build_dir: PathLike, srs: Optional[PathLike] = None, dev_srs: bool = False) -> Dict[str, Any]:
    """Generates the proving and verifying keys. ``srs`` is a ceremony file (``.ptau`` or halo2
    params); ``dev_srs=True`` uses an INSECURE development SRS (tests only)."""
    if (srs is None) == (not dev_srs):
        raise UsageError("give either srs=PATH (a ceremony file) or dev_srs=True (testing only)")
    args = ["--json", "-q", "setup", os.fspath(build_dir)]
    return _run(args + _flags({"dev_srs": dev_srs, "srs": srs}))


def prove(
    build_dir: PathLike,
    input: DataLike,
    proof_path: Optional[PathLike] = None,
    subject: Optional[str] = None,
    salt: Optional[str] = None,
) -> Dict[str, Any]:
    """Computes the witness of ``input`` and proves it. ``subject`` is the account (``0x``
    address) a consumer contract credits the output to; ``salt`` the data owner's secret salt for
    hashed inputs or outputs. Returns the proof file's content (``output_data`` dequantised); it
    is also written to ``proof_path`` when given."""
    with _scratch() as scratch:
        path = os.fspath(proof_path) if proof_path is not None else os.path.join(scratch, "proof.json")
        data = _data_path(input, scratch, "input.json", salt=salt)
        args = ["--json", "-q", "prove", os.fspath(build_dir), "--input", data, "-o", path]
        _run(args + _flags({"subject": subject}))
        return json.loads(Path(path).read_text())


def _proof_path(proof: Union[PathLike, Dict[str, Any]], scratch: str) -> str:
    """A path to the proof: as given, or the dict written into ``scratch``."""
    if isinstance(proof, dict):
        path = os.path.join(scratch, "proof.json")
        Path(path).write_text(json.dumps(proof))
        return path
    return os.fspath(proof)


def verify(build_dir: PathLike, proof: Union[PathLike, Dict[str, Any]]) -> bool:
    """Verifies a proof (a file or the dict :func:`prove` returned) off-chain: ``True`` valid,
    ``False`` when the proof does not verify for its instances. A malformed proof file, or one
    whose ``output_data`` disagrees with its verified instances, raises :class:`ProofInvalid`."""
    with _scratch() as scratch:
        args = ["--json", "-q", "verify", os.fspath(build_dir), _proof_path(proof, scratch)]
        return bool(_run(args)["valid"])


def codegen(build_dir: PathLike, out: PathLike, verifier: str = "reusable", **options: Any) -> Dict[str, Any]:
    """Writes the Solidity verifier (``verifier="reusable"``: the shared contract plus the
    model's key contract; ``"snark-verifier"``: a model-specific one) with ABI and bytecode;
    options: ``solc="path"``."""
    args = ["--json", "-q", "codegen", os.fspath(build_dir), "-o", os.fspath(out), "--verifier", verifier]
    return _run(args + _flags(options))


def deploy(
    build_dir: PathLike, rpc_url: Optional[str] = None, private_key: Optional[str] = None, **options: Any
) -> Dict[str, Any]:
    """Deploys the verifier, the oracle (registering and activating the model) and the lending
    pool; options as the CLI's: ``verifier="snark-verifier"``, ``attester=["0x.."]``,
    ``verifier_only=True``, ``allow_dev_srs=True``, ``keystore=..., password_file=...``. Returns
    (and writes) ``BUILD/deployment.json``. ``rpc_url`` defaults to ``ETH_RPC_URL``."""
    args = ["--json", "-q", "deploy", os.fspath(build_dir)] + _chain(rpc_url, private_key)
    return _run(args + _flags(options))


def commitment(
    build_dir: PathLike,
    input: DataLike,
    salt: Optional[str] = None,
    consumer: Optional[str] = None,
    rpc_url: Optional[str] = None,
    private_key: Optional[str] = None,
) -> Dict[str, Any]:
    """The salted Poseidon commitments of an input's hashed inputs/outputs; with ``consumer``,
    also registers the input commitment for the sending account (a hashed-input model binds
    proofs to the subject's registered commitment)."""
    with _scratch() as scratch:
        data = _data_path(input, scratch, "input.json", salt=salt)
        args = ["--json", "-q", "commitment", os.fspath(build_dir), "--input", data]
        return _run(args + _flags({"consumer": consumer, "rpc_url": rpc_url, "private_key": private_key}))


def attest(
    build_dir: PathLike,
    input: DataLike,
    subject: str,
    consumer: str,
    rpc_url: Optional[str] = None,
    private_key: Optional[str] = None,
    salt: Optional[str] = None,
    **options: Any,
) -> Dict[str, Any]:
    """As a data provider the oracle's owner granted: vouches on chain that ``input`` is
    ``subject``'s data (for a model deployed with attesters)."""
    with _scratch() as scratch:
        data = _data_path(input, scratch, "input.json", salt=salt)
        args = ["--json", "-q", "attest", os.fspath(build_dir), "--input", data, "--subject", subject]
        args += ["--consumer", consumer] + _chain(rpc_url, private_key)
        return _run(args + _flags(options))


def submit(
    proof: Union[PathLike, Dict[str, Any]],
    rpc_url: Optional[str] = None,
    consumer: Optional[str] = None,
    deployment: Optional[PathLike] = None,
    private_key: Optional[str] = None,
    **options: Any,
) -> Dict[str, Any]:
    """Sends a proof to the oracle (``consumer``, or the one in ``deployment``); returns the
    transaction hash, gas used and the output stored for the proof's subject. A refusal raises
    :class:`ChainError` with the decoded reason and what to do about it. Options:
    ``keystore=..., password_file=...``, ``receipt_timeout=seconds``."""
    with _scratch() as scratch:
        args = ["--json", "-q", "submit", _proof_path(proof, scratch)] + _chain(rpc_url, private_key)
        return _run(args + _flags({"consumer": consumer, "deployment": deployment, **options}))


def read(
    subject: str,
    rpc_url: Optional[str] = None,
    consumer: Optional[str] = None,
    model_id: Optional[str] = None,
    deployment: Optional[PathLike] = None,
    lending: Optional[str] = None,
) -> Dict[str, Any]:
    """The verified output stored for ``subject`` (dequantised), and with a lending pool (given,
    or the one in ``deployment``) its LTV and credit limit."""
    args = ["--json", "-q", "read", "--subject", subject] + _chain(rpc_url)
    return _run(args + _flags({"consumer": consumer, "model_id": model_id, "deployment": deployment, "lending": lending}))


def verify_evm(
    proof: Union[PathLike, Dict[str, Any]],
    rpc_url: Optional[str] = None,
    deployment: Optional[PathLike] = None,
    verifier: Optional[str] = None,
    key: Optional[str] = None,
) -> Dict[str, Any]:
    """Asks a deployed verifier (an ``eth_call``, nothing sent): ``{"valid": bool, "reason": ...}``."""
    with _scratch() as scratch:
        args = ["--json", "-q", "verify-evm", _proof_path(proof, scratch)] + _chain(rpc_url)
        return _run(args + _flags({"deployment": deployment, "verifier": verifier, "key": key}))


def encode_calldata(proof: Union[PathLike, Dict[str, Any]], target: str = "oracle", key: Optional[str] = None) -> str:
    """The exact calldata of a proof for ``target`` (``"oracle"``, ``"reusable"`` with ``key``,
    or ``"snark-verifier"``), as ``0x`` hex."""
    with _scratch() as scratch:
        args = ["--json", "-q", "encode-calldata", _proof_path(proof, scratch), "--for", target]
        return str(_run(args + _flags({"key": key}))["calldata"])


_zkinfer.init_logging()
