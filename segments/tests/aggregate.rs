//! Aggregation of segment proofs into one proof (real proofs, dev SRS): an honest aggregation
//! verifies with its accumulator; a changed instance or accumulator limb and a flipped proof byte
//! are rejected; segment proofs that do not chain are rejected as a real proof and by the
//! MockProver; segments of two subjects and swapped segments by the MockProver (the copy
//! constraint) and the accumulator.

mod common;

use std::path::PathBuf;
use std::time::Instant;

use common::*;

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use zkinfer_prover::artifacts::{Artifact, KeysInfo};
use zkinfer_prover::circuit::{prover_circuit, Bindings};
use zkinfer_prover::input::InputData;
use zkinfer_prover::pipeline::{load, witness, SrsChoice};
use zkinfer_prover::srs::{dev_srs, read_srs};
use zkinfer_segments::aggregate::{
    aggregate, aggregation_keygen, check_aggregation, poseidon_proof, segment_protocol,
    verify_aggregated, SegmentInstances, SegmentProof, ACCUMULATOR_LIMBS,
};
use zkinfer_segments::setup;

#[test]
fn aggregated_proofs_verify_and_broken_chains_are_rejected() {
    let (dir, settings) = compile_credit_risk("aggregate", 2);
    setup(&dir, &SrsChoice::Dev, &mut |_, _| {}).unwrap();
    let (_, whole) = dir.load().unwrap();
    let mut input = InputData::read(&repo("examples/credit_risk/input.json")).unwrap();
    input.subject = Some("0x00000000000000000000000000000000000a11ce".into());
    let values = witness(&whole, &input).unwrap();
    let snarks = |chain_salt: u64, subject: Fr| {
        let bindings = Bindings {
            salt: Fr::zero(),
            subject,
            chain_salt: Fr::from(chain_salt),
        };
        let mut snarks = Vec::new();
        let mut shapes = Vec::new();
        let mut protocols = Vec::new();
        for entry in &settings.segments {
            let seg = dir.segment(entry);
            let (s, m) = load(&seg).unwrap();
            let info = KeysInfo::read(&seg.keys_info()).unwrap();
            let srs = read_srs(&seg.srs(), s.circuit.k).unwrap();
            let pk = zkinfer_prover::keys::read_pk(&seg.pk(), &s.circuit).unwrap();
            let seg_values = entry.values(&values);
            let (circuit, instances) =
                prover_circuit(&m, &s.circuit, info.break_points, &seg_values, bindings);
            protocols.push(segment_protocol(&srs, pk.get_vk(), instances.len()));
            shapes.push(SegmentInstances {
                count: instances.len(),
                input_words: s.circuit.input_words,
            });
            let proof = poseidon_proof(&srs, &pk, circuit, &instances).unwrap();
            snarks.push(SegmentProof { instances, proof });
        }
        (snarks, shapes, protocols)
    };
    let alice = input.subject().unwrap();
    let (honest, shapes, protocols) = snarks(0x5a17, alice);
    let k = std::env::var("ZKINFER_AGG_K")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(20);
    let srs = dev_srs(k as usize);
    let start = Instant::now();
    let keys = aggregation_keygen(&srs, k, protocols, &shapes).unwrap();
    eprintln!(
        "aggregation keygen k={k}: {:.1} s, {:?}",
        start.elapsed().as_secs_f64(),
        keys.config
    );
    let start = Instant::now();
    let (proof, instances) = aggregate(&srs, &keys, honest.clone()).unwrap();
    eprintln!(
        "aggregation proof: {:.1} s, {} bytes, {} instances",
        start.elapsed().as_secs_f64(),
        proof.len(),
        instances.len()
    );
    let vk = keys.pk.get_vk();
    assert!(verify_aggregated(&srs, vk, &proof, &instances));
    // The statement (the model's input words, outputs, subject), then the accumulator.
    let statement = instances.len() - ACCUMULATOR_LIMBS;
    assert_eq!(instances[statement - 1], input.subject().unwrap());
    let outputs = &honest[1].instances;
    assert_eq!(
        instances[statement - 2],
        outputs[outputs.len() - 2],
        "the last segment's output"
    );
    for i in [0, statement - 1, statement, instances.len() - 1] {
        let mut bad = instances.clone();
        bad[i] += Fr::one();
        assert!(
            !verify_aggregated(&srs, vk, &proof, &bad),
            "instance {i} changed"
        );
    }
    let mut flipped = proof.clone();
    flipped[100] ^= 1;
    assert!(!verify_aggregated(&srs, vk, &flipped, &instances));
    // The EVM verifier of the aggregation key (accumulator folded into its pairing check)
    // compiles within EIP-170; its calldata is the instances, then the proof.
    let solc = std::env::var("ZKINFER_SOLC")
        .unwrap_or_else(|_| repo(".tools/bin/solc").display().to_string());
    let source =
        zkinfer_codegen::generate_aggregation_verifier(&srs, vk, keys.num_instances).unwrap();
    let verifier = zkinfer_codegen::compile_verifier(
        source,
        &zkinfer_codegen::Solc::new(solc),
        keys.num_instances,
    )
    .unwrap();
    assert_eq!(verifier.proof_len, Some(proof.len()));
    eprintln!(
        "aggregation verifier: {} bytes of runtime code",
        verifier.compiled.deployed_bytecode.len()
    );
    if let Ok(out) = std::env::var("ZKINFER_AGG_OUT") {
        // For measuring gas on anvil by hand: the verifier and one call's calldata.
        let out = PathBuf::from(out);
        std::fs::create_dir_all(&out).unwrap();
        verifier.write(&out.join("AggVerifier.sol")).unwrap();
        let mut calldata: Vec<u8> = instances
            .iter()
            .flat_map(|f| {
                let mut b = f.to_bytes();
                b.reverse();
                b
            })
            .collect();
        calldata.extend(&proof);
        std::fs::write(
            out.join("calldata.hex"),
            format!("0x{}", hex::encode(calldata)),
        )
        .unwrap();
    }
    // The MockProver says yes to the honest segments (so its "no" below means something).
    let check = check_aggregation(&srs, &keys, honest.clone()).unwrap();
    assert_eq!(
        check.constraints,
        Ok(()),
        "the honest aggregation's constraints"
    );
    assert!(check.accumulator, "the honest aggregation's accumulator");
    assert_eq!(check.instances[..statement], instances[..statement]);
    // Segment 1 from another proof (another chain salt): each segment proof is valid (the
    // accumulator decides), but the commitments do not chain: the copy constraint rejects it,
    // in the MockProver and as a real proof.
    let (other, _, _) = snarks(7, alice);
    let mixed = vec![honest[0].clone(), other[1].clone()];
    let check = check_aggregation(&srs, &keys, mixed.clone()).unwrap();
    assert!(
        check.accumulator,
        "each segment proof of the broken chain is valid"
    );
    assert_copy_fails(&check, "a broken chain");
    let (proof, instances) = aggregate(&srs, &keys, mixed).unwrap();
    assert!(
        !verify_aggregated(&srs, vk, &proof, &instances),
        "a broken chain aggregated"
    );
    // Segment 1 proven for another subject (same chain salt, so the commitments chain): the
    // subjects are constrained equal.
    let (bob, _, _) = snarks(0x5a17, Fr::from(0xB0Bu64));
    let mixed = vec![honest[0].clone(), bob[1].clone()];
    assert_eq!(
        mixed[1].instances[0], honest[1].instances[0],
        "the chain holds"
    );
    let check = check_aggregation(&srs, &keys, mixed).unwrap();
    assert!(
        check.accumulator,
        "each segment proof of two subjects is valid"
    );
    assert_copy_fails(&check, "two subjects");
    // Swapped segments: each proof is read as the segment of its new position (the key's
    // protocols), so the accumulator of the in-circuit verification does not decide; or the
    // proof cannot even be read as that segment's. Either way no valid aggregate comes out.
    assert_eq!(honest[0].instances.len(), honest[1].instances.len());
    let swapped = vec![honest[1].clone(), honest[0].clone()];
    // (The chain breaks too; what is shown here is that the proofs do not verify as the
    // segments of their new positions: the accumulator does not decide.)
    match check_aggregation(&srs, &keys, swapped) {
        Ok(check) => assert!(!check.accumulator, "swapped segments verified in place"),
        Err(e) => assert!(
            e.to_string().contains("cannot be read"),
            "swapped segments: {e}"
        ),
    }
    // One segment proof too few is refused before proving.
    assert!(aggregate(&srs, &keys, vec![honest[0].clone()]).is_err());
    let _ = std::fs::remove_dir_all(dir.root());
}

/// The MockProver rejects `check` for a copy (equality) constraint, and for nothing else.
fn assert_copy_fails(check: &zkinfer_segments::aggregate::AggregationCheck, what: &str) {
    let failures = check.constraints.as_ref().expect_err(what);
    assert!(
        failures.contains("Equality constraint not satisfied"),
        "{what}: {failures}"
    );
}
