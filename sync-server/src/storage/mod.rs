//! The storage boundary: what the protocol layer asks of a database, as one small trait
//! ([`Backend`]), implemented for SQLite ([`sqlite`]) and PostgreSQL ([`postgres`]). Both render
//! `$filter` with [`filter`] and share the small helpers at the end of this module.
//!
//! A backend owns the server's write rules, because they must hold inside its write transaction:
//! - the precondition (`If-Match`, or `version` in a PATCH body) is checked against the row read
//!   in the same transaction that writes it;
//! - every write gets a new `version` and an `updatedAt` strictly greater than every `updatedAt`
//!   the table's writes handed out before (see [`crate`] docs, "updatedAt");
//! - dynamic tables add a column in the transaction of the write that first brings it.

use async_trait::async_trait;
use serde_json::{Map, Value};
use sync_core::{Column, ColumnType};

use crate::error::{short, Error, ServerError};
use crate::odata::QueryOptions;
use crate::table::TableDef;

pub(crate) mod filter;
#[cfg(test)]
mod fuzz;
pub(crate) mod group;
pub(crate) mod page_json;
pub(crate) mod page_sql;
pub(crate) mod plan;
#[cfg(test)]
mod plans;
pub(crate) mod postgres;
pub(crate) mod sqlite;

/// An item as it is sent: a JSON object with the system columns.
pub(crate) type Item = Map<String, Value>;

/// A value to bind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SqlValue {
    /// NULL.
    Null,
    /// A boolean (SQLite stores 0/1).
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Real(f64),
    /// Text (strings, canonical date-times, JSON text).
    Text(String),
}

/// A user column's new value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ColumnValue {
    /// The column.
    pub name: String,
    /// Its type (for a dynamic table: the stored type, or the one a new column gets).
    pub ty: ColumnType,
    /// The value.
    pub value: SqlValue,
}

/// What the stored version must be for a write to go ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Precondition {
    /// Nothing (last writer wins).
    None,
    /// `If-Match` tags: one must equal the version (`*` matches any); else 412.
    IfMatch(Vec<String>),
    /// `version` in a PATCH body without `If-Match` (the Node server's rule): else 409.
    Body(String),
}

impl Precondition {
    /// Checks the stored item's version; the error carries the item.
    pub(crate) fn check(&self, item: &Item) -> Result<(), Error> {
        let current = item.get("version").and_then(Value::as_str).unwrap_or_default();
        match self {
            Precondition::None => Ok(()),
            Precondition::IfMatch(tags) if tags.iter().any(|t| t == "*" || t == current) => Ok(()),
            Precondition::IfMatch(_) => Err(Error::conflict(412, item.clone())),
            Precondition::Body(v) if v == current => Ok(()),
            Precondition::Body(_) => Err(Error::conflict(409, item.clone())),
        }
    }
}

/// One write.
#[derive(Debug, Clone)]
pub(crate) enum Write {
    /// `POST /tables/{t}`: a new row (409 with the stored item if the id exists, deleted or not).
    Insert {
        /// The id.
        id: String,
        /// The user columns sent.
        values: Vec<ColumnValue>,
    },
    /// `PATCH /tables/{t}/{id}`: the columns sent change, the others stay.
    Update {
        /// The id.
        id: String,
        /// The user columns sent.
        values: Vec<ColumnValue>,
        /// The precondition.
        pre: Precondition,
    },
    /// `DELETE /tables/{t}/{id}`.
    Delete {
        /// The id.
        id: String,
        /// The precondition.
        pre: Precondition,
    },
    /// `POST /tables/{t}/{id}`: undelete a soft-deleted row.
    Undelete {
        /// The id.
        id: String,
        /// The precondition.
        pre: Precondition,
    },
}

/// A page of a query.
#[derive(Debug, Clone)]
pub(crate) struct QueryPage {
    /// The rows as the answer sends them: a JSON array of items, with `$select` applied and a
    /// `per_user` table's owner column left out ([`page_json`]).
    pub rows_json: Vec<u8>,
    /// How many rows [`rows_json`](Self::rows_json) holds.
    pub rows: u64,
    /// Whether rows exist after this page.
    pub more: bool,
    /// The total count (`$inlinecount=allpages`).
    pub count: Option<u64>,
}

/// A row for [`Backend::seed`].
#[derive(Debug, Clone)]
pub(crate) struct SeedRow {
    /// The id.
    pub id: String,
    /// The user columns.
    pub values: Vec<ColumnValue>,
    /// Soft-deleted.
    pub deleted: bool,
}

/// The storage operations of the server.
#[async_trait]
pub(crate) trait Backend: Send + Sync + 'static {
    /// Creates the table, or checks and extends an existing one to the declared columns.
    async fn prepare(&self, table: &TableDef) -> Result<(), ServerError>;

    /// The table's user columns now (dynamic tables: as stored).
    async fn columns(&self, table: &TableDef) -> Result<Vec<Column>, Error>;

    /// One page: at most `top` rows after `$skip`, with whether more exist.
    async fn query(&self, table: &TableDef, options: &QueryOptions, top: u64) -> Result<QueryPage, Error>;

    /// A live (not soft-deleted) row.
    async fn read(&self, table: &TableDef, id: &str) -> Result<Option<Item>, Error>;

    /// Runs one write atomically; returns the item to answer with. With an `owner` (a
    /// `per_user` table), a row of another owner is checked in the same transaction, by
    /// [`owned`]: invisible to updates, deletes and undeletes (404), and a 409 without the item
    /// for an insert of its id.
    async fn write(&self, table: &TableDef, write: Write, owner: Option<&str>) -> Result<Item, Error>;

    /// Runs writes in order in one transaction: each answers as [`write`](Backend::write) would
    /// after the ones before it, one that fails (or is an `Err` already) changes nothing and the
    /// others go on, and all commit at once at the end. The outer error is for the transaction
    /// itself; then nothing is committed. Writes of distinct ids on a fixed-schema table are
    /// decided at once ([`plan`]); the others run each in a savepoint.
    async fn write_many(
        &self,
        table: &TableDef,
        writes: Vec<Result<Write, Error>>,
        owner: Option<&str>,
    ) -> Result<Vec<Result<Item, Error>>, Error>;

    /// Writes rows with a given `updatedAt` (= `createdAt`), behind the protocol's back (tests).
    async fn seed(&self, table: &TableDef, rows: Vec<SeedRow>, updated_at: &str) -> Result<(), Error>;

    /// Closes the connections (after the last request).
    async fn close(&self);
}

impl Write {
    /// The id written.
    pub(crate) fn id(&self) -> &str {
        match self {
            Write::Insert { id, .. }
            | Write::Update { id, .. }
            | Write::Delete { id, .. }
            | Write::Undelete { id, .. } => id,
        }
    }
}

/// A backend's write transaction, as [`write_each`] drives it: one write at a time, each in a
/// savepoint.
#[async_trait]
pub(crate) trait SavepointTx: Send {
    /// One write inside the transaction (the backend's `write_in`): nothing is committed, and on
    /// an error the caller rolls back what it did.
    async fn write_one(&mut self, table: &TableDef, write: Write, owner: Option<&str>) -> Result<Item, Error>;

    /// Runs a savepoint statement (SQLite and PostgreSQL spell them alike).
    async fn savepoint(&mut self, sql: &'static str) -> Result<(), Error>;
}

/// Writes one by one, each in a savepoint of the caller's transaction, so a write that fails
/// changes nothing and the others go on (see [`Backend::write_many`]); an `Err` among the writes
/// is its own answer.
pub(crate) async fn write_each<T: SavepointTx + ?Sized>(
    tx: &mut T,
    table: &TableDef,
    writes: Vec<Result<Write, Error>>,
    owner: Option<&str>,
) -> Result<Vec<Result<Item, Error>>, Error> {
    let mut out = Vec::with_capacity(writes.len());
    for write in writes {
        let write = match write {
            Ok(w) => w,
            Err(e) => {
                out.push(Err(e));
                continue;
            }
        };
        tx.savepoint("SAVEPOINT batch_op").await?;
        let result = tx.write_one(table, write, owner).await;
        if result.is_err() {
            tx.savepoint("ROLLBACK TO SAVEPOINT batch_op").await?;
        }
        tx.savepoint("RELEASE SAVEPOINT batch_op").await?;
        out.push(result);
    }
    Ok(out)
}

/// For a dynamic table: the values whose columns are not stored yet (and are not null, since a
/// null brings no type). A value for a stored column of another type, or a name that differs from
/// a stored one only in case, is a 400.
pub(crate) fn new_columns<'a>(stored: &[Column], values: &'a [ColumnValue]) -> Result<Vec<&'a ColumnValue>, Error> {
    let mut out = Vec::new();
    for v in values {
        match stored.iter().find(|c| c.name.eq_ignore_ascii_case(&v.name)) {
            Some(c) if c.name != v.name => {
                return Err(Error::bad_request(format!(
                    "the column '{}' clashes with the existing column '{}' (names differ only in case)",
                    short(&v.name),
                    c.name
                )))
            }
            Some(c) if c.ty != v.ty && v.value != SqlValue::Null => {
                return Err(Error::bad_request(format!(
                    "the column '{}' holds {}, not {}",
                    v.name,
                    c.ty.name(),
                    v.ty.name()
                )))
            }
            Some(_) => {}
            None if v.value == SqlValue::Null => {}
            None => out.push(v),
        }
    }
    Ok(out)
}

/// Values to store in a dynamic table: nulls of columns it does not have are dropped.
pub(crate) fn known_values(stored: &[Column], values: Vec<ColumnValue>) -> Vec<ColumnValue> {
    values.into_iter().filter(|v| stored.iter().any(|c| c.name == v.name)).collect()
}

/// The stored row a write may see: `None` for a row of another owner, and for an insert of
/// such a row's id a 409 that does not show it.
pub(crate) fn owned(write: &Write, current: Option<Item>, owner: Option<&str>) -> Result<Option<Item>, Error> {
    let (Some(row), Some(owner)) = (&current, owner) else { return Ok(current) };
    if owns(row, owner) {
        return Ok(current);
    }
    match write {
        Write::Insert { .. } => Err(taken_id()),
        _ => Ok(None),
    }
}

/// The answer to an insert of an id that is stored (`existing`): a 409 with the stored row, or,
/// when another user owns the row, a 409 that does not show it (as [`owned`] decides).
pub(crate) fn insert_conflict(existing: Item, owner: Option<&str>) -> Error {
    match owner {
        Some(owner) if !owns(&existing, owner) => taken_id(),
        _ => Error::conflict(409, existing),
    }
}

fn owns(row: &Item, owner: &str) -> bool {
    row.get(crate::table::OWNER).and_then(Value::as_str) == Some(owner)
}

fn taken_id() -> Error {
    Error::with_status(409, "an item with this id exists")
}

/// Whether an item is soft-deleted.
pub(crate) fn is_deleted(item: &Item) -> bool {
    item.get("deleted") == Some(&Value::Bool(true))
}

/// A new opaque `version` tag.
pub(crate) fn new_version() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A float as JSON, whole numbers as integers (as JavaScript prints them: `5`, not `5.0`).
pub(crate) fn real_json(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
        Value::from(f as i64)
    } else {
        serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)
    }
}
