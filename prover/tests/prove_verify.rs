//! Real KZG proofs (dev SRS): honest proofs verify; tampered proofs, instances and proofs of
//! another model do not.

mod common;

use common::*;
use zkinfer_prover::artifacts::BuildDir;
use zkinfer_prover::artifacts::{Artifact, ProofArtifact};
use zkinfer_prover::encoding::HexBytes;
use zkinfer_prover::fixed::Scale;
use zkinfer_prover::input::InputData;
use zkinfer_prover::pipeline::{
    compile, prove, prove_reporting, setup, setup_reporting, verify, SrsChoice,
};
use zkinfer_prover::quantize::QuantizationConfig;

fn build(name: &str, config: QuantizationConfig) -> BuildDir {
    let dir = BuildDir::new(temp_dir(name));
    let calib = InputData::read(&example_file("calibration.json")).unwrap();
    compile(&example_file("model.onnx"), &calib, config, &dir).unwrap();
    // Setup reports its phases in order, each once.
    let mut phases = Vec::new();
    setup_reporting(&dir, &SrsChoice::Dev, &mut |p| phases.push(p.step)).unwrap();
    assert_eq!(phases, [1, 2, 3, 4]);
    dir
}

#[test]
fn proofs_verify_and_tampering_is_rejected() {
    let dir = build("pv-a", QuantizationConfig::default());
    let input = InputData::read(&example_file("input.json")).unwrap();
    // Proving reports its phases in order, each once, for the CLI's progress bar.
    let mut phases = Vec::new();
    let artifact = prove_reporting(&dir, &input, &mut |p| phases.push(p)).unwrap();
    assert_eq!(
        phases.iter().map(|p| p.step).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert!(phases.iter().all(|p| p.of == 4 && !p.name.is_empty()));
    assert!(verify(&dir, &artifact).unwrap(), "honest proof rejected");
    let expected = ort_output(&example_file("meta.json"))[0];
    assert!(
        (artifact.output_data[0][0] - expected).abs() < 2e-3,
        "{:?} vs {expected}",
        artifact.output_data
    );

    // One flipped byte anywhere in the proof: sample positions across it.
    let bytes = artifact.proof.0.clone();
    for pos in (0..bytes.len()).step_by(97).chain([bytes.len() - 1]) {
        let mut flipped = bytes.clone();
        flipped[pos] ^= 0x01;
        let mut bad = artifact.clone();
        bad.proof = HexBytes(flipped);
        assert!(!verify(&dir, &bad).unwrap(), "flipped byte {pos} accepted");
    }
    // A truncated proof.
    let mut bad = artifact.clone();
    bad.proof = HexBytes(bytes[..bytes.len() - 32].to_vec());
    assert!(!verify(&dir, &bad).unwrap());

    // A changed output instance (the score + 1 ulp), a changed input and a changed subject.
    let n = artifact.instances.len();
    for idx in [n - 2, 0, n - 1] {
        let mut bad = artifact.clone();
        bad.instances[idx].0 += halo2_base_fr_one();
        assert!(
            !verify(&dir, &bad).unwrap(),
            "changed instance {idx} accepted"
        );
    }
    // Swapped order of two instances.
    let mut bad = artifact.clone();
    bad.instances.swap(0, 1);
    assert!(!verify(&dir, &bad).unwrap());
    // An instance >= the field modulus is malformed, never silently reduced: the proof file is
    // refused when it is read.
    let mut json = serde_json::to_value(&artifact).unwrap();
    json["instances"][0] =
        "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000002".into();
    let file = dir.root().join("out-of-field.proof.json");
    std::fs::write(&file, json.to_string()).unwrap();
    match ProofArtifact::read(&file) {
        Err(zkinfer_prover::Error::MalformedProof(why)) => {
            assert!(why.contains("not a field element"), "{why}")
        }
        other => panic!("an instance >= p was read as {other:?}"),
    }

    // A proof of another model (same shapes, other weights' scale) under this model's key.
    let other = build(
        "pv-b",
        QuantizationConfig {
            weight_scale: Scale(12),
            ..QuantizationConfig::default()
        },
    );
    let mut foreign = prove(&other, &input).unwrap();
    assert!(verify(&other, &foreign).unwrap());
    assert!(
        !verify(&dir, &foreign).unwrap(),
        "other model's proof accepted (by id)"
    );
    foreign.model_id = artifact.model_id;
    assert!(
        !verify(&dir, &foreign).unwrap(),
        "other model's proof accepted by the verifying key"
    );
}

fn halo2_base_fr_one() -> zkinfer_prover::halo2_base::halo2_proofs::halo2curves::bn256::Fr {
    zkinfer_prover::fixed::to_field(1)
}

#[test]
fn input_outside_the_calibrated_range_is_a_clear_error() {
    let dir = build("pv-range", QuantizationConfig::default());
    let input = InputData {
        input_data: vec![vec![40.0, 0.0, 0.0, 0.0, 0.0, 0.0]],
        salt: None,
        subject: None,
    };
    let err = prove(&dir, &input).unwrap_err().to_string();
    assert!(
        err.contains("out of calibrated range") && err.contains("features"),
        "{err}"
    );
    let short = InputData {
        input_data: vec![vec![0.1, 0.2]],
        salt: None,
        subject: None,
    };
    let err = prove(&dir, &short).unwrap_err().to_string();
    assert!(
        err.contains("input #0 has 2 values, the model expects 6"),
        "{err}"
    );
}

/// Every bench model proves, verifies, and matches onnxruntime (argmax equal).
#[test]
fn bench_models_prove_and_verify() {
    for name in [
        "mlp_tiny",
        "mlp_digits",
        "cnn_digits",
        "mlp_sigmoid",
        "mlp_large",
    ] {
        let dir = BuildDir::new(temp_dir(&format!("bench-{name}")));
        let calib = InputData::read(&bench_file(name, "calib.json")).unwrap();
        compile(
            &bench_file(name, "onnx"),
            &calib,
            QuantizationConfig::default(),
            &dir,
        )
        .unwrap();
        setup(&dir, &SrsChoice::Dev).unwrap();
        let input = InputData::read(&bench_file(name, "input.json")).unwrap();
        let artifact = prove(&dir, &input).unwrap();
        assert!(verify(&dir, &artifact).unwrap(), "{name}: proof rejected");
        let ort = ort_output(&bench_file(name, "meta.json"));
        let got = artifact.output_data.concat();
        for (g, o) in got.iter().zip(&ort) {
            assert!(
                (g - o).abs() <= 2e-3 + 2e-3 * o.abs(),
                "{name}: {g} vs onnxruntime {o}"
            );
        }
        assert_eq!(argmax(&got), argmax(&ort), "{name}: argmax differs");
    }
}

/// Adds one to the first integer of the first `"weights"` array in `v`; whether one was found.
fn bump_first_weight(v: &mut serde_json::Value) -> bool {
    match v {
        serde_json::Value::Object(map) => {
            if let Some(w) = map
                .get_mut("weights")
                .and_then(|w| w.as_array_mut())
                .and_then(|a| a.first_mut())
            {
                if let Some(x) = w.as_i64() {
                    *w = (x + 1).into();
                    return true;
                }
            }
            map.values_mut().any(bump_first_weight)
        }
        serde_json::Value::Array(items) => items.iter_mut().any(bump_first_weight),
        _ => false,
    }
}

/// A `model.json` edited after compile (one weight changed) no longer hashes to the settings'
/// model id: setup and prove refuse it by name, and the honest file works again.
#[test]
fn an_edited_model_file_is_refused_before_proving() {
    let dir = build("pv-edited", QuantizationConfig::default());
    let input = InputData::read(&example_file("input.json")).unwrap();
    let honest = std::fs::read(dir.model()).unwrap();
    let mut model: serde_json::Value = serde_json::from_slice(&honest).unwrap();
    assert!(bump_first_weight(&mut model), "no weights in model.json");
    std::fs::write(dir.model(), serde_json::to_vec(&model).unwrap()).unwrap();
    for err in [
        prove(&dir, &input).unwrap_err(),
        setup(&dir, &SrsChoice::Dev).unwrap_err(),
    ] {
        let msg = err.to_string();
        assert!(
            matches!(err, zkinfer_prover::Error::ModelMismatch { .. })
                && msg.contains("model.json")
                && msg.contains("compile again"),
            "{msg}"
        );
    }
    std::fs::write(dir.model(), honest).unwrap();
    let artifact = prove(&dir, &input).unwrap();
    assert!(verify(&dir, &artifact).unwrap());
}
