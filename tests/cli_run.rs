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

/// `compile --segments 2`, `setup --no-aggregation`, `prove`, `verify` on a segmented build: the
/// plan is reported, the proof verifies with the outputs a single circuit gives, a tampered proof
/// file is reported INVALID with its reason, and on-chain commands refuse the build (it has no
/// aggregation keys).
#[test]
fn segmented_build_proves_and_verifies_from_the_command_line() {
    let dir = scratch("segmented");
    let build = dir.join("build");
    let compiled = zkinfer_json(&[
        "compile",
        &example("model.onnx"),
        "--calibration",
        &example("calibration.json"),
        "-o",
        path(&build),
        "--segments",
        "2",
    ]);
    let segments = compiled["segments"].as_array().unwrap();
    assert_eq!(segments.len(), 2);
    assert!(segments.iter().all(|s| s["k"].as_u64().unwrap() > 0));
    // Without aggregation (tests/e2e_segmented.rs aggregates): one proof per segment.
    zkinfer_json(&["setup", path(&build), "--dev-srs", "--no-aggregation"]);
    let proof = dir.join("proof.json");
    let proved = zkinfer_json(&[
        "prove",
        path(&build),
        "--input",
        &example("input.json"),
        "-o",
        path(&proof),
        "--jobs",
        "2",
        "--subject",
        "0x00000000000000000000000000000000000a11ce",
    ]);
    assert_eq!(proved["segments"], 2);
    let verified = zkinfer_json(&["verify", path(&build), path(&proof)]);
    assert_eq!(verified["valid"], true);
    // The outputs are the model's: onnxruntime's within the fixed-point tolerance.
    let meta = read_json(&example("meta.json"));
    let ort = meta["ort_output"][0].as_f64().unwrap();
    let got = proved["output_data"][0][0].as_f64().unwrap();
    assert!(
        (got - ort).abs() <= 2e-3 + 2e-3 * ort.abs(),
        "{got} vs onnxruntime {ort}"
    );
    let edited = write_variant(path(&proof), "edited", |v| {
        v["segments"].as_array_mut().unwrap().swap(0, 1);
    });
    let (code, _) = failure(&["verify", path(&build), &edited]);
    assert_eq!(code, 1);
    let out = zkinfer(&["--json", "-q", "verify", path(&build), &edited]);
    let rejected: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rejected["valid"], false);
    assert!(
        rejected["reason"].as_str().unwrap().contains("segment 0"),
        "{rejected}"
    );
    let (code, err) = failure(&["codegen", path(&build), "-o", path(&dir.join("V.sol"))]);
    assert_eq!(code, 1);
    assert!(err.contains("without aggregation keys"), "{err}");
}
