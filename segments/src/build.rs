//! A segmented build: `segments.json` and the whole quantized model (`model.json`) at the top,
//! and one ordinary build directory per segment (`segment-0/`, `segment-1/`, ...), each with
//! its own settings, keys and proofs. Setup, proving and verification go segment by segment;
//! verification also checks that the boundary commitments chain.

use std::path::{Path, PathBuf};

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use serde::{Deserialize, Serialize};
use zkinfer_prover::artifacts::{
    Artifact, BuildDir, ModelArtifact, ProofArtifact, ARTIFACT_VERSION,
};
use zkinfer_prover::circuit::Bindings;
use zkinfer_prover::encoding::ModelId;
use zkinfer_prover::input::InputData;
use zkinfer_prover::model::{SpecializedInput, TensorId};
use zkinfer_prover::pipeline::{
    self, quantize_model, settings_of, write_build, CircuitOptions, ProofSystem, SrsChoice,
};
use zkinfer_prover::privacy::{Privacy, Visibility};
use zkinfer_prover::quantize::{QuantizationConfig, QuantizedModel};

use crate::plan::{plan_segments, Goal, SegmentSummary};
use crate::{Error, Result};

/// `segments.json`: the segment plan of a segmented build.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SegmentedSettings {
    /// Artifact version.
    pub version: u32,
    /// The build's id: SHA-256 of its segments' model ids, in order, and the whole model.
    pub model_id: ModelId,
    /// The ONNX file compiled.
    pub source: String,
    /// Scales and margin.
    pub quantization: QuantizationConfig,
    /// Shapes of the graph inputs.
    pub input_shapes: Vec<Vec<usize>>,
    /// Shapes of the graph outputs.
    pub output_shapes: Vec<Vec<usize>>,
    /// Who sees the model's inputs, outputs and parameters (segment boundaries are committed).
    pub privacy: Privacy,
    /// Graph inputs fixed at compile.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub specialized_inputs: Vec<SpecializedInput>,
    /// The segments, in order.
    pub segments: Vec<SegmentEntry>,
}

impl Artifact for SegmentedSettings {
    fn version(&self) -> u32 {
        self.version
    }
}

/// One segment of a segmented build.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SegmentEntry {
    /// Its build directory, relative to the segmented build's.
    pub dir: String,
    /// Its model id (of the segment model and circuit).
    pub model_id: ModelId,
    /// The whole model's tensors entering it (for a later segment: its inputs, in order).
    pub inputs: Vec<TensorId>,
    /// The whole model's tensors leaving it.
    pub outputs: Vec<TensorId>,
    /// What `compile` reports of it.
    pub plan: SegmentSummary,
}

impl SegmentEntry {
    /// This segment's tensor values taken from the whole model's.
    pub fn values(&self, whole: &[Vec<i128>]) -> Vec<Vec<i128>> {
        let [start, end] = self.plan.nodes;
        crate::split::segment_values(&(start..end), &self.inputs, whole)
    }
}

/// A proof of a segmented build: one proof per segment, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentedProof {
    /// Artifact version.
    pub version: u32,
    /// The segmented build's id.
    pub model_id: ModelId,
    /// The segment proofs, in order.
    pub segments: Vec<ProofArtifact>,
    /// Dequantized outputs (public outputs only), one flat array per graph output.
    pub output_data: Vec<Vec<f64>>,
}

impl Artifact for SegmentedProof {
    fn version(&self) -> u32 {
        self.version
    }
}

/// The files of a segmented build.
#[derive(Clone, Debug)]
pub struct SegmentedDir {
    root: PathBuf,
}

impl SegmentedDir {
    /// A segmented build at `root` (not created).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        SegmentedDir { root: root.into() }
    }

    /// The folder itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `segments.json`.
    pub fn settings(&self) -> PathBuf {
        self.root.join("segments.json")
    }

    /// `model.json`: the whole quantized model (the witness comes from its forward pass).
    pub fn model(&self) -> PathBuf {
        self.root.join("model.json")
    }

    /// Whether `root` holds a segmented build.
    pub fn is_segmented(root: &Path) -> bool {
        root.join("segments.json").exists()
    }

    /// The build directory of a segment.
    pub fn segment(&self, entry: &SegmentEntry) -> BuildDir {
        BuildDir::new(self.root.join(&entry.dir))
    }

    /// Reads the plan and the whole model, checking that they belong together.
    pub fn load(&self) -> Result<(SegmentedSettings, QuantizedModel)> {
        if !self.settings().exists() {
            return Err(Error::NotSegmented(self.root.clone()));
        }
        let settings = SegmentedSettings::read(&self.settings())?;
        let model = ModelArtifact::read(&self.model())?.model;
        if settings.segments.is_empty() {
            return Err(Error::Build(format!(
                "{}: no segments",
                self.settings().display()
            )));
        }
        check_plan(&settings, model.nodes.len(), &self.settings())?;
        let ids: Vec<ModelId> = settings.segments.iter().map(|s| s.model_id).collect();
        // Scale and privacy are read from segments.json (by deploy, for one): they must be the
        // hashed model's.
        if build_id(&ids, &model) != settings.model_id
            || settings.quantization != model.config
            || settings.privacy != model.privacy
        {
            return Err(Error::Build(format!(
                "{}: its segments' ids and model.json do not hash to its model id, or its scale or \
                 privacy are not model.json's (edited?)",
                self.settings().display()
            )));
        }
        Ok((settings, model))
    }
}

/// Refuses a plan whose node ranges do not cover the model's `nodes` in order, or whose
/// carried inputs do not come before their segment (an edited `segments.json`: its ranges are
/// not part of the build id), before anything indexes the model's values with them.
fn check_plan(settings: &SegmentedSettings, nodes: usize, path: &Path) -> Result<()> {
    let mut next = 0;
    for entry in &settings.segments {
        let [start, end] = entry.plan.nodes;
        // The first segment's inputs are the graph's own (not carried in).
        let carried_ok = start == 0 || entry.inputs.iter().all(|t| *t < start);
        if start != next || end <= start || !carried_ok {
            return Err(Error::Build(format!(
                "{}: its segments' node ranges or inputs are inconsistent (edited?): compile again",
                path.display()
            )));
        }
        next = end;
    }
    if next != nodes {
        return Err(Error::Build(format!(
            "{}: its segments cover {next} of the model's {nodes} nodes (edited?): compile again",
            path.display()
        )));
    }
    Ok(())
}

/// The id of a segmented build: SHA-256 of its segments' ids and the whole quantized model.
fn build_id(ids: &[ModelId], model: &QuantizedModel) -> ModelId {
    let mut bytes: Vec<u8> = ids.iter().flat_map(|id| id.as_bytes().to_vec()).collect();
    bytes.extend(serde_json::to_vec(model).expect("a model serializes"));
    ModelId(sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(&bytes)).into())
}

/// Compiles `model` (imported) as segments for `goal`, writing a segmented build into `dir`.
pub fn compile_segmented(
    model: zkinfer_prover::model::Model,
    source: &str,
    calibration: &InputData,
    config: QuantizationConfig,
    options: CircuitOptions,
    goal: Goal,
    dir: &SegmentedDir,
) -> Result<SegmentedSettings> {
    // The whole model quantized; no single circuit is laid out (it may not fit).
    let (qmodel, samples) = quantize_model(model, calibration, config, &options)?;
    let planned = plan_segments(
        &qmodel,
        goal,
        options.max_advice_columns,
        options.memory_limit.as_ref(),
    )?;
    prepare_root(dir, options.force)?;
    let mut segments = Vec::with_capacity(planned.len());
    for (i, p) in planned.into_iter().enumerate() {
        let summary = p.summary(&qmodel);
        let seg_settings = settings_of(
            &p.segment.model,
            &format!("{source} (segment {i})"),
            samples,
            p.circuit,
            p.resources,
        );
        let entry = SegmentEntry {
            dir: format!("segment-{i}"),
            model_id: seg_settings.model_id,
            inputs: p.segment.inputs.clone(),
            outputs: p.segment.outputs.clone(),
            plan: summary,
        };
        write_build(
            &dir.segment(&entry),
            &seg_settings,
            p.segment.model,
            options.force,
        )?;
        segments.push(entry);
    }
    let ids: Vec<ModelId> = segments.iter().map(|s| s.model_id).collect();
    let settings = SegmentedSettings {
        version: ARTIFACT_VERSION,
        model_id: build_id(&ids, &qmodel),
        source: source.to_string(),
        quantization: qmodel.config,
        input_shapes: shapes(&qmodel, &qmodel.inputs),
        output_shapes: shapes(&qmodel, &qmodel.outputs),
        privacy: qmodel.privacy,
        specialized_inputs: qmodel.specialized.clone(),
        segments,
    };
    ModelArtifact {
        version: ARTIFACT_VERSION,
        model: qmodel,
    }
    .write(&dir.model())?;
    settings.write(&dir.settings())?;
    Ok(settings)
}

/// Refuses a folder holding another build, unless `force`: then its files and segment folders
/// are removed first (a segmented build is always rewritten whole).
fn prepare_root(dir: &SegmentedDir, force: bool) -> Result<()> {
    let single = BuildDir::new(&dir.root).zkinfer_files()?;
    let segmented = dir.settings().exists();
    if !single.is_empty() || segmented {
        if !force {
            return Err(Error::Build(format!(
                "{} holds another build ({}); compile into an empty folder, or pass --force to \
                 replace it",
                dir.root.display(),
                if segmented {
                    "segmented"
                } else {
                    "a single circuit"
                }
            )));
        }
        for path in single
            .iter()
            .chain([dir.settings()].iter().filter(|p| p.exists()))
        {
            std::fs::remove_file(path).map_err(|e| Error::Io(path.clone(), e))?;
        }
        if let Ok(entries) = std::fs::read_dir(&dir.root) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if (name.starts_with("segment-") || name == "aggregation") && e.path().is_dir() {
                    std::fs::remove_dir_all(e.path()).map_err(|err| Error::Io(e.path(), err))?;
                }
            }
        }
        tracing::warn!("--force: replaced the build in {}", dir.root.display());
    }
    std::fs::create_dir_all(&dir.root).map_err(|e| Error::Io(dir.root.clone(), e))
}

/// The shapes of `tensors`.
fn shapes(model: &QuantizedModel, tensors: &[TensorId]) -> Vec<Vec<usize>> {
    tensors
        .iter()
        .map(|t| model.nodes[*t].shape.clone())
        .collect()
}

/// Generates every segment's keys (see [`pipeline::setup`]); `done(i, n)` after each.
pub fn setup(
    dir: &SegmentedDir,
    choice: &SrsChoice,
    done: &mut dyn FnMut(usize, usize),
) -> Result<()> {
    let (settings, _) = dir.load()?;
    let n = settings.segments.len();
    for (i, entry) in settings.segments.iter().enumerate() {
        tracing::info!(segment = i, of = n, k = entry.plan.k, "segment setup");
        pipeline::setup(&dir.segment(entry), choice)?;
        done(i + 1, n);
    }
    Ok(())
}

/// Proves every segment for `input` (keccak transcript, verified off-chain one by one): the
/// witness of the whole model first, then the segment proofs, `jobs` at a time (each holds its
/// proving key). `done(i, n)` after each proof.
pub fn prove(
    dir: &SegmentedDir,
    input: &InputData,
    jobs: usize,
    done: &(dyn Fn(usize, usize) + Sync),
) -> Result<SegmentedProof> {
    let (settings, model) = dir.load()?;
    let segments = prove_segments(
        dir,
        (&settings, &model),
        input,
        (jobs, done),
        &|srs, pk, c, i| zkinfer_prover::proving::prove(srs, pk, c, i),
    )?;
    let output_data = segments
        .last()
        .map(|p| p.output_data.clone())
        .unwrap_or_default();
    Ok(SegmentedProof {
        version: ARTIFACT_VERSION,
        model_id: settings.model_id,
        segments,
        output_data,
    })
}

/// The whole model's witness for `input` (refused without a salt when values are hashed) and the
/// bindings every segment of one proof shares: the input's salt and subject, and a fresh random
/// chain salt, so that boundary commitments reveal nothing about the activations.
pub(crate) fn witness_and_bindings(
    settings: &SegmentedSettings,
    model: &QuantizedModel,
    input: &InputData,
) -> Result<(Vec<Vec<i128>>, Bindings)> {
    pipeline::require_salt_for(&settings.privacy, input)?;
    let whole = pipeline::witness(model, input)?;
    let bindings = Bindings {
        salt: input.salt()?,
        subject: input.subject()?,
        chain_salt: <Fr as halo2_base::halo2_proofs::halo2curves::ff::Field>::random(
            rand::rngs::OsRng,
        ),
    };
    Ok((whole, bindings))
}

/// Proves every segment of the loaded build `(settings, model)` for `input` with `system`,
/// `jobs` at a time (`done(i, n)` after each): one forward pass of the whole model gives every
/// segment's witness, one fresh chain salt binds the boundaries.
pub(crate) fn prove_segments(
    dir: &SegmentedDir,
    (settings, model): (&SegmentedSettings, &QuantizedModel),
    input: &InputData,
    (jobs, done): (usize, &(dyn Fn(usize, usize) + Sync)),
    system: ProofSystem<'_>,
) -> Result<Vec<ProofArtifact>> {
    let (whole, bindings) = witness_and_bindings(settings, model, input)?;
    let n = settings.segments.len();
    // Parallel provers share the memory available now: a segment starts only when its
    // estimated proving memory fits beside those in flight (one always runs).
    let budget = MemoryBudget::new(
        zkinfer_prover::resources::MemoryLimit::available().map_or(u64::MAX, |m| m.bytes),
    );
    let next = std::sync::atomic::AtomicUsize::new(0);
    let finished = std::sync::atomic::AtomicUsize::new(0);
    let proofs: Vec<std::sync::Mutex<Option<Result<ProofArtifact>>>> =
        (0..n).map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, n) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(entry) = settings.segments.get(i) else {
                    break;
                };
                let bytes = entry.plan.memory_mib << 20;
                budget.acquire(bytes, i);
                tracing::info!(segment = i, of = n, k = entry.plan.k, "proving segment");
                let result = pipeline::prove_witness_with(
                    &dir.segment(entry),
                    &entry.values(&whole),
                    bindings,
                    system,
                )
                .map_err(Error::from);
                budget.release(bytes);
                let failed = result.is_err();
                *proofs[i].lock().expect("no panics hold it") = Some(result);
                done(
                    finished.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1,
                    n,
                );
                if failed {
                    // The others cannot make a whole proof: stop taking segments.
                    next.store(n, std::sync::atomic::Ordering::SeqCst);
                }
            });
        }
    });
    proofs
        .into_iter()
        .map(|p| {
            p.into_inner()
                .expect("no panics hold it")
                .unwrap_or_else(|| Err(Error::Build("a segment before it failed".into())))
        })
        .collect::<Result<Vec<_>>>()
}

/// Memory shared by parallel segment provers.
struct MemoryBudget {
    limit: u64,
    used: std::sync::Mutex<u64>,
    freed: std::sync::Condvar,
}

impl MemoryBudget {
    fn new(limit: u64) -> Self {
        MemoryBudget {
            limit,
            used: std::sync::Mutex::new(0),
            freed: std::sync::Condvar::new(),
        }
    }

    /// Waits until `bytes` fit beside the provers in flight (at once when none is).
    fn acquire(&self, bytes: u64, segment: usize) {
        let mut used = self.used.lock().expect("no panics hold it");
        if *used > 0 && used.saturating_add(bytes) > self.limit {
            tracing::info!(segment, "waiting for memory: another segment is proving");
        }
        while *used > 0 && used.saturating_add(bytes) > self.limit {
            used = self.freed.wait(used).expect("no panics hold it");
        }
        *used = used.saturating_add(bytes);
    }

    fn release(&self, bytes: u64) {
        let mut used = self.used.lock().expect("no panics hold it");
        *used = used.saturating_sub(bytes);
        self.freed.notify_all();
    }
}

/// Why a segmented proof was rejected, or `None` for an accepted one. Each segment proof must
/// verify with its own segment's key, each boundary commitment must equal the next segment's
/// input commitment, every segment must name the same subject, and the outputs must be the
/// last segment's.
pub fn verify(dir: &SegmentedDir, proof: &SegmentedProof) -> Result<Option<String>> {
    let (settings, _) = dir.load()?;
    if proof.model_id != settings.model_id {
        return Ok(Some(format!(
            "the proof is for model {}, this build is {}",
            proof.model_id, settings.model_id
        )));
    }
    if proof.segments.len() != settings.segments.len() {
        return Ok(Some(format!(
            "{} segment proofs for a build of {} segments",
            proof.segments.len(),
            settings.segments.len()
        )));
    }
    let n = settings.segments.len();
    for (i, pair) in settings.segments.windows(2).enumerate() {
        if pair[0].outputs != pair[1].inputs {
            return Err(Error::Build(format!(
                "segments.json: segment {i}'s outputs are not segment {}'s inputs",
                i + 1
            )));
        }
    }
    let mut previous_out: Option<Fr> = None;
    let mut subject: Option<Fr> = None;
    for (i, (entry, p)) in settings.segments.iter().zip(&proof.segments).enumerate() {
        let seg_dir = dir.segment(entry);
        // Each segment's build must commit where the plan says: boundaries chained, the model's
        // own inputs and outputs as the build declares them.
        let seg_settings = zkinfer_prover::artifacts::Settings::read(&seg_dir.settings())?;
        let (want_in, want_out) = (
            if i == 0 {
                settings.privacy.inputs
            } else {
                Visibility::Chained
            },
            if i + 1 == n {
                settings.privacy.outputs
            } else {
                Visibility::Chained
            },
        );
        if seg_settings.privacy.inputs != want_in || seg_settings.privacy.outputs != want_out {
            return Err(Error::Build(format!(
                "{}: its visibility is not its position's in the plan (edited?)",
                seg_dir.settings().display()
            )));
        }
        if p.model_id != entry.model_id || !pipeline::verify_segment(&seg_dir, p)? {
            return Ok(Some(format!(
                "segment {i}'s proof does not verify with segment {i}'s key"
            )));
        }
        let instances: Vec<Fr> = p.instances.iter().map(|f| f.0).collect();
        if let Some(out) = previous_out {
            if instances[0] != out {
                return Ok(Some(format!(
                    "segment {i}'s input commitment is not segment {}'s output commitment",
                    i - 1
                )));
            }
        }
        previous_out = (seg_settings.privacy.outputs == Visibility::Chained)
            .then(|| instances[seg_settings.num_public_inputs()]);
        let last = *instances.last().expect("a proof has its subject");
        if subject.is_some_and(|s| s != last) {
            return Ok(Some(format!("segment {i} names another subject")));
        }
        subject = Some(last);
    }
    if previous_out.is_some() {
        return Ok(Some("the last segment's outputs are a boundary".into()));
    }
    let last = proof.segments.last().expect("at least one segment");
    if proof.output_data != last.output_data {
        return Ok(Some(
            "the proof file's output_data are not the last segment's proven outputs".into(),
        ));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::MemoryBudget;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn a_memory_budget_holds_back_a_prover_that_does_not_fit_until_memory_is_freed() {
        let budget = MemoryBudget::new(10);
        budget.acquire(8, 0);
        let started = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                budget.acquire(8, 1);
                started.store(true, Ordering::SeqCst);
                budget.release(8);
            });
            std::thread::sleep(std::time::Duration::from_millis(200));
            assert!(
                !started.load(Ordering::SeqCst),
                "8 + 8 bytes ran within a budget of 10"
            );
            budget.release(8);
        });
        assert!(started.load(Ordering::SeqCst));
        assert_eq!(*budget.used.lock().unwrap(), 0);
        // Alone, a prover larger than the budget still runs; two that fit run together.
        budget.acquire(100, 2);
        budget.release(100);
        budget.acquire(4, 3);
        budget.acquire(4, 4);
        assert_eq!(*budget.used.lock().unwrap(), 8);
    }
}
