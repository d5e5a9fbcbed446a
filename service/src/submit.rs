//! On-chain submission of finished proofs (`zkinfer serve --oracle ADDRESS`): a proof requested
//! with `?submit=true` is sent to the configured oracle once it is done, by one task of the
//! server, one transaction at a time.
//!
//! - **Admission.** A request is checked against the oracle before anything is proven
//!   ([`Submitter::admit`]): the model must be active there and bind or attest its inputs (else
//!   only the subject's own account may submit, `SubjectNotSender`), and the subject must not be
//!   the relay's own account (whose output anyone could otherwise choose).
//! - **Durability.** The request is recorded with its job, with the oracle it is for, in one
//!   transaction, so it survives a restart; a restart with another oracle fails it rather than
//!   sending it elsewhere.
//! - **Once.** A transaction's hash is recorded as soon as it is sent; a later attempt looks for
//!   that transaction before sending another. The oracle credits a statement once
//!   (`StatementAlreadyUsed`), so a transaction sent just before a crash and not yet recorded is
//!   found on chain when the submission is tried again, and recorded as such.
//!
//! The chain client is not in this crate: the binary gives the server a [`Submitter`] (the CLI's
//! alloy client), so the service carries no wallet code and no key but the one it was handed.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::api::AppState;
use crate::store::SubmissionStatus;

/// A boxed future of a [`Submitter`].
pub type Pending<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Sends proof files to one oracle from one account. Implemented by the binary over its chain
/// client.
pub trait Submitter: Send + Sync + std::fmt::Debug {
    /// The oracle's address (`0x…`), recorded with each request.
    fn oracle(&self) -> String;

    /// Where proofs go, for logs: e.g. "oracle 0x… on chain 31337 from 0x…".
    fn target(&self) -> String;

    /// Whether a proof of `model_id` (`0x…` bytes32) about `subject` may be submitted: `Err`
    /// with the reason when the oracle would refuse it, or the relay must not send it.
    fn admit<'a>(&'a self, model_id: &'a str, subject: &'a str) -> Pending<'a, Admission>;

    /// Sends the proof file at `proof` (as `zkinfer prove` writes it) and waits for the outcome.
    /// `sent` is the hash of a transaction an earlier attempt sent for it, if any: it is looked
    /// for first, and nothing new is sent while it is pending.
    fn submit<'a>(&'a self, proof: &'a Path, sent: Option<&'a str>) -> Pending<'a, Sent>;
}

/// The answer of [`Submitter::admit`].
#[derive(Clone, Debug, PartialEq)]
pub enum Admission {
    /// The oracle would take such a proof from the relay.
    Admitted,
    /// It would not, or the relay must not send it: why.
    Refused(String),
    /// The chain did not answer.
    Unavailable(String),
}

/// What one attempt at sending a proof came to.
#[derive(Clone, Debug, PartialEq)]
pub enum Sent {
    /// Mined and accepted: the receipt's figures (`tx_hash`, `gas_used`, `block`, ...).
    Accepted(serde_json::Value),
    /// The oracle already holds this statement (sent before a restart, or by anyone else).
    AlreadyOnChain(String),
    /// The oracle refuses the proof, with its decoded reason: not sent, not retried.
    Refused(String),
    /// Sent as this transaction, not mined yet: looked for again, not sent again.
    InFlight(String),
    /// The chain could not be reached: tried again later.
    Unavailable(String),
}

/// Attempts of a submission the chain did not answer before it is failed for good (the pauses
/// between them grow to [`MAX_PAUSE`]: about 13 minutes in all).
pub const MAX_SUBMIT_ATTEMPTS: u32 = 10;

/// The longest pause between two attempts.
const MAX_PAUSE: Duration = Duration::from_secs(300);

/// The longest one attempt may take (a receipt is awaited for less).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(180);

/// How long the submission task sleeps when nothing is due.
const IDLE: Duration = Duration::from_millis(500);

/// Runs until the server stops: sends each pending submission whose proof is done, in order.
/// An attempt under way when the server stops is abandoned; it is made again at the next start
/// (and finds its transaction, or the statement on chain, if it had been sent).
pub async fn run(state: Arc<AppState>, submitter: Arc<dyn Submitter>) {
    tracing::info!(target = %submitter.target(), "submitting requested proofs on chain");
    let oracle = submitter.oracle();
    while !state.stopping() {
        let due = state.db(|s| s.next_submission()).await;
        let next = match due {
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
        let attempt = next.attempts + 1;
        let sent = if !next.oracle.eq_ignore_ascii_case(&oracle) {
            Sent::Refused(format!(
                "requested for the oracle {}; this server now submits to {oracle}",
                next.oracle
            ))
        } else {
            let proof = state.paths.proof(&next.job);
            let attempt = tokio::time::timeout(
                ATTEMPT_TIMEOUT,
                submitter.submit(&proof, next.tx_hash.as_deref()),
            );
            tokio::select! {
                sent = attempt => sent.unwrap_or_else(|_| Sent::Unavailable(format!(
                    "no answer from the chain within {} s", ATTEMPT_TIMEOUT.as_secs()
                ))),
                () = stopped(&state) => break,
            }
        };
        let (status, mut detail, wait) = outcome(sent, attempt);
        if let (SubmissionStatus::Pending, Some(tx)) = (status, &next.tx_hash) {
            // A transaction sent before stays the one to look for.
            if detail.get("tx_hash").is_none() {
                detail["tx_hash"] = json!(tx);
            }
        }
        let job = next.job;
        match &status {
            SubmissionStatus::Submitted => tracing::info!(%job, %detail, "proof submitted"),
            SubmissionStatus::Failed => tracing::warn!(%job, %detail, "submission failed"),
            SubmissionStatus::Pending => {
                tracing::warn!(%job, %detail, attempt, "submission to try again")
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

/// Resolves once the server stops.
async fn stopped(state: &AppState) {
    while !state.stopping() {
        tokio::time::sleep(IDLE).await;
    }
}

/// Sleeps `wait`, or less when the server stops.
async fn pause(state: &AppState, wait: Duration) {
    tokio::select! {
        () = tokio::time::sleep(wait) => {}
        () = stopped(state) => {}
    }
}

/// The recorded status and detail of attempt `attempt` that came to `sent`, and how long to wait
/// before the next attempt when there is one.
fn outcome(sent: Sent, attempt: u32) -> (SubmissionStatus, serde_json::Value, Option<Duration>) {
    let backoff = MAX_PAUSE.min(Duration::from_secs(1 << attempt.min(16)));
    match sent {
        Sent::Accepted(receipt) => (SubmissionStatus::Submitted, receipt, None),
        Sent::AlreadyOnChain(reason) => (
            SubmissionStatus::Submitted,
            json!({ "already_on_chain": true, "reason": reason }),
            None,
        ),
        Sent::Refused(reason) => (SubmissionStatus::Failed, json!({ "error": reason }), None),
        // A transaction in flight is never given up on here: it may still be mined.
        Sent::InFlight(tx) => (
            SubmissionStatus::Pending,
            json!({ "tx_hash": tx, "error": "sent, not mined yet" }),
            Some(backoff),
        ),
        Sent::Unavailable(reason) if attempt >= MAX_SUBMIT_ATTEMPTS => (
            SubmissionStatus::Failed,
            json!({ "error": format!("{reason} (after {attempt} attempts)") }),
            None,
        ),
        Sent::Unavailable(reason) => (
            SubmissionStatus::Pending,
            json!({ "error": reason }),
            Some(backoff),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_final_except_an_unanswered_chain_within_its_attempts() {
        let (s, d, w) = outcome(Sent::Accepted(json!({"tx_hash": "0x1"})), 1);
        assert_eq!((s, w), (SubmissionStatus::Submitted, None));
        assert_eq!(d["tx_hash"], "0x1");
        let (s, d, _) = outcome(Sent::AlreadyOnChain("StatementAlreadyUsed".into()), 2);
        assert_eq!(s, SubmissionStatus::Submitted);
        assert_eq!(d["already_on_chain"], true);
        let (s, d, w) = outcome(Sent::Refused("SubjectNotSender".into()), 1);
        assert_eq!((s, w), (SubmissionStatus::Failed, None));
        assert_eq!(d["error"], "SubjectNotSender");
        let (s, _, w) = outcome(Sent::Unavailable("connection refused".into()), 1);
        assert_eq!(
            (s, w),
            (SubmissionStatus::Pending, Some(Duration::from_secs(2)))
        );
        let (_, _, w) = outcome(Sent::Unavailable("connection refused".into()), 9);
        assert_eq!(w, Some(MAX_PAUSE));
        let (s, d, w) = outcome(
            Sent::Unavailable("connection refused".into()),
            MAX_SUBMIT_ATTEMPTS,
        );
        assert_eq!((s, w), (SubmissionStatus::Failed, None));
        assert!(d["error"].as_str().unwrap().contains("after 10 attempts"));
        // A sent transaction keeps its hash and is never failed for its attempts.
        let (s, d, _) = outcome(Sent::InFlight("0xab".into()), MAX_SUBMIT_ATTEMPTS + 5);
        assert_eq!(s, SubmissionStatus::Pending);
        assert_eq!(d["tx_hash"], "0xab");
    }
}
