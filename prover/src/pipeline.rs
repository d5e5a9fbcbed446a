//! The user-level steps: compile, setup, prove, verify — each reading and writing a build directory.

use std::path::{Path, PathBuf};

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;

use crate::artifacts::{
    Artifact, BuildDir, KeysInfo, ModelArtifact, NodeRange, ProofArtifact, Settings,
    ARTIFACT_VERSION,
};
use crate::circuit::{plan, prover_circuit, Bindings, CircuitParams};
use crate::commitment::Visibility;
use crate::fixed::Scale;
use crate::fixed::{field_from_hex, field_to_hex, from_field};
use crate::input::InputData;
use crate::quantize::{calibrate, quantize, QuantizationConfig, QuantizedModel};
use crate::resources::{MemoryLimit, ResourceEstimate};
use crate::srs::{dev_srs, read_srs, write_srs, SrsSource};
use crate::{keys, onnx, proving, Error, Result};

/// How `compile` lays out the circuit.
#[derive(Clone, Copy, Debug)]
pub struct CircuitOptions {
    /// Advice columns allowed before `k` grows (see [`crate::circuit::MAX_ADVICE_COLUMNS`]).
    pub max_advice_columns: usize,
    /// Try finer scales (see [`SCALE_CANDIDATES`]) and keep the one with the smallest error on
    /// the calibration samples that does not grow the circuit.
    pub search_scales: bool,
    /// Visibility of the inputs, outputs and parameters.
    pub privacy: crate::commitment::Privacy,
    /// The model owner's salt for hashed parameters (random when absent).
    pub param_salt: Option<Fr>,
    /// Memory that setup and proving may take: a circuit estimated above it is refused at
    /// compile (`None`: no check). Defaults to the memory available now.
    pub memory_limit: Option<MemoryLimit>,
    /// Replace another model's build in the target folder (deleting its keys, verifier,
    /// deployment and proof files) instead of refusing (see [`compile_with`]).
    pub force: bool,
}

impl Default for CircuitOptions {
    fn default() -> Self {
        CircuitOptions {
            max_advice_columns: crate::circuit::MAX_ADVICE_COLUMNS,
            search_scales: false,
            privacy: Default::default(),
            param_salt: None,
            memory_limit: MemoryLimit::available(),
            force: false,
        }
    }
}

/// (activation, weight) scale exponents tried by the scale search, after the configured one.
pub const SCALE_CANDIDATES: [(u32, u32); 4] = [(14, 14), (15, 15), (13, 15), (14, 16)];

/// A candidate replaces the current choice only when it cuts the calibration error by this factor.
const SEARCH_GAIN: f64 = 0.7;

/// [`compile_with`] with default circuit options.
pub fn compile(
    onnx_path: &Path,
    calibration: &InputData,
    config: QuantizationConfig,
    dir: &BuildDir,
) -> Result<Settings> {
    compile_with(
        onnx_path,
        calibration,
        config,
        CircuitOptions::default(),
        dir,
    )
}

/// Imports, calibrates and quantizes `onnx_path`, plans the circuit and writes the build directory.
///
/// A folder that already holds a build of the same model (the same model id) keeps its keys and
/// other files, which stay valid. A folder holding files of another build (see
/// [`BuildDir::zkinfer_files`]) is refused with [`Error::BuildDirInUse`], unless
/// `options.force`: then that build's keys, verifier, deployment and proof files are deleted.
pub fn compile_with(
    onnx_path: &Path,
    calibration: &InputData,
    config: QuantizationConfig,
    options: CircuitOptions,
    dir: &BuildDir,
) -> Result<Settings> {
    let model = onnx::import(onnx_path)?;
    let source = onnx_path.display().to_string();
    let (settings, qmodel) = compile_model(model, &source, calibration, config, options)?;
    prepare_build_dir(dir, &settings.model_id, options.force)?;
    std::fs::create_dir_all(dir.root()).map_err(|e| Error::io(dir.root(), e))?;
    ModelArtifact {
        version: ARTIFACT_VERSION,
        model: qmodel,
    }
    .write(&dir.model())?;
    settings.write(&dir.settings())?;
    Ok(settings)
}

/// The largest scale exponent accepted: fixed-point values are `i128`, and consumer contracts
/// divide outputs by `2^scale` as an `int256` (the oracle refuses a scale of 128 or more).
pub const MAX_SCALE: u32 = 64;

/// Refuses activation or weight scales above [`MAX_SCALE`].
fn check_scales(config: &QuantizationConfig) -> Result<()> {
    for (what, scale) in [
        ("--scale", config.scale.0),
        ("--weight-scale", config.weight_scale.0),
    ] {
        if scale > MAX_SCALE {
            return Err(Error::InvalidInput(format!(
                "{what} {scale}: fixed-point scales above 2^{MAX_SCALE} are not supported"
            )));
        }
    }
    Ok(())
}

/// Checks what `dir` holds before a compile of `model_id` writes into it: nothing of zkinfer's,
/// or a build of the same model (kept), or another build (refused, or removed with `force`).
fn prepare_build_dir(dir: &BuildDir, model_id: &str, force: bool) -> Result<()> {
    let found = dir.zkinfer_files()?;
    if found.is_empty() {
        return Ok(());
    }
    let settings_path = dir.settings();
    let previous = if settings_path.exists() {
        Some(Settings::read(&settings_path).map(|s| s.model_id))
    } else {
        None
    };
    let holds = match &previous {
        Some(Ok(id)) if id == model_id => {
            tracing::info!(
                dir = %dir.root().display(),
                "the folder already holds a build of this model: its keys and other files are kept \
                 (they are still valid)"
            );
            return Ok(());
        }
        Some(Ok(id)) => format!("the build of another model ({id})"),
        Some(Err(e)) => format!("a build whose settings.json cannot be read ({e})"),
        None => "files of another build".to_string(),
    };
    let name = |p: &PathBuf| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    if !force {
        return Err(Error::BuildDirInUse {
            dir: dir.root().to_path_buf(),
            holds,
            files: found.iter().map(name).collect(),
        });
    }
    for path in &found {
        // The new build's own files are written over.
        if *path == settings_path || *path == dir.model() {
            continue;
        }
        std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
        tracing::warn!(
            "--force: removed {} (from {holds}, replaced by model {model_id})",
            path.display()
        );
    }
    Ok(())
}

/// Calibrates and quantizes an imported model and plans its circuit, in memory: what
/// [`compile_with`] writes. `source` names the model in the settings.
pub fn compile_model(
    mut model: crate::model::Model,
    source: &str,
    calibration: &InputData,
    config: QuantizationConfig,
    options: CircuitOptions,
) -> Result<(Settings, QuantizedModel)> {
    check_scales(&config)?;
    let folded = crate::fold::fold_affine(&mut model);
    tracing::debug!(folded, "affine nodes folded into their producers");
    let samples = calibration.samples(&model)?;
    let maxima = calibrate(&model, &samples)?;
    let param_salt =
        (options.privacy.params == crate::commitment::ParamVisibility::Hashed).then(|| {
            let salt = options.param_salt.unwrap_or_else(|| {
                <Fr as halo2_base::halo2_proofs::halo2curves::ff::Field>::random(rand::rngs::OsRng)
            });
            crate::fixed::field_to_hex(&salt)
        });
    let mut qmodel = quantize(&model, &maxima, config)?;
    qmodel.privacy = options.privacy;
    qmodel.param_salt = param_salt.clone();
    // The quantization error on the calibration set; this also checks every sample fits the bounds.
    let mut error = crate::quantize::calibration_error(&model, &qmodel, &samples)?;
    if let Some(limit) = &options.memory_limit {
        // Before any layout: a model whose cells alone exceed the limit is not laid out.
        ResourceEstimate::lower_bound(&qmodel).check_bound(limit)?;
    }
    tracing::info!(nodes = qmodel.nodes.len(), "planning circuit");
    let mut circuit = plan(&qmodel, options.max_advice_columns)?;
    if options.search_scales {
        for (s, ws) in SCALE_CANDIDATES {
            let candidate_config = QuantizationConfig {
                scale: Scale(s),
                weight_scale: Scale(ws),
                ..config
            };
            let Ok(mut candidate) = quantize(&model, &maxima, candidate_config) else {
                continue;
            };
            candidate.privacy = options.privacy;
            candidate.param_salt = param_salt.clone();
            let Ok(candidate_error) =
                crate::quantize::calibration_error(&model, &candidate, &samples)
            else {
                continue;
            };
            if candidate_error >= SEARCH_GAIN * error {
                continue;
            }
            let candidate_circuit = plan(&candidate, options.max_advice_columns)?;
            if candidate_circuit.k <= circuit.k {
                tracing::info!(
                    scale = s,
                    weight_scale = ws,
                    error = candidate_error,
                    "finer scales chosen"
                );
                (qmodel, error, circuit) = (candidate, candidate_error, candidate_circuit);
            }
        }
    }
    let resources = ResourceEstimate::of(&circuit);
    if let Some(limit) = &options.memory_limit {
        resources.check(limit)?;
    }
    tracing::info!(
        k = resources.k,
        columns = resources.columns,
        mib = resources.proving_bytes >> 20,
        "estimated memory for setup and proving"
    );
    let config = qmodel.config;
    let settings = Settings {
        version: ARTIFACT_VERSION,
        model_id: model_id(&qmodel, &circuit),
        source: source.to_string(),
        quantization: config,
        input_shapes: model.input_shapes(),
        output_shapes: model.output_shapes(),
        calibration_samples: samples.len(),
        privacy: qmodel.privacy,
        param_commitment: qmodel.param_salt.as_deref().map(|salt| {
            let salt = crate::fixed::field_from_hex(salt).expect("written above");
            crate::fixed::field_to_hex(&crate::commitment::param_commitment(&qmodel, salt))
        }),
        nodes: qmodel
            .nodes
            .iter()
            .map(|n| NodeRange {
                name: n.name.clone(),
                op_type: n.op_type.clone(),
                bits: n.bits,
                calibrated_max: n.calibrated_max,
            })
            .collect(),
        circuit,
        resources: Some(resources),
    };
    warn_zero_ranges(&settings.nodes);
    Ok((settings, qmodel))
}

/// The nodes whose calibrated range is zero: every calibration sample gave 0 there.
pub fn zero_range_nodes(nodes: &[NodeRange]) -> Vec<&NodeRange> {
    nodes.iter().filter(|n| n.calibrated_max == 0.0).collect()
}

/// One warning naming every node whose calibration saw only zeros (a degenerate calibration,
/// e.g. all-zero samples): a real input that makes such a node nonzero is refused at prove.
fn warn_zero_ranges(nodes: &[NodeRange]) {
    let zero = zero_range_nodes(nodes);
    if zero.is_empty() {
        return;
    }
    let names = zero
        .iter()
        .map(|n| format!("{} ({})", n.name, n.op_type))
        .collect::<Vec<_>>()
        .join(", ");
    tracing::warn!(
        "calibration saw only zeros at {} node(s): {names}. Their calibrated range is zero, so \
         real inputs with nonzero values there will be refused at prove (out of calibrated \
         range): calibrate with samples that cover the inputs you will prove",
        zero.len()
    );
}

/// Which SRS `setup` uses.
#[derive(Clone, Debug)]
pub enum SrsChoice {
    /// The insecure development SRS.
    Dev,
    /// A snarkjs `.ptau` file (checked) or a halo2 params file.
    File(PathBuf),
}

/// The id of a quantized model laid out as `circuit`: SHA-256 of the model and the circuit's
/// shape (halo2-base's parameters, and the dot-product region's when there is one).
pub fn model_id(model: &QuantizedModel, circuit: &CircuitParams) -> String {
    let mut bytes = serde_json::to_vec(model).expect("model serializes");
    bytes.extend(serde_json::to_vec(&circuit.base).expect("params serialize"));
    // Absent region: the ids of builds from before the region existed stay as they were.
    if let Some(dot) = circuit.dot {
        bytes.extend(serde_json::to_vec(&dot).expect("shape serializes"));
    }
    crate::hash::sha256_hex(&bytes)
}

/// Loads the settings and quantized model of a compiled build directory, and checks that they
/// belong together (the model and circuit shape hash to the settings' model id), so that an
/// edited `model.json` is refused here rather than failing in the prover.
pub fn load(dir: &BuildDir) -> Result<(Settings, QuantizedModel)> {
    dir.require_compiled()?;
    let settings = Settings::read(&dir.settings())?;
    let model = ModelArtifact::read(&dir.model())?.model;
    let found = model_id(&model, &settings.circuit);
    if found != settings.model_id {
        return Err(Error::ModelMismatch {
            path: dir.model(),
            found,
            expected: settings.model_id,
        });
    }
    Ok((settings, model))
}

/// A step of a long operation (for a progress bar): step `step` of `of`, named `name`, starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Phase {
    /// 1-based index of the step that starts.
    pub step: usize,
    /// Number of steps.
    pub of: usize,
    /// What the step does.
    pub name: &'static str,
}

/// Receives the [`Phase`]s of [`setup_reporting`] and [`prove_reporting`].
pub type PhaseReport<'a> = &'a mut dyn FnMut(Phase);

/// Steps of [`setup_reporting`].
const SETUP_PHASES: [&str; 4] = [
    "loading the SRS",
    "generating the verifying key",
    "generating the proving key",
    "writing the keys",
];

/// Steps of [`prove_reporting`].
const PROVE_PHASES: [&str; 4] = [
    "computing the witness",
    "loading the SRS and proving key",
    "proving",
    "checking the outputs",
];

/// A reporter for the steps in `names`: `at(name)` reports that step.
fn phases<'a>(
    names: &'static [&'static str],
    report: PhaseReport<'a>,
) -> impl FnMut(&'static str) + 'a {
    move |name| {
        let step = names.iter().position(|n| *n == name).map_or(0, |i| i + 1);
        report(Phase {
            step,
            of: names.len(),
            name,
        });
    }
}

/// Generates the SRS (or loads it) and the keys; writes `kzg.srs`, `pk.bin`, `vk.bin`, `keys.json`.
pub fn setup(dir: &BuildDir, choice: &SrsChoice) -> Result<KeysInfo> {
    setup_reporting(dir, choice, &mut |_| {})
}

/// [`setup`], reporting each of its steps to `report` as it starts.
pub fn setup_reporting(
    dir: &BuildDir,
    choice: &SrsChoice,
    report: PhaseReport<'_>,
) -> Result<KeysInfo> {
    let mut at = phases(&SETUP_PHASES, report);
    let (settings, model) = load(dir)?;
    let k = settings.circuit.k;
    let wanted = match choice {
        SrsChoice::Dev => SrsSource::DevInsecure,
        SrsChoice::File(path) if crate::ptau::is_ptau(path) => SrsSource::PowersOfTau {
            path: path.display().to_string(),
        },
        SrsChoice::File(path) => SrsSource::File {
            path: path.display().to_string(),
        },
    };
    // Keys for this exact model and SRS are already there: nothing to do.
    if let Ok(info) = KeysInfo::read(&dir.keys_info()) {
        let files = [dir.pk(), dir.vk(), dir.srs()].iter().all(|p| p.exists());
        if files && info.model_id == settings.model_id && info.srs == wanted {
            tracing::info!("keys are up to date for model {}", settings.model_id);
            return Ok(info);
        }
    }
    at("loading the SRS");
    let (srs, source) = match choice {
        SrsChoice::Dev => (dev_srs(k), SrsSource::DevInsecure),
        SrsChoice::File(path) => match crate::srs::read_any(path, k)? {
            // The development SRS from a file (e.g. a copy of the cache) is no safer.
            (srs, _) if crate::srs::is_dev_srs(&srs) => {
                tracing::warn!(
                    path = %path.display(),
                    "this SRS is zkinfer's INSECURE development SRS: its keys are marked as such"
                );
                (srs, SrsSource::DevInsecure)
            }
            read => read,
        },
    };
    let generated = keys::keygen_reporting(&srs, &model, &settings.circuit, &mut |key| {
        at(if key == keys::KeyKind::Verifying {
            "generating the verifying key"
        } else {
            "generating the proving key"
        })
    })?;
    at("writing the keys");
    let vk = generated.pk.get_vk();
    keys::write_pk(&generated.pk, &dir.pk())?;
    keys::write_vk(vk, &dir.vk())?;
    write_srs(&srs, &dir.srs())?;
    let info = KeysInfo {
        version: ARTIFACT_VERSION,
        model_id: settings.model_id.clone(),
        srs: source,
        break_points: generated.break_points,
        vk_sha256: crate::hash::sha256_hex(&keys::vk_bytes(vk)),
    };
    info.write(&dir.keys_info())?;
    Ok(info)
}

/// The exact fixed-point values of every tensor for `input`, checked against the calibrated bounds.
pub fn witness(model: &QuantizedModel, input: &InputData) -> Result<Vec<Vec<i128>>> {
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
        return Err(Error::Circuit(
            "keys were generated for another model: run `zkinfer setup` again".into(),
        ));
    }
    require_salt(&settings, input)?;
    at("computing the witness");
    let values = witness(&model, input)?;
    let bindings = bindings(input)?;
    if bindings.subject == Fr::zero() {
        tracing::warn!("the proof names no subject (--subject or \"subject\" in the input file): consumer contracts refuse it");
    }
    at("loading the SRS and proving key");
    let srs = read_srs(&dir.srs(), settings.circuit.k)?;
    tracing::info!("loading proving key");
    let pk = keys::read_pk(&dir.pk(), &settings.circuit)?;
    let (circuit, instances) = prover_circuit(
        &model,
        &settings.circuit,
        info.break_points,
        &values,
        bindings,
    );
    tracing::info!(
        k = settings.circuit.k,
        instances = instances.len(),
        "proving"
    );
    at("proving");
    let proof = proving::prove(&srs, &pk, circuit, &instances)?;
    at("checking the outputs");
    Ok(ProofArtifact {
        version: ARTIFACT_VERSION,
        model_id: settings.model_id.clone(),
        proof: format!("0x{}", hex::encode(&proof)),
        num_inputs: settings.num_public_inputs(),
        scale: model.config.scale.0,
        // Outputs that are private or hashed stay out of the artifact.
        output_data: match settings.privacy.outputs {
            Visibility::Public => decode_outputs(&settings, model.config.scale, &instances)?,
            Visibility::Private | Visibility::Hashed => Vec::new(),
        },
        instances: instances.iter().map(field_to_hex).collect(),
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
    })
}

/// The public instances a proof of `input` would carry (packed input words or the input
/// commitment, outputs or their commitment, the parameter commitment, the subject), computed
/// without proving.
pub fn statement(dir: &BuildDir, input: &InputData) -> Result<Vec<Fr>> {
    let (settings, model) = load(dir)?;
    require_salt(&settings, input)?;
    let values = witness(&model, input)?;
    let (mut circuit, instances) =
        crate::circuit::mock_circuit_bound(&model, &settings.circuit, &values, bindings(input)?);
    // Never proven: clear it so that it drops quietly.
    circuit.clear();
    Ok(instances)
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
    let hashed = match (
        settings.privacy.inputs == Visibility::Hashed,
        settings.privacy.outputs == Visibility::Hashed,
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

/// Dequantized outputs (public outputs at `scale`), one flat array per graph output.
fn decode_outputs(settings: &Settings, scale: Scale, instances: &[Fr]) -> Result<Vec<Vec<f64>>> {
    let short = || {
        Error::MalformedProof(
            "the settings' output shapes need more instances than the proof has".into(),
        )
    };
    let mut rest = instances
        .get(settings.num_public_inputs()..)
        .ok_or_else(short)?;
    let mut outputs = Vec::new();
    for shape in &settings.output_shapes {
        let len = shape
            .iter()
            .try_fold(1usize, |n, d| n.checked_mul(*d))
            .filter(|len| *len <= rest.len())
            .ok_or_else(short)?;
        let (head, tail) = rest.split_at(len);
        let values = head
            .iter()
            .map(|f| from_field(f).map(|q| scale.dequantize(q)))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                Error::MalformedProof("an output instance is not a small signed integer".into())
            })?;
        outputs.push(values);
        rest = tail;
    }
    Ok(outputs)
}

/// Parses the proof bytes and instances of a proof artifact.
pub fn decode_proof(artifact: &ProofArtifact) -> Result<(Vec<u8>, Vec<Fr>)> {
    let proof = hex::decode(artifact.proof.trim_start_matches("0x"))
        .map_err(|e| Error::MalformedProof(format!("proof is not hex: {e}")))?;
    let instances = artifact
        .instances
        .iter()
        .enumerate()
        .map(|(i, s)| {
            field_from_hex(s).ok_or_else(|| {
                Error::MalformedProof(format!("instance #{i} is not a field element: {s}"))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((proof, instances))
}

/// Verifies a proof artifact off-chain. `Ok(false)` is a rejected proof; `Err` a broken setup,
/// or a valid proof whose file's `output_data` is not what its instances encode
/// ([`Error::OutputDataMismatch`]): the outputs a user reads are the proven ones.
pub fn verify(dir: &BuildDir, artifact: &ProofArtifact) -> Result<bool> {
    dir.require_keys()?;
    let settings = Settings::read(&dir.settings())?;
    if artifact.model_id != settings.model_id {
        tracing::warn!(proof = %artifact.model_id, build = %settings.model_id, "the proof is for another model");
        return Ok(false);
    }
    let (proof, instances) = decode_proof(artifact)?;
    if instances.len() != settings.circuit.num_instances {
        tracing::warn!(
            found = instances.len(),
            expected = settings.circuit.num_instances,
            "wrong number of instances"
        );
        return Ok(false);
    }
    let srs = read_srs(&dir.srs(), settings.circuit.k)?;
    let vk = keys::read_vk(&dir.vk(), &settings.circuit)?;
    if !proving::verify(&srs, &vk, &proof, &instances) {
        return Ok(false);
    }
    check_output_data(&settings, &artifact.output_data, &instances)?;
    Ok(true)
}

/// Checks that a proof file's `output_data` is exactly what `prove` writes for these (verified)
/// instances: the decoded public outputs, or nothing when the outputs are private or hashed.
/// Values compare exactly: JSON floats round-trip (serde_json's `float_roundtrip`).
pub fn check_output_data(
    settings: &Settings,
    output_data: &[Vec<f64>],
    instances: &[Fr],
) -> Result<()> {
    let expected = match settings.privacy.outputs {
        Visibility::Public => decode_outputs(settings, settings.quantization.scale, instances)?,
        Visibility::Private | Visibility::Hashed => Vec::new(),
    };
    match first_difference(output_data, &expected) {
        Some((at, found, expected)) => Err(Error::OutputDataMismatch {
            at,
            found,
            expected,
        }),
        None => Ok(()),
    }
}

/// Where `found` first differs from `expected`: (`output_data[i][j]` or `output_data[i]`, the
/// value found there, the value expected there).
fn first_difference(found: &[Vec<f64>], expected: &[Vec<f64>]) -> Option<(String, String, String)> {
    let array = |a: Option<&Vec<f64>>| {
        a.map_or_else(
            || "absent".to_string(),
            |v| format!("an array of {} values", v.len()),
        )
    };
    let value = |v: Option<&f64>| v.map_or_else(|| "absent".to_string(), |v| v.to_string());
    for i in 0..found.len().max(expected.len()) {
        let (Some(f), Some(e)) = (found.get(i), expected.get(i)) else {
            return Some((
                format!("output_data[{i}]"),
                array(found.get(i)),
                array(expected.get(i)),
            ));
        };
        for j in 0..f.len().max(e.len()) {
            if f.get(j) != e.get(j) {
                return Some((
                    format!("output_data[{i}][{j}]"),
                    value(f.get(j)),
                    value(e.get(j)),
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_difference_of_output_data_is_named() {
        let proven = vec![vec![0.5, -1.25], vec![2.0]];
        assert_eq!(first_difference(&proven, &proven), None);
        let mut edited = proven.clone();
        edited[0][1] = -1.0;
        assert_eq!(
            first_difference(&edited, &proven),
            Some(("output_data[0][1]".into(), "-1".into(), "-1.25".into()))
        );
        assert_eq!(
            first_difference(&proven[..1], &proven),
            Some((
                "output_data[1]".into(),
                "absent".into(),
                "an array of 1 values".into()
            ))
        );
        assert_eq!(
            first_difference(&[vec![0.5]], &proven[..1]),
            Some(("output_data[0][1]".into(), "absent".into(), "-1.25".into()))
        );
        // Private or hashed outputs: the file must hold none.
        assert_eq!(
            first_difference(&proven, &[]),
            Some((
                "output_data[0]".into(),
                "an array of 2 values".into(),
                "absent".into()
            ))
        );
    }
}
