//! `prove`: the witness and the proof; also the statement and commitments a proof would carry.

use halo2_base::halo2_proofs::halo2curves::bn256::{Fr, G1Affine};
use halo2_base::halo2_proofs::plonk::ProvingKey;

use crate::artifacts::{Artifact, BuildDir, KeysInfo, ProofArtifact, Settings, ARTIFACT_VERSION};
use crate::circuit::{prover_circuit, Bindings, ModelCircuit};
use crate::commitment::Visibility;
use crate::encoding::{FieldElement, HexBytes};
use crate::input::InputData;
use crate::quantize::QuantizedModel;
use crate::srs::{read_srs, Srs, SrsSource};
use crate::{keys, proving, Error, Result};

use super::verify::decode_outputs;
use super::{load, phases, PhaseReport};

/// Steps of [`prove_reporting`].
const PROVE_PHASES: [&str; 4] = [
    "computing the witness",
    "loading the SRS and proving key",
    "proving",
    "checking the outputs",
];

/// The exact fixed-point values of every tensor for `input`, checked against the calibrated bounds.
pub fn witness(model: &QuantizedModel, input: &InputData) -> Result<Vec<Vec<i128>>> {
    let input = input.specialize(&model.specialized)?;
    crate::input::check_lengths(&model.input_lens(), input.input_data.iter().map(Vec::len))?;
    model.forward(&model.quantize_inputs(&input.input_data), true)
}

/// Computes the witness and a proof for `input`.
pub fn prove(dir: &BuildDir, input: &InputData) -> Result<ProofArtifact> {
    prove_reporting(dir, input, &mut |_| {})
}

/// [`prove`], reporting each of its steps to `report` as it starts.
pub fn prove_reporting(
    dir: &BuildDir,
    input: &InputData,
    report: PhaseReport<'_>,
) -> Result<ProofArtifact> {
    let mut at = phases(&PROVE_PHASES, report);
    dir.require_keys()?;
    let (settings, model) = load(dir)?;
    let info = KeysInfo::read(&dir.keys_info())?;
    if info.model_id != settings.model_id {
        return Err(Error::KeysForAnotherModel);
    }
    super::verify::refuse_segment(&settings, dir)?;
    require_salt(&settings, input)?;
    at("computing the witness");
    let values = witness(&model, input)?;
    let bindings = bindings(input)?;
    if bindings.subject == Fr::zero() {
        tracing::warn!("the proof names no subject (--subject or \"subject\" in the input file): consumer contracts refuse it");
    }
    proof_of_witness(
        dir,
        (settings, model, info),
        (&values, bindings),
        &|srs, pk, circuit, instances| proving::prove(srs, pk, circuit, instances),
        &mut at,
    )
}

/// A proof of a build whose every tensor value is given (`values`, as [`witness`] computes them:
/// a segment's values come from the whole model's forward pass), with `bindings`.
pub fn prove_witness(
    dir: &BuildDir,
    values: &[Vec<i128>],
    bindings: Bindings,
) -> Result<ProofArtifact> {
    prove_witness_with(dir, values, bindings, &|srs, pk, circuit, instances| {
        proving::prove(srs, pk, circuit, instances)
    })
}

/// Makes a proof from the loaded SRS, proving key, circuit and instances: the keccak transcript
/// of [`proving::prove`] for proofs verified on chain, another transcript for proofs verified
/// inside a circuit (a segment proof for aggregation uses Poseidon).
pub type ProofSystem<'a> =
    &'a (dyn Fn(&Srs, &ProvingKey<G1Affine>, ModelCircuit, &[Fr]) -> Result<Vec<u8>> + Sync);

/// [`prove_witness`] with the proof made by `system`.
pub fn prove_witness_with(
    dir: &BuildDir,
    values: &[Vec<i128>],
    bindings: Bindings,
    system: ProofSystem<'_>,
) -> Result<ProofArtifact> {
    dir.require_keys()?;
    let (settings, model) = load(dir)?;
    let info = KeysInfo::read(&dir.keys_info())?;
    if info.model_id != settings.model_id {
        return Err(Error::KeysForAnotherModel);
    }
    if values.len() != model.nodes.len() {
        return Err(Error::InvalidInput(format!(
            "{} tensors given for a model of {} nodes",
            values.len(),
            model.nodes.len()
        )));
    }
    proof_of_witness(
        dir,
        (settings, model, info),
        (values, bindings),
        system,
        &mut |_| {},
    )
}

/// The proving steps shared by [`prove_reporting`] and [`prove_witness`].
fn proof_of_witness(
    dir: &BuildDir,
    (settings, model, info): (Settings, QuantizedModel, KeysInfo),
    (values, bindings): (&[Vec<i128>], Bindings),
    system: ProofSystem<'_>,
    at: &mut dyn FnMut(&'static str),
) -> Result<ProofArtifact> {
    at("loading the SRS and proving key");
    let srs = read_srs(&dir.srs(), settings.circuit.k)?;
    tracing::info!("loading proving key");
    let pk = keys::read_pk(&dir.pk(), &settings.circuit)?;
    let (circuit, instances) = prover_circuit(
        &model,
        &settings.circuit,
        info.break_points,
        values,
        bindings,
    );
    tracing::info!(
        k = settings.circuit.k,
        instances = instances.len(),
        "proving"
    );
    at("proving");
    let proof = system(&srs, &pk, circuit, &instances)?;
    at("checking the outputs");
    Ok(ProofArtifact {
        version: ARTIFACT_VERSION,
        model_id: settings.model_id,
        proof: HexBytes(proof),
        num_inputs: settings.num_public_inputs(),
        scale: model.config.scale,
        // Outputs that are private or hashed stay out of the artifact.
        output_data: match settings.privacy.outputs {
            Visibility::Public => decode_outputs(&settings, model.config.scale, &instances)?,
            Visibility::Private | Visibility::Hashed | Visibility::Chained => Vec::new(),
        },
        instances: instances.iter().copied().map(FieldElement).collect(),
        dev_srs: info.srs == SrsSource::DevInsecure,
    })
}

/// The commitments of a build's hashed inputs and outputs for `input` (with its salt).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Commitments {
    /// The input commitment, when inputs are hashed.
    pub inputs: Option<Fr>,
    /// The output commitment, when outputs are hashed.
    pub outputs: Option<Fr>,
}

/// The salt and subject a proof of `input` binds.
fn bindings(input: &InputData) -> Result<Bindings> {
    Ok(Bindings {
        salt: input.salt()?,
        subject: input.subject()?,
        ..Bindings::default()
    })
}

/// The public instances a proof of `input` would carry (packed input words or the input
/// commitment, outputs or their commitment, the parameter commitment, the subject), computed
/// without proving.
pub fn statement(dir: &BuildDir, input: &InputData) -> Result<Vec<Fr>> {
    let (settings, model) = load(dir)?;
    require_salt(&settings, input)?;
    let values = witness(&model, input)?;
    Ok(instances_of(&settings, &model, &values, bindings(input)?))
}

/// The public instances a proof of the witness `values` (every node's output, from
/// [`witness`]) under `bindings` would carry, computed without proving or keys: a segment's
/// share of a segmented model's statement.
pub fn statement_of_witness(
    dir: &BuildDir,
    values: &[Vec<i128>],
    bindings: Bindings,
) -> Result<Vec<Fr>> {
    let (settings, model) = load(dir)?;
    if values.len() != model.nodes.len() {
        return Err(Error::InvalidInput(format!(
            "{} tensors given for a model of {} nodes",
            values.len(),
            model.nodes.len()
        )));
    }
    Ok(instances_of(&settings, &model, values, bindings))
}

/// Lays the circuit out for `values` and returns its instances.
fn instances_of(
    settings: &Settings,
    model: &QuantizedModel,
    values: &[Vec<i128>],
    bindings: Bindings,
) -> Vec<Fr> {
    let (mut circuit, instances) =
        crate::circuit::mock_circuit_bound(model, &settings.circuit, values, bindings);
    // Never proven: clear it so that it drops quietly.
    circuit.clear();
    instances
}

/// The model's outputs for `input` as the circuit computes them (fixed point, dequantized),
/// whatever their visibility: a proof file carries public outputs only, so the owner of hashed
/// or private outputs reads them here.
pub fn fixed_point_outputs(model: &QuantizedModel, input: &InputData) -> Result<Vec<Vec<f64>>> {
    let values = witness(model, input)?;
    model
        .outputs
        .iter()
        .map(|t| {
            values
                .get(*t)
                .map(|v| {
                    v.iter()
                        .map(|q| model.config.scale.dequantize(*q))
                        .collect()
                })
                .ok_or_else(|| Error::InvalidInput(format!("output tensor {t} was not computed")))
        })
        .collect()
}

/// Computes the commitments that a proof of `input` would carry, without proving.
pub fn commitments(dir: &BuildDir, input: &InputData) -> Result<Commitments> {
    let settings = Settings::read(&dir.settings())?;
    let instances = statement(dir, input)?;
    let inputs = (settings.privacy.inputs == Visibility::Hashed).then(|| instances[0]);
    let outputs = (settings.privacy.outputs == Visibility::Hashed)
        .then(|| instances[settings.num_public_inputs()]);
    Ok(Commitments { inputs, outputs })
}

/// Refuses an input without a salt for a build whose inputs or outputs are hashed: the salt would
/// silently be 0, and a commitment to low-entropy data without a secret salt can be guessed.
/// Other builds ignore the salt.
fn require_salt(settings: &Settings, input: &InputData) -> Result<()> {
    require_salt_for(&settings.privacy, input)
}

/// Refuses an input without a (nonzero) salt when `privacy` hashes the inputs or outputs.
pub fn require_salt_for(privacy: &crate::privacy::Privacy, input: &InputData) -> Result<()> {
    let hashed = match (
        privacy.inputs == Visibility::Hashed,
        privacy.outputs == Visibility::Hashed,
    ) {
        (true, true) => "inputs and outputs are",
        (true, false) => "inputs are",
        (false, true) => "outputs are",
        (false, false) => return Ok(()),
    };
    match &input.salt {
        None => Err(Error::MissingSalt { hashed }),
        // A zero salt is no salt: the commitment of guessable data could be guessed.
        Some(text) if input.salt()? == Fr::zero() => Err(Error::InvalidInput(format!(
            "salt {text} is zero: the {hashed} hashed, and a commitment with a zero salt can be guessed; use a random field element"
        ))),
        Some(_) => Ok(()),
    }
}
