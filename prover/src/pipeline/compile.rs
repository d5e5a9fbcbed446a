//! `compile`: import, calibrate and quantize a model, plan its circuit, write the build.

use std::path::{Path, PathBuf};

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;

use crate::artifacts::{Artifact, BuildDir, ModelArtifact, NodeRange, Settings, ARTIFACT_VERSION};
use crate::circuit::{plan_as, LayoutChoice};
use crate::encoding::{FieldElement, ModelId};
use crate::fixed::Scale;
use crate::input::InputData;
use crate::quantize::{calibrate, quantize, QuantizationConfig, QuantizedModel};
use crate::resources::{MemoryLimit, ResourceEstimate};
use crate::{onnx, Error, Result};

use super::model_id;

/// How `compile` lays out the circuit.
#[derive(Clone, Copy, Debug)]
pub struct CircuitOptions {
    /// Advice columns allowed before `k` grows (see [`crate::circuit::MAX_ADVICE_COLUMNS`]).
    pub max_advice_columns: usize,
    /// The layout family the planner is held to ([`LayoutChoice::Auto`]: its own rule).
    pub layout: LayoutChoice,
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
            layout: LayoutChoice::Auto,
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
    let model = onnx::import_specialized(onnx_path, Some(calibration))?;
    let source = onnx_path.display().to_string();
    let (settings, qmodel) = compile_model(model, &source, calibration, config, options)?;
    write_build(dir, &settings, qmodel, options.force)?;
    Ok(settings)
}

/// Writes a compiled model (`settings.json`, `model.json`) into `dir`, which must hold nothing
/// of another build unless `force` (see [`compile_with`]).
pub fn write_build(
    dir: &BuildDir,
    settings: &Settings,
    model: QuantizedModel,
    force: bool,
) -> Result<()> {
    prepare_build_dir(dir, &settings.model_id, force)?;
    std::fs::create_dir_all(dir.root()).map_err(|e| Error::io(dir.root(), e))?;
    ModelArtifact {
        version: ARTIFACT_VERSION,
        model,
    }
    .write(&dir.model())?;
    settings.write(&dir.settings())
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
fn prepare_build_dir(dir: &BuildDir, model_id: &ModelId, force: bool) -> Result<()> {
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
        Some(Ok(id)) if *id == *model_id => {
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
    model: crate::model::Model,
    source: &str,
    calibration: &InputData,
    config: QuantizationConfig,
    options: CircuitOptions,
) -> Result<(Settings, QuantizedModel)> {
    let calibrated = calibrate_model(model, calibration, config, &options)?;
    let (model, samples) = (&calibrated.model, &calibrated.samples);
    let mut qmodel = calibrated.quantized(config, &options)?;
    // The quantization error on the calibration set; this also checks every sample fits the bounds.
    let mut error = crate::quantize::calibration_error(model, &qmodel, samples)?;
    if let Some(limit) = &options.memory_limit {
        // Before any layout: a model whose cells alone exceed the limit is not laid out.
        ResourceEstimate::lower_bound(&qmodel).check_bound(limit)?;
    }
    tracing::info!(nodes = qmodel.nodes.len(), "planning circuit");
    let mut circuit = plan_tables(&mut qmodel, &options)?;
    if options.search_scales {
        for (s, ws) in SCALE_CANDIDATES {
            let candidate_config = QuantizationConfig {
                scale: Scale(s),
                weight_scale: Scale(ws),
                ..config
            };
            let Ok(mut candidate) = calibrated.quantized(candidate_config, &options) else {
                continue;
            };
            let Ok(candidate_error) =
                crate::quantize::calibration_error(model, &candidate, samples)
            else {
                continue;
            };
            if candidate_error >= SEARCH_GAIN * error {
                continue;
            }
            // A finer scale that no longer fits the layout asked for is not a failure.
            let Ok(candidate_circuit) = plan_tables(&mut candidate, &options) else {
                continue;
            };
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
    let settings = settings_of(&qmodel, source, samples.len(), circuit, resources);
    warn_zero_ranges(&settings.nodes);
    Ok((settings, qmodel))
}

/// Plans `model` ([`plan_as`], held to `options.layout`), and where quantization mirrored a
/// function table (half the rows, about
/// [`MIRROR_CELLS`](crate::ops::lookup::MIRROR_CELLS) more cells an element), the model with
/// whole tables too: the mirrors stay only when they give a smaller domain (the table set it),
/// not where the gate cells set it and mirroring would only add cells.
fn plan_tables(
    model: &mut QuantizedModel,
    options: &CircuitOptions,
) -> Result<crate::circuit::CircuitParams> {
    let plan = |m: &QuantizedModel| plan_as(m, options.max_advice_columns, options.layout);
    let mut whole = model.clone();
    let mut mirrored = false;
    for l in whole.lookups_mut() {
        mirrored |= l.mirror.take().is_some();
    }
    let circuit = plan(model)?;
    if !mirrored {
        return Ok(circuit);
    }
    // Whole tables that do not fit (the layout asked for) leave the mirrors in place.
    let Ok(whole_circuit) = plan(&whole) else {
        return Ok(circuit);
    };
    if whole_circuit.k <= circuit.k {
        *model = whole;
        return Ok(whole_circuit);
    }
    tracing::info!(
        k = circuit.k,
        whole_tables_k = whole_circuit.k,
        "mirrored function tables"
    );
    Ok(circuit)
}

/// A model with its calibration: folded, its samples, every tensor's calibrated maximum, and
/// the parameter salt when parameters are hashed.
struct Calibrated {
    model: crate::model::Model,
    samples: Vec<Vec<Vec<f64>>>,
    maxima: Vec<f64>,
    param_salt: Option<String>,
}

/// Folds and calibrates an imported model.
fn calibrate_model(
    mut model: crate::model::Model,
    calibration: &InputData,
    config: QuantizationConfig,
    options: &CircuitOptions,
) -> Result<Calibrated> {
    check_scales(&config)?;
    let folded = crate::fold::fold_affine(&mut model);
    tracing::debug!(folded, "affine nodes folded into their producers");
    let samples = calibration
        .specialize(&model.specialized)?
        .samples(&model)?;
    let maxima = calibrate(&model, &samples)?;
    let param_salt =
        (options.privacy.params == crate::commitment::ParamVisibility::Hashed).then(|| {
            let salt = options.param_salt.unwrap_or_else(|| {
                <Fr as halo2_base::halo2_proofs::halo2curves::ff::Field>::random(rand::rngs::OsRng)
            });
            crate::fixed::field_to_hex(&salt)
        });
    Ok(Calibrated {
        model,
        samples,
        maxima,
        param_salt,
    })
}

impl Calibrated {
    /// The model quantized at `config`, with the options' privacy.
    fn quantized(
        &self,
        config: QuantizationConfig,
        options: &CircuitOptions,
    ) -> Result<QuantizedModel> {
        let mut qmodel = quantize(&self.model, &self.maxima, config)?;
        qmodel.privacy = options.privacy;
        qmodel.param_salt = self.param_salt.clone();
        Ok(qmodel)
    }
}

/// Calibrates and quantizes an imported model without laying out a circuit (a model split into
/// segments is planned segment by segment): the quantized model, checked on every calibration
/// sample, and the number of samples.
pub fn quantize_model(
    model: crate::model::Model,
    calibration: &InputData,
    config: QuantizationConfig,
    options: &CircuitOptions,
) -> Result<(QuantizedModel, usize)> {
    let calibrated = calibrate_model(model, calibration, config, options)?;
    let qmodel = calibrated.quantized(config, options)?;
    crate::quantize::calibration_error(&calibrated.model, &qmodel, &calibrated.samples)?;
    Ok((qmodel, calibrated.samples.len()))
}

/// The settings of a quantized model laid out as `circuit`.
pub fn settings_of(
    qmodel: &QuantizedModel,
    source: &str,
    calibration_samples: usize,
    circuit: crate::circuit::CircuitParams,
    resources: ResourceEstimate,
) -> Settings {
    let shapes = |tensors: &[usize]| {
        tensors
            .iter()
            .map(|t| qmodel.nodes[*t].shape.clone())
            .collect()
    };
    Settings {
        version: ARTIFACT_VERSION,
        model_id: model_id(qmodel, &circuit),
        source: source.to_string(),
        quantization: qmodel.config,
        input_shapes: shapes(&qmodel.inputs),
        output_shapes: shapes(&qmodel.outputs),
        calibration_samples,
        privacy: qmodel.privacy,
        param_commitment: qmodel.param_salt.as_deref().map(|salt| {
            let salt = crate::fixed::field_from_hex(salt).expect("written above");
            FieldElement(crate::commitment::param_commitment(qmodel, salt))
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
        specialized_inputs: qmodel.specialized.clone(),
        circuit,
        resources: Some(resources),
    }
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
