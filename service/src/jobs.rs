//! What the jobs do, on blocking threads, and where their files live under the data directory:
//!
//! ```text
//! DATA/jobs.sqlite
//! DATA/builds/ID/{model.onnx, calibration.json, options.json}   the upload
//! DATA/builds/ID/build/                                          the build (as `zkinfer compile` + `setup` make it)
//! DATA/proofs/ID/{input.json, proof.json}                        the request and its proof file
//! ```
//!
//! Ids are 32 lowercase hex digits, checked before any path is made from them.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::json;
use zkinfer_prover::artifacts::{Artifact, BuildDir, Settings};
use zkinfer_prover::input::InputData;
use zkinfer_prover::pipeline::{self, CircuitOptions, SrsChoice};
use zkinfer_prover::privacy::{ParamVisibility, Privacy, Visibility};
use zkinfer_prover::quantize::QuantizationConfig;

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
        match name {
            "input_visibility" => self.input_visibility = visibility()?,
            "output_visibility" => self.output_visibility = visibility()?,
            other => {
                return Err(Error::BadRequest(format!(
                    "unknown field {other:?} (expected model, calibration, input_visibility, output_visibility)"
                )))
            }
        }
        Ok(())
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::Io(path.to_path_buf(), e)
}

/// Writes `bytes` to `path` by way of a temporary file and a rename: a reader (or a restart)
/// sees the whole file or none.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    // A name of its own: two writers never share a temporary file.
    let tmp = path.with_extension(format!("tmp-{}", new_id()));
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
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
    let (settings, model) = pipeline::load(&paths.build_dir(build_id))?;
    input.subject()?;
    pipeline::require_salt_for(&settings.privacy, input)?;
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

/// What `GET /v1/builds/ID` shows of a build's settings.
fn settings_summary(s: &Settings) -> serde_json::Value {
    json!({
        "k": s.circuit.k,
        "advice_columns": s.circuit.base.num_advice_per_phase.first(),
        "advice_cells": s.circuit.advice_cells,
        "instances": s.circuit.num_instances,
        "input_shapes": s.input_shapes,
        "output_shapes": s.output_shapes,
        "privacy": s.privacy,
        "scale": s.quantization.scale.0,
    })
}

/// The estimated proving memory of a ready build, from its settings (0 when not estimated).
pub fn proving_bytes(paths: &Paths, build_id: &str) -> u64 {
    Settings::read(&paths.build_dir(build_id).settings())
        .ok()
        .and_then(|s| s.resources)
        .map_or(0, |r| r.proving_bytes)
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

/// Runs the job `id` of `kind` (a proof job on `build`), with its files under `paths`.
pub fn run(
    paths: &Paths,
    srs: &SrsChoice,
    id: &str,
    kind: JobKind,
    build: Option<&str>,
) -> Result<serde_json::Value> {
    match (kind, build) {
        (JobKind::Build, _) => run_build(paths, id, srs),
        (JobKind::Proof, Some(build)) => run_proof(paths, id, build),
        (JobKind::Proof, None) => Err(Error::BadRequest("a proof job without a build".into())),
    }
}

/// Whether a failed job may succeed when run again: the prover's refusals (a bad model, input
/// or build) would fail the same way; a file or database error might not.
pub fn retryable(error: &Error) -> bool {
    match error {
        Error::Prover(zkinfer_prover::Error::Io { .. }) => true,
        Error::Prover(_) | Error::BadRequest(_) | Error::Json(_) => false,
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
}
