//! [`SyncContext`], the facade of the engine: owns the [`Shared`] state, hands out tables, pushes
//! the queue, lists and resolves errors.

use std::fmt;
use std::sync::Arc;

use super::announce::AnnouncingStore;
use super::auto_options::AutoSync;
use super::auto_sync::SyncHandle;
use super::conflict::{ConflictHandler, DeferConflicts, Resolution};
use super::events::{EventBus, EventStream, PushSummary, SyncEvent};
use super::migration::{Migration, Step};
use super::options::SyncOptions;
use super::rejected::RejectedRow;
use super::shared::Shared;
use super::table::{JsonTable, SyncTable};
use crate::entity::SyncEntity;
use crate::error::SyncError;
use crate::operation::{Operation, OperationError, OperationFilter};
use crate::remote::Remote;
use crate::schema::TableSchema;
use crate::store::{Store, StoreExt};

/// The sync engine for one local store and (optionally) one server.
///
/// Cheap to clone; clones share everything. Without a remote every local operation works and
/// push/pull return [`SyncError::NoRemote`].
///
/// ```
/// # use sync_core::{Query, SyncContext, SyncEntity};
/// # #[derive(SyncEntity, Debug, Clone)] #[sync(table = "TodoItem")]
/// # struct TodoItem { id: String, text: String, complete: bool }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let ctx = SyncContext::builder(store_memory::MemoryStore::new()).build().await?;
/// let todos = ctx.table::<TodoItem>().await?;
/// let item = todos.insert(TodoItem { id: String::new(), text: "milk".into(), complete: false }).await?;
/// assert_eq!(todos.query(&Query::new()).await?.len(), 1);
/// assert_eq!(ctx.pending_operations().await?.len(), 1);
/// # let _ = item; Ok::<_, sync_core::SyncError>(()) }).unwrap();
/// ```
#[derive(Clone)]
pub struct SyncContext {
    shared: Arc<Shared>,
}

/// Builds a [`SyncContext`]: [`SyncContext::builder`], then the optional parts, then
/// [`build`](Self::build).
pub struct SyncContextBuilder {
    store: Arc<dyn Store>,
    remote: Option<Arc<dyn Remote>>,
    handler: Arc<dyn ConflictHandler>,
    options: SyncOptions,
    events: EventBus,
    migrations: Vec<(u32, Step)>,
}

impl SyncContext {
    /// Starts building a context over `store`: a store as it is (`MemoryStore`, `DieselStore`),
    /// or an `Arc<dyn Store>` shared with other contexts.
    pub fn builder(store: impl Into<Arc<dyn Store>>) -> SyncContextBuilder {
        SyncContextBuilder {
            store: store.into(),
            remote: None,
            handler: Arc::new(DeferConflicts),
            options: SyncOptions::default(),
            events: EventBus::default(),
            migrations: Vec::new(),
        }
    }

    /// The store. Transactions run through it are announced to live queries like the engine's
    /// own.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.shared.store
    }

    /// The options.
    pub fn options(&self) -> &SyncOptions {
        &self.shared.options
    }

    /// Opens (creating if needed) the table of entity `T`.
    pub async fn table<T: SyncEntity>(&self) -> Result<SyncTable<T>, SyncError> {
        Ok(SyncTable::new(self.json_table(T::schema()).await?))
    }

    /// Opens (creating if needed) an untyped table of JSON records.
    pub async fn json_table(&self, schema: TableSchema) -> Result<JsonTable, SyncError> {
        self.shared.store.ensure_table(&schema).await?;
        let schema = Arc::new(schema);
        self.shared.register(Arc::clone(&schema));
        Ok(JsonTable::new(Arc::clone(&self.shared), schema))
    }

    /// Subscribes to progress events.
    pub fn subscribe(&self, f: impl Fn(&SyncEvent) + Send + Sync + 'static) {
        self.shared.events.subscribe(Arc::new(f));
    }

    /// The events emitted from now on, as a stream (see [`EventStream`]); the callbacks of
    /// [`subscribe`](Self::subscribe) go on receiving them too.
    ///
    /// ```
    /// # use sync_core::{SyncContext, SyncEvent};
    /// use futures::StreamExt;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let ctx = SyncContext::builder(store_memory::MemoryStore::new())
    ///     .remote(store_memory::MemoryRemote::new())
    ///     .build()
    ///     .await?;
    /// let mut events = ctx.events();
    /// ctx.push().await?;
    /// assert_eq!(events.next().await, Some(SyncEvent::PushStarted { total: 0 }));
    /// # Ok::<_, sync_core::SyncError>(()) }).unwrap();
    /// ```
    pub fn events(&self) -> EventStream {
        self.shared.events.stream()
    }

    /// Starts syncing by itself, as a task on the current Tokio runtime: a push after local
    /// writes (debounced), the registered pulls after each push and on an interval, back-off
    /// with jitter while the server cannot be reached (retrying at once when a request of the
    /// app's own succeeds). Operations waiting for a decision wait; resolving them wakes the
    /// sync. See [`AutoSync`] for the settings and [`SyncHandle`] for the status and stopping.
    ///
    /// Fails with [`SyncError::NoRemote`], [`SyncError::NoRuntime`], an unknown table
    /// (open the tables first) or an invalid query id.
    ///
    /// ```
    /// # use sync_core::{AutoSync, Query, SyncContext, SyncEntity, SyncState};
    /// # #[derive(SyncEntity, Debug, Clone)] #[sync(table = "TodoItem")]
    /// # struct TodoItem { id: String, text: String }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let server = store_memory::MemoryRemote::new();
    /// let ctx = SyncContext::builder(store_memory::MemoryStore::new()).remote(server.clone()).build().await?;
    /// let todos = ctx.table::<TodoItem>().await?;
    /// let sync = ctx.start_sync(AutoSync::new().pull("TodoItem", Query::new(), "all"))?;
    /// todos.insert(TodoItem { id: "1".into(), text: "milk".into() }).await?;
    /// let mut status = sync.watch_status();
    /// while server.rows("TodoItem").is_empty() {
    ///     status.changed().await.unwrap(); // syncing, then idle: pushed by itself
    /// }
    /// assert_eq!(sync.status().pending, 0);
    /// sync.stop().await;
    /// # Ok::<_, sync_core::SyncError>(()) }).unwrap();
    /// ```
    pub fn start_sync(&self, config: AutoSync) -> Result<SyncHandle, SyncError> {
        super::auto_sync::start(Arc::clone(&self.shared), config)
    }

    /// Every queued operation, in push order.
    pub async fn pending_operations(&self) -> Result<Vec<Operation>, SyncError> {
        Ok(self.shared.store.transact(|tx| tx.operations(&OperationFilter::all())).await?)
    }

    /// How many operations are queued.
    pub async fn pending_count(&self) -> Result<u64, SyncError> {
        Ok(self.shared.store.transact(|tx| tx.count_operations(&OperationFilter::all())).await?)
    }

    /// Pushes every queued operation, in order. See [`push_tables`](Self::push_tables).
    pub async fn push(&self) -> Result<PushSummary, SyncError> {
        super::push_scheduler::push(&self.shared, None).await
    }

    /// Pushes the queued operations of these tables, in queue order.
    ///
    /// Conflicts go to the conflict handler; other failures are recorded in the errors table and
    /// the push goes on. When the server cannot be reached (after retries), rejects the
    /// credentials, or the store fails, the push stops with that error (see
    /// [`SyncError::is_offline`], [`SyncError::is_unauthorized`]); every operation not pushed
    /// stays queued, and the [`SyncEvent::PushFinished`] summary says how far it got.
    pub async fn push_tables(&self, tables: &[&str]) -> Result<PushSummary, SyncError> {
        let tables = tables.iter().map(|t| (*t).to_owned()).collect();
        super::push_scheduler::push(&self.shared, Some(tables)).await
    }

    /// The errors table: failed operations waiting for the app, oldest first.
    pub async fn errors(&self) -> Result<Vec<OperationError>, SyncError> {
        Ok(self.shared.store.transact(|tx| tx.errors(None)).await?)
    }

    /// The server rows pulls could not store (they did not fit their table), for every table
    /// opened in this context, oldest first per table.
    pub async fn rejected_rows(&self) -> Result<Vec<RejectedRow>, SyncError> {
        let tables = self.shared.table_names();
        Ok(self
            .shared
            .store
            .transact(move |tx| {
                let mut all = Vec::new();
                for table in &tables {
                    all.extend(super::rejected::list(tx, table)?);
                }
                Ok(all)
            })
            .await?)
    }

    /// Forgets the rejected rows kept for `table`; returns how many there were.
    pub async fn clear_rejected_rows(&self, table: &str) -> Result<u64, SyncError> {
        let table = table.to_owned();
        Ok(self.shared.store.transact(move |tx| super::rejected::clear(tx, &table)).await?)
    }

    /// Resolves a recorded failure. `KeepLocal` and `Merge` queue the operation again over the
    /// server's version (sent by the next push); `KeepServer` and `Discard` cancel it; `Defer`
    /// leaves it. Fails with [`SyncError::StaleError`] if the item changed locally since.
    pub async fn resolve(&self, operation_id: u64, resolution: Resolution) -> Result<(), SyncError> {
        super::resolution::resolve_recorded(&self.shared, operation_id, resolution).await
    }
}

impl fmt::Debug for SyncContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.shared.fmt(f)
    }
}

impl SyncContextBuilder {
    /// The server to sync with: a remote as it is (`AzureRestRemote`, `MemoryRemote`), or an
    /// `Arc<dyn Remote>`.
    pub fn remote(mut self, remote: impl Into<Arc<dyn Remote>>) -> Self {
        self.remote = Some(remote.into());
        self
    }

    /// Who decides conflicts (default: [`DeferConflicts`], every conflict waits in the errors table).
    pub fn conflict_handler(mut self, handler: impl ConflictHandler + 'static) -> Self {
        self.handler = Arc::new(handler);
        self
    }

    /// Push and pull options.
    pub fn options(mut self, options: SyncOptions) -> Self {
        self.options = options;
        self
    }

    /// Subscribes to progress events.
    pub fn on_event(self, f: impl Fn(&SyncEvent) + Send + Sync + 'static) -> Self {
        self.events.subscribe(Arc::new(f));
        self
    }

    /// Registers migration step `version`, for what the entity's attributes cannot say (data to
    /// rewrite, operations of a table that is gone). [`build`](Self::build) runs the steps the
    /// store has not run yet, in version order, each in one transaction together with the new
    /// schema version it writes in the store; a step that fails is
    /// [`SyncError::Migration`], and it and the later ones run again at the next build. Steps
    /// see the tables as stored, before the entities' declarations apply (see [`Migration`]).
    ///
    /// ```
    /// # use sync_core::{RowChange, SyncContext};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let store = store_memory::MemoryStore::new();
    /// let ctx = SyncContext::builder(store)
    ///     // Version 2 of the app dropped the `Draft` table: its unpushed changes are given up.
    ///     .migration(1, |m| m.drop_operations("Draft").map(drop))
    ///     // Version 3 upper-cased every tag (a new install has no `Tag` table yet: nothing to do).
    ///     .migration(2, |m| {
    ///         m.update_rows("Tag", |mut row| {
    ///             let name = row.get("name").and_then(|v| v.as_str()).map(str::to_uppercase);
    ///             match name {
    ///                 Some(n) => { row.set("name", n.into())?; Ok(RowChange::Write(row)) }
    ///                 None => Ok(RowChange::Keep),
    ///             }
    ///         }).map(drop)
    ///     })
    ///     .build()
    ///     .await?;
    /// # let _ = ctx; Ok::<_, sync_core::SyncError>(()) }).unwrap();
    /// ```
    pub fn migration(
        mut self,
        version: u32,
        step: impl Fn(&mut Migration<'_>) -> Result<(), crate::error::StoreError> + Send + Sync + 'static,
    ) -> Self {
        self.migrations.push((version, Arc::new(step)));
        self
    }

    /// Builds the context. Without migration steps it reads nothing from the store: operations
    /// left in flight by a push that is gone (crash, kill, dropped future) are taken back by the
    /// next push, under the store's push lock, never while their push may still be running in
    /// another context or process. With steps, it runs the ones due (see
    /// [`migration`](Self::migration)), holding the push lock while they run.
    pub async fn build(self) -> Result<SyncContext, SyncError> {
        super::migration::run(&self.store, self.migrations).await?;
        let mut options = self.options;
        options.push_parallelism = options.push_parallelism.max(1);
        options.page_size = options.page_size.max(1);
        let feed = self.store.change_feed().unwrap_or_default();
        let store: Arc<dyn Store> = Arc::new(AnnouncingStore::new(self.store, feed.clone()));
        let shared = Shared::new(store, feed, self.remote, self.handler, options, self.events);
        Ok(SyncContext { shared: Arc::new(shared) })
    }
}

impl fmt::Debug for SyncContextBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncContextBuilder")
            .field("has_remote", &self.remote.is_some())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}
