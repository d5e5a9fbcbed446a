//! Visibility on the bundled example: every combination of public, private and hashed inputs and
//! outputs, with fixed or hashed parameters, proves and verifies with the expected instances; a
//! changed instance is rejected; private and hashed values (and hashed weights) appear nowhere in
//! the proof file; a commitment changes with the data and the salt, and equals the one computed by
//! circomlibjs (an independent Poseidon); the fixed-point outputs `prove --outputs` reports are the
//! proven ones whatever their visibility. With hashed parameters, other weights under the same keys
//! prove with another parameter commitment: the consumer's pin is what binds the model.

mod common;

use std::process::Command;

use common::*;
use zkinfer_prover::artifacts::{Artifact, KeysInfo, ModelArtifact, Settings};
use zkinfer_prover::artifacts::{BuildDir, ProofArtifact};
use zkinfer_prover::commitment::{
    commit, param_commitment, param_words, ParamVisibility, Privacy, Visibility,
};
use zkinfer_prover::fixed::{field_from_hex, field_to_hex};
use zkinfer_prover::halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zkinfer_prover::input::InputData;
use zkinfer_prover::pipeline::{self, CircuitOptions, SrsChoice};
use zkinfer_prover::quantize::QOp;
use zkinfer_prover::quantize::QuantizationConfig;

const SALT: &str = "0x00000000000000000000000000000000000000000000000000000000000c0ffe";

fn input(salt: Option<&str>, bump: f64) -> InputData {
    let mut data = InputData::read(&example_file("input.json")).unwrap();
    data.input_data[0][0] += bump;
    data.salt = salt.map(str::to_string);
    data
}

/// compile (with `privacy`) + dev setup + prove; returns the build and the proof file.
fn build(test: &str, privacy: Privacy) -> (BuildDir, ProofArtifact) {
    let name = format!(
        "{test}-{:?}-{:?}-{:?}",
        privacy.inputs, privacy.outputs, privacy.params
    )
    .to_lowercase();
    let dir = BuildDir::new(temp_dir(&name));
    let calibration = InputData::read(&example_file("calibration.json")).unwrap();
    let options = CircuitOptions {
        privacy,
        param_salt: field_from_hex("0x77"),
        ..CircuitOptions::default()
    };
    let config = QuantizationConfig::default();
    pipeline::compile_with(
        &example_file("model.onnx"),
        &calibration,
        config,
        options,
        &dir,
    )
    .unwrap();
    pipeline::setup(&dir, &SrsChoice::Dev).unwrap();
    let proof = pipeline::prove(&dir, &input(Some(SALT), 0.0)).unwrap();
    (dir, proof)
}

fn instances(proof: &ProofArtifact) -> Vec<Fr> {
    pipeline::decode_proof(proof).1
}

#[test]
fn every_visibility_combination_proves_and_hides_what_it_should() {
    use Visibility::*;
    let (public_dir, public_proof) = build("combinations", Privacy::default());
    let public = instances(&public_proof);
    let input_words = public_proof.num_inputs;
    // Input words, outputs, and last the subject (no subject in these proofs: zero).
    let (subject, public) = public.split_last().unwrap();
    assert_eq!(*subject, Fr::zero());
    let (inputs_in_public, outputs_in_public) = public.split_at(input_words);
    assert!(input_words >= 1 && !outputs_in_public.is_empty());
    assert!(pipeline::verify(&public_dir, &public_proof).unwrap());

    for (inputs, outputs, params) in [Public, Private, Hashed]
        .into_iter()
        .flat_map(|i| [Public, Private, Hashed].map(|o| (i, o)))
        .flat_map(|(i, o)| [ParamVisibility::Fixed, ParamVisibility::Hashed].map(|p| (i, o, p)))
    {
        {
            let privacy = Privacy {
                inputs,
                outputs,
                params,
            };
            let (dir, proof) = build("combinations", privacy);
            let what = format!("{privacy:?}");
            assert!(
                pipeline::verify(&dir, &proof).unwrap(),
                "{what}: honest proof rejected"
            );
            let got = instances(&proof);
            let n_in = match inputs {
                Public => input_words,
                Private => 0,
                Hashed | Chained => 1,
            };
            let n_out = match outputs {
                Public => outputs_in_public.len(),
                Private => 0,
                Hashed | Chained => 1,
            };
            let n_param = usize::from(params == ParamVisibility::Hashed);
            assert_eq!(got.len(), n_in + n_out + n_param + 1, "{what}: instances");
            assert_eq!(got[got.len() - 1], Fr::zero(), "{what}: subject");
            assert_eq!(proof.num_inputs, n_in, "{what}: input instances");

            // What each instance must be.
            let salt = field_from_hex(SALT).unwrap();
            match inputs {
                Public => assert_eq!(&got[..n_in], inputs_in_public, "{what}"),
                Private => {}
                Hashed => assert_eq!(got[0], commit(salt, inputs_in_public), "{what}"),
                Chained => unreachable!("segment boundaries are not a compile option"),
            }
            match outputs {
                Public => assert_eq!(&got[n_in..n_in + n_out], outputs_in_public, "{what}"),
                Private => {}
                Hashed => assert_eq!(got[n_in], commit(salt, outputs_in_public), "{what}"),
                Chained => unreachable!("segment boundaries are not a compile option"),
            }

            let model = ModelArtifact::read(&dir.model()).unwrap().model;
            // `prove --outputs`: the values the proof binds, whatever their visibility.
            assert_eq!(
                pipeline::fixed_point_outputs(&model, &input(Some(SALT), 0.0)).unwrap(),
                public_proof.output_data,
                "{what}: fixed-point outputs"
            );
            let settings = Settings::read(&dir.settings()).unwrap();
            let words = param_words(&model);
            if params == ParamVisibility::Hashed {
                let pinned = settings.param_commitment.unwrap().0;
                assert_eq!(got[n_in + n_out], pinned, "{what}: parameter commitment");
                assert_eq!(
                    pinned,
                    param_commitment(&model, field_from_hex("0x77").unwrap())
                );
            } else {
                assert!(settings.param_commitment.is_none());
            }

            // Nothing private leaks into the proof file (the instances nor the proof bytes).
            let text = serde_json::to_string(&proof).unwrap();
            let hidden_inputs = if inputs == Public {
                &[][..]
            } else {
                inputs_in_public
            };
            let hidden_outputs = if outputs == Public {
                &[][..]
            } else {
                outputs_in_public
            };
            let hidden_params = if params == ParamVisibility::Hashed {
                &words[..]
            } else {
                &[][..]
            };
            for value in hidden_inputs
                .iter()
                .chain(hidden_outputs)
                .chain(hidden_params)
            {
                let hex = field_to_hex(value);
                assert!(!text.contains(&hex[2..]), "{what}: {hex} leaked");
            }
            if outputs != Public {
                assert!(
                    proof.output_data.is_empty(),
                    "{what}: outputs in the proof file"
                );
            }

            // A changed instance, or proof bytes, are rejected.
            let mut tampered = proof.clone();
            match tampered.instances.last_mut() {
                Some(last) => last.0 += Fr::one(),
                None => {
                    let mut bytes = tampered.proof.0.clone();
                    bytes[100] ^= 1;
                    tampered.proof = zkinfer_prover::encoding::HexBytes(bytes);
                }
            }
            assert!(
                !pipeline::verify(&dir, &tampered).unwrap(),
                "{what}: tampered proof accepted"
            );

            // Commitments move with the data and the salt.
            if inputs == Hashed || outputs == Hashed {
                let base = pipeline::commitments(&dir, &input(Some(SALT), 0.0)).unwrap();
                let other_data = pipeline::commitments(&dir, &input(Some(SALT), 0.25)).unwrap();
                let other_salt = pipeline::commitments(&dir, &input(Some("0x01"), 0.0)).unwrap();
                assert_eq!(
                    base.inputs.or(base.outputs),
                    Some(got[if inputs == Hashed { 0 } else { n_in }])
                );
                if inputs == Hashed {
                    assert_ne!(base.inputs, other_data.inputs, "{what}: data change");
                    assert_ne!(base.inputs, other_salt.inputs, "{what}: salt change");
                }
            }
        }
    }
}

/// With hashed parameters the keys do not fix the weights: a prover may change them and still
/// produce a valid proof, but it then carries another parameter commitment than the published one.
#[test]
fn other_weights_under_the_same_keys_show_in_the_commitment() {
    let privacy = Privacy {
        params: ParamVisibility::Hashed,
        ..Privacy::default()
    };
    let (dir, honest) = build("forged", privacy);
    let settings = Settings::read(&dir.settings()).unwrap();
    let published = settings.param_commitment.unwrap().0;
    assert_eq!(param_instance(&honest), published);

    let mut artifact = ModelArtifact::read(&dir.model()).unwrap();
    let last = artifact
        .model
        .nodes
        .iter_mut()
        .rev()
        .find_map(|n| match &mut n.op {
            QOp::Dense(zkinfer_prover::ops::linear::Dense { bias, .. })
            | QOp::Linear(zkinfer_prover::ops::linear::Linear { bias, .. }) => Some(bias),
            _ => None,
        })
        .unwrap();
    last[0] += 1;
    artifact.write(&dir.model()).unwrap();
    // The build refuses a model that no longer hashes to its id; a dishonest prover re-derives
    // the ids (settings and keys) and proves anyway.
    let err = pipeline::prove(&dir, &input(Some(SALT), 0.0)).unwrap_err();
    assert!(
        matches!(err, zkinfer_prover::Error::ModelMismatch { .. }),
        "{err}"
    );
    let mut settings = Settings::read(&dir.settings()).unwrap();
    settings.model_id = pipeline::model_id(&artifact.model, &settings.circuit);
    settings.write(&dir.settings()).unwrap();
    let mut keys = KeysInfo::read(&dir.keys_info()).unwrap();
    keys.model_id = settings.model_id;
    keys.write(&dir.keys_info()).unwrap();
    let forged = pipeline::prove(&dir, &input(Some(SALT), 0.0)).unwrap();
    assert!(
        pipeline::verify(&dir, &forged).unwrap(),
        "the keys do not bind hashed weights"
    );
    let carried = param_instance(&forged);
    assert_ne!(carried, published, "other weights, same commitment");
}

/// The parameter commitment instance: the one before the subject.
fn param_instance(proof: &ProofArtifact) -> Fr {
    let all = instances(proof);
    all[all.len() - 2]
}

#[test]
fn commitment_equals_circomlibjs() {
    let salt = field_from_hex(SALT).unwrap();
    let words = [
        Fr::from(7),
        -Fr::from(3),
        Fr::from(1u64 << 62),
        field_from_hex("0x2a").unwrap(),
    ];
    let script = repo_root().join("prover/tests/fixtures/poseidon_chain.cjs");
    let lib = repo_root().join(".tools/node_modules/circomlibjs");
    assert!(
        lib.exists(),
        "circomlibjs missing: run scripts/install-tools.sh"
    );
    let out = Command::new("node")
        .arg(&script)
        .arg(SALT)
        .args(words.iter().map(field_to_hex))
        .env("CIRCOMLIBJS", &lib)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs = String::from_utf8(out.stdout).unwrap();
    assert_eq!(theirs.trim(), field_to_hex(&commit(salt, &words)));
}
