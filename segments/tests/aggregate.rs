//! Aggregation of segment proofs into one proof, through a tree of aggregation nodes (real
//! proofs, dev SRS; see the test's doc).

mod common;

use std::time::Instant;

use common::*;

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::halo2curves::bn256::G1Affine;
use snark_verifier::verifier::plonk::PlonkProtocol;
use zkinfer_prover::artifacts::{Artifact, KeysInfo};
use zkinfer_prover::circuit::{prover_circuit, Bindings};
use zkinfer_prover::input::InputData;
use zkinfer_prover::pipeline::{load, witness, SrsChoice};
use zkinfer_prover::srs::{dev_srs, read_srs};
use zkinfer_segments::aggregate::{
    accumulator_decides, aggregate_node, aggregation_keygen, aggregation_shape, check_aggregation,
    node_protocol, poseidon_proof, segment_protocol, verify_poseidon, SegmentInstances,
    SegmentProof, ACCUMULATOR_LIMBS,
};
use zkinfer_segments::setup;

/// Segment proofs of the credit-risk example in `segments` segments for one input, and the
/// keys' protocols and shapes.
struct Segments {
    dir: zkinfer_segments::SegmentedDir,
    settings: zkinfer_segments::SegmentedSettings,
    values: Vec<Vec<i128>>,
    protocols: Vec<PlonkProtocol<G1Affine>>,
    shapes: Vec<SegmentInstances>,
}

impl Segments {
    fn compile(name: &str, segments: usize, input: &InputData) -> Self {
        let (dir, settings) = compile_credit_risk(name, segments);
        setup(&dir, &SrsChoice::Dev, &mut |_, _| {}).unwrap();
        let (_, whole) = dir.load().unwrap();
        let values = witness(&whole, input).unwrap();
        let mut this = Segments {
            dir,
            settings,
            values,
            protocols: Vec::new(),
            shapes: Vec::new(),
        };
        let (_, protocols, shapes) = this.prove(0, Fr::zero(), true);
        (this.protocols, this.shapes) = (protocols, shapes);
        this
    }

    /// Proofs of every segment with this chain salt and subject (Poseidon transcript).
    fn proofs(&self, chain_salt: u64, subject: Fr) -> Vec<SegmentProof> {
        self.prove(chain_salt, subject, false).0
    }

    #[allow(clippy::type_complexity)]
    fn prove(
        &self,
        chain_salt: u64,
        subject: Fr,
        keys_only: bool,
    ) -> (
        Vec<SegmentProof>,
        Vec<PlonkProtocol<G1Affine>>,
        Vec<SegmentInstances>,
    ) {
        let bindings = Bindings {
            salt: Fr::zero(),
            subject,
            chain_salt: Fr::from(chain_salt),
        };
        let (mut snarks, mut protocols, mut shapes) = (Vec::new(), Vec::new(), Vec::new());
        for entry in &self.settings.segments {
            let seg = self.dir.segment(entry);
            let (s, m) = load(&seg).unwrap();
            let info = KeysInfo::read(&seg.keys_info()).unwrap();
            let srs = read_srs(&seg.srs(), s.circuit.k).unwrap();
            let pk = zkinfer_prover::keys::read_pk(&seg.pk(), &s.circuit).unwrap();
            let seg_values = entry.values(&self.values);
            let (circuit, instances) =
                prover_circuit(&m, &s.circuit, info.break_points, &seg_values, bindings);
            protocols.push(segment_protocol(&srs, pk.get_vk(), instances.len()));
            shapes.push(SegmentInstances {
                count: instances.len(),
                input_words: s.circuit.input_words,
                accumulator: false,
            });
            if !keys_only {
                let proof = poseidon_proof(&srs, &pk, circuit, &instances).unwrap();
                snarks.push(SegmentProof { instances, proof });
            }
        }
        (snarks, protocols, shapes)
    }
}

/// An aggregation tree over three segments, `root(node(s0, s1), s2)`, with real segment and node
/// proofs (dev SRS) and the root in the MockProver (its real proof is tested on anvil, in
/// tests/e2e_segmented.rs): the node's proof (Poseidon) verifies and its accumulator decides;
/// the root's constraints hold and its accumulator, which folds the node's, decides. A node over a bad segment proof still proves, but its accumulator does not
/// decide, and neither does the root's over it (the root reads the node's accumulator, so a
/// node cannot hide a bad proof). Across the node boundary, a broken chain and two subjects fail
/// the copy constraints (MockProver); swapped, dropped and duplicated proofs are refused or do
/// not decide; a root that would read the node as a plain proof (no accumulator) is refused. A
/// node of one child (a wide segment under the root) exposes its segment's statement and
/// decides for it alone.
#[test]
fn tree_aggregation_verifies_and_nodes_cannot_hide_bad_proofs() {
    let mut input = InputData::read(&repo("examples/credit_risk/input.json")).unwrap();
    input.subject = Some("0x00000000000000000000000000000000000a11ce".into());
    let segs = Segments::compile("aggregate", 3, &input);
    let alice = input.subject().unwrap();
    let honest = segs.proofs(0x5a17, alice);
    let k = std::env::var("ZKINFER_AGG_K")
        .ok()
        .and_then(|k| k.parse().ok())
        // k 20: faster node proofs and MockProver runs than the default 21 (more columns);
        // the default k's root is deployed and verified on anvil in tests/e2e_segmented.rs.
        .unwrap_or(20);
    let srs = dev_srs(k as usize);

    // The inner node over segments 0 and 1.
    let start = Instant::now();
    let node_keys =
        aggregation_keygen(&srs, k, segs.protocols[..2].to_vec(), &segs.shapes[..2]).unwrap();
    eprintln!(
        "node keygen k={k}: {:.1} s, {:?}",
        start.elapsed().as_secs_f64(),
        node_keys.shape.config
    );
    let start = Instant::now();
    let node = aggregate_node(&srs, &node_keys, honest[..2].to_vec()).unwrap();
    eprintln!("node proof: {:.1} s", start.elapsed().as_secs_f64());
    let node_vk = node_keys.pk.get_vk();
    assert!(verify_poseidon(&srs, node_vk, &node.proof, &node.instances));
    assert!(
        accumulator_decides(&srs, &node.instances),
        "the honest node"
    );
    // The node's instances: segment 0's inputs, segment 1's output commitment, the subject, its
    // accumulator.
    let n_in = segs.shapes[0].input_words;
    assert_eq!(node.instances[..n_in], honest[0].instances[..n_in]);
    assert_eq!(
        node.instances[n_in], honest[1].instances[1],
        "segment 1's output"
    );
    assert_eq!(node.instances[n_in + 1], alice);
    assert_eq!(node.instances.len(), n_in + 2 + ACCUMULATOR_LIMBS);
    let node_shape = SegmentInstances {
        count: node.instances.len(),
        input_words: n_in,
        accumulator: true,
    };

    // The root over (node, segment 2), laid out for the MockProver (its real keccak proof, its
    // verifier and their tampering are tested on anvil in tests/e2e_segmented.rs).
    let protocols = vec![
        node_protocol(&srs, node_vk, node_shape.count),
        segs.protocols[2].clone(),
    ];
    let shapes = [node_shape, segs.shapes[2]];
    let root = aggregation_shape(&srs, k, protocols, &shapes).unwrap();
    eprintln!("root: {:?}", root.config);
    let statement = root.num_instances - ACCUMULATOR_LIMBS;

    // The MockProver says yes to the honest tree (so its "no" below means something).
    let check = check_aggregation(&srs, &root, vec![node.clone(), honest[2].clone()]).unwrap();
    assert_eq!(check.constraints, Ok(()), "the honest root's constraints");
    assert!(check.accumulator, "the honest root's accumulator");
    // The statement (the model's input words, outputs, subject), then the accumulator.
    let instances = &check.instances;
    assert_eq!(instances.len(), statement + ACCUMULATOR_LIMBS);
    assert_eq!(instances[..n_in], honest[0].instances[..n_in]);
    assert_eq!(instances[statement - 1], alice);
    let outputs = &honest[2].instances;
    assert_eq!(
        instances[statement - 2],
        outputs[outputs.len() - 2],
        "the last segment's output"
    );

    // A node of one child (what setup puts a wide segment under, so that the root verifies node
    // proofs only): it exposes exactly its segment's statement, then an accumulator that decides
    // for the honest proof and not for a tampered one.
    let wrapper =
        aggregation_shape(&srs, k, vec![segs.protocols[2].clone()], &segs.shapes[2..]).unwrap();
    let check = check_aggregation(&srs, &wrapper, vec![honest[2].clone()]).unwrap();
    assert_eq!(
        check.constraints,
        Ok(()),
        "the one-child node's constraints"
    );
    assert!(check.accumulator, "the one-child node's accumulator");
    assert_eq!(
        check.instances[..check.instances.len() - ACCUMULATOR_LIMBS],
        honest[2].instances[..],
        "a one-child node's statement is its segment's"
    );
    let mut bad_last = honest[2].clone();
    let at = bad_last.proof.len() - 2 * 32 - 32;
    bad_last.proof[at] ^= 1;
    let check = check_aggregation(&srs, &wrapper, vec![bad_last]).unwrap();
    assert!(
        !check.accumulator,
        "a bad segment proof under a one-child node"
    );

    // A node over a bad segment proof (one evaluation changed): the node's own proof is valid
    // (its circuit only computes the accumulator), but its accumulator does not decide, and the
    // root folds it in, so the root's does not either.
    let mut bad_leaf = honest[1].clone();
    let at = bad_leaf.proof.len() - 2 * 32 - 32; // the last evaluation's low byte
    bad_leaf.proof[at] ^= 1;
    let bad_node = aggregate_node(&srs, &node_keys, vec![honest[0].clone(), bad_leaf]).unwrap();
    assert!(verify_poseidon(
        &srs,
        node_vk,
        &bad_node.proof,
        &bad_node.instances
    ));
    assert!(!accumulator_decides(&srs, &bad_node.instances));
    let check = check_aggregation(&srs, &root, vec![bad_node, honest[2].clone()]).unwrap();
    assert_eq!(check.constraints, Ok(()), "the root over a bad node");
    assert!(
        !check.accumulator,
        "a bad segment proof decided through a node"
    );
    // Read as a plain proof (no accumulator in its protocol), the node's deferred check would be
    // dropped: such a root is refused before it is laid out.
    let mut plain = root.clone();
    plain.protocols[0] = segment_protocol(&srs, node_vk, node_shape.count);
    let err = check_aggregation(&srs, &plain, vec![node.clone(), honest[2].clone()])
        .err()
        .expect("a node read without its accumulator");
    assert!(err.to_string().contains("accumulator"), "{err}");

    // Segment 2 from another proof (another chain salt): each proof is valid, but the node's
    // output commitment is not segment 2's input commitment.
    let other = segs.proofs(7, alice);
    let check = check_aggregation(&srs, &root, vec![node.clone(), other[2].clone()]).unwrap();
    assert!(check.accumulator, "each proof of the broken chain is valid");
    assert_copy_fails(&check, "a broken chain across the node");
    // Segment 2 proven for another subject (same chain salt, so the commitments chain).
    let bob = segs.proofs(0x5a17, Fr::from(0xB0Bu64));
    assert_eq!(
        bob[2].instances[0], honest[2].instances[0],
        "the chain holds"
    );
    let check = check_aggregation(&srs, &root, vec![node.clone(), bob[2].clone()]).unwrap();
    assert!(check.accumulator, "each proof of two subjects is valid");
    assert_copy_fails(&check, "two subjects across the node");
    // Swapped, dropped and duplicated proofs at the root: refused before the circuit.
    for (what, proofs) in [
        ("swapped", vec![honest[2].clone(), node.clone()]),
        ("dropped", vec![node.clone()]),
        ("duplicated", vec![node.clone(), node.clone()]),
        (
            "a segment for the node",
            vec![honest[1].clone(), honest[2].clone()],
        ),
    ] {
        assert!(check_aggregation(&srs, &root, proofs).is_err(), "{what}");
    }
    // Swapped segments under the node (same instance counts): each is read as the segment of
    // its new position (the key's protocols), so the accumulator does not decide, or the proof
    // cannot even be read as that segment's.
    assert_eq!(honest[0].instances.len(), honest[1].instances.len());
    let swapped = vec![honest[1].clone(), honest[0].clone()];
    match check_aggregation(&srs, &node_keys.shape, swapped) {
        Ok(check) => assert!(!check.accumulator, "swapped segments verified in place"),
        Err(e) => assert!(
            e.to_string().contains("cannot be read"),
            "swapped segments: {e}"
        ),
    }
    let _ = std::fs::remove_dir_all(segs.dir.root());
}

/// The MockProver rejects `check` for a copy (equality) constraint, and for nothing else.
fn assert_copy_fails(check: &zkinfer_segments::aggregate::AggregationCheck, what: &str) {
    let failures = check.constraints.as_ref().expect_err(what);
    assert!(
        failures.contains("Equality constraint not satisfied"),
        "{what}: {failures}"
    );
}
