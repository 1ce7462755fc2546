//! [`MemoryStore`]: a [`Store`] kept in memory.

mod evolve;
mod lookup;
mod state;
mod tx;

use std::collections::BTreeMap;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use sync_core::backend::run_query;
use sync_core::backend::{resolve_query, ChangeFeed, PushLock, StoreError, TxWork};
use sync_core::{Query, QueryResult, Record, Store, TableSchema};

use state::State;
use tx::MemoryTransaction;

/// A [`Store`] that keeps everything in memory: fast, thread-safe, and gone when the last handle
/// is dropped. Made for tests, prototypes and apps that sync without keeping data across runs.
///
/// It behaves exactly as the contract of [`Store`] says (it passes the conformance suite in
/// `sync_core::conformance::store`):
/// - tables are created by [`ensure_table`](Store::ensure_table); opening an existing table with
///   another schema upgrades it by the rules of sync-core's `SchemaUpgrade` (defaults, renamed
///   columns and tables, declared conversions, retained columns; the rest is
///   [`StoreError::IncompatibleSchema`]), as a file store does;
/// - rows are kept by id, always in canonical form: a written record is checked with
///   [`TableSchema::conform_local`], so a value of the wrong type is a [`StoreError::Record`]
///   and absent nullable columns read back as `null`;
/// - [`transaction`](Store::transaction)s run one at a time under one lock, with an undo log:
///   when the work fails (or panics), every write it made is put back;
/// - queries are checked with [`resolve_query`] and answered by
///   [`run_query`](sync_core::backend::run_query), the reference semantics; a filter that pins
///   ids (`id eq …`, `id in (…)`, also inside `and`/`or`) looks its rows up by id instead of
///   scanning, long `in` lists are hash sets, and `top` selects its rows without sorting every
///   hit;
/// - the queue is indexed by table and by item, so counting a table's operations and per-item
///   lookups stay cheap with many pending operations, and operation ids are never reused.
///
/// With a million rows, `id in (1000 ids)` and "order by a text column, top 10" each take
/// milliseconds to a fraction of a second in a release build (`src/store/scale.rs` measures them).
///
/// Cloning is cheap and gives another handle on the **same** data (like an `Arc`). Every clone
/// returns the same [`change_feed`](Store::change_feed), so live queries of one context see the
/// commits of every other context on the store.
///
/// Work passed to [`transaction`](Store::transaction) runs while the store is locked: it must
/// not call back into the store (that would wait for itself).
///
/// ```
/// use serde_json::json;
/// use sync_core::backend::apply_local_change;
/// use sync_core::LocalChange;
/// use sync_core::backend::StoreExt;
/// use sync_core::{Column, ColumnType, Query, Record, Store, TableSchema};
/// use store_memory::MemoryStore;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// let schema = TableSchema::new("TodoItem", vec![Column::new("text", ColumnType::String)])?;
/// store.ensure_table(&schema).await?;
///
/// let item = schema.conform_local(Record::from_json(json!({"id": "1", "text": "milk"}))?)?;
/// let s = schema.clone();
/// store.transact(move |tx| apply_local_change(tx, &s, LocalChange::Insert(item))).await?;
///
/// assert_eq!(store.query("TodoItem", &Query::new()).await?.items.len(), 1);
/// assert_eq!(store.transact(|tx| tx.count_operations(&Default::default())).await?, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    /// The push lock, shared by every clone (see [`Store::lock_push`]).
    push_lock: Arc<tokio::sync::Mutex<()>>,
    /// Shared by every clone, so contexts on clones of one store see each other's commits.
    feed: ChangeFeed,
}

impl MemoryStore {
    /// An empty store: no tables, an empty queue, no errors, no config.
    ///
    /// ```
    /// use sync_core::backend::StoreError;
    /// use sync_core::Store;
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let store = store_memory::MemoryStore::new();
    /// assert!(matches!(store.get("TodoItem", "1").await, Err(StoreError::UnknownTable(_))));
    /// # });
    /// ```
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        self.state.lock().map_err(|_| StoreError::Backend {
            message: "the memory store's lock is poisoned (a thread panicked while writing)".into(),
            source: None,
        })
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("MemoryStore");
        match self.state.try_lock() {
            Ok(state) => {
                let rows: BTreeMap<&str, usize> =
                    state.tables.iter().map(|(name, t)| (name.as_str(), t.rows.len())).collect();
                s.field("tables", &rows).field("operations", &state.op_count()).field("errors", &state.errors.len())
            }
            Err(_) => s.field("state", &"<locked>"),
        };
        s.finish_non_exhaustive()
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn ensure_table(&self, schema: &TableSchema) -> Result<(), StoreError> {
        evolve::ensure_table(&mut *self.lock()?, schema)
    }

    async fn lock_push(&self) -> Result<PushLock, StoreError> {
        Ok(PushLock::new(Arc::clone(&self.push_lock).lock_owned().await))
    }

    async fn get(&self, table: &str, id: &str) -> Result<Option<Record>, StoreError> {
        Ok(self.lock()?.table(table)?.rows.get(id).cloned())
    }

    async fn query(&self, table: &str, query: &Query) -> Result<QueryResult, StoreError> {
        let state = self.lock()?;
        let table = state.table(table)?;
        let resolved = resolve_query(query, &table.schema)?;
        Ok(run_query(lookup::candidates(table, resolved.filter.as_ref()), &resolved))
    }

    async fn transaction(&self, work: TxWork) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        let mut tx = MemoryTransaction::new(&mut state);
        match panic::catch_unwind(AssertUnwindSafe(|| work(&mut tx))) {
            Ok(Ok(())) => {
                tx.commit();
                Ok(())
            }
            Ok(Err(e)) => {
                tx.roll_back();
                Err(e)
            }
            Err(panic) => {
                // Put the state back and release the lock before the panic goes on, so the store
                // stays usable (and unpoisoned) for everyone else.
                tx.roll_back();
                drop(state);
                panic::resume_unwind(panic)
            }
        }
    }

    /// One feed for every clone: contexts on one store see each other's commits at once.
    fn change_feed(&self) -> Option<ChangeFeed> {
        Some(self.feed.clone())
    }
}

#[cfg(test)]
mod scale;
#[cfg(test)]
mod tests;

impl From<MemoryStore> for Arc<dyn Store> {
    /// Lets [`SyncContext::builder`](sync_core::SyncContext::builder) take a `MemoryStore` as it is.
    fn from(store: MemoryStore) -> Self {
        Arc::new(store)
    }
}
