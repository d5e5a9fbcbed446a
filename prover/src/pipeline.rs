//! The user-level steps: compile, setup, prove, verify — each reading and writing a build directory.

use std::path::{Path, PathBuf};

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;

use crate::artifacts::{
    Artifact, BuildDir, KeysInfo, ModelArtifact, NodeRange, ProofArtifact, Settings,
    ARTIFACT_VERSION,
};
use crate::circuit::{plan, prover_circuit, CircuitParams};
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
}

impl Default for CircuitOptions {
    fn default() -> Self {
        CircuitOptions {
            max_advice_columns: crate::circuit::MAX_ADVICE_COLUMNS,
            search_scales: false,
            privacy: Default::default(),
            param_salt: None,
            memory_limit: MemoryLimit::available(),
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
    std::fs::create_dir_all(dir.root()).map_err(|e| Error::io(dir.root(), e))?;
    // Keys of an earlier compile belong to another circuit: remove them.
    for stale in [dir.keys_info(), dir.pk(), dir.vk()] {
        if stale.exists() {
            std::fs::remove_file(&stale).map_err(|e| Error::io(&stale, e))?;
        }
    }
    ModelArtifact {
        version: ARTIFACT_VERSION,
        model: qmodel,
    }
    .write(&dir.model())?;
    settings.write(&dir.settings())?;
    Ok(settings)
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
    Ok((settings, qmodel))
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

/// Generates the SRS (or loads it) and the keys; writes `kzg.srs`, `pk.bin`, `vk.bin`, `keys.json`.
pub fn setup(dir: &BuildDir, choice: &SrsChoice) -> Result<KeysInfo> {
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
    let (srs, source) = match choice {
        SrsChoice::Dev => (dev_srs(k), SrsSource::DevInsecure),
        SrsChoice::File(path) => crate::srs::read_any(path, k)?,
    };
    let generated = keys::keygen(&srs, &model, &settings.circuit)?;
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
    dir.require_keys()?;
    let (settings, model) = load(dir)?;
    let info = KeysInfo::read(&dir.keys_info())?;
    if info.model_id != settings.model_id {
        return Err(Error::Circuit(
            "keys were generated for another model: run `zkinfer setup` again".into(),
        ));
    }
    let values = witness(&model, input)?;
    let salt = input.salt()?;
    let srs = read_srs(&dir.srs(), settings.circuit.k)?;
    tracing::info!("loading proving key");
    let pk = keys::read_pk(&dir.pk(), &settings.circuit)?;
    let (circuit, instances) =
        prover_circuit(&model, &settings.circuit, info.break_points, &values, salt);
    tracing::info!(
        k = settings.circuit.k,
        instances = instances.len(),
        "proving"
    );
    let proof = proving::prove(&srs, &pk, circuit, &instances)?;
    Ok(ProofArtifact {
        version: ARTIFACT_VERSION,
        model_id: settings.model_id.clone(),
        proof: format!("0x{}", hex::encode(&proof)),
        num_inputs: settings.num_public_inputs(),
        scale: model.config.scale.0,
        // Outputs that are private or hashed stay out of the artifact.
        output_data: match settings.privacy.outputs {
            Visibility::Public => decode_outputs(&settings, &model, &instances)?,
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

/// Computes the commitments that a proof of `input` would carry, without proving.
pub fn commitments(dir: &BuildDir, input: &InputData) -> Result<Commitments> {
    let (settings, model) = load(dir)?;
    let values = witness(&model, input)?;
    let (mut circuit, instances) =
        crate::circuit::mock_circuit_salted(&model, &settings.circuit, &values, input.salt()?);
    // Never proven: clear it so that it drops quietly.
    circuit.clear();
    let inputs = (settings.privacy.inputs == Visibility::Hashed).then(|| instances[0]);
    let outputs = (settings.privacy.outputs == Visibility::Hashed)
        .then(|| instances[settings.num_public_inputs()]);
    Ok(Commitments { inputs, outputs })
}

/// Dequantized outputs, one flat array per graph output.
fn decode_outputs(
    settings: &Settings,
    model: &QuantizedModel,
    instances: &[Fr],
) -> Result<Vec<Vec<f64>>> {
    let mut rest = &instances[settings.num_public_inputs()..];
    let mut outputs = Vec::new();
    for shape in &settings.output_shapes {
        let (head, tail) = rest.split_at(shape.iter().product());
        let values = head
            .iter()
            .map(|f| from_field(f).map(|q| model.config.scale.dequantize(q)))
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

/// Verifies a proof artifact off-chain. `Ok(false)` is a rejected proof; `Err` a broken setup.
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
    Ok(proving::verify(&srs, &vk, &proof, &instances))
}
