//! The HTTP API (axum). Every route but `/healthz`, `/metrics` and `/openapi.json` takes an API
//! key when the server has keys; a key sees only its own builds and proofs (another key's are
//! "not found"). Errors are RFC 9457 problem documents (see [`Error`]).
//!
//! - `POST /v1/builds` (multipart: `model` = ONNX bytes, `calibration` = JSON, optional
//!   `input_visibility`, `output_visibility`) → `202 {"id", "status"}`: compiled and set up in the
//!   background.
//! - `GET /v1/builds/{id}` → status, model id, settings summary, cost.
//! - `POST /v1/builds/{id}/proofs` (body: the input JSON, optional `"subject"`, `"salt"`) →
//!   `202 {"id", "status"}`; the input is checked against the build first (400 with the
//!   prover's message).
//! - `GET /v1/proofs/{id}` → status, and when done `"proof"`: the proof file `zkinfer prove`
//!   writes; `GET /v1/proofs/{id}/proof` → that file alone, for `zkinfer verify` and `submit`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Multipart, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use zkinfer_prover::input::InputData;

use crate::auth::LOCAL_OWNER;
use crate::jobs::{self, is_id, BuildOptions, Paths};
use crate::metrics::Metrics;
use crate::store::{Job, JobKind, JobStatus, QueueLimits, Store};
use crate::submit::Submitter;
use crate::{Error, Result, ServeConfig};

/// What the handlers and workers share.
pub struct AppState {
    /// The server's configuration.
    pub config: ServeConfig,
    /// The job store.
    pub store: Store,
    /// The data directory's files.
    pub paths: Paths,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// Wakes an idle worker when a job is queued.
    pub(crate) wake: tokio::sync::Notify,
    /// Proving memory budget, in MiB (the memory available at start).
    pub(crate) memory: tokio::sync::Semaphore,
    /// Input checks (a forward pass each) running at once.
    checks: tokio::sync::Semaphore,
    memory_mib: u32,
    stopping: AtomicBool,
    /// With `--store URL`: the object store the workers read requests from and write results
    /// to, mirrored into the data directory.
    pub objects: Option<crate::objects::Mirror>,
    /// Failed fetches of each job's result from the store.
    fetch_failures: std::sync::Mutex<std::collections::HashMap<String, u32>>,
}

impl AppState {
    /// The state of a server with `config` over `store`.
    pub fn new(config: ServeConfig, store: Store) -> Self {
        let memory_mib = zkinfer_prover::resources::MemoryLimit::available()
            .map_or(u32::MAX >> 4, |m| {
                u32::try_from(m.bytes >> 20).unwrap_or(u32::MAX >> 4)
            })
            .max(1);
        AppState {
            paths: Paths::new(&config.data_dir),
            config,
            store,
            metrics: Metrics::new(),
            wake: tokio::sync::Notify::new(),
            memory: tokio::sync::Semaphore::new(memory_mib as usize),
            checks: tokio::sync::Semaphore::new(INPUT_CHECKS),
            memory_mib,
            stopping: AtomicBool::new(false),
            objects: None,
            fetch_failures: Default::default(),
        }
    }

    /// The proving memory budget in MiB.
    pub(crate) fn memory_mib(&self) -> u32 {
        self.memory_mib
    }

    /// Asks the workers to stop taking jobs.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
    }

    /// Counts a failed fetch of `job`'s result from the store; the failures so far.
    pub(crate) fn count_fetch_failure(&self, job: &str) -> u32 {
        let mut failures = self
            .fetch_failures
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let n = failures.entry(job.to_string()).or_insert(0);
        *n += 1;
        *n
    }

    /// Forgets `job`'s failed fetches once its result is recorded.
    pub(crate) fn forget_fetch_failures(&self, job: &str) {
        let mut failures = self
            .fetch_failures
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        failures.remove(job);
    }

    /// Whether [`AppState::stop`] was called.
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Runs `f` on the store off the async threads (SQLite writes wait for the disk).
    pub(crate) async fn db<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let state = self.clone();
        blocking(move || f(&state.store)).await
    }

    fn limits(&self) -> QueueLimits {
        QueueLimits {
            per_owner: self.config.max_queued_per_key,
            total: self.config.max_queue,
        }
    }
}

type Shared = Arc<AppState>;

/// Largest proof request body: an input JSON.
pub const PROOF_BODY_BYTES: usize = 16 << 20;

/// Input checks run at once (each loads the build's model and runs its forward pass).
const INPUT_CHECKS: usize = 2;

/// Whether a `Host` header names this machine (DNS rebinding sends another name).
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The owner id of the request's API key (or the local owner on a server without keys).
pub struct Owner(String);

impl FromRequestParts<Shared> for Owner {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self> {
        let Some(keys) = &state.config.api_keys else {
            // Without keys (loopback only), refuse what a web page could make a browser send: a
            // cross-origin request, or one to a rebound DNS name.
            if parts.headers.contains_key(header::ORIGIN) {
                return Err(Error::Forbidden(
                    "a server without API keys refuses cross-origin (browser) requests".into(),
                ));
            }
            let host = parts
                .headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !is_loopback_host(host) {
                return Err(Error::Forbidden(format!(
                    "a server without API keys answers loopback names only, not Host {host:?}"
                )));
            }
            return Ok(Owner(LOCAL_OWNER.into()));
        };
        let key = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, key)| key)
            .ok_or(Error::Unauthorized)?;
        keys.owner_of(key.trim())
            .map(Owner)
            .ok_or(Error::Unauthorized)
    }
}

/// The router over `state`.
pub fn router(state: Shared) -> Router {
    let limit = state.config.max_body_bytes;
    Router::new()
        .route("/v1/builds", post(create_build))
        .route("/v1/builds/{id}", get(get_build))
        .route(
            "/v1/builds/{id}/proofs",
            post(create_proof).layer(DefaultBodyLimit::max(PROOF_BODY_BYTES.min(limit))),
        )
        .route("/v1/proofs/{id}", get(get_proof))
        .route("/v1/proofs/{id}/proof", get(get_proof_file))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .fallback(|| async { Error::NotFound("no such route".into()) })
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// Runs blocking work (files, the prover) off the async threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Panicked(e.to_string()))?
}

fn multipart_error(limit: usize) -> impl Fn(axum::extract::multipart::MultipartError) -> Error {
    move |e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Error::TooLarge(limit)
        } else {
            Error::BadRequest(format!("multipart body: {}", e.body_text()))
        }
    }
}

async fn create_build(
    State(state): State<Shared>,
    owner: Owner,
    mut multipart: Multipart,
) -> Result<(StatusCode, Json<Value>)> {
    // No upload is read for a key or a server at its limit.
    require_room(&state, &owner).await?;
    let (mut model, mut calibration, mut options) = (None, None, BuildOptions::default());
    let too_large = multipart_error(state.config.max_body_bytes);
    while let Some(field) = multipart.next_field().await.map_err(&too_large)? {
        let name = field.name().unwrap_or_default().to_string();
        let bytes = field.bytes().await.map_err(&too_large)?;
        match name.as_str() {
            "model" => model = Some(bytes),
            "calibration" => {
                calibration = Some(serde_json::from_slice::<InputData>(&bytes).map_err(|e| {
                    Error::BadRequest(format!(
                        "calibration: not an input JSON ({{\"input_data\": [[...]]}}): {e}"
                    ))
                })?)
            }
            other => {
                let text = std::str::from_utf8(&bytes)
                    .map_err(|_| Error::BadRequest(format!("field {other:?} is not text")))?;
                options.set(other, text.trim())?
            }
        }
    }
    options.check()?;
    let model = model
        .filter(|m| !m.is_empty())
        .ok_or_else(|| Error::BadRequest("no `model` field (the ONNX file's bytes)".into()))?;
    let calibration = calibration.ok_or_else(|| {
        Error::BadRequest("no `calibration` field (input JSON for calibration)".into())
    })?;
    let id = jobs::new_id();
    let (paths, req) = (state.paths.clone(), id.clone());
    blocking(move || jobs::store_build_request(&paths, &req, &model, &calibration, &options))
        .await?;
    let files = state.paths.build_root(&id);
    enqueue(&state, id, JobKind::Build, &owner, None, files).await
}

/// On a segmented build: its segment count.
fn segment_count(build: &Job) -> Option<u32> {
    let segments = build.summary.as_ref()?["segments"].as_array()?;
    u32::try_from(segments.len()).ok()
}

/// Queues the job `id` whose request files are in `files` (removed when the queue refuses it)
/// and answers 202.
async fn enqueue(
    state: &Shared,
    id: String,
    kind: JobKind,
    owner: &Owner,
    build_id: Option<String>,
    files: std::path::PathBuf,
) -> Result<(StatusCode, Json<Value>)> {
    let plain = ProofExtras::default();
    enqueue_with(state, id, kind, owner, build_id, plain, files).await
}

/// What a proof request may add to its job.
#[derive(Default)]
struct ProofExtras {
    /// A segmented build's segments: the proof waits for one job per segment.
    segments: Option<u32>,
    /// `?submit=true`: the oracle to send the proof to once done.
    submit: Option<String>,
}

/// [`enqueue`] with a proof request's `extras`.
async fn enqueue_with(
    state: &Shared,
    id: String,
    kind: JobKind,
    owner: &Owner,
    build_id: Option<String>,
    extras: ProofExtras,
    files: std::path::PathBuf,
) -> Result<(StatusCode, Json<Value>)> {
    let (job, who, limits) = (id.clone(), owner.0.clone(), state.limits());
    let ProofExtras { segments, submit } = extras;
    let inserted = state
        .db(move |s| match (segments, build_id.as_deref()) {
            (Some(n), Some(build)) => {
                s.insert_segmented(&job, &who, build, n, submit.as_deref(), limits)
            }
            _ => s.insert(
                &job,
                kind,
                &who,
                build_id.as_deref(),
                submit.as_deref(),
                limits,
            ),
        })
        .await;
    if let Err(e) = inserted {
        let _ = std::fs::remove_dir_all(files);
        return Err(e);
    }
    state.wake.notify_one();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "id": id, "status": "queued" })),
    ))
}

/// Refuses (429 or 503) when `owner` or the whole queue is at its limit, before expensive work.
async fn require_room(state: &Shared, owner: &Owner) -> Result<()> {
    let (who, limits) = (owner.0.clone(), state.limits());
    state.db(move |s| s.room(&who, limits)).await
}

/// The job `id` of `kind` owned by `owner`; "not found" otherwise (whoever else owns it).
async fn find(state: &Shared, id: &str, kind: JobKind, owner: &Owner) -> Result<Job> {
    let what = Error::NotFound(format!("{} {id}", format!("{kind:?}").to_lowercase()));
    if !is_id(id) {
        return Err(what);
    }
    let (id, who) = (id.to_string(), owner.0.clone());
    state
        .db(move |s| s.get_owned(&id, kind, &who))
        .await?
        .ok_or(what)
}

async fn get_build(
    State(state): State<Shared>,
    owner: Owner,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let job = find(&state, &id, JobKind::Build, &owner).await?;
    Ok(Json(serde_json::to_value(&job)?))
}

/// `?submit=true` (or `1`): send the proof to the server's oracle once it is done; the server's
/// submitter when asked.
fn wants_submission(query: Option<&str>, state: &AppState) -> Result<Option<Arc<dyn Submitter>>> {
    let mut submit = false;
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        submit = match pair {
            "submit=true" | "submit=1" => true,
            "submit=false" | "submit=0" => false,
            other => {
                return Err(Error::BadRequest(format!(
                    "query {other:?}: the only parameter is submit=true|false"
                )))
            }
        };
    }
    match (submit, &state.config.submitter) {
        (false, _) => Ok(None),
        (true, Some(submitter)) => Ok(Some(submitter.clone())),
        (true, None) => Err(Error::BadRequest(
            "submit=true: this server submits to no oracle (start it with --oracle ADDRESS)".into(),
        )),
    }
}

/// How long a proof request waits for the oracle's admission.
const ADMIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// For `?submit=true`: `submitter`'s oracle's admission of a proof of `build` about the input's
/// subject, before anything is proven; the oracle the submission is for.
async fn admit_submission(
    submitter: &dyn Submitter,
    build: &Job,
    input: &InputData,
) -> Result<String> {
    use crate::submit::Admission;
    let model_id = build
        .summary
        .as_ref()
        .and_then(|s| s["model_id"].as_str())
        .ok_or_else(|| Error::Conflict(format!("build {}: no model id", build.id)))?;
    let subject = input.subject.as_deref().ok_or_else(|| {
        Error::BadRequest(
            "submit=true: the input names no \"subject\" (the account the oracle credits)".into(),
        )
    })?;
    let admission = tokio::time::timeout(ADMIT_TIMEOUT, submitter.admit(model_id, subject))
        .await
        .unwrap_or_else(|_| {
            Admission::Unavailable(format!("no answer within {} s", ADMIT_TIMEOUT.as_secs()))
        });
    match admission {
        Admission::Admitted => Ok(submitter.oracle()),
        Admission::Refused(why) => Err(Error::BadRequest(format!("submit=true: {why}"))),
        Admission::Unavailable(why) => Err(Error::Chain(format!(
            "submit=true: the oracle's chain does not answer: {why}"
        ))),
    }
}

async fn create_proof(
    State(state): State<Shared>,
    owner: Owner,
    Path(build_id): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>)> {
    let submit = wants_submission(query.as_deref(), &state)?;
    let build = find(&state, &build_id, JobKind::Build, &owner).await?;
    if build.status != JobStatus::Done {
        return Err(Error::Conflict(format!(
            "build {build_id} is {}: it takes proofs once it is done",
            build.status.as_str()
        )));
    }
    // No input is checked for a key or a server at its limit.
    require_room(&state, &owner).await?;
    let _check = state
        .checks
        .acquire()
        .await
        .map_err(|_| Error::QueueFull(0))?;
    let segments = if state.paths.is_segmented(&build_id) {
        match segment_count(&build) {
            Some(n) if n > 0 => Some(n),
            _ => {
                return Err(Error::Conflict(format!(
                    "build {build_id}: its summary lists no segments"
                )))
            }
        }
    } else {
        None
    };
    let input: InputData = blocking(move || {
        serde_json::from_slice(&body).map_err(|e| {
            Error::BadRequest(format!(
                "input: not an input JSON ({{\"input_data\": [[...]], \"subject\"?, \"salt\"?}}): {e}"
            ))
        })
    })
    .await?;
    let submit = match submit {
        Some(submitter) => Some(admit_submission(submitter.as_ref(), &build, &input).await?),
        None => None,
    };
    let id = jobs::new_id();
    let (paths, req, build_dir_id) = (state.paths.clone(), id.clone(), build_id.clone());
    let data_dir = state.config.data_dir.clone();
    blocking(move || {
        // The prover's message, without the server's paths.
        jobs::check_input(&paths, &build_dir_id, &input).map_err(|e| match e {
            Error::Prover(p) => Error::BadRequest(jobs::redact(&p.to_string(), &data_dir)),
            Error::Segments(m) => Error::BadRequest(jobs::redact(&m, &data_dir)),
            other => other,
        })?;
        jobs::store_proof_request(&paths, &req, &input)?;
        if segments.is_some() {
            jobs::store_chain_seed(&paths, &req)?;
        }
        Ok(())
    })
    .await?;
    let files = state.paths.proof_root(&id);
    let status = if segments.is_some() {
        "waiting"
    } else {
        "queued"
    };
    let (code, Json(mut body)) = enqueue_with(
        &state,
        id,
        JobKind::Proof,
        &owner,
        Some(build_id),
        ProofExtras { segments, submit },
        files,
    )
    .await?;
    body["status"] = json!(status);
    Ok((code, Json(body)))
}

async fn get_proof(
    State(state): State<Shared>,
    owner: Owner,
    Path(id): Path<String>,
) -> Result<Json<Value>> {
    let job = find(&state, &id, JobKind::Proof, &owner).await?;
    let mut out = serde_json::to_value(&job)?;
    let parent = id.clone();
    let (done, total) = state.db(move |s| s.progress(&parent)).await?;
    if total > 0 {
        out["segments"] = json!({ "done": done, "total": total });
    }
    let job_id = id.clone();
    if let Some(submission) = state.db(move |s| s.submission(&job_id)).await? {
        out["submission"] = submission;
    }
    if job.status == JobStatus::Done {
        let path = state.paths.proof(&id);
        let text = std::fs::read(&path).map_err(|e| Error::Io(path, e))?;
        out["proof"] = serde_json::from_slice(&text)?;
    }
    Ok(Json(out))
}

async fn get_proof_file(
    State(state): State<Shared>,
    owner: Owner,
    Path(id): Path<String>,
) -> Result<Response> {
    let job = find(&state, &id, JobKind::Proof, &owner).await?;
    if job.status != JobStatus::Done {
        return Err(Error::Conflict(format!(
            "proof {id} is {}",
            job.status.as_str()
        )));
    }
    let path = state.paths.proof(&id);
    let bytes = std::fs::read(&path).map_err(|e| Error::Io(path, e))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn metrics(State(state): State<Shared>) -> Result<Response> {
    let s = state.clone();
    let text = blocking(move || s.metrics.render(&s.store)).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// The OpenAPI document of this API.
pub const OPENAPI: &str = include_str!("../openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}
