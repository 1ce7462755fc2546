//! The case for [`Remote::batch`](crate::Remote::batch): whether the remote sends one request or
//! each write alone, every operation gets the answer its single call gets.

use serde_json::json;

use super::support::{expect_err, num, ok, patch, Case};
use super::RemoteFactory;
use crate::error::RemoteErrorKind;
use crate::remote::BatchOp;

const ITEM: &str = "Item";

/// One batch of writes, some failing, answered operation by operation as the single calls are:
/// an insert, an insert of an existing id (409), an update over the current version, one over a
/// stale version (412 with the server's item), an update and a delete of a missing item (404), a
/// delete over the current version; the failed ones change nothing and the others go on. The
/// remote is asked once before, so one that learns from answers whether the server takes
/// batches (`AzureRestRemote` with sync-server) sends a real batch here.
pub async fn batch_answers_each_operation_as_its_single_call(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    let a = c.insert(ITEM, &c.item("a", json!({"n": 1}))).await;
    let b = c.insert(ITEM, &c.item("b", json!({"n": 1}))).await;
    let gone = c.id("missing");
    let ops = vec![
        BatchOp::Insert { item: c.item("new", json!({"n": 7})) },
        BatchOp::Insert { item: c.item("a", json!({"n": 2})) },
        BatchOp::Update { item: patch(a.id(), json!({"n": 3})), version: a.version().map(str::to_owned) },
        BatchOp::Update { item: patch(b.id(), json!({"n": 3})), version: Some("c3RhbGU=".into()) },
        BatchOp::Update { item: patch(&gone, json!({"n": 3})), version: None },
        BatchOp::Delete { id: gone.clone(), version: None },
        BatchOp::Delete { id: b.id().to_owned(), version: b.version().map(str::to_owned) },
    ];
    let results = ok(c.remote.batch(ITEM, &ops).await, "batch");
    assert_eq!(results.len(), ops.len(), "batch: one result per operation");
    let mut results = results.into_iter();
    let mut next = || results.next().expect("a result");

    let inserted = ok(next(), "batched insert").expect("an insert answers with the item");
    assert_eq!((inserted.id(), num(&inserted, "n")), (c.id("new").as_str(), Some(7.0)), "batched insert");
    assert!(inserted.version().is_some(), "a batched insert answers with the version");
    expect_err(next(), RemoteErrorKind::Conflict, Some(409), "batched insert of an existing id");
    let updated = ok(next(), "batched update").expect("an update answers with the item");
    assert_eq!(num(&updated, "n"), Some(3.0), "batched update");
    assert_ne!(updated.version(), a.version(), "a batched update bumps the version");
    let stale = expect_err(next(), RemoteErrorKind::Conflict, Some(412), "batched update over a stale version");
    let server = stale.server_item().expect("a 412 carries the server's item");
    assert_eq!(num(server, "n"), Some(1.0), "the 412's item is the server's, unchanged");
    expect_err(next(), RemoteErrorKind::NotFound, Some(404), "batched update of a missing item");
    expect_err(next(), RemoteErrorKind::NotFound, Some(404), "batched delete of a missing item");
    assert_eq!(ok(next(), "batched delete"), None, "a delete answers without an item");

    assert_eq!(num(&c.read(ITEM, a.id()).await, "n"), Some(3.0), "after the batch: the update stands");
    expect_err(c.remote.read(ITEM, b.id()).await, RemoteErrorKind::NotFound, None, "after the batch: deleted");
    assert_eq!(num(&c.read(ITEM, &c.id("new")).await, "n"), Some(7.0), "after the batch: the insert stands");
}
