//! The `$batch` extension: `POST /tables/{t}/$batch` runs many writes of one table in one request.
//! Optional for clients and unknown to the official ones: a server that has it says so in the
//! `x-sync-extensions: batch` header of every answer, and a client uses it only then.
//!
//! ```text
//! POST /tables/TodoItem/$batch
//! {"operations": [
//!   {"op": "insert",   "item": {"id": "a", "text": "milk"}},
//!   {"op": "update",   "id": "b", "item": {"complete": true}, "ifMatch": "\"<version>\""},
//!   {"op": "delete",   "id": "c", "ifMatch": "*"},
//!   {"op": "undelete", "id": "d"}
//! ]}
//! → 200 {"results": [
//!   {"status": 201, "item": {…}},
//!   {"status": 412, "item": {<the server's item>}},
//!   {"status": 404, "error": "The item does not exist"},
//!   …
//! ]}
//! ```
//!
//! Each operation is the single request it names (`POST /tables/{t}`, `PATCH`, `DELETE`,
//! `POST /tables/{t}/{id}`) with its `If-Match`, and gets the status and body that request would
//! get; operations run in order in one transaction (a batch is not atomic: a failed operation
//! changes nothing and the others go on), and the batch commits once at the end, so a batch costs
//! one commit, not one per operation (on a dynamic table, whose writes add columns, each
//! operation commits alone). When no id comes twice, the batch is decided at once, with a few
//! multi-row statements for all its operations (`storage::plan`); else each operation runs in a
//! savepoint of its own. A failure of the transaction itself is a 500 and
//! commits none. A body that is not such a document, or with more than [`MAX_OPERATIONS`]
//! operations, is a 400 and runs none.

use axum::http::HeaderValue;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{short, Error};
use crate::ops::{self, Op};
use crate::server::Inner;
use crate::storage::Item;
use crate::table::TableDef;

/// The most operations one batch may carry.
pub const MAX_OPERATIONS: usize = 1000;

/// The header that advertises the extension, and its value.
pub(crate) const EXTENSIONS_HEADER: &str = "x-sync-extensions";
/// The value of [`EXTENSIONS_HEADER`]: `$batch`, and `exact-timestamps`, the statement that this
/// server compares and sorts `updatedAt` exactly as it sends it (it makes every `updatedAt`
/// itself, to the millisecond it sends, unique in its table), so clients page with the plain
/// keyset cursor instead of windows.
pub(crate) const EXTENSIONS: HeaderValue = HeaderValue::from_static("batch, exact-timestamps");

fn text(op: &Map<String, Value>, key: &str, i: usize) -> Result<Option<String>, Error> {
    match op.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::bad_request(format!("$batch operation {i}: {key} must be a string"))),
    }
}

/// Parses the batch document into operations (taking the items out of it, not copying them).
pub(crate) fn parse(mut body: Map<String, Value>) -> Result<Vec<Op>, Error> {
    if let Some(key) = body.keys().find(|k| *k != "operations") {
        return Err(Error::bad_request(format!("$batch: unknown member {:?}", short(key))));
    }
    let Some(Value::Array(list)) = body.remove("operations") else {
        return Err(Error::bad_request("$batch needs {\"operations\": [...]}"));
    };
    if list.len() > MAX_OPERATIONS {
        return Err(Error::bad_request(format!("$batch: at most {MAX_OPERATIONS} operations")));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, op) in list.into_iter().enumerate() {
        let Value::Object(mut op) = op else {
            return Err(Error::bad_request(format!("$batch operation {i} is not an object")));
        };
        if let Some(key) = op.keys().find(|k| !["op", "id", "item", "ifMatch"].contains(&k.as_str())) {
            return Err(Error::bad_request(format!("$batch operation {i}: unknown member {:?}", short(key))));
        }
        let item = match op.remove("item") {
            None => None,
            Some(Value::Object(m)) => Some(m),
            Some(_) => return Err(Error::bad_request(format!("$batch operation {i}: item must be an object"))),
        };
        let id = text(&op, "id", i)?;
        let if_match = text(&op, "ifMatch", i)?;
        let need_id = || id.clone().ok_or_else(|| Error::bad_request(format!("$batch operation {i} needs an id")));
        let parsed = match text(&op, "op", i)?.as_deref() {
            Some("insert") if id.is_none() && if_match.is_none() => Op::Insert {
                body: item.ok_or_else(|| Error::bad_request(format!("$batch operation {i} needs an item")))?,
            },
            Some("insert") => {
                return Err(Error::bad_request(format!("$batch operation {i}: an insert has its id in its item")))
            }
            Some("update") => Op::Update {
                id: need_id()?,
                body: item.ok_or_else(|| Error::bad_request(format!("$batch operation {i} needs an item")))?,
                if_match,
            },
            Some(kind @ ("delete" | "undelete")) if item.is_none() => {
                if kind == "delete" {
                    Op::Delete { id: need_id()?, if_match }
                } else {
                    Op::Undelete { id: need_id()?, if_match }
                }
            }
            Some("delete" | "undelete") => {
                return Err(Error::bad_request(format!("$batch operation {i}: a delete or undelete has no item")))
            }
            _ => {
                return Err(Error::bad_request(format!(
                    "$batch operation {i}: op must be insert, update, delete or undelete"
                )))
            }
        };
        out.push(parsed);
    }
    Ok(out)
}

/// The answer of a batch, serialized as it is (the items are not copied into a `Value` first).
#[derive(Debug, Serialize)]
pub(crate) struct Answers {
    results: Vec<Answer>,
}

/// The answer of one operation of a batch.
#[derive(Debug, Serialize)]
struct Answer {
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    item: Option<Item>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Runs the operations in order, committed together; one result per operation. The error is
/// for the batch as a whole (nothing was committed).
pub(crate) async fn run(inner: &Inner, table: &TableDef, user: Option<&str>, ops: Vec<Op>) -> Result<Answers, Error> {
    let answers = ops::run_many(inner, table, user, ops).await?;
    let results = answers
        .into_iter()
        .map(|answer| match answer {
            Ok((status, item)) => Answer { status: status.as_u16(), item: Some(item), error: None },
            Err(e) => match e.item() {
                Some(item) => Answer { status: e.status(), item: Some(item.clone()), error: None },
                None => Answer { status: e.status(), item: None, error: Some(e.client_message().to_owned()) },
            },
        })
        .collect();
    Ok(Answers { results })
}
