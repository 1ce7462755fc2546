//! The system tables' statements: the operation queue (`__operations`), failed operations
//! (`__errors`) and engine state (`__config`). Fixed SQL text, values as parameters.

use std::collections::HashSet;

use sync_core::backend::{NewOperation, OperationFilter, RemovedOperation, StoreError};
use sync_core::{FailureKind, Operation, OperationError, OperationKind, OperationState, Record};

use crate::connection::Db;
use crate::error::{corrupt, db};
use crate::statement::{fixed_sql, placeholders, statement_chunks, Cell, Param, SqlRow, Stmt, MAX_ROWS_PER_STATEMENT};

const OPERATIONS: &str = "__operations";
const ERRORS: &str = "__errors";

macro_rules! op_columns {
    () => {
        "SELECT \"id\", \"kind\", \"tableName\", \"itemId\", \"state\", \"version\", \"item\" FROM \"__operations\""
    };
}
macro_rules! error_columns {
    () => {
        "SELECT \"operationId\", \"operationVersion\", \"kind\", \"tableName\", \"itemId\", \"failure\", \"status\", \
         \"message\", \"item\", \"serverItem\" FROM \"__errors\""
    };
}

fixed_sql! {
    Enqueue = "INSERT INTO \"__operations\" (\"kind\", \"tableName\", \"itemId\", \"state\", \"version\", \"item\") \
               VALUES (?, ?, ?, ?, 1, ?)";
    LastId = "SELECT last_insert_rowid()";
    UpdateOp = "UPDATE \"__operations\" SET \"kind\" = ?, \"tableName\" = ?, \"itemId\" = ?, \"state\" = ?, \
                \"version\" = ?, \"item\" = ? WHERE \"id\" = ?";
    RemoveOp = "DELETE FROM \"__operations\" WHERE \"id\" = ?";
    OpById = concat!(op_columns!(), " WHERE \"id\" = ?");
    OpsAll = concat!(op_columns!(), " ORDER BY \"id\"");
    OpsOfItem = concat!(op_columns!(), " WHERE \"tableName\" = ? AND \"itemId\" = ? ORDER BY \"id\"");
    CountAll = "SELECT count(*) FROM \"__operations\"";
    CountOfItem = "SELECT count(*) FROM \"__operations\" WHERE \"tableName\" = ? AND \"itemId\" = ?";
    PutError = "INSERT OR REPLACE INTO \"__errors\" (\"operationId\", \"operationVersion\", \"kind\", \"tableName\", \
                \"itemId\", \"failure\", \"status\", \"message\", \"item\", \"serverItem\") \
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    RemoveError = "DELETE FROM \"__errors\" WHERE \"operationId\" = ?";
    ErrorsAll = concat!(error_columns!(), " ORDER BY \"operationId\"");
    ErrorsOfTable = concat!(error_columns!(), " WHERE \"tableName\" = ? ORDER BY \"operationId\"");
    GetConfig = "SELECT \"value\" FROM \"__config\" WHERE \"key\" = ?";
    SetConfig = "INSERT INTO \"__config\" (\"key\", \"value\") VALUES (?, ?) \
                 ON CONFLICT (\"key\") DO UPDATE SET \"value\" = excluded.\"value\"";
    RemoveConfig = "DELETE FROM \"__config\" \
                    WHERE substr(CAST(\"key\" AS BLOB), 1, length(CAST(? AS BLOB))) = CAST(? AS BLOB)";
}

/// A `u64` counter stored as SQLite's signed 64-bit integer.
fn to_i64(table: &str, what: &str, v: u64) -> Result<i64, StoreError> {
    i64::try_from(v)
        .map_err(|_| StoreError::Backend { message: format!("{table}: {what} {v} exceeds 2^63-1"), source: None })
}

fn json(table: &str, record: Option<&Record>) -> Result<Option<String>, StoreError> {
    record
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::backend(format!("{table}: encoding an item snapshot"), e))
}

fn parse_record(table: &str, text: Option<String>) -> Result<Option<Record>, StoreError> {
    text.map(|t| serde_json::from_str::<Record>(&t))
        .transpose()
        .map_err(|e| corrupt(table, format!("an item snapshot does not parse: {e}")))
}

/// Cells of one row, read in order with typed accessors.
struct Cells {
    table: &'static str,
    cells: std::vec::IntoIter<Cell>,
}

impl Cells {
    fn new(table: &'static str, row: SqlRow) -> Self {
        Cells { table, cells: row.0.into_iter() }
    }

    fn next(&mut self) -> Result<Cell, StoreError> {
        self.cells.next().ok_or_else(|| corrupt(self.table, "a row is too short"))
    }

    fn int(&mut self, what: &str) -> Result<i64, StoreError> {
        self.next()?.as_i64().ok_or_else(|| corrupt(self.table, format!("{what} is not an integer")))
    }

    fn uint(&mut self, what: &str) -> Result<u64, StoreError> {
        let i = self.int(what)?;
        u64::try_from(i).map_err(|_| corrupt(self.table, format!("{what} is negative")))
    }

    fn text(&mut self, what: &str) -> Result<String, StoreError> {
        self.next()?.into_text().ok_or_else(|| corrupt(self.table, format!("{what} is not text")))
    }

    fn opt_text(&mut self, what: &str) -> Result<Option<String>, StoreError> {
        self.next()?.into_opt_text().map_err(|e| corrupt(self.table, format!("{what}: {e}")))
    }

    fn kind(&mut self) -> Result<OperationKind, StoreError> {
        let code = self.int("kind")?;
        OperationKind::from_code(code).ok_or_else(|| corrupt(self.table, format!("unknown operation kind {code}")))
    }
}

fn operation_from_row(row: SqlRow) -> Result<Operation, StoreError> {
    let mut c = Cells::new(OPERATIONS, row);
    let id = c.uint("id")?;
    let kind = c.kind()?;
    let table = c.text("tableName")?;
    let item_id = c.text("itemId")?;
    let state_code = c.int("state")?;
    let state = OperationState::from_code(state_code)
        .ok_or_else(|| corrupt(OPERATIONS, format!("unknown operation state {state_code}")))?;
    let version = c.uint("version")?;
    let item = parse_record(OPERATIONS, c.opt_text("item")?)?;
    Ok(Operation { id, kind, table, item_id, state, version, item })
}

/// The `WHERE` clause (and parameters) of an operation filter; `limit` is left to the caller.
fn filter_clause(filter: &OperationFilter) -> (String, Vec<Param<'_>>) {
    let mut terms: Vec<String> = Vec::new();
    let mut params = Vec::new();
    if let Some(tables) = &filter.tables {
        match tables.as_slice() {
            [] => terms.push("0".into()),
            [one] => {
                terms.push("\"tableName\" = ?".into());
                params.push(Param::text(one));
            }
            many => {
                terms.push(format!("\"tableName\" IN ({})", placeholders(many.len())));
                params.extend(many.iter().map(|t| Param::text(t)));
            }
        }
    }
    if let Some(id) = &filter.item_id {
        terms.push("\"itemId\" = ?".into());
        params.push(Param::text(id));
    }
    if let Some(after) = filter.after {
        terms.push("\"id\" > ?".into());
        // Ids never exceed i64::MAX, so "after" anything larger matches nothing.
        params.push(Param::Integer(i64::try_from(after).unwrap_or(i64::MAX)));
    }
    let clause = if terms.is_empty() { String::new() } else { format!(" WHERE {}", terms.join(" AND ")) };
    (clause, params)
}

/// Appends an operation (state pending, version 1) and returns it with the id SQLite assigned.
pub(crate) fn enqueue(conn: &mut Db, op: NewOperation) -> Result<Operation, StoreError> {
    let item = json(OPERATIONS, op.item.as_ref())?;
    conn.execute(Stmt::<Enqueue>::fixed(vec![
        Param::Integer(op.kind.code()),
        Param::text(&op.table),
        Param::text(&op.item_id),
        Param::Integer(OperationState::Pending.code()),
        Param::opt_text(item.as_deref()),
    ]))
    .map_err(|e| db("enqueueing an operation", e))?;
    // The writer is serialised, so the last rowid on this connection is this insert's.
    let rows = conn.load(Stmt::<LastId>::fixed(vec![])).map_err(|e| db("reading the new operation's id", e))?;
    let row = rows.into_iter().next().ok_or_else(|| corrupt(OPERATIONS, "last_insert_rowid() returned no row"))?;
    let id = Cells::new(OPERATIONS, row).uint("id")?;
    Ok(op.into_operation(id))
}

/// Queues operations in order with many-row `INSERT`s. An `AUTOINCREMENT` key gives the rows of
/// one statement consecutive ids in insertion order, the last of them `last_insert_rowid()`.
pub(crate) fn enqueue_many(conn: &mut Db, ops: Vec<NewOperation>) -> Result<Vec<Operation>, StoreError> {
    let items = ops.iter().map(|op| json(OPERATIONS, op.item.as_ref())).collect::<Result<Vec<_>, _>>()?;
    let rows: Vec<(&NewOperation, &Option<String>)> = ops.iter().zip(&items).collect();
    let mut ids = Vec::with_capacity(ops.len());
    for chunk in statement_chunks(&rows, MAX_ROWS_PER_STATEMENT) {
        let n = chunk.len();
        let mut params = Vec::with_capacity(n * 5);
        for (op, item) in chunk {
            params.extend([
                Param::Integer(op.kind.code()),
                Param::text(&op.table),
                Param::text(&op.item_id),
                Param::Integer(OperationState::Pending.code()),
                Param::opt_text(item.as_deref()),
            ]);
        }
        let values = vec!["(?, ?, ?, ?, 1, ?)"; n].join(", ");
        let sql = format!(
            "INSERT INTO \"__operations\" (\"kind\", \"tableName\", \"itemId\", \"state\", \"version\", \"item\") VALUES {values}"
        );
        conn.execute(Stmt::new(sql, params)).map_err(|e| db("enqueueing operations", e))?;
        let rows = conn.load(Stmt::<LastId>::fixed(vec![])).map_err(|e| db("reading the new operations' ids", e))?;
        let row = rows.into_iter().next().ok_or_else(|| corrupt(OPERATIONS, "last_insert_rowid() returned no row"))?;
        let last = Cells::new(OPERATIONS, row).uint("id")?;
        let first = last.checked_sub(n as u64 - 1).ok_or_else(|| corrupt(OPERATIONS, "operation ids ran backwards"))?;
        ids.extend(first..=last);
    }
    Ok(ops.into_iter().zip(ids).map(|(op, id)| op.into_operation(id)).collect())
}

/// Replaces an operation by id; `NotFound` when it is gone.
pub(crate) fn update_operation(conn: &mut Db, op: &Operation) -> Result<(), StoreError> {
    let not_found = || StoreError::NotFound { table: OPERATIONS.into(), id: op.id.to_string() };
    let Ok(id) = i64::try_from(op.id) else { return Err(not_found()) };
    let item = json(OPERATIONS, op.item.as_ref())?;
    let changed = conn
        .execute(Stmt::<UpdateOp>::fixed(vec![
            Param::Integer(op.kind.code()),
            Param::text(&op.table),
            Param::text(&op.item_id),
            Param::Integer(op.state.code()),
            Param::Integer(to_i64(OPERATIONS, "version", op.version)?),
            Param::opt_text(item.as_deref()),
            Param::Integer(id),
        ]))
        .map_err(|e| db("updating an operation", e))?;
    if changed == 0 {
        return Err(not_found());
    }
    Ok(())
}

/// Removes an operation; whether it existed.
pub(crate) fn remove_operation(conn: &mut Db, id: u64) -> Result<bool, StoreError> {
    let Ok(id) = i64::try_from(id) else { return Ok(false) };
    let changed =
        conn.execute(Stmt::<RemoveOp>::fixed(vec![Param::Integer(id)])).map_err(|e| db("removing an operation", e))?;
    Ok(changed > 0)
}

/// The ids as SQLite integers; ids beyond `i64::MAX` name no row, and are left out.
fn row_ids(ids: impl IntoIterator<Item = u64>) -> Vec<i64> {
    ids.into_iter().filter_map(|id| i64::try_from(id).ok()).collect()
}

/// Sets the state of the operations `ids`, a few per statement; how many there were.
pub(crate) fn set_operation_states(conn: &mut Db, ids: &[u64], state: OperationState) -> Result<u64, StoreError> {
    let sql = |n: usize| format!("UPDATE \"__operations\" SET \"state\" = ? WHERE \"id\" IN ({})", placeholders(n));
    let ids = row_ids(ids.iter().copied());
    conn.execute_by_ids(sql, &[Param::Integer(state.code())], &ids, "setting the state of operations")
}

/// Removes the operations of `sent` (id, edit counter when sent) that are still at that edit
/// counter, with their error rows, a few per statement: the operations are read (without their
/// snapshots), the ones that still match removed.
pub(crate) fn remove_sent_operations(conn: &mut Db, sent: &[(u64, u64)]) -> Result<Vec<RemovedOperation>, StoreError> {
    let heads = |n: usize| {
        format!(
            "SELECT \"id\", \"kind\", \"tableName\", \"itemId\", \"version\" FROM \"__operations\" WHERE \"id\" IN ({})",
            placeholders(n)
        )
    };
    let rows = conn.load_by_ids(heads, &[], &row_ids(sent.iter().map(|(id, _)| *id)), "reading sent operations")?;
    let wanted: HashSet<&(u64, u64)> = sent.iter().collect();
    let mut removed = Vec::with_capacity(rows.len());
    for row in rows {
        let mut c = Cells::new(OPERATIONS, row);
        let (id, kind, table, item_id, version) =
            (c.uint("id")?, c.kind()?, c.text("tableName")?, c.text("itemId")?, c.uint("version")?);
        if wanted.contains(&(id, version)) {
            removed.push(RemovedOperation { id, kind, table, item_id });
        }
    }
    let matched = row_ids(removed.iter().map(|op| op.id));
    let ops = |n: usize| format!("DELETE FROM \"__operations\" WHERE \"id\" IN ({})", placeholders(n));
    conn.execute_by_ids(ops, &[], &matched, "removing operations")?;
    let errors = |n: usize| format!("DELETE FROM \"__errors\" WHERE \"operationId\" IN ({})", placeholders(n));
    conn.execute_by_ids(errors, &[], &matched, "removing error rows")?;
    Ok(removed)
}

/// One operation by id.
pub(crate) fn operation(conn: &mut Db, id: u64) -> Result<Option<Operation>, StoreError> {
    let Ok(id) = i64::try_from(id) else { return Ok(None) };
    let rows = conn.load(Stmt::<OpById>::fixed(vec![Param::Integer(id)])).map_err(|e| db("reading an operation", e))?;
    rows.into_iter().next().map(operation_from_row).transpose()
}

/// The common filter shapes, which have fixed statements: everything, or one item's operations.
enum Shape<'f> {
    All,
    Item(&'f str, &'f str),
    Other,
}

fn shape(filter: &OperationFilter) -> Shape<'_> {
    match (filter.tables.as_deref(), filter.item_id.as_deref(), filter.after) {
        (None, None, None) => Shape::All,
        (Some([table]), Some(item), None) => Shape::Item(table, item),
        _ => Shape::Other,
    }
}

/// Operations passing the filter, lowest id first.
pub(crate) fn operations(conn: &mut Db, filter: &OperationFilter) -> Result<Vec<Operation>, StoreError> {
    let rows = match (shape(filter), filter.limit) {
        (Shape::All, None) => conn.load(Stmt::<OpsAll>::fixed(vec![])),
        (Shape::Item(table, item), None) => {
            conn.load(Stmt::<OpsOfItem>::fixed(vec![Param::text(table), Param::text(item)]))
        }
        _ => {
            let (clause, mut params) = filter_clause(filter);
            let mut sql = format!("{}{clause} ORDER BY \"id\"", op_columns!());
            if let Some(limit) = filter.limit {
                sql.push_str(" LIMIT ?");
                params.push(Param::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
            }
            conn.load(Stmt::new(sql, params))
        }
    }
    .map_err(|e| db("listing operations", e))?;
    rows.into_iter().map(operation_from_row).collect()
}

/// How many operations pass the filter (`limit` ignored).
pub(crate) fn count_operations(conn: &mut Db, filter: &OperationFilter) -> Result<u64, StoreError> {
    let rows = match shape(filter) {
        Shape::All => conn.load(Stmt::<CountAll>::fixed(vec![])),
        Shape::Item(table, item) => conn.load(Stmt::<CountOfItem>::fixed(vec![Param::text(table), Param::text(item)])),
        Shape::Other => {
            let (clause, params) = filter_clause(filter);
            conn.load(Stmt::new(format!("SELECT count(*) FROM \"__operations\"{clause}"), params))
        }
    }
    .map_err(|e| db("counting operations", e))?;
    let row = rows.into_iter().next().ok_or_else(|| corrupt(OPERATIONS, "count(*) returned no row"))?;
    Cells::new(OPERATIONS, row).uint("count")
}

/// Which of `ids` have a queued operation in `table`, a few ids per statement (see
/// [`statement_chunks`]).
pub(crate) fn queued_items(conn: &mut Db, table: &str, ids: &[&str]) -> Result<HashSet<String>, StoreError> {
    let sql = |n: usize| {
        format!(
            "SELECT DISTINCT \"itemId\" FROM \"__operations\" WHERE \"tableName\" = ? AND \"itemId\" IN ({})",
            placeholders(n)
        )
    };
    let rows = conn.load_by_ids(sql, &[Param::text(table)], ids, "reading queued items")?;
    rows.into_iter().map(|row| crate::rows::read_id(OPERATIONS, row)).collect()
}

fn failure_name(failure: FailureKind) -> Result<String, StoreError> {
    match serde_json::to_value(failure) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        Ok(other) => Err(StoreError::Backend { message: format!("unexpected failure encoding {other}"), source: None }),
        Err(e) => Err(StoreError::backend("encoding a failure kind", e)),
    }
}

/// Inserts or replaces the error row of an operation.
pub(crate) fn put_error(conn: &mut Db, error: &OperationError) -> Result<(), StoreError> {
    let failure = failure_name(error.failure)?;
    let item = json(ERRORS, error.item.as_ref())?;
    let server_item = json(ERRORS, error.server_item.as_ref())?;
    conn.execute(Stmt::<PutError>::fixed(vec![
        Param::Integer(to_i64(ERRORS, "operation id", error.operation_id)?),
        Param::Integer(to_i64(ERRORS, "operation version", error.operation_version)?),
        Param::Integer(error.kind.code()),
        Param::text(&error.table),
        Param::text(&error.item_id),
        Param::text(&failure),
        error.status.map_or(Param::NullInteger, |s| Param::Integer(i64::from(s))),
        Param::text(&error.message),
        Param::opt_text(item.as_deref()),
        Param::opt_text(server_item.as_deref()),
    ]))
    .map_err(|e| db("writing an error row", e))?;
    Ok(())
}

/// Removes the error row of an operation; whether it existed.
pub(crate) fn remove_error(conn: &mut Db, operation_id: u64) -> Result<bool, StoreError> {
    let Ok(id) = i64::try_from(operation_id) else { return Ok(false) };
    let changed = conn
        .execute(Stmt::<RemoveError>::fixed(vec![Param::Integer(id)]))
        .map_err(|e| db("removing an error row", e))?;
    Ok(changed > 0)
}

/// Error rows, oldest operation first, optionally of one table.
pub(crate) fn errors(conn: &mut Db, table: Option<&str>) -> Result<Vec<OperationError>, StoreError> {
    let rows = match table {
        None => conn.load(Stmt::<ErrorsAll>::fixed(vec![])),
        Some(t) => conn.load(Stmt::<ErrorsOfTable>::fixed(vec![Param::text(t)])),
    }
    .map_err(|e| db("listing error rows", e))?;
    rows.into_iter().map(error_from_row).collect()
}

fn error_from_row(row: SqlRow) -> Result<OperationError, StoreError> {
    let mut c = Cells::new(ERRORS, row);
    let operation_id = c.uint("operationId")?;
    let operation_version = c.uint("operationVersion")?;
    let kind = c.kind()?;
    let table = c.text("tableName")?;
    let item_id = c.text("itemId")?;
    let failure_text = c.text("failure")?;
    let failure: FailureKind = serde_json::from_value(serde_json::Value::String(failure_text.clone()))
        .map_err(|_| corrupt(ERRORS, format!("unknown failure kind {failure_text:?}")))?;
    let status = match c.next()? {
        Cell::Null => None,
        Cell::Integer(s) => Some(u16::try_from(s).map_err(|_| corrupt(ERRORS, format!("status {s} out of range")))?),
        other => return Err(corrupt(ERRORS, format!("status holds {}", other.type_name()))),
    };
    let message = c.text("message")?;
    let item = parse_record(ERRORS, c.opt_text("item")?)?;
    let server_item = parse_record(ERRORS, c.opt_text("serverItem")?)?;
    Ok(OperationError {
        operation_id,
        operation_version,
        kind,
        table,
        item_id,
        failure,
        status,
        message,
        item,
        server_item,
    })
}

/// A config value.
pub(crate) fn config(conn: &mut Db, key: &str) -> Result<Option<String>, StoreError> {
    let rows = conn.load(Stmt::<GetConfig>::fixed(vec![Param::text(key)])).map_err(|e| db("reading config", e))?;
    match rows.into_iter().next() {
        None => Ok(None),
        Some(row) => Cells::new("__config", row).text("value").map(Some),
    }
}

/// Sets a config value.
pub(crate) fn set_config(conn: &mut Db, key: &str, value: &str) -> Result<(), StoreError> {
    conn.execute(Stmt::<SetConfig>::fixed(vec![Param::text(key), Param::text(value)]))
        .map_err(|e| db("writing config", e))?;
    Ok(())
}

/// Removes the config values whose key starts with `prefix` (byte-wise; no `LIKE` wildcards).
pub(crate) fn remove_config(conn: &mut Db, prefix: &str) -> Result<u64, StoreError> {
    let changed = conn
        .execute(Stmt::<RemoveConfig>::fixed(vec![Param::text(prefix), Param::text(prefix)]))
        .map_err(|e| db("removing config", e))?;
    Ok(changed as u64)
}
