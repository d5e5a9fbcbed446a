//! The one error type of the prover crate.

use std::path::PathBuf;

/// Everything that can go wrong between an ONNX file and a verified proof.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The ONNX file could not be decoded.
    #[error("malformed ONNX model {path}: {reason}")]
    MalformedOnnx {
        /// The model file.
        path: PathBuf,
        /// What the decoder said.
        reason: String,
    },
    /// The graph uses an operator zkinfer cannot prove yet.
    #[error("unsupported: {op} (node {node})")]
    Unsupported {
        /// The ONNX op type, e.g. `Conv`.
        op: String,
        /// The node name (or its first output when the node is unnamed).
        node: String,
    },
    /// A supported operator is used in a form zkinfer does not handle.
    #[error("node {node} ({op}): {reason}")]
    InvalidNode {
        /// The ONNX op type.
        op: String,
        /// The node name.
        node: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Input data does not match what the model expects.
    #[error("input: {0}")]
    InvalidInput(String),
    /// A JSON artifact (input, settings, proof) could not be parsed.
    #[error("{path}: invalid JSON")]
    Json {
        /// The file involved.
        path: PathBuf,
        /// The parser error.
        #[source]
        source: serde_json::Error,
    },
    /// An artifact was written by an incompatible version of zkinfer.
    #[error("{path}: artifact version {found} is not supported (expected {expected})")]
    Version {
        /// The file involved.
        path: PathBuf,
        /// The version found in the file.
        found: u32,
        /// The version this build reads.
        expected: u32,
    },
    /// A value left the range the circuit was calibrated for.
    #[error(
        "value out of calibrated range at node {node}: {value} (fixed-point, scale 2^{scale}) \
         is outside [-2^{bits}, 2^{bits}); recompile with calibration data that covers this input"
    )]
    OutOfRange {
        /// The node whose output is out of range.
        node: String,
        /// The offending fixed-point integer.
        value: i128,
        /// Its scale exponent.
        scale: u32,
        /// The calibrated bound, in bits.
        bits: u32,
    },
    /// A function's input left its domain (e.g. `Log` of a non-positive value).
    #[error("value outside the domain of {func} at node {node}: {x}")]
    OutsideDomain {
        /// The node.
        node: String,
        /// The function.
        func: &'static str,
        /// The (dequantized) input.
        x: f64,
    },
    /// A build directory's model does not match its settings (edited or mixed up after compile).
    #[error(
        "{path} does not match the settings beside it: it hashes to model id {found}, the \
         settings say {expected}; compile again"
    )]
    ModelMismatch {
        /// The model file.
        path: PathBuf,
        /// The id the model and circuit shape hash to.
        found: crate::encoding::ModelId,
        /// The id in the settings.
        expected: crate::encoding::ModelId,
    },
    /// The folder holds no compiled model.
    #[error("circuit: {} is not a build directory (no settings.json): run `zkinfer compile` first", .dir.display())]
    NotCompiled {
        /// The folder.
        dir: PathBuf,
    },
    /// The build has no keys yet.
    #[error("circuit: {} has no keys: run `zkinfer setup` first", .dir.display())]
    NoKeys {
        /// The build folder.
        dir: PathBuf,
    },
    /// The build's keys belong to another model than its settings.
    #[error("circuit: keys were generated for another model: run `zkinfer setup` again")]
    KeysForAnotherModel,
    /// halo2 could not generate a key for the circuit.
    #[error("circuit: {which}: {reason}")]
    Keygen {
        /// `verifying key` or `proving key`.
        which: &'static str,
        /// halo2's error.
        reason: String,
    },
    /// A key file could not be read back.
    #[error("circuit: {}: unreadable {which}: {reason}", .path.display())]
    UnreadableKey {
        /// The key file.
        path: PathBuf,
        /// `verifying key` or `proving key`.
        which: &'static str,
        /// Why.
        reason: String,
    },
    /// The model needs more rows than the largest circuit this build accepts.
    #[error("circuit: the model does not fit in 2^{max_k} rows")]
    DoesNotFit {
        /// log2 of the largest circuit.
        max_k: usize,
    },
    /// The layout `compile --layout` asked for cannot hold this model.
    #[error("circuit: the {layout} layout cannot hold this model: {reason}")]
    LayoutDoesNotApply {
        /// The layout's name (`--layout`).
        layout: &'static str,
        /// Why (no dense layer for a dot region, or too many rows).
        reason: String,
    },
    /// The structured reference string is missing, too small or inconsistent.
    #[error("SRS: {0}")]
    Srs(String),
    /// Proving failed.
    #[error("proving failed: {0}")]
    Prove(String),
    /// A proof artifact is malformed (not a verdict on its validity).
    #[error("malformed proof artifact: {0}")]
    MalformedProof(String),
    /// Proving the circuit would need more memory than allowed (see [`crate::resources`]).
    #[error(
        "the circuit is too large: 2^{k} rows × {columns} columns; setup and proving would need \
         {qualifier} {needed_mib} MiB, and {limit_mib} MiB are {limit_source}. Use a smaller model or \
         input shape, coarser scales or tables (--target resources), or set --max-memory"
    )]
    TooLarge {
        /// log2 of the rows.
        k: usize,
        /// Columns of every kind.
        columns: usize,
        /// Estimated peak memory, MiB.
        needed_mib: u64,
        /// "about" (a planned circuit) or "at least" (a bound before layout).
        qualifier: &'static str,
        /// The limit, MiB.
        limit_mib: u64,
        /// Where the limit came from.
        limit_source: &'static str,
    },
    /// The float reference (tract) failed to run the model.
    #[error("reference inference (tract) failed: {0}")]
    Reference(String),
    /// A proof file's `output_data` is not what its verified instances encode: the outputs a
    /// user reads must be the proven ones.
    #[error(
        "the proof file's {at} is {found}, but the verified proof's instances give {expected}: \
         its output_data was edited or belongs to another proof"
    )]
    OutputDataMismatch {
        /// The first place that differs, e.g. `output_data[0][3]`.
        at: String,
        /// What the file holds there.
        found: String,
        /// What the verified instances decode to there.
        expected: String,
    },
    /// `compile` was pointed at a folder holding files of another build.
    #[error(
        "{dir} already holds {holds}: {}; compile into another folder, or pass --force to \
         replace that build (its keys, verifier, deployment and proof files are deleted)",
        .files.join(", ")
    )]
    BuildDirInUse {
        /// The build folder.
        dir: PathBuf,
        /// What the folder holds, e.g. `the build of another model (0x…)`.
        holds: String,
        /// The zkinfer files found there (names).
        files: Vec<String>,
    },
    /// An output file cannot be written where asked (checked before any work).
    #[error("cannot write {path}: {reason}")]
    OutputPath {
        /// The output file asked for.
        path: PathBuf,
        /// Why not, e.g. `it is a directory`.
        reason: String,
    },
    /// A build with hashed inputs or outputs got an input file without a salt.
    #[error(
        "this build's {hashed} hashed, and the input file has no \"salt\": its commitment would \
         use salt 0, and a commitment to low-entropy data without a secret salt can be guessed. \
         Add \"salt\": \"0x…\" to the input file: a random field element that you, the data owner, \
         keep secret (it opens the commitment), e.g. from \
         python3 -c \"import secrets;print(hex(secrets.randbits(248)))\""
    )]
    MissingSalt {
        /// What is hashed: `inputs are`, `outputs are` or `inputs and outputs are`.
        hashed: &'static str,
    },
}

/// Result with the prover's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
