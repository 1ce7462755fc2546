//! The atomic units every store shares, built on [`Transaction`]: a local change (the item write
//! and its queued operation, collapsed by [`collapse_rule`]), a pulled page (its rows and the
//! cursor), a completed push.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::collapse::{collapse_rule, Collapse};
use crate::cursor::Cursor;
use crate::error::{CollapseError, StoreError};
use crate::operation::{NewOperation, Operation, OperationFilter, OperationKind, RemovedOperation};
use crate::record::Record;
use crate::row_page::RowPage;
use crate::schema::{system, TableSchema};
use crate::store::Transaction;

/// A change the app makes to its local table.
#[derive(Debug, Clone, PartialEq)]
pub enum LocalChange {
    /// Insert a new item (conformed with [`TableSchema::conform_local`]).
    Insert(Record),
    /// Replace an existing item's fields (system columns keep their stored values).
    Update(Record),
    /// Delete an item by id.
    Delete(String),
}

impl LocalChange {
    /// The operation kind of the change.
    pub fn kind(&self) -> OperationKind {
        match self {
            LocalChange::Insert(_) => OperationKind::Insert,
            LocalChange::Update(_) => OperationKind::Update,
            LocalChange::Delete(_) => OperationKind::Delete,
        }
    }

    fn id(&self) -> &str {
        match self {
            LocalChange::Insert(r) | LocalChange::Update(r) => r.id(),
            LocalChange::Delete(id) => id,
        }
    }
}

/// What a local change left behind.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalChangeOutcome {
    /// The stored item after the change (`None` after a delete).
    pub record: Option<Record>,
    /// The queued operation for the item after the change (`None` when it was cancelled out).
    pub operation: Option<Operation>,
}

/// Applies a local change and queues (or collapses) its operation, inside `tx`, so both commit
/// together. Server-owned columns are never taken from the app: an insert starts with them null,
/// an update keeps the stored ones.
pub fn apply_local_change(
    tx: &mut dyn Transaction,
    schema: &TableSchema,
    change: LocalChange,
) -> Result<LocalChangeOutcome, StoreError> {
    let table = schema.name();
    let id = change.id().to_owned();
    let kind = change.kind();
    let existing = tx.get(table, &id)?;
    // The item's own state explains a refusal best, so it is checked before the queue's.
    let stored = match (&change, existing) {
        (LocalChange::Insert(_), Some(_)) => return Err(StoreError::DuplicateId { table: table.to_owned(), id }),
        (LocalChange::Update(_) | LocalChange::Delete(_), None) => {
            return Err(StoreError::NotFound { table: table.to_owned(), id })
        }
        (_, stored) => stored,
    };
    let queued = newest_operation(tx, table, &id)?;
    let rule = collapse_rule(queued.as_ref().map(|op| (op.kind, op.state)), kind).map_err(|existing| {
        StoreError::Collapse(CollapseError { table: table.to_owned(), item_id: id.clone(), existing, new: kind })
    })?;

    let (record, snapshot) = match change {
        LocalChange::Insert(mut record) | LocalChange::Update(mut record) => {
            take_server_columns(table, &mut record, stored.as_ref())?;
            tx.upsert(table, &record)?;
            (Some(record), None)
        }
        LocalChange::Delete(_) => {
            tx.delete(table, &id)?;
            (None, stored)
        }
    };

    let operation = match (rule, queued) {
        (Collapse::Enqueue, _) | (_, None) => {
            Some(tx.enqueue(NewOperation { kind, table: table.to_owned(), item_id: id, item: snapshot })?)
        }
        (Collapse::Bump, Some(mut op)) => {
            op.version += 1;
            if op.kind == OperationKind::Update {
                // The app saved the whole item: an update queued before an upgrade added columns
                // now sends them too (see `upgrade_system_rows`).
                op.item = None;
            }
            tx.update_operation(&op)?;
            tx.remove_error(op.id)?;
            Some(op)
        }
        (Collapse::Cancel, Some(op)) => {
            tx.remove_operation(op.id)?;
            tx.remove_error(op.id)?;
            None
        }
        (Collapse::BecomeDelete, Some(mut op)) => {
            op.kind = OperationKind::Delete;
            op.item = snapshot;
            op.version += 1;
            tx.update_operation(&op)?;
            tx.remove_error(op.id)?;
            Some(op)
        }
    };
    Ok(LocalChangeOutcome { record, operation })
}

/// Applies many local changes in order, inside `tx`: the same as [`apply_local_change`] of each
/// in turn, the collapse rules included. New items with nothing queued (an import) take the
/// fast path: one lookup of the ids that exist and one of those queued, the rows written together
/// ([`Transaction::upsert_many`]) and the operations queued together
/// ([`Transaction::enqueue_many`]). Anything else goes change by change.
pub fn apply_local_changes(
    tx: &mut dyn Transaction,
    schema: &TableSchema,
    changes: Vec<LocalChange>,
) -> Result<Vec<LocalChangeOutcome>, StoreError> {
    let table = schema.name();
    let only_inserts = changes.iter().all(|c| matches!(c, LocalChange::Insert(_)));
    let distinct = {
        let mut seen = HashSet::with_capacity(changes.len());
        changes.iter().all(|c| seen.insert(c.id()))
    };
    let one_by_one = |tx: &mut dyn Transaction, changes: Vec<LocalChange>| {
        changes.into_iter().map(|c| apply_local_change(tx, schema, c)).collect()
    };
    if changes.len() < 2 || !only_inserts || !distinct {
        return one_by_one(tx, changes);
    }
    let (queued, duplicate) = {
        let ids: Vec<&str> = changes.iter().map(LocalChange::id).collect();
        let queued = !tx.queued_items(table, &ids)?.is_empty();
        let existing = tx.existing_ids(table, &ids)?;
        (queued, ids.into_iter().find(|id| existing.contains(*id)).map(str::to_owned))
    };
    // An insert over a queued operation (a delete not yet pushed) collapses: rare, so then the
    // whole batch goes one by one, which keeps the queue in the batch's order.
    if queued {
        return one_by_one(tx, changes);
    }
    if let Some(id) = duplicate {
        return Err(StoreError::DuplicateId { table: table.to_owned(), id });
    }
    let mut records = Vec::with_capacity(changes.len());
    for change in changes {
        let LocalChange::Insert(mut record) = change else { continue };
        take_server_columns(table, &mut record, None)?;
        records.push(record);
    }
    tx.upsert_many(table, &records.iter().collect::<Vec<_>>())?;
    let new_ops = records
        .iter()
        .map(|r| NewOperation {
            kind: OperationKind::Insert,
            table: table.to_owned(),
            item_id: r.id().to_owned(),
            item: None,
        })
        .collect();
    let operations = tx.enqueue_many(new_ops)?;
    Ok(records
        .into_iter()
        .zip(operations)
        .map(|(record, operation)| LocalChangeOutcome { record: Some(record), operation: Some(operation) })
        .collect())
}

/// Server-owned columns are never taken from the app: an insert (`stored` is `None`) starts
/// with them empty, an update keeps the stored ones.
fn take_server_columns(table: &str, record: &mut Record, stored: Option<&Record>) -> Result<(), StoreError> {
    for col in system::SERVER_OWNED {
        let value = match stored {
            Some(stored) => stored.get(col).cloned().unwrap_or(Value::Null),
            None if col == system::DELETED => Value::Bool(false),
            None => Value::Null,
        };
        record.set(col, value).map_err(|e| StoreError::record(table, e))?;
    }
    Ok(())
}

/// The newest queued operation of an item.
pub fn newest_operation(tx: &mut dyn Transaction, table: &str, id: &str) -> Result<Option<Operation>, StoreError> {
    Ok(tx.operations(&OperationFilter::item(table, id))?.pop())
}

/// Counts of what a pulled page did to the local table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageOutcome {
    /// Rows inserted or replaced.
    pub upserted: u64,
    /// Rows deleted because the server marked them deleted.
    pub deleted: u64,
    /// Rows left alone because the item has a queued local operation.
    pub skipped: u64,
}

/// Applies one pulled page (rows already conformed with [`TableSchema::conform_remote`]) and
/// saves the cursor of `(table, query id)`, inside `tx`, so both commit together. Items with a queued local operation are
/// not touched: the local edit wins until it is pushed.
pub fn apply_pull_page(
    tx: &mut dyn Transaction,
    table: &str,
    rows: &[Record],
    cursor: Option<(&str, &Cursor)>,
) -> Result<PageOutcome, StoreError> {
    let outcome = apply_rows(
        tx,
        table,
        rows.len(),
        |i| (rows[i].id(), rows[i].is_deleted()),
        |tx, batch| tx.upsert_many(table, &batch.iter().map(|&i| &rows[i]).collect::<Vec<_>>()),
    )?;
    if let Some((query_id, cursor)) = cursor {
        cursor.save(tx, table, query_id)?;
    }
    Ok(outcome)
}

/// [`apply_pull_page`] for the rows at indexes `rows` of a conformed [`RowPage`], with the
/// page's fields bound as they are ([`Transaction::upsert_rows`]).
pub(crate) fn apply_pull_rows(
    tx: &mut dyn Transaction,
    table: &str,
    page: &RowPage,
    rows: &[usize],
) -> Result<PageOutcome, StoreError> {
    apply_rows(
        tx,
        table,
        rows.len(),
        |k| (page.id(rows[k]), page.is_deleted(rows[k])),
        |tx, batch| tx.upsert_rows(table, page, &batch.iter().map(|&k| rows[k]).collect::<Vec<_>>()),
    )
}

/// The rules of a pulled page, whatever holds its rows (`row(i)` gives row `i`'s id and whether
/// it is soft-deleted): a row whose item has a queued local change is skipped, a soft-deleted one
/// deletes the item, the rest are upserted together (`upsert` of their indexes); a row whose id
/// is already in the batch (a server that sends one twice) writes the batch first, so the later
/// row wins as it would one by one.
fn apply_rows<'r>(
    tx: &mut dyn Transaction,
    table: &str,
    len: usize,
    row: impl Fn(usize) -> (&'r str, bool),
    mut upsert: impl FnMut(&mut dyn Transaction, &[usize]) -> Result<(), StoreError>,
) -> Result<PageOutcome, StoreError> {
    let mut outcome = PageOutcome::default();
    // Usually a pull follows a push and nothing of the table is queued: then no row needs a look
    // at the queue.
    let queue_empty = tx.count_operations(&OperationFilter::table(table))? == 0;
    let mut batch: Vec<usize> = Vec::with_capacity(len);
    let mut batched: HashSet<&str> = HashSet::with_capacity(len);
    for i in 0..len {
        let (id, deleted) = row(i);
        if batched.contains(id) {
            upsert(tx, &batch)?;
            batch.clear();
            batched.clear();
        }
        if !queue_empty && tx.count_operations(&OperationFilter::item(table, id))? > 0 {
            outcome.skipped += 1;
        } else if deleted {
            tx.delete(table, id)?;
            outcome.deleted += 1;
        } else {
            batch.push(i);
            batched.insert(id);
            outcome.upserted += 1;
        }
    }
    upsert(tx, &batch)?;
    Ok(outcome)
}

/// Finishes a successful push of operation `op_id`, sent at edit counter `sent_version`: removes
/// it (and its error row) and stores the server's item (conformed). When a newer local change to
/// the item was queued meanwhile, the user's fields are kept and only the server's
/// `createdAt`/`updatedAt`/`version` are taken, so the next push carries the right `If-Match`
/// instead of raising a false conflict.
///
/// Nothing that changed after the operation was sent is removed or overwritten: if the
/// operation's own edit counter moved on (a change collapsed into it after it was sent, which the
/// push lock and the in-flight rule should make impossible), it stays queued, as pending, with
/// the server's version adopted, and is sent again.
pub fn complete_operation(
    tx: &mut dyn Transaction,
    op_id: u64,
    sent_version: u64,
    server_item: Option<&Record>,
) -> Result<(), StoreError> {
    let Some(mut op) = tx.operation(op_id)? else { return Ok(()) };
    if op.version != sent_version {
        if let Some(server) = server_item {
            adopt_into_stored_item(tx, &op.table, &op.item_id, server)?;
            if let Some(snapshot) = op.item.as_mut() {
                adopt_server_columns(snapshot, server).map_err(|e| StoreError::record(&op.table, e))?;
            }
            if op.kind == OperationKind::Insert {
                // The server has the item now: what is left to send is an update over its version.
                op.kind = OperationKind::Update;
            }
        }
        op.state = crate::operation::OperationState::Pending;
        return tx.update_operation(&op);
    }
    tx.remove_operation(op.id)?;
    tx.remove_error(op.id)?;
    let Some(server) = server_item.filter(|_| op.kind != OperationKind::Delete) else { return Ok(()) };
    store_answer(tx, &op.table, &op.item_id, server)
}

/// Stores the server's item of a completed operation: as it is when nothing else is queued for
/// the item, else only its system columns, into the item and its queued operations.
fn store_answer(tx: &mut dyn Transaction, table: &str, id: &str, server: &Record) -> Result<(), StoreError> {
    if tx.count_operations(&OperationFilter::item(table, id))? == 0 {
        return tx.upsert(table, server);
    }
    adopt_into_item_and_later_operations(tx, table, id, server)
}

/// A successful push to finish with [`complete_operations`]: the operation, the edit counter it
/// was sent at, and the server's item (conformed; `None` for a delete).
#[derive(Debug, Clone, Copy)]
pub struct Completion<'a> {
    /// The operation's id.
    pub op_id: u64,
    /// Its edit counter when it was sent.
    pub sent_version: u64,
    /// The server's answer.
    pub server_item: Option<&'a Record>,
}

/// [`complete_operation`] of each completion in turn, with the same result, in fewer statements:
/// the operations still at the edit counter they were sent at are removed with one
/// [`Transaction::remove_sent_operations`], the server's items of a table go to the store in one
/// [`Transaction::upsert_many`], and the items that still have queued operations are found with
/// one [`Transaction::queued_items`] per table instead of a listing per item. A push finishes a
/// whole `$batch` group here.
///
/// Completions of one item are finished one by one, in order (a group never has two, but the
/// result must not depend on that), and so is an operation changed since it was sent.
///
/// ```
/// # use sync_core::backend::{complete_operations, Completion, Transaction, StoreError};
/// # fn demo(tx: &mut dyn Transaction, sent: &[(u64, u64)]) -> Result<(), StoreError> {
/// let done: Vec<Completion> =
///     sent.iter().map(|&(op_id, sent_version)| Completion { op_id, sent_version, server_item: None }).collect();
/// complete_operations(tx, &done)
/// # }
/// ```
pub fn complete_operations(tx: &mut dyn Transaction, completions: &[Completion<'_>]) -> Result<(), StoreError> {
    let sent: Vec<(u64, u64)> = completions.iter().map(|c| (c.op_id, c.sent_version)).collect();
    let mut removed: HashMap<u64, RemovedOperation> =
        tx.remove_sent_operations(&sent)?.into_iter().map(|op| (op.id, op)).collect();
    // Each completion, in order, as it was found.
    let mut done: Vec<(&Completion<'_>, Found<'_>)> = Vec::with_capacity(completions.len());
    for c in completions {
        let found = match removed.remove(&c.op_id) {
            Some(op) => {
                let server = c.server_item.filter(|_| op.kind != OperationKind::Delete);
                Found::Removed(op, server)
            }
            None => Found::Left(tx.operation(c.op_id)?.map(|op| (op.table, op.item_id))),
        };
        done.push((c, found));
    }
    let mut per_item: HashMap<(&str, &str), usize> = HashMap::with_capacity(done.len());
    for key in done.iter().filter_map(|(_, found)| found.item()) {
        *per_item.entry(key).or_default() += 1;
    }
    // Removed, and the only completion of its item: finished together, set-based. The rest (an
    // item of more than one completion, or of an operation not removed) one by one, below.
    let together: Vec<bool> = done
        .iter()
        .map(|(_, found)| {
            matches!(found, Found::Removed(..)) && found.item().and_then(|k| per_item.get(&k)) == Some(&1)
        })
        .collect();
    let answered: Vec<(&RemovedOperation, &Record)> = done
        .iter()
        .zip(&together)
        .filter(|(_, together)| **together)
        .filter_map(|((_, found), _)| match found {
            Found::Removed(op, Some(server)) => Some((op, *server)),
            _ => None,
        })
        .collect();
    let mut tables: Vec<&str> = answered.iter().map(|(op, _)| op.table.as_str()).collect();
    tables.sort_unstable();
    tables.dedup();
    for table in tables {
        let of_table: Vec<(&str, &Record)> = answered
            .iter()
            .filter(|(op, _)| op.table == table)
            .map(|(op, server)| (op.item_id.as_str(), *server))
            .collect();
        let ids: Vec<&str> = of_table.iter().map(|(id, _)| *id).collect();
        let queued = tx.queued_items(table, &ids)?;
        let free: Vec<&Record> =
            of_table.iter().filter(|(id, _)| !queued.contains(*id)).map(|(_, server)| *server).collect();
        tx.upsert_many(table, &free)?;
        for (id, server) in of_table.iter().filter(|(id, _)| queued.contains(*id)) {
            adopt_into_item_and_later_operations(tx, table, id, server)?;
        }
    }
    // The rest one by one, in order (no other completion touches their items): removed ones store
    // their answers, the others finish as `complete_operation` does (an operation changed since
    // it was sent stays queued; one that is gone has nothing left to do).
    for ((c, found), together) in done.iter().zip(together) {
        match found {
            Found::Removed(..) if together => {}
            Found::Removed(_, None) => {}
            Found::Removed(op, Some(server)) => store_answer(tx, &op.table, &op.item_id, server)?,
            Found::Left(_) => complete_operation(tx, c.op_id, c.sent_version, c.server_item)?,
        }
    }
    Ok(())
}

/// What [`complete_operations`] found of a completion's operation.
enum Found<'a> {
    /// Removed by [`Transaction::remove_sent_operations`], with the server's item to store
    /// (`None` for a delete).
    Removed(RemovedOperation, Option<&'a Record>),
    /// Not removed: changed since it was sent (its table and item), or gone (`None`).
    Left(Option<(String, String)>),
}

impl Found<'_> {
    /// The table and item of the operation, unless it is gone.
    fn item(&self) -> Option<(&str, &str)> {
        match self {
            Found::Removed(op, _) => Some((op.table.as_str(), op.item_id.as_str())),
            Found::Left(key) => key.as_ref().map(|(table, id)| (table.as_str(), id.as_str())),
        }
    }
}

/// The server's system columns into the stored item and into the snapshots of the item's
/// queued operations, their user fields kept (a newer local change is queued behind the push).
fn adopt_into_item_and_later_operations(
    tx: &mut dyn Transaction,
    table: &str,
    id: &str,
    server: &Record,
) -> Result<(), StoreError> {
    adopt_into_stored_item(tx, table, id, server)?;
    for mut later_op in tx.operations(&OperationFilter::item(table, id))? {
        if let Some(snapshot) = later_op.item.as_mut() {
            adopt_server_columns(snapshot, server).map_err(|e| StoreError::record(table, e))?;
            tx.update_operation(&later_op)?;
        }
    }
    Ok(())
}

/// Gives the stored item the server's `createdAt`/`updatedAt`/`version`, keeping its own fields.
fn adopt_into_stored_item(tx: &mut dyn Transaction, table: &str, id: &str, server: &Record) -> Result<(), StoreError> {
    if let Some(mut local) = tx.get(table, id)? {
        adopt_server_columns(&mut local, server).map_err(|e| StoreError::record(table, e))?;
        tx.upsert(table, &local)?;
    }
    Ok(())
}

/// Copies the server-owned columns (but `deleted`) from `server` into `local`.
pub fn adopt_server_columns(local: &mut Record, server: &Record) -> Result<(), crate::error::RecordError> {
    for col in [system::CREATED_AT, system::UPDATED_AT, system::VERSION] {
        local.set(col, server.get(col).cloned().unwrap_or(Value::Null))?;
    }
    Ok(())
}
