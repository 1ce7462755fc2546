//! [`SyncContext`]: owns the store, the remote, the conflict handler and the options; hands out
//! tables; pushes the queue; lists and resolves errors.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};

use super::conflict::{ConflictHandler, DeferConflicts, Resolution};
use super::events::{EventBus, PushSummary, SyncEvent};
use super::options::SyncOptions;
use super::resolution::{apply_resolution, Effect};
use super::table::{JsonTable, SyncTable};
use crate::entity::SyncEntity;
use crate::error::{StoreError, SyncError};
use crate::operation::{Operation, OperationError, OperationFilter, OperationState};
use crate::remote::Remote;
use crate::schema::TableSchema;
use crate::store::{Store, StoreExt};

/// The sync engine for one local store and (optionally) one server.
///
/// Cheap to clone; clones share everything. Without a remote every local operation works and
/// push/pull return [`SyncError::NoRemote`].
///
/// ```
/// # use sync_core::{SyncContext, SyncEntity, Query};
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
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) remote: Option<Arc<dyn Remote>>,
    pub(crate) handler: Arc<dyn ConflictHandler>,
    pub(crate) options: SyncOptions,
    pub(crate) events: EventBus,
    schemas: RwLock<HashMap<String, Arc<TableSchema>>>,
    /// One push at a time; pulls take it too while they push first.
    pub(crate) push_lock: tokio::sync::Mutex<()>,
    /// Set while a push runs: still set at the next push means the last one was dropped half-way.
    pub(crate) push_interrupted: AtomicBool,
}

/// Builds a [`SyncContext`].
pub struct SyncContextBuilder {
    store: Arc<dyn Store>,
    remote: Option<Arc<dyn Remote>>,
    handler: Arc<dyn ConflictHandler>,
    options: SyncOptions,
    events: EventBus,
}

impl SyncContext {
    /// Starts building a context over `store`.
    pub fn builder(store: impl Store + 'static) -> SyncContextBuilder {
        SyncContext::builder_arc(Arc::new(store))
    }

    /// Starts building a context over a shared store.
    pub fn builder_arc(store: Arc<dyn Store>) -> SyncContextBuilder {
        SyncContextBuilder {
            store,
            remote: None,
            handler: Arc::new(DeferConflicts),
            options: SyncOptions::default(),
            events: EventBus::default(),
        }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The options.
    pub fn options(&self) -> &SyncOptions {
        &self.inner.options
    }

    /// Opens (creating if needed) the table of entity `T`.
    pub async fn table<T: SyncEntity>(&self) -> Result<SyncTable<T>, SyncError> {
        Ok(SyncTable::new(self.json_table(T::schema()).await?))
    }

    /// Opens (creating if needed) an untyped table of JSON records.
    pub async fn json_table(&self, schema: TableSchema) -> Result<JsonTable, SyncError> {
        self.inner.store.ensure_table(&schema).await?;
        let schema = Arc::new(schema);
        if let Ok(mut schemas) = self.inner.schemas.write() {
            schemas.insert(schema.name().to_owned(), Arc::clone(&schema));
        }
        Ok(JsonTable::new(self.clone(), schema))
    }

    /// Subscribes to progress events.
    pub fn subscribe(&self, f: impl Fn(&SyncEvent) + Send + Sync + 'static) {
        self.inner.events.subscribe(Arc::new(f));
    }

    /// Every queued operation, in push order.
    pub async fn pending_operations(&self) -> Result<Vec<Operation>, SyncError> {
        Ok(self.inner.store.transact(|tx| tx.operations(&OperationFilter::all())).await?)
    }

    /// How many operations are queued.
    pub async fn pending_count(&self) -> Result<u64, SyncError> {
        Ok(self.inner.store.transact(|tx| tx.count_operations(&OperationFilter::all())).await?)
    }

    /// Pushes every queued operation, in order. See [`push_tables`](Self::push_tables).
    pub async fn push(&self) -> Result<PushSummary, SyncError> {
        super::push::push(&self.inner, None).await
    }

    /// Pushes the queued operations of these tables, in queue order.
    ///
    /// Conflicts go to the conflict handler; other failures are recorded in the errors table and
    /// the push goes on. Network loss (after retries), a 401 or a store failure stop the push
    /// with [`SyncError::PushAborted`]; every operation not pushed stays queued.
    pub async fn push_tables(&self, tables: &[&str]) -> Result<PushSummary, SyncError> {
        super::push::push(&self.inner, Some(tables.iter().map(|t| (*t).to_owned()).collect())).await
    }

    /// The errors table: failed operations waiting for the app, oldest first.
    pub async fn errors(&self) -> Result<Vec<OperationError>, SyncError> {
        Ok(self.inner.store.transact(|tx| tx.errors(None)).await?)
    }

    /// Resolves a recorded failure. `KeepLocal` and `Merge` queue the operation again over the
    /// server's version (sent by the next push); `KeepServer` and `Discard` cancel it; `Defer`
    /// leaves it. Fails with [`SyncError::StaleError`] if the item changed locally since.
    pub async fn resolve(&self, operation_id: u64, resolution: Resolution) -> Result<(), SyncError> {
        // Not while a push holds the operation in flight.
        let _no_push = self.inner.push_lock.lock().await;
        let errors = self.errors().await?;
        let error =
            errors.into_iter().find(|e| e.operation_id == operation_id).ok_or(SyncError::NoSuchError(operation_id))?;
        let schema = self.schema(&error.table)?;
        let resolution = match resolution {
            Resolution::Merge(item) => Resolution::Merge(super::table::conform_merge(&schema, &error.item_id, item)?),
            other => other,
        };
        let effect = self
            .inner
            .store
            .transact(move |tx| {
                apply_resolution(
                    tx,
                    &schema,
                    error.operation_id,
                    error.operation_version,
                    error.server_item.as_ref(),
                    &resolution,
                    OperationState::Pending,
                )
            })
            .await?;
        match effect {
            Effect::Stale => Err(SyncError::StaleError(operation_id)),
            Effect::Unresolvable(reason) => Err(SyncError::CannotResolve { operation_id, reason }),
            Effect::Settled | Effect::Resend(..) | Effect::Deferred => Ok(()),
        }
    }

    /// The schema of an opened table.
    pub(crate) fn schema(&self, table: &str) -> Result<Arc<TableSchema>, SyncError> {
        self.inner.schema(table).ok_or_else(|| SyncError::Store(StoreError::UnknownTable(table.to_owned())))
    }
}

impl Inner {
    pub(crate) fn schema(&self, table: &str) -> Option<Arc<TableSchema>> {
        self.schemas.read().ok().and_then(|s| s.get(table).cloned())
    }
}

impl SyncContextBuilder {
    /// The server to sync with.
    pub fn remote(mut self, remote: impl Remote + 'static) -> Self {
        self.remote = Some(Arc::new(remote));
        self
    }

    /// The server to sync with, shared.
    pub fn remote_arc(mut self, remote: Arc<dyn Remote>) -> Self {
        self.remote = Some(remote);
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

    /// Builds the context. Operations left in flight by an earlier run that stopped mid-push
    /// (crash, dropped future) are marked as attempted: the server may have applied them.
    pub async fn build(self) -> Result<SyncContext, SyncError> {
        super::push::release_in_flight(self.store.as_ref()).await?;
        let mut options = self.options;
        options.push_parallelism = options.push_parallelism.max(1);
        options.page_size = options.page_size.max(1);
        Ok(SyncContext {
            inner: Arc::new(Inner {
                store: self.store,
                remote: self.remote,
                handler: self.handler,
                options,
                events: self.events,
                schemas: RwLock::new(HashMap::new()),
                push_lock: tokio::sync::Mutex::new(()),
                push_interrupted: AtomicBool::new(false),
            }),
        })
    }
}
