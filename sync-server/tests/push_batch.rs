//! The engine's push through `AzureRestRemote` with the `$batch` extension, against a real
//! sync-server on SQLite and on PostgreSQL: thousands of operations go in a few requests and the
//! server ends up holding exactly the device's rows; a batch whose answer is lost after the
//! server applied it is sent again without duplicates or false conflicts.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use backend_azure_rest::AzureRestRemote;
use common::{Db, TestServer};
use serde_json::json;
use store_diesel::DieselStore;
use sync_core::backend::{BatchOp, BatchResult, Cursor, Page, RemoteError};
use sync_core::conformance::scenarios::item_schema;
use sync_core::{Expr, JsonTable, Query, Record, Remote, RetryPolicy, SyncContext, SyncOptions};

/// Counts the requests that reach the remote, and can lose the answer of the next batch.
#[derive(Debug)]
struct Counting {
    inner: AzureRestRemote,
    batches: AtomicUsize,
    singles: AtomicUsize,
    lose_next_batch: AtomicBool,
}

impl Counting {
    fn new(inner: AzureRestRemote) -> Self {
        Counting {
            inner,
            batches: AtomicUsize::new(0),
            singles: AtomicUsize::new(0),
            lose_next_batch: AtomicBool::new(false),
        }
    }

    fn single(&self) {
        self.singles.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl Remote for Counting {
    async fn insert(&self, table: &str, item: &Record) -> Result<Record, RemoteError> {
        self.single();
        self.inner.insert(table, item).await
    }
    async fn update(&self, table: &str, item: &Record, version: Option<&str>) -> Result<Record, RemoteError> {
        self.single();
        self.inner.update(table, item, version).await
    }
    async fn delete(&self, table: &str, id: &str, version: Option<&str>) -> Result<(), RemoteError> {
        self.single();
        self.inner.delete(table, id, version).await
    }
    async fn read(&self, table: &str, id: &str) -> Result<Record, RemoteError> {
        self.inner.read(table, id).await
    }
    async fn query_page(
        &self,
        table: &str,
        filter: Option<&Expr>,
        cursor: Option<&Cursor>,
        page_size: u64,
    ) -> Result<Page, RemoteError> {
        self.inner.query_page(table, filter, cursor, page_size).await
    }
    fn exact_timestamps(&self) -> bool {
        self.inner.exact_timestamps()
    }
    async fn query_by_id(
        &self,
        table: &str,
        filter: Option<&Expr>,
        after_id: Option<&str>,
        page_size: u64,
    ) -> Result<Page, RemoteError> {
        self.inner.query_by_id(table, filter, after_id, page_size).await
    }
    fn max_batch(&self) -> usize {
        self.inner.max_batch()
    }
    async fn batch(&self, table: &str, ops: &[BatchOp]) -> Result<Vec<BatchResult>, RemoteError> {
        self.batches.fetch_add(1, Ordering::SeqCst);
        let answer = self.inner.batch(table, ops).await;
        if self.lose_next_batch.swap(false, Ordering::SeqCst) {
            return Err(RemoteError::offline("test: the connection dropped before the answer"));
        }
        answer
    }
}

/// Every live `Item` row of this case (by `name`), as `(id, n)` sorted by id.
async fn server_rows(remote: &AzureRestRemote, mark: &str) -> Vec<(String, Option<f64>)> {
    let filter = sync_core::column("name").eq(mark);
    let mut cursor: Option<Cursor> = None;
    let mut out = Vec::new();
    loop {
        let page = remote.query_page("Item", Some(&filter), cursor.as_ref(), 1000).await.unwrap();
        let Some(last) = page.items.last() else { break };
        cursor = Cursor::after(last);
        out.extend(
            page.items
                .into_iter()
                .filter(|r| !r.is_deleted())
                .map(|r| (r.id().to_owned(), r.get("n").and_then(|v| v.as_f64()))),
        );
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

async fn local_rows(items: &JsonTable) -> Vec<(String, Option<f64>)> {
    let mut out: Vec<_> = items
        .query(&Query::new())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|r| (r.id().to_owned(), r.get("n").and_then(|v| v.as_f64())))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

async fn device(remote: Arc<Counting>, options: SyncOptions) -> (SyncContext, JsonTable, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = DieselStore::open(dir.path().join("device.db")).await.unwrap();
    let remote: Arc<dyn Remote> = remote;
    let ctx = SyncContext::builder(store).remote(remote).options(options).build().await.unwrap();
    let items = ctx.json_table(item_schema()).await.unwrap();
    (ctx, items, dir)
}

fn rows(mark: &str, range: std::ops::Range<usize>) -> Vec<Record> {
    range
        .map(|i| {
            Record::from_json(json!({"id": format!("{mark}-{i:04}"), "name": mark, "n": i, "flag": false})).unwrap()
        })
        .collect()
}

async fn two_thousand_operations_in_batches(db: Db) {
    let server = TestServer::start_on(db);
    let remote = Arc::new(Counting::new(server.remote()));
    let (ctx, items, _dir) = device(remote.clone(), SyncOptions::default().push_parallelism(4)).await;
    let mark = "bulk";
    items.insert_batch(rows(mark, 0..2000)).await.unwrap();
    let summary = ctx.push().await.unwrap();
    assert_eq!((summary.total, summary.succeeded, summary.failed), (2000, 2000, 0));
    // Before the first answer nothing is known: the first requests (one per slot) go alone.
    let (batches, singles) = (remote.batches.load(Ordering::SeqCst), remote.singles.load(Ordering::SeqCst));
    assert!(singles <= 4, "{singles} single requests");
    assert!((2..=8).contains(&batches), "{batches} batches");
    // Updates of half, deletes of a quarter, and new rows: 2,000 operations of three kinds.
    for i in 0..1000 {
        let mut r = items.get(&format!("{mark}-{i:04}")).await.unwrap().unwrap();
        r.set("n", json!(i as f64 + 0.5)).unwrap();
        items.update(r).await.unwrap();
    }
    for i in 1000..1500 {
        items.delete(&format!("{mark}-{i:04}")).await.unwrap();
    }
    items.insert_batch(rows(mark, 2000..2500)).await.unwrap();
    remote.singles.store(0, Ordering::SeqCst);
    let summary = ctx.push().await.unwrap();
    assert_eq!((summary.total, summary.succeeded, summary.failed), (2000, 2000, 0));
    assert_eq!(remote.singles.load(Ordering::SeqCst), 0, "every write went in a batch");
    assert!(ctx.errors().await.unwrap().is_empty());
    let on_server = server_rows(&server.remote(), mark).await;
    assert_eq!(on_server.len(), 2000);
    assert_eq!(on_server, local_rows(&items).await);
}

async fn a_lost_batch_answer_duplicates_nothing(db: Db) {
    let server = TestServer::start_on(db);
    let remote = Arc::new(Counting::new(server.remote()));
    let options = SyncOptions::default().retry(RetryPolicy::none());
    let (ctx, items, _dir) = device(remote.clone(), options).await;
    let mark = "lost";
    items.insert_batch(rows(mark, 0..300)).await.unwrap();
    ctx.push().await.unwrap();
    for i in 0..100 {
        let mut r = items.get(&format!("{mark}-{i:04}")).await.unwrap().unwrap();
        r.set("n", json!(-1.0)).unwrap();
        items.update(r).await.unwrap();
    }
    for i in 100..150 {
        items.delete(&format!("{mark}-{i:04}")).await.unwrap();
    }
    items.insert_batch(rows(mark, 300..400)).await.unwrap();
    // The server applies the batch; its answer is lost.
    remote.lose_next_batch.store(true, Ordering::SeqCst);
    let err = ctx.push().await.unwrap_err();
    assert!(err.is_offline(), "{err:?}");
    assert_eq!(ctx.pending_count().await.unwrap(), 250);
    // An edit made meanwhile, to an item whose update may have landed.
    let mut r = items.get(&format!("{mark}-0000")).await.unwrap().unwrap();
    r.set("n", json!(42.0)).unwrap();
    items.update(r).await.unwrap();
    let summary = ctx.push().await.unwrap();
    assert_eq!(summary.failed, 0, "{summary:?}");
    assert!(ctx.errors().await.unwrap().is_empty(), "{:?}", ctx.errors().await.unwrap());
    assert_eq!(ctx.pending_count().await.unwrap(), 0);
    let on_server = server_rows(&server.remote(), mark).await;
    assert_eq!(on_server.len(), 350);
    assert_eq!(on_server, local_rows(&items).await);
    assert_eq!(on_server[0].1, Some(42.0));
}

mod sqlite {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn two_thousand_operations_in_batches() {
        super::two_thousand_operations_in_batches(Db::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_lost_batch_answer_duplicates_nothing() {
        super::a_lost_batch_answer_duplicates_nothing(Db::Sqlite).await;
    }
}

mod postgres {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn two_thousand_operations_in_batches() {
        super::two_thousand_operations_in_batches(Db::Postgres).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_lost_batch_answer_duplicates_nothing() {
        super::a_lost_batch_answer_duplicates_nothing(Db::Postgres).await;
    }
}
