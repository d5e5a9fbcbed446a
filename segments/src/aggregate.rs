//! Aggregation: one circuit that verifies every segment proof (snark-verifier's in-circuit
//! KZG/SHPLONK verifier over halo2-base), constrains the boundary commitments to chain, and
//! exposes the model's statement after the KZG accumulator. Its proof uses the keccak
//! transcript, so one EVM verifier (which also checks the accumulator's pairing) verifies the
//! whole model in one call.
//!
//! Segment proofs for aggregation use the Poseidon transcript (cheap to verify in a circuit).
//! The segment verifying keys are circuit constants of the aggregation circuit
//! (`VerifierUniversality::None`), so a proof of another segment, position or model does not
//! aggregate; the segment count and order are fixed by the aggregation key.

use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::gates::flex_gate::MultiPhaseThreadBreakPoints;
use halo2_base::halo2_proofs::dev::MockProver;
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_base::halo2_proofs::plonk::{
    create_proof, keygen_pk, keygen_vk, verify_proof, ProvingKey, VerifyingKey,
};
use halo2_base::halo2_proofs::poly::commitment::ParamsProver;
use halo2_base::halo2_proofs::poly::kzg::commitment::KZGCommitmentScheme;
use halo2_base::halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
use halo2_base::halo2_proofs::poly::kzg::strategy::AccumulatorStrategy;
use halo2_base::halo2_proofs::poly::VerificationStrategy;
use serde::{Deserialize, Serialize};
use snark_verifier::loader::native::NativeLoader;
use snark_verifier::pcs::kzg::{KzgDecidingKey, LimbsEncoding};
use snark_verifier::pcs::{AccumulationDecider, AccumulatorEncoding};
use snark_verifier::system::halo2::{compile, Config};
use snark_verifier::verifier::plonk::PlonkProtocol;
use snark_verifier_sdk::halo2::aggregation::{
    AggregationCircuit, AggregationConfigParams, VerifierUniversality,
};
use snark_verifier_sdk::halo2::{gen_dummy_snark_from_protocol, PoseidonTranscript, POSEIDON_SPEC};
use snark_verifier_sdk::{Snark, SHPLONK};
use zkinfer_prover::srs::Srs;

use crate::{Error, Result};

/// Accumulator limbs at the end of an aggregated proof's instances (two G1 points, each
/// coordinate as 3 limbs of 88 bits).
pub const ACCUMULATOR_LIMBS: usize = 12;

/// Where a segment's instances hold what the aggregation circuit reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentInstances {
    /// All its public instances.
    pub count: usize,
    /// Its leading input instances (the chain commitment, for a later segment).
    pub input_words: usize,
    /// Whether it is an aggregation node's proof: its last [`ACCUMULATOR_LIMBS`] instances are
    /// its accumulator, which the verifying circuit folds into its own.
    #[serde(default)]
    pub accumulator: bool,
}

impl SegmentInstances {
    /// The instance holding the subject: the last before the accumulator, if any.
    pub fn subject(&self) -> usize {
        self.count
            .saturating_sub(1 + ACCUMULATOR_LIMBS * usize::from(self.accumulator))
    }

    /// Whether the counts fit together: the input words, the subject and the accumulator when
    /// there is one (outputs, if any, between the input words and the subject).
    pub fn is_consistent(&self) -> bool {
        self.count > self.input_words + ACCUMULATOR_LIMBS * usize::from(self.accumulator)
    }
}

/// A segment's proof with the Poseidon transcript (cheap to verify in a circuit), for
/// aggregation: a [`zkinfer_prover::pipeline::ProofSystem`].
pub fn poseidon_proof<C: halo2_base::halo2_proofs::plonk::Circuit<Fr>>(
    srs: &Srs,
    pk: &ProvingKey<G1Affine>,
    circuit: C,
    instances: &[Fr],
) -> zkinfer_prover::Result<Vec<u8>> {
    let mut transcript =
        PoseidonTranscript::<NativeLoader, Vec<u8>>::from_spec(vec![], POSEIDON_SPEC.clone());
    create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
        srs,
        pk,
        &[circuit],
        &[&[instances]],
        rand::rngs::OsRng,
        &mut transcript,
    )
    .map_err(|e| zkinfer_prover::Error::Prove(format!("segment proof for aggregation: {e}")))?;
    Ok(transcript.finalize())
}

/// Verifies a [`poseidon_proof`] natively (the halo2 proof only: an aggregation node's
/// accumulator is checked apart, by [`accumulator_decides`]).
pub fn verify_poseidon(
    srs: &Srs,
    vk: &VerifyingKey<G1Affine>,
    proof: &[u8],
    instances: &[Fr],
) -> bool {
    let params = srs.verifier_params();
    let mut transcript =
        PoseidonTranscript::<NativeLoader, &[u8]>::from_spec(proof, POSEIDON_SPEC.clone());
    verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
        params,
        vk,
        AccumulatorStrategy::new(params),
        &[&[instances]],
        &mut transcript,
    )
    .is_ok_and(VerificationStrategy::<_, VerifierSHPLONK<'_, Bn256>>::finalize)
}

/// A segment's Poseidon-transcript proof and its public instances.
#[derive(Clone, Debug)]
pub struct SegmentProof {
    /// Its public instances.
    pub instances: Vec<Fr>,
    /// The proof bytes ([`poseidon_proof`]).
    pub proof: Vec<u8>,
}

/// The protocol (what the in-circuit verifier needs of a verifying key) of a segment.
pub fn segment_protocol(
    srs: &Srs,
    vk: &VerifyingKey<G1Affine>,
    num_instances: usize,
) -> PlonkProtocol<G1Affine> {
    compile(
        srs,
        vk,
        Config::kzg().with_num_instance(vec![num_instances]),
    )
}

/// Where the protocol of a proof of this shape reads an old accumulator: none for a segment,
/// the last [`ACCUMULATOR_LIMBS`] instances for a node.
fn accumulator_indices(shape: &SegmentInstances) -> Vec<Vec<(usize, usize)>> {
    if !shape.accumulator {
        return Vec::new();
    }
    vec![limb_indices(shape.count)]
}

/// The (column, row) of each accumulator limb among `num_instances` instances: the last
/// [`ACCUMULATOR_LIMBS`].
fn limb_indices(num_instances: usize) -> Vec<(usize, usize)> {
    let limbs = num_instances.saturating_sub(ACCUMULATOR_LIMBS)..num_instances;
    limbs.map(|i| (0, i)).collect()
}

/// What an aggregation circuit reads to verify one proof of `protocol`: its commitments (fixed,
/// witness, quotient chunks) and the evaluations it opens. Each costs the circuit scalar
/// multiplications, so a child's width in the parent grows with it.
pub fn verification_size(protocol: &PlonkProtocol<G1Affine>) -> usize {
    protocol.preprocessed.len()
        + protocol.num_witness.iter().sum::<usize>()
        + protocol.quotient.num_chunk()
        + protocol.queries.len()
}

/// The protocol of an aggregation node's proof, for its parent: as [`segment_protocol`], and
/// its last [`ACCUMULATOR_LIMBS`] instances are its accumulator, which the parent's verifier
/// decodes and folds into its own. Without them the node's deferred pairing check would be
/// dropped, and a node over invalid segment proofs would pass.
pub fn node_protocol(
    srs: &Srs,
    vk: &VerifyingKey<G1Affine>,
    num_instances: usize,
) -> PlonkProtocol<G1Affine> {
    compile(
        srs,
        vk,
        Config::kzg()
            .with_num_instance(vec![num_instances])
            .with_accumulator_indices(Some(limb_indices(num_instances))),
    )
}

/// The aggregation circuit over `snarks` (in segment order): verifies each, constrains segment
/// `i`'s output commitment to equal segment `i + 1`'s input commitment and every segment's
/// subject to be the first's, and exposes the model's statement (the first segment's input
/// instances, the last segment's output instances, the subject) followed by the accumulator's
/// [`ACCUMULATOR_LIMBS`]. With the accumulator last, a verifier's calldata (instances, then
/// proof) reads as the statement followed by "accumulator ‖ proof": consumers see the statement
/// of an ordinary model.
pub fn aggregation_circuit(
    stage: CircuitBuilderStage,
    config: AggregationConfigParams,
    srs: &Srs,
    snarks: Vec<Snark>,
    shapes: &[SegmentInstances],
) -> Result<AggregationCircuit> {
    if snarks.len() != shapes.len() || snarks.is_empty() {
        return Err(Error::Build(format!(
            "{} segment proofs for {} segments",
            snarks.len(),
            shapes.len()
        )));
    }
    let last = shapes.len() - 1;
    for (i, (s, shape)) in snarks.iter().zip(shapes).enumerate() {
        let count: usize = s.instances.iter().map(Vec::len).sum();
        // The chain reads one commitment on each side of a boundary: a later segment's inputs
        // are one commitment, an earlier segment's outputs one commitment before the subject.
        let chained = (i == 0 || shape.input_words == 1)
            && (i == last || shape.subject() == shape.input_words + 1);
        let what = if shape.accumulator {
            "an aggregation node's"
        } else {
            "a segment's"
        };
        if count != shape.count || s.instances.len() != 1 {
            return Err(Error::Build(format!(
                "proof {i} ({what}) has {count} instances, its key {}",
                shape.count
            )));
        }
        if !shape.is_consistent() || !chained {
            return Err(Error::Build(format!(
                "proof {i} ({what}): {} instances with {} input words cannot chain at its position",
                shape.count, shape.input_words
            )));
        }
        // A node's accumulator must be read (and folded) by its parent, or its deferred pairing
        // check would be dropped; a segment has none.
        if s.protocol.accumulator_indices != accumulator_indices(shape) {
            return Err(Error::Build(format!(
                "proof {i} ({what}): its protocol does not read the accumulator where its \
                 instances hold one"
            )));
        }
    }
    // snark-verifier-sdk unwraps while reading a proof: a malformed segment proof is an error
    // here, not a crash.
    let mut circuit = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        AggregationCircuit::new::<SHPLONK>(stage, config, srs, snarks, VerifierUniversality::None)
    }))
    .map_err(|_| Error::Build("a segment proof is malformed (it cannot be read)".into()))?;
    let previous = circuit.previous_instances().clone();
    let ctx = circuit.builder.main(0);
    let subject = previous[0][shapes[0].subject()];
    for i in 0..previous.len() {
        if i + 1 < previous.len() {
            let out = previous[i][shapes[i].input_words];
            ctx.constrain_equal(&out, &previous[i + 1][0]);
        }
        ctx.constrain_equal(&previous[i][shapes[i].subject()], &subject);
    }
    let (first, last) = (&previous[0], previous.last().expect("checked above"));
    let last_shape = shapes.last().expect("checked above");
    let mut exposed: Vec<_> = first[..shapes[0].input_words].to_vec();
    exposed.extend_from_slice(&last[last_shape.input_words..last_shape.subject()]);
    exposed.push(subject);
    let accumulator = std::mem::replace(&mut circuit.builder.assigned_instances[0], exposed);
    if accumulator.len() != ACCUMULATOR_LIMBS {
        return Err(Error::Build(format!(
            "the aggregation circuit exposes {} accumulator limbs, not {ACCUMULATOR_LIMBS}",
            accumulator.len()
        )));
    }
    circuit.builder.assigned_instances[0].extend(accumulator);
    Ok(circuit)
}

/// What an aggregation circuit is, without its keys: enough to lay it out (and to run it in the
/// MockProver), and to decide whether it is too wide before any key is made.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AggregationShape {
    /// Its shape (rows, columns, lookup bits).
    pub config: AggregationConfigParams,
    /// The layout's break points, for the prover (empty until a key is made).
    pub break_points: MultiPhaseThreadBreakPoints,
    /// Public instances of its proof.
    pub num_instances: usize,
    /// The protocols of the proofs it verifies, in order: a proof is read against these, never
    /// against a protocol it brings.
    pub protocols: Vec<PlonkProtocol<G1Affine>>,
    /// The instance shapes of the proofs it verifies.
    pub shapes: Vec<SegmentInstances>,
}

/// An aggregation circuit's proving key and shape.
pub struct AggregationKeys {
    /// The proving key.
    pub pk: ProvingKey<G1Affine>,
    /// What the key was made for.
    pub shape: AggregationShape,
}

/// Lays out the aggregation circuit at `2^k` rows over proofs of these protocols (dummy proofs:
/// no key is made), and returns the circuit with its shape.
fn lay_out(
    srs: &Srs,
    k: u32,
    protocols: Vec<PlonkProtocol<G1Affine>>,
    shapes: &[SegmentInstances],
) -> Result<(AggregationCircuit, AggregationShape)> {
    if k < 2 {
        return Err(Error::Build(format!(
            "an aggregation circuit of 2^{k} rows"
        )));
    }
    for (i, (p, shape)) in protocols.iter().zip(shapes).enumerate() {
        if p.num_instance != [shape.count] {
            return Err(Error::Build(format!(
                "proof {i}'s protocol has {:?} instances, its shape {}",
                p.num_instance, shape.count
            )));
        }
    }
    let snarks = protocols
        .iter()
        .cloned()
        .map(gen_dummy_snark_from_protocol::<SHPLONK>)
        .collect();
    let config = AggregationConfigParams {
        degree: k,
        lookup_bits: k as usize - 1,
        ..Default::default()
    };
    let mut circuit =
        aggregation_circuit(CircuitBuilderStage::Keygen, config, srs, snarks, shapes)?;
    let config = circuit.calculate_params(Some(20));
    let shape = AggregationShape {
        config,
        // Known once a key is made (the layout is synthesized).
        break_points: Vec::new(),
        num_instances: circuit.builder.assigned_instances[0].len(),
        protocols,
        shapes: shapes.to_vec(),
    };
    Ok((circuit, shape))
}

/// The shape of the aggregation circuit at `2^k` rows over proofs of these protocols, without
/// making its keys (seconds, where keys take minutes).
pub fn aggregation_shape(
    srs: &Srs,
    k: u32,
    protocols: Vec<PlonkProtocol<G1Affine>>,
    shapes: &[SegmentInstances],
) -> Result<AggregationShape> {
    Ok(lay_out(srs, k, protocols, shapes)?.1)
}

/// Generates the aggregation circuit's keys at `2^k` rows for proofs of these protocols.
pub fn aggregation_keygen(
    srs: &Srs,
    k: u32,
    protocols: Vec<PlonkProtocol<G1Affine>>,
    shapes: &[SegmentInstances],
) -> Result<AggregationKeys> {
    let (circuit, mut shape) = lay_out(srs, k, protocols, shapes)?;
    tracing::info!(k, advice = shape.config.num_advice, "aggregation keys");
    let vk = keygen_vk(srs, &circuit)
        .map_err(|e| Error::Build(format!("aggregation verifying key: {e}")))?;
    let pk = keygen_pk(srs, vk, &circuit)
        .map_err(|e| Error::Build(format!("aggregation proving key: {e}")))?;
    shape.break_points = circuit.break_points();
    Ok(AggregationKeys { pk, shape })
}

/// An aggregated proof (keccak transcript) of the segment `proofs` (in order) and its instances
/// (the statement, then the accumulator).
pub fn aggregate(
    srs: &Srs,
    keys: &AggregationKeys,
    proofs: Vec<SegmentProof>,
) -> Result<(Vec<u8>, Vec<Fr>)> {
    let (circuit, instances) =
        keyed_circuit(CircuitBuilderStage::Prover, srs, &keys.shape, proofs)?;
    let circuit = circuit.use_break_points(keys.shape.break_points.clone());
    let proof = zkinfer_prover::proving::prove(srs, &keys.pk, circuit, &instances)?;
    Ok((proof, instances))
}

/// An inner aggregation node's proof of `proofs` (its children, in order), with the Poseidon
/// transcript so that its parent verifies it in-circuit. Its instances are those of a segment
/// covering its children's span, then its accumulator.
pub fn aggregate_node(
    srs: &Srs,
    keys: &AggregationKeys,
    proofs: Vec<SegmentProof>,
) -> Result<SegmentProof> {
    let (circuit, instances) =
        keyed_circuit(CircuitBuilderStage::Prover, srs, &keys.shape, proofs)?;
    let circuit = circuit.use_break_points(keys.shape.break_points.clone());
    let proof = poseidon_proof(srs, &keys.pk, circuit, &instances)?;
    Ok(SegmentProof { instances, proof })
}

/// What a MockProver run of the aggregation circuit on `proofs` finds, without proving: whether
/// its constraints hold (the chain, the subjects: the failures, when they do not) and whether
/// its accumulator decides (the segment proofs verify), with the instances it would expose.
pub struct AggregationCheck {
    /// `Ok` when every gate, lookup and copy constraint holds; else the MockProver's failures.
    pub constraints: std::result::Result<(), String>,
    /// Whether the accumulator's pairing check passes.
    pub accumulator: bool,
    /// The instances (statement, then accumulator).
    pub instances: Vec<Fr>,
}

/// Runs the aggregation circuit of `proofs` (each read as the segment of its position) in the
/// MockProver: for tests and diagnosis, as [`aggregate`] would lay it out.
pub fn check_aggregation(
    srs: &Srs,
    shape: &AggregationShape,
    proofs: Vec<SegmentProof>,
) -> Result<AggregationCheck> {
    let (circuit, instances) = keyed_circuit(CircuitBuilderStage::Mock, srs, shape, proofs)?;
    let constraints = MockProver::run(shape.config.degree, &circuit, vec![instances.clone()])
        .map_err(|e| Error::Build(format!("the aggregation MockProver: {e}")))?
        .verify()
        .map_err(|failures| {
            let shown: Vec<String> = failures.iter().take(3).map(|f| f.to_string()).collect();
            format!("{} failures: {}", failures.len(), shown.join("; "))
        });
    Ok(AggregationCheck {
        constraints,
        accumulator: accumulator_decides(srs, &instances),
        instances,
    })
}

/// The aggregation circuit of `keys` at `stage` on `proofs` (each read as the segment of its
/// position), with the instances it exposes.
fn keyed_circuit(
    stage: CircuitBuilderStage,
    srs: &Srs,
    shape: &AggregationShape,
    proofs: Vec<SegmentProof>,
) -> Result<(AggregationCircuit, Vec<Fr>)> {
    let circuit = aggregation_circuit(
        stage,
        shape.config,
        srs,
        position_snarks(shape, proofs)?,
        &shape.shapes,
    )?;
    let instances = circuit.builder.assigned_instances[0]
        .iter()
        .map(|v| *v.value())
        .collect();
    Ok((circuit, instances))
}

/// Each proof as the snark of its position: read against the key's protocol, never against a
/// protocol it brings.
fn position_snarks(shape: &AggregationShape, proofs: Vec<SegmentProof>) -> Result<Vec<Snark>> {
    if proofs.len() != shape.protocols.len() {
        return Err(Error::Build(format!(
            "{} proofs for an aggregation key of {} proofs",
            proofs.len(),
            shape.protocols.len()
        )));
    }
    Ok(proofs
        .into_iter()
        .zip(&shape.protocols)
        .map(|(s, p)| Snark::new(p.clone(), vec![s.instances], s.proof))
        .collect())
}

/// Verifies an aggregated proof natively: the halo2 proof, then the accumulator's pairing
/// (`e(lhs, g2) = e(rhs, s·g2)`), which is what makes the segment proofs count. The accumulator
/// is the last [`ACCUMULATOR_LIMBS`] instances.
pub fn verify_aggregated(
    srs: &Srs,
    vk: &VerifyingKey<G1Affine>,
    proof: &[u8],
    instances: &[Fr],
) -> bool {
    if instances.len() < ACCUMULATOR_LIMBS
        || vk.cs().num_instance_columns() != 1
        || !zkinfer_prover::proving::verify(srs, vk, proof, instances)
    {
        return false;
    }
    accumulator_decides(srs, instances)
}

/// Whether the KZG accumulator in the last [`ACCUMULATOR_LIMBS`] of an aggregation's
/// `instances` passes its pairing check (`e(lhs, g2) = e(rhs, s·g2)`): the segment proofs
/// verified. An aggregated proof counts only when this and the halo2 proof both hold.
pub fn accumulator_decides(srs: &Srs, instances: &[Fr]) -> bool {
    if instances.len() < ACCUMULATOR_LIMBS {
        return false;
    }
    let limbs: Vec<&Fr> = instances[instances.len() - ACCUMULATOR_LIMBS..]
        .iter()
        .collect();
    let Ok(accumulator) =
        <LimbsEncoding<3, 88> as AccumulatorEncoding<G1Affine, NativeLoader>>::from_repr(&limbs)
    else {
        return false;
    };
    let dk: KzgDecidingKey<Bn256> = (srs.get_g()[0], srs.g2(), srs.s_g2()).into();
    <SHPLONK as AccumulationDecider<G1Affine, NativeLoader>>::decide(&dk, accumulator).is_ok()
}
