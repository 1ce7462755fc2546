//! The [`Store`] trait (the local database) and the [`Transaction`] it runs work in.

use std::sync::{Arc, Mutex};

use std::collections::HashSet;

use async_trait::async_trait;

use crate::change_feed::ChangeFeed;
use crate::error::StoreError;
use crate::forward::forward_through_pointers;
use crate::operation::{NewOperation, Operation, OperationError, OperationFilter, OperationState, RemovedOperation};
use crate::query::eval::QueryResult;
use crate::query::expr::{Expr, Query};
use crate::record::Record;
use crate::row_page::RowPage;
use crate::schema::TableSchema;

/// Work to run inside one store transaction.
pub type TxWork = Box<dyn FnOnce(&mut dyn Transaction) -> Result<(), StoreError> + Send + 'static>;

/// The local database: synced tables plus the system tables (operation queue, errors, config).
///
/// # Contract
/// - [`transaction`](Store::transaction) runs its work atomically and durably: when it returns
///   `Ok`, every write of the work is committed (and, for a persistent store, survives a crash);
///   when the work returns an error, or the store fails, **none** of its writes are visible.
///   Transactions are serialised: no other transaction's writes interleave with one in progress.
/// - The engine builds its two atomic operations on it: a *local change* (the item write and its
///   queue entry together, [`apply_local_change`](crate::backend::apply_local_change)) and a *pull page* (the page's rows
///   and the new cursor together, [`apply_pull_page`](crate::backend::apply_pull_page)).
/// - Records are stored as given (the engine passes them through
///   [`TableSchema::conform_local`]/[`conform_remote`](TableSchema::conform_remote)) and read
///   back equal, with every schema column present.
/// - Queries give exactly the results of [`run_query`](crate::backend::run_query) on the resolved query:
///   two-valued logic, nulls first, `id` as the last ordering key, soft-deleted rows hidden unless
///   `include_deleted`.
/// - Operation ids strictly increase and are never reused, across restarts too.
///
/// Implementations pass the conformance suite in `sync_core::conformance` (feature `conformance`),
/// and add `impl From<MyStore> for Arc<dyn Store>` so that
/// [`SyncContext::builder`](crate::SyncContext::builder) takes them as they are.
#[async_trait]
pub trait Store: std::fmt::Debug + Send + Sync {
    /// Creates the table, or opens an existing one. A table stored with another schema (or under
    /// the schema's former name, [`TableSchema::previous_name`]) is upgraded in one transaction
    /// by the rules of [`SchemaUpgrade`](crate::backend::SchemaUpgrade): new columns get their
    /// default, renamed columns and tables keep their data (a table's queue, errors and cursors
    /// included), declared type changes are converted, and stored columns the schema no longer
    /// has are retained untouched. What no declaration covers is
    /// [`StoreError::IncompatibleSchema`], naming the column and the fix, and changes nothing.
    async fn ensure_table(&self, schema: &TableSchema) -> Result<(), StoreError>;

    /// Reads one item.
    async fn get(&self, table: &str, id: &str) -> Result<Option<Record>, StoreError>;

    /// Runs a query (checked against the table's schema; unknown columns are errors).
    async fn query(&self, table: &str, query: &Query) -> Result<QueryResult, StoreError>;

    /// Runs `work` in one atomic, durable transaction (see the trait docs).
    async fn transaction(&self, work: TxWork) -> Result<(), StoreError>;

    /// Waits for, then takes, the store's push lock: the exclusive right to claim, send and
    /// settle queued operations, shared by **every** context and process that opens the same
    /// store. The lock is held until the returned [`PushLock`] is dropped, and it must be
    /// released by the store's owner going away too (a killed process, a dropped future): a
    /// file store holds an OS file lock, an in-memory store an in-process mutex.
    ///
    /// While a push holds it, no other push, resolution or purge can run on the store, so an
    /// operation marked in flight belongs to that push; found without the lock held by anyone,
    /// it belongs to a push that is gone, and the next push takes it back. Waiting is
    /// cancellable: dropping the future gives up the wait.
    async fn lock_push(&self) -> Result<PushLock, StoreError>;

    /// The feed on which committed changes of this store are announced, for live queries
    /// ([`JsonTable::watch`](crate::JsonTable::watch)) and the auto-sync scheduler
    /// ([`SyncContext::start_sync`](crate::SyncContext::start_sync)).
    ///
    /// Every context built on the store publishes its own commits there, after
    /// [`transaction`](Store::transaction) returned `Ok` (never before the commit). A store
    /// returns the **same** feed from every handle on the same data, so contexts sharing it see
    /// each other's writes at once; a store that other processes or handles can change without
    /// going through this one (a database file) also publishes those changes, with
    /// [`ChangeFeed::publish_unknown`], while the feed has [`watchers`](ChangeFeed::watchers).
    ///
    /// The default is `None`: each context then keeps a feed of its own, which sees the commits
    /// of that context only.
    fn change_feed(&self) -> Option<ChangeFeed> {
        None
    }
}

/// Proof that the holder has the push lock of a store (see [`Store::lock_push`]); dropping it
/// releases the lock.
pub struct PushLock {
    _guard: Box<dyn Send + Sync>,
}

impl PushLock {
    /// A lock held for as long as `guard` lives (a mutex guard, an open locked file, …).
    pub fn new(guard: impl Send + Sync + 'static) -> PushLock {
        PushLock { _guard: Box::new(guard) }
    }
}

impl std::fmt::Debug for PushLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PushLock")
    }
}

/// What a [`Store`] can do inside a transaction. Calls see the transaction's own earlier writes.
pub trait Transaction {
    /// Reads one item.
    fn get(&mut self, table: &str, id: &str) -> Result<Option<Record>, StoreError>;
    /// Inserts or replaces an item (the record is already conformed to the table's schema).
    fn upsert(&mut self, table: &str, record: &Record) -> Result<(), StoreError>;
    /// Inserts or replaces several items of one table, no id twice: the same as
    /// [`upsert`](Self::upsert) of each in turn, which the default does. Stores that write
    /// many rows in one statement override it (pulled pages go through here).
    fn upsert_many(&mut self, table: &str, records: &[&Record]) -> Result<(), StoreError> {
        records.iter().try_for_each(|record| self.upsert(table, record))
    }
    /// Inserts or replaces rows of a pulled page that was conformed to the table's schema
    /// ([`RowPage::conform`]): the rows at indexes `rows`, no id twice. The same as
    /// [`upsert_many`](Self::upsert_many) of their records, which the default does; stores that
    /// bind a page's fields as they are override it (pulls go through here).
    fn upsert_rows(&mut self, table: &str, page: &RowPage, rows: &[usize]) -> Result<(), StoreError> {
        let records = page.records(rows)?;
        self.upsert_many(table, &records.iter().collect::<Vec<_>>())
    }
    /// The stored items of `ids` in `table`, in the order of `ids` (`None` where there is none):
    /// the same as [`get`](Self::get) of each, which the default does. Stores that read many
    /// rows in one query override it (a push reads the items of a batch through here).
    fn get_many(&mut self, table: &str, ids: &[&str]) -> Result<Vec<Option<Record>>, StoreError> {
        ids.iter().map(|id| self.get(table, id)).collect()
    }
    /// Which of `ids` have a stored item in `table`: the same as [`get`](Self::get) of each,
    /// which the default does. Stores that can look many up in one query override it (batch
    /// inserts go through here).
    fn existing_ids(&mut self, table: &str, ids: &[&str]) -> Result<HashSet<String>, StoreError> {
        let mut found = HashSet::new();
        for id in ids {
            if self.get(table, id)?.is_some() {
                found.insert((*id).to_owned());
            }
        }
        Ok(found)
    }
    /// Which of `ids` have at least one queued operation in `table`: the same as
    /// [`count_operations`](Self::count_operations) of each item, which the default does.
    fn queued_items(&mut self, table: &str, ids: &[&str]) -> Result<HashSet<String>, StoreError> {
        let mut found = HashSet::new();
        for id in ids {
            if self.count_operations(&OperationFilter::item(table, id))? > 0 {
                found.insert((*id).to_owned());
            }
        }
        Ok(found)
    }
    /// Deletes an item; returns whether it existed.
    fn delete(&mut self, table: &str, id: &str) -> Result<bool, StoreError>;
    /// Up to `limit` items of `table` in id order (by the ids' bytes), starting after the id
    /// `after` (from the first when `None`); soft-deleted rows included. Reads a table page by page
    /// inside one transaction (migration steps use it).
    fn rows(&mut self, table: &str, after: Option<&str>, limit: usize) -> Result<Vec<Record>, StoreError>;
    /// Deletes the items matching a filter (all when `None`); returns how many. Soft-deleted rows
    /// are matched too.
    fn delete_matching(&mut self, table: &str, filter: Option<&Expr>) -> Result<u64, StoreError>;

    /// Appends an operation to the queue and returns it with its id.
    fn enqueue(&mut self, op: NewOperation) -> Result<Operation, StoreError>;
    /// Queues several operations, in order: the same as [`enqueue`](Self::enqueue) of each,
    /// which the default does.
    fn enqueue_many(&mut self, ops: Vec<NewOperation>) -> Result<Vec<Operation>, StoreError> {
        ops.into_iter().map(|op| self.enqueue(op)).collect()
    }
    /// Replaces a queued operation (matched by id); `NotFound` when it is gone.
    fn update_operation(&mut self, op: &Operation) -> Result<(), StoreError>;
    /// Sets the state of the operations `ids` (no id twice) to `state`, leaving the rest of each
    /// as it is, and returns how many there were (ids that are gone are skipped): the same as
    /// [`operation`](Self::operation) and [`update_operation`](Self::update_operation) of each,
    /// which the default does. Stores that change many rows in one statement override it (a push
    /// claims its operations through here).
    fn set_operation_states(&mut self, ids: &[u64], state: OperationState) -> Result<u64, StoreError> {
        let mut found = 0;
        for id in ids {
            if let Some(mut op) = self.operation(*id)? {
                found += 1;
                if op.state != state {
                    op.state = state;
                    self.update_operation(&op)?;
                }
            }
        }
        Ok(found)
    }
    /// Removes an operation; returns whether it existed.
    fn remove_operation(&mut self, id: u64) -> Result<bool, StoreError>;
    /// Removes each operation of `sent`, given as its id and the edit counter it was sent at,
    /// that is still at that edit counter, with its error row, and returns the ones removed, in
    /// no particular order. An operation that is gone, or changed since it was sent, is left as
    /// it is. The same as [`operation`](Self::operation), [`remove_operation`](Self::remove_operation)
    /// and [`remove_error`](Self::remove_error) of each, which the default does; stores that
    /// change many rows in one statement override it (a push completes its operations through
    /// here).
    fn remove_sent_operations(&mut self, sent: &[(u64, u64)]) -> Result<Vec<RemovedOperation>, StoreError> {
        let mut removed = Vec::with_capacity(sent.len());
        for &(id, version) in sent {
            let Some(op) = self.operation(id)?.filter(|op| op.version == version) else { continue };
            self.remove_operation(id)?;
            self.remove_error(id)?;
            removed.push(RemovedOperation::from(op));
        }
        Ok(removed)
    }
    /// One operation by id.
    fn operation(&mut self, id: u64) -> Result<Option<Operation>, StoreError>;
    /// Operations passing the filter, lowest id first.
    fn operations(&mut self, filter: &OperationFilter) -> Result<Vec<Operation>, StoreError>;
    /// How many operations pass the filter (`limit` ignored).
    fn count_operations(&mut self, filter: &OperationFilter) -> Result<u64, StoreError>;

    /// Inserts or replaces the error row of an operation.
    fn put_error(&mut self, error: &OperationError) -> Result<(), StoreError>;
    /// Removes the error row of an operation; returns whether it existed.
    fn remove_error(&mut self, operation_id: u64) -> Result<bool, StoreError>;
    /// Error rows, oldest operation first, optionally of one table.
    fn errors(&mut self, table: Option<&str>) -> Result<Vec<OperationError>, StoreError>;

    /// A config value (delta cursors and other engine state).
    fn config(&mut self, key: &str) -> Result<Option<String>, StoreError>;
    /// Sets a config value.
    fn set_config(&mut self, key: &str, value: &str) -> Result<(), StoreError>;
    /// Removes config values whose key starts with `prefix`; returns how many.
    fn remove_config(&mut self, prefix: &str) -> Result<u64, StoreError>;
}

/// Conveniences on every [`Store`].
#[async_trait]
pub trait StoreExt: Store {
    /// Runs `work` in a transaction and returns its result.
    ///
    /// ```
    /// # async fn demo(store: &dyn sync_core::Store) -> Result<(), sync_core::backend::StoreError> {
    /// use sync_core::backend::StoreExt;
    /// let pending = store.transact(|tx| tx.count_operations(&Default::default())).await?;
    /// # let _ = pending; Ok(()) }
    /// ```
    async fn transact<R, F>(&self, work: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut dyn Transaction) -> Result<R, StoreError> + Send + 'static,
    {
        let slot = Arc::new(Mutex::new(None));
        let out = Arc::clone(&slot);
        self.transaction(Box::new(move |tx| {
            let r = work(tx)?;
            *out.lock().map_err(|_| StoreError::Backend { message: "result slot poisoned".into(), source: None })? =
                Some(r);
            Ok(())
        }))
        .await?;
        let taken = slot.lock().ok().and_then(|mut s| s.take());
        taken.ok_or_else(|| StoreError::Backend {
            message: "transaction finished without running its work".into(),
            source: None,
        })
    }
}

impl<S: Store + ?Sized> StoreExt for S {}

forward_through_pointers!(Store {
    async fn ensure_table(&self, schema: &TableSchema) -> Result<(), StoreError>;
    async fn get(&self, table: &str, id: &str) -> Result<Option<Record>, StoreError>;
    async fn query(&self, table: &str, query: &Query) -> Result<QueryResult, StoreError>;
    async fn transaction(&self, work: TxWork) -> Result<(), StoreError>;
    async fn lock_push(&self) -> Result<PushLock, StoreError>;
    fn change_feed(&self) -> Option<ChangeFeed>;
});
