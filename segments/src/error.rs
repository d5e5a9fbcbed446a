//! The one error type of the segments crate.

use std::path::PathBuf;

/// What can go wrong splitting, building, proving or verifying a segmented model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// From the prover (import, quantization, planning, keys, proofs, artifacts).
    #[error(transparent)]
    Prover(#[from] zkinfer_prover::Error),
    /// No segment plan satisfies the request.
    #[error("segmentation: {0}")]
    Plan(String),
    /// A segmented build is inconsistent.
    #[error("segmented build: {0}")]
    Build(String),
    /// A folder holds no segmented build.
    #[error("{0}: no segments.json: not a segmented build (compile with --segments or --max-k)")]
    NotSegmented(PathBuf),
    /// A file could not be read or written.
    #[error("{0}: {1}")]
    Io(PathBuf, #[source] std::io::Error),
}

/// The segments crate's result.
pub type Result<T> = std::result::Result<T, Error>;
