//! The `$batch` extension of sync-server (not part of the Mobile Apps protocol): how a server
//! says it has it, the request body, and the per-operation results of its answer.
//!
//! ```text
//! POST /tables/{t}/$batch
//! {"operations": [{"op": "insert", "item": {…}},
//!                 {"op": "update", "id": "b", "item": {…}, "ifMatch": "\"<version>\""},
//!                 {"op": "delete", "id": "c", "ifMatch": "\"<version>\""}]}
//! → 200 {"results": [{"status": 201, "item": {…}}, {"status": 412, "item": {…}}, {"status": 404, "error": "…"}]}
//! ```

use std::sync::atomic::{AtomicU8, Ordering};

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Map, Value};
use sync_core::backend::{strip_server_columns, validate_id, BatchOp, RemoteError};
use sync_core::Record;

use crate::error::from_status;
use crate::response::{json, to_record};
use crate::urls::{if_match, invalid_request};

/// The header in which a server lists its extensions, comma-separated.
pub(crate) const EXTENSIONS_HEADER: &str = "x-sync-extensions";

/// The most operations sync-server takes in one batch.
pub const MAX_BATCH: usize = 1000;

/// Whether [`AzureRestRemote`](crate::AzureRestRemote) sends many writes of one table in one
/// `$batch` request (an extension of sync-server, unknown to the official servers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Batching {
    /// Batches once a response of the server has said it takes them (`x-sync-extensions: batch`),
    /// and stops when a successful response no longer says so (the default). The first
    /// request to a server always goes alone.
    #[default]
    Negotiate,
    /// Never batches: one request per write, as the official clients send them.
    Off,
}

/// What is known of the server's extensions (`x-sync-extensions`): shared by the clones of one
/// remote. Each is learnt alike: listed turns it on, a successful response that does not list it
/// turns it off (the server at this URL changed), an error response changes nothing (a proxy or
/// gateway may have answered in the server's place).
#[derive(Debug, Default)]
pub(crate) struct Negotiated {
    batch: AtomicU8,
    exact_timestamps: AtomicU8,
}

// 0: nothing learnt yet.
const YES: u8 = 1;
const NO: u8 = 2;

/// The extension of batches of writes.
const BATCH: &str = "batch";
/// The server's statement that it compares and sorts `updatedAt` exactly as it sends it.
const EXACT_TIMESTAMPS: &str = "exact-timestamps";

impl Negotiated {
    /// Learns from one response.
    pub(crate) fn learn(&self, status: StatusCode, headers: &HeaderMap) {
        let listed = |name: &str| {
            headers
                .get_all(EXTENSIONS_HEADER)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .any(|ext| ext.trim().eq_ignore_ascii_case(name))
        };
        for (flag, name) in [(&self.batch, BATCH), (&self.exact_timestamps, EXACT_TIMESTAMPS)] {
            if listed(name) {
                flag.store(YES, Ordering::Relaxed);
            } else if status.is_success() {
                flag.store(NO, Ordering::Relaxed);
            }
        }
    }

    /// The server does not take batches at this URL (it answered a batch 404, 405 or 501).
    pub(crate) fn refuse(&self) {
        self.batch.store(NO, Ordering::Relaxed);
    }

    /// Whether the server said it takes batches.
    pub(crate) fn has_batch(&self) -> bool {
        self.batch.load(Ordering::Relaxed) == YES
    }

    /// Whether the server said its timestamps are exact.
    pub(crate) fn has_exact_timestamps(&self) -> bool {
        self.exact_timestamps.load(Ordering::Relaxed) == YES
    }
}

/// The JSON of one operation, or the error its single call would fail with before sending
/// (an invalid id or version).
pub(crate) fn operation(op: &BatchOp) -> Result<Value, RemoteError> {
    let id = op.id();
    validate_id(id).map_err(|e| invalid_request(e.to_string()))?;
    let if_match = |version: &Option<String>| -> Result<Value, RemoteError> {
        match version {
            None => Ok(Value::Null),
            Some(v) => if_match(v)
                .and_then(|h| h.to_str().ok().map(|s| Value::String(s.to_owned())))
                .ok_or_else(|| invalid_request("the version cannot be sent as If-Match")),
        }
    };
    let mut out = match op {
        BatchOp::Insert { item } => json!({"op": "insert", "item": strip_server_columns(item)}),
        BatchOp::Update { item, version } => {
            json!({"op": "update", "id": id, "item": strip_server_columns(item), "ifMatch": if_match(version)?})
        }
        BatchOp::Delete { version, .. } => json!({"op": "delete", "id": id, "ifMatch": if_match(version)?}),
        _ => return Err(invalid_request("this kind of operation cannot be batched")),
    };
    if let Some(map) = out.as_object_mut() {
        map.retain(|_, v| !v.is_null());
    }
    Ok(out)
}

/// One result of a batch answer as the single call's answer would be read: the item for a 2xx
/// (`None` for a delete), the error its status stands for otherwise (a 409/412 with the
/// server's item when the result holds a valid one).
pub(crate) enum ItemAnswer {
    /// The operation succeeded.
    Done(Option<Record>),
    /// It failed as its single request would have; `insert_conflict` is a 409 to an insert
    /// without the server's item (the caller may read it).
    Failed { error: RemoteError, insert_conflict: bool },
}

/// Reads the `results` of a batch answer, one per operation sent; anything else is a protocol
/// error for the batch as a whole (what the server did is then unknown).
pub(crate) fn results(body: &[u8], expected: usize) -> Result<Vec<Map<String, Value>>, RemoteError> {
    let bad = |what: String| RemoteError::protocol(format!("not a $batch answer: {what}"));
    let Value::Object(mut doc) = json(body)? else { return Err(bad("not a JSON object".into())) };
    let Some(Value::Array(list)) = doc.remove("results") else {
        return Err(bad("no \"results\" array".into()));
    };
    if list.len() != expected {
        return Err(bad(format!("{} results for {expected} operations", list.len())));
    }
    list.into_iter()
        .enumerate()
        .map(|(i, r)| match r {
            Value::Object(m) if m.get("status").and_then(Value::as_u64).is_some_and(|s| (100..600).contains(&s)) => {
                Ok(m)
            }
            _ => Err(bad(format!("result {i} is not an object with an HTTP status"))),
        })
        .collect()
}

/// The answer one result gives its operation.
pub(crate) fn item_answer(op: &BatchOp, mut result: Map<String, Value>) -> ItemAnswer {
    let code = result.get("status").and_then(Value::as_u64).and_then(|s| u16::try_from(s).ok()).unwrap_or(0);
    let Ok(status) = StatusCode::from_u16(code) else {
        return ItemAnswer::Failed {
            error: RemoteError::protocol(format!("HTTP status {code}")),
            insert_conflict: false,
        };
    };
    let item = result.remove("item").filter(|v| !v.is_null());
    if status.is_success() {
        if let BatchOp::Delete { .. } = op {
            return ItemAnswer::Done(None);
        }
        let answer = match item {
            Some(v) => to_record(v),
            None => Err(RemoteError::protocol("a successful result without its item")),
        };
        return match answer.and_then(|r| same_item(op, r)) {
            Ok(r) => ItemAnswer::Done(Some(r)),
            Err(error) => ItemAnswer::Failed { error, insert_conflict: false },
        };
    }
    let server_item = match code {
        409 | 412 => item.and_then(|v| to_record(v).ok()),
        _ => None,
    };
    let insert_conflict = code == 409 && server_item.is_none() && matches!(op, BatchOp::Insert { .. });
    let body = serde_json::to_vec(&Value::Object(result)).unwrap_or_default();
    ItemAnswer::Failed { error: from_status(status, Some("application/json"), &body, server_item), insert_conflict }
}

/// The answer must be about the operation's item.
fn same_item(op: &BatchOp, item: Record) -> Result<Record, RemoteError> {
    if item.id() == op.id() {
        return Ok(item);
    }
    Err(RemoteError::protocol(format!(
        "the server answered a batched write of item {:?} with item {:?}",
        crate::error::shorten(op.id()),
        crate::error::shorten(item.id())
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use sync_core::backend::RemoteErrorKind;

    fn rec(v: Value) -> Record {
        Record::from_json(v).unwrap()
    }

    #[test]
    fn the_extension_is_learnt_from_headers() {
        let n = Negotiated::default();
        assert!(!n.has_batch());
        let mut with = HeaderMap::new();
        with.insert(EXTENSIONS_HEADER, HeaderValue::from_static("other, Batch"));
        n.learn(StatusCode::BAD_REQUEST, &with);
        assert!(n.has_batch());
        // An error without the header (a gateway) changes nothing; a success without it does.
        n.learn(StatusCode::BAD_GATEWAY, &HeaderMap::new());
        assert!(n.has_batch());
        n.learn(StatusCode::OK, &HeaderMap::new());
        assert!(!n.has_batch());
        n.learn(StatusCode::OK, &with);
        n.refuse();
        assert!(!n.has_batch());
        let mut unrelated = HeaderMap::new();
        unrelated.insert(EXTENSIONS_HEADER, HeaderValue::from_static("batching"));
        n.learn(StatusCode::OK, &unrelated);
        assert!(!n.has_batch());
    }

    #[test]
    fn exact_timestamps_are_learnt_like_batches() {
        let n = Negotiated::default();
        assert!(!n.has_exact_timestamps(), "nothing is known before an answer");
        let mut both = HeaderMap::new();
        both.insert(EXTENSIONS_HEADER, HeaderValue::from_static("batch, Exact-Timestamps"));
        n.learn(StatusCode::OK, &both);
        assert!(n.has_batch() && n.has_exact_timestamps());
        n.learn(StatusCode::BAD_GATEWAY, &HeaderMap::new());
        assert!(n.has_exact_timestamps(), "a gateway's error answer changes nothing");
        let mut batch_only = HeaderMap::new();
        batch_only.insert(EXTENSIONS_HEADER, HeaderValue::from_static("batch"));
        n.learn(StatusCode::OK, &batch_only);
        assert!(n.has_batch() && !n.has_exact_timestamps(), "a server that stops saying it is believed");
    }

    #[test]
    fn operations_are_written_as_the_server_reads_them() {
        let item = rec(json!({"id": "a", "n": 1, "version": "v1", "updatedAt": "2024-01-01T00:00:00.000Z"}));
        let insert = operation(&BatchOp::Insert { item: item.clone() }).unwrap();
        assert_eq!(insert, json!({"op": "insert", "item": {"id": "a", "n": 1}}));
        let update = operation(&BatchOp::Update { item, version: Some("v\"1".into()) }).unwrap();
        assert_eq!(update, json!({"op": "update", "id": "a", "item": {"id": "a", "n": 1}, "ifMatch": "\"v\\\"1\""}));
        let delete = operation(&BatchOp::Delete { id: "a".into(), version: None }).unwrap();
        assert_eq!(delete, json!({"op": "delete", "id": "a"}));
        let bad_id = operation(&BatchOp::Delete { id: "a/b".into(), version: None }).unwrap_err();
        assert_eq!(bad_id.status(), Some(400));
        let bad_version = operation(&BatchOp::Delete { id: "a".into(), version: Some("\n".into()) }).unwrap_err();
        assert!(bad_version.to_string().contains("request not sent"), "{bad_version}");
    }

    #[test]
    fn malformed_answers_are_protocol_errors_for_the_whole_batch() {
        for body in [
            "",
            "[]",
            r#"{"results": {}}"#,
            r#"{"results": [{"status": 200}]}"#,
            r#"{"results": [1, 2]}"#,
            r#"{"results": [{"status": "200"}, {"status": 200}]}"#,
            r#"{"results": [{"status": 99}, {"status": 200}]}"#,
            r#"{"results": [{"status": 200}, {"status": 200}, {"status": 200}]}"#,
        ] {
            let e = results(body.as_bytes(), 2).unwrap_err();
            assert_eq!(e.kind(), RemoteErrorKind::Protocol, "{body}");
        }
        assert_eq!(results(br#"{"results": [{"status": 200}, {"status": 404}]}"#, 2).unwrap().len(), 2);
    }

    fn answer(op: &BatchOp, result: Value) -> Result<Option<Record>, (RemoteError, bool)> {
        let Value::Object(m) = result else { panic!("an object") };
        match item_answer(op, m) {
            ItemAnswer::Done(r) => Ok(r),
            ItemAnswer::Failed { error, insert_conflict } => Err((error, insert_conflict)),
        }
    }

    #[test]
    fn each_result_is_classified_as_its_single_request() {
        let insert = BatchOp::Insert { item: rec(json!({"id": "a"})) };
        let update = BatchOp::Update { item: rec(json!({"id": "a"})), version: Some("v".into()) };
        let delete = BatchOp::Delete { id: "a".into(), version: None };
        let ok = answer(&insert, json!({"status": 201, "item": {"id": "a", "version": "v"}})).unwrap();
        assert_eq!(ok.unwrap().version(), Some("v"));
        assert_eq!(answer(&delete, json!({"status": 200, "item": {"id": "a"}})).unwrap(), None);
        let (e, _) = answer(&update, json!({"status": 412, "item": {"id": "a", "version": "w"}})).unwrap_err();
        assert_eq!((e.kind(), e.status()), (RemoteErrorKind::Conflict, Some(412)));
        assert_eq!(e.server_item().unwrap().version(), Some("w"));
        let (e, fetch) = answer(&insert, json!({"status": 409, "error": "exists"})).unwrap_err();
        assert!(e.server_item().is_none() && fetch);
        let (e, _) = answer(&update, json!({"status": 404, "error": "The item does not exist"})).unwrap_err();
        assert_eq!(e.kind(), RemoteErrorKind::NotFound);
        assert!(e.to_string().contains("The item does not exist"), "{e}");
        let (e, _) = answer(&update, json!({"status": 400, "error": "bad"})).unwrap_err();
        assert_eq!((e.kind(), e.status()), (RemoteErrorKind::BadRequest, Some(400)));
        let (e, _) = answer(&update, json!({"status": 500, "error": "internal server error"})).unwrap_err();
        assert_eq!(e.kind(), RemoteErrorKind::Transient);
        // A success about another item, or without a valid item, is not used.
        for bad in
            [json!({"status": 200, "item": {"id": "b"}}), json!({"status": 200}), json!({"status": 200, "item": 5})]
        {
            let (e, _) = answer(&update, bad.clone()).unwrap_err();
            assert_eq!(e.kind(), RemoteErrorKind::Protocol, "{bad}");
        }
    }
}
