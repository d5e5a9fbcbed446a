//! zkinfer's prover service (`zkinfer serve`): an HTTP API in front of the prover, for one
//! machine with nothing else to install.
//!
//! - [`store`]: builds and proof jobs persist in SQLite under the data directory. A job moves
//!   `queued → running → done | failed` by single-row updates; a result file is written (by
//!   rename) before its job is marked done, so a restart (even after `kill -9`) re-queues what
//!   was running, keeps what was done, and never records two results for one job.
//! - [`worker`]: the embedded worker pool takes jobs from the store, a bounded number at a time,
//!   and runs compile + setup, or prove, on blocking threads.
//! - [`queue`], [`dispatch`], [`remote`]: for many machines (`--queue redis://…`), the server
//!   publishes jobs to a Redis stream and records their results; `zkinfer worker` processes on
//!   any machine that shares the data directory prove them, with leases that pass a dead
//!   worker's job to another and a dead-letter stream for jobs that keep failing.
//! - [`submit`]: with `--oracle`, proofs requested with `?submit=true` are sent on chain once
//!   done (through the binary's chain client), surviving restarts without double submission.
//! - [`api`]: the axum router (`/v1/builds`, `/v1/proofs`, `/healthz`, `/metrics`,
//!   `/openapi.json`), with API keys ([`auth`]), body limits, per-key queue limits and
//!   RFC 9457 problem responses ([`Error`]).
//!
//! The prover does not depend on this crate.

pub mod api;
pub mod auth;
pub mod dispatch;
mod error;
pub mod jobs;
pub mod metrics;
pub mod objects;
pub mod queue;
pub mod remote;
pub mod store;
pub mod submit;
pub mod worker;

pub use error::{Error, Result};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use zkinfer_prover::pipeline::SrsChoice;

/// How `zkinfer serve` runs.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// Where the database, builds, inputs and proofs live.
    pub data_dir: PathBuf,
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The API keys; without them the server refuses any address but loopback.
    pub api_keys: Option<auth::ApiKeys>,
    /// The SRS every build's keys are made with.
    pub srs: SrsChoice,
    /// Jobs run at once by the embedded workers.
    pub workers: usize,
    /// Jobs one key may have queued or running at once (429 beyond).
    pub max_queued_per_key: usize,
    /// Jobs queued or running in all (503 beyond).
    pub max_queue: usize,
    /// Largest request body (a model upload) in bytes.
    pub max_body_bytes: usize,
    /// Runs of a job before it is failed for good (a job interrupted by a crash counts a run).
    pub max_attempts: u32,
    /// `redis://…`: jobs go to `zkinfer worker` processes through Redis Streams instead of
    /// the embedded workers.
    pub queue: Option<String>,
    /// With a queue: how long a worker may go without renewing a job's lease before another
    /// takes the job over.
    pub lease: std::time::Duration,
    /// With a queue: the object store the workers share with the server instead of the data
    /// directory (`s3://BUCKET/PREFIX`; see [`objects`]).
    pub objects: Option<String>,
    /// Sends proofs requested with `?submit=true` to an oracle once they are done; without it
    /// such requests are refused.
    pub submitter: Option<Arc<dyn submit::Submitter>>,
}

impl ServeConfig {
    /// Defaults for `data_dir` on `listen`, with the development SRS.
    pub fn new(data_dir: PathBuf, listen: SocketAddr) -> Self {
        ServeConfig {
            data_dir,
            listen,
            api_keys: None,
            srs: SrsChoice::Dev,
            workers: 1,
            max_queued_per_key: 32,
            max_queue: 256,
            max_body_bytes: 256 << 20,
            max_attempts: 3,
            queue: None,
            lease: std::time::Duration::from_secs(30),
            objects: None,
            submitter: None,
        }
    }
}

/// Runs the server until `shutdown` resolves: opens (and recovers) the store, starts the
/// workers, serves the API.
pub async fn serve(
    config: ServeConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    if config.api_keys.is_none() && !config.listen.ip().is_loopback() {
        return Err(Error::Config(format!(
            "--listen {}: without API keys (--api-keys FILE or ZKINFER_API_KEYS) the server \
             listens on loopback only",
            config.listen
        )));
    }
    std::fs::create_dir_all(&config.data_dir).map_err(|e| Error::Io(config.data_dir.clone(), e))?;
    // One server per data directory: a second would re-queue the first's running jobs.
    let _lock = lock_data_dir(&config.data_dir)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| Error::Config(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::Config(format!("listener address: {e}")))?;
    let store = store::Store::open(&config.data_dir)?;
    // With a queue, running jobs are on workers (the dispatcher publishes again any that never
    // reached the queue); without, they were cut short and run again.
    let queue = match &config.queue {
        Some(url) => {
            let mut queue = queue::Queue::connect(url)?;
            // Every worker follows the server's lease, attempts and SRS.
            queue.configure(&queue::Policy {
                lease: config.lease,
                max_attempts: config.max_attempts,
                srs: config.srs.clone(),
            })?;
            Some(queue)
        }
        None => {
            let recovered = store.recover(config.max_attempts)?;
            if recovered > 0 {
                tracing::info!(recovered, "re-queued jobs interrupted by the last stop");
            }
            None
        }
    };
    if config.api_keys.is_none() {
        tracing::warn!(
            "no API keys: anyone who can reach {addr} may use the service (loopback only; \
             requests with an Origin or a non-loopback Host are refused)"
        );
    }
    let objects = match (&config.objects, &config.queue) {
        (Some(url), Some(_)) => {
            // Opened and checked off the async threads: its blocking calls run its own runtime.
            let (url, dir) = (url.clone(), config.data_dir.clone());
            let mirror = tokio::task::spawn_blocking(move || {
                let mirror = objects::Mirror::open(&url, &dir)?;
                mirror.check().map(|()| mirror)
            })
            .await
            .map_err(|e| Error::Config(format!("opening the object store: {e}")))??;
            tracing::info!(store = %mirror.shown_url(), "requests and results go through the object store");
            Some(mirror)
        }
        (Some(_), None) => {
            return Err(Error::Config(
                "--store goes with --queue: the embedded workers use the data directory".into(),
            ))
        }
        (None, _) => None,
    };
    let mut state = api::AppState::new(config.clone(), store);
    state.objects = objects;
    let state = Arc::new(state);
    let (workers, dispatcher) = match queue {
        Some(queue) => {
            tracing::info!(queue = %queue.shown_url(), "jobs go to zkinfer worker processes");
            (None, Some(dispatch::spawn(state.clone(), queue)))
        }
        None => (Some(worker::spawn(state.clone())), None),
    };
    let submissions = config
        .submitter
        .clone()
        .map(|submitter| tokio::spawn(submit::run(state.clone(), submitter)));
    tracing::info!(%addr, data_dir = %config.data_dir.display(), "zkinfer serve listening");
    // The bound address on stderr for whoever started us on port 0.
    eprintln!("listening on http://{addr}");
    axum::serve(listener, api::router(state.clone()))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| Error::Config(format!("server: {e}")))?;
    state.stop();
    if let Some(workers) = workers {
        workers.await;
    }
    if let Some(submissions) = submissions {
        // It stops at once (an attempt under way is made again at the next start).
        let _ = submissions.await;
    }
    if let Some(dispatcher) = dispatcher {
        let _ = tokio::task::spawn_blocking(move || dispatcher.join()).await;
    }
    Ok(())
}

/// Takes the data directory's lock (`serve.lock`) for the server's life.
fn lock_data_dir(dir: &std::path::Path) -> Result<std::fs::File> {
    lock_file(&dir.join("serve.lock"), || {
        format!(
            "{}: another zkinfer serve is using this data directory",
            dir.display()
        )
    })
}

/// Opens (creating) `path` and takes its exclusive lock, held while the file is open; `busy`
/// says why when another process holds it.
pub(crate) fn lock_file(
    path: &std::path::Path,
    busy: impl FnOnce() -> String,
) -> Result<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| Error::Io(path.to_path_buf(), e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Config(busy())),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::Io(path.to_path_buf(), e)),
    }
}
