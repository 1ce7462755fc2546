//! sync-server says its timestamps are exact (`x-sync-extensions: exact-timestamps`), and
//! `AzureRestRemote` with its default settings learns it from the first answer: the rest of a
//! pull follows the plain keyset cursor, with no windows, and every row arrives once.

mod common;

use common::{Db, TestServer};
use serde_json::json;
use store_diesel::DieselStore;
use sync_core::conformance::scenarios::item_schema;
use sync_core::{PullOptions, Query, Record, Remote, SyncContext, SyncOptions};

async fn pulls_with_the_keyset_cursor_once_told(db: Db) {
    let server = TestServer::start_on(db);
    // Rows sharing timestamps, three per page boundary at least: 250 rows over 5 stamps.
    for stamp in 0..5 {
        let rows = (0..50).map(|i| {
            let id = format!("x-{:03}", i * 5 + (4 - stamp));
            Record::from_json(json!({"id": id, "name": "x", "n": i, "flag": false})).unwrap()
        });
        server.server.seed("Item", rows, &format!("2024-05-06T07:08:09.00{stamp}Z")).await.unwrap();
    }
    let remote = server.remote();
    assert!(!remote.exact_timestamps(), "nothing is known before the first answer");
    let dir = tempfile::tempdir().unwrap();
    let store = DieselStore::open(dir.path().join("device.db")).await.unwrap();
    let ctx = SyncContext::builder(store)
        .remote(remote.clone())
        .options(SyncOptions::default().page_size(100))
        .build()
        .await
        .unwrap();
    let items = ctx.json_table(item_schema()).await.unwrap();
    let summary = items.pull(&Query::new(), PullOptions::incremental("all")).await.unwrap();
    assert!(remote.exact_timestamps(), "the server's first answer said so");
    assert_eq!(summary.upserted, 250, "{summary:?}");
    // Pages of 100, 100 and 50: three requests, where windows would add one per full page.
    assert_eq!((summary.rows, summary.requests), (250, 3), "{summary:?}");
    assert_eq!(items.count(&Query::new()).await.unwrap(), 250);
    let again = items.pull(&Query::new(), PullOptions::incremental("all")).await.unwrap();
    assert_eq!((again.rows, again.requests), (0, 1), "{again:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_pulls_with_the_keyset_cursor_once_told() {
    pulls_with_the_keyset_cursor_once_told(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_pulls_with_the_keyset_cursor_once_told() {
    pulls_with_the_keyset_cursor_once_told(Db::Postgres).await;
}
