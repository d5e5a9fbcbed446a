//! Segmentation end to end: segments compose to the whole model, boundary commitments chain and
//! bind (MockProver), and real segmented proofs verify while swapped, dropped, duplicated,
//! mixed or edited segment proofs are rejected.

mod common;

use common::*;
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zkinfer_prover::circuit::{mock_circuit_bound, plan, Bindings};
use zkinfer_prover::input::InputData;
use zkinfer_prover::onnx::import_specialized;
use zkinfer_prover::pipeline::{quantize_model, SrsChoice};
use zkinfer_prover::quantize::{QuantizationConfig, QuantizedModel};
use zkinfer_segments::split::{boundary, first_cut};
use zkinfer_segments::{compile_segmented, plan_segments, prove, setup, split, verify, Goal};

/// The quantized model of `onnx` calibrated on `calib`.
fn quantized(onnx: &str, calib: &str) -> QuantizedModel {
    let calibration = InputData::read(&repo(calib)).unwrap();
    let model = import_specialized(&repo(onnx), Some(&calibration)).unwrap();
    quantize_model(
        model,
        &calibration,
        QuantizationConfig::default(),
        &options(),
    )
    .unwrap()
    .0
}

fn credit_risk() -> QuantizedModel {
    quantized(
        "examples/credit_risk/model.onnx",
        "examples/credit_risk/calibration.json",
    )
}

fn input() -> InputData {
    InputData::read(&repo("examples/credit_risk/input.json")).unwrap()
}

/// Every segment, run on its boundary values, computes the whole model's values there: for
/// every single cut of an MLP and of a transformer with residual connections (tensors that
/// cross several boundaries).
#[test]
fn segments_compose_to_the_whole_model() {
    let cases = [
        (credit_risk(), input()),
        (
            quantized(
                "prover/tests/fixtures/ops/torch_gpt_tiny.onnx",
                "prover/tests/fixtures/ops/torch_gpt_tiny.calib.json",
            ),
            InputData::read(&repo("prover/tests/fixtures/ops/torch_gpt_tiny.input.json")).unwrap(),
        ),
    ];
    for (model, input) in cases {
        let whole = zkinfer_prover::pipeline::witness(&model, &input).unwrap();
        let n = model.nodes.len();
        let mut carried_twice = false;
        for cut in first_cut(&model)..n {
            let segments = split(&model, &[cut]).unwrap();
            assert_eq!(segments.len(), 2);
            for seg in &segments {
                let values = seg.values(&whole);
                let inputs: Vec<Vec<i128>> = seg
                    .model
                    .inputs
                    .iter()
                    .map(|t| values[*t].clone())
                    .collect();
                let computed = seg.model.forward(&inputs, true).unwrap();
                assert_eq!(computed, values, "cut {cut}, nodes {:?}", seg.nodes);
                let outs: Vec<_> = seg.model.outputs.iter().map(|t| &values[*t]).collect();
                let expected: Vec<_> = seg.outputs.iter().map(|t| &whole[*t]).collect();
                assert_eq!(outs, expected);
            }
            carried_twice |= boundary(&model, cut).len() > 1;
        }
        assert!(n > 3, "a model of several nodes");
        let _ = carried_twice;
    }
    // The transformer has boundaries that carry a residual beside the main path.
    let gpt = quantized(
        "prover/tests/fixtures/ops/torch_gpt_tiny.onnx",
        "prover/tests/fixtures/ops/torch_gpt_tiny.calib.json",
    );
    assert!((first_cut(&gpt)..gpt.nodes.len()).any(|c| boundary(&gpt, c).len() > 1));
}

/// Cuts balance the estimated cost; impossible requests are refused with the reason.
#[test]
fn plans_have_the_asked_segments_and_refuse_impossible_ones() {
    let model = credit_risk();
    let planned = plan_segments(&model, Goal::Segments(3), 4, None).unwrap();
    assert_eq!(planned.len(), 3);
    let ranges: Vec<_> = planned.iter().map(|p| p.segment.nodes.clone()).collect();
    assert_eq!(ranges[0].start, 0);
    assert_eq!(ranges[2].end, model.nodes.len());
    assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
    let err = plan_segments(&model, Goal::Segments(model.nodes.len() + 1), 4, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("segments asked"), "{err}");
    // A model that fits stays whole; one that cannot fit is refused with the reason.
    let one = plan_segments(&model, Goal::Segments(1), 4, None).unwrap();
    let fit = plan_segments(
        &model,
        Goal::Fit {
            max_k: one[0].circuit.k,
        },
        4,
        None,
    )
    .unwrap();
    assert_eq!(fit.len(), 1);
    let err = plan_segments(&model, Goal::Fit { max_k: 3 }, 4, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot be cut further"), "{err}");
}

/// MockProver: neighbouring commitments are equal for honest values; a segment whose boundary
/// input differs by one in one value is refused with its predecessor's commitment, and its own
/// honest commitment of that value is another one (the chain check fails).
#[test]
fn boundary_commitments_chain_and_bind() {
    let model = credit_risk();
    let whole = zkinfer_prover::pipeline::witness(&model, &input()).unwrap();
    let segments = split(&model, &[first_cut(&model) + 1, first_cut(&model) + 3]).unwrap();
    let bindings = Bindings {
        salt: Fr::zero(),
        subject: Fr::from(0xA11CEu64),
        chain_salt: Fr::from(0x5a17u64),
    };
    let mut previous_out = None;
    for (i, seg) in segments.iter().enumerate() {
        let params = plan(&seg.model, 4).unwrap();
        let k = params.k as u32;
        let values = seg.values(&whole);
        let (circuit, instances) = mock_circuit_bound(&seg.model, &params, &values, bindings);
        MockProver::run(k, &circuit, vec![instances.clone()])
            .unwrap()
            .assert_satisfied();
        if let Some(out) = previous_out {
            assert_eq!(instances[0], out, "segment {i}'s input commitment");
            // One boundary value off by one.
            let mut tampered = values.clone();
            tampered[0][0] += 1;
            let (bad, bad_instances) = mock_circuit_bound(&seg.model, &params, &tampered, bindings);
            assert_ne!(bad_instances[0], out, "another value, another commitment");
            let mut claimed = bad_instances.clone();
            claimed[0] = out;
            assert!(
                MockProver::run(k, &bad, vec![claimed])
                    .unwrap()
                    .verify()
                    .is_err(),
                "segment {i} accepted a boundary value its predecessor did not output"
            );
            // Another chain salt: another commitment of the same values.
            let other = Bindings {
                chain_salt: Fr::from(7u64),
                ..bindings
            };
            let (_, salted) = mock_circuit_bound(&seg.model, &params, &values, other);
            assert_ne!(salted[0], out);
            // Another owner's salt: another commitment too, so every segment of a proof is
            // bound to the salt of the first segment's hashed inputs.
            let owner = Bindings {
                salt: Fr::from(9u64),
                ..bindings
            };
            let (_, salted) = mock_circuit_bound(&seg.model, &params, &values, owner);
            assert_ne!(salted[0], out);
        }
        if i + 1 < segments.len() {
            let out_at = params.input_words;
            previous_out = Some(instances[out_at]);
            // Changing the output commitment instance is refused.
            let mut bad = instances.clone();
            bad[out_at] += Fr::one();
            let (circuit, _) = mock_circuit_bound(&seg.model, &params, &values, bindings);
            assert!(MockProver::run(k, &circuit, vec![bad])
                .unwrap()
                .verify()
                .is_err());
        }
    }
}

/// Real proofs (dev SRS): a three-segment proof verifies and carries the whole model's outputs;
/// swapped, dropped, duplicated, mixed-in, byte-flipped or relabelled segment proofs and edited
/// outputs are rejected.
#[test]
fn segmented_proofs_verify_and_tampering_is_rejected() {
    let (dir, settings) = compile_credit_risk("segments", 3);
    let calibration = InputData::read(&credit_risk_file("calibration.json")).unwrap();
    assert_eq!(settings.segments.len(), 3);
    let mut setups = Vec::new();
    setup(&dir, &SrsChoice::Dev, &mut |i, n| setups.push((i, n))).unwrap();
    assert_eq!(setups, [(1, 3), (2, 3), (3, 3)]);
    let mut input = input();
    input.subject = Some("0x00000000000000000000000000000000000a11ce".into());
    let proof = prove(&dir, &input, 2, &|_, _| {}).unwrap();
    assert_eq!(verify(&dir, &proof).unwrap(), None);
    // The outputs are the whole model's, as a single circuit would prove them.
    let (_, whole) = dir.load().unwrap();
    let values = zkinfer_prover::pipeline::witness(&whole, &input).unwrap();
    let expected: Vec<Vec<f64>> = whole
        .outputs
        .iter()
        .map(|t| {
            values[*t]
                .iter()
                .map(|v| whole.config.scale.dequantize(*v))
                .collect()
        })
        .collect();
    assert_eq!(proof.output_data, expected);

    let rejected = |p: &zkinfer_segments::SegmentedProof, what: &str| {
        let why = verify(&dir, p).unwrap();
        assert!(why.is_some(), "{what} accepted");
        why.unwrap()
    };
    let mut swapped = proof.clone();
    swapped.segments.swap(1, 2);
    rejected(&swapped, "swapped segments");
    let mut dropped = proof.clone();
    dropped.segments.remove(1);
    rejected(&dropped, "a dropped segment");
    let mut duplicated = proof.clone();
    duplicated.segments[2] = duplicated.segments[1].clone();
    rejected(&duplicated, "a duplicated segment");
    // Segment 1 from another proof of the same input (another chain salt): each verifies alone,
    // but the commitments do not chain.
    let other = prove(&dir, &input, 1, &|_, _| {}).unwrap();
    let mut mixed = proof.clone();
    mixed.segments[1] = other.segments[1].clone();
    let why = rejected(&mixed, "a segment from another proof");
    assert!(why.contains("commitment"), "{why}");
    let mut flipped = proof.clone();
    flipped.segments[0].proof.0[40] ^= 1;
    rejected(&flipped, "a flipped proof byte");
    let mut edited = proof.clone();
    edited.output_data[0][0] += 1.0;
    rejected(&edited, "edited outputs");
    // A segment alone is no model: its build refuses plain proving and verification.
    let last = dir.segment(&settings.segments[2]);
    let err = zkinfer_prover::pipeline::verify(&last, &proof.segments[2])
        .unwrap_err()
        .to_string();
    assert!(err.contains("one segment of a segmented build"), "{err}");
    assert!(zkinfer_prover::pipeline::prove(&last, &input).is_err());
    // Compiling over it without --force is refused.
    let again =
        import_specialized(&repo("examples/credit_risk/model.onnx"), Some(&calibration)).unwrap();
    let err = compile_segmented(
        again,
        "credit_risk",
        &calibration,
        QuantizationConfig::default(),
        options(),
        Goal::Segments(2),
        &dir,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("holds another build"), "{err}");
    let mut relabelled = proof.clone();
    relabelled.segments[2].model_id = relabelled.segments[1].model_id;
    rejected(&relabelled, "a segment proof labelled as another segment's");
    let _ = std::fs::remove_dir_all(dir.root());
}
