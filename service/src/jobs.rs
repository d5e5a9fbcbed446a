//! What the jobs do, on blocking threads, and where their files live under the data directory:
//!
//! ```text
//! DATA/jobs.sqlite
//! DATA/builds/ID/{model.onnx, calibration.json, options.json}   the upload
//! DATA/builds/ID/build/                                          the build (as `zkinfer compile` + `setup` make it)
//! DATA/proofs/ID/{input.json, proof.json}                        the request and its proof file
//! DATA/proofs/ID/{chain_seed, segments/I.json}                   on a segmented build: the boundary
//!                                                                salt's seed, the segment proofs
//! ```
//!
//! Ids are 32 lowercase hex digits, checked before any path is made from them.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::json;
use zkinfer_prover::artifacts::{Artifact, BuildDir, ProofArtifact, Settings};
use zkinfer_prover::input::InputData;
use zkinfer_prover::pipeline::{self, CircuitOptions, SrsChoice};
use zkinfer_prover::privacy::{ParamVisibility, Privacy, Visibility};
use zkinfer_prover::quantize::QuantizationConfig;

use zkinfer_segments::{Goal, SegmentedDir, SegmentedSettings};

use crate::store::JobKind;
use crate::{Error, Result};

/// A fresh random id.
pub fn new_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// Whether `id` has the shape of an id (so a path made from it stays in the data directory).
pub fn is_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The files of the data directory.
#[derive(Clone, Debug)]
pub struct Paths {
    root: PathBuf,
}

impl Paths {
    /// The layout under `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Paths {
            root: data_dir.to_path_buf(),
        }
    }

    /// `builds/ID/`: the upload and the build.
    pub fn build_root(&self, id: &str) -> PathBuf {
        debug_assert!(is_id(id));
        self.root.join("builds").join(id)
    }

    /// `builds/ID/build/`.
    pub fn build_dir(&self, id: &str) -> BuildDir {
        BuildDir::new(self.build_root(id).join("build"))
    }

    /// `builds/ID/model.onnx`.
    pub fn model(&self, id: &str) -> PathBuf {
        self.build_root(id).join("model.onnx")
    }

    /// `builds/ID/calibration.json`.
    pub fn calibration(&self, id: &str) -> PathBuf {
        self.build_root(id).join("calibration.json")
    }

    /// `builds/ID/options.json`.
    pub fn options(&self, id: &str) -> PathBuf {
        self.build_root(id).join("options.json")
    }

    /// `proofs/ID/`.
    pub fn proof_root(&self, id: &str) -> PathBuf {
        debug_assert!(is_id(id));
        self.root.join("proofs").join(id)
    }

    /// `proofs/ID/input.json`.
    pub fn input(&self, id: &str) -> PathBuf {
        self.proof_root(id).join("input.json")
    }

    /// `proofs/ID/proof.json`: the proof file, as `zkinfer prove` writes it.
    pub fn proof(&self, id: &str) -> PathBuf {
        self.proof_root(id).join("proof.json")
    }

    /// `proofs/ID/chain_seed`: on a segmented build, the seed of the salt every segment of
    /// the proof shares for its boundary commitments (secret: it would reveal activations).
    pub fn chain_seed(&self, id: &str) -> PathBuf {
        self.proof_root(id).join("chain_seed")
    }

    /// `proofs/ID/segments/I.json`: segment `index`'s proof, for the aggregation.
    pub fn segment_proof(&self, id: &str, index: u32) -> PathBuf {
        self.proof_root(id)
            .join("segments")
            .join(format!("{index}.json"))
    }

    /// Whether the build `id` is segmented.
    pub fn is_segmented(&self, id: &str) -> bool {
        SegmentedDir::is_segmented(self.build_dir(id).root())
    }

    fn segmented(&self, id: &str) -> SegmentedDir {
        SegmentedDir::new(self.build_dir(id).root())
    }
}

/// The most segments a build of the service may have (each is a job per proof).
pub const MAX_SEGMENTS: usize = 64;

/// What a worker needs to know of a job to run it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Work {
    /// The job's id.
    pub id: String,
    /// Build, proof or segment.
    pub kind: JobKind,
    /// A proof's or segment's build.
    pub build: Option<String>,
    /// A segment's proof job.
    pub parent: Option<String>,
    /// A segment's index.
    pub segment: Option<u32>,
}

/// The compile options a build request may set (form fields of `POST /v1/builds`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildOptions {
    /// `input_visibility`: public (default), private or hashed.
    #[serde(default)]
    pub input_visibility: Visibility,
    /// `output_visibility`: public (default), private or hashed.
    #[serde(default)]
    pub output_visibility: Visibility,
    /// `segments`: split the model into this many segments, proven in parallel and aggregated.
    #[serde(default)]
    pub segments: Option<usize>,
    /// `max_k`: split the model into as few segments as fit circuits of 2^max_k rows.
    #[serde(default)]
    pub max_k: Option<u32>,
    /// `aggregation_k`: the aggregation circuits' k of a segmented build (default 21): a tree's
    /// inner nodes', and a flat aggregation's when it lays out there in at most 4 advice columns.
    #[serde(default)]
    pub aggregation_k: Option<u32>,
    /// `aggregation_root_k`: the k of the proof the chain verifies, a tree's root or a wide flat
    /// aggregation (default `aggregation_k + 1`, as `setup` makes it).
    #[serde(default)]
    pub aggregation_root_k: Option<u32>,
}

impl BuildOptions {
    /// Sets the option `name` from a form field.
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        let visibility = || match value {
            "public" => Ok(Visibility::Public),
            "private" => Ok(Visibility::Private),
            "hashed" => Ok(Visibility::Hashed),
            other => Err(Error::BadRequest(format!(
                "{name} {other:?}: expected public, private or hashed"
            ))),
        };
        let number = |lo: u32, hi: u32| match value.parse::<u32>() {
            Ok(n) if (lo..=hi).contains(&n) => Ok(n),
            _ => Err(Error::BadRequest(format!(
                "{name} {value:?}: expected a whole number from {lo} to {hi}"
            ))),
        };
        match name {
            "input_visibility" => self.input_visibility = visibility()?,
            "output_visibility" => self.output_visibility = visibility()?,
            "segments" => self.segments = Some(number(1, MAX_SEGMENTS as u32)? as usize),
            "max_k" => self.max_k = Some(number(10, 26)?),
            "aggregation_k" => self.aggregation_k = Some(number(18, 26)?),
            "aggregation_root_k" => self.aggregation_root_k = Some(number(18, 26)?),
            other => {
                return Err(Error::BadRequest(format!(
                    "unknown field {other:?} (expected model, calibration, input_visibility, \
                     output_visibility, segments, max_k, aggregation_k, aggregation_root_k)"
                )))
            }
        }
        if self.segments.is_some() && self.max_k.is_some() {
            return Err(Error::BadRequest("give segments or max_k, not both".into()));
        }
        Ok(())
    }

    /// Checks the options together (once every field is read).
    pub fn check(&self) -> Result<()> {
        let aggregation = self.aggregation_k.is_some() || self.aggregation_root_k.is_some();
        if aggregation && self.segments.is_none() && self.max_k.is_none() {
            return Err(Error::BadRequest(
                "aggregation_k and aggregation_root_k apply to a segmented build: give segments \
                 or max_k too"
                    .into(),
            ));
        }
        let k = self.degrees();
        if k.root < k.k {
            return Err(Error::BadRequest(format!(
                "aggregation_root_k {} below aggregation_k {}: the root (the proof the chain \
                 verifies) takes at least aggregation_k's rows",
                k.root, k.k
            )));
        }
        Ok(())
    }

    /// The aggregation circuits' k: as given, else 21 and the root one above; a root k given
    /// alone below 21 takes the nodes down with it ([`AggregationDegrees::choose`], as `setup`).
    ///
    /// [`AggregationDegrees::choose`]: zkinfer_segments::AggregationDegrees::choose
    pub fn degrees(&self) -> zkinfer_segments::AggregationDegrees {
        zkinfer_segments::AggregationDegrees::choose(
            None,
            self.aggregation_k,
            self.aggregation_root_k,
        )
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::Io(path.to_path_buf(), e)
}

/// Writes `bytes` to `path` by way of a temporary file and a rename: a reader (or a restart)
/// sees the whole file or none.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with_mode(path, bytes, 0o644)
}

/// [`write_atomic`] for a secret: readable by its owner only, from its creation.
pub fn write_atomic_private(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with_mode(path, bytes, 0o600)
}

fn write_with_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    // A name of its own: two writers never share a temporary file.
    let tmp = path.with_extension(format!("tmp-{}", new_id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    options
        .open(&tmp)
        .and_then(|mut f| std::io::Write::write_all(&mut f, bytes))
        .map_err(io(&tmp))?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))?;
    // The rename itself is durable once its folder is synced.
    if let Some(folder) = path.parent() {
        std::fs::File::open(folder)
            .and_then(|f| f.sync_all())
            .map_err(io(folder))?;
    }
    Ok(())
}

/// Stores a build request's files (before its job is queued).
pub fn store_build_request(
    paths: &Paths,
    id: &str,
    model: &[u8],
    calibration: &InputData,
    options: &BuildOptions,
) -> Result<()> {
    let root = paths.build_root(id);
    std::fs::create_dir_all(&root).map_err(io(&root))?;
    write_atomic(&paths.model(id), model)?;
    write_atomic(
        &paths.calibration(id),
        serde_json::to_string(calibration)?.as_bytes(),
    )?;
    write_atomic(
        &paths.options(id),
        serde_json::to_string(options)?.as_bytes(),
    )
}

/// Stores a proof request's input (before its job is queued).
pub fn store_proof_request(paths: &Paths, id: &str, input: &InputData) -> Result<()> {
    let root = paths.proof_root(id);
    std::fs::create_dir_all(&root).map_err(io(&root))?;
    write_atomic(&paths.input(id), serde_json::to_string(input)?.as_bytes())
}

/// Refuses an input the build cannot prove (wrong count or length of tensors, a bad salt or
/// subject, a missing salt for hashed values), with the prover's message, before it is queued.
pub fn check_input(paths: &Paths, build_id: &str, input: &InputData) -> Result<()> {
    input.subject()?;
    let (privacy, model) = if paths.is_segmented(build_id) {
        let (settings, model) = paths.segmented(build_id).load()?;
        (settings.privacy, model)
    } else {
        let (settings, model) = pipeline::load(&paths.build_dir(build_id))?;
        (settings.privacy, model)
    };
    pipeline::require_salt_for(&privacy, input)?;
    pipeline::witness(&model, input)?;
    Ok(())
}

/// The build job: compile the upload (calibrating on its calibration data) and make its keys
/// with `srs`. Returns the build's summary: model id, settings, cost.
pub fn run_build(paths: &Paths, id: &str, srs: &SrsChoice) -> Result<serde_json::Value> {
    let options: BuildOptions =
        serde_json::from_slice(&std::fs::read(paths.options(id)).map_err(io(&paths.options(id)))?)?;
    let calibration = InputData::read(&paths.calibration(id))?;
    let dir = paths.build_dir(id);
    let circuit = CircuitOptions {
        privacy: Privacy {
            inputs: options.input_visibility,
            outputs: options.output_visibility,
            params: ParamVisibility::Fixed,
        },
        // A retried build replaces what a cut-short run left.
        force: true,
        ..CircuitOptions::default()
    };
    if options.segments.is_some() || options.max_k.is_some() {
        return run_segmented_build(paths, id, srs, &options, &calibration, circuit);
    }
    let start = Instant::now();
    let settings = pipeline::compile_with(
        &paths.model(id),
        &calibration,
        QuantizationConfig::default(),
        circuit,
        &dir,
    )?;
    let compile_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let keys = pipeline::setup(&dir, srs)?;
    let setup_seconds = start.elapsed().as_secs_f64();
    Ok(json!({
        "model_id": settings.model_id,
        "settings": settings_summary(&settings),
        "cost": {
            "compile_seconds": compile_seconds,
            "setup_seconds": setup_seconds,
            "estimated_proving_bytes": settings.resources.map(|r| r.proving_bytes),
        },
        "dev_srs": keys.srs == zkinfer_prover::srs::SrsSource::DevInsecure,
    }))
}

/// [`run_build`] into segments: compile, every segment's keys, the aggregation keys.
fn run_segmented_build(
    paths: &Paths,
    id: &str,
    srs: &SrsChoice,
    options: &BuildOptions,
    calibration: &InputData,
    circuit: CircuitOptions,
) -> Result<serde_json::Value> {
    let goal = match (options.segments, options.max_k) {
        (Some(n), _) => Goal::Segments(n),
        (None, Some(max_k)) => Goal::Fit {
            max_k: max_k as usize,
        },
        (None, None) => return Err(Error::BadRequest("no segments or max_k".into())),
    };
    let dir = paths.segmented(id);
    let start = Instant::now();
    let model = zkinfer_prover::onnx::import_specialized(&paths.model(id), Some(calibration))?;
    let settings = zkinfer_segments::compile_segmented(
        model,
        "upload",
        calibration,
        QuantizationConfig::default(),
        circuit,
        goal,
        &dir,
    )?;
    if settings.segments.len() > MAX_SEGMENTS {
        return Err(Error::Segments(format!(
            "max_k {:?} splits the model into {} segments; the service proves at most \
             {MAX_SEGMENTS} (raise max_k)",
            options.max_k,
            settings.segments.len()
        )));
    }
    let compile_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    zkinfer_segments::setup(
        &dir,
        srs,
        &mut |i, n| tracing::info!(build = %id, "setup: segment {i} of {n} done"),
    )?;
    let info = zkinfer_segments::setup_aggregation(
        &dir,
        srs,
        options.degrees(),
        zkinfer_segments::Arity::Auto,
    )?;
    let setup_seconds = start.elapsed().as_secs_f64();
    Ok(json!({
        "model_id": settings.model_id,
        "segments": settings.segments.iter().map(|s| &s.plan).collect::<Vec<_>>(),
        "aggregation": {
            "k": info.config.degree,
            "node_k": info.node_k(),
            "advice_columns": info.config.num_advice,
        },
        "privacy": settings.privacy,
        "cost": {
            "compile_seconds": compile_seconds,
            "setup_seconds": setup_seconds,
            "estimated_proving_bytes": settings.segments.iter().map(|s| s.plan.memory_mib << 20).max(),
        },
        "dev_srs": info.srs == zkinfer_prover::srs::SrsSource::DevInsecure,
    }))
}

/// What `GET /v1/builds/ID` shows of a build's settings.
fn settings_summary(s: &Settings) -> serde_json::Value {
    json!({
        "k": s.circuit.k,
        "advice_columns": s.circuit.base.num_advice_per_phase.first(),
        "layout": s.circuit.layout().name(),
        "advice_cells": s.circuit.advice_cells,
        "instances": s.circuit.num_instances,
        "input_shapes": s.input_shapes,
        "output_shapes": s.output_shapes,
        "privacy": s.privacy,
        "scale": s.quantization.scale.0,
    })
}

/// The estimated proving memory of a job on a ready build, from its settings (0 when not
/// estimated): a proof's, or a segment's on a segmented build.
pub fn proving_bytes(paths: &Paths, work: &Work) -> u64 {
    let Some(build) = work.build.as_deref() else {
        return 0;
    };
    match (work.kind, work.segment) {
        (JobKind::Segment, Some(i)) => SegmentedSettings::read(&paths.segmented(build).settings())
            .ok()
            .and_then(|s| s.segments.get(i as usize).map(|e| e.plan.memory_mib << 20))
            .unwrap_or(0),
        (JobKind::Proof, _) => Settings::read(&paths.build_dir(build).settings())
            .ok()
            .and_then(|s| s.resources)
            .map_or(0, |r| r.proving_bytes),
        _ => 0,
    }
}

/// The proof job: prove the stored input on the build and write the proof file (the CLI's).
pub fn run_proof(paths: &Paths, id: &str, build_id: &str) -> Result<serde_json::Value> {
    let input = InputData::read(&paths.input(id))?;
    let start = Instant::now();
    let artifact = pipeline::prove(&paths.build_dir(build_id), &input)?;
    let prove_seconds = start.elapsed().as_secs_f64();
    let text = serde_json::to_string_pretty(&artifact)?;
    write_atomic(&paths.proof(id), text.as_bytes())?;
    Ok(json!({
        "prove_seconds": prove_seconds,
        "proof_bytes": artifact.proof.0.len(),
    }))
}

/// Runs `work`, with its files under `paths`.
pub fn run(paths: &Paths, srs: &SrsChoice, work: &Work) -> Result<serde_json::Value> {
    let id = work.id.as_str();
    match (
        work.kind,
        work.build.as_deref(),
        work.parent.as_deref(),
        work.segment,
    ) {
        (JobKind::Build, ..) => run_build(paths, id, srs),
        (JobKind::Proof, Some(build), ..) if paths.is_segmented(build) => {
            run_aggregation(paths, id, build)
        }
        (JobKind::Proof, Some(build), ..) => run_proof(paths, id, build),
        (JobKind::Segment, Some(build), Some(parent), Some(i)) => {
            run_segment(paths, parent, build, i)
        }
        _ => Err(Error::BadRequest(format!(
            "job {id}: a {:?} job without its build, proof or segment",
            work.kind
        ))),
    }
}

/// Writes a fresh chain seed for the proof `id` on a segmented build (owner-only from the
/// start: the file is created with mode 0600).
pub fn store_chain_seed(paths: &Paths, id: &str) -> Result<()> {
    let seed: [u8; 64] = std::array::from_fn(|_| rand::random::<u8>());
    write_atomic_private(&paths.chain_seed(id), hex::encode(seed).as_bytes())
}

fn read_chain_seed(paths: &Paths, id: &str) -> Result<[u8; 64]> {
    let path = paths.chain_seed(id);
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    hex::decode(text.trim())
        .ok()
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
        .ok_or_else(|| Error::BadRequest(format!("proof {id}: its chain seed is not 64 hex bytes")))
}

/// A segment job: prove segment `index` of the proof `parent`'s input and write its proof.
fn run_segment(paths: &Paths, parent: &str, build: &str, index: u32) -> Result<serde_json::Value> {
    let input = InputData::read(&paths.input(parent))?;
    let seed = read_chain_seed(paths, parent)?;
    let start = Instant::now();
    let artifact =
        zkinfer_segments::prove_segment(&paths.segmented(build), &input, &seed, index as usize)?;
    let prove_seconds = start.elapsed().as_secs_f64();
    let path = paths.segment_proof(parent, index);
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder).map_err(io(folder))?;
    }
    write_atomic(&path, serde_json::to_string(&artifact)?.as_bytes())?;
    Ok(json!({ "segment": index, "prove_seconds": prove_seconds }))
}

/// The proof job on a segmented build, once every segment is proven: aggregate the segment
/// proofs into the proof file (verified natively before it is written).
fn run_aggregation(paths: &Paths, id: &str, build: &str) -> Result<serde_json::Value> {
    let dir = paths.segmented(build);
    let n = SegmentedSettings::read(&dir.settings())?.segments.len();
    let proofs = (0..n as u32)
        .map(|i| {
            let path = paths.segment_proof(id, i);
            let text = std::fs::read(&path).map_err(io(&path))?;
            Ok(serde_json::from_slice::<ProofArtifact>(&text)?)
        })
        .collect::<Result<Vec<_>>>()?;
    let proved = zkinfer_segments::aggregate_proofs(&dir, proofs)?;
    // The segment files come from workers through the store: the proof must be of this
    // request's input (not another proof's segments on the same build), and its outputs the
    // proven ones.
    let input = InputData::read(&paths.input(id))?;
    let expected = zkinfer_segments::statement(&dir, &input)?;
    let got: Vec<_> = proved.artifact.instances.iter().map(|f| f.0).collect();
    if got != expected.words {
        return Err(Error::Segments(format!(
            "proof {id}: the segment proofs are not of this request's input (segments of another \
             proof?)"
        )));
    }
    if let Some(why) = zkinfer_segments::verify_aggregated_proof(&dir, &proved.artifact)? {
        return Err(Error::Segments(format!(
            "proof {id}: the aggregated proof is refused: {why}"
        )));
    }
    let text = serde_json::to_string_pretty(&proved.artifact)?;
    write_atomic(&paths.proof(id), text.as_bytes())?;
    // The seed and the segment proofs have served: the seed would only reveal activations.
    let _ = std::fs::remove_file(paths.chain_seed(id));
    let _ = std::fs::remove_dir_all(paths.proof_root(id).join("segments"));
    Ok(json!({
        "segments": n,
        "aggregation_seconds": proved.aggregation_seconds,
        "proof_bytes": proved.artifact.proof.0.len(),
    }))
}

/// Whether a failed job may succeed when run again: the prover's refusals (a bad model, input
/// or build) would fail the same way; a file or database error might not.
pub fn retryable(error: &Error) -> bool {
    match error {
        Error::Prover(zkinfer_prover::Error::Io { .. }) => true,
        Error::Prover(_) | Error::Segments(_) | Error::BadRequest(_) | Error::Json(_) => false,
        _ => true,
    }
}

/// `text` with the data directory's path replaced by `DATA`: messages shown to clients do not
/// reveal where the server keeps its files.
pub fn redact(text: &str, data_dir: &Path) -> String {
    let dir = data_dir.display().to_string();
    if dir.is_empty() {
        return text.to_string();
    }
    text.replace(&dir, "DATA")
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkinfer_segments::AggregationDegrees;

    #[test]
    fn only_ids_make_paths() {
        let id = new_id();
        assert!(is_id(&id));
        for bad in [
            "",
            "../../etc/passwd",
            &id.to_uppercase(),
            &id[..31],
            "g".repeat(32).as_str(),
        ] {
            assert!(!is_id(bad), "{bad}");
        }
    }

    #[test]
    fn messages_do_not_show_the_data_directory() {
        let dir = Path::new("/srv/zk/data");
        assert_eq!(
            redact("/srv/zk/data/builds/x/build/model.json: bad", dir),
            "DATA/builds/x/build/model.json: bad"
        );
        assert!(retryable(&Error::Io(
            dir.into(),
            std::io::ErrorKind::Other.into()
        )));
        assert!(!retryable(&Error::BadRequest("no".into())));
    }

    #[test]
    fn build_options_come_from_known_fields_only() {
        let mut o = BuildOptions::default();
        o.set("input_visibility", "hashed").unwrap();
        o.set("output_visibility", "private").unwrap();
        assert_eq!(o.input_visibility, Visibility::Hashed);
        assert_eq!(o.output_visibility, Visibility::Private);
        assert!(o.set("input_visibility", "chained").is_err());
        assert!(o.set("k", "20").is_err());
    }

    #[test]
    fn aggregation_degrees_default_and_refuse_a_root_below_its_nodes() {
        let segmented = BuildOptions {
            segments: Some(2),
            ..BuildOptions::default()
        };
        let degrees = |k: Option<&str>, root: Option<&str>| {
            let mut o = segmented;
            if let Some(k) = k {
                o.set("aggregation_k", k).unwrap();
            }
            if let Some(root) = root {
                o.set("aggregation_root_k", root).unwrap();
            }
            o.check().map(|()| o.degrees())
        };
        let made = |k, root| AggregationDegrees { k, root };
        assert_eq!(degrees(None, None).unwrap(), made(21, 22));
        assert_eq!(degrees(Some("20"), None).unwrap(), made(20, 21));
        assert_eq!(degrees(Some("20"), Some("20")).unwrap(), made(20, 20));
        assert_eq!(degrees(None, Some("23")).unwrap(), made(21, 23));
        assert_eq!(degrees(None, Some("19")).unwrap(), made(19, 19));
        let err = degrees(Some("21"), Some("20")).unwrap_err().to_string();
        assert!(
            err.contains("aggregation_root_k 20 below aggregation_k 21"),
            "{err}"
        );
        let mut o = segmented;
        assert!(o.set("aggregation_root_k", "27").is_err());
        // Not a segmented build: refused, naming the field.
        let mut whole = BuildOptions::default();
        whole.set("aggregation_root_k", "22").unwrap();
        let err = whole.check().unwrap_err().to_string();
        assert!(
            err.contains("aggregation_root_k apply to a segmented build"),
            "{err}"
        );
    }
}
