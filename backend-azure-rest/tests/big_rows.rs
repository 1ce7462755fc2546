//! Rows too big for the remote's body limit at the configured page size, against the official
//! Node server: the pull halves its page size (announcing it) until the pages fit; a row that
//! does not fit alone ends the pull with an error naming `page_size` and `max_body_bytes`.

use std::sync::{Arc, Mutex};

use backend_azure_rest::test_server::NodeServer;
use serde_json::json;
use sync_core::backend::RemoteError;
use sync_core::conformance::scenarios::item_schema;
use sync_core::{column, PullOptions, Query, Record, SyncContext, SyncError, SyncEvent};

const LIMIT: usize = 64 * 1024;

async fn seed_big(rows: usize, bytes: usize) -> f64 {
    let marker = (uuid_like() % 1_000_000_000) as f64;
    let big = "x".repeat(bytes);
    let records = (0..rows)
        .map(|i| Record::from_json(json!({"id": format!("big-{marker}-{i:03}"), "name": big, "n": marker})).unwrap());
    NodeServer::shared().await.seed_records("Item", records.collect(), "2024-06-01T00:00:00.000Z").await;
    marker
}

fn uuid_like() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
}

async fn device() -> (SyncContext, sync_core::JsonTable, Arc<Mutex<Vec<u64>>>) {
    let remote = NodeServer::shared().await.remote_builder().max_body_bytes(LIMIT).build().unwrap();
    let store = store_diesel::DieselStore::open_in_memory().await.unwrap();
    let ctx = SyncContext::builder(store).remote(remote).build().await.unwrap();
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&sizes);
    ctx.subscribe(move |e| {
        if let SyncEvent::PageSizeReduced { page_size, .. } = e {
            sink.lock().unwrap().push(*page_size);
        }
    });
    let items = ctx.json_table(item_schema()).await.unwrap();
    (ctx, items, sizes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_over_the_body_limit_are_asked_again_smaller() {
    let marker = seed_big(40, 10_000).await;
    let (_ctx, items, sizes) = device().await;
    let query = Query::new().filter(column("n").eq(marker));
    let summary = items.pull(&query, PullOptions::incremental("big")).await.unwrap();
    assert_eq!(summary.upserted, 40, "{summary:?}");
    let sizes = sizes.lock().unwrap().clone();
    assert!(!sizes.is_empty() && sizes.windows(2).all(|w| w[1] < w[0]), "halved step by step: {sizes:?}");
    assert!(*sizes.last().unwrap() * 10_000 < LIMIT as u64, "{sizes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_over_the_body_limit_alone_ends_the_pull_with_what_to_change() {
    let marker = seed_big(1, 100_000).await;
    let (_ctx, items, sizes) = device().await;
    let query = Query::new().filter(column("n").eq(marker));
    let err = items.pull(&query, PullOptions::incremental("huge")).await.unwrap_err();
    assert!(matches!(err, SyncError::Remote(RemoteError::TooLarge { .. })), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("max_body_bytes") && text.contains("page_size"), "{text}");
    assert_eq!(sizes.lock().unwrap().last(), Some(&1), "it tried down to one row");
}
