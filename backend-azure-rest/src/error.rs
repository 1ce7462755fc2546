//! This crate's own errors ([`BuildError`], [`TransportError`]) and the mapping of HTTP statuses
//! and transport failures onto [`RemoteError`] kinds (`docs/protocol.md`, "Routes and status
//! codes"). Statuses decide the
//! kind; a server's message text never does.

use std::error::Error as StdError;
use std::fmt;

use reqwest::StatusCode;
use serde_json::Value;
use sync_core::backend::RemoteError;
use sync_core::Record;

/// The builder could not make a remote.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No base URL was given.
    #[error("no base URL given")]
    MissingBaseUrl,
    /// The base URL cannot be used.
    #[error("invalid base URL: {0}")]
    InvalidBaseUrl(&'static str),
    /// An extra header's name or value is not valid HTTP.
    #[error("invalid header {name:?}")]
    InvalidHeader {
        /// The header's name (its value is never shown: it may be a secret).
        name: String,
    },
    /// An extra header would replace one the protocol needs (`ZUMO-API-VERSION`, auth, …).
    #[error("header {0:?} is set by the remote itself")]
    ReservedHeader(String),
    /// The default HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
}

/// What kind of transport failure a [`TransportError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The connection could not be made (refused, DNS, TLS).
    Connect,
    /// The request or the response body took longer than the timeout.
    Timeout,
    /// The connection broke while sending the request or reading the response.
    Broken,
}

/// A transport failure, kept as the `source` of a [`RemoteError::Offline`]. Use
/// [`is_timeout`] / [`is_connect`] on a `RemoteError`, or
/// downcast its source to this type. Its text and source never hold the request URL.
#[derive(Debug)]
pub struct TransportError {
    kind: TransportErrorKind,
    source: reqwest::Error,
}

impl TransportError {
    /// The kind of failure.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// Whether the timeout ran out.
    pub fn is_timeout(&self) -> bool {
        self.kind == TransportErrorKind::Timeout
    }

    /// Whether no connection could be made.
    pub fn is_connect(&self) -> bool {
        self.kind == TransportErrorKind::Connect
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            TransportErrorKind::Connect => f.write_str("cannot connect to the server"),
            TransportErrorKind::Timeout => f.write_str("the request timed out"),
            TransportErrorKind::Broken => f.write_str("the connection broke"),
        }
    }
}

impl StdError for TransportError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.source)
    }
}

/// Whether a [`RemoteError`] is a timeout of this crate's transport.
pub fn is_timeout(err: &RemoteError) -> bool {
    transport(err).is_some_and(TransportError::is_timeout)
}

/// Whether a [`RemoteError`] is a failure to connect (server down, port closed, DNS, TLS).
pub fn is_connect(err: &RemoteError) -> bool {
    transport(err).is_some_and(TransportError::is_connect)
}

fn transport(err: &RemoteError) -> Option<&TransportError> {
    let mut source = StdError::source(err);
    while let Some(e) = source {
        if let Some(t) = e.downcast_ref::<TransportError>() {
            return Some(t);
        }
        source = e.source();
    }
    None
}

/// Maps a reqwest failure: connects, timeouts and broken connections are offline (reqwest
/// reports a body cut short while streaming as a "decode" error: this crate never lets reqwest
/// decode anything, so those are broken connections too); a request reqwest refused to build is a
/// bad request; a redirect loop is a protocol error. The URL is stripped from the kept error.
pub(crate) fn from_reqwest(err: reqwest::Error) -> RemoteError {
    let err = err.without_url();
    if err.is_builder() {
        return crate::urls::invalid_request(format!("cannot build the request: {err}"));
    }
    if err.is_redirect() {
        return RemoteError::Protocol { message: err.to_string(), source: Some(Box::new(err)) };
    }
    let kind = if err.is_timeout() {
        TransportErrorKind::Timeout
    } else if err.is_connect() {
        TransportErrorKind::Connect
    } else {
        TransportErrorKind::Broken
    };
    let transport = TransportError { kind, source: err };
    RemoteError::Offline { message: transport.to_string(), source: Some(Box::new(transport)) }
}

/// Maps a non-success status (`docs/protocol.md`, "Routes and status codes"). `server_item` is the record to attach to a
/// 409/412, if the caller found one in the body.
pub(crate) fn from_status(status: StatusCode, body: &[u8], server_item: Option<Record>) -> RemoteError {
    let code = status.as_u16();
    let message = server_message(status, body);
    match code {
        409 | 412 => RemoteError::Conflict { status: code, server_item: server_item.map(Box::new) },
        404 => RemoteError::NotFound { message },
        401 => RemoteError::Unauthorized { message },
        429 | 500..=599 => RemoteError::Transient { status: code, message },
        400..=499 => RemoteError::BadRequest { status: code, message },
        _ => RemoteError::protocol(format!("unexpected HTTP status {code}: {message}")),
    }
}

/// The server's explanation: `{"error": …}` (NODE) or `{"message": …}` (NETSRV), else a short
/// printable prefix of the body, else the status text.
pub(crate) fn server_message(status: StatusCode, body: &[u8]) -> String {
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
        for key in ["error", "message", "Message"] {
            match map.get(key) {
                Some(Value::String(s)) if !s.is_empty() => return shorten(s),
                Some(Value::Object(inner)) => {
                    if let Some(Value::String(s)) = inner.get("message") {
                        return shorten(s);
                    }
                }
                _ => {}
            }
        }
    }
    match std::str::from_utf8(body) {
        Ok(text) if !text.trim().is_empty() => shorten(text.trim()),
        _ => format!("HTTP {status}"),
    }
}

/// At most 300 characters, control characters replaced.
pub(crate) fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(300).map(|c| if c.is_control() { ' ' } else { c }).collect();
    if s.chars().count() > 300 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sync_core::backend::RemoteErrorKind as K;

    fn kind(code: u16, body: &str) -> (K, Option<u16>, String) {
        let e = from_status(StatusCode::from_u16(code).unwrap(), body.as_bytes(), None);
        (e.kind(), e.status(), e.to_string())
    }

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(kind(409, "{}").0, K::Conflict);
        assert_eq!(kind(412, "{}").1, Some(412));
        assert_eq!(kind(404, r#"{"error":"The item does not exist"}"#).2, "not found: The item does not exist");
        assert_eq!(kind(401, "").0, K::Unauthorized);
        assert_eq!(kind(429, "").0, K::Transient);
        assert_eq!(kind(503, "down").1, Some(503));
        assert_eq!(kind(500, "").0, K::Transient);
        let (k, s, m) = kind(400, r#"{"error":"You cannot request more than 1000 records"}"#);
        assert_eq!((k, s), (K::BadRequest, Some(400)));
        assert!(m.contains("1000 records"));
        assert_eq!(kind(405, "").0, K::BadRequest);
        assert_eq!(kind(302, "").0, K::Protocol);
        assert_eq!(kind(304, "").0, K::Protocol);
    }

    #[test]
    fn messages_are_short_and_printable() {
        let long = "x\n".repeat(1000);
        let m = server_message(StatusCode::BAD_REQUEST, long.as_bytes());
        assert!(m.chars().count() <= 301 && !m.contains('\n'));
        assert_eq!(server_message(StatusCode::BAD_REQUEST, b"\xff\xfe"), "HTTP 400 Bad Request");
        assert_eq!(server_message(StatusCode::BAD_REQUEST, br#"{"message":"m"}"#), "m");
    }
}
