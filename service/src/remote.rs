//! `zkinfer worker`: a process, on any machine that sees the store, that proves jobs from the
//! Redis queue one at a time ([`crate::queue`] describes the streams).
//!
//! For each entry: a run beyond the server's `--max-attempts` is dead-lettered with the job's last error (or
//! with "its worker stopped", when the runs were cut short); otherwise the job runs on this
//! thread while a second thread renews the entry's lease every third of it. A result (done, or a
//! refusal that would fail again) is recorded and the entry acknowledged in one transaction; a
//! retryable failure (a file, the queue, a panic) queues the job again, counting the run.
//! A worker killed mid-proof leaves its entry pending: once its lease runs out another worker
//! takes it over.

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::jobs::{self, Paths};
use crate::objects::{self, Mirror};
use crate::queue::{Delivery, Outcome, Policy, Queue, QueuedJob};
use crate::worker::panic_message;
use crate::{Error, Result};

/// How `zkinfer worker` runs. The lease, the attempts and the SRS are the server's
/// ([`Policy`], read from Redis before each job), so every worker follows one policy.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// The queue's URL (`redis://HOST:PORT`).
    pub queue: String,
    /// The server's data directory, shared (uploads in, builds and proofs out); with
    /// [`WorkerConfig::objects`], this worker's local copy of it (its cache of builds).
    pub store: PathBuf,
    /// The object store the server and its workers share instead of a directory
    /// (`s3://BUCKET/PREFIX`, see [`crate::objects`]).
    pub objects: Option<String>,
    /// This worker's consumer name (unique among the workers).
    pub name: String,
}

impl WorkerConfig {
    /// A worker of `queue` over `store`, named from its host and process id.
    pub fn new(queue: String, store: PathBuf) -> Self {
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "worker".into());
        WorkerConfig {
            queue,
            store,
            objects: None,
            name: format!("{host}-{}", std::process::id()),
        }
    }
}

/// Takes jobs until `stop` is set (checked between jobs and every half second when idle).
/// Fails only when the queue cannot be reached, or has no server's policy, at start; later
/// losses are retried.
pub fn run(config: &WorkerConfig, stop: &AtomicBool) -> Result<()> {
    let mirror = match &config.objects {
        Some(url) => {
            let mirror = Mirror::open(url, &config.store)?;
            mirror.check()?;
            Some(mirror)
        }
        None if !config.store.is_dir() => {
            return Err(Error::Config(format!(
                "--store {}: not a directory (give the server's --data-dir, shared with this \
                 machine, or its object store's URL)",
                config.store.display()
            )))
        }
        None => None,
    };
    let mut queue = Queue::connect(&config.queue)?;
    let policy = queue.policy()?;
    let paths = Paths::new(&config.store);
    tracing::info!(worker = %config.name, queue = %queue.shown_url(), lease_s = policy.lease.as_secs_f64(), max_attempts = policy.max_attempts, "worker waiting for jobs");
    eprintln!(
        "worker {} waiting for jobs on {}",
        config.name,
        queue.shown_url()
    );
    while !stop.load(Ordering::Relaxed) {
        let outcome =
            queue
                .policy()
                .and_then(|policy| match queue.next_job(&config.name, policy.lease)? {
                    Some(delivery) => {
                        let here = Here {
                            config,
                            policy: &policy,
                            paths: &paths,
                            mirror: mirror.as_ref(),
                        };
                        handle(&here, &mut queue, &delivery)
                    }
                    None => Ok(()),
                });
        if let Err(e) = outcome {
            tracing::error!(worker = %config.name, error = %e, "queue: retrying in a second");
            std::thread::sleep(Duration::from_secs(1));
            if let Ok(fresh) = Queue::connect(&config.queue) {
                queue = fresh;
            }
        }
    }
    Ok(())
}

/// What a job runs with on this worker.
struct Here<'a> {
    config: &'a WorkerConfig,
    policy: &'a Policy,
    paths: &'a Paths,
    mirror: Option<&'a Mirror>,
}

impl Here<'_> {
    /// Runs `work`: with an object store, its files are fetched first and its results sent
    /// after.
    fn run(&self, work: &jobs::Work) -> Result<serde_json::Value> {
        if let Some(mirror) = self.mirror {
            let moved = objects::fetch_for(mirror, self.paths, work)?;
            tracing::info!(job = %work.id, fetched = moved.files, bytes = moved.bytes, cached = moved.cached, "job files from the store");
        }
        let summary = jobs::run(self.paths, &self.policy.srs, work)?;
        if let Some(mirror) = self.mirror {
            objects::send_after(mirror, work)?;
        }
        Ok(summary)
    }
}

fn handle(here: &Here<'_>, queue: &mut Queue, delivery: &Delivery) -> Result<()> {
    let (config, policy) = (here.config, here.policy);
    let job = match &delivery.job {
        Ok(job) => job,
        Err(why) => {
            tracing::error!(entry = %delivery.entry, %why, "an entry that is not a job: dead-lettered");
            queue.dead_letter(&config.name, delivery, &format!("not a job: {why}"))?;
            return Ok(());
        }
    };
    let id = &job.work.id;
    if !queue.is_published(id)? {
        // Its result is recorded: an entry left by a retry that raced with the result.
        tracing::info!(job = %id, entry = %delivery.entry, "a finished job's entry: dropped");
        queue.drop_stale(&config.name, &delivery.entry)?;
        return Ok(());
    }
    let attempt = delivery.attempt();
    if attempt > policy.max_attempts {
        let last = queue.last_error(id)?.unwrap_or_else(|| {
            format!(
                "the worker running it stopped ({} deliveries)",
                delivery.delivered.saturating_sub(1)
            )
        });
        tracing::warn!(job = %id, attempt, error = %last, "job dead-lettered");
        queue.dead_letter(&config.name, delivery, &last)?;
        return Ok(());
    }
    tracing::info!(worker = %config.name, job = %id, kind = ?job.work.kind, attempt, "job started");
    let start = Instant::now();
    let (outcome, held) = with_lease(config, policy, queue, &delivery.entry, || {
        std::panic::catch_unwind(AssertUnwindSafe(|| here.run(&job.work)))
            .unwrap_or_else(|panic| Err(Error::Panicked(panic_message(&panic))))
    })?;
    if let Some(mirror) = here.mirror {
        // The proof's input and secrets leave this worker whatever came of the job (a failed
        // fetch, an error, a panic).
        if let Err(e) = objects::drop_local_proof(mirror, &job.work) {
            tracing::warn!(job = %id, error = %e, "dropping the job's files from the cache");
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    match outcome {
        Ok(summary) => {
            queue.complete(&config.name, delivery, id, &Outcome::Done(summary), seconds)?;
            tracing::info!(job = %id, seconds, "job done");
            Ok(())
        }
        Err(e) => failed(config, policy, queue, delivery, job, &e, seconds, held),
    }
}

/// Records a failed run: for good, dead-lettered, or queued again (not by a worker that lost
/// its lease: the job runs elsewhere).
#[allow(clippy::too_many_arguments)]
fn failed(
    config: &WorkerConfig,
    policy: &Policy,
    queue: &mut Queue,
    delivery: &Delivery,
    job: &QueuedJob,
    error: &Error,
    seconds: f64,
    held: bool,
) -> Result<()> {
    let id = &job.work.id;
    let message = match error {
        // A store's error may carry what it was sent (signatures, key ids): kept in this log.
        Error::Objects(detail) => {
            tracing::warn!(job = %id, error = %detail, "object store");
            "the object store failed (details in the worker's log)".to_string()
        }
        _ => jobs::redact(&error.to_string(), &config.store),
    };
    if !jobs::retryable(error) {
        tracing::warn!(job = %id, error = %message, "job failed");
        let outcome = Outcome::Failed(message);
        return queue.complete(&config.name, delivery, id, &outcome, seconds);
    }
    if !held {
        tracing::warn!(job = %id, error = %message, "job failed after its lease passed to another worker: left to it");
        return Ok(());
    }
    if delivery.attempt() >= policy.max_attempts {
        tracing::warn!(job = %id, error = %message, "job dead-lettered");
        queue.dead_letter(&config.name, delivery, &message)?;
        return Ok(());
    }
    tracing::warn!(job = %id, error = %message, "job failed; queued again");
    queue.retry(&config.name, delivery, job, &message)?;
    Ok(())
}

/// Runs `work` while another thread renews `entry`'s lease every third of it; with whether
/// the lease held to the end.
fn with_lease<T>(
    config: &WorkerConfig,
    policy: &Policy,
    queue: &Queue,
    entry: &str,
    work: impl FnOnce() -> T,
) -> Result<(T, bool)> {
    let mut beat = queue.another()?;
    let (done, stopped) = mpsc::channel::<()>();
    let every = (policy.lease / 3).max(Duration::from_millis(100));
    let held = AtomicBool::new(true);
    let held_ref = &held;
    let out = std::thread::scope(|scope| {
        scope.spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                match beat.heartbeat(&config.name, entry) {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(%entry, "lease lost: another worker took the job over");
                        held_ref.store(false, Ordering::Relaxed);
                        return;
                    }
                    Err(e) => tracing::warn!(%entry, error = %e, "cannot renew the lease"),
                }
            }
        });
        let out = work();
        drop(done);
        out
    });
    Ok((out, held.load(Ordering::Relaxed)))
}
