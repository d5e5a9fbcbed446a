//! The service's chain client (`zkinfer serve --oracle`): checks a request against the oracle
//! before anything is proven, sends finished proofs to it with the server's account, and reports
//! each attempt as the service records it ([`Sent`]).

use std::path::Path;
use std::time::Duration;

use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionReceipt;
use anyhow::Result;
use serde_json::json;
use zkinfer_prover::artifacts::{Artifact, ProofArtifact};
use zkinfer_prover::pipeline;
use zkinfer_service::submit::{Admission, Pending, Sent, Submitter};

use super::{bytes32, hint, oracle_at, word};
use crate::chain::{self, connect, tx_hex, Chain};
use crate::cli::ChainArgs;
use crate::contracts::VerifiedInferenceOracle;

/// How long one attempt waits for its transaction's receipt; past it the transaction is in
/// flight, looked for (not sent again) at the next attempt.
const RECEIPT_WAIT: Duration = Duration::from_secs(60);

/// Submits proofs to one oracle with one account.
pub(crate) struct OracleRelay {
    chain: Chain,
    oracle: Address,
    /// The endpoint as given and as the HTTP client writes it: kept out of recorded errors (a
    /// provider's URL often carries its API key).
    rpc_urls: Vec<String>,
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
        let mut rpc_urls = vec![args.rpc_url.clone()];
        if let Ok(url) = args
            .rpc_url
            .parse::<alloy::transports::http::reqwest::Url>()
        {
            rpc_urls.push(url.to_string());
        }
        Ok(OracleRelay {
            chain,
            oracle,
            rpc_urls,
        })
    }

    /// `message` without the RPC endpoint's URL.
    fn redact(&self, message: impl std::fmt::Display) -> String {
        let mut text = message.to_string();
        for url in &self.rpc_urls {
            text = text.replace(url.as_str(), "<rpc-url>");
        }
        text
    }

    async fn check(&self, model_id: &str, subject: &str) -> Admission {
        let Ok(model) = model_id.parse::<B256>() else {
            return Admission::Refused(format!("{model_id} is not a model id"));
        };
        let Ok(subject) = subject.parse::<Address>() else {
            return Admission::Refused(format!("the subject {subject} is not an address"));
        };
        if Some(subject) == self.chain.sender {
            return Admission::Refused(format!(
                "the subject {subject} is the relay's own account: the relay does not submit \
                 proofs about itself (whoever sends the inputs would choose its output)"
            ));
        }
        let oracle = VerifiedInferenceOracle::new(self.oracle, &self.chain.provider);
        let unavailable = |e: alloy::contract::Error| Admission::Unavailable(self.redact(e));
        match oracle.activeModels(model).call().await {
            Ok(true) => {}
            Ok(false) => {
                return Admission::Refused(format!(
                    "model {model_id} is not registered and active on the oracle {}",
                    self.oracle
                ))
            }
            Err(e) => return unavailable(e),
        }
        let binds = match oracle.bindsInputs(model).call().await {
            Ok(binds) => binds,
            Err(e) => return unavailable(e),
        };
        let attested = match oracle.attestationMaxAge(model).call().await {
            Ok(age) => age > 0,
            Err(e) => return unavailable(e),
        };
        if !binds && !attested {
            return Admission::Refused(format!(
                "model {model_id} neither binds nor attests its inputs, so only the subject's \
                 own account may submit its proofs (SubjectNotSender): submit them with \
                 `zkinfer submit` from that account"
            ));
        }
        Admission::Admitted
    }

    /// What became of the transaction `tx` an earlier attempt sent: `None` when it is gone or
    /// reverted (the proof is then simulated and sent anew, which finds the statement if it is
    /// on chain).
    async fn earlier(&self, tx: &str) -> Option<Sent> {
        let Ok(hash) = tx.parse::<B256>() else {
            return None;
        };
        let provider = &self.chain.provider;
        match provider.get_transaction_receipt(hash).await {
            Ok(Some(receipt)) if receipt.status() => Some(Sent::Accepted(self.receipt(&receipt))),
            Ok(Some(_)) => None,
            Ok(None) => match provider.get_transaction_by_hash(hash).await {
                Ok(Some(_)) => Some(Sent::InFlight(tx.to_string())),
                Ok(None) => None,
                Err(e) => Some(Sent::Unavailable(self.redact(e))),
            },
            Err(e) => Some(Sent::Unavailable(self.redact(e))),
        }
    }

    fn receipt(&self, receipt: &TransactionReceipt) -> serde_json::Value {
        json!({
            "tx_hash": tx_hex(receipt.transaction_hash),
            "gas_used": receipt.gas_used,
            "block": receipt.block_number,
            "oracle": self.oracle,
            "chain_id": self.chain.chain_id,
            "submitter": self.chain.sender,
        })
    }

    async fn send(&self, path: &Path, sent: Option<&str>) -> Sent {
        if let Some(outcome) = match sent {
            Some(tx) => self.earlier(tx).await,
            None => None,
        } {
            return outcome;
        }
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
                return Sent::Unavailable(self.redact(chain::describe(&e.to_string())));
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
        let pending = match self
            .chain
            .provider
            .send_transaction(call.into_transaction_request())
            .await
        {
            Ok(pending) => pending,
            Err(e) => {
                return Sent::Unavailable(
                    self.redact(format!("not sent: {}", chain::describe(&e.to_string()))),
                )
            }
        };
        let hash = *pending.tx_hash();
        match pending.with_timeout(Some(RECEIPT_WAIT)).get_receipt().await {
            Ok(receipt) if receipt.status() => Sent::Accepted(self.receipt(&receipt)),
            // The next attempt's simulation says why (or finds the statement on chain).
            Ok(_) => Sent::Unavailable(format!("transaction {} reverted", tx_hex(hash))),
            Err(_) => Sent::InFlight(tx_hex(hash)),
        }
    }
}

impl Submitter for OracleRelay {
    fn oracle(&self) -> String {
        self.oracle.to_string()
    }

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

    fn admit<'a>(&'a self, model_id: &'a str, subject: &'a str) -> Pending<'a, Admission> {
        Box::pin(self.check(model_id, subject))
    }

    fn submit<'a>(&'a self, proof: &'a Path, sent: Option<&'a str>) -> Pending<'a, Sent> {
        Box::pin(self.send(proof, sent))
    }
}
