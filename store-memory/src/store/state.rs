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
    /// Columns kept that the schema no longer has (see `evolve`).
    pub(super) retained: Vec<sync_core::Column>,
    /// Their values, by row id (rows without any are left out).
    pub(super) retained_values: BTreeMap<String, super::evolve::RetainedValues>,
}

/// Everything a memory store holds.
#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) tables: BTreeMap<String, Table>,
    /// The queue, by id (= queue position).
    ops: BTreeMap<u64, Operation>,
    /// Each table's queued operations, so counts and per-table and per-item lookups never scan
    /// the whole queue. Kept in step by [`State::set_op`], the only writer of `ops` (rollbacks
    /// go through it too).
    op_index: BTreeMap<String, TableOps>,
    pub(super) errors: BTreeMap<u64, OperationError>,
    pub(super) config: BTreeMap<String, String>,
    /// The last id handed out; never goes back, not even when a transaction rolls back.
    last_op_id: u64,
}

/// The queued operations of one table.
#[derive(Debug, Default)]
struct TableOps {
    /// Their ids, in queue order.
    ids: BTreeSet<u64>,
    /// Item id → the ids of its operations.
    by_item: BTreeMap<String, BTreeSet<u64>>,
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
            self.unindex(id, old);
        }
        if let Some(op) = op {
            let table = self.op_index.entry(op.table.clone()).or_default();
            table.ids.insert(id);
            table.by_item.entry(op.item_id.clone()).or_default().insert(id);
            self.ops.insert(id, op);
        }
        previous
    }

    fn unindex(&mut self, id: u64, op: &Operation) {
        let Some(table) = self.op_index.get_mut(&op.table) else { return };
        table.ids.remove(&id);
        if let Some(ids) = table.by_item.get_mut(&op.item_id) {
            ids.remove(&id);
            if ids.is_empty() {
                table.by_item.remove(&op.item_id);
            }
        }
        if table.ids.is_empty() {
            self.op_index.remove(&op.table);
        }
    }

    /// The ids of the operations passing `filter` (ignoring `limit`), lowest first, from the
    /// index when the filter names its tables; `None` when the filter must scan the queue.
    fn indexed_ids<'a>(&'a self, filter: &'a OperationFilter) -> Option<Box<dyn Iterator<Item = u64> + 'a>> {
        let tables = filter.tables.as_ref()?;
        let from = filter.after.map_or(Some(0), |after| after.checked_add(1));
        let Some(from) = from else { return Some(Box::new(std::iter::empty())) };
        let mut names: Vec<&str> = tables.iter().map(String::as_str).collect();
        names.sort_unstable();
        names.dedup();
        let sets = names.into_iter().filter_map(|t| self.op_index.get(t)).filter_map(|t| match &filter.item_id {
            Some(item) => t.by_item.get(item.as_str()),
            None => Some(&t.ids),
        });
        let mut ranges: Vec<_> = sets.map(|ids| ids.range(from..).copied().peekable()).collect();
        Some(match ranges.len() {
            0 => Box::new(std::iter::empty()),
            1 => Box::new(ranges.pop().into_iter().flatten()),
            _ => Box::new(Merge(ranges)),
        })
    }

    /// The operations passing `filter` (ignoring `limit`), lowest id first. With a table list,
    /// only the index is read; otherwise the queue is scanned from `after`.
    pub(super) fn ops_matching<'a>(
        &'a self,
        filter: &'a OperationFilter,
    ) -> Box<dyn Iterator<Item = &'a Operation> + 'a> {
        if let Some(ids) = self.indexed_ids(filter) {
            return Box::new(ids.filter_map(|id| self.ops.get(&id)));
        }
        match filter.after.unwrap_or(0).checked_add(1) {
            Some(from) => Box::new(self.ops.range(from..).map(|(_, op)| op).filter(|op| filter.accepts(op))),
            None => Box::new(std::iter::empty()),
        }
    }

    /// How many operations pass `filter` (ignoring `limit`): a table's or an item's count is the
    /// size of its index entry, read without touching the operations.
    pub(super) fn count_matching(&self, filter: &OperationFilter) -> u64 {
        match (&filter.tables, &filter.item_id, filter.after) {
            (Some(tables), item, None) => {
                let mut names: Vec<&str> = tables.iter().map(String::as_str).collect();
                names.sort_unstable();
                names.dedup();
                let counts = names.into_iter().filter_map(|t| self.op_index.get(t)).map(|t| match item {
                    Some(item) => t.by_item.get(item.as_str()).map_or(0, BTreeSet::len),
                    None => t.ids.len(),
                });
                counts.sum::<usize>() as u64
            }
            _ => self.ops_matching(filter).count() as u64,
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

/// Merges ascending id sequences (of distinct tables, so no id is in two) into one.
struct Merge<I: Iterator<Item = u64>>(Vec<std::iter::Peekable<I>>);

impl<I: Iterator<Item = u64>> Iterator for Merge<I> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        // A handful of tables at most: picking the smallest head each time is cheapest.
        let next = self.0.iter_mut().enumerate().filter_map(|(i, it)| it.peek().map(|id| (*id, i))).min()?;
        self.0[next.1].next()
    }
}
