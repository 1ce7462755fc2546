//! [`MemoryRemote`]: an in-memory [`Remote`] that answers like the official Node server
//! (npm `azure-mobile-apps` 4.0.2, SQLite provider, soft delete), with a controllable clock, a
//! request log and fault injection for tests.
//!
//! Map of the module: `server` (the tables and the server's rules), `filter` (SQL's
//! three-valued filter logic), `clock`, `log` ([`Request`]), `faults` ([`Fault`]), `ids`.

mod batch;
mod clock;
mod faults;
mod filter;
mod ids;
mod log;
mod server;
mod timestamps;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sync_core::backend::strip_server_columns;
use sync_core::backend::{BatchOp, BatchResult, Cursor, Page, RemoteError};
use sync_core::{Expr, Record, Remote};

use clock::Clock;
pub use faults::Fault;
use faults::Faults;
pub use log::{Request, RequestKind};
use server::Server;
pub use timestamps::TimestampStorage;

/// An in-memory server for tests: a [`Remote`] that behaves like the official Node server on
/// SQLite with soft delete.
///
/// What it mimics:
/// - tables are created on first use and grow a column the first time a field appears; every row
///   comes back with every column of its table (`null` where unset), like `SELECT *`;
/// - insert stores the item with `createdAt` = `updatedAt` = the server clock (millisecond
///   `YYYY-MM-DDTHH:MM:SS.sssZ` text), `version` = base64 of a per-row counter (`"MQ=="`,
///   `"Mg=="`, …) and `deleted: false`; an existing id, soft-deleted or not, is a
///   `Conflict { status: 409, server_item: None }` (the Node server echoes the request item);
/// - update merges the sent fields (`PATCH`), delete soft-deletes; both bump `version` and
///   `updatedAt`, answer 404 ([`RemoteError::NotFound`]) for a missing or soft-deleted item, and
///   412 with the current item when the `If-Match` version differs; read answers 404 for both too;
/// - [`query_page`](Remote::query_page) returns the rows matching the filter and after the cursor,
///   soft-deleted ones included, ordered by `(updatedAt, id)`; `page_size` 0 means the server's
///   default 50 and more than 1000 is a 400; `has_next_link` is set when the page is full;
/// - filters are evaluated as SQL does: a comparison with a null column is unknown (so
///   `n ne 1` and `not (n eq 1)` skip rows where `n` is null), and `startswith`/`substringof`
///   match no row, as on the Node server with SQLite.
///
/// The [`Remote`] methods take the app's local rows: like a REST remote they drop the server-owned
/// columns (`createdAt`, `updatedAt`, `version`, `deleted`) before "sending". The wire-level
/// [`post`](Self::post) and [`patch`](Self::patch) take request bodies as the server sees them.
///
/// It is cheap to clone (clones share one server), thread-safe, and never holds its lock across an
/// `await`. Without [`set_latency`](Self::set_latency) it never sleeps, so it needs no runtime.
///
/// ```
/// use std::time::Duration;
/// use store_memory::{Fault, MemoryRemote};
/// use sync_core::backend::RemoteErrorKind;
/// use sync_core::{Record, Remote};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let remote = MemoryRemote::new();
/// let item = Record::from_json(serde_json::json!({"id": "a", "text": "milk", "complete": false})).unwrap();
/// let stored = remote.insert("TodoItem", &item).await.unwrap();
/// assert_eq!(stored.version(), Some("MQ=="));
///
/// let mut edit = stored.clone();
/// edit.set("complete", serde_json::json!(true)).unwrap();
/// let updated = remote.update("TodoItem", &edit, stored.version()).await.unwrap();
/// assert_eq!(updated.version(), Some("Mg=="));
///
/// // A stale version is a 412 carrying the server's item.
/// let err = remote.update("TodoItem", &edit, stored.version()).await.unwrap_err();
/// assert_eq!(err.status(), Some(412));
/// assert_eq!(err.server_item().unwrap().version(), Some("Mg=="));
///
/// // Faults: the next call fails without reaching the data.
/// remote.fail_next(1, Fault::unavailable());
/// assert_eq!(remote.read("TodoItem", "a").await.unwrap_err().kind(), RemoteErrorKind::Transient);
/// assert_eq!(remote.request_count(), 4);
/// # });
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryRemote {
    inner: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    server: Server,
    clock: Clock,
    log: Vec<Request>,
    faults: Faults,
    latency: Duration,
    /// When set, every write's `updatedAt` is after the last one (see `set_unique_timestamps`).
    last_stamp: Option<Option<DateTime<Utc>>>,
    /// What [`Remote::max_batch`] answers (see `set_max_batch`).
    max_batch: usize,
}

impl State {
    /// The server time for a call of `kind`: unique per write when asked for, stored as the
    /// [`TimestampStorage`] stores it.
    fn stamp(&mut self, kind: RequestKind) -> String {
        let mut now = self.clock.now();
        if let Some(last) = self.last_stamp.as_mut().filter(|_| kind.is_write()) {
            if let Some(previous) = *last {
                now = now.max(previous + chrono::TimeDelta::milliseconds(1));
            }
            *last = Some(now);
        }
        self.server.stamps.stamp(now)
    }
}

impl MemoryRemote {
    /// Stamps every write with an `updatedAt` strictly after the previous write's (the clock's
    /// time, or one millisecond after the last stamp), as `sync-server` does. The official
    /// servers do not: two writes in one millisecond share it, which leaves the keyset cursor
    /// its same-millisecond blind spot. Off by default, to behave like them.
    ///
    /// ```
    /// use sync_core::{Record, Remote};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let remote = store_memory::MemoryRemote::new();
    /// remote.set_unique_timestamps(true);
    /// let a = remote.insert("Item", &Record::with_id("a").unwrap()).await.unwrap();
    /// let b = remote.insert("Item", &Record::with_id("b").unwrap()).await.unwrap();
    /// assert!(b.updated_at() > a.updated_at());
    /// # });
    /// ```
    pub fn set_unique_timestamps(&self, on: bool) {
        let mut state = self.lock();
        state.last_stamp = if on { Some(state.last_stamp.flatten()) } else { None };
    }

    /// Stores `updatedAt` with more digits than it sends, like the .NET server or the Node
    /// server on rows another tool wrote (see [`TimestampStorage`]); then
    /// [`exact_timestamps`](Remote::exact_timestamps) answers `false`. Rows already stored keep
    /// their `updatedAt`. [`TimestampStorage::Exact`] (the default) is the Node server's own
    /// rows.
    pub fn set_timestamp_storage(&self, storage: TimestampStorage) {
        self.lock().server.stamps = storage;
    }

    /// An empty server on the real clock, with no faults and no latency.
    ///
    /// ```
    /// let remote = store_memory::MemoryRemote::new();
    /// assert!(remote.tables().is_empty());
    /// ```
    pub fn new() -> Self {
        MemoryRemote::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic in another thread's test code cannot leave the state half-written: every
        // mutation is a few plain assignments. Keep serving.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    // --- the clock -------------------------------------------------------------------------

    /// The server's current time.
    ///
    /// ```
    /// let remote = store_memory::MemoryRemote::new();
    /// assert!(remote.now() <= chrono::Utc::now());
    /// ```
    pub fn now(&self) -> DateTime<Utc> {
        self.lock().clock.now()
    }

    /// Moves the clock to `at`; it keeps running from there.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// let remote = store_memory::MemoryRemote::new();
    /// let t = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
    /// remote.set_clock(t);
    /// assert!(remote.now() >= t);
    /// ```
    pub fn set_clock(&self, at: DateTime<Utc>) {
        self.lock().clock.set(at);
    }

    /// Stops the clock at `at`: every write gets this `updatedAt` until the clock is moved, so many
    /// rows can share one timestamp.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// let remote = store_memory::MemoryRemote::new();
    /// let t = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
    /// remote.freeze_clock(t);
    /// assert_eq!(remote.now(), t);
    /// ```
    pub fn freeze_clock(&self, at: DateTime<Utc>) {
        self.lock().clock.freeze(at);
    }

    /// Moves the clock forward by `by` (frozen or running).
    ///
    /// ```
    /// use std::time::Duration;
    /// use chrono::{TimeZone, Utc};
    /// let remote = store_memory::MemoryRemote::new();
    /// let t = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
    /// remote.freeze_clock(t);
    /// remote.advance(Duration::from_millis(5));
    /// assert_eq!(remote.now(), t + chrono::TimeDelta::milliseconds(5));
    /// ```
    pub fn advance(&self, by: Duration) {
        self.lock().clock.advance(by);
    }

    /// Goes back to real time.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// let remote = store_memory::MemoryRemote::new();
    /// remote.freeze_clock(Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap());
    /// remote.real_clock();
    /// assert!(remote.now().timestamp() > 1_700_000_000);
    /// ```
    pub fn real_clock(&self) {
        self.lock().clock = Clock::default();
    }

    // --- storage ---------------------------------------------------------------------------

    /// Writes rows straight into storage, as another client (or a server script) would, with
    /// `updatedAt` = `updated_at` — e.g. to put 2,500 rows on one timestamp. It is stored as the
    /// [`TimestampStorage`] stores timestamps: in milliseconds by default, verbatim under
    /// `FinerText`, with seven digits under `FinerInstant`. No request is logged and no fault
    /// applies.
    ///
    /// A new row gets `createdAt` = `updated_at` and version `"MQ=="`; an existing one is merged
    /// with the given fields and its version bumped. `deleted` is taken from the row (default
    /// `false`, which undeletes); `createdAt`, `updatedAt` and `version` in the rows are ignored.
    ///
    /// ```
    /// use sync_core::Record;
    /// let remote = store_memory::MemoryRemote::new();
    /// let rows = (0..3).map(|i| Record::from_json(serde_json::json!({"id": format!("r{i}"), "n": i})).unwrap());
    /// remote.seed("Item", rows, "2024-01-01T00:00:00.000Z");
    /// let stored = remote.rows("Item");
    /// assert_eq!(stored.len(), 3);
    /// assert!(stored.iter().all(|r| r.updated_at() == Some("2024-01-01T00:00:00.000Z")));
    /// ```
    pub fn seed(&self, table: &str, rows: impl IntoIterator<Item = Record>, updated_at: &str) {
        let rows: Vec<Record> = rows.into_iter().collect();
        self.lock().server.seed(table, rows, updated_at);
    }

    /// Every row of `table` as the server stores it, soft-deleted ones included, in insertion order
    /// (empty for a table never used).
    ///
    /// ```
    /// let remote = store_memory::MemoryRemote::new();
    /// assert!(remote.rows("Nothing").is_empty());
    /// ```
    pub fn rows(&self, table: &str) -> Vec<Record> {
        self.lock().server.rows(table)
    }

    /// One row as stored, soft-deleted or not.
    ///
    /// ```
    /// use sync_core::Record;
    /// let remote = store_memory::MemoryRemote::new();
    /// remote.seed("Item", [Record::with_id("x").unwrap()], "2024-01-01T00:00:00.000Z");
    /// assert_eq!(remote.row("Item", "x").unwrap().version(), Some("MQ=="));
    /// assert!(remote.row("Item", "y").is_none());
    /// ```
    pub fn row(&self, table: &str, id: &str) -> Option<Record> {
        self.lock().server.row(table, id)
    }

    /// The tables that exist, sorted.
    ///
    /// ```
    /// use sync_core::Record;
    /// let remote = store_memory::MemoryRemote::new();
    /// remote.seed("Item", [Record::with_id("x").unwrap()], "2024-01-01T00:00:00.000Z");
    /// assert_eq!(remote.tables(), vec!["Item".to_owned()]);
    /// ```
    pub fn tables(&self) -> Vec<String> {
        self.lock().server.table_names()
    }

    // --- wire-level requests ---------------------------------------------------------------

    /// `POST /tables/{table}` with `body` exactly as the server would receive it: a missing or
    /// null `id` gets a generated GUID; `createdAt`, `updatedAt` or `deleted` in the body is a
    /// 400; a `version` is stored verbatim (the Node SQLite quirk). Logged and subject to faults
    /// like [`Remote::insert`].
    ///
    /// ```
    /// use store_memory::MemoryRemote;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let remote = MemoryRemote::new();
    /// let body = serde_json::json!({"text": "no id"}).as_object().unwrap().clone();
    /// let stored = remote.post("TodoItem", body).await.unwrap();
    /// assert_eq!(stored.id().len(), 36);
    ///
    /// let reserved = serde_json::json!({"text": "x", "deleted": false}).as_object().unwrap().clone();
    /// assert_eq!(remote.post("TodoItem", reserved).await.unwrap_err().status(), Some(400));
    /// # });
    /// ```
    pub async fn post(&self, table: &str, body: Map<String, Value>) -> Result<Record, RemoteError> {
        let req = Request::new(RequestKind::Insert, table).id(body.get("id").and_then(Value::as_str));
        self.call(req, move |server, now| server.insert(table, body, now)).await
    }

    /// `PATCH /tables/{table}/{id}` with `body` exactly as the server would receive it and an
    /// optional `If-Match` version. A `version` in the body without `If-Match` is checked too
    /// (a mismatch is a 409 with the server's item); an `id` in the body that differs from `id`,
    /// or a reserved column, is a 400.
    ///
    /// ```
    /// use store_memory::MemoryRemote;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let remote = MemoryRemote::new();
    /// let body = serde_json::json!({"id": "a", "n": 1}).as_object().unwrap().clone();
    /// remote.post("Item", body).await.unwrap();
    /// let stale = serde_json::json!({"n": 2, "version": "old"}).as_object().unwrap().clone();
    /// let err = remote.patch("Item", "a", stale, None).await.unwrap_err();
    /// assert_eq!(err.status(), Some(409));
    /// assert!(err.server_item().is_some());
    /// # });
    /// ```
    pub async fn patch(
        &self,
        table: &str,
        id: &str,
        body: Map<String, Value>,
        if_match: Option<&str>,
    ) -> Result<Record, RemoteError> {
        let req = Request::new(RequestKind::Update, table).id(Some(id)).version(if_match);
        self.call(req, move |server, now| server.update(table, id, body, if_match, now)).await
    }

    // --- the request log -------------------------------------------------------------------

    /// Every call received since the last [`reset_log`](Self::reset_log), in arrival order.
    ///
    /// ```
    /// let remote = store_memory::MemoryRemote::new();
    /// assert!(remote.requests().is_empty());
    /// ```
    pub fn requests(&self) -> Vec<Request> {
        self.lock().log.clone()
    }

    /// How many calls were received since the last [`reset_log`](Self::reset_log).
    ///
    /// ```
    /// use sync_core::Remote;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let remote = store_memory::MemoryRemote::new();
    /// let _ = remote.read("Item", "nope").await;
    /// assert_eq!(remote.request_count(), 1);
    /// # });
    /// ```
    pub fn request_count(&self) -> usize {
        self.lock().log.len()
    }

    /// How many calls of one kind were received since the last [`reset_log`](Self::reset_log).
    ///
    /// ```
    /// use store_memory::RequestKind;
    /// use sync_core::Remote;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let remote = store_memory::MemoryRemote::new();
    /// remote.query_page("Item", None, None, 10).await.unwrap();
    /// assert_eq!(remote.request_count_of(RequestKind::Query), 1);
    /// assert_eq!(remote.request_count_of(RequestKind::Insert), 0);
    /// # });
    /// ```
    pub fn request_count_of(&self, kind: RequestKind) -> usize {
        self.lock().log.iter().filter(|r| r.kind == kind).count()
    }

    /// Forgets the logged calls.
    ///
    /// ```
    /// use sync_core::Remote;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let remote = store_memory::MemoryRemote::new();
    /// let _ = remote.read("Item", "nope").await;
    /// remote.reset_log();
    /// assert_eq!(remote.request_count(), 0);
    /// # });
    /// ```
    pub fn reset_log(&self) {
        self.lock().log.clear();
    }

    // --- fault injection -------------------------------------------------------------------

    /// The next `n` calls (of any kind) fail with `fault` without touching the data. Orders
    /// queue up: a second `fail_next` applies after the first is used up.
    ///
    /// ```
    /// use store_memory::{Fault, MemoryRemote};
    /// use sync_core::backend::RemoteErrorKind;
    /// use sync_core::{Record, Remote};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let remote = MemoryRemote::new();
    /// remote.fail_next(1, RemoteErrorKind::Unauthorized);
    /// let item = Record::with_id("a").unwrap();
    /// assert_eq!(remote.insert("Item", &item).await.unwrap_err().status(), Some(401));
    /// assert!(remote.rows("Item").is_empty());
    /// assert!(remote.insert("Item", &item).await.is_ok());
    /// # });
    /// ```
    pub fn fail_next(&self, n: u64, fault: impl Into<Fault>) {
        self.lock().faults.fail_next(None, n, fault.into());
    }

    /// The next `n` calls of `kind` fail with `fault`; other calls are served normally.
    ///
    /// ```
    /// use store_memory::{Fault, MemoryRemote, RequestKind};
    /// use sync_core::{Record, Remote};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let remote = MemoryRemote::new();
    /// remote.fail_next_of(RequestKind::Update, 1, Fault::unavailable());
    /// let item = remote.insert("Item", &Record::with_id("a").unwrap()).await.unwrap();
    /// assert_eq!(remote.update("Item", &item, None).await.unwrap_err().status(), Some(503));
    /// # });
    /// ```
    pub fn fail_next_of(&self, kind: RequestKind, n: u64, fault: impl Into<Fault>) {
        self.lock().faults.fail_next(Some(kind), n, fault.into());
    }

    /// The next `n` writes (insert, update, delete, or a whole batch) are applied, then answered
    /// with an offline error: the server did it but the client never heard. Reads and queries do
    /// not use these up. Checked after [`fail_next`](Self::fail_next) orders: a call failed by
    /// those is not applied and does not use one up.
    ///
    /// ```
    /// use store_memory::MemoryRemote;
    /// use sync_core::backend::RemoteErrorKind;
    /// use sync_core::{Record, Remote};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let remote = MemoryRemote::new();
    /// remote.fail_after_apply_next(1);
    /// let item = Record::with_id("a").unwrap();
    /// assert_eq!(remote.insert("Item", &item).await.unwrap_err().kind(), RemoteErrorKind::Offline);
    /// assert_eq!(remote.rows("Item").len(), 1);
    /// // The client retries and learns the item is already there.
    /// assert_eq!(remote.insert("Item", &item).await.unwrap_err().status(), Some(409));
    /// # });
    /// ```
    pub fn fail_after_apply_next(&self, n: u64) {
        self.lock().faults.lose_responses(n);
    }

    /// Arms a dropped connection mid-pull: counting rows delivered by
    /// [`query_page`](Remote::query_page) from now on, the call that would deliver row `k + 1`
    /// fails with a transient error (and delivers nothing). It fires once.
    ///
    /// ```
    /// use store_memory::MemoryRemote;
    /// use sync_core::backend::Cursor;
    /// use sync_core::{Record, Remote};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let remote = MemoryRemote::new();
    /// let rows = (0..5).map(|i| Record::with_id(format!("r{i}")).unwrap());
    /// remote.seed("Item", rows, "2024-01-01T00:00:00.000Z");
    /// remote.drop_after_rows(3);
    /// let first = remote.query_page("Item", None, None, 2).await.unwrap();
    /// let cursor = Cursor::after(first.items.last().unwrap()).unwrap();
    /// assert!(remote.query_page("Item", None, Some(&cursor), 2).await.is_err());
    /// assert_eq!(remote.query_page("Item", None, Some(&cursor), 2).await.unwrap().items.len(), 2);
    /// # });
    /// ```
    pub fn drop_after_rows(&self, k: u64) {
        self.lock().faults.drop_after_rows(k);
    }

    /// Disarms every fault set with `fail_next*`, `fail_after_apply_next` and `drop_after_rows`.
    ///
    /// ```
    /// use store_memory::{Fault, MemoryRemote};
    /// use sync_core::Remote;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let remote = MemoryRemote::new();
    /// remote.fail_next(10, Fault::Protocol);
    /// remote.clear_faults();
    /// assert!(remote.query_page("Item", None, None, 1).await.is_ok());
    /// # });
    /// ```
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Delays every call by `latency` before the server handles it (`tokio::time::sleep`, so a
    /// tokio runtime with the time driver is needed while it is non-zero). For concurrency tests.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use sync_core::Remote;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let remote = store_memory::MemoryRemote::new();
    /// remote.set_latency(Duration::from_millis(20));
    /// let start = Instant::now();
    /// let _ = remote.read("Item", "a").await;
    /// assert!(start.elapsed() >= Duration::from_millis(20));
    /// # });
    /// ```
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// Runs one call: waits the latency, then, under one lock, logs it, applies faults and runs
    /// `op` with the server time.
    /// A page of a query that asked for `top` rows, as the client receives it. A dropped
    /// connection loses the whole page; counted outside `call` so a fault order or a 400 does
    /// not count rows.
    fn deliver_page(&self, items: Vec<Record>, top: u64) -> Result<Page, RemoteError> {
        self.lock().faults.deliver_rows(items.len())?;
        let has_next_link = items.len() as u64 == top;
        Ok(Page { items, has_next_link, total: None })
    }

    async fn call<T, F>(&self, mut request: Request, op: F) -> Result<T, RemoteError>
    where
        F: FnOnce(&mut Server, &str) -> Result<T, RemoteError> + Send,
    {
        let latency = self.lock().latency;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let mut state = self.lock();
        let kind = request.kind;
        request.at = std::time::Instant::now();
        state.log.push(request);
        if let Some(error) = state.faults.take(kind) {
            return Err(error);
        }
        let now = state.stamp(kind);
        let result = op(&mut state.server, &now);
        if state.faults.take_lost_response(kind) {
            return Err(faults::lost_response());
        }
        result
    }
}

#[async_trait]
impl Remote for MemoryRemote {
    async fn insert(&self, table: &str, item: &Record) -> Result<Record, RemoteError> {
        let req = Request::new(RequestKind::Insert, table).id(Some(item.id()));
        let body = strip_server_columns(item).into_map();
        self.call(req, move |server, now| server.insert(table, body, now)).await
    }

    async fn update(&self, table: &str, item: &Record, version: Option<&str>) -> Result<Record, RemoteError> {
        let id = item.id();
        let req = Request::new(RequestKind::Update, table).id(Some(id)).version(version);
        let body = strip_server_columns(item).into_map();
        self.call(req, move |server, now| server.update(table, id, body, version, now)).await
    }

    async fn delete(&self, table: &str, id: &str, version: Option<&str>) -> Result<(), RemoteError> {
        let req = Request::new(RequestKind::Delete, table).id(Some(id)).version(version);
        self.call(req, move |server, now| server.delete(table, id, version, now).map(|_| ())).await
    }

    async fn read(&self, table: &str, id: &str) -> Result<Record, RemoteError> {
        let req = Request::new(RequestKind::Read, table).id(Some(id));
        self.call(req, move |server, _| server.read(table, id)).await
    }

    async fn undelete(&self, table: &str, id: &str, version: Option<&str>) -> Result<Record, RemoteError> {
        let req = Request::new(RequestKind::Undelete, table).id(Some(id)).version(version);
        self.call(req, move |server, now| server.undelete(table, id, version, now)).await
    }

    async fn query_page(
        &self,
        table: &str,
        filter: Option<&Expr>,
        cursor: Option<&Cursor>,
        page_size: u64,
    ) -> Result<Page, RemoteError> {
        let req = Request::new(RequestKind::Query, table).query(cursor, page_size);
        let (items, top) = self.call(req, move |server, _| server.query(table, filter, cursor, page_size)).await?;
        self.deliver_page(items, top)
    }

    /// The page, and the number of rows matching `filter` and `cursor` on all pages, as the
    /// Node server counts them for `$inlinecount=allpages`.
    async fn query_page_with_total(
        &self,
        table: &str,
        filter: Option<&Expr>,
        cursor: Option<&Cursor>,
        page_size: u64,
    ) -> Result<Page, RemoteError> {
        let req = Request::new(RequestKind::Query, table).query(cursor, page_size);
        let ((items, top), total) = self
            .call(req, move |server, _| {
                let page = server.query(table, filter, cursor, page_size)?;
                Ok((page, server.count(table, filter, cursor)))
            })
            .await?;
        Ok(Page { total: Some(total), ..self.deliver_page(items, top)? })
    }

    fn exact_timestamps(&self) -> bool {
        self.lock().server.stamps.exact()
    }

    fn max_batch(&self) -> usize {
        self.lock().max_batch
    }

    async fn batch(&self, table: &str, ops: &[BatchOp]) -> Result<Vec<BatchResult>, RemoteError> {
        self.run_batch(table, ops).await
    }

    async fn query_by_id(
        &self,
        table: &str,
        filter: Option<&Expr>,
        after_id: Option<&str>,
        page_size: u64,
    ) -> Result<Page, RemoteError> {
        let req = Request::new(RequestKind::Query, table).query(None, page_size);
        let (items, top) =
            self.call(req, move |server, _| server.query_by_id(table, filter, after_id, page_size)).await?;
        self.deliver_page(items, top)
    }
}

#[cfg(test)]
mod tests;

impl From<MemoryRemote> for Arc<dyn Remote> {
    /// Lets [`SyncContextBuilder::remote`](sync_core::SyncContextBuilder::remote) take a
    /// `MemoryRemote` as it is.
    fn from(remote: MemoryRemote) -> Self {
        Arc::new(remote)
    }
}
