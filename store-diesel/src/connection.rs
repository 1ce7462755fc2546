//! SQLite connections: opening them with the right pragmas, running statements through Diesel's
//! prepared-statement cache (with a bound on how many distinct statements it keeps), explicit
//! transactions, and the pool of read-only connections.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::{Arc, Mutex};

use diesel::connection::{CacheSize, SimpleConnection};
use diesel::{Connection, QueryResult, RunQueryDsl, SqliteConnection};
use sync_core::backend::StoreError;
use tokio::sync::Semaphore;

use crate::encryption;
use crate::error;
use crate::options::OpenOptions;
use crate::statement::{fixed_sql, statement_chunks, Key, Param, SqlRow, Stmt, MAX_ROWS_PER_STATEMENT};

/// Distinct statements one connection keeps prepared before its cache is emptied and refilled.
/// Table statements are a handful per table; ad-hoc queries (filters with varying shapes, `IN`
/// lists of varying lengths) would otherwise grow the cache without bound.
const MAX_CACHED_STATEMENTS: usize = 256;

/// An id bound as a statement parameter (see [`Db::load_by_ids`]).
pub(crate) trait IdParam {
    /// The parameter.
    fn param(&self) -> Param<'_>;
}

impl IdParam for &str {
    fn param(&self) -> Param<'_> {
        Param::text(self)
    }
}

impl IdParam for i64 {
    fn param(&self) -> Param<'_> {
        Param::Integer(*self)
    }
}

/// The statement `sql(n)` for one chunk of `n` ids, bound after `leading`.
fn by_ids<'a, T: IdParam>(sql: &impl Fn(usize) -> String, leading: &[Param<'a>], chunk: &'a [T]) -> Stmt<'a> {
    let params = leading.iter().cloned().chain(chunk.iter().map(IdParam::param)).collect();
    Stmt::new(sql(chunk.len()), params)
}

/// Where a connection points.
#[derive(Debug, Clone)]
pub(crate) enum Location {
    /// A database file.
    File(String),
    /// A private in-memory database (one connection only).
    Memory,
}

impl Location {
    /// The location of a file path, written so SQLite never reads it as a URI.
    pub(crate) fn file(path: &Path) -> Result<Self, StoreError> {
        let s = path.to_str().ok_or_else(|| StoreError::Backend {
            message: format!("the database path {} is not valid UTF-8", path.display()),
            source: None,
        })?;
        if s.is_empty() || s == ":memory:" {
            return Err(StoreError::Backend {
                message: "the database path is empty; use DieselStore::open_in_memory for a memory store".into(),
                source: None,
            });
        }
        // Diesel opens with SQLITE_OPEN_URI and rewrites `sqlite://`: keep plain paths plain.
        let plain = if s.starts_with("file:") || s.starts_with("sqlite://") { format!("./{s}") } else { s.to_owned() };
        Ok(Location::File(plain))
    }

    fn url(&self) -> &str {
        match self {
            Location::File(path) => path,
            Location::Memory => ":memory:",
        }
    }
}

/// What a connection is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The one connection that writes.
    Writer,
    /// A read-only connection.
    Reader,
}

/// A connection with its own bookkeeping: which statements its cache holds, and whether this
/// crate opened a transaction on it.
pub(crate) struct Db {
    conn: SqliteConnection,
    cached: HashSet<u64>,
    in_transaction: bool,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("cached", &self.cached.len()).field("in_transaction", &self.in_transaction).finish()
    }
}

impl Db {
    /// Opens a connection and applies the pragmas of its role. A file that cannot be opened
    /// because it cannot be written is [`StoreError::ReadOnly`] (see `error::diagnose_cant_open`).
    pub(crate) fn open(location: &Location, role: Role, options: &OpenOptions) -> Result<Db, StoreError> {
        Self::open_inner(location, role, options).map_err(|e| match location {
            Location::File(path) => error::diagnose_cant_open(e, Path::new(path)),
            Location::Memory => e,
        })
    }

    fn open_inner(location: &Location, role: Role, options: &OpenOptions) -> Result<Db, StoreError> {
        let mut conn = SqliteConnection::establish(location.url())
            .map_err(|e| error::connect(&format!("opening {:?}", location.url()), e))?;
        // First thing on every connection, writer and readers alike: the key, if any.
        encryption::unlock(&mut conn, options.key())?;
        let mut db = Db { conn, cached: HashSet::new(), in_transaction: false };
        let busy_timeout = format!("PRAGMA busy_timeout = {};", options.busy_timeout_ms());
        db.conn.batch_execute(&busy_timeout).map_err(|e| error::db("setting the busy timeout", e))?;
        // Before any pragma that reads the file: a key that does not fit fails here, diagnosed.
        let file = match location {
            Location::File(path) => Some(Path::new(path)),
            Location::Memory => None,
        };
        encryption::check_readable(&mut db.conn, options.key().is_some(), file)?;
        let setup = match role {
            Role::Writer => {
                format!("PRAGMA synchronous = {}; PRAGMA foreign_keys = OFF;", options.synchronous_mode().pragma())
            }
            Role::Reader => "PRAGMA query_only = ON;".to_owned(),
        };
        db.conn.batch_execute(&setup).map_err(|e| error::db("setting connection pragmas", e))?;
        if role == Role::Writer {
            if let Location::File(_) = location {
                let mode = db.pragma_text("PRAGMA journal_mode = WAL")?;
                if !mode.eq_ignore_ascii_case("wal") {
                    tracing::warn!(journal_mode = %mode, "SQLite refused WAL mode; readers will wait for writers");
                }
            }
        }
        Ok(db)
    }

    fn pragma_text(&mut self, sql: &'static str) -> Result<String, StoreError> {
        let rows = self.load(Stmt::new(sql, vec![])).map_err(|e| error::db(sql, e))?;
        Ok(rows.into_iter().next().and_then(|r| r.0.into_iter().next()).and_then(|c| c.into_text()).unwrap_or_default())
    }

    /// The Diesel connection, for Diesel's own APIs (migrations, and the benchmark's baseline).
    pub(crate) fn diesel(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }

    /// Runs a statement that returns no rows; returns the number of rows changed.
    pub(crate) fn execute<K: Key>(&mut self, stmt: Stmt<'_, K>) -> QueryResult<usize> {
        if stmt.is_dynamic() {
            self.note(stmt.sql());
        }
        stmt.execute(&mut self.conn)
    }

    /// Runs a statement and collects its rows.
    pub(crate) fn load<K: Key>(&mut self, stmt: Stmt<'_, K>) -> QueryResult<Vec<SqlRow>> {
        if stmt.is_dynamic() {
            self.note(stmt.sql());
        }
        stmt.load(&mut self.conn)
    }

    /// The rows of a lookup of many ids, a few ids per statement (see [`statement_chunks`]):
    /// `sql(n)` is the statement for `n` ids, which are bound after `leading`. A failure is
    /// reported as `what` failing.
    pub(crate) fn load_by_ids<T: IdParam>(
        &mut self,
        sql: impl Fn(usize) -> String,
        leading: &[Param<'_>],
        ids: &[T],
        what: &str,
    ) -> Result<Vec<SqlRow>, StoreError> {
        let mut out = Vec::new();
        for chunk in statement_chunks(ids, MAX_ROWS_PER_STATEMENT) {
            out.extend(self.load(by_ids(&sql, leading, chunk)).map_err(|e| error::db(what, e))?);
        }
        Ok(out)
    }

    /// [`load_by_ids`](Self::load_by_ids) for a statement that returns no rows: the rows it
    /// changed.
    pub(crate) fn execute_by_ids<T: IdParam>(
        &mut self,
        sql: impl Fn(usize) -> String,
        leading: &[Param<'_>],
        ids: &[T],
        what: &str,
    ) -> Result<u64, StoreError> {
        let mut changed = 0;
        for chunk in statement_chunks(ids, MAX_ROWS_PER_STATEMENT) {
            changed += self.execute(by_ids(&sql, leading, chunk)).map_err(|e| error::db(what, e))? as u64;
        }
        Ok(changed)
    }

    /// Runs SQL without preparing it for reuse (DDL).
    pub(crate) fn batch(&mut self, sql: &str) -> QueryResult<()> {
        self.conn.batch_execute(sql)
    }

    /// Keeps the statement cache bounded: when a new statement would exceed the bound, the cache
    /// is emptied (Diesel has no LRU) and fills again with what is used from then on.
    fn note(&mut self, sql: &str) {
        let key = statement_key(sql);
        if self.cached.contains(&key) {
            return;
        }
        if self.cached.len() >= MAX_CACHED_STATEMENTS {
            tracing::debug!("statement cache full; emptying it");
            self.conn.set_prepared_statement_cache_size(CacheSize::Disabled);
            self.conn.set_prepared_statement_cache_size(CacheSize::Unbounded);
            self.cached.clear();
        }
        self.cached.insert(key);
    }

    /// How many distinct statements the cache holds (for tests).
    #[cfg(test)]
    pub(crate) fn cached_statements(&self) -> usize {
        self.cached.len()
    }

    /// Runs `work` in a transaction (`BEGIN IMMEDIATE` takes the write lock up front, so the work
    /// never fails half-way on a lock upgrade). An error from the work — or a panic — rolls back.
    pub(crate) fn immediate<T>(
        &mut self,
        work: impl FnOnce(&mut Db) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.transaction::<BeginImmediate, T>(work)
    }

    /// Runs `work` in a deferred (read) transaction: one consistent snapshot for several reads.
    pub(crate) fn read<T>(&mut self, work: impl FnOnce(&mut Db) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.transaction::<BeginDeferred, T>(work)
    }

    fn transaction<B: Key, T>(&mut self, work: impl FnOnce(&mut Db) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.recover();
        self.execute(Stmt::<B>::fixed(vec![])).map_err(|e| error::db("beginning a transaction", e))?;
        self.in_transaction = true;
        let outcome = match catch_unwind(AssertUnwindSafe(|| work(self))) {
            Ok(outcome) => outcome,
            Err(panic) => Err(StoreError::Backend {
                message: format!("the transaction's work panicked: {}", panic_message(&*panic)),
                source: None,
            }),
        };
        match outcome {
            Ok(value) => match self.execute(Stmt::<Commit>::fixed(vec![])) {
                Ok(_) => {
                    self.in_transaction = false;
                    Ok(value)
                }
                Err(e) => {
                    self.recover();
                    Err(error::db("committing", e))
                }
            },
            Err(e) => {
                self.recover();
                Err(e)
            }
        }
    }

    /// Rolls back a transaction this crate left open (after an error or a panic). SQLite may have
    /// rolled back already (e.g. after `SQLITE_FULL`); that error is ignored.
    pub(crate) fn recover(&mut self) {
        if self.in_transaction {
            if let Err(e) = self.execute(Stmt::<Rollback>::fixed(vec![])) {
                tracing::debug!(error = %e, "rollback after a failed transaction");
            }
            self.in_transaction = false;
        }
    }
}

fixed_sql! {
    BeginImmediate = "BEGIN IMMEDIATE";
    BeginDeferred = "BEGIN";
    Commit = "COMMIT";
    Rollback = "ROLLBACK";
}

/// The key of SQL text in `Db::cached`: std's `DefaultHasher` over the text. Only
/// used to count distinct cached statements; a collision merely delays emptying the cache.
fn statement_key(sql: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    sql.hash(&mut hasher);
    hasher.finish()
}

/// Runs blocking work on Tokio's blocking threads. Outside a Tokio runtime, where
/// `spawn_blocking` would panic, it is [`StoreError::NoRuntime`] and `work` does not run.
pub(crate) async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, StoreError> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| StoreError::NoRuntime)?;
    runtime.spawn_blocking(work).await.map_err(error::join)
}

/// Runs blocking work on a connection, turning a panic into an error and leaving no transaction
/// open behind it.
pub(crate) fn guarded<T>(db: &mut Db, work: impl FnOnce(&mut Db) -> Result<T, StoreError>) -> Result<T, StoreError> {
    db.recover();
    let outcome = catch_unwind(AssertUnwindSafe(|| work(db)));
    db.recover();
    outcome.unwrap_or_else(|panic| {
        Err(StoreError::Backend { message: format!("store task panicked: {}", panic_message(&*panic)), source: None })
    })
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_owned()
    }
}

/// Read-only connections handed out one per task; a semaphore makes tasks wait (asynchronously)
/// when all are busy.
///
/// Why not r2d2 (Diesel's `r2d2` feature) or deadpool-diesel: the pool holds our [`Db`] (the
/// connection with its statement-cache bookkeeping and role pragmas), not a bare
/// `SqliteConnection`, and needs only what these forty lines do. r2d2's `get()` blocks the calling
/// thread while every connection is busy, which inside async code means a runtime worker (or, moved
/// into `spawn_blocking`, a blocking thread per waiting task); here a waiting task holds no thread.
/// deadpool-diesel waits asynchronously too but hands out `SqliteConnection`s through its own
/// `interact`, so the bookkeeping, the `query_only` pragma and the rollback-on-panic guard would
/// move into manager hooks around it. Both add health checks, idle reaping and lazy creation that
/// a fixed set of local file connections does not need: all readers are opened with the store,
/// so a file that cannot be read fails [`DieselStore::open`](crate::DieselStore::open), not a
/// later query.
#[derive(Debug)]
pub(crate) struct ReaderPool {
    idle: Mutex<Vec<Db>>,
    permits: Arc<Semaphore>,
    location: Location,
    options: OpenOptions,
}

impl ReaderPool {
    /// Opens `options.reader_count()` readers.
    pub(crate) fn open(location: &Location, options: &OpenOptions) -> Result<Self, StoreError> {
        let n = options.reader_count();
        let idle = (0..n).map(|_| Db::open(location, Role::Reader, options)).collect::<Result<Vec<_>, _>>()?;
        Ok(ReaderPool {
            idle: Mutex::new(idle),
            permits: Arc::new(Semaphore::new(n)),
            location: location.clone(),
            options: options.clone(),
        })
    }

    /// Runs `work` on a free reader on a blocking thread (see [`blocking`]).
    pub(crate) async fn run<T, F>(self: &Arc<Self>, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Db) -> Result<T, StoreError> + Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|e| StoreError::backend("sqlite: the reader pool is closed", e))?;
        let pool = Arc::clone(self);
        blocking(move || {
            let _permit = permit;
            let taken = pool.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            // A connection is only missing if a task died holding it: open a replacement.
            let mut db = match taken {
                Some(db) => db,
                None => Db::open(&pool.location, Role::Reader, &pool.options)?,
            };
            let out = guarded(&mut db, work);
            pool.idle.lock().unwrap_or_else(|p| p.into_inner()).push(db);
            out
        })
        .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statement::{Cell, Param};

    #[test]
    fn paths_are_never_read_as_uris() {
        let plain = |p: &str| match Location::file(Path::new(p)).unwrap() {
            Location::File(s) => s,
            Location::Memory => unreachable!(),
        };
        assert_eq!(plain("/tmp/a.db"), "/tmp/a.db");
        assert_eq!(plain("file:a.db?mode=memory"), "./file:a.db?mode=memory");
        assert_eq!(plain("sqlite://x.db"), "./sqlite://x.db");
        assert!(Location::file(Path::new(":memory:")).is_err());
        assert!(Location::file(Path::new("")).is_err());
    }

    #[test]
    fn the_statement_cache_is_bounded() {
        let mut db = Db::open(&Location::Memory, Role::Writer, &OpenOptions::new()).unwrap();
        for i in 0..(MAX_CACHED_STATEMENTS + 10) {
            let sql = format!("SELECT ? + {i}");
            let rows = db.load(Stmt::new(sql, vec![Param::Integer(1)])).unwrap();
            assert_eq!(rows[0].0[0], Cell::Integer(1 + i as i64));
        }
        assert!(db.cached_statements() <= MAX_CACHED_STATEMENTS);
    }

    #[test]
    fn repeated_statements_are_prepared_once() {
        use diesel::connection::InstrumentationEvent;
        use std::sync::atomic::{AtomicUsize, Ordering};

        static PREPARED_FOR_CACHE: AtomicUsize = AtomicUsize::new(0);
        let mut db = Db::open(&Location::Memory, Role::Writer, &OpenOptions::new()).unwrap();
        db.batch("CREATE TABLE t (x INTEGER, y TEXT)").unwrap();
        let counter = |event: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::CacheQuery { .. } = event {
                PREPARED_FOR_CACHE.fetch_add(1, Ordering::SeqCst);
            }
        };
        db.diesel().set_instrumentation(counter);
        fixed_sql! { Insert = "INSERT INTO t VALUES (?, ?)"; }
        for i in 0..100 {
            // A dynamic statement (text built each time, as for a table's statements) …
            let sql = String::from("SELECT x, y FROM t WHERE x = ?");
            db.load(Stmt::new(sql, vec![Param::Integer(i)])).unwrap();
            // … and a fixed one, with a null or a value in the same slot.
            let y = if i % 2 == 0 { Param::NullText } else { Param::Text(format!("v{i}").into()) };
            db.execute(Stmt::<Insert>::fixed(vec![Param::Integer(i), y])).unwrap();
        }
        assert_eq!(PREPARED_FOR_CACHE.load(Ordering::SeqCst), 2, "each statement is prepared once, then reused");
    }

    #[test]
    fn an_error_or_a_panic_rolls_back() {
        let mut db = Db::open(&Location::Memory, Role::Writer, &OpenOptions::new()).unwrap();
        db.batch("CREATE TABLE t (x INTEGER)").unwrap();
        let insert = |db: &mut Db| db.execute(Stmt::new("INSERT INTO t VALUES (1)", vec![])).map(|_| ());
        let failed: Result<(), StoreError> = db.immediate(|db| {
            insert(db).unwrap();
            Err(StoreError::Backend { message: "no".into(), source: None })
        });
        assert!(failed.is_err());
        let panicked: Result<(), StoreError> = db.immediate(|db| {
            insert(db).unwrap();
            panic!("boom")
        });
        assert!(matches!(panicked, Err(StoreError::Backend { message, .. }) if message.contains("boom")));
        db.immediate(|db| insert(db).map_err(|e| error::db("insert", e))).unwrap();
        let rows = db.load(Stmt::new("SELECT count(*) FROM t", vec![])).unwrap();
        assert_eq!(rows[0].0[0], Cell::Integer(1));
    }
}
