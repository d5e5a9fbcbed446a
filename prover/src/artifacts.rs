//! Versioned artifacts written to a build directory and proof files.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use halo2_base::gates::flex_gate::MultiPhaseThreadBreakPoints;

use crate::circuit::CircuitParams;
use crate::encoding::{FieldElement, HexBytes, ModelId};
use crate::fixed::Scale;
use crate::quantize::{QuantizationConfig, QuantizedModel};
use crate::srs::SrsSource;
use crate::{Error, Result};

/// Version of every artifact this build writes and reads.
pub const ARTIFACT_VERSION: u32 = 2;

/// A JSON artifact with a version number checked on read.
pub trait Artifact: Serialize + DeserializeOwned {
    /// The version stored in this value.
    fn version(&self) -> u32;

    /// Reads and version-checks an artifact.
    fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_json(&text, path)
    }

    /// Parses and version-checks an artifact's JSON text; `origin` names it in errors.
    fn from_json(text: &str, origin: &Path) -> Result<Self> {
        parse_versioned(text, origin)
    }

    /// Writes an artifact as pretty JSON.
    fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("artifacts serialize");
        std::fs::write(path, text).map_err(|e| Error::io(path, e))
    }
}

/// [`Artifact::from_json`]'s parse: the version first, then the typed value.
fn parse_versioned<T: DeserializeOwned>(text: &str, origin: &Path) -> Result<T> {
    serde_json::from_value(versioned_value(text, origin)?).map_err(|source| Error::Json {
        path: origin.into(),
        source,
    })
}

/// An artifact's JSON, after checking that its version is this build's.
fn versioned_value(text: &str, origin: &Path) -> Result<serde_json::Value> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|source| Error::Json {
        path: origin.into(),
        source,
    })?;
    let found = value.get("version").and_then(|v| v.as_u64()).unwrap_or(0) as u32;
    if found != ARTIFACT_VERSION {
        return Err(Error::Version {
            path: origin.into(),
            found,
            expected: ARTIFACT_VERSION,
        });
    }
    Ok(value)
}

/// Per-tensor summary kept in the settings (what calibration chose).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeRange {
    /// ONNX node name.
    pub name: String,
    /// ONNX op type.
    pub op_type: String,
    /// Values lie in `[-2^bits, 2^bits)` at the activation scale.
    pub bits: u32,
    /// Largest |value| seen in calibration.
    pub calibrated_max: f64,
}

/// `settings.json`: what `compile` decided.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Settings {
    /// Artifact version.
    pub version: u32,
    /// Content hash of the quantized model and circuit shape (`bytes32`).
    pub model_id: ModelId,
    /// The ONNX file compiled.
    pub source: String,
    /// Scales and margins.
    pub quantization: QuantizationConfig,
    /// Shapes of the graph inputs.
    pub input_shapes: Vec<Vec<usize>>,
    /// Shapes of the graph outputs.
    pub output_shapes: Vec<Vec<usize>>,
    /// Number of calibration samples used.
    pub calibration_samples: usize,
    /// Who sees the inputs, outputs and parameters.
    #[serde(default)]
    pub privacy: crate::commitment::Privacy,
    /// With hashed parameters: their public commitment (the instance before the subject), which
    /// consumers pin to trust this committed model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub param_commitment: Option<FieldElement>,
    /// Per-tensor ranges.
    pub nodes: Vec<NodeRange>,
    /// Graph inputs fixed at compile (they feed only shape parameters): each input file must
    /// give these values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub specialized_inputs: Vec<crate::model::SpecializedInput>,
    /// The circuit's shape.
    pub circuit: CircuitParams,
    /// What setup and proving are estimated to take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<crate::resources::ResourceEstimate>,
}

impl Artifact for Settings {
    fn version(&self) -> u32 {
        self.version
    }
}

impl Settings {
    /// Number of public instances that are packed input words (they come first).
    pub fn num_public_inputs(&self) -> usize {
        self.circuit.input_words
    }

    /// Public instances after the outputs: the parameter commitment when parameters are hashed.
    pub fn num_param_instances(&self) -> usize {
        usize::from(self.privacy.params == crate::commitment::ParamVisibility::Hashed)
    }

    /// Number of public instances that are outputs (they follow the inputs): one per output
    /// value, none when private, one commitment when hashed.
    pub fn num_public_outputs(&self) -> usize {
        match self.privacy.outputs {
            crate::commitment::Visibility::Public => self
                .output_shapes
                .iter()
                .map(|s| s.iter().product::<usize>())
                .sum(),
            crate::commitment::Visibility::Private => 0,
            crate::commitment::Visibility::Hashed | crate::commitment::Visibility::Chained => 1,
        }
    }
}

/// `model.json`: the quantized model.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelArtifact {
    /// Artifact version.
    pub version: u32,
    /// The model.
    pub model: QuantizedModel,
}

impl Artifact for ModelArtifact {
    fn version(&self) -> u32 {
        self.version
    }
}

/// `keys.json`: how the keys in the build directory were made.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeysInfo {
    /// Artifact version.
    pub version: u32,
    /// The model the keys belong to.
    pub model_id: ModelId,
    /// The SRS used.
    pub srs: SrsSource,
    /// Layout break points the prover must reuse.
    pub break_points: MultiPhaseThreadBreakPoints,
    /// SHA-256 of the serialized verifying key.
    pub vk_sha256: String,
}

impl Artifact for KeysInfo {
    fn version(&self) -> u32 {
        self.version
    }
}

/// A proof file: proof bytes, public instances and the decoded outputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProofArtifact {
    /// Artifact version.
    pub version: u32,
    /// The model proven (`bytes32`).
    pub model_id: ModelId,
    /// The proof, 0x-prefixed hex.
    pub proof: HexBytes,
    /// Public instances as 0x-prefixed 32-byte big-endian hex: packed input words (or the input
    /// commitment), outputs (or their commitment), the parameter commitment when parameters are
    /// hashed, and last the subject (the account the statement is about).
    pub instances: Vec<FieldElement>,
    /// How many leading instances are packed input words.
    pub num_inputs: usize,
    /// Fixed-point scale of inputs and outputs (its exponent in JSON).
    pub scale: Scale,
    /// Dequantized outputs, one flat array per graph output (EZKL's layout).
    pub output_data: Vec<Vec<f64>>,
    /// Whether the SRS was the insecure development one.
    pub dev_srs: bool,
}

impl Artifact for ProofArtifact {
    fn version(&self) -> u32 {
        self.version
    }

    /// A proof file that does not parse (bad hex, an instance at or above the field modulus, a
    /// model id that is not 32 bytes) is a malformed proof, whoever reads it.
    fn from_json(text: &str, origin: &Path) -> Result<Self> {
        serde_json::from_value(versioned_value(text, origin)?)
            .map_err(|e| Error::MalformedProof(format!("{}: {e}", origin.display())))
    }
}

/// The files of a build directory.
#[derive(Clone, Debug)]
pub struct BuildDir {
    root: PathBuf,
}

impl BuildDir {
    /// A build directory at `root` (not created).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        BuildDir { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `settings.json`.
    pub fn settings(&self) -> PathBuf {
        self.root.join("settings.json")
    }

    /// `model.json`.
    pub fn model(&self) -> PathBuf {
        self.root.join("model.json")
    }

    /// `keys.json`.
    pub fn keys_info(&self) -> PathBuf {
        self.root.join("keys.json")
    }

    /// `pk.bin`.
    pub fn pk(&self) -> PathBuf {
        self.root.join("pk.bin")
    }

    /// `vk.bin`.
    pub fn vk(&self) -> PathBuf {
        self.root.join("vk.bin")
    }

    /// `kzg.srs`, trimmed to the circuit's size.
    pub fn srs(&self) -> PathBuf {
        self.root.join("kzg.srs")
    }

    /// Checks that the directory holds a compiled model.
    pub fn require_compiled(&self) -> Result<()> {
        if !self.settings().exists() {
            return Err(Error::NotCompiled {
                dir: self.root.clone(),
            });
        }
        Ok(())
    }

    /// Checks that keys were generated.
    pub fn require_keys(&self) -> Result<()> {
        self.require_compiled()?;
        if !self.keys_info().exists() {
            return Err(Error::NoKeys {
                dir: self.root.clone(),
            });
        }
        Ok(())
    }

    /// zkinfer's files in the directory, sorted (none when it does not exist): a build
    /// (`settings.json`, `model.json`), its keys and SRS (`pk.bin`, `vk.bin`, `keys.json`,
    /// `kzg.srs`), `codegen`'s default `Verifier.*` family, `deployment.json` and `proof.json`:
    /// exact names only, so a user's own files are never listed.
    pub fn zkinfer_files(&self) -> Result<Vec<PathBuf>> {
        if !self.root.is_dir() {
            return Ok(Vec::new());
        }
        let entries = std::fs::read_dir(&self.root).map_err(|e| Error::io(&self.root, e))?;
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&self.root, e))?;
            let is_file = entry.file_type().is_ok_and(|t| t.is_file());
            if is_file && is_zkinfer_file(&entry.file_name().to_string_lossy()) {
                found.push(entry.path());
            }
        }
        found.sort();
        Ok(found)
    }
}

/// Whether a file name is one that zkinfer writes into a build directory: the exact names of
/// `compile`, `setup`, `deploy` and `run`, `codegen`'s default `Verifier.*` family, and the
/// partial files a killed `setup` left of its keys. Nothing else (a user's own `.sol`, `.bin` or
/// proof file) is ever taken for one, so `--force` never deletes it.
fn is_zkinfer_file(name: &str) -> bool {
    const NAMED: [&str; 9] = [
        "settings.json",
        "segments.json",
        "model.json",
        "pk.bin",
        "vk.bin",
        "kzg.srs",
        "keys.json",
        "deployment.json",
        "proof.json",
    ];
    const VERIFIER: [&str; 6] = [
        "Verifier.sol",
        "Verifier.abi.json",
        "Verifier.bin",
        "Verifier.key.sol",
        "Verifier.key.abi.json",
        "Verifier.key.bin",
    ];
    let partial_of = |name: &str| {
        name.split_once(crate::whole_file::PARTIAL_MARKER)
            .is_some_and(|(base, _)| NAMED.contains(&base))
    };
    NAMED.contains(&name) || VERIFIER.contains(&name) || partial_of(name)
}

/// Checks, before any work, that a file can be written at `path`: its folder exists and `path`
/// is not a directory. The error names the path and what is wrong.
pub fn check_output_file(path: &Path) -> Result<()> {
    let refuse = |reason: String| -> Result<()> {
        Err(Error::OutputPath {
            path: path.to_path_buf(),
            reason,
        })
    };
    if path.is_dir() {
        return refuse("it is a directory; give a file name".into());
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match std::fs::metadata(folder) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => refuse(format!("{} is not a directory", folder.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            refuse(format!("its folder {} does not exist", folder.display()))
        }
        Err(e) => refuse(format!(
            "its folder {} cannot be used: {e}",
            folder.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_files_are_checked_before_any_work() {
        let dir = std::env::temp_dir().join(format!("zkinfer-out-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        check_output_file(&dir.join("proof.json")).unwrap();
        let err = check_output_file(&dir).unwrap_err().to_string();
        assert!(err.contains("is a directory"), "{err}");
        let missing = dir.join("missing").join("proof.json");
        let err = check_output_file(&missing).unwrap_err().to_string();
        assert!(
            err.contains(&missing.display().to_string()) && err.contains("does not exist"),
            "{err}"
        );
    }

    #[test]
    fn build_files_are_recognised() {
        for name in [
            "settings.json",
            "pk.bin",
            "Verifier.sol",
            "Verifier.key.abi.json",
            "deployment.json",
            "proof.json",
            "pk.bin.partial-4242-0",
        ] {
            assert!(is_zkinfer_file(name), "{name}");
        }
        // A user's own files, even of the kinds zkinfer writes, are never taken for a build's.
        for name in [
            "input.json",
            "calibration.json",
            "model.onnx",
            "notes.txt",
            "Lending.sol",
            "weights.bin",
            "alice-proof.json",
            "Halo2Verifier.bin",
            "weights.bin.partial-4242-0",
        ] {
            assert!(!is_zkinfer_file(name), "{name}");
        }
    }
}
