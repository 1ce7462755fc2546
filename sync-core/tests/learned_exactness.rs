//! A remote that learns from its server's answers whether the server's timestamps are exact
//! (`AzureRestRemote` does, from sync-server's `x-sync-extensions: exact-timestamps`) changes how
//! the pull pages between two pages of one pull. Either way, at every page size and whenever it
//! learns it, every row arrives, no more than twice, and the next pull brings nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::json;
use store_memory::{MemoryRemote, MemoryStore};
use sync_core::backend::{Cursor, Page, RemoteError};
use sync_core::{Column, ColumnType, Expr, PullOptions, Query, Record, Remote, SyncContext, TableSchema};

/// An exact server (a `MemoryRemote` that stores what it sends) behind a remote that says its
/// timestamps are `before` until it has made `learn_after` queries, and the opposite after.
#[derive(Debug)]
struct Learning {
    inner: MemoryRemote,
    queries: AtomicU64,
    learn_after: u64,
    before: bool,
}

impl Learning {
    fn count(&self) {
        self.queries.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl Remote for Learning {
    async fn insert(&self, table: &str, item: &Record) -> Result<Record, RemoteError> {
        self.inner.insert(table, item).await
    }
    async fn update(&self, table: &str, item: &Record, version: Option<&str>) -> Result<Record, RemoteError> {
        self.inner.update(table, item, version).await
    }
    async fn delete(&self, table: &str, id: &str, version: Option<&str>) -> Result<(), RemoteError> {
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
        self.count();
        self.inner.query_page(table, filter, cursor, page_size).await
    }
    async fn query_page_with_total(
        &self,
        table: &str,
        filter: Option<&Expr>,
        cursor: Option<&Cursor>,
        page_size: u64,
    ) -> Result<Page, RemoteError> {
        self.count();
        self.inner.query_page_with_total(table, filter, cursor, page_size).await
    }
    async fn query_by_id(
        &self,
        table: &str,
        filter: Option<&Expr>,
        after_id: Option<&str>,
        page_size: u64,
    ) -> Result<Page, RemoteError> {
        self.count();
        self.inner.query_by_id(table, filter, after_id, page_size).await
    }
    fn exact_timestamps(&self) -> bool {
        match self.queries.load(Ordering::SeqCst) >= self.learn_after {
            true => !self.before,
            false => self.before,
        }
    }
}

fn schema() -> TableSchema {
    TableSchema::new("Item", vec![Column::nullable("n", ColumnType::Real)]).unwrap()
}

/// 5 milliseconds, 7 rows each, their ids in another order than the stamps.
fn seeded() -> (MemoryRemote, Vec<String>) {
    let remote = MemoryRemote::new();
    let mut ids = Vec::new();
    for stamp in 0..5 {
        let rows: Vec<Record> = (0..7)
            .map(|j| {
                let id = format!("r{:02}", j * 5 + (4 - stamp));
                ids.push(id.clone());
                Record::from_json(json!({"id": id, "n": 1.0})).unwrap()
            })
            .collect();
        remote.seed("Item", rows, &format!("2024-05-06T07:08:09.00{stamp}Z"));
    }
    ids.sort();
    (remote, ids)
}

#[tokio::test]
async fn learning_exactness_mid_pull_skips_no_row() {
    for before in [false, true] {
        for learn_after in [1, 2, 3, 5] {
            for page_size in [1, 2, 3, 7, 8, 50] {
                let case = format!("exact {before} → {} after {learn_after} queries, page size {page_size}", !before);
                let (server, ids) = seeded();
                let remote = Arc::new(Learning { inner: server, queries: AtomicU64::new(0), learn_after, before });
                let ctx = SyncContext::builder(MemoryStore::new())
                    .remote(remote.clone() as Arc<dyn Remote>)
                    .options(sync_core::SyncOptions::default().page_size(page_size))
                    .build()
                    .await
                    .unwrap();
                let items = ctx.json_table(schema()).await.unwrap();
                let first = items.pull(&Query::new(), PullOptions::incremental("all")).await;
                let first = first.unwrap_or_else(|e| panic!("{case}: {e}"));
                let local = items.query(&Query::new()).await.unwrap();
                let mut got: Vec<String> = local.items.iter().map(|r| r.id().to_owned()).collect();
                got.sort();
                assert_eq!(got, ids, "{case}: every row arrives ({first:?})");
                assert!(first.rows <= 2 * ids.len() as u64, "{case}: {} rows read for {}", first.rows, ids.len());
                if !before && learn_after == 1 {
                    // Learnt from the first answer: the rest of the pull is the plain keyset's.
                    let keyset = (ids.len() as u64).div_ceil(page_size)
                        + u64::from((ids.len() as u64).is_multiple_of(page_size));
                    assert_eq!(first.requests, keyset, "{case}: pages after the first follow the keyset cursor");
                }
                let again = items.pull(&Query::new(), PullOptions::incremental("all")).await.unwrap();
                assert_eq!(again.rows, 0, "{case}: the next pull brings nothing");
                // A row the server changes later arrives at the next pull, and only it.
                let current = remote.inner.read("Item", "r07").await.unwrap();
                let changed = Record::from_json(json!({"id": "r07", "n": 2.0})).unwrap();
                remote.inner.update("Item", &changed, current.version()).await.unwrap();
                let after = items.pull(&Query::new(), PullOptions::incremental("all")).await.unwrap();
                assert_eq!(after.rows, 1, "{case}: the changed row arrives");
            }
        }
    }
}
