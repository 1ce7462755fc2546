//! Automatic sync on a database file, where a transaction whose future is dropped still runs to
//! its end on the store's thread: stopping during a push loses nothing, and `stop` returns only
//! once no transaction of the sync is running.

use std::time::Duration;

use futures::StreamExt;
use store_diesel::DieselStore;
use store_memory::MemoryRemote;
use sync_core::{AutoSync, Query, RetryPolicy, SyncContext, SyncEntity, SyncEvent, SyncOptions, SyncState};

#[derive(SyncEntity, Debug, Clone, PartialEq)]
#[sync(table = "TodoItem")]
struct TodoItem {
    id: String,
    text: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_during_a_push_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let server = MemoryRemote::new();
    server.set_latency(Duration::from_millis(5));
    let ctx = SyncContext::builder(DieselStore::open(&path).await.unwrap())
        .remote(server.clone())
        .options(SyncOptions::default().retry(RetryPolicy::none()).push_parallelism(4))
        .build()
        .await
        .unwrap();
    let todos = ctx.table::<TodoItem>().await.unwrap();
    todos.insert_batch((0..200).map(|i| TodoItem { id: format!("t{i:03}"), text: "x".into() })).await.unwrap();
    let mut events = ctx.events();
    let auto = AutoSync::new().pull("TodoItem", Query::new(), "all").push_debounce(Duration::ZERO);
    let sync = ctx.start_sync(auto).unwrap();
    let mut pushed = 0;
    while pushed < 10 {
        if let Some(SyncEvent::ItemPushed { .. }) = events.next().await {
            pushed += 1;
        }
    }
    let status = sync.watch_status();
    sync.stop().await;
    assert_eq!(status.borrow().state, SyncState::Stopped);
    drop(ctx);
    drop(todos);

    // A fresh handle on the file (as after a restart): everything is either on the server or
    // still queued, and its push sends the rest (operations left in flight are taken back).
    let on_server = server.rows("TodoItem").len();
    assert!(on_server < 200, "the push ended before the stop; the test proves nothing");
    let reopened =
        SyncContext::builder(DieselStore::open(&path).await.unwrap()).remote(server.clone()).build().await.unwrap();
    reopened.table::<TodoItem>().await.unwrap();
    let queued = reopened.pending_count().await.unwrap();
    assert!(on_server as u64 + queued >= 200, "{on_server} on the server and {queued} queued: some were lost");
    reopened.push().await.unwrap();
    assert_eq!(server.rows("TodoItem").len(), 200);
    assert_eq!(reopened.pending_count().await.unwrap(), 0);
    assert!(reopened.errors().await.unwrap().is_empty());
}
