//! Remote decorators for tests: [`RecordingRemote`] logs calls in arrival order (with optional
//! latency), [`FlakyRemote`] injects faults. They wrap any [`Remote`], so the same scenarios run
//! against the in-memory remote and the real server. Neither forwards
//! [`Remote::batch`]: behind them every write goes alone, as the scenarios that count calls
//! and inject faults per write expect.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use crate::backend::{Cursor, Page, RemoteError};
use crate::{Expr, Record, Remote};

/// One call seen by a [`RecordingRemote`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// `insert`, `update`, `delete`, `read` or `query`.
    pub kind: &'static str,
    /// The table.
    pub table: String,
    /// The item id (empty for queries).
    pub id: String,
    /// Sequence number when the call started.
    pub started: u64,
    /// Sequence number when it ended.
    pub ended: u64,
}

/// Logs every call with start/end sequence numbers and can delay each call.
#[derive(Debug)]
pub struct RecordingRemote {
    inner: Arc<dyn Remote>,
    latency: Duration,
    clock: AtomicU64,
    calls: Mutex<Vec<Call>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl RecordingRemote {
    /// Wraps `inner`, delaying every call by `latency`.
    pub fn new(inner: Arc<dyn Remote>, latency: Duration) -> Self {
        RecordingRemote {
            inner,
            latency,
            clock: AtomicU64::new(0),
            calls: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        }
    }

    /// The calls so far, in the order they ended.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// The most calls that were in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    async fn record<T>(
        &self,
        kind: &'static str,
        table: &str,
        id: &str,
        call: impl std::future::Future<Output = T>,
    ) -> T {
        let started = self.clock.fetch_add(1, Ordering::SeqCst);
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        let out = call.await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let ended = self.clock.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(Call { kind, table: table.to_owned(), id: id.to_owned(), started, ended });
        }
        out
    }
}

#[async_trait]
impl Remote for RecordingRemote {
    async fn insert(&self, table: &str, item: &Record) -> Result<Record, RemoteError> {
        self.record("insert", table, item.id(), self.inner.insert(table, item)).await
    }
    async fn update(&self, table: &str, item: &Record, version: Option<&str>) -> Result<Record, RemoteError> {
        self.record("update", table, item.id(), self.inner.update(table, item, version)).await
    }
    async fn delete(&self, table: &str, id: &str, version: Option<&str>) -> Result<(), RemoteError> {
        self.record("delete", table, id, self.inner.delete(table, id, version)).await
    }
    async fn read(&self, table: &str, id: &str) -> Result<Record, RemoteError> {
        self.record("read", table, id, self.inner.read(table, id)).await
    }
    async fn query_page(
        &self,
        table: &str,
        filter: Option<&Expr>,
        cursor: Option<&Cursor>,
        page_size: u64,
    ) -> Result<Page, RemoteError> {
        self.record("query", table, "", self.inner.query_page(table, filter, cursor, page_size)).await
    }
    async fn undelete(&self, table: &str, id: &str, version: Option<&str>) -> Result<Record, RemoteError> {
        self.record("undelete", table, id, self.inner.undelete(table, id, version)).await
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
        self.record("query", table, "", self.inner.query_by_id(table, filter, after_id, page_size)).await
    }
}

/// A fault to inject into the next write call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The request never reaches the server: a dropped connection (transient, no status).
    Unreachable,
    /// The server answers 503.
    Unavailable,
    /// The server answers 401.
    Unauthorized,
    /// The server applies the write, then the connection drops before the answer arrives.
    LostResponse,
    /// The server applies an insert or update but answers with the item of this id (a broken
    /// or hostile server).
    AnswerWithId(String),
}

/// Injects faults: queued faults for writes, and a dropped connection during a pull after a
/// number of rows.
#[derive(Debug)]
pub struct FlakyRemote {
    inner: Arc<dyn Remote>,
    write_faults: Mutex<VecDeque<Fault>>,
    rows_before_drop: Mutex<Option<u64>>,
    queries: AtomicU64,
}

impl FlakyRemote {
    /// Wraps `inner` with no faults armed.
    pub fn new(inner: Arc<dyn Remote>) -> Self {
        FlakyRemote {
            inner,
            write_faults: Mutex::new(VecDeque::new()),
            rows_before_drop: Mutex::new(None),
            queries: AtomicU64::new(0),
        }
    }

    /// The next write calls fail with these faults, in order.
    pub fn fail_writes(&self, faults: impl IntoIterator<Item = Fault>) {
        if let Ok(mut q) = self.write_faults.lock() {
            q.extend(faults);
        }
    }

    /// Forgets the faults not used yet.
    pub fn clear_faults(&self) {
        if let Ok(mut q) = self.write_faults.lock() {
            q.clear();
        }
    }

    /// The query that would deliver row `rows + 1` (counted from now) fails as a dropped
    /// connection, once.
    pub fn drop_pull_after(&self, rows: u64) {
        if let Ok(mut r) = self.rows_before_drop.lock() {
            *r = Some(rows);
        }
    }

    /// Queries answered so far (failed ones included).
    pub fn queries(&self) -> u64 {
        self.queries.load(Ordering::SeqCst)
    }

    fn next_fault(&self) -> Option<Fault> {
        self.write_faults.lock().ok().and_then(|mut q| q.pop_front())
    }

    async fn write<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, RemoteError>>,
    ) -> Result<T, RemoteError> {
        let fault = self.next_fault();
        self.write_with(fault, call).await
    }

    /// An insert or update: its answer can be rewritten.
    async fn write_item(
        &self,
        call: impl std::future::Future<Output = Result<Record, RemoteError>>,
    ) -> Result<Record, RemoteError> {
        match self.next_fault() {
            Some(Fault::AnswerWithId(id)) => {
                let mut answer = call.await?;
                answer.set("id", serde_json::Value::String(id)).map_err(|e| RemoteError::protocol(e.to_string()))?;
                Ok(answer)
            }
            fault => self.write_with(fault, call).await,
        }
    }

    async fn write_with<T>(
        &self,
        fault: Option<Fault>,
        call: impl std::future::Future<Output = Result<T, RemoteError>>,
    ) -> Result<T, RemoteError> {
        match fault {
            None => call.await,
            Some(Fault::Unreachable) => Err(RemoteError::offline("injected: connection refused")),
            Some(Fault::Unavailable) => {
                Err(RemoteError::Transient { status: 503, message: "injected: service unavailable".into() })
            }
            Some(Fault::Unauthorized) => Err(RemoteError::Unauthorized { message: "injected: token expired".into() }),
            Some(Fault::LostResponse) => {
                let _ = call.await;
                Err(RemoteError::offline("injected: connection reset before the response"))
            }
            Some(Fault::AnswerWithId(_)) => call.await,
        }
    }
}

#[async_trait]
impl Remote for FlakyRemote {
    async fn insert(&self, table: &str, item: &Record) -> Result<Record, RemoteError> {
        self.write_item(self.inner.insert(table, item)).await
    }
    async fn update(&self, table: &str, item: &Record, version: Option<&str>) -> Result<Record, RemoteError> {
        self.write_item(self.inner.update(table, item, version)).await
    }
    async fn delete(&self, table: &str, id: &str, version: Option<&str>) -> Result<(), RemoteError> {
        self.write(self.inner.delete(table, id, version)).await
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
        self.queries.fetch_add(1, Ordering::SeqCst);
        let page = self.inner.query_page(table, filter, cursor, page_size).await?;
        self.deliver(page)
    }
    async fn undelete(&self, table: &str, id: &str, version: Option<&str>) -> Result<Record, RemoteError> {
        // Queued faults are for inserts, updates and deletes, the calls scenarios count.
        self.inner.undelete(table, id, version).await
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
        self.queries.fetch_add(1, Ordering::SeqCst);
        let page = self.inner.query_by_id(table, filter, after_id, page_size).await?;
        self.deliver(page)
    }
}

impl FlakyRemote {
    /// Hands a page over, or drops the connection when it would pass the rows left before
    /// the drop.
    fn deliver(&self, page: Page) -> Result<Page, RemoteError> {
        let mut budget = self.rows_before_drop.lock().map_err(|_| RemoteError::offline("poisoned"))?;
        if let Some(left) = *budget {
            let n = page.items.len() as u64;
            if n > left {
                *budget = None;
                return Err(RemoteError::offline("injected: connection dropped mid-pull"));
            }
            *budget = Some(left - n);
        }
        Ok(page)
    }
}
