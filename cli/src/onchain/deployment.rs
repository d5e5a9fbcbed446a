//! `BUILD/deployment.json`: what `deploy` put on chain, versioned, and read back by `submit`,
//! `read` and `verify-evm` (so that they need no addresses on the command line). Reading needs
//! only `version`, `model_id` and `verifier` (and `oracle` where a command uses it), so a record
//! written by hand for contracts deployed otherwise works too.

use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use zkinfer_prover::artifacts::BuildDir;
use zkinfer_prover::encoding::ModelId;

/// Version of the records `deploy` writes.
pub(crate) const DEPLOYMENT_VERSION: u32 = 1;

/// What `deploy` deployed: the verifier (and key) always, the oracle and pool unless
/// `--verifier-only`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Deployment {
    /// Record version ([`DEPLOYMENT_VERSION`]).
    pub(crate) version: u32,
    /// The chain deployed on.
    #[serde(default)]
    pub(crate) chain_id: u64,
    /// The model registered.
    pub(crate) model_id: ModelId,
    /// The verifier: model-specific, or the shared reusable one.
    pub(crate) verifier: Address,
    /// The verifier's runtime code size.
    #[serde(default)]
    pub(crate) verifier_runtime_bytes: usize,
    /// The exact proof length the verifier takes.
    #[serde(default)]
    pub(crate) proof_bytes: usize,
    /// Whether the keys came from the insecure development SRS.
    #[serde(default)]
    pub(crate) dev_srs: bool,
    /// The verifying-key contract (reusable verifier only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) key: Option<Address>,
    /// The key contract's code size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) key_bytes: Option<usize>,
    /// The oracle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) oracle: Option<Address>,
    /// The lending pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) lending: Option<Address>,
    /// Accounts granted the attester role.
    #[serde(default)]
    pub(crate) attesters: Vec<Address>,
    /// How many blocks an attestation stays valid, when attestations are required.
    #[serde(default)]
    pub(crate) attestation_max_age: Option<u64>,
    /// Gas used per step.
    #[serde(default)]
    pub(crate) gas: DeploymentGas,
}

/// Gas used by each step of a deployment (0 for a reused verifier).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct DeploymentGas {
    /// Deploying the verifier.
    pub(crate) verifier: u64,
    /// Deploying the key contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) key: Option<u64>,
    /// Deploying the oracle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) oracle: Option<u64>,
    /// Registering the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) register: Option<u64>,
    /// Deploying the pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) lending: Option<u64>,
}

/// A record read from a file, which names it in errors.
pub(crate) struct DeploymentFile {
    path: PathBuf,
    /// The record.
    pub(crate) record: Deployment,
}

impl Deployment {
    /// Writes `BUILD/deployment.json`.
    pub(crate) fn write(&self, dir: &BuildDir) -> Result<()> {
        let path = dir.root().join("deployment.json");
        std::fs::write(&path, serde_json::to_string_pretty(self)?)
            .with_context(|| format!("writing {}", path.display()))
    }

    /// Reads and version-checks a record.
    pub(crate) fn read(path: &Path) -> Result<DeploymentFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the deployment record {}", path.display()))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        let version = value.get("version").and_then(|v| v.as_u64()).unwrap_or(1);
        if version != u64::from(DEPLOYMENT_VERSION) {
            bail!(
                "{}: deployment record version {version}, this zkinfer reads {DEPLOYMENT_VERSION}",
                path.display()
            );
        }
        let record = serde_json::from_value(value)
            .with_context(|| format!("{} is not a deployment record", path.display()))?;
        Ok(DeploymentFile {
            path: path.to_path_buf(),
            record,
        })
    }
}

impl DeploymentFile {
    /// The oracle, which a `--verifier-only` deployment does not have.
    pub(crate) fn oracle(&self) -> Result<Address> {
        self.record.oracle.with_context(|| {
            format!(
                "{} has no \"oracle\" (deployed with --verifier-only?)",
                self.path.display()
            )
        })
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}
