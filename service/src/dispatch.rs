//! The server's side of the Redis queue (`zkinfer serve --queue redis://…`): one thread that
//! publishes queued jobs to the workers and records their results in the store.
//!
//! A job is claimed in the store (running) and then published; a crash between the two leaves
//! it running with no entry, so at start every running job is published again, and the
//! publication script adds nothing for those that had one ([`crate::queue`]). Results are
//! recorded before they are acknowledged: after a crash the unacknowledged ones are read again,
//! and a job that is no longer running is not recorded twice.

use std::sync::Arc;
use std::time::Duration;

use crate::api::AppState;
use crate::queue::{Outcome, Queue, QueuedJob, RunResult};
use crate::store::JobStatus;
use crate::Result;

/// Starts the dispatcher over `queue`; the handle ends after [`AppState::stop`].
pub fn spawn(state: Arc<AppState>, queue: Queue) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || run(&state, queue))
}

fn run(state: &AppState, mut queue: Queue) {
    let mut recovered = false;
    while !state.stopping() {
        let step = if recovered {
            step(state, &mut queue)
        } else {
            recover(state, &mut queue).map(|()| recovered = true)
        };
        if let Err(e) = step {
            tracing::error!(error = %e, "queue: retrying in a second");
            std::thread::sleep(Duration::from_secs(1));
            if let Ok(fresh) = queue.another() {
                queue = fresh;
            }
        }
    }
}

/// After a start: publishes again what was running, records the results read but not
/// acknowledged before the stop.
fn recover(state: &AppState, queue: &mut Queue) -> Result<()> {
    let running = state.store.running()?;
    let mut published = 0;
    for job in &running {
        published += usize::from(queue.publish(&queued(job))?);
    }
    if published > 0 {
        tracing::info!(
            published,
            "published jobs that were claimed but not queued before the last stop"
        );
    }
    loop {
        let pending = queue.results(true)?;
        if pending.is_empty() {
            return Ok(());
        }
        record_all(state, queue, pending)?;
    }
}

/// Publishes every queued job, then waits (up to half a second) for results and records them.
fn step(state: &AppState, queue: &mut Queue) -> Result<()> {
    while let Some(job) = state.store.claim()? {
        queue.publish(&queued(&job))?;
        tracing::info!(job = %job.id, kind = ?job.kind, "job published");
    }
    let results = queue.results(false)?;
    record_all(state, queue, results)
}

fn queued(job: &crate::store::Job) -> QueuedJob {
    QueuedJob {
        job: job.id.clone(),
        kind: job.kind,
        build: job.build_id.clone(),
        attempts_before: 0,
    }
}

fn record_all(
    state: &AppState,
    queue: &mut Queue,
    results: Vec<(String, std::result::Result<RunResult, String>)>,
) -> Result<()> {
    for (entry, result) in results {
        match result {
            Ok(result) => {
                record(state, &result)?;
                queue.ack_result(&result.entry, Some(&result.job))?;
            }
            Err(why) => {
                tracing::error!(%entry, %why, "queue: a result entry that is not one; dropped");
                queue.ack_result(&entry, None)?;
            }
        }
    }
    Ok(())
}

/// Records a run's outcome, once: a job no longer running keeps its first result.
fn record(state: &AppState, result: &RunResult) -> Result<()> {
    let Some(job) = state.store.get(&result.job)? else {
        tracing::warn!(job = %result.job, "queue: a result for an unknown job; dropped");
        return Ok(());
    };
    if job.status != JobStatus::Running {
        tracing::info!(job = %job.id, status = ?job.status, "queue: a second result for a job; not recorded");
        return Ok(());
    }
    state.store.set_attempts(&job.id, result.attempts)?;
    match &result.outcome {
        Outcome::Done(summary) => {
            if state.store.finish(&job.id, summary)? {
                state.metrics.observe(job.kind, result.seconds);
                tracing::info!(job = %job.id, seconds = result.seconds, attempts = result.attempts, "job done");
            }
        }
        Outcome::Failed(error) => {
            state
                .store
                .fail(&job.id, error, false, state.config.max_attempts)?;
            tracing::warn!(job = %job.id, %error, "job failed");
        }
    }
    Ok(())
}
