//! `zkinfer worker`: a process, on any machine that sees the store, that proves jobs from the
//! Redis queue one at a time ([`crate::queue`] describes the streams).
//!
//! For each entry: a run beyond `max_attempts` is dead-lettered with the job's last error (or
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

use zkinfer_prover::pipeline::SrsChoice;

use crate::jobs::{self, Paths};
use crate::queue::{Delivery, Outcome, Queue, QueuedJob};
use crate::worker::panic_message;
use crate::{Error, Result};

/// How `zkinfer worker` runs.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// The queue's URL (`redis://HOST:PORT`).
    pub queue: String,
    /// The store: the server's data directory, shared (uploads in, builds and proofs out).
    pub store: PathBuf,
    /// The SRS build jobs make keys with (the server's).
    pub srs: SrsChoice,
    /// How long an entry may go without its lease renewed before another worker takes it.
    pub lease: Duration,
    /// Runs of a job before it is dead-lettered (runs cut short by a worker's death count).
    pub max_attempts: u32,
    /// This worker's consumer name (unique among the workers).
    pub name: String,
}

impl WorkerConfig {
    /// Defaults for `queue` and `store`: 30 s leases, 3 attempts, a name from host and pid.
    pub fn new(queue: String, store: PathBuf) -> Self {
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "worker".into());
        WorkerConfig {
            queue,
            store,
            srs: SrsChoice::Dev,
            lease: Duration::from_secs(30),
            max_attempts: 3,
            name: format!("{host}-{}", std::process::id()),
        }
    }
}

/// Takes jobs until `stop` is set (checked between jobs and every half second when idle).
/// Fails only when the queue cannot be reached at start; later losses are retried.
pub fn run(config: &WorkerConfig, stop: &AtomicBool) -> Result<()> {
    if !config.store.is_dir() {
        return Err(Error::Config(format!(
            "--store {}: not a directory (give the server's --data-dir, shared with this machine)",
            config.store.display()
        )));
    }
    let mut queue = Queue::connect(&config.queue)?;
    let paths = Paths::new(&config.store);
    tracing::info!(worker = %config.name, queue = %queue.shown_url(), "worker waiting for jobs");
    eprintln!(
        "worker {} waiting for jobs on {}",
        config.name,
        queue.shown_url()
    );
    while !stop.load(Ordering::Relaxed) {
        let next = queue.next_job(&config.name, config.lease);
        let outcome = match next {
            Ok(Some(delivery)) => handle(config, &paths, &mut queue, &delivery),
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
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

fn handle(
    config: &WorkerConfig,
    paths: &Paths,
    queue: &mut Queue,
    delivery: &Delivery,
) -> Result<()> {
    let job = match &delivery.job {
        Ok(job) => job,
        Err(why) => {
            tracing::error!(entry = %delivery.entry, %why, "an entry that is not a job: dead-lettered");
            return queue.dead_letter(&config.name, delivery, &format!("not a job: {why}"));
        }
    };
    let attempt = delivery.attempt();
    if attempt > config.max_attempts {
        let last = queue.last_error(&job.job)?.unwrap_or_else(|| {
            format!(
                "the worker running it stopped ({} deliveries)",
                delivery.delivered - 1
            )
        });
        tracing::warn!(job = %job.job, attempt, error = %last, "job dead-lettered");
        return queue.dead_letter(&config.name, delivery, &last);
    }
    tracing::info!(worker = %config.name, job = %job.job, kind = ?job.kind, attempt, "job started");
    let start = Instant::now();
    let outcome = with_lease(config, queue, &delivery.entry, || {
        std::panic::catch_unwind(AssertUnwindSafe(|| {
            jobs::run(paths, &config.srs, &job.job, job.kind, job.build.as_deref())
        }))
        .unwrap_or_else(|panic| Err(Error::Panicked(panic_message(&panic))))
    })?;
    let seconds = start.elapsed().as_secs_f64();
    match outcome {
        Ok(summary) => {
            queue.complete(
                &config.name,
                delivery,
                &job.job,
                &Outcome::Done(summary),
                seconds,
            )?;
            tracing::info!(job = %job.job, seconds, "job done");
            Ok(())
        }
        Err(e) => failed(config, queue, delivery, job, &e, seconds),
    }
}

/// Records a failed run: for good, dead-lettered, or queued again.
fn failed(
    config: &WorkerConfig,
    queue: &mut Queue,
    delivery: &Delivery,
    job: &QueuedJob,
    error: &Error,
    seconds: f64,
) -> Result<()> {
    let message = jobs::redact(&error.to_string(), &config.store);
    if !jobs::retryable(error) {
        tracing::warn!(job = %job.job, error = %message, "job failed");
        let outcome = Outcome::Failed(message);
        return queue.complete(&config.name, delivery, &job.job, &outcome, seconds);
    }
    if delivery.attempt() >= config.max_attempts {
        tracing::warn!(job = %job.job, error = %message, "job dead-lettered");
        return queue.dead_letter(&config.name, delivery, &message);
    }
    tracing::warn!(job = %job.job, error = %message, "job failed; queued again");
    queue.retry(delivery, job, &message)
}

/// Runs `work` while another thread renews `entry`'s lease every third of it.
fn with_lease<T>(
    config: &WorkerConfig,
    queue: &Queue,
    entry: &str,
    work: impl FnOnce() -> T,
) -> Result<T> {
    let mut beat = queue.another()?;
    let (done, stopped) = mpsc::channel::<()>();
    let every = (config.lease / 3).max(Duration::from_millis(100));
    std::thread::scope(|scope| {
        scope.spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                match beat.heartbeat(&config.name, entry) {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(%entry, "lease lost: another worker took the job over");
                        return;
                    }
                    Err(e) => tracing::warn!(%entry, error = %e, "cannot renew the lease"),
                }
            }
        });
        let out = work();
        drop(done);
        Ok(out)
    })
}
