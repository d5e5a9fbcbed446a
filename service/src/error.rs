//! The one error type of the service, and its HTTP form: an RFC 9457 problem document
//! (`application/problem+json`) carrying the prover's own message.

use std::path::PathBuf;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// What can go wrong in the service.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed or names something invalid (400).
    #[error("{0}")]
    BadRequest(String),
    /// No or an unknown API key (401).
    #[error("missing or unknown API key (send Authorization: Bearer KEY)")]
    Unauthorized,
    /// A request a server without API keys refuses (403): one a web page could send.
    #[error("{0}")]
    Forbidden(String),
    /// No such build or proof for this key (404).
    #[error("{0} not found")]
    NotFound(String),
    /// The request cannot be served in the resource's state (409).
    #[error("{0}")]
    Conflict(String),
    /// The request body is larger than the server takes (413).
    #[error("request body over {0} bytes")]
    TooLarge(usize),
    /// This key has too many jobs queued (429, retry later).
    #[error("{0} jobs of this key are queued or running: retry when some finish")]
    TooManyForKey(usize),
    /// The server's queue is full (503, retry later).
    #[error("the queue is full ({0} jobs): retry later")]
    QueueFull(usize),
    /// From the prover: the model, input or keys were refused.
    #[error(transparent)]
    Prover(#[from] zkinfer_prover::Error),
    /// From the segments crate: a segmented build or proof was refused.
    #[error("{0}")]
    Segments(String),
    /// The job database.
    #[error("job store: {0}")]
    Store(#[from] rusqlite::Error),
    /// A file could not be read or written.
    #[error("{0}: {1}")]
    Io(PathBuf, #[source] std::io::Error),
    /// The server cannot start as configured.
    #[error("{0}")]
    Config(String),
    /// A JSON document could not be read or written.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The Redis queue failed or cannot be reached (503).
    #[error("queue: {0}")]
    Queue(String),
    /// The object store between the server and its workers failed or cannot be reached (503).
    #[error("object store: {0}")]
    Objects(String),
    /// The chain of the server's oracle does not answer (503).
    #[error("{0}")]
    Chain(String),
    /// A job panicked (a bug; retried until its attempts run out).
    #[error("the job panicked: {0}")]
    Panicked(String),
}

impl From<zkinfer_segments::Error> for Error {
    fn from(e: zkinfer_segments::Error) -> Self {
        match e {
            zkinfer_segments::Error::Prover(p) => Error::Prover(p),
            zkinfer_segments::Error::Io(path, e) => Error::Io(path, e),
            other => Error::Segments(other.to_string()),
        }
    }
}

/// The service's result.
pub type Result<T> = std::result::Result<T, Error>;

/// Seconds a client should wait before retrying a refused job.
const RETRY_AFTER_S: u32 = 5;

impl Error {
    /// The HTTP status of the problem.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) | Error::Prover(_) | Error::Segments(_) | Error::Json(_) => {
                StatusCode::BAD_REQUEST
            }
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::TooManyForKey(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::QueueFull(_) | Error::Queue(_) | Error::Objects(_) | Error::Chain(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Error::Store(_) | Error::Io(..) | Error::Config(_) | Error::Panicked(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The problem document's `type`: a stable name per kind of problem.
    fn kind(&self) -> &'static str {
        match self {
            Error::BadRequest(_) | Error::Json(_) => "bad-request",
            Error::Prover(_) | Error::Segments(_) => "refused-by-prover",
            Error::Unauthorized => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound(_) => "not-found",
            Error::Conflict(_) => "conflict",
            Error::TooLarge(_) => "too-large",
            Error::TooManyForKey(_) => "too-many-jobs",
            Error::QueueFull(_) => "queue-full",
            Error::Queue(_) => "queue-unavailable",
            Error::Objects(_) => "store-unavailable",
            Error::Chain(_) => "chain-unavailable",
            Error::Store(_) | Error::Io(..) | Error::Config(_) | Error::Panicked(_) => "internal",
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        // Internal details (paths, database errors) stay in the log.
        let detail = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "internal error");
            "internal error (see the server log)".to_string()
        } else {
            self.to_string()
        };
        let body = json!({
            "type": format!("urn:zkinfer:problem:{}", self.kind()),
            "title": status.canonical_reason().unwrap_or("error"),
            "status": status.as_u16(),
            "detail": detail,
        });
        let mut response = (status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if matches!(self, Error::TooManyForKey(_) | Error::QueueFull(_)) {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_S));
        }
        if matches!(self, Error::Unauthorized) {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
