//! The embedded workers: `ServeConfig::workers` loops that take the oldest queued job from the
//! store and run it on a blocking thread. A proof job first takes its build's estimated proving
//! memory from a budget of the memory available at start, so parallel provers never overcommit
//! the machine (one job always runs). A job that fails with the prover's refusal fails at once;
//! one that panics or hits a file error is retried until its attempts run out, then failed with
//! its error (dead-lettered).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::api::AppState;
use crate::jobs;
use crate::store::{Job, JobStatus};
use crate::{Error, Result};

/// How long an idle worker waits before looking at the store again (another process may queue).
const IDLE_POLL: Duration = Duration::from_millis(500);

/// Starts the workers; the future resolves when they have stopped (after [`AppState::stop`]).
pub fn spawn(state: Arc<AppState>) -> impl std::future::Future<Output = ()> {
    let handles: Vec<_> = (0..state.config.workers.max(1))
        .map(|i| tokio::spawn(run(state.clone(), i)))
        .collect();
    async move {
        for h in handles {
            let _ = h.await;
        }
    }
}

async fn run(state: Arc<AppState>, worker: usize) {
    while !state.stopping() {
        let job = match state.db(|s| s.claim()).await {
            Ok(job) => job,
            Err(e) => {
                tracing::error!(worker, error = %e, "cannot take a job from the store");
                tokio::time::sleep(IDLE_POLL).await;
                continue;
            }
        };
        match job {
            Some(job) => execute(&state, worker, job).await,
            None => {
                let _ = tokio::time::timeout(IDLE_POLL, state.wake.notified()).await;
            }
        }
    }
}

/// Runs one claimed job and records its outcome (once).
async fn execute(state: &Arc<AppState>, worker: usize, job: Job) {
    let mib = jobs::proving_bytes(&state.paths, &job.work()) >> 20;
    let permits = u32::try_from(mib)
        .unwrap_or(u32::MAX)
        .clamp(1, state.memory_mib());
    let Ok(permit) = state.memory.acquire_many(permits).await else {
        return;
    };
    tracing::info!(worker, job = %job.id, kind = ?job.kind, attempt = job.attempts, "job started");
    let start = Instant::now();
    let (st, j) = (state.clone(), job.clone());
    let outcome = tokio::task::spawn_blocking(move || {
        std::panic::catch_unwind(AssertUnwindSafe(|| run_job(&st, &j)))
            .unwrap_or_else(|panic| Err(Error::Panicked(panic_message(&panic))))
    })
    .await
    .unwrap_or_else(|e| Err(Error::Panicked(e.to_string())));
    drop(permit);
    let seconds = start.elapsed().as_secs_f64();
    let recorded = match outcome {
        Ok(summary) => {
            state.metrics.observe(job.kind, seconds);
            let id = job.id.clone();
            state.db(move |s| s.finish(&id, &summary)).await.map(|done| {
                if done {
                    tracing::info!(worker, job = %job.id, seconds, "job done");
                } else {
                    tracing::warn!(job = %job.id, "job was no longer running: result not recorded again");
                }
            })
        }
        Err(e) => {
            let retry = jobs::retryable(&e);
            // What clients see of the error: without the server's paths.
            let message = jobs::redact(&e.to_string(), &state.config.data_dir);
            let (id, max) = (job.id.clone(), state.config.max_attempts);
            state
                .db(move |s| s.fail(&id, &message, retry, max))
                .await
                .map(|status| match status {
                    JobStatus::Queued => {
                        tracing::warn!(job = %job.id, error = %e, "job failed; queued again")
                    }
                    _ => tracing::warn!(job = %job.id, error = %e, "job failed"),
                })
        }
    };
    if let Err(e) = recorded {
        // The job stays running in the store: the next start re-queues it.
        tracing::error!(job = %job.id, error = %e, "cannot record the job's outcome");
    }
}

fn run_job(state: &AppState, job: &Job) -> Result<serde_json::Value> {
    jobs::run(&state.paths, &state.config.srs, &job.work())
}

/// The message a caught panic carried.
pub(crate) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}
