//! Scenarios: devices converge; deletes propagate; pending edits win; push order, parallelism,
//! races with local edits, and failures during push.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::wrappers::{Fault, FlakyRemote, RecordingRemote};
use super::{item, marker, new_id, server_rows, test_options, view, Device, ScenarioFactory};
use crate::{
    Column, ColumnType, DeferConflicts, ErrorKind, FailureKind, Record, RetryPolicy, SyncError, SyncOptions,
    TableSchema,
};

/// Two devices edit offline, push and pull: both end with the server's rows.
pub async fn two_devices_converge<F: ScenarioFactory>(f: &F) {
    let mark = marker("converge");
    let (a, b) = (Device::simple(f).await, Device::simple(f).await);
    for i in 0..3 {
        a.items.insert(item(&new_id(&mark, i), &mark, i as f64)).await.unwrap();
    }
    for i in 3..5 {
        b.items.insert(item(&new_id(&mark, i), &mark, i as f64)).await.unwrap();
    }
    a.ctx.push().await.unwrap();
    b.ctx.push().await.unwrap();
    a.pull(&mark).await;
    b.pull(&mark).await;
    let remote = f.remote().await;
    let server = server_rows(remote.as_ref(), &mark).await;
    assert_eq!(server.len(), 5);
    assert_eq!(view(&a.rows(&mark).await), view(&server));
    assert_eq!(view(&b.rows(&mark).await), view(&server));

    // Second round: edits on both sides, then sync again.
    let mut edited = a.items.get(&new_id(&mark, 3)).await.unwrap().unwrap();
    edited.set("n", json!(33.0)).unwrap();
    a.items.update(edited).await.unwrap();
    b.items.delete(&new_id(&mark, 0)).await.unwrap();
    b.items.insert(item(&new_id(&mark, 5), &mark, 5.0)).await.unwrap();
    a.ctx.push().await.unwrap();
    b.ctx.push().await.unwrap();
    a.pull(&mark).await;
    b.pull(&mark).await;
    let server = server_rows(remote.as_ref(), &mark).await;
    assert_eq!(server.len(), 5);
    assert_eq!(view(&a.rows(&mark).await), view(&server));
    assert_eq!(view(&b.rows(&mark).await), view(&server));
    assert!(a.ctx.errors().await.unwrap().is_empty() && b.ctx.errors().await.unwrap().is_empty());
}

/// A delete on one device removes the row from the other at its next pull.
pub async fn deletes_propagate<F: ScenarioFactory>(f: &F) {
    let mark = marker("deletes");
    let (a, b) = (Device::simple(f).await, Device::simple(f).await);
    let id = new_id(&mark, 1);
    a.items.insert(item(&id, &mark, 1.0)).await.unwrap();
    a.ctx.push().await.unwrap();
    b.pull(&mark).await;
    assert!(b.items.get(&id).await.unwrap().is_some());
    a.items.delete(&id).await.unwrap();
    a.ctx.push().await.unwrap();
    let summary = b.pull(&mark).await;
    assert_eq!(summary.deleted, 1);
    assert!(b.items.get(&id).await.unwrap().is_none());
    assert!(server_rows(f.remote().await.as_ref(), &mark).await.is_empty());
}

/// A pull does not overwrite an item that has a queued local change.
pub async fn pending_local_edits_survive_a_pull<F: ScenarioFactory>(f: &F) {
    let mark = marker("pending");
    let a = Device::simple(f).await;
    let options = SyncOptions { push_before_pull: false, ..test_options() };
    let b = Device::new(f.store().await, f.remote().await, DeferConflicts, options).await;
    let id = new_id(&mark, 1);
    a.items.insert(item(&id, &mark, 1.0)).await.unwrap();
    a.ctx.push().await.unwrap();
    b.pull(&mark).await;
    let mut mine = b.items.get(&id).await.unwrap().unwrap();
    mine.set("n", json!(200.0)).unwrap();
    b.items.update(mine).await.unwrap();
    let mut theirs = a.items.get(&id).await.unwrap().unwrap();
    theirs.set("n", json!(100.0)).unwrap();
    a.items.update(theirs).await.unwrap();
    a.ctx.push().await.unwrap();
    let summary = b.pull(&mark).await;
    assert_eq!(summary.skipped, 1);
    assert_eq!(b.items.get(&id).await.unwrap().unwrap().get("n"), Some(&json!(200.0)));
    assert_eq!(b.items.pending_operations().await.unwrap().len(), 1);
}

fn todo_schema() -> TableSchema {
    TableSchema::new(
        "TodoItem",
        vec![Column::new("text", ColumnType::String), Column::new("complete", ColumnType::Bool)],
    )
    .expect("valid schema")
}

/// Push sends one request per operation, in queue order, across tables.
pub async fn push_keeps_queue_order_across_tables<F: ScenarioFactory>(f: &F) {
    let mark = marker("order");
    let recorder = Arc::new(RecordingRemote::new(f.remote().await, Duration::ZERO));
    let d = Device::new(f.store().await, recorder.clone(), DeferConflicts, test_options()).await;
    let todos = d.ctx.json_table(todo_schema()).await.unwrap();
    let mut expected = Vec::new();
    for i in 0..6 {
        let id = new_id(&mark, i);
        if i % 2 == 0 {
            d.items.insert(item(&id, &mark, i as f64)).await.unwrap();
            expected.push(("Item".to_owned(), id));
        } else {
            let todo = Record::from_json(json!({"id": id, "text": mark, "complete": false})).unwrap();
            todos.insert(todo).await.unwrap();
            expected.push(("TodoItem".to_owned(), id));
        }
    }
    d.ctx.push().await.unwrap();
    let sent: Vec<_> = recorder.calls().into_iter().filter(|c| c.kind == "insert").map(|c| (c.table, c.id)).collect();
    assert_eq!(sent, expected);
    assert_eq!(d.ctx.pending_count().await.unwrap(), 0);
}

/// With 8 requests in flight, operations of one item still reach the server one at a time and in
/// queue order, and different items do overlap.
pub async fn parallel_push_keeps_per_item_order<F: ScenarioFactory>(f: &F) {
    let mark = marker("parallel");
    let recorder = Arc::new(RecordingRemote::new(f.remote().await, Duration::from_millis(30)));
    let options = SyncOptions { push_parallelism: 8, ..test_options() };
    let d = Device::new(f.store().await, recorder.clone(), DeferConflicts, options.clone()).await;
    // Push inserts first so later updates and deletes are separate operations on existing items.
    let ids: Vec<String> = (0..12).map(|i| new_id(&mark, i)).collect();
    for id in &ids {
        d.items.insert(item(id, &mark, 0.0)).await.unwrap();
    }
    d.ctx.push().await.unwrap();
    // Now queue per item: update, then (for some) a delete queued behind an in-flight update is
    // impossible to build offline, so use a second device pattern: update, push, update+delete.
    let mut expected: Vec<(String, Vec<&'static str>)> = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let mut r = d.items.get(id).await.unwrap().unwrap();
        r.set("n", json!(i as f64)).unwrap();
        d.items.update(r).await.unwrap();
        expected.push((id.clone(), vec!["update"]));
    }
    let before = recorder.calls().len();
    d.ctx.push().await.unwrap();
    let calls = recorder.calls()[before..].to_vec();
    assert!(recorder.max_in_flight() > 1, "8 in flight should overlap different items");
    for (id, kinds) in &expected {
        let mine: Vec<_> = calls.iter().filter(|c| &c.id == id).collect();
        assert_eq!(mine.iter().map(|c| c.kind).collect::<Vec<_>>(), *kinds);
    }
    // Operations on the same item, queued behind one another while a push runs.
    let id = &ids[0];
    let slow = Arc::new(RecordingRemote::new(f.remote().await, Duration::from_millis(150)));
    let d2 = Device::new(d.store.clone(), slow.clone(), DeferConflicts, options).await;
    let mut r = d2.items.get(id).await.unwrap().unwrap();
    r.set("n", json!(1000.0)).unwrap();
    d2.items.update(r).await.unwrap();
    let ctx = d2.ctx.clone();
    let push = tokio::spawn(async move { ctx.push().await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The update is in flight: this change queues behind it instead of collapsing into it.
    let mut r = d2.items.get(id).await.unwrap().unwrap();
    r.set("n", json!(2000.0)).unwrap();
    d2.items.update(r).await.unwrap();
    d2.items.delete(id).await.unwrap();
    push.await.unwrap().unwrap();
    d2.ctx.push().await.unwrap();
    let on_item: Vec<_> = slow.calls().into_iter().filter(|c| &c.id == id).collect();
    assert_eq!(on_item.iter().map(|c| c.kind).collect::<Vec<_>>(), vec!["update", "delete"]);
    assert!(on_item[0].ended < on_item[1].started, "same-item requests must not overlap");
    assert!(d2.ctx.errors().await.unwrap().is_empty());
    assert!(server_rows(f.remote().await.as_ref(), &mark).await.iter().all(|r| r.id() != id));
}

/// A local edit made while its item's previous change is in flight is kept (the push response
/// does not overwrite it) and is pushed next without a false conflict.
pub async fn newer_local_edit_survives_push_response<F: ScenarioFactory>(f: &F) {
    let mark = marker("race");
    let slow = Arc::new(RecordingRemote::new(f.remote().await, Duration::from_millis(150)));
    let d = Device::new(f.store().await, slow, DeferConflicts, test_options()).await;
    let id = new_id(&mark, 1);
    d.items.insert(item(&id, &mark, 1.0)).await.unwrap();
    let ctx = d.ctx.clone();
    let push = tokio::spawn(async move { ctx.push().await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut newer = d.items.get(&id).await.unwrap().unwrap();
    newer.set("n", json!(2.0)).unwrap();
    d.items.update(newer).await.unwrap();
    push.await.unwrap().unwrap();
    let local = d.items.get(&id).await.unwrap().unwrap();
    assert_eq!(local.get("n"), Some(&json!(2.0)), "the push response must not overwrite a newer edit");
    assert!(local.version().is_some(), "the server's version is adopted for the next push");
    d.ctx.push().await.unwrap();
    assert!(d.ctx.errors().await.unwrap().is_empty(), "no false conflict");
    let server = server_rows(f.remote().await.as_ref(), &mark).await;
    assert_eq!(server[0].get("n"), Some(&json!(2.0)));
    assert_eq!(view(&d.rows(&mark).await), view(&server));
}

/// The server applied a write but the answer was lost: the retry meets 409/412 with our own
/// change on the server, which is success, not a conflict.
pub async fn lost_response_is_not_a_conflict<F: ScenarioFactory>(f: &F) {
    let mark = marker("lost");
    let flaky = Arc::new(FlakyRemote::new(f.remote().await));
    let d = Device::new(f.store().await, flaky.clone(), DeferConflicts, test_options()).await;
    let id = new_id(&mark, 1);
    d.items.insert(item(&id, &mark, 1.0)).await.unwrap();
    flaky.fail_writes([Fault::LostResponse]);
    d.ctx.push().await.unwrap();
    let mut r = d.items.get(&id).await.unwrap().unwrap();
    r.set("n", json!(5.0)).unwrap();
    d.items.update(r).await.unwrap();
    flaky.fail_writes([Fault::LostResponse]);
    d.ctx.push().await.unwrap();
    assert!(d.ctx.errors().await.unwrap().is_empty());
    assert_eq!(d.ctx.pending_count().await.unwrap(), 0);
    let server = server_rows(f.remote().await.as_ref(), &mark).await;
    assert_eq!(view(&d.rows(&mark).await), view(&server));
}

fn no_retry() -> SyncOptions {
    SyncOptions { retry: RetryPolicy::none(), ..test_options() }
}

/// An unreachable server stops the push; every operation stays queued and a later push sends them.
pub async fn network_loss_stops_push_and_keeps_ops<F: ScenarioFactory>(f: &F) {
    let mark = marker("netloss");
    let flaky = Arc::new(FlakyRemote::new(f.remote().await));
    let d = Device::new(f.store().await, flaky.clone(), DeferConflicts, no_retry()).await;
    for i in 0..3 {
        d.items.insert(item(&new_id(&mark, i), &mark, 0.0)).await.unwrap();
    }
    flaky.fail_writes([Fault::Unreachable]);
    let err = d.ctx.push().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Offline, "{err:?}");
    assert!(matches!(err, SyncError::Remote(_)), "the push stops with the remote error it met: {err:?}");
    assert_eq!(d.ctx.pending_count().await.unwrap(), 3);
    assert!(d.ctx.errors().await.unwrap().is_empty());
    d.ctx.push().await.unwrap();
    assert_eq!(server_rows(f.remote().await.as_ref(), &mark).await.len(), 3);
}

/// A 401 stops the push with the operations still queued.
pub async fn unauthorized_stops_push_and_keeps_ops<F: ScenarioFactory>(f: &F) {
    let mark = marker("auth");
    let flaky = Arc::new(FlakyRemote::new(f.remote().await));
    let d = Device::new(f.store().await, flaky.clone(), DeferConflicts, no_retry()).await;
    for i in 0..2 {
        d.items.insert(item(&new_id(&mark, i), &mark, 0.0)).await.unwrap();
    }
    flaky.fail_writes([Fault::Unauthorized]);
    let err = d.ctx.push().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    assert_eq!(d.ctx.pending_count().await.unwrap(), 2);
    d.ctx.push().await.unwrap();
    assert_eq!(d.ctx.pending_count().await.unwrap(), 0);
}

/// A server error that outlasts the retries lands in the errors table and the push goes on; the
/// next push retries it and clears the error.
pub async fn server_errors_go_to_errors_table_and_push_goes_on<F: ScenarioFactory>(f: &F) {
    let mark = marker("5xx");
    let flaky = Arc::new(FlakyRemote::new(f.remote().await));
    let d = Device::new(f.store().await, flaky.clone(), DeferConflicts, test_options()).await;
    for i in 0..3 {
        d.items.insert(item(&new_id(&mark, i), &mark, 0.0)).await.unwrap();
    }
    // Three attempts (one + two retries) of the first operation fail.
    flaky.fail_writes([Fault::Unavailable, Fault::Unavailable, Fault::Unavailable]);
    let summary = d.ctx.push().await.unwrap();
    assert_eq!((summary.succeeded, summary.failed), (2, 1));
    let errors = d.ctx.errors().await.unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].failure, FailureKind::Transient);
    assert_eq!(errors[0].status, Some(503));
    assert_eq!(errors[0].item_id, new_id(&mark, 0));
    d.ctx.push().await.unwrap();
    assert!(d.ctx.errors().await.unwrap().is_empty());
    assert_eq!(server_rows(f.remote().await.as_ref(), &mark).await.len(), 3);
}
