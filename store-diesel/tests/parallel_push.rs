//! The engine pushing many operations, 8 in flight, from a DieselStore (whose transactions wait
//! on an async writer lock) to a remote with latency: it must finish, in order per item, with
//! nothing lost. A regression test for a push that stopped polling its in-flight operations while
//! it waited for the next batch of the queue.

use std::time::Duration;

use serde_json::json;
use store_diesel::DieselStore;
use store_memory::MemoryRemote;
use sync_core::{Column, ColumnType, Record, SyncContext, SyncOptions, TableSchema};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_in_flight_from_diesel_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let store = DieselStore::open(dir.path().join("push.db")).await.unwrap();
    let remote = MemoryRemote::new();
    remote.set_latency(Duration::from_millis(2));
    let options = SyncOptions::default().push_parallelism(8);
    let ctx = SyncContext::builder(store).remote(remote.clone()).options(options).build().await.unwrap();
    let schema = TableSchema::new("Item", vec![Column::new("name", ColumnType::String)]).unwrap();
    let items = ctx.json_table(schema).await.unwrap();
    let records: Vec<Record> =
        (0..2000).map(|i| Record::from_json(json!({"id": format!("i{i:05}"), "name": "x"})).unwrap()).collect();
    items.insert_batch(records).await.unwrap();
    // Edits queued behind the first round, so the same items come back in later batches.
    for round in 0..3 {
        let pushed = tokio::time::timeout(Duration::from_secs(120), ctx.push()).await;
        let summary = pushed.expect("the push finishes").unwrap();
        assert_eq!(summary.failed, 0);
        let edits: Vec<_> = (0..200)
            .map(|i| {
                sync_core::LocalChange::Update(
                    Record::from_json(json!({"id": format!("i{:05}", i * 7 + round), "name": format!("r{round}")}))
                        .unwrap(),
                )
            })
            .collect();
        items.write_batch(edits).await.unwrap();
    }
    tokio::time::timeout(Duration::from_secs(120), ctx.push()).await.expect("the push finishes").unwrap();
    assert_eq!(ctx.pending_count().await.unwrap(), 0);
    assert_eq!(remote.rows("Item").len(), 2000);
    assert_eq!(remote.row("Item", "i00002").unwrap().get("name"), Some(&json!("r2")));
}
