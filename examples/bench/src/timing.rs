//! A [`Remote`] wrapper that sums the time spent inside the wrapped remote, so a
//! section can split the engine's time into "waiting for the remote" and "everything else"
//! (store, records, engine) without a profiler. Its own cost is two clock reads per call. It also
//! counts calls started and finished and keeps the first failures, for reports of a stuck push.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use sync_core::backend::{BatchOp, BatchResult, Cursor, Page, PageRequest, RemoteError, RowPage};
use sync_core::{Expr, Record, Remote, TableSchema};

/// Time inside the remote, calls, and the first failures.
#[derive(Debug, Default)]
pub struct RemoteTime {
    nanos: AtomicU64,
    started: AtomicU64,
    finished: AtomicU64,
    failures: Mutex<Vec<String>>,
}

/// Failures kept for a report.
const KEPT_FAILURES: usize = 20;

impl RemoteTime {
    /// Summed time inside the remote (with calls in flight together, their times add up).
    pub fn total(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::Relaxed))
    }

    /// Calls started, calls finished, and the first failures (`call: error`).
    pub fn report(&self) -> (u64, u64, Vec<String>) {
        let failures = self.failures.lock().map(|f| f.clone()).unwrap_or_default();
        (self.started.load(Ordering::Relaxed), self.finished.load(Ordering::Relaxed), failures)
    }

    fn start(&self) -> Instant {
        self.started.fetch_add(1, Ordering::Relaxed);
        Instant::now()
    }

    fn add<T>(&self, call: &str, since: Instant, result: &Result<T, RemoteError>) {
        self.nanos.fetch_add(since.elapsed().as_nanos() as u64, Ordering::Relaxed);
        self.finished.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = result {
            if let Ok(mut f) = self.failures.lock() {
                if f.len() < KEPT_FAILURES {
                    f.push(format!("{call} after {:?}: {e}", since.elapsed()));
                }
            }
        }
    }
}

/// Wraps a remote and times every call. An optional `stop_after` makes inserts beyond that
/// many fail with `Unauthorized`, which stops a push at once with the rest still queued.
#[derive(Debug)]
pub struct Timed<R> {
    inner: R,
    time: Arc<RemoteTime>,
    stop_after: Option<u64>,
    inserts: AtomicU64,
}

impl<R: Remote> Timed<R> {
    /// Wraps `inner`; the counters are shared with the returned handle.
    pub fn new(inner: R) -> (Self, Arc<RemoteTime>) {
        let time = Arc::new(RemoteTime::default());
        (Timed { inner, time: Arc::clone(&time), stop_after: None, inserts: AtomicU64::new(0) }, time)
    }

    /// Lets `n` inserts through; later ones fail with `Unauthorized` (which aborts a push).
    pub fn stop_after_inserts(mut self, n: u64) -> Self {
        self.stop_after = Some(n);
        self
    }
}

#[async_trait]
impl<R: Remote> Remote for Timed<R> {
    async fn insert(&self, table: &str, item: &Record) -> Result<Record, RemoteError> {
        if let Some(limit) = self.stop_after {
            if self.inserts.fetch_add(1, Ordering::Relaxed) >= limit {
                return Err(RemoteError::Unauthorized { message: "benchmark: enough inserts".into() });
            }
        }
        let start = self.time.start();
        let r = self.inner.insert(table, item).await;
        self.time.add("insert", start, &r);
        r
    }

    async fn update(&self, table: &str, item: &Record, version: Option<&str>) -> Result<Record, RemoteError> {
        let start = self.time.start();
        let r = self.inner.update(table, item, version).await;
        self.time.add("update", start, &r);
        r
    }

    async fn delete(&self, table: &str, id: &str, version: Option<&str>) -> Result<(), RemoteError> {
        let start = self.time.start();
        let r = self.inner.delete(table, id, version).await;
        self.time.add("delete", start, &r);
        r
    }

    async fn read(&self, table: &str, id: &str) -> Result<Record, RemoteError> {
        let start = self.time.start();
        let r = self.inner.read(table, id).await;
        self.time.add("read", start, &r);
        r
    }

    async fn query_page(
        &self,
        table: &str,
        filter: Option<&Expr>,
        cursor: Option<&Cursor>,
        page_size: u64,
    ) -> Result<Page, RemoteError> {
        let start = self.time.start();
        let r = self.inner.query_page(table, filter, cursor, page_size).await;
        self.time.add("query_page", start, &r);
        r
    }

    async fn query_rows(&self, schema: &Arc<TableSchema>, request: PageRequest<'_>) -> Result<RowPage, RemoteError> {
        let start = self.time.start();
        let r = self.inner.query_rows(schema, request).await;
        self.time.add("query_page", start, &r);
        r
    }

    async fn query_page_with_total(
        &self,
        table: &str,
        filter: Option<&Expr>,
        cursor: Option<&Cursor>,
        page_size: u64,
    ) -> Result<Page, RemoteError> {
        let start = self.time.start();
        let r = self.inner.query_page_with_total(table, filter, cursor, page_size).await;
        self.time.add("query_page", start, &r);
        r
    }

    async fn undelete(&self, table: &str, id: &str, version: Option<&str>) -> Result<Record, RemoteError> {
        let start = self.time.start();
        let r = self.inner.undelete(table, id, version).await;
        self.time.add("undelete", start, &r);
        r
    }

    fn exact_timestamps(&self) -> bool {
        self.inner.exact_timestamps()
    }

    fn max_batch(&self) -> usize {
        self.inner.max_batch()
    }

    async fn batch(&self, table: &str, ops: &[BatchOp]) -> Result<Vec<BatchResult>, RemoteError> {
        let start = self.time.start();
        let r = self.inner.batch(table, ops).await;
        self.time.add("batch", start, &r);
        r
    }

    async fn query_by_id(
        &self,
        table: &str,
        filter: Option<&Expr>,
        after_id: Option<&str>,
        page_size: u64,
    ) -> Result<Page, RemoteError> {
        let start = self.time.start();
        let r = self.inner.query_by_id(table, filter, after_id, page_size).await;
        self.time.add("query_by_id", start, &r);
        r
    }
}

impl<R: Remote + 'static> From<Timed<R>> for std::sync::Arc<dyn Remote> {
    fn from(remote: Timed<R>) -> Self {
        std::sync::Arc::new(remote)
    }
}
