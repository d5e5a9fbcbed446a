//! On-chain submission of finished proofs (`zkinfer serve --oracle ADDRESS`): a proof requested
//! with `?submit=true` is sent to the configured oracle once it is done, by one task of the
//! server, one transaction at a time.
//!
//! The request to submit is recorded with its job (one transaction), so it survives a restart.
//! A submission is idempotent by the oracle's own rule: a statement is credited once
//! (`StatementAlreadyUsed`). A transaction sent before a crash, and not yet recorded, is found on
//! chain when it is sent again and recorded as such; never credited twice.
//!
//! The chain client is not in this crate: the binary gives the server a [`Submitter`] (the CLI's
//! alloy client), so the service carries no wallet code and no key but the one it was handed.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::api::AppState;
use crate::store::SubmissionStatus;

/// Sends a proof file to an oracle. Implemented by the binary over its chain client.
pub trait Submitter: Send + Sync + std::fmt::Debug {
    /// Where proofs go, for logs and `GET /v1/proofs`: e.g. "oracle 0x… on chain 31337".
    fn target(&self) -> String;

    /// Sends the proof file at `proof` (as `zkinfer prove` writes it) and waits for the outcome.
    fn submit<'a>(&'a self, proof: &'a Path) -> Pin<Box<dyn Future<Output = Sent> + Send + 'a>>;
}

/// What sending one proof came to.
#[derive(Clone, Debug, PartialEq)]
pub enum Sent {
    /// Mined and accepted: the receipt's figures (`tx_hash`, `gas_used`, `block`, ...).
    Accepted(serde_json::Value),
    /// The oracle already holds this statement (sent before a restart, or by anyone else).
    AlreadyOnChain(String),
    /// The oracle refuses the proof, with its decoded reason: not sent, not retried.
    Refused(String),
    /// The chain could not be reached or the receipt did not come: tried again later.
    Unavailable(String),
}

/// Attempts of a submission the chain did not answer before it is failed for good.
pub const MAX_SUBMIT_ATTEMPTS: u32 = 5;

/// How long the submission task sleeps when nothing is due, and after an unanswered attempt
/// (times the attempts).
const IDLE: Duration = Duration::from_millis(500);

/// Runs until the server stops: sends each pending submission whose proof is done, in order.
pub async fn run(state: Arc<AppState>, submitter: Arc<dyn Submitter>) {
    tracing::info!(target = %submitter.target(), "submitting requested proofs on chain");
    while !state.stopping() {
        let due = state
            .db(|s| {
                s.settle_submissions()?;
                s.next_submission()
            })
            .await;
        let (job, attempts) = match due {
            Ok(Some(next)) => next,
            Ok(None) => {
                pause(&state, IDLE).await;
                continue;
            }
            Err(e) => {
                tracing::error!(error = %e, "reading pending submissions");
                pause(&state, IDLE * 4).await;
                continue;
            }
        };
        let proof = state.paths.proof(&job);
        let sent = submitter.submit(&proof).await;
        let (status, detail, wait) = outcome(sent, attempts + 1);
        match &status {
            SubmissionStatus::Submitted => tracing::info!(%job, %detail, "proof submitted"),
            SubmissionStatus::Failed => tracing::warn!(%job, %detail, "submission failed"),
            SubmissionStatus::Pending => {
                tracing::warn!(%job, %detail, attempt = attempts + 1, "submission to retry")
            }
        }
        let id = job.clone();
        if let Err(e) = state
            .db(move |s| s.record_submission(&id, status, &detail))
            .await
        {
            tracing::error!(%job, error = %e, "recording a submission");
        }
        if let Some(wait) = wait {
            pause(&state, wait).await;
        }
    }
}

/// Sleeps `wait`, or less when the server stops.
async fn pause(state: &AppState, wait: Duration) {
    let mut left = wait;
    while !left.is_zero() && !state.stopping() {
        let step = left.min(IDLE);
        tokio::time::sleep(step).await;
        left -= step;
    }
}

/// The recorded status and detail of attempt `attempt` that came to `sent`, and how long to wait
/// before the next attempt when it is to be retried.
fn outcome(sent: Sent, attempt: u32) -> (SubmissionStatus, serde_json::Value, Option<Duration>) {
    use serde_json::json;
    match sent {
        Sent::Accepted(receipt) => (SubmissionStatus::Submitted, receipt, None),
        Sent::AlreadyOnChain(reason) => (
            SubmissionStatus::Submitted,
            json!({ "already_on_chain": true, "reason": reason }),
            None,
        ),
        Sent::Refused(reason) => (SubmissionStatus::Failed, json!({ "error": reason }), None),
        Sent::Unavailable(reason) if attempt >= MAX_SUBMIT_ATTEMPTS => (
            SubmissionStatus::Failed,
            json!({ "error": format!("{reason} (after {attempt} attempts)") }),
            None,
        ),
        Sent::Unavailable(reason) => (
            SubmissionStatus::Pending,
            json!({ "error": reason }),
            Some(IDLE * 4 * attempt),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_final_except_an_unanswered_chain_within_its_attempts() {
        let (s, d, w) = outcome(Sent::Accepted(serde_json::json!({"tx_hash": "0x1"})), 1);
        assert_eq!((s, w), (SubmissionStatus::Submitted, None));
        assert_eq!(d["tx_hash"], "0x1");
        let (s, d, _) = outcome(Sent::AlreadyOnChain("StatementAlreadyUsed".into()), 2);
        assert_eq!(s, SubmissionStatus::Submitted);
        assert_eq!(d["already_on_chain"], true);
        let (s, d, w) = outcome(Sent::Refused("SubjectNotSender".into()), 1);
        assert_eq!((s, w), (SubmissionStatus::Failed, None));
        assert_eq!(d["error"], "SubjectNotSender");
        let (s, _, w) = outcome(Sent::Unavailable("connection refused".into()), 1);
        assert_eq!(s, SubmissionStatus::Pending);
        assert!(w.is_some());
        let (s, d, w) = outcome(
            Sent::Unavailable("connection refused".into()),
            MAX_SUBMIT_ATTEMPTS,
        );
        assert_eq!((s, w), (SubmissionStatus::Failed, None));
        assert!(d["error"].as_str().unwrap().contains("after 5 attempts"));
    }
}
