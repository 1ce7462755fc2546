//! [`DieselStore`]: the [`Store`] over one SQLite database.

use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use sync_core::backend::{resolve_query, ChangeFeed, PushLock, StoreError, TxWork};
use sync_core::QueryResult;
use sync_core::{Query, Record, Store, TableSchema};

use crate::catalogue::{self, Catalogue, TableInfo};
use crate::connection::{blocking, guarded, Db, Location, ReaderPool, Role};
use crate::error;
use crate::options::OpenOptions;
use crate::push_lock::PushLockSite;
use crate::transaction::{get_item, DieselTransaction};
use crate::watch::{self, Poller};
use crate::{ddl, migrations, query_sql, rows};

/// A durable [`Store`] in one SQLite database (bundled SQLite, WAL mode, embedded migrations).
///
/// # Connections
/// - **One writer**, serialised behind an async mutex (waiting for it does not hold a thread):
///   every [`transaction`](Store::transaction) and [`ensure_table`](Store::ensure_table) runs on it
///   as `BEGIN IMMEDIATE … COMMIT`, so transactions never interleave and never fail half-way on a
///   lock upgrade.
/// - **Readers** (4 by default, see [`OpenOptions::readers`]) serve [`get`](Store::get) and
///   [`query`](Store::query) concurrently with each other and with the writer (WAL lets readers
///   see the last committed state while a write is in progress). They are `query_only`.
/// - The **in-memory** store uses its single connection for everything: a private `:memory:`
///   database exists per connection, and a shared-cache URI would replace WAL's concurrency with
///   table locks that fail with `SQLITE_LOCKED` instead of waiting. Reads therefore wait for a
///   running transaction there.
///
/// Every Diesel call runs inside [`tokio::task::spawn_blocking`], never on a runtime worker, so a
/// Tokio runtime must be running: outside one (under `futures::executor::block_on`, say), every
/// call that would reach SQLite or the push-lock file fails with [`StoreError::NoRuntime`] and
/// does nothing, while [`close`](DieselStore::close) and dropping close the connections on the
/// current thread. A started transaction runs to its end even if the future awaiting it is
/// dropped.
///
/// # Durability
/// `synchronous = FULL` by default: a transaction that returned `Ok` survives a process kill, an
/// OS crash and a power loss. [`Synchronous::Normal`](crate::Synchronous::Normal) is faster for
/// many small transactions and still survives a process kill; a power loss may undo the last
/// commits (the database stays consistent either way).
///
/// # Tables
/// Each table gets **one typed column per field**: String and DateTime as `TEXT` (date-times in
/// the canonical fixed-width form, so text order is time order), Bool as `INTEGER` 0/1, Integer as
/// `INTEGER`, Real as `REAL`, Json as `TEXT` holding the JSON; `id` is the `TEXT PRIMARY KEY`, and
/// `updatedAt` is indexed. Reads rebuild the canonical record (booleans as `true`/`false`, JSON
/// parsed, reals as floats). Writes are checked like
/// [`TableSchema::conform_local`] checks them, so a wrong type or a null in a non-null column is
/// [`StoreError::Record`] and nothing is written.
///
/// SQLite compares identifiers ignoring case and reserves `sqlite_…` names, while protocol names
/// are case-sensitive: each table and column gets a SQL name that cannot collide (the name itself
/// unless taken, else with `_2`, `_3`, … appended), recorded in the `__tables` catalogue.
///
/// [`ensure_table`](Store::ensure_table) upgrades a table stored with another schema by the
/// rules of `sync_core::backend::SchemaUpgrade`: new columns (`ALTER TABLE … ADD COLUMN`) get
/// their default in every row, renamed columns and tables keep their values, queue, errors and
/// cursors, declared type changes are converted, and a column the schema no longer has (a removed
/// field, or an older app opening the file) is **retained**: kept in the file with its values,
/// untouched by reads and writes, and taken back by a schema that has it again. What no
/// declaration covers is [`StoreError::IncompatibleSchema`] and leaves the table as it was: data
/// is never dropped or misread silently. The store knows its tables across restarts, so
/// `get`/`query` work after reopening even before `ensure_table` is called again.
///
/// Several processes may open one file (WAL and `BEGIN IMMEDIATE` serialise their writes; the
/// push lock is an OS file lock on `<file>.push-lock`, see [`Store::lock_push`]). The table
/// catalogue is cached in memory, so a table one process creates is seen by another after its
/// next [`ensure_table`](Store::ensure_table). Live queries see another process's commits within
/// [`OpenOptions::change_poll_interval`], and this handle's own at once.
///
/// # Failures
/// Every SQLite failure carries SQLite's reason in its message (`sqlite: committing: database
/// or disk is full`) and the Diesel error as its source, and is classified: a full disk is
/// [`StoreError::DiskFull`], a lock held by another process past the busy timeout
/// [`StoreError::Busy`], a read-only file, directory or mount [`StoreError::ReadOnly`], a damaged
/// file (or one that is not a database) [`StoreError::CorruptFile`]; anything else is
/// [`StoreError::Backend`]. A failed transaction has written nothing.
///
/// Opening takes the write lock only when the file needs migrating (it is new, or an older
/// version of this crate created it), so while another process holds a write transaction an
/// up-to-date file still opens, [`ensure_table`](Store::ensure_table) of a table it already
/// holds with the same schema succeeds, and `get`/`query` answer from the last commit. A file on
/// a read-only mount opens and reads as long as its `-wal` and `-shm` files exist there (SQLite
/// cannot create them); without them opening fails with [`StoreError::ReadOnly`].
///
/// ```
/// # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
/// use sync_core::backend::StoreExt;
/// use sync_core::{Column, ColumnType, Record, Store, TableSchema};
/// use store_diesel::DieselStore;
///
/// let store = DieselStore::open_in_memory().await?;
/// let schema = TableSchema::new("TodoItem", vec![Column::new("text", ColumnType::String)])?;
/// store.ensure_table(&schema).await?;
/// let item = schema.conform_local(Record::from_json(serde_json::json!({"id": "1", "text": "milk"}))?)?;
/// let written = item.clone();
/// store.transact(move |tx| tx.upsert("TodoItem", &written)).await?;
/// assert_eq!(store.get("TodoItem", "1").await?, Some(item));
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
pub struct DieselStore {
    /// `None` only once the store is closed (by [`DieselStore::close`] or on drop).
    connections: Option<Connections>,
    catalogue: Arc<RwLock<Arc<Catalogue>>>,
    location: Location,
    push_lock: PushLockSite,
    /// Where commits are announced to live queries; see `watch.rs` for other processes' commits.
    feed: ChangeFeed,
    poller: Mutex<Option<Poller>>,
    poll_interval: Duration,
}

/// The writer and the readers (none for the in-memory store, which reads on its writer).
struct Connections {
    writer: Arc<tokio::sync::Mutex<Db>>,
    readers: Option<Arc<ReaderPool>>,
}

impl Drop for DieselStore {
    /// Closing a connection may checkpoint the write-ahead log (file I/O), so inside a Tokio
    /// runtime the connections are closed on a blocking thread rather than the current one.
    fn drop(&mut self) {
        let Some(connections) = self.connections.take() else { return };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => drop(handle.spawn_blocking(move || drop(connections))),
            Err(_) => drop(connections),
        }
    }
}

impl std::fmt::Debug for DieselStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DieselStore")
            .field("location", &self.location)
            .field("open", &self.connections.is_some())
            .finish_non_exhaustive()
    }
}

impl DieselStore {
    /// Opens (creating it if missing) the database file at `path` with the default
    /// [`OpenOptions`]. The parent directory must exist.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, OpenOptions::default()).await
    }

    /// Opens (creating it if missing) the database file at `path`.
    pub async fn open_with(path: impl AsRef<Path>, options: OpenOptions) -> Result<Self, StoreError> {
        let location = Location::file(path.as_ref())?;
        blocking(move || Self::open_blocking(location, &options)).await?
    }

    /// A fresh private database in memory (gone when the store is dropped). See the type docs for
    /// how its single connection differs from a file's writer and readers.
    pub async fn open_in_memory() -> Result<Self, StoreError> {
        blocking(|| Self::open_blocking(Location::Memory, &OpenOptions::default())).await?
    }

    fn open_blocking(location: Location, options: &OpenOptions) -> Result<Self, StoreError> {
        let mut writer = Db::open(&location, Role::Writer, options)?;
        migrations::run(&mut writer)?;
        let catalogue = catalogue::load(&mut writer)?;
        let readers = match location {
            Location::File(_) => Some(Arc::new(ReaderPool::open(&location, options)?)),
            Location::Memory => None,
        };
        tracing::debug!(?location, tables = catalogue.len(), "opened store");
        Ok(DieselStore {
            connections: Some(Connections { writer: Arc::new(tokio::sync::Mutex::new(writer)), readers }),
            catalogue: Arc::new(RwLock::new(Arc::new(catalogue))),
            push_lock: PushLockSite::for_location(&location),
            location,
            feed: ChangeFeed::new(),
            poller: Mutex::new(None),
            poll_interval: options.change_poll_interval_value(),
        })
    }

    /// Closes the store's connections and waits until they are closed; the last one to close
    /// checkpoints the write-ahead log into the database file. Dropping the store closes them too,
    /// in the background. A transaction still running (because its future was dropped) finishes
    /// first.
    ///
    /// Outside a Tokio runtime the connections are closed on the current thread.
    pub async fn close(mut self) -> Result<(), StoreError> {
        let connections = self.connections.take();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => runtime.spawn_blocking(move || drop(connections)).await.map_err(error::join),
            Err(_) => {
                drop(connections);
                Ok(())
            }
        }
    }

    fn connections(&self) -> Result<&Connections, StoreError> {
        self.connections
            .as_ref()
            .ok_or_else(|| StoreError::Backend { message: "the store is closed".into(), source: None })
    }

    fn catalogue(&self) -> Arc<Catalogue> {
        snapshot(&self.catalogue)
    }

    fn table(&self, name: &str) -> Result<Arc<TableInfo>, StoreError> {
        self.catalogue().get(name).cloned().ok_or_else(|| StoreError::UnknownTable(name.to_owned()))
    }

    /// Runs blocking work on the writer connection.
    pub(crate) async fn on_writer<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Db) -> Result<T, StoreError> + Send + 'static,
    {
        let mut guard = Arc::clone(&self.connections()?.writer).lock_owned().await;
        blocking(move || guarded(&mut guard, work)).await?
    }

    /// Runs blocking read-only work on a reader (the writer for the in-memory store).
    async fn on_reader<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Db) -> Result<T, StoreError> + Send + 'static,
    {
        match &self.connections()?.readers {
            Some(pool) => pool.run(work).await,
            None => self.on_writer(work).await,
        }
    }
}

fn snapshot(catalogue: &RwLock<Arc<Catalogue>>) -> Arc<Catalogue> {
    Arc::clone(&catalogue.read().unwrap_or_else(|p| p.into_inner()))
}

#[async_trait]
impl Store for DieselStore {
    async fn ensure_table(&self, schema: &TableSchema) -> Result<(), StoreError> {
        if self.catalogue().get(schema.name()).is_some_and(|t| t.schema == *schema) {
            return Ok(());
        }
        let schema = schema.clone();
        let shared = Arc::clone(&self.catalogue);
        self.on_writer(move |db| {
            // Read first: a table another handle already created with this very schema needs no
            // write lock (which another process may be holding).
            let info = match catalogue::find(db, schema.name())? {
                Some(stored) if stored.schema == schema => Arc::new(TableInfo::new(&stored)?),
                _ => db.immediate(|db| ddl::ensure_table(db, &schema))?,
            };
            // Still holding the writer: no transaction can start between commit and this update.
            let renamed = match schema.previous_name() {
                Some(old) => catalogue::find(db, old)?.is_none().then(|| old.to_owned()),
                None => None,
            };
            let mut guard = shared.write().unwrap_or_else(|p| p.into_inner());
            let mut next = Catalogue::clone(&guard);
            if let Some(old) = renamed {
                next.remove(&old);
            }
            next.insert(schema.name().to_owned(), info);
            *guard = Arc::new(next);
            Ok(())
        })
        .await
    }

    async fn get(&self, table: &str, id: &str) -> Result<Option<Record>, StoreError> {
        let info = self.table(table)?;
        let id = id.to_owned();
        self.on_reader(move |db| get_item(db, &info, &id)).await
    }

    async fn query(&self, table: &str, query: &Query) -> Result<QueryResult, StoreError> {
        let info = self.table(table)?;
        let resolved = resolve_query(query, &info.schema)?;
        self.on_reader(move |db| {
            let plan = query_sql::plan(&info, &resolved)?;
            let name = info.schema.name();
            let context = |e| error::db(&format!("querying {name:?}"), e);
            let (found, total_count) = match plan.count {
                None => (db.load(plan.rows).map_err(context)?, None),
                // Two statements, one snapshot: the count and the rows agree.
                Some(count) => db.read(|db| {
                    let counted = db.load(count).map_err(context)?;
                    let total =
                        counted.into_iter().next().and_then(|r| r.0.into_iter().next()).and_then(|c| c.as_i64());
                    let total = total
                        .and_then(|n| u64::try_from(n).ok())
                        .ok_or_else(|| error::corrupt(name, "count(*) is not a count"))?;
                    Ok((db.load(plan.rows).map_err(context)?, Some(total)))
                })?,
            };
            let items = found
                .into_iter()
                .map(|row| rows::read_record(name, plan.columns.iter().copied(), row))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(QueryResult { items, total_count })
        })
        .await
    }

    async fn lock_push(&self) -> Result<PushLock, StoreError> {
        self.push_lock.lock().await
    }

    async fn transaction(&self, work: TxWork) -> Result<(), StoreError> {
        let shared = Arc::clone(&self.catalogue);
        self.on_writer(move |db| {
            // Taken under the writer lock: the tables as of this transaction.
            let catalogue = snapshot(&shared);
            db.immediate(move |db| work(&mut DieselTransaction::new(db, catalogue)))
        })
        .await
    }

    /// The store's feed. For a file, the first call (inside a Tokio runtime) starts polling for
    /// other connections' commits (see [`OpenOptions::change_poll_interval`]).
    fn change_feed(&self) -> Option<ChangeFeed> {
        if let (Location::File(_), Some(connections)) = (&self.location, &self.connections) {
            watch::ensure_started(&self.poller, Arc::downgrade(&connections.writer), &self.feed, self.poll_interval);
        }
        Some(self.feed.clone())
    }
}

impl From<DieselStore> for Arc<dyn Store> {
    /// Lets [`SyncContext::builder`](sync_core::SyncContext::builder) take a `DieselStore` as it is.
    fn from(store: DieselStore) -> Self {
        Arc::new(store)
    }
}
