//! Reading responses: the body with a size limit enforced while streaming, the JSON records in
//! it, and the `Link: …; rel=next` header.

use reqwest::header::{HeaderMap, ETAG, LINK};
use reqwest::StatusCode;
use serde_json::Value;
use sync_core::backend::{is_odata_datetime, system, RemoteError};
use sync_core::Record;

use crate::error::from_reqwest;
use crate::urls::version_from_etag;

/// A response read to its end.
#[derive(Debug)]
pub(crate) struct RawResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Vec<u8>,
}

/// Reads the body chunk by chunk and fails as soon as it passes `limit` bytes (a `Content-Length`
/// above the limit fails before reading). A connection that breaks mid-body is transient.
pub(crate) async fn read_limited(mut response: reqwest::Response, limit: usize) -> Result<RawResponse, RemoteError> {
    let too_large = |len: u64| RemoteError::TooLarge { size: len, limit: limit as u64 };
    if let Some(len) = response.content_length() {
        if len > limit as u64 {
            return Err(too_large(len));
        }
    }
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let mut body = Vec::with_capacity(response.content_length().map_or(0, |l| l as usize).min(64 * 1024));
    while let Some(chunk) = response.chunk().await.map_err(from_reqwest)? {
        if body.len() + chunk.len() > limit {
            return Err(too_large((body.len() + chunk.len()) as u64));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(RawResponse { status, headers, body })
}

/// The JSON of a body; anything else is a protocol error.
pub(crate) fn json(body: &[u8]) -> Result<Value, RemoteError> {
    serde_json::from_slice(body).map_err(|e| RemoteError::Protocol {
        message: format!("the response is not JSON: {e}"),
        source: Some(Box::new(e)),
    })
}

/// One item from a single-item response. Its `version`, if absent, comes from a strong `ETag`.
pub(crate) fn parse_item(raw: &RawResponse) -> Result<Record, RemoteError> {
    let mut record = to_record(json(&raw.body)?)?;
    if matches!(record.get(system::VERSION), None | Some(Value::Null)) {
        if let Some(version) = etag_version(&raw.headers) {
            record.set(system::VERSION, Value::String(version)).map_err(|e| RemoteError::protocol(e.to_string()))?;
        }
    }
    Ok(record)
}

/// The server item in a 409/412 body, if the body is one (else `None`: e.g. an error message).
pub(crate) fn conflict_item(raw: &RawResponse) -> Option<Record> {
    parse_item(raw).ok()
}

/// The rows of a query response: a JSON array, or `{"results": […], "count": N}` (the answer to
/// `$inlinecount=allpages`); and the count, if the response has one. The count only feeds
/// progress, so one that is not a non-negative integer is left out rather than failing the page.
pub(crate) fn parse_rows(raw: &RawResponse) -> Result<(Vec<Record>, Option<u64>), RemoteError> {
    let (rows, count) = match json(&raw.body)? {
        Value::Array(rows) => (rows, None),
        Value::Object(mut map) => match map.remove("results") {
            Some(Value::Array(rows)) => (rows, map.get("count").and_then(Value::as_u64)),
            _ => return Err(RemoteError::protocol("the query response is an object without a \"results\" array")),
        },
        other => return Err(RemoteError::protocol(format!("the query response is a JSON {}", type_name(&other)))),
    };
    let rows = rows
        .into_iter()
        .enumerate()
        .map(|(i, row)| to_record(row).map_err(|e| RemoteError::protocol(format!("row {i}: {e}"))))
        .collect::<Result<_, _>>()?;
    Ok((rows, count))
}

/// Checks one JSON value is a record: an object, a valid id, and system columns of the right
/// types; `createdAt` and `updatedAt` must have the shape of an ISO-8601 date-time (a pull
/// cursor is made of `updatedAt` and written into the next request's filter). `deleted` given as
/// 0/1 (some SQL providers) becomes a boolean.
pub(crate) fn to_record(value: Value) -> Result<Record, RemoteError> {
    let mut record = Record::from_json(value).map_err(|e| RemoteError::protocol(format!("not a valid item: {e}")))?;
    for col in [system::CREATED_AT, system::UPDATED_AT, system::VERSION] {
        if let Some(v) = record.get(col) {
            if !(v.is_string() || v.is_null()) {
                return Err(wrong_type(col, "a string", v));
            }
            if col != system::VERSION && v.as_str().is_some_and(|s| !is_odata_datetime(s)) {
                return Err(wrong_type(col, "an ISO-8601 date-time", v));
            }
        }
    }
    let numeric_deleted = match record.get(system::DELETED) {
        None | Some(Value::Bool(_) | Value::Null) => None,
        Some(Value::Number(n)) if n.as_u64() == Some(0) || n.as_u64() == Some(1) => Some(n.as_u64() == Some(1)),
        Some(other) => return Err(wrong_type(system::DELETED, "a boolean", other)),
    };
    if let Some(deleted) = numeric_deleted {
        // Only setting `id` can fail.
        record.set(system::DELETED, Value::Bool(deleted)).map_err(|e| RemoteError::protocol(e.to_string()))?;
    }
    Ok(record)
}

fn wrong_type(col: &str, expected: &str, found: &Value) -> RemoteError {
    let found = match found {
        Value::String(_) => "another string",
        other => type_name(other),
    };
    RemoteError::protocol(format!("not a valid item: {col:?} must be {expected}, found {found}"))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The version in the response's strong `ETag`, if any.
fn etag_version(headers: &HeaderMap) -> Option<String> {
    headers.get(ETAG).and_then(|v| v.to_str().ok()).and_then(version_from_etag)
}

/// Whether any `Link` header has a link with relation `next`. The link itself is never followed:
/// the Node server's is malformed (no port, path `/`; `docs/protocol.md`, "Paging").
pub(crate) fn has_next_link(headers: &HeaderMap) -> bool {
    headers.get_all(LINK).iter().filter_map(|v| v.to_str().ok()).any(link_has_next)
}

/// Parses `<uri>; rel=next, <uri>; rel="prev next"` well enough: the `<…>` parts are skipped so
/// their `;` and `,` do not split anything.
fn link_has_next(value: &str) -> bool {
    let mut outside = String::with_capacity(value.len());
    let mut in_uri = false;
    for c in value.chars() {
        match c {
            '<' => in_uri = true,
            '>' => in_uri = false,
            _ if !in_uri => outside.push(c),
            _ => {}
        }
    }
    outside.split([';', ',']).any(|param| {
        let Some((name, val)) = param.split_once('=') else { return false };
        name.trim().eq_ignore_ascii_case("rel")
            && val.trim().trim_matches('"').split_ascii_whitespace().any(|r| r.eq_ignore_ascii_case("next"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use sync_core::backend::RemoteErrorKind;

    fn raw(body: &str, etag: Option<&str>) -> RawResponse {
        let mut headers = HeaderMap::new();
        if let Some(e) = etag {
            headers.insert(ETAG, HeaderValue::from_str(e).unwrap());
        }
        RawResponse { status: StatusCode::OK, headers, body: body.as_bytes().to_vec() }
    }

    #[test]
    fn items_take_the_version_from_the_etag() {
        let r = parse_item(&raw(r#"{"id":"a","n":1}"#, Some("\"MQ==\""))).unwrap();
        assert_eq!(r.version(), Some("MQ=="));
        let r = parse_item(&raw(r#"{"id":"a","version":"Mg=="}"#, Some("\"MQ==\""))).unwrap();
        assert_eq!(r.version(), Some("Mg=="));
        let r = parse_item(&raw(r#"{"id":"a"}"#, Some("W/\"5-abc\""))).unwrap();
        assert_eq!(r.version(), None);
    }

    #[test]
    fn malformed_items_are_protocol_errors() {
        for body in [
            "",
            "nope",
            "[]",
            "{}",
            r#"{"id":5}"#,
            r#"{"id":"a/b"}"#,
            r#"{"id":"a","version":7}"#,
            r#"{"id":"a","deleted":"yes"}"#,
            r#"{"id":"a","updatedAt":1}"#,
            r#"{"id":"a","updatedAt":"2024-01-01T00:00:00.000Z') or (1 eq 1"}"#,
            r#"{"id":"a","createdAt":"yesterday"}"#,
            "\u{0}",
        ] {
            let e = parse_item(&raw(body, None)).unwrap_err();
            assert_eq!(e.kind(), RemoteErrorKind::Protocol, "{body}");
        }
        assert!(conflict_item(&raw(r#"{"error":"x"}"#, None)).is_none());
    }

    #[test]
    fn rows_come_as_an_array_or_results() {
        let (rows, count) = parse_rows(&raw(r#"[{"id":"a"},{"id":"b","deleted":1}]"#, None)).unwrap();
        assert!(rows[1].is_deleted());
        assert_eq!(count, None, "a plain array has no count");
        let (rows, count) = parse_rows(&raw(r#"{"results":[{"id":"a"}],"count":12345}"#, None)).unwrap();
        assert_eq!((rows.len(), count), (1, Some(12345)));
        for odd in [r#""many""#, "-1", "1.5", "null"] {
            let body = format!(r#"{{"results":[{{"id":"a"}}],"count":{odd}}}"#);
            assert_eq!(parse_rows(&raw(&body, None)).unwrap().1, None, "a count of {odd} is left out");
        }
        for body in [r#"{"id":"a"}"#, r#"[{"id":"a"}, 3]"#, r#"[{"id":""}]"#, "7", r#"{"results":{}}"#] {
            assert_eq!(parse_rows(&raw(body, None)).unwrap_err().kind(), RemoteErrorKind::Protocol, "{body}");
        }
    }

    #[test]
    fn next_links_are_detected() {
        assert!(link_has_next("<http://127.0.0.1/?%24top=5&%24skip=5>; rel=next"));
        assert!(link_has_next("<http://x/?a=1;rel=prev>; rel=\"last next\""));
        assert!(link_has_next("<a>; rel=prev, <b>; REL=Next"));
        assert!(!link_has_next("<http://x/;rel=next>; rel=prev"));
        assert!(!link_has_next("garbage"));
    }
}

#[cfg(test)]
mod differential;
