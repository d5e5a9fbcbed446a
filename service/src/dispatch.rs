//! The server's side of the Redis queue (`zkinfer serve --queue redis://…`): one thread that
//! publishes queued jobs to the workers and records their results in the store.
//!
//! A job is claimed in the store (running) and then published; a crash or a Redis error
//! between the two leaves it running with no entry, so after a start, after any error, and every
//! half minute, every running job is published again: the publication script adds nothing for
//! those that had an entry ([`crate::queue`]), and a Redis that lost its data gets them back.
//! Results are recorded before they are acknowledged, and the server's own unacknowledged
//! results are read again before new ones, so none is lost; a job that is no longer running
//! keeps its first result.
//!
//! With an object store instead of a shared directory ([`crate::objects`]), a job's request
//! files are sent before it is published and its results fetched before they are recorded.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::api::AppState;
use crate::queue::{Outcome, Queue, RunResult};
use crate::store::{JobKind, JobStatus};
use crate::{jobs, objects, Result};

/// Reads of a result whose files cannot be fetched from the store before the job fails (the
/// dispatcher pauses a second after each, and the store's client retries within each).
const FETCH_TRIES: u32 = 30;

/// How often running jobs are published again (each publication happens once per job).
const REPUBLISH: Duration = Duration::from_secs(30);

/// Starts the dispatcher over `queue`; the handle ends after [`AppState::stop`].
pub fn spawn(state: Arc<AppState>, queue: Queue) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || run(&state, queue))
}

fn run(state: &AppState, mut queue: Queue) {
    let mut last_recovery: Option<Instant> = None;
    while !state.stopping() {
        let due = last_recovery.is_none_or(|t| t.elapsed() >= REPUBLISH);
        let step = if due {
            recover(state, &mut queue).map(|()| last_recovery = Some(Instant::now()))
        } else {
            step(state, &mut queue)
        };
        if let Err(e) = step {
            tracing::error!(error = %e, "queue: retrying in a second");
            // Publish again what may have been claimed and not published.
            last_recovery = None;
            std::thread::sleep(Duration::from_secs(1));
            if let Ok(fresh) = queue.another() {
                queue = fresh;
            }
        }
    }
}

/// Publishes again every running job (adding entries only for those that have none), after
/// restoring the consumer groups and the workers' policy (a Redis that lost its data).
fn recover(state: &AppState, queue: &mut Queue) -> Result<()> {
    queue.ensure_groups()?;
    queue.configure(&crate::queue::Policy {
        lease: state.config.lease,
        max_attempts: state.config.max_attempts,
        srs: state.config.srs.clone(),
    })?;
    let mut published = 0;
    for job in state.store.running()? {
        send_request(state, &job.work())?;
        published += usize::from(queue.publish(&job.work())?);
    }
    if published > 0 {
        tracing::warn!(
            published,
            "published running jobs that had no entry in the queue (claimed before a stop or a \
             Redis error, or lost by Redis)"
        );
    }
    Ok(())
}

/// Records results read before and not acknowledged; else publishes every queued job, then
/// waits (up to half a second) for results and records them.
fn step(state: &AppState, queue: &mut Queue) -> Result<()> {
    let pending = queue.results(true)?;
    if !pending.is_empty() {
        return record_all(state, queue, pending);
    }
    while let Some(job) = state.store.claim()? {
        send_request(state, &job.work())?;
        queue.publish(&job.work())?;
        tracing::info!(job = %job.id, kind = ?job.kind, "job published");
    }
    let results = queue.results(false)?;
    record_all(state, queue, results)
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
                queue.ack_result(&entry, Some(&result.job))?;
            }
            Err(why) => {
                tracing::error!(%entry, %why, "queue: a result entry that is not one; dropped");
                queue.ack_result(&entry, None)?;
            }
        }
    }
    Ok(())
}

/// With an object store: sends the files `work` reads before it is published.
fn send_request(state: &AppState, work: &crate::jobs::Work) -> Result<()> {
    match &state.objects {
        Some(mirror) => objects::send_request(mirror, work),
        None => Ok(()),
    }
}

/// Records a run's outcome, once: a job no longer running keeps its first result. A "done"
/// whose result file is missing or not the job's build's is recorded as a failure.
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
    let fetched = match (&state.objects, &result.outcome) {
        (Some(mirror), Outcome::Done(_)) => objects::fetch_result(mirror, &job.work()),
        _ => Ok(()),
    };
    let unfetchable = match fetched {
        Ok(()) => false,
        Err(e) => {
            // A store that does not answer: the result is read again (not acknowledged), after
            // the dispatcher's pause, for a while; then the job fails rather than holding every
            // other result back.
            let tries = state.count_fetch_failure(&job.id);
            if tries < FETCH_TRIES {
                tracing::warn!(job = %job.id, tries, error = %e, "fetching a result from the store");
                return Err(e);
            }
            tracing::error!(job = %job.id, error = %e, "a result that cannot be fetched: the job fails");
            true
        }
    };
    state.forget_fetch_failures(&job.id);
    let outcome = match &result.outcome {
        Outcome::Done(_) if unfetchable => Outcome::Failed(
            "the worker reported done, but its result could not be fetched from the store".into(),
        ),
        Outcome::Done(summary) => match check_result_file(state, &job) {
            Ok(()) => Outcome::Done(summary.clone()),
            Err(why) => Outcome::Failed(format!("the worker reported done, but {why}")),
        },
        failed => failed.clone(),
    };
    match outcome {
        Outcome::Done(summary) => {
            if state.store.finish(&job.id, &summary)? {
                state.metrics.observe(job.kind, result.seconds);
                tracing::info!(job = %job.id, seconds = result.seconds, attempts = result.attempts, "job done");
            }
        }
        Outcome::Failed(error) => {
            state
                .store
                .fail(&job.id, &error, false, state.config.max_attempts)?;
            tracing::warn!(job = %job.id, %error, "job failed");
        }
    }
    if let Some(mirror) = &state.objects {
        // A proof recorded, done or failed (a segment failing for good fails its proof): the
        // input and the secrets leave the store. Again for each later segment result of a
        // failed proof (a segment still running when it failed sends its proof after).
        let proof = match (job.kind, job.parent.as_deref(), job.build_id.as_deref()) {
            (JobKind::Proof, _, Some(build)) => {
                Some((job.id.clone(), state.paths.is_segmented(build)))
            }
            (JobKind::Segment, Some(parent), _) => state
                .store
                .get(parent)?
                .filter(|p| p.status == JobStatus::Failed)
                .map(|p| (p.id, true)),
            _ => None,
        };
        if let Some((proof, segmented)) = proof {
            if let Err(e) = objects::drop_proof_secrets(mirror, &proof, segmented) {
                tracing::warn!(job = %proof, error = %e, "removing a proof's files from the store");
            }
        }
    }
    Ok(())
}

/// Whether the file a finished job leaves is there: a proof's is a proof file of its build's
/// model, a segment's a proof file, a build's its settings.
fn check_result_file(state: &AppState, job: &crate::store::Job) -> std::result::Result<(), String> {
    use zkinfer_prover::artifacts::{Artifact, ProofArtifact};
    let paths = &state.paths;
    let read_proof = |path: std::path::PathBuf| {
        ProofArtifact::read(&path).map_err(|e| {
            format!(
                "its proof file is unreadable: {}",
                jobs::redact(&e.to_string(), &state.config.data_dir)
            )
        })
    };
    match (
        job.kind,
        job.build_id.as_deref(),
        job.parent.as_deref(),
        job.segment,
    ) {
        (JobKind::Build, ..) => {
            let root = paths.build_dir(&job.id);
            let settings = root.settings();
            let segmented = root.root().join("segments.json");
            if settings.exists() || segmented.exists() {
                Ok(())
            } else {
                Err("the build left no settings".into())
            }
        }
        (JobKind::Proof, Some(build), ..) => {
            let proof = read_proof(paths.proof(&job.id))?;
            let expected = state
                .store
                .get(build)
                .ok()
                .flatten()
                .and_then(|b| b.summary)
                .and_then(|s| s["model_id"].as_str().map(str::to_string));
            match expected {
                Some(id) if id == proof.model_id.to_string() => Ok(()),
                _ => Err("its proof file is not of the build's model".into()),
            }
        }
        (JobKind::Segment, _, Some(parent), Some(i)) => {
            read_proof(paths.segment_proof(parent, i)).map(|_| ())
        }
        _ => Err("the job is malformed".into()),
    }
}
