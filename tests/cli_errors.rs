//! Bad input gets a clear error and a non-zero exit, never a panic.

mod support;

use support::*;

/// A scikit-learn tree ensemble (ai.onnx.ml), not supported.
fn tree_fixture(ext: &str) -> String {
    let p = root()
        .join("prover/tests/fixtures/ops")
        .join(format!("unsupported_tree_ensemble.{ext}"));
    p.to_str().unwrap().to_string()
}

#[test]
fn missing_model_file_is_named() {
    let out = scratch("missing");
    let (code, err) = failure(&[
        "compile",
        "/nonexistent/model.onnx",
        "--calibration",
        &example("input.json"),
        "-o",
        path(&out),
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("/nonexistent/model.onnx") && err.contains("No such file"),
        "{err}"
    );
}

#[test]
fn malformed_onnx_is_reported() {
    let dir = scratch("malformed");
    let bad = dir.join("bad.onnx");
    std::fs::write(&bad, b"this is not a protobuf \xff\xfe\x00\x01").unwrap();
    let (code, err) = failure(&[
        "compile",
        path(&bad),
        "--calibration",
        &example("input.json"),
        "-o",
        path(&dir.join("b")),
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("malformed ONNX model") && err.contains("bad.onnx"),
        "{err}"
    );
}

#[test]
fn unsupported_op_names_op_and_node_with_exit_code_2() {
    let dir = scratch("unsupported");
    let (code, err) = failure(&[
        "compile",
        &tree_fixture("onnx"),
        "--calibration",
        &tree_fixture("calib.json"),
        "-o",
        path(&dir),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("unsupported: TreeEnsembleRegressor (node trees)"),
        "{err}"
    );
}

#[test]
fn a_circuit_above_the_memory_limit_is_refused_at_compile() {
    let dir = scratch("memory");
    let build = dir.join("build");
    let compile = |limit: &str| {
        failure(&[
            "compile",
            &example("model.onnx"),
            "--calibration",
            &example("calibration.json"),
            "-o",
            path(&build),
            "--max-memory",
            limit,
        ])
    };
    let (code, err) = compile("16MiB");
    assert_eq!(code, 1);
    assert!(
        err.contains("too large") && err.contains("rows") && err.contains("16 MiB are allowed"),
        "{err}"
    );
    assert!(!build.join("settings.json").exists(), "nothing written");
    let (_, err) = compile("lots");
    assert!(err.contains("--max-memory \"lots\" is not a size"), "{err}");
}

#[test]
fn wrong_input_length_is_reported() {
    let dir = scratch("length");
    let bad = dir.join("input.json");
    std::fs::write(&bad, r#"{"input_data": [[0.1, 0.2, 0.3]]}"#).unwrap();
    let (_, err) = failure(&[
        "compile",
        &example("model.onnx"),
        "--calibration",
        path(&bad),
        "-o",
        path(&dir.join("b")),
    ]);
    assert!(
        err.contains("input #0 has 3 values, not a multiple of the model's 6"),
        "{err}"
    );
    let malformed = dir.join("malformed.json");
    std::fs::write(&malformed, r#"{"input_data": [[0.1, "x"]]}"#).unwrap();
    let (_, err) = failure(&[
        "compile",
        &example("model.onnx"),
        "--calibration",
        path(&malformed),
        "-o",
        path(&dir.join("c")),
    ]);
    assert!(
        err.contains("malformed.json") && err.contains("invalid JSON"),
        "{err}"
    );
}

#[test]
fn prove_time_errors_are_clear() {
    let dir = scratch("prove");
    let build = dir.join("b");
    compile(
        &example("model.onnx"),
        &example("calibration.json"),
        &build,
        &[],
    );
    // No keys yet.
    let (_, err) = failure(&[
        "prove",
        path(&build),
        "--input",
        &example("input.json"),
        "-o",
        path(&dir.join("p.json")),
    ]);
    assert!(
        err.contains("has no keys") && err.contains("zkinfer setup"),
        "{err}"
    );
    let (_, err) = failure(&["setup", path(&build)]);
    assert!(err.contains("--dev-srs"), "{err}");
    zkinfer_json(&["setup", path(&build), "--dev-srs"]);
    let short = dir.join("short.json");
    std::fs::write(&short, r#"{"input_data": [[0.1, 0.2]]}"#).unwrap();
    let (_, err) = failure(&[
        "prove",
        path(&build),
        "--input",
        path(&short),
        "-o",
        path(&dir.join("p.json")),
    ]);
    assert!(
        err.contains("input #0 has 2 values, the model expects 6"),
        "{err}"
    );
    let wild = dir.join("wild.json");
    std::fs::write(&wild, r#"{"input_data": [[100.0, 0, 0, 0, 0, 0]]}"#).unwrap();
    let (_, err) = failure(&[
        "prove",
        path(&build),
        "--input",
        path(&wild),
        "-o",
        path(&dir.join("p.json")),
    ]);
    assert!(
        err.contains("out of calibrated range at node features"),
        "{err}"
    );
    assert!(
        !dir.join("p.json").exists(),
        "a failed prove wrote a proof file"
    );
}

#[test]
fn unreachable_rpc_url_is_reported() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let (_, err) = failure(&[
        "read",
        "--rpc-url",
        &url,
        "--consumer",
        "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        "--model-id",
        &format!("0x{}", "00".repeat(32)),
        "--subject",
        "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    ]);
    assert!(
        err.contains(&format!("cannot reach the RPC endpoint {url}")),
        "{err}"
    );
    let (_, err) = failure(&[
        "read",
        "--rpc-url",
        "not a url",
        "--consumer",
        "0x00",
        "--model-id",
        "0x00",
        "--subject",
        "0x00",
    ]);
    assert!(err.contains("invalid"), "{err}");
}

#[test]
fn a_reused_verifier_with_the_model_specific_kind_is_refused_up_front() {
    let (_, err) = failure(&[
        "deploy",
        "no-such-build",
        "--rpc-url",
        "http://127.0.0.1:1",
        "--private-key",
        "0x01",
        "--verifier",
        "snark-verifier",
        "--reusable-verifier",
        "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    ]);
    assert!(
        err.contains("--reusable-verifier") && err.contains("snark-verifier"),
        "{err}"
    );
}

#[test]
fn submit_without_key_or_with_bad_proof_file_is_reported() {
    let dir = scratch("submit");
    let bad = dir.join("proof.json");
    std::fs::write(&bad, r#"{"version": 99}"#).unwrap();
    let (_, err) = failure(&[
        "submit",
        path(&bad),
        "--rpc-url",
        "http://127.0.0.1:1",
        "--consumer",
        "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    ]);
    assert!(
        err.contains("artifact version 99 is not supported"),
        "{err}"
    );
}
