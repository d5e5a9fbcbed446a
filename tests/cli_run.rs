//! `zkinfer run`: one shot from ONNX + input to a verified output, compared with onnxruntime.

mod support;

use support::*;

#[test]
fn run_proves_mlp_tiny_and_matches_onnxruntime() {
    let models = root().join("../shared/bench-models");
    let dir = scratch("run");
    let out = dir.join("out.json");
    let printed = zkinfer_json(&[
        "run",
        path(&models.join("mlp_tiny.onnx")),
        "--input",
        path(&models.join("mlp_tiny.input.json")),
        "-o",
        path(&out),
    ]);
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(printed, written);
    assert_eq!(written["verified"], true);
    assert!(written["timings"]["prove_s"].as_f64().unwrap() > 0.0);
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(models.join("mlp_tiny.meta.json")).unwrap())
            .unwrap();
    let ort = meta["ort_output"].as_array().unwrap();
    let got = written["output_data"][0].as_array().unwrap();
    assert_eq!(got.len(), ort.len());
    for (g, o) in got.iter().zip(ort) {
        let (g, o) = (g.as_f64().unwrap(), o.as_f64().unwrap());
        assert!(
            (g - o).abs() <= 2e-3 + 2e-3 * o.abs(),
            "{g} vs onnxruntime {o}"
        );
    }
}

#[test]
fn run_refuses_an_unsupported_model_before_key_generation() {
    let fixtures = root().join("prover/tests/fixtures/ops");
    let dir = scratch("run-unsupported");
    let (code, err) = failure(&[
        "run",
        path(&fixtures.join("unsupported_svm_classifier.onnx")),
        "--input",
        path(&fixtures.join("unsupported_svm_classifier.input.json")),
        "-o",
        path(&dir.join("out.json")),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("unsupported: SVMClassifier (node svm)"),
        "{err}"
    );
    assert!(!err.contains("generating keys"), "{err}");
}
