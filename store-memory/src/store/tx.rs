//! [`MemoryTransaction`]: the [`Transaction`] a memory store runs work in. Every write records how
//! to undo itself, so an aborted transaction puts the state back exactly.

use sync_core::backend::run_query;
use sync_core::backend::{resolve_query, NewOperation, OperationFilter, StoreError, Transaction};
use sync_core::{Expr, Operation, OperationError, Query, Record};

use super::lookup;
use super::state::{State, Undo, OPERATIONS_TABLE};

/// A transaction over the locked state, with its undo log.
pub(super) struct MemoryTransaction<'a> {
    state: &'a mut State,
    undo: Vec<Undo>,
}

impl<'a> MemoryTransaction<'a> {
    pub(super) fn new(state: &'a mut State) -> Self {
        MemoryTransaction { state, undo: Vec::new() }
    }

    /// Keeps the writes.
    pub(super) fn commit(self) {}

    /// Puts back every write.
    pub(super) fn roll_back(self) {
        self.state.roll_back(self.undo);
    }
}

impl Transaction for MemoryTransaction<'_> {
    fn get(&mut self, table: &str, id: &str) -> Result<Option<Record>, StoreError> {
        Ok(self.state.table(table)?.rows.get(id).cloned())
    }

    fn upsert(&mut self, table: &str, record: &Record) -> Result<(), StoreError> {
        let t = self.state.table_mut(table)?;
        // Stored rows are always canonical: every column present, values of the column's type.
        let row = if t.schema.is_conformed(record) {
            record.clone()
        } else {
            t.schema.conform_local(record.clone()).map_err(|e| StoreError::record(table, e))?
        };
        let id = row.id().to_owned();
        let previous = t.rows.insert(id.clone(), row);
        self.undo.push(Undo::Row { table: table.to_owned(), id, previous });
        Ok(())
    }

    fn delete(&mut self, table: &str, id: &str) -> Result<bool, StoreError> {
        let previous = self.state.table_mut(table)?.rows.remove(id);
        let existed = previous.is_some();
        if existed {
            self.undo.push(Undo::Row { table: table.to_owned(), id: id.to_owned(), previous });
        }
        Ok(existed)
    }

    fn rows(&mut self, table: &str, after: Option<&str>, limit: usize) -> Result<Vec<Record>, StoreError> {
        use std::ops::Bound::{Excluded, Unbounded};
        let rows = &self.state.table(table)?.rows;
        let range = match after {
            Some(after) => rows.range::<str, _>((Excluded(after), Unbounded)),
            None => rows.range::<str, _>((Unbounded, Unbounded)),
        };
        Ok(range.take(limit).map(|(_, r)| r.clone()).collect())
    }

    fn delete_matching(&mut self, table: &str, filter: Option<&Expr>) -> Result<u64, StoreError> {
        let t = self.state.table_mut(table)?;
        let query = Query { filter: filter.cloned(), ..Query::default() };
        // Soft-deleted rows too, and only their ids: run_query gives the matching rows with the
        // same lookups and prepared filter as a query.
        let resolved = Query { include_deleted: true, select: Some(Vec::new()), ..resolve_query(&query, &t.schema)? };
        let doomed: Vec<String> = match &resolved.filter {
            None => t.rows.keys().cloned().collect(),
            Some(f) => run_query(lookup::candidates(t, Some(f)), &resolved)
                .items
                .into_iter()
                .map(|r| r.id().to_owned())
                .collect(),
        };
        for id in &doomed {
            let previous = t.rows.remove(id);
            self.undo.push(Undo::Row { table: table.to_owned(), id: id.clone(), previous });
        }
        Ok(doomed.len() as u64)
    }

    fn enqueue(&mut self, op: NewOperation) -> Result<Operation, StoreError> {
        let id = self.state.next_op_id()?;
        let op = op.into_operation(id);
        let previous = self.state.set_op(id, Some(op.clone()));
        self.undo.push(Undo::Op { id, previous });
        Ok(op)
    }

    fn update_operation(&mut self, op: &Operation) -> Result<(), StoreError> {
        if self.state.op(op.id).is_none() {
            return Err(StoreError::NotFound { table: OPERATIONS_TABLE.to_owned(), id: op.id.to_string() });
        }
        let previous = self.state.set_op(op.id, Some(op.clone()));
        self.undo.push(Undo::Op { id: op.id, previous });
        Ok(())
    }

    fn remove_operation(&mut self, id: u64) -> Result<bool, StoreError> {
        let previous = self.state.set_op(id, None);
        let existed = previous.is_some();
        if existed {
            self.undo.push(Undo::Op { id, previous });
        }
        Ok(existed)
    }

    fn operation(&mut self, id: u64) -> Result<Option<Operation>, StoreError> {
        Ok(self.state.op(id).cloned())
    }

    fn operations(&mut self, filter: &OperationFilter) -> Result<Vec<Operation>, StoreError> {
        let limit = filter.limit.unwrap_or(usize::MAX);
        Ok(self.state.ops_matching(filter).take(limit).cloned().collect())
    }

    fn count_operations(&mut self, filter: &OperationFilter) -> Result<u64, StoreError> {
        Ok(self.state.count_matching(filter))
    }

    fn put_error(&mut self, error: &OperationError) -> Result<(), StoreError> {
        let id = error.operation_id;
        let previous = self.state.errors.insert(id, error.clone());
        self.undo.push(Undo::Error { id, previous });
        Ok(())
    }

    fn remove_error(&mut self, operation_id: u64) -> Result<bool, StoreError> {
        let previous = self.state.errors.remove(&operation_id);
        let existed = previous.is_some();
        if existed {
            self.undo.push(Undo::Error { id: operation_id, previous });
        }
        Ok(existed)
    }

    fn errors(&mut self, table: Option<&str>) -> Result<Vec<OperationError>, StoreError> {
        Ok(self.state.errors.values().filter(|e| table.is_none_or(|t| e.table == t)).cloned().collect())
    }

    fn config(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.state.config.get(key).cloned())
    }

    fn set_config(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        let previous = self.state.config.insert(key.to_owned(), value.to_owned());
        self.undo.push(Undo::Config { key: key.to_owned(), previous });
        Ok(())
    }

    fn remove_config(&mut self, prefix: &str) -> Result<u64, StoreError> {
        let keys: Vec<String> = self
            .state
            .config
            .range(prefix.to_owned()..)
            .map(|(k, _)| k)
            .take_while(|k| k.starts_with(prefix))
            .cloned()
            .collect();
        for key in &keys {
            let previous = self.state.config.remove(key);
            self.undo.push(Undo::Config { key: key.clone(), previous });
        }
        Ok(keys.len() as u64)
    }
}
