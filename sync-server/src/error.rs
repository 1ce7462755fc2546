//! Errors: [`Error`] is the answer to a request that failed (a status, a message and, for
//! conflicts, the server's item); [`ServerError`] is a server that cannot be built.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

/// A request that failed: the HTTP status, a message for `{"error": "…"}`, and for 409/412 the
/// server's current item (sent as the body, with its `ETag`).
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    status: u16,
    message: String,
    item: Option<Map<String, Value>>,
}

impl Error {
    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Error { status: 400, message: message.into(), item: None }
    }

    /// 404 with a message.
    pub fn not_found(message: impl Into<String>) -> Self {
        Error { status: 404, message: message.into(), item: None }
    }

    /// 404 `The item does not exist` (the Node server's words).
    pub fn no_item() -> Self {
        Error::not_found("The item does not exist")
    }

    /// 409 or 412 carrying the server's current item.
    pub fn conflict(status: u16, item: Map<String, Value>) -> Self {
        Error { status, message: "the item on the server differs".to_owned(), item: Some(item) }
    }

    /// 413 for a body over the limit.
    pub fn too_large(limit: usize) -> Self {
        Error { status: 413, message: format!("the request body is larger than {limit} bytes"), item: None }
    }

    /// 500: a failure of the server itself (the details are logged, not sent).
    pub fn internal(message: impl Into<String>) -> Self {
        Error { status: 500, message: message.into(), item: None }
    }

    /// Any status with a message.
    pub fn with_status(status: u16, message: impl Into<String>) -> Self {
        Error { status, message: message.into(), item: None }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The message a client is sent: a 500's details are logged, not sent.
    pub(crate) fn client_message(&self) -> &str {
        if self.status == 500 {
            "internal server error"
        } else {
            &self.message
        }
    }

    /// The server's item of a 409/412.
    pub fn item(&self) -> Option<&Map<String, Value>> {
        self.item.as_ref()
    }

    /// The error with its item changed (what a client may see of it).
    pub(crate) fn map_item(mut self, f: impl FnOnce(Map<String, Value>) -> Map<String, Value>) -> Self {
        self.item = self.item.map(f);
        self
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.message)
    }
}

impl std::error::Error for Error {}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        if is_unavailable(&e) {
            tracing::warn!(error = %e, "database unavailable");
            return Error::with_status(503, "the database is unavailable: try again");
        }
        tracing::error!(error = %e, "database error");
        Error::internal("database error")
    }
}

/// Whether the database could not be reached or dropped the connection (a 503: the same request
/// may succeed later) rather than failing the request.
fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        // PostgreSQL's connection exceptions (08…) and shutdowns (57P…: the server stopping, the
        // connection terminated by an administrator).
        sqlx::Error::Database(db) => db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        _ => false,
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match self.item {
            Some(item) => {
                let etag = item.get("version").and_then(Value::as_str).and_then(etag_header);
                let mut response = (status, axum::Json(Value::Object(item))).into_response();
                if let Some(etag) = etag {
                    response.headers_mut().insert(header::ETAG, etag);
                }
                response
            }
            None => (status, axum::Json(json!({ "error": self.client_message() }))).into_response(),
        }
    }
}

/// `"<version>"` with inner `"` escaped, as clients expect in `ETag`.
pub(crate) fn etag_header(version: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("\"{}\"", version.replace('"', "\\\""))).ok()
}

/// User text quoted in a message: at most 64 characters, control characters replaced.
pub(crate) fn short(s: &str) -> String {
    let mut out: String = s.chars().take(64).map(|c| if c.is_control() { '?' } else { c }).collect();
    if s.chars().count() > 64 {
        out.push('…');
    }
    out
}

/// The server cannot be built or started: a bad configuration, a database that cannot be opened,
/// or a table whose stored columns contradict its declaration.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration (file, builder or CLI) is invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Reading a file or binding a socket failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
