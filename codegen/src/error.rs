//! The one error type of the codegen crate.

/// What can go wrong turning a verifying key into a deployable verifier.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The prover side (build directory, keys, SRS) failed.
    #[error(transparent)]
    Prover(#[from] zkinfer_prover::Error),
    /// The Solidity compiler could not be started.
    #[error("cannot run the Solidity compiler `{solc}` (install it with `scripts/install-tools.sh`, or pass --solc)")]
    SolcMissing {
        /// The command tried.
        solc: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// The compiler ran but failed or printed something unreadable.
    #[error("solc: {0}")]
    Solc(String),
    /// The compiled runtime bytecode exceeds the EIP-170 limit.
    #[error("the verifier's runtime bytecode is {size} bytes, over the EIP-170 limit of {limit}")]
    TooLarge {
        /// Runtime bytecode size.
        size: usize,
        /// The limit (24,576 bytes).
        limit: usize,
    },
    /// The verifying key uses a feature the reusable verifier does not implement.
    #[error("the reusable verifier does not support {0}")]
    Unsupported(String),
    /// A file could not be written.
    #[error("{path}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Result with the codegen [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
