//! [`AnnouncingStore`]: the store as the engine sees it. It records which tables each transaction
//! writes (and whether it touches the queue) and announces them on the store's [`ChangeFeed`]
//! once the transaction has committed, so every part of the engine (local writes, pull pages,
//! pushes, resolutions, purges) is announced without knowing about watchers.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::change_feed::ChangeFeed;
use crate::error::StoreError;
use crate::operation::{NewOperation, Operation, OperationError, OperationFilter, OperationState, RemovedOperation};
use crate::query::eval::QueryResult;
use crate::query::expr::{Expr, Query};
use crate::record::Record;
use crate::row_page::RowPage;
use crate::schema::TableSchema;
use crate::store::{PushLock, Store, Transaction, TxWork};

/// What one transaction changed.
#[derive(Debug, Default)]
struct Touched {
    tables: Vec<String>,
    queue: bool,
}

impl Touched {
    fn table(&mut self, table: &str) {
        // A transaction writes one table or a few: a short scan beats hashing.
        if !self.tables.iter().any(|t| t == table) {
            self.tables.push(table.to_owned());
        }
    }

    fn publish(&self, feed: &ChangeFeed) {
        feed.publish_tables(self.tables.iter().map(String::as_str));
        if self.queue {
            feed.publish_queue();
        }
    }
}

/// A store whose commits are announced on a feed (see the module docs).
pub(crate) struct AnnouncingStore {
    inner: Arc<dyn Store>,
    feed: ChangeFeed,
}

impl AnnouncingStore {
    pub(crate) fn new(inner: Arc<dyn Store>, feed: ChangeFeed) -> Self {
        AnnouncingStore { inner, feed }
    }
}

impl fmt::Debug for AnnouncingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

/// Announces a transaction whose future was dropped before it returned. The store may still be
/// running it (a file store finishes a started transaction on its own thread), so the
/// announcement waits behind it: transactions are serialised, so once an empty transaction has
/// run, the dropped one has committed or rolled back.
struct Unsettled {
    armed: bool,
    store: Arc<dyn Store>,
    feed: ChangeFeed,
    touched: Arc<Mutex<Option<Touched>>>,
}

impl Drop for Unsettled {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (store, feed, touched) = (Arc::clone(&self.store), self.feed.clone(), Arc::clone(&self.touched));
        let announce = move || {
            if let Some(t) = touched.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                t.publish(&feed);
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move {
                    let _ = store.transaction(Box::new(|_| Ok(()))).await;
                    announce();
                });
            }
            // No runtime to wait on: announce now (a watcher may read before the commit, but a
            // store that needs a runtime cannot be running this transaction either).
            Err(_) => announce(),
        }
    }
}

#[async_trait]
impl Store for AnnouncingStore {
    async fn ensure_table(&self, schema: &TableSchema) -> Result<(), StoreError> {
        self.inner.ensure_table(schema).await
    }

    async fn get(&self, table: &str, id: &str) -> Result<Option<Record>, StoreError> {
        self.inner.get(table, id).await
    }

    async fn query(&self, table: &str, query: &Query) -> Result<QueryResult, StoreError> {
        self.inner.query(table, query).await
    }

    async fn transaction(&self, work: TxWork) -> Result<(), StoreError> {
        let touched = Arc::new(Mutex::new(None));
        let slot = Arc::clone(&touched);
        let recorded: TxWork = Box::new(move |tx| {
            let mut recording = Recording { tx, touched: Touched::default() };
            work(&mut recording)?;
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(recording.touched);
            Ok(())
        });
        let mut unsettled = Unsettled {
            armed: true,
            store: Arc::clone(&self.inner),
            feed: self.feed.clone(),
            touched: Arc::clone(&touched),
        };
        let result = self.inner.transaction(recorded).await;
        unsettled.armed = false;
        if result.is_ok() {
            if let Some(t) = touched.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                t.publish(&self.feed);
            }
        }
        result
    }

    async fn lock_push(&self) -> Result<PushLock, StoreError> {
        self.inner.lock_push().await
    }

    fn change_feed(&self) -> Option<ChangeFeed> {
        Some(self.feed.clone())
    }
}

/// A transaction that notes what it writes.
struct Recording<'a> {
    tx: &'a mut dyn Transaction,
    touched: Touched,
}

// Every method is forwarded, defaults included: a default would run the one-by-one version
// over a store that has a faster one.
#[deny(clippy::missing_trait_methods)]
impl Transaction for Recording<'_> {
    fn get(&mut self, table: &str, id: &str) -> Result<Option<Record>, StoreError> {
        self.tx.get(table, id)
    }

    fn rows(&mut self, table: &str, after: Option<&str>, limit: usize) -> Result<Vec<Record>, StoreError> {
        self.tx.rows(table, after, limit)
    }

    fn get_many(&mut self, table: &str, ids: &[&str]) -> Result<Vec<Option<Record>>, StoreError> {
        self.tx.get_many(table, ids)
    }

    fn upsert_many(&mut self, table: &str, records: &[&Record]) -> Result<(), StoreError> {
        self.tx.upsert_many(table, records)?;
        if !records.is_empty() {
            self.touched.table(table);
        }
        Ok(())
    }

    fn upsert_rows(&mut self, table: &str, page: &RowPage, rows: &[usize]) -> Result<(), StoreError> {
        self.tx.upsert_rows(table, page, rows)?;
        if !rows.is_empty() {
            self.touched.table(table);
        }
        Ok(())
    }

    fn existing_ids(&mut self, table: &str, ids: &[&str]) -> Result<HashSet<String>, StoreError> {
        self.tx.existing_ids(table, ids)
    }

    fn queued_items(&mut self, table: &str, ids: &[&str]) -> Result<HashSet<String>, StoreError> {
        self.tx.queued_items(table, ids)
    }

    fn enqueue_many(&mut self, ops: Vec<NewOperation>) -> Result<Vec<Operation>, StoreError> {
        let ops = self.tx.enqueue_many(ops)?;
        self.touched.queue |= !ops.is_empty();
        Ok(ops)
    }

    fn upsert(&mut self, table: &str, record: &Record) -> Result<(), StoreError> {
        self.tx.upsert(table, record)?;
        self.touched.table(table);
        Ok(())
    }

    fn delete(&mut self, table: &str, id: &str) -> Result<bool, StoreError> {
        let existed = self.tx.delete(table, id)?;
        if existed {
            self.touched.table(table);
        }
        Ok(existed)
    }

    fn delete_matching(&mut self, table: &str, filter: Option<&Expr>) -> Result<u64, StoreError> {
        let n = self.tx.delete_matching(table, filter)?;
        if n > 0 {
            self.touched.table(table);
        }
        Ok(n)
    }

    fn enqueue(&mut self, op: NewOperation) -> Result<Operation, StoreError> {
        let op = self.tx.enqueue(op)?;
        self.touched.queue = true;
        Ok(op)
    }

    fn update_operation(&mut self, op: &Operation) -> Result<(), StoreError> {
        self.tx.update_operation(op)?;
        self.touched.queue = true;
        Ok(())
    }

    fn remove_operation(&mut self, id: u64) -> Result<bool, StoreError> {
        let existed = self.tx.remove_operation(id)?;
        self.touched.queue |= existed;
        Ok(existed)
    }

    fn set_operation_states(&mut self, ids: &[u64], state: OperationState) -> Result<u64, StoreError> {
        let found = self.tx.set_operation_states(ids, state)?;
        self.touched.queue |= found > 0;
        Ok(found)
    }

    fn remove_sent_operations(&mut self, sent: &[(u64, u64)]) -> Result<Vec<RemovedOperation>, StoreError> {
        let removed = self.tx.remove_sent_operations(sent)?;
        self.touched.queue |= !removed.is_empty();
        Ok(removed)
    }

    fn operation(&mut self, id: u64) -> Result<Option<Operation>, StoreError> {
        self.tx.operation(id)
    }

    fn operations(&mut self, filter: &OperationFilter) -> Result<Vec<Operation>, StoreError> {
        self.tx.operations(filter)
    }

    fn count_operations(&mut self, filter: &OperationFilter) -> Result<u64, StoreError> {
        self.tx.count_operations(filter)
    }

    fn put_error(&mut self, error: &OperationError) -> Result<(), StoreError> {
        self.tx.put_error(error)?;
        self.touched.queue = true;
        Ok(())
    }

    fn remove_error(&mut self, operation_id: u64) -> Result<bool, StoreError> {
        let existed = self.tx.remove_error(operation_id)?;
        self.touched.queue |= existed;
        Ok(existed)
    }

    fn errors(&mut self, table: Option<&str>) -> Result<Vec<OperationError>, StoreError> {
        self.tx.errors(table)
    }

    fn config(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        self.tx.config(key)
    }

    fn set_config(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.tx.set_config(key, value)
    }

    fn remove_config(&mut self, prefix: &str) -> Result<u64, StoreError> {
        self.tx.remove_config(prefix)
    }
}
