//! The data behind a [`MemoryStore`](super::MemoryStore): tables, the operation queue with its
//! per-item index, the errors and config tables, and the undo log that makes transactions atomic.

use std::collections::{BTreeMap, BTreeSet};

use sync_core::backend::{OperationFilter, StoreError};
use sync_core::{Operation, OperationError, Record, TableSchema};

/// The name used for the operation queue in [`StoreError::NotFound`].
pub(super) const OPERATIONS_TABLE: &str = "__operations";

/// One synced table: its schema and its rows by id.
#[derive(Debug, Clone)]
pub(super) struct Table {
    pub(super) schema: TableSchema,
    pub(super) rows: BTreeMap<String, Record>,
}

/// Everything a memory store holds.
#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) tables: BTreeMap<String, Table>,
    /// The queue, by id (= queue position).
    ops: BTreeMap<u64, Operation>,
    /// table → item id → ids of its queued operations, so per-item lookups are O(log n).
    op_index: BTreeMap<String, BTreeMap<String, BTreeSet<u64>>>,
    pub(super) errors: BTreeMap<u64, OperationError>,
    pub(super) config: BTreeMap<String, String>,
    /// The last id handed out; never goes back, not even when a transaction rolls back.
    last_op_id: u64,
}

/// How to put back one entry a transaction wrote.
#[derive(Debug)]
pub(super) enum Undo {
    /// Restore a row (`None`: the row did not exist).
    Row { table: String, id: String, previous: Option<Record> },
    /// Restore an operation.
    Op { id: u64, previous: Option<Operation> },
    /// Restore an error row.
    Error { id: u64, previous: Option<OperationError> },
    /// Restore a config value.
    Config { key: String, previous: Option<String> },
}

impl State {
    /// The table, or [`StoreError::UnknownTable`].
    pub(super) fn table(&self, name: &str) -> Result<&Table, StoreError> {
        self.tables.get(name).ok_or_else(|| StoreError::UnknownTable(name.to_owned()))
    }

    /// The table, mutably, or [`StoreError::UnknownTable`].
    pub(super) fn table_mut(&mut self, name: &str) -> Result<&mut Table, StoreError> {
        self.tables.get_mut(name).ok_or_else(|| StoreError::UnknownTable(name.to_owned()))
    }

    /// The next operation id.
    pub(super) fn next_op_id(&mut self) -> Result<u64, StoreError> {
        let id = self.last_op_id.checked_add(1).ok_or_else(|| StoreError::Backend {
            message: "the memory store ran out of operation ids".into(),
            source: None,
        })?;
        self.last_op_id = id;
        Ok(id)
    }

    /// One operation by id.
    pub(super) fn op(&self, id: u64) -> Option<&Operation> {
        self.ops.get(&id)
    }

    /// Puts `op` at `id` (or removes the operation when `None`), keeping the index in step, and
    /// returns what was there.
    pub(super) fn set_op(&mut self, id: u64, op: Option<Operation>) -> Option<Operation> {
        let previous = self.ops.remove(&id);
        if let Some(old) = &previous {
            self.unindex(old);
        }
        if let Some(op) = op {
            self.op_index.entry(op.table.clone()).or_default().entry(op.item_id.clone()).or_default().insert(id);
            self.ops.insert(id, op);
        }
        previous
    }

    fn unindex(&mut self, op: &Operation) {
        let Some(items) = self.op_index.get_mut(&op.table) else { return };
        if let Some(ids) = items.get_mut(&op.item_id) {
            ids.remove(&op.id);
            if ids.is_empty() {
                items.remove(&op.item_id);
            }
        }
        if items.is_empty() {
            self.op_index.remove(&op.table);
        }
    }

    /// The operations passing `filter` (ignoring `limit`), lowest id first. With a table list and
    /// an item, only the index is read; otherwise the queue is scanned from `after`.
    pub(super) fn ops_matching<'a>(
        &'a self,
        filter: &'a OperationFilter,
    ) -> Box<dyn Iterator<Item = &'a Operation> + 'a> {
        let after = filter.after.unwrap_or(0);
        match (&filter.tables, &filter.item_id) {
            (Some(tables), Some(item)) => {
                let mut ids: Vec<u64> = tables
                    .iter()
                    .filter_map(|t| self.op_index.get(t.as_str())?.get(item.as_str()))
                    .flat_map(|ids| ids.range(after.saturating_add(1)..).copied())
                    .collect();
                if tables.len() > 1 {
                    ids.sort_unstable();
                    ids.dedup();
                }
                Box::new(ids.into_iter().filter_map(|id| self.ops.get(&id)))
            }
            _ => match after.checked_add(1) {
                Some(from) => Box::new(self.ops.range(from..).map(|(_, op)| op).filter(|op| filter.accepts(op))),
                None => Box::new(std::iter::empty()),
            },
        }
    }

    /// Puts back what an aborted transaction wrote, newest write first.
    pub(super) fn roll_back(&mut self, undo: Vec<Undo>) {
        for entry in undo.into_iter().rev() {
            match entry {
                Undo::Row { table, id, previous } => {
                    if let Some(t) = self.tables.get_mut(&table) {
                        match previous {
                            Some(row) => t.rows.insert(id, row),
                            None => t.rows.remove(&id),
                        };
                    }
                }
                Undo::Op { id, previous } => {
                    self.set_op(id, previous);
                }
                Undo::Error { id, previous } => {
                    match previous {
                        Some(e) => self.errors.insert(id, e),
                        None => self.errors.remove(&id),
                    };
                }
                Undo::Config { key, previous } => {
                    match previous {
                        Some(v) => self.config.insert(key, v),
                        None => self.config.remove(&key),
                    };
                }
            }
        }
    }

    /// How many operations are queued.
    pub(super) fn op_count(&self) -> usize {
        self.ops.len()
    }
}

/// Why `new` cannot replace `old`, if it cannot: the stored table may only gain nullable columns.
pub(super) fn incompatibility(old: &TableSchema, new: &TableSchema) -> Option<String> {
    for col in old.columns() {
        match new.column(&col.name) {
            None => return Some(format!("column {:?} is missing from the new schema", col.name)),
            Some(c) if c.ty != col.ty => {
                return Some(format!("column {:?} changed from {} to {}", col.name, col.ty.name(), c.ty.name()))
            }
            Some(c) if c.nullable != col.nullable => {
                let how = if c.nullable { "nullable" } else { "non-null" };
                return Some(format!("column {:?} changed to {how}", col.name));
            }
            Some(_) => {}
        }
    }
    new.columns()
        .iter()
        .find(|c| !c.nullable && old.column(&c.name).is_none())
        .map(|c| format!("new column {:?} is not nullable; only nullable columns can be added", c.name))
}
