//! [`Shared`]: the state of one context that every part of the engine works on. The facade
//! ([`SyncContext`](super::SyncContext)) and the tables hold it in an `Arc`; push, pull, purge
//! and resolution take it as `&Shared`, so none of them imports the facade.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use super::conflict::ConflictHandler;
use super::events::EventBus;
use super::options::SyncOptions;
use crate::change_feed::ChangeFeed;
use crate::error::{StoreError, SyncError};
use crate::remote::Remote;
use crate::schema::TableSchema;
use crate::store::{PushLock, Store};

pub(crate) struct Shared {
    /// The store, announcing its commits on `feed` (see `announce.rs`).
    pub(crate) store: Arc<dyn Store>,
    /// Where the store's commits are announced (the store's own feed, or this context's).
    pub(crate) feed: ChangeFeed,
    pub(crate) remote: Option<Arc<dyn Remote>>,
    pub(crate) handler: Arc<dyn ConflictHandler>,
    pub(crate) options: SyncOptions,
    pub(crate) events: EventBus,
    /// The schemas of the tables opened so far, by name.
    schemas: RwLock<HashMap<String, Arc<TableSchema>>>,
    /// One push at a time in this context (the store's push lock orders contexts and
    /// processes); pulls take it too while they push first, and so do purge and resolution, so
    /// that nothing in flight changes under a push.
    pub(crate) push_lock: tokio::sync::Mutex<()>,
}

impl Shared {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        feed: ChangeFeed,
        remote: Option<Arc<dyn Remote>>,
        handler: Arc<dyn ConflictHandler>,
        options: SyncOptions,
        events: EventBus,
    ) -> Shared {
        Shared {
            store,
            feed,
            remote,
            handler,
            options,
            events,
            schemas: RwLock::new(HashMap::new()),
            push_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Waits for and takes the right to push (see [`PushGuard`]).
    pub(crate) async fn lock_push(&self) -> Result<PushGuard<'_>, SyncError> {
        let context = self.push_lock.lock().await;
        let store = self.store.lock_push().await?;
        Ok(PushGuard { _context: context, _store: store })
    }

    /// The remote, or [`SyncError::NoRemote`].
    pub(crate) fn remote(&self) -> Result<Arc<dyn Remote>, SyncError> {
        self.remote.clone().ok_or(SyncError::NoRemote)
    }

    /// Remembers the schema of an opened table.
    pub(crate) fn register(&self, schema: Arc<TableSchema>) {
        if let Ok(mut schemas) = self.schemas.write() {
            schemas.insert(schema.name().to_owned(), schema);
        }
    }

    /// The names of the tables opened so far, sorted.
    pub(crate) fn table_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.schemas.read().map(|s| s.keys().cloned().collect()).unwrap_or_default();
        names.sort();
        names
    }

    /// The schema of an opened table.
    pub(crate) fn schema(&self, table: &str) -> Option<Arc<TableSchema>> {
        self.schemas.read().ok().and_then(|s| s.get(table).cloned())
    }

    /// The schema of an opened table, or [`StoreError::UnknownTable`].
    pub(crate) fn opened_schema(&self, table: &str) -> Result<Arc<TableSchema>, SyncError> {
        self.schema(table).ok_or_else(|| SyncError::Store(StoreError::UnknownTable(table.to_owned())))
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tables: Vec<String> = self.schemas.read().map(|s| s.keys().cloned().collect()).unwrap_or_default();
        f.debug_struct("SyncContext")
            .field("has_remote", &self.remote.is_some())
            .field("options", &self.options)
            .field("tables", &tables)
            .finish_non_exhaustive()
    }
}

/// The right to push: this context's lock (one push at a time per context, without a store
/// round trip) and the store's push lock (one at a time across every context and process on the
/// store; see [`Store::lock_push`]). Resolution and purge take it too.
pub(crate) struct PushGuard<'a> {
    _context: tokio::sync::MutexGuard<'a, ()>,
    _store: PushLock,
}
