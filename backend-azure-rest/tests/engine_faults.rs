//! Faults against the real Node server through the whole engine (store-diesel + this remote): the
//! server killed in the middle of a pull and of a push, then restarted — after a retry nothing is
//! lost or duplicated; a 401 stops the push with every operation still queued.

use std::time::Duration;

use backend_azure_rest::test_server::NodeServer;
use backend_azure_rest::AzureRestRemote;
use serde_json::json;
use store_diesel::DieselStore;
use sync_core::backend::Cursor;
use sync_core::conformance::scenarios::item_schema;
use sync_core::{
    column, ErrorKind, JsonTable, PullOptions, Query, Record, Remote, RetryPolicy, SyncContext, SyncEvent, SyncOptions,
};
use tokio::sync::mpsc;

fn options(page_size: u64) -> SyncOptions {
    let retry = RetryPolicy::default()
        .max_retries(1)
        .initial_backoff(Duration::from_millis(10))
        .max_backoff(Duration::from_millis(20));
    SyncOptions::default().page_size(page_size).retry(retry)
}

/// A device on a fresh SQLite file whose progress events go to the returned channel.
async fn device(
    dir: &tempfile::TempDir,
    remote: AzureRestRemote,
    page_size: u64,
) -> (SyncContext, JsonTable, mpsc::UnboundedReceiver<SyncEvent>) {
    let store = DieselStore::open(dir.path().join("device.db")).await.unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let ctx = SyncContext::builder(store)
        .remote(remote)
        .options(options(page_size))
        .on_event(move |e| {
            let _ = tx.send(e.clone());
        })
        .build()
        .await
        .unwrap();
    let items = ctx.json_table(item_schema()).await.unwrap();
    (ctx, items, rx)
}

/// Every server row of the table (deleted ones too), through plain keyset paging.
async fn server_ids(remote: &AzureRestRemote, name: &str) -> Vec<String> {
    let filter = Query::new().filter(column("name").eq(name)).filter;
    let mut cursor: Option<Cursor> = None;
    let mut ids = Vec::new();
    loop {
        let page = remote.query_page("Item", filter.as_ref(), cursor.as_ref(), 1000).await.unwrap();
        let Some(last) = page.items.last() else { break };
        cursor = Cursor::after(last);
        let n = page.items.len();
        ids.extend(page.items.iter().map(|r| r.id().to_owned()));
        if n < 1000 {
            break;
        }
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_killed_mid_pull_then_restarted_loses_and_duplicates_nothing() {
    let mut server = NodeServer::start().await.unwrap();
    server.seed("Item", 3000, "2024-05-01T00:00:00.000Z", "pull-").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (_ctx, items, mut events) = device(&dir, server.remote(), 100).await;

    let pulling = tokio::spawn({
        let items = items.clone();
        async move { items.pull(&Query::new(), PullOptions::incremental("everything")).await }
    });
    // Kill the server once a few pages are stored.
    while let Some(e) = events.recv().await {
        if matches!(e, SyncEvent::PagePulled { total_rows, .. } if total_rows >= 500) {
            break;
        }
    }
    server.kill().await.unwrap();
    let err = pulling.await.unwrap().unwrap_err();
    assert!(err.is_offline(), "{err:?}");
    let stored = items.count(&Query::new()).await.unwrap();
    assert!((500..3000).contains(&stored), "whole pages were kept: {stored}");
    assert_eq!(stored % 100, 0, "only whole pages are stored");

    server.restart().await.unwrap();
    let resumed = items.pull(&Query::new(), PullOptions::incremental("everything")).await.unwrap();
    assert_eq!(resumed.rows, 3000 - stored, "the retry resumes after the last stored page");
    assert_eq!(items.count(&Query::new()).await.unwrap(), 3000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_killed_mid_push_then_restarted_loses_and_duplicates_nothing() {
    let mut server = NodeServer::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (ctx, items, mut events) = device(&dir, server.remote(), 1000).await;
    let records: Vec<Record> = (0..300)
        .map(|i| Record::from_json(json!({"id": format!("push-{i:04}"), "name": "push", "n": i as f64})).unwrap())
        .collect();
    items.insert_batch(records).await.unwrap();

    let pushing = tokio::spawn({
        let ctx = ctx.clone();
        async move { ctx.push().await }
    });
    while let Some(e) = events.recv().await {
        if matches!(e, SyncEvent::ItemPushed { done, .. } if done >= 50) {
            break;
        }
    }
    server.kill().await.unwrap();
    let err = pushing.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Offline, "{err:?}");
    let left = ctx.pending_count().await.unwrap();
    assert!(left > 0 && left <= 250, "the operations not pushed stay queued: {left}");

    server.restart().await.unwrap();
    ctx.push().await.unwrap();
    assert_eq!(ctx.pending_count().await.unwrap(), 0);
    assert!(ctx.errors().await.unwrap().is_empty(), "a write the server got before the kill is not a conflict");
    let mut ids = server_ids(&server.remote(), "push").await;
    ids.sort();
    let expected: Vec<String> = (0..300).map(|i| format!("push-{i:04}")).collect();
    assert_eq!(ids, expected, "every item exactly once on the server");
    let local = items.query(&Query::new()).await.unwrap().items;
    assert!(local.iter().all(|r| r.version().is_some()), "every local row carries the server's version");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_stops_push_with_operations_queued() {
    let server = NodeServer::builder().auth_token("right-token").start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let wrong = AzureRestRemote::builder(server.url()).token("wrong-token").build().unwrap();
    let (ctx, items, _events) = device(&dir, wrong, 1000).await;
    for i in 0..5 {
        items.insert(Record::from_json(json!({"id": format!("auth-{i}"), "name": "auth"})).unwrap()).await.unwrap();
    }
    let err = ctx.push().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    assert!(!format!("{err:?} {err}").contains("wrong-token"), "tokens never appear in errors");
    assert_eq!(ctx.pending_count().await.unwrap(), 5);
    drop(ctx);

    // The same device with the right token pushes everything.
    let store = DieselStore::open(dir.path().join("device.db")).await.unwrap();
    let ctx = SyncContext::builder(store).remote(server.remote()).options(options(1000)).build().await.unwrap();
    ctx.json_table(item_schema()).await.unwrap();
    ctx.push().await.unwrap();
    assert_eq!(ctx.pending_count().await.unwrap(), 0);
}
