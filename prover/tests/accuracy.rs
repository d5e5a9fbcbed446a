//! Fixed-point outputs against the float reference (tract, and onnxruntime's output recorded in
//! the bench models' meta.json), on every model this slice supports. The values compared are the
//! circuit's public outputs, checked by MockProver.

mod common;

use common::*;
use halo2_base::halo2_proofs::dev::MockProver;
use zkinfer_prover::artifacts::{Artifact, BuildDir, ModelArtifact, Settings};
use zkinfer_prover::circuit::mock_circuit;
use zkinfer_prover::fixed::from_field;
use zkinfer_prover::halo2_base;
use zkinfer_prover::input::InputData;
use zkinfer_prover::pipeline::{compile, witness};
use zkinfer_prover::quantize::QuantizationConfig;
use zkinfer_prover::reference::run_tract;

/// Stated tolerance: |fixed - float| <= ABS_TOL + REL_TOL * |float| for every output.
const ABS_TOL: f64 = 2e-3;
const REL_TOL: f64 = 2e-3;

/// Compiles, computes the circuit's outputs (MockProver-checked when `mock`), returns the
/// worst absolute error against tract.
fn check_model(
    onnx: &std::path::Path,
    calib: &std::path::Path,
    input: &std::path::Path,
    mock: bool,
    ort: Option<Vec<f64>>,
) -> f64 {
    let name = onnx.file_stem().unwrap().to_string_lossy().to_string();
    let dir = BuildDir::new(temp_dir(&format!("acc-{name}")));
    compile(
        onnx,
        &InputData::read(calib).unwrap(),
        QuantizationConfig::default(),
        &dir,
    )
    .unwrap();
    let settings = Settings::read(&dir.settings()).unwrap();
    let model = ModelArtifact::read(&dir.model()).unwrap().model;
    let input = InputData::read(input).unwrap();
    let values = witness(&model, &input).unwrap();
    let (circuit, instances) = mock_circuit(&model, &settings.circuit, &values);
    if mock {
        let prover =
            MockProver::run(settings.circuit.k as u32, &circuit, vec![instances.clone()]).unwrap();
        assert!(
            prover.verify().is_ok(),
            "{name}: honest witness rejected by MockProver"
        );
    }
    // Outputs sit between the input words and the subject (the last instance).
    let outputs: Vec<f64> = instances[settings.num_public_inputs()..instances.len() - 1]
        .iter()
        .map(|f| model.config.scale.dequantize(from_field(f).unwrap()))
        .collect();
    let reference = run_tract(onnx, &settings.input_shapes, &input.input_data)
        .unwrap()
        .concat();
    assert_eq!(outputs.len(), reference.len());
    let mut worst = 0.0f64;
    for (o, r) in outputs.iter().zip(&reference) {
        let err = (o - r).abs();
        assert!(
            err <= ABS_TOL + REL_TOL * r.abs(),
            "{name}: {o} vs tract {r}"
        );
        worst = worst.max(err);
    }
    if let Some(ort) = ort {
        for (t, o) in reference.iter().zip(&ort) {
            assert!((t - o).abs() < 1e-4, "{name}: tract {t} vs onnxruntime {o}");
        }
    }
    assert_eq!(
        argmax(&outputs),
        argmax(&reference),
        "{name}: argmax differs"
    );
    eprintln!(
        "{name}: k={} worst abs error {worst:.2e} over {} outputs",
        settings.circuit.k,
        outputs.len()
    );
    worst
}

fn bench_model(name: &str, mock: bool) {
    let ort = ort_output(&bench_file(name, "meta.json"));
    check_model(
        &bench_file(name, "onnx"),
        &bench_file(name, "calib.json"),
        &bench_file(name, "input.json"),
        mock,
        Some(ort),
    );
}

#[test]
fn example_credit_risk_matches_tract() {
    let ort = ort_output(&example_file("meta.json"));
    check_model(
        &example_file("model.onnx"),
        &example_file("calibration.json"),
        &example_file("input.json"),
        true,
        Some(ort),
    );
}

#[test]
fn mlp_tiny_matches_tract() {
    bench_model("mlp_tiny", true);
}

#[test]
fn mlp_digits_matches_tract() {
    bench_model("mlp_digits", true);
}

#[test]
fn mlp_large_matches_tract() {
    bench_model("mlp_large", true);
}

#[test]
fn cnn_digits_matches_tract() {
    bench_model("cnn_digits", true);
}

#[test]
fn mlp_sigmoid_matches_tract() {
    bench_model("mlp_sigmoid", true);
}

/// The scale search keeps the circuit size and never increases the error on the calibration set.
#[test]
fn scale_search_lowers_calibration_error_without_growing_the_circuit() {
    use zkinfer_prover::pipeline::{compile_with, CircuitOptions};
    use zkinfer_prover::quantize::calibration_error;
    for name in ["mlp_tiny", "cnn_digits"] {
        let calib = InputData::read(&bench_file(name, "calib.json")).unwrap();
        let mut float = zkinfer_prover::onnx::import(&bench_file(name, "onnx")).unwrap();
        zkinfer_prover::fold::fold_affine(&mut float);
        let samples = calib.samples(&float).unwrap();
        let mut results = Vec::new();
        for search_scales in [false, true] {
            let dir = BuildDir::new(temp_dir(&format!("search-{name}-{search_scales}")));
            let options = CircuitOptions {
                search_scales,
                ..CircuitOptions::default()
            };
            let settings = compile_with(
                &bench_file(name, "onnx"),
                &calib,
                QuantizationConfig::default(),
                options,
                &dir,
            )
            .unwrap();
            let model = ModelArtifact::read(&dir.model()).unwrap().model;
            results.push((
                settings.circuit.k,
                calibration_error(&float, &model, &samples).unwrap(),
            ));
        }
        let ((k0, e0), (k1, e1)) = (results[0], results[1]);
        assert!(k1 <= k0, "{name}: search grew k {k0} -> {k1}");
        assert!(
            e1 <= e0,
            "{name}: search raised the calibration error {e0} -> {e1}"
        );
        eprintln!("{name}: calibration error {e0:.2e} -> {e1:.2e} (k {k0} -> {k1})");
    }
}
