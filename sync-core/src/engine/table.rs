//! [`SyncTable<T>`] (typed) and [`JsonTable`] (records): local CRUD and queries, pull, purge and
//! push of one table.

use std::marker::PhantomData;
use std::sync::Arc;

use std::fmt;

use super::events::{PullSummary, PushSummary};
use super::options::{PullOptions, PurgeOptions};
use super::shared::Shared;
use super::watch::LiveQuery;
use crate::entity::SyncEntity;
use crate::error::{RecordError, StoreError, SyncError};
use crate::operation::{Operation, OperationFilter};
use crate::query::eval::QueryResult;
use crate::query::expr::Query;
use crate::queue::{apply_local_change, apply_local_changes, LocalChange};
use crate::record::{validate_id, Record};
use crate::schema::TableSchema;
use crate::store::StoreExt;

/// A table of JSON [`Record`]s. Every write lands in the store together with its queued operation.
#[derive(Clone)]
pub struct JsonTable {
    shared: Arc<Shared>,
    schema: Arc<TableSchema>,
}

impl JsonTable {
    pub(crate) fn new(shared: Arc<Shared>, schema: Arc<TableSchema>) -> Self {
        JsonTable { shared, schema }
    }

    /// A record error of this table.
    fn record_error(&self, e: RecordError) -> SyncError {
        SyncError::record(self.name(), e)
    }

    fn conform(&self, record: Record) -> Result<Record, SyncError> {
        self.schema.conform_local(record).map_err(|e| self.record_error(e))
    }

    fn check_id(&self, id: &str) -> Result<(), SyncError> {
        validate_id(id).map_err(|e| self.record_error(e))
    }

    /// The table's schema.
    pub fn schema(&self) -> &TableSchema {
        &self.schema
    }

    /// The table's name.
    pub fn name(&self) -> &str {
        self.schema.name()
    }

    /// Inserts a record and queues its insert. Server-owned columns start empty.
    pub async fn insert(&self, record: Record) -> Result<Record, SyncError> {
        let record = self.conform(record)?;
        self.change(LocalChange::Insert(record)).await?.ok_or_else(|| unreachable_missing(self.name()))
    }

    /// Replaces a record's fields and queues an update (collapsing with a queued insert/update).
    /// Server-owned columns keep their stored values.
    pub async fn update(&self, record: Record) -> Result<Record, SyncError> {
        let record = self.conform(record)?;
        self.change(LocalChange::Update(record)).await?.ok_or_else(|| unreachable_missing(self.name()))
    }

    /// Deletes a record and queues its delete (a never-pushed insert just vanishes).
    pub async fn delete(&self, id: &str) -> Result<(), SyncError> {
        self.check_id(id)?;
        self.change(LocalChange::Delete(id.to_owned())).await.map(|_| ())
    }

    /// Inserts many records in one transaction (each still queued): the fast path for imports.
    /// Either every record is stored or none is.
    pub async fn insert_batch(&self, records: Vec<Record>) -> Result<Vec<Record>, SyncError> {
        let stored = self.write_batch(records.into_iter().map(LocalChange::Insert).collect()).await?;
        Ok(stored.into_iter().flatten().collect())
    }

    /// Applies many local changes (inserts, updates, deletes) in one transaction, each queued
    /// (and collapsed) as if made one by one: the fast path for imports and bulk edits. Either
    /// every change is stored or none is. Returns the stored items (`None` for deletes).
    ///
    /// ```
    /// # use sync_core::{Column, ColumnType, LocalChange, Record, SyncContext, TableSchema};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let ctx = SyncContext::builder(store_memory::MemoryStore::new()).build().await?;
    /// let schema = TableSchema::new("Note", vec![Column::new("body", ColumnType::String)])?;
    /// let notes = ctx.json_table(schema).await?;
    /// let note = |id: &str, body: &str| Record::from_json(serde_json::json!({"id": id, "body": body})).unwrap();
    /// notes.write_batch(vec![
    ///     LocalChange::Insert(note("a", "first")),
    ///     LocalChange::Insert(note("b", "second")),
    ///     LocalChange::Update(note("a", "first, edited")),
    ///     LocalChange::Delete("b".into()),
    /// ]).await?;
    /// assert_eq!(ctx.pending_count().await?, 1); // one insert of "a"; "b" came and went
    /// # Ok::<_, sync_core::SyncError>(()) }).unwrap();
    /// ```
    pub async fn write_batch(&self, changes: Vec<LocalChange>) -> Result<Vec<Option<Record>>, SyncError> {
        let changes = changes
            .into_iter()
            .map(|c| {
                Ok(match c {
                    LocalChange::Insert(r) => LocalChange::Insert(self.conform(r)?),
                    LocalChange::Update(r) => LocalChange::Update(self.conform(r)?),
                    LocalChange::Delete(id) => {
                        self.check_id(&id)?;
                        LocalChange::Delete(id)
                    }
                })
            })
            .collect::<Result<Vec<_>, SyncError>>()?;
        let schema = Arc::clone(&self.schema);
        let stored = self.shared.store.transact(move |tx| apply_local_changes(tx, &schema, changes)).await?;
        Ok(stored.into_iter().map(|outcome| outcome.record).collect())
    }

    async fn change(&self, change: LocalChange) -> Result<Option<Record>, SyncError> {
        let schema = Arc::clone(&self.schema);
        let outcome = self.shared.store.transact(move |tx| apply_local_change(tx, &schema, change)).await?;
        Ok(outcome.record)
    }

    /// One record by id.
    pub async fn get(&self, id: &str) -> Result<Option<Record>, SyncError> {
        self.check_id(id)?;
        Ok(self.shared.store.get(self.name(), id).await?)
    }

    /// Runs a query on the local table.
    pub async fn query(&self, query: &Query) -> Result<QueryResult, SyncError> {
        Ok(self.shared.store.query(self.name(), query).await?)
    }

    /// The results of `query`, kept current: the result now, then a fresh one after each
    /// committed change to this table, from this context or any other on the store (see
    /// [`LiveQuery`] for the guarantees).
    ///
    /// ```
    /// # use sync_core::{Column, ColumnType, Query, Record, SyncContext, TableSchema};
    /// use futures::StreamExt;
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let ctx = SyncContext::builder(store_memory::MemoryStore::new()).build().await?;
    /// let notes = ctx.json_table(TableSchema::new("Note", vec![Column::new("body", ColumnType::String)])?).await?;
    /// let mut live = notes.watch(&Query::new());
    /// assert_eq!(live.next().await.unwrap()?.items.len(), 0);
    /// notes.insert(Record::from_json(serde_json::json!({"id": "a", "body": "hello"})).unwrap()).await?;
    /// assert_eq!(live.next().await.unwrap()?.items.len(), 1);
    /// # Ok::<_, sync_core::SyncError>(()) }).unwrap();
    /// ```
    pub fn watch(&self, query: &Query) -> LiveQuery<QueryResult> {
        super::watch::live_query(
            Arc::clone(&self.shared.store),
            &self.shared.feed,
            self.name().to_owned(),
            query.clone(),
        )
    }

    /// Counts the local rows matching a query's filter.
    pub async fn count(&self, query: &Query) -> Result<u64, SyncError> {
        let q = Query { filter: query.filter.clone(), include_deleted: query.include_deleted, ..Query::new() }
            .with_total_count()
            .top(0);
        Ok(self.query(&q).await?.total_count.unwrap_or(0))
    }

    /// Pulls server rows matching `query` (a filter only). With a query id
    /// ([`PullOptions::incremental`]) the pull is incremental: it resumes after the saved cursor
    /// and saves the new one with every page; without one it downloads every matching row.
    /// Queued local operations of the table are pushed first (see [`PullOptions::push_first`]);
    /// rows whose item still has a queued operation are not overwritten.
    ///
    /// Paging is by a keyset cursor on `(updatedAt, id)`: rows sharing a timestamp are neither
    /// skipped nor fetched twice, and a pull with nothing new costs one request. The one blind
    /// spot of any timestamp cursor remains: the server stamps `updatedAt` in milliseconds, so a
    /// row written in the very millisecond of the cursor, with an id not after the cursor's,
    /// after the page was read, is seen at its next change (or after a purge of the query id).
    pub async fn pull(&self, query: &Query, options: PullOptions) -> Result<PullSummary, SyncError> {
        super::pull::pull(&self.shared, &self.schema, query, options).await
    }

    /// Deletes local rows matching `query` without queueing anything, and forgets the cursor of
    /// [`PurgeOptions::query_id`]. Refused while the table has queued operations, unless
    /// [`PurgeOptions::force`] with no filter, which also drops the table's operations, errors and
    /// cursors. Returns the rows deleted.
    pub async fn purge(&self, query: &Query, options: PurgeOptions) -> Result<u64, SyncError> {
        super::purge::purge(&self.shared, &self.schema, query, options).await
    }

    /// Pushes this table's queued operations.
    pub async fn push(&self) -> Result<PushSummary, SyncError> {
        super::push_scheduler::push(&self.shared, Some(vec![self.name().to_owned()])).await
    }

    /// This table's queued operations, in push order.
    pub async fn pending_operations(&self) -> Result<Vec<Operation>, SyncError> {
        let filter = OperationFilter::table(self.name());
        Ok(self.shared.store.transact(move |tx| tx.operations(&filter)).await?)
    }
}

fn unreachable_missing(table: &str) -> SyncError {
    SyncError::Store(StoreError::Backend {
        message: format!("the store returned no record after writing to {table}"),
        source: None,
    })
}

impl fmt::Debug for JsonTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonTable").field("table", &self.name()).finish_non_exhaustive()
    }
}

/// The typed table of entity `T`: what apps use. Writes go to the local store with their queued
/// operation in one transaction; [`pull`](Self::pull) and [`push`](Self::push) sync it.
///
/// ```
/// # use sync_core::{Query, SyncContext, SyncEntity};
/// #[derive(SyncEntity, Debug, Clone, PartialEq)]
/// #[sync(table = "TodoItem")]
/// struct TodoItem { id: String, text: String, complete: bool }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let ctx = SyncContext::builder(store_memory::MemoryStore::new()).build().await?;
/// let todos = ctx.table::<TodoItem>().await?;
/// let mut milk = todos.insert(TodoItem { id: String::new(), text: "milk".into(), complete: false }).await?;
/// milk.complete = true;
/// todos.update(&milk).await?;
/// let done = todos.query(&Query::new().filter(TodoItem::COMPLETE.eq(true))).await?;
/// assert_eq!(done, vec![milk]);
/// # Ok::<_, sync_core::SyncError>(()) }).unwrap();
/// ```
pub struct SyncTable<T> {
    inner: JsonTable,
    _entity: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for SyncTable<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncTable")
            .field("table", &self.inner.name())
            .field("entity", &std::any::type_name::<T>())
            .finish()
    }
}

impl<T> Clone for SyncTable<T> {
    fn clone(&self) -> Self {
        SyncTable { inner: self.inner.clone(), _entity: PhantomData }
    }
}

impl<T: SyncEntity> SyncTable<T> {
    pub(crate) fn new(inner: JsonTable) -> Self {
        SyncTable { inner, _entity: PhantomData }
    }

    /// The untyped view of the same table.
    pub fn json(&self) -> &JsonTable {
        &self.inner
    }

    /// Inserts an entity (giving it a UUID when its id is empty) and returns it as stored.
    pub async fn insert(&self, mut item: T) -> Result<T, SyncError> {
        if item.id().is_empty() {
            item.set_id(uuid::Uuid::new_v4().to_string());
        }
        let stored = self.inner.insert(item.to_record().map_err(entity_error::<T>)?).await?;
        T::from_record(&stored).map_err(entity_error::<T>)
    }

    /// Inserts many entities in one transaction (ids given where empty).
    pub async fn insert_batch(&self, items: impl IntoIterator<Item = T>) -> Result<Vec<T>, SyncError> {
        let records = items
            .into_iter()
            .map(|mut item| {
                if item.id().is_empty() {
                    item.set_id(uuid::Uuid::new_v4().to_string());
                }
                item.to_record().map_err(entity_error::<T>)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let stored = self.inner.insert_batch(records).await?;
        from_records::<T>(stored.iter())
    }

    /// Updates many entities in one transaction (each queued); all or none.
    pub async fn update_batch(&self, items: impl IntoIterator<Item = T>) -> Result<Vec<T>, SyncError> {
        let changes = items
            .into_iter()
            .map(|i| Ok(LocalChange::Update(i.to_record().map_err(entity_error::<T>)?)))
            .collect::<Result<Vec<_>, SyncError>>()?;
        let stored = self.inner.write_batch(changes).await?;
        from_records::<T>(stored.iter().flatten())
    }

    /// Updates an entity and returns it as stored (system fields from the store).
    pub async fn update(&self, item: &T) -> Result<T, SyncError> {
        let stored = self.inner.update(item.to_record().map_err(entity_error::<T>)?).await?;
        T::from_record(&stored).map_err(entity_error::<T>)
    }

    /// Deletes an entity by id.
    pub async fn delete(&self, id: &str) -> Result<(), SyncError> {
        self.inner.delete(id).await
    }

    /// One entity by id.
    pub async fn get(&self, id: &str) -> Result<Option<T>, SyncError> {
        self.inner.get(id).await?.map(|r| T::from_record(&r).map_err(entity_error::<T>)).transpose()
    }

    /// The entities matching a query.
    pub async fn query(&self, query: &Query) -> Result<Vec<T>, SyncError> {
        let result = self.inner.query(query).await?;
        from_records::<T>(result.items.iter())
    }

    /// The entities matching a query, with the total count when the query asks for it.
    pub async fn query_with_count(&self, query: &Query) -> Result<(Vec<T>, Option<u64>), SyncError> {
        let result = self.inner.query(query).await?;
        let items = from_records::<T>(result.items.iter())?;
        Ok((items, result.total_count))
    }

    /// Counts the entities matching a query's filter.
    pub async fn count(&self, query: &Query) -> Result<u64, SyncError> {
        self.inner.count(query).await
    }

    /// The entities matching `query`, kept current; see [`JsonTable::watch`] and [`LiveQuery`].
    ///
    /// ```
    /// # use sync_core::{Query, SyncContext, SyncEntity};
    /// use futures::StreamExt;
    /// # #[derive(SyncEntity, Debug, Clone, PartialEq)] #[sync(table = "TodoItem")]
    /// # struct TodoItem { id: String, text: String, complete: bool }
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// # let ctx = SyncContext::builder(store_memory::MemoryStore::new()).build().await?;
    /// let todos = ctx.table::<TodoItem>().await?;
    /// let mut open = todos.watch(&Query::new().filter(TodoItem::COMPLETE.eq(false)));
    /// assert!(open.next().await.unwrap()?.is_empty());
    /// todos.insert(TodoItem { id: "1".into(), text: "milk".into(), complete: false }).await?;
    /// assert_eq!(open.next().await.unwrap()?[0].text, "milk");
    /// # Ok::<_, sync_core::SyncError>(()) }).unwrap();
    /// ```
    pub fn watch(&self, query: &Query) -> LiveQuery<Vec<T>> {
        self.inner.watch(query).map(|result| from_records::<T>(result.items.iter()))
    }

    /// Pulls from the server; see [`JsonTable::pull`].
    pub async fn pull(&self, query: &Query, options: PullOptions) -> Result<PullSummary, SyncError> {
        self.inner.pull(query, options).await
    }

    /// Purges local rows; see [`JsonTable::purge`].
    pub async fn purge(&self, query: &Query, options: PurgeOptions) -> Result<u64, SyncError> {
        self.inner.purge(query, options).await
    }

    /// Pushes this table's queued operations.
    pub async fn push(&self) -> Result<PushSummary, SyncError> {
        self.inner.push().await
    }

    /// This table's queued operations.
    pub async fn pending_operations(&self) -> Result<Vec<Operation>, SyncError> {
        self.inner.pending_operations().await
    }
}

/// A record error of entity `T`'s table.
fn entity_error<T: SyncEntity>(e: RecordError) -> SyncError {
    SyncError::record(T::TABLE, e)
}

fn from_records<'a, T: SyncEntity>(records: impl Iterator<Item = &'a Record>) -> Result<Vec<T>, SyncError> {
    records.map(|r| T::from_record(r).map_err(entity_error::<T>)).collect()
}
