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
    /// The base URL is `https`, but the crate was built without TLS (neither its `rustls-tls`
    /// feature, the default, nor `native-tls`) and no [`client`](crate::AzureRestRemoteBuilder::client)
    /// was given.
    #[error(
        "the base URL is https, but backend-azure-rest was built without TLS: enable its `rustls-tls` \
         (default) or `native-tls` feature, or pass a reqwest client with TLS"
    )]
    NoTls,
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

/// Maps a non-success status (`docs/protocol.md`, "Routes and status codes"). `server_item` is
/// the record to attach to a 409/412, if the caller found one in the body. The body must already
/// be scrubbed of the request's secrets (`redact`): the message is taken from it.
pub(crate) fn from_status(
    status: StatusCode,
    content_type: Option<&str>,
    body: &[u8],
    server_item: Option<Record>,
) -> RemoteError {
    let code = status.as_u16();
    let message = server_message(status, content_type, body);
    match code {
        409 | 412 => RemoteError::Conflict { status: code, server_item: server_item.map(Box::new) },
        404 => RemoteError::NotFound { message },
        401 => RemoteError::Unauthorized { message },
        // 501: the server does not implement the method; retrying will not help.
        501 => RemoteError::BadRequest { status: code, message },
        429 | 500..=599 => RemoteError::Transient { status: code, message },
        400..=499 => RemoteError::BadRequest { status: code, message },
        _ => RemoteError::protocol(format!("unexpected HTTP status {code}: {message}")),
    }
}

/// The server's explanation, in one line:
/// - a JSON body: its `error` (NODE) or `message`/`Message` (NETSRV) field, or a JSON string, at
///   most 300 characters; any other JSON is not quoted (it may be the request echoed back);
/// - an HTML or XML body (by content type or a leading `<`), e.g. a proxy's error page: never
///   quoted; `HTTP 502 Bad Gateway (text/html): <the page's title>`, or without the title if
///   it has none;
/// - other text: `HTTP 503 Service Unavailable (text/plain): <its first non-empty line>`;
/// - else the status text.
///
/// The part after the status and content type is at most [`MAX_LINE`] characters.
pub(crate) fn server_message(status: StatusCode, content_type: Option<&str>, body: &[u8]) -> String {
    let media = content_type.map(media_type).filter(|m| !m.is_empty());
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        if let Some(text) = json_message(&value) {
            return shorten(text);
        }
        let what = match value {
            Value::Object(_) => "a JSON object",
            Value::Array(_) => "a JSON array",
            _ => "a JSON value",
        };
        return format!("HTTP {status}, {what} without an \"error\" or \"message\"");
    }
    let text = std::str::from_utf8(body).ok().map(str::trim).filter(|t| !t.is_empty());
    let markup = media.as_deref().is_some_and(|m| m.contains("html") || m.contains("xml"))
        || text.is_some_and(|t| t.starts_with('<'));
    let head = match (&media, markup) {
        (Some(m), _) => format!("HTTP {status} ({m})"),
        (None, true) => format!("HTTP {status} (markup)"),
        (None, false) => format!("HTTP {status}"),
    };
    match text {
        Some(t) if markup => match html_title(t) {
            Some(title) => format!("{head}: {title}"),
            None => head,
        },
        Some(t) => {
            format!("{head}: {}", one_line(t.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default()))
        }
        None if body.is_empty() => head,
        None => format!("HTTP {status} ({}): {} bytes", media.as_deref().unwrap_or("binary"), body.len()),
    }
}

/// The longest line quoted from a body that is not JSON (a page title, a line of text).
pub(crate) const MAX_LINE: usize = 120;

/// The message field of a JSON error body.
fn json_message(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s),
        Value::Object(map) => ["error", "message", "Message"].iter().find_map(|key| match map.get(*key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.as_str()),
            Some(Value::Object(inner)) => match inner.get("message") {
                Some(Value::String(s)) if !s.trim().is_empty() => Some(s.as_str()),
                _ => None,
            },
            _ => None,
        }),
        _ => None,
    }
}

/// `type/subtype` of a `Content-Type`: lower case, up to the first character that cannot be in a
/// media type, at most 64 bytes.
fn media_type(content_type: &str) -> String {
    content_type
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-/".contains(*c))
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase()
}

/// The text of an HTML page's `<title>`, whitespace collapsed, at most [`MAX_LINE`] characters.
fn html_title(page: &str) -> Option<String> {
    let lower = page.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    let title = page[start..end].split_whitespace().collect::<Vec<_>>().join(" ");
    if title.is_empty() || title.contains('<') {
        return None;
    }
    Some(one_line(&title))
}

/// At most [`MAX_LINE`] characters (`…` marks a cut), control characters replaced.
fn one_line(s: &str) -> String {
    let mut out: String = s.chars().take(MAX_LINE).map(|c| if c.is_control() { ' ' } else { c }).collect();
    if s.chars().count() > MAX_LINE {
        out.push('…');
    }
    out
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
        let e = from_status(StatusCode::from_u16(code).unwrap(), None, body.as_bytes(), None);
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
        assert_eq!(kind(501, "").0, K::BadRequest, "not implemented is permanent");
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
        let m = server_message(StatusCode::BAD_REQUEST, None, long.as_bytes());
        assert_eq!(m, "HTTP 400 Bad Request: x");
        let m = server_message(StatusCode::BAD_REQUEST, Some("text/plain"), "y".repeat(1000).as_bytes());
        assert_eq!(m, format!("HTTP 400 Bad Request (text/plain): {}…", "y".repeat(120)));
        let m =
            server_message(StatusCode::SERVICE_UNAVAILABLE, Some("text/plain"), b"\n  Service Unavailable\r\nretry");
        assert_eq!(m, "HTTP 503 Service Unavailable (text/plain): Service Unavailable");
        let json = format!(r#"{{"error":"{}"}}"#, "z".repeat(1000));
        let m = server_message(StatusCode::BAD_REQUEST, None, json.as_bytes());
        assert!(m.chars().count() == 301 && m.ends_with('…'), "a JSON message keeps up to 300 characters");
        assert_eq!(
            server_message(StatusCode::BAD_REQUEST, None, b"\xff\xfe"),
            "HTTP 400 Bad Request (binary): 2 bytes"
        );
        assert_eq!(server_message(StatusCode::BAD_REQUEST, None, b""), "HTTP 400 Bad Request");
        assert_eq!(server_message(StatusCode::BAD_REQUEST, None, br#"{"message":"m"}"#), "m");
        assert_eq!(server_message(StatusCode::BAD_REQUEST, None, br#"{"error":{"message":"e"}}"#), "e");
        assert_eq!(server_message(StatusCode::BAD_REQUEST, None, br#""plain""#), "plain");
    }

    #[test]
    fn json_without_a_message_is_not_quoted() {
        let echo = br#"{"headers":{"cookie":"session=abc"},"url":"/tables/T"}"#;
        let m = server_message(StatusCode::BAD_REQUEST, Some("application/json"), echo);
        assert_eq!(m, "HTTP 400 Bad Request, a JSON object without an \"error\" or \"message\"");
        assert!(!server_message(StatusCode::BAD_REQUEST, None, br#"[{"cookie":"abc"}]"#).contains("abc"));
    }

    #[test]
    fn html_is_never_quoted() {
        let page = "<!DOCTYPE html>\n<html><head><TITLE>\n 403 -  Forbidden </title></head>\
                    <body><pre>cookie: session=abc</pre></body></html>";
        let ct = Some("text/html; charset=utf-8");
        assert_eq!(
            server_message(StatusCode::FORBIDDEN, ct, page.as_bytes()),
            "HTTP 403 Forbidden (text/html): 403 - Forbidden"
        );
        // Without a content type, a leading `<` is enough; without a title, only the status.
        let bare = "<html><body>cookie: session=abc</body></html>";
        assert_eq!(server_message(StatusCode::FORBIDDEN, None, bare.as_bytes()), "HTTP 403 Forbidden (markup)");
        // A content type that says HTML wins over text that does not look like it.
        let m = server_message(StatusCode::BAD_GATEWAY, Some("TEXT/HTML"), b"cookie: session=abc");
        assert_eq!(m, "HTTP 502 Bad Gateway (text/html)");
        let m = server_message(StatusCode::BAD_GATEWAY, Some("application/xml"), b"<Error><Code>x</Code></Error>");
        assert_eq!(m, "HTTP 502 Bad Gateway (application/xml)");
        // A hostile content type cannot carry text into the message.
        let m = server_message(StatusCode::BAD_GATEWAY, Some("text/html\" secret=\"abc def; q=1"), b"<p>");
        assert_eq!(m, "HTTP 502 Bad Gateway (text/html)");
        // A long title is cut at 120 characters.
        let page = format!("<html><title>{}</title><body>{}</body></html>", "t".repeat(500), "b".repeat(10_000));
        let m = server_message(StatusCode::BAD_GATEWAY, Some("text/html"), page.as_bytes());
        assert_eq!(m, format!("HTTP 502 Bad Gateway (text/html): {}…", "t".repeat(120)));
    }
}
