//! The service's chain client (`zkinfer serve --oracle`): sends finished proofs to the oracle
//! with the server's account, as `submit` does, and reports the outcome as the service records
//! it ([`Sent`]).

use std::future::Future;
use std::path::Path;
use std::pin::Pin;

use alloy::primitives::{Address, Bytes, U256};
use anyhow::Result;
use serde_json::json;
use zkinfer_prover::artifacts::{Artifact, ProofArtifact};
use zkinfer_prover::pipeline;
use zkinfer_service::submit::{Sent, Submitter};

use super::{bytes32, hint, oracle_at, word};
use crate::chain::{self, connect, tx_hex, Chain};
use crate::cli::ChainArgs;
use crate::contracts::VerifiedInferenceOracle;

/// Submits proofs to one oracle with one account.
pub(crate) struct OracleRelay {
    chain: Chain,
    oracle: Address,
}

impl std::fmt::Debug for OracleRelay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.target())
    }
}

impl OracleRelay {
    /// Connects with `args`' account (checking the endpoint answers) to the oracle at `oracle`
    /// (checking it has code).
    pub(crate) async fn connect(args: &ChainArgs, oracle: &str) -> Result<Self> {
        let chain = connect(args).await?;
        let oracle = *oracle_at(&chain.provider, oracle).await?.address();
        Ok(OracleRelay { chain, oracle })
    }

    async fn send(&self, path: &Path) -> Sent {
        let artifact = match ProofArtifact::read(path) {
            Ok(a) => a,
            Err(e) => return Sent::Refused(format!("reading the proof file: {e}")),
        };
        let (proof, instances) = pipeline::decode_proof(&artifact);
        let words: Vec<U256> = instances.iter().map(word).collect();
        let oracle = VerifiedInferenceOracle::new(self.oracle, &self.chain.provider);
        let call = oracle.submitInference(bytes32(&artifact.model_id), Bytes::from(proof), words);
        // Simulated first: a refusal is final and nothing is sent; a statement already credited
        // (a submission before a restart, or anyone's) is recorded as on chain.
        if let Err(e) = call.call().await {
            if e.as_revert_data().is_none() {
                return Sent::Unavailable(chain::describe(&e.to_string()));
            }
            let reason = chain::call_refusal(&e);
            return if reason.starts_with("StatementAlreadyUsed") {
                Sent::AlreadyOnChain(reason)
            } else {
                Sent::Refused(format!(
                    "the oracle rejects this proof: {reason}{}",
                    hint(&reason)
                ))
            };
        }
        // A send that fails or reverts is tried again: the simulation then says why, or finds
        // the statement already on chain.
        match self
            .chain
            .send(call.into_transaction_request(), "submitting the proof")
            .await
        {
            Ok(receipt) => Sent::Accepted(json!({
                "tx_hash": tx_hex(receipt.transaction_hash),
                "gas_used": receipt.gas_used,
                "block": receipt.block_number,
                "oracle": self.oracle,
                "chain_id": self.chain.chain_id,
                "submitter": self.chain.sender,
            })),
            Err(e) => Sent::Unavailable(format!("{e:#}")),
        }
    }
}

impl Submitter for OracleRelay {
    fn target(&self) -> String {
        format!(
            "oracle {} on chain {} from {}",
            self.oracle,
            self.chain.chain_id,
            self.chain
                .sender
                .map_or_else(|| "no account".into(), |a| a.to_string())
        )
    }

    fn submit<'a>(&'a self, proof: &'a Path) -> Pin<Box<dyn Future<Output = Sent> + Send + 'a>> {
        Box::pin(self.send(proof))
    }
}
