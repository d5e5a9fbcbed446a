//! The reusable verifier's plan and its Rust twin against halo2's own verifier, and the golden
//! verifying-key contract of the bundled example.

use std::path::{Path, PathBuf};

use zkinfer_codegen::plan::VerifierPlan;
use zkinfer_codegen::reference::{self, Rejection};
use zkinfer_codegen::templated;
use zkinfer_prover::artifacts::{Artifact, BuildDir, Settings};
use zkinfer_prover::fixed::Scale;
use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zkinfer_prover::input::InputData;
use zkinfer_prover::pipeline::{self, SrsChoice};
use zkinfer_prover::quantize::QuantizationConfig;
use zkinfer_prover::{keys, proving, srs};

fn example(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/credit_risk")
        .join(file)
}

/// Compiles, sets up and proves the example at `scale`; returns (plan, blob, proof, instances, dir).
fn build(name: &str, scale: u32) -> (VerifierPlan, Vec<[u8; 32]>, Vec<u8>, Vec<Fr>, BuildDir) {
    let dir = BuildDir::new(Path::new(env!("CARGO_TARGET_TMPDIR")).join(name));
    // Fresh each run: compile refuses a folder holding another build (e.g. an earlier version's).
    let _ = std::fs::remove_dir_all(dir.root());
    let calibration = InputData::read(&example("calibration.json")).unwrap();
    let config = QuantizationConfig {
        scale: Scale(scale),
        weight_scale: Scale(scale),
        ..QuantizationConfig::default()
    };
    pipeline::compile(&example("model.onnx"), &calibration, config, &dir).unwrap();
    pipeline::setup(&dir, &SrsChoice::Dev).unwrap();
    let artifact =
        pipeline::prove(&dir, &InputData::read(&example("input.json")).unwrap()).unwrap();
    let (proof, instances) = pipeline::decode_proof(&artifact);
    let settings = Settings::read(&dir.settings()).unwrap();
    let vk = keys::read_vk(&dir.vk(), &settings.circuit).unwrap();
    let srs = srs::read_srs(&dir.srs(), settings.circuit.k).unwrap();
    let plan = VerifierPlan::new(&srs, &vk, settings.circuit.num_instances).unwrap();
    let blob = plan.encode();
    (plan, blob, proof, instances, dir)
}

/// halo2's verdict on a proof of the build in `dir`.
fn halo2_accepts(dir: &BuildDir, proof: &[u8], instances: &[Fr]) -> bool {
    let settings = Settings::read(&dir.settings()).unwrap();
    let vk = keys::read_vk(&dir.vk(), &settings.circuit).unwrap();
    let srs = srs::read_srs(&dir.srs(), settings.circuit.k).unwrap();
    proving::verify(&srs, &vk, proof, instances)
}

#[test]
fn reference_verifier_agrees_with_halo2() {
    let (plan, blob, proof, instances, dir) = build("reference_a", 13);
    let (_, other_blob, other_proof, other_instances, _) = build("reference_b", 11);
    assert_eq!(proof.len(), plan.proof_len());
    assert!(halo2_accepts(&dir, &proof, &instances));
    assert_eq!(reference::verify(&blob, &proof, &instances), Ok(()));
    assert_eq!(
        reference::verify(&other_blob, &other_proof, &other_instances),
        Ok(())
    );

    // Sampled single-byte flips: both reject.
    for at in (0..proof.len()).step_by(5) {
        let mut flipped = proof.clone();
        flipped[at] ^= 0x04;
        assert!(
            reference::verify(&blob, &flipped, &instances).is_err(),
            "byte {at}"
        );
        assert!(
            !halo2_accepts(&dir, &flipped, &instances),
            "halo2 accepted byte {at}"
        );
    }
    // A changed instance.
    let mut changed = instances.clone();
    changed[0] += Fr::one();
    assert_eq!(
        reference::verify(&blob, &proof, &changed),
        Err(Rejection::PairingFailed)
    );
    assert!(!halo2_accepts(&dir, &proof, &changed));
    // Another model's proof, and this proof against another model's key.
    assert!(reference::verify(&blob, &other_proof, &other_instances).is_err());
    assert!(!halo2_accepts(&dir, &other_proof, &other_instances));
    assert!(reference::verify(&other_blob, &proof, &instances).is_err());
    // Shapes.
    assert_eq!(
        reference::verify(&blob, &proof[1..], &instances),
        Err(Rejection::ProofLength {
            expected: proof.len(),
            actual: proof.len() - 1
        })
    );
    assert!(matches!(
        reference::verify(&blob, &proof, &instances[1..]),
        Err(Rejection::InstanceCount { .. })
    ));
    let mut not_a_key = blob.clone();
    not_a_key[0][1] ^= 1;
    assert_eq!(
        reference::verify(&not_a_key, &proof, &instances),
        Err(Rejection::BadKey)
    );
}

/// Set `ZKINFER_BLESS=1` to rewrite the golden file after an intended change of the circuit or
/// the key layout.
#[test]
fn verifying_key_contract_matches_the_golden_file() {
    let (plan, ..) = build("golden", 13);
    let rendered = templated::render_verifying_key(&plan, "credit_risk example");
    let golden =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/credit_risk.VerifyingKey.sol");
    if std::env::var_os("ZKINFER_BLESS").is_some() {
        std::fs::write(&golden, &rendered).unwrap();
    }
    let expected = std::fs::read_to_string(&golden).unwrap();
    assert!(
        rendered == expected,
        "the verifying key contract differs from {} (ZKINFER_BLESS=1 rewrites it)",
        golden.display()
    );
}

/// A build whose keys were made for another model (keys.json copied over, or settings edited)
/// gets no verifier: the key it would embed does not verify this model's proofs.
#[test]
fn verifiers_are_refused_for_keys_of_another_model() {
    let (.., dir) = build("keys_a", 13);
    let (.., other) = build("keys_b", 11);
    let solc = zkinfer_codegen::Solc::new(std::env::var("ZKINFER_SOLC").unwrap_or("solc".into()));
    std::fs::copy(other.keys_info(), dir.keys_info()).unwrap();
    for refused in [
        zkinfer_codegen::verifier_for_build(&dir, &solc).err(),
        zkinfer_codegen::reusable_for_build(&dir, &solc).err(),
    ] {
        match refused {
            Some(zkinfer_codegen::Error::Prover(zkinfer_prover::Error::KeysForAnotherModel)) => {}
            other => panic!("a build with another model's keys: {other:?}"),
        }
    }
}
