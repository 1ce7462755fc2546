//! The SQLite backend (sqlx, bundled SQLite, WAL).
//!
//! Layout: one table per synced table, `id TEXT PRIMARY KEY`, `createdAt`/`updatedAt` as canonical
//! text (`YYYY-MM-DDTHH:MM:SS.sssZ`, so text order is time order), `version` text, `deleted` 0/1,
//! an index on `(updatedAt, id)` for keyset pulls, and user columns whose declared SQL type names
//! their protocol type (`TEXT`, `BOOLEAN`, `INTEGER`, `REAL`, `DATETIMETEXT`, `JSONTEXT`), so a
//! dynamic table's schema is read back from the database itself (files of earlier versions
//! declare date-times `DATETIME`, read back alike; [`sql_type`] says why the name changed).
//! `__sync_clock` keeps, per table, the last `updatedAt` handed out (milliseconds since the
//! epoch).
//!
//! Writes run in `BEGIN IMMEDIATE` transactions on one writer connection, so the clock, the
//! precondition check and the write are one atomic step even when several servers share the file.
//! `write_many` (a `$batch`, or a group of single writes, see [`super::group`]) runs its writes in
//! one such transaction: writes of distinct ids read their rows with one statement (inserts
//! alone read none: an insert whose id is stored is found by its `ON CONFLICT`), take one
//! clock step for all and write with multi-row statements ([`super::plan`]); others run each in
//! a savepoint.

#[cfg(test)]
mod fuzz;

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow};
use sqlx::{AssertSqlSafe, Connection, Row, SqliteConnection, SqlitePool};
use sync_core::backend::format_datetime;
use sync_core::{Column, ColumnType};

use super::{
    is_deleted, known_values, new_columns, new_version, owned, plan, real_json, write_each, Backend, ColumnValue, Item,
    QueryPage, SavepointTx, SeedRow, SqlValue, Write,
};
use crate::error::{Error, ServerError};
use crate::odata::QueryOptions;
use crate::table::{system_columns, TableDef};

use super::filter::{ident, Dialect};
use super::page_json::{PageWriter, RowValues};
use super::page_sql::{all_columns, page_sql, select_list, PageSql};

/// How long a statement waits for another connection's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Read connections.
const READERS: u32 = 4;

/// SQLite storage: one writer connection, a few readers.
#[derive(Debug, Clone)]
pub(crate) struct SqliteBackend {
    writer: SqlitePool,
    reader: SqlitePool,
}

/// The declared type of a column of a protocol type. Date-times are `DATETIMETEXT`: a name
/// with "TEXT" in it gives the column TEXT affinity, so SQLite stores and compares the canonical
/// text as it is. (`DATETIME`, which earlier versions declared, has NUMERIC affinity: SQLite
/// tries to read every such value as a number, on every write and every comparison.)
fn sql_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::String => "TEXT",
        ColumnType::Bool => "BOOLEAN",
        ColumnType::Integer => "INTEGER",
        ColumnType::Real => "REAL",
        ColumnType::DateTime => "DATETIMETEXT",
        ColumnType::Json => "JSONTEXT",
    }
}

fn column_type(declared: &str) -> ColumnType {
    match declared.to_ascii_uppercase().as_str() {
        "TEXT" => ColumnType::String,
        "BOOLEAN" => ColumnType::Bool,
        "INTEGER" => ColumnType::Integer,
        "REAL" => ColumnType::Real,
        // `DATETIME`: the declaration of earlier versions (files they made keep working).
        "DATETIMETEXT" | "DATETIME" => ColumnType::DateTime,
        "JSONTEXT" => ColumnType::Json,
        // A column made by another program: by SQLite's affinity rules.
        d if d.contains("INT") => ColumnType::Integer,
        d if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") => ColumnType::Real,
        _ => ColumnType::String,
    }
}

fn q(sql: String) -> sqlx::query::Query<'static, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    sqlx::query(AssertSqlSafe(sql))
}

fn bind_all<'a>(
    mut query: sqlx::query::Query<'a, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    params: &[SqlValue],
) -> sqlx::query::Query<'a, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    for p in params {
        query = match p {
            SqlValue::Null => query.bind(Option::<i64>::None),
            SqlValue::Bool(b) => query.bind(i64::from(*b)),
            SqlValue::Int(i) => query.bind(*i),
            SqlValue::Real(f) => query.bind(*f),
            SqlValue::Text(s) => query.bind(s.clone()),
        };
    }
    query
}

impl SqliteBackend {
    /// Opens (creating if needed) a database file, or an in-memory database for `None`.
    pub(crate) async fn open(path: Option<&Path>) -> Result<Self, ServerError> {
        match path {
            Some(path) => {
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(BUSY_TIMEOUT);
                // No ping before handing out a connection: it is a trip to the connection's
                // thread, and an in-process database has no link that could have broken.
                let writer = SqlitePoolOptions::new()
                    .max_connections(1)
                    .test_before_acquire(false)
                    .connect_with(options.clone())
                    .await?;
                // Every reader is opened at once, not when a burst first needs it: the server's
                // memory is then what it stays at, and the first concurrent reads wait for no
                // connection to open.
                let reader = SqlitePoolOptions::new()
                    .max_connections(READERS)
                    .min_connections(READERS)
                    .test_before_acquire(false)
                    .connect_with(options)
                    .await?;
                Ok(SqliteBackend { writer, reader })
            }
            None => {
                // One connection that never closes: the database lives as long as it does.
                let options = SqliteConnectOptions::from_str("sqlite::memory:")?;
                let pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .connect_with(options)
                    .await?;
                Ok(SqliteBackend { writer: pool.clone(), reader: pool })
            }
        }
    }
}

/// The stored columns of a table (`None`: no such table).
async fn stored_columns(conn: &mut SqliteConnection, table: &str) -> Result<Option<Vec<Column>>, sqlx::Error> {
    let rows = sqlx::query("SELECT name, type FROM pragma_table_info(?1)").bind(table).fetch_all(&mut *conn).await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let name: String = row.try_get(0)?;
        let declared: String = row.try_get(1)?;
        out.push(Column::nullable(name, column_type(&declared)));
    }
    Ok(Some(out))
}

/// The user columns a request works with: declared ones, or (dynamic) the stored ones.
async fn user_columns(conn: &mut SqliteConnection, table: &TableDef) -> Result<Vec<Column>, Error> {
    if !table.dynamic {
        return Ok(table.columns.clone());
    }
    let stored = stored_columns(conn, &table.name).await?.unwrap_or_default();
    let system = system_columns();
    Ok(stored.into_iter().filter(|c| !system.iter().any(|s| s.name == c.name)).collect())
}

/// One stored value as JSON.
fn json_value(row: &SqliteRow, i: usize, ty: ColumnType) -> Result<Value, sqlx::Error> {
    Ok(match ty {
        ColumnType::String | ColumnType::DateTime => {
            row.try_get_unchecked::<Option<String>, _>(i)?.map(Value::String).unwrap_or(Value::Null)
        }
        ColumnType::Bool => {
            row.try_get_unchecked::<Option<i64>, _>(i)?.map(|v| Value::Bool(v != 0)).unwrap_or(Value::Null)
        }
        ColumnType::Integer => row.try_get_unchecked::<Option<i64>, _>(i)?.map(Value::from).unwrap_or(Value::Null),
        ColumnType::Real => row.try_get_unchecked::<Option<f64>, _>(i)?.map(real_json).unwrap_or(Value::Null),
        ColumnType::Json => match row.try_get_unchecked::<Option<String>, _>(i)? {
            None => Value::Null,
            Some(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        },
    })
}

/// Reads as [`json_value`] does, without owning the text.
impl RowValues for SqliteRow {
    fn text(&self, i: usize) -> Result<Option<&str>, sqlx::Error> {
        self.try_get_unchecked(i)
    }
    fn boolean(&self, i: usize) -> Result<Option<bool>, sqlx::Error> {
        Ok(self.try_get_unchecked::<Option<i64>, _>(i)?.map(|v| v != 0))
    }
    fn integer(&self, i: usize) -> Result<Option<i64>, sqlx::Error> {
        self.try_get_unchecked(i)
    }
    fn real(&self, i: usize) -> Result<Option<f64>, sqlx::Error> {
        self.try_get_unchecked(i)
    }
}

fn item_from_row(row: &SqliteRow, columns: &[Column]) -> Result<Item, sqlx::Error> {
    let mut item = Item::new();
    for (i, c) in columns.iter().enumerate() {
        item.insert(c.name.clone(), json_value(row, i, c.ty)?);
    }
    Ok(item)
}

async fn fetch_item(
    conn: &mut SqliteConnection,
    table: &str,
    columns: &[Column],
    id: &str,
) -> Result<Option<Item>, Error> {
    let sql = format!("SELECT {} FROM {} WHERE \"id\" = ?", select_list(columns), ident(table));
    let row = q(sql).bind(id.to_owned()).fetch_optional(&mut *conn).await?;
    Ok(match row {
        Some(row) => Some(item_from_row(&row, columns)?),
        None => None,
    })
}

/// The next `updatedAt` of a table: max(now, last + 1 ms), saved as the new last.
async fn tick(conn: &mut SqliteConnection, table: &str) -> Result<String, Error> {
    let last: Option<i64> = sqlx::query_scalar("SELECT last_ms FROM __sync_clock WHERE name = ?")
        .bind(table)
        .fetch_optional(&mut *conn)
        .await?;
    let now = Utc::now().timestamp_millis();
    let next = last.map_or(now, |l| now.max(l + 1));
    advance_clock(conn, table, next).await?;
    let at = DateTime::from_timestamp_millis(next).ok_or_else(|| Error::internal("the clock is out of range"))?;
    Ok(format_datetime(at))
}

async fn advance_clock(conn: &mut SqliteConnection, table: &str, ms: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO __sync_clock (name, last_ms) VALUES (?1, ?2) \
         ON CONFLICT(name) DO UPDATE SET last_ms = max(last_ms, excluded.last_ms)",
    )
    .bind(table)
    .bind(ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Adds the dynamic columns a write brings; a stored column of another type is a 400.
async fn ensure_columns(conn: &mut SqliteConnection, table: &TableDef, values: &[ColumnValue]) -> Result<(), Error> {
    if !table.dynamic {
        return Ok(());
    }
    let stored = stored_columns(conn, &table.name).await?.unwrap_or_default();
    for v in new_columns(&stored, values)? {
        let sql = format!("ALTER TABLE {} ADD COLUMN {} {}", ident(&table.name), ident(&v.name), sql_type(v.ty));
        q(sql).execute(&mut *conn).await?;
        tracing::info!(table = %table.name, column = %v.name, ty = v.ty.name(), "column added");
    }
    Ok(())
}

/// Values to store: a dynamic table skips nulls of columns it does not have.
async fn storable(
    conn: &mut SqliteConnection,
    table: &TableDef,
    values: Vec<ColumnValue>,
) -> Result<Vec<ColumnValue>, Error> {
    ensure_columns(conn, table, &values).await?;
    if !table.dynamic {
        return Ok(values);
    }
    let stored = user_columns(conn, table).await?;
    Ok(known_values(&stored, values))
}

async fn insert_row(
    conn: &mut SqliteConnection,
    table: &TableDef,
    id: &str,
    values: &[ColumnValue],
    at: &str,
    deleted: bool,
) -> Result<(), Error> {
    let mut names = vec!["id", "createdAt", "updatedAt", "version", "deleted"];
    names.extend(values.iter().map(|v| v.name.as_str()));
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({})",
        ident(&table.name),
        names.iter().map(|n| ident(n)).collect::<Vec<_>>().join(", "),
        vec!["?"; names.len()].join(", ")
    );
    let mut params = vec![
        SqlValue::Text(id.to_owned()),
        SqlValue::Text(at.to_owned()),
        SqlValue::Text(at.to_owned()),
        SqlValue::Text(new_version()),
        SqlValue::Bool(deleted),
    ];
    params.extend(values.iter().map(|v| v.value.clone()));
    bind_all(q(sql), &params).execute(&mut *conn).await?;
    Ok(())
}

/// `UPDATE … SET <assignments>, updatedAt, version WHERE id`.
async fn update_row(
    conn: &mut SqliteConnection,
    table: &TableDef,
    id: &str,
    mut sets: Vec<(String, SqlValue)>,
) -> Result<(), Error> {
    let at = tick(conn, &table.name).await?;
    sets.push(("updatedAt".to_owned(), SqlValue::Text(at)));
    sets.push(("version".to_owned(), SqlValue::Text(new_version())));
    let assignments = sets.iter().map(|(n, _)| format!("{} = ?", ident(n))).collect::<Vec<_>>().join(", ");
    let sql = format!("UPDATE {} SET {assignments} WHERE \"id\" = ?", ident(&table.name));
    let mut params: Vec<SqlValue> = sets.into_iter().map(|(_, v)| v).collect();
    params.push(SqlValue::Text(id.to_owned()));
    bind_all(q(sql), &params).execute(&mut *conn).await?;
    Ok(())
}

/// One write inside the caller's transaction (nothing is committed here; on an error the
/// caller rolls back what it did).
async fn write_in(
    tx: &mut SqliteConnection,
    table: &TableDef,
    write: Write,
    owner: Option<&str>,
) -> Result<Item, Error> {
    let user = user_columns(&mut *tx, table).await?;
    let columns = all_columns(&user);
    let id = write.id().to_owned();
    let current = owned(&write, fetch_item(&mut *tx, &table.name, &columns, &id).await?, owner)?;
    let answer = match write {
        Write::Insert { values, .. } => {
            if let Some(existing) = current {
                return Err(Error::conflict(409, existing));
            }
            let values = storable(&mut *tx, table, values).await?;
            let at = tick(&mut *tx, &table.name).await?;
            insert_row(&mut *tx, table, &id, &values, &at, false).await?;
            None
        }
        Write::Update { values, pre, .. } => {
            let current = current.filter(|c| !is_deleted(c)).ok_or_else(Error::no_item)?;
            pre.check(&current)?;
            let values = storable(&mut *tx, table, values).await?;
            update_row(&mut *tx, table, &id, values.into_iter().map(|v| (v.name, v.value)).collect()).await?;
            None
        }
        Write::Delete { pre, .. } => {
            let current = current.filter(|c| !is_deleted(c)).ok_or_else(Error::no_item)?;
            pre.check(&current)?;
            if table.options.soft_delete {
                update_row(&mut *tx, table, &id, vec![("deleted".to_owned(), SqlValue::Bool(true))]).await?;
                None
            } else {
                q(format!("DELETE FROM {} WHERE \"id\" = ?", ident(&table.name)))
                    .bind(id.clone())
                    .execute(&mut *tx)
                    .await?;
                Some(current)
            }
        }
        Write::Undelete { pre, .. } => {
            let current = current.ok_or_else(Error::no_item)?;
            pre.check(&current)?;
            update_row(&mut *tx, table, &id, vec![("deleted".to_owned(), SqlValue::Bool(false))]).await?;
            None
        }
    };
    let item = match answer {
        Some(item) => item,
        None => {
            let user = user_columns(&mut *tx, table).await?;
            fetch_item(&mut *tx, &table.name, &all_columns(&user), &id)
                .await?
                .ok_or_else(|| Error::internal("the written row is gone"))?
        }
    };
    Ok(item)
}

/// [`write_each`]'s steps on this backend.
#[async_trait]
impl SavepointTx for SqliteConnection {
    async fn write_one(&mut self, table: &TableDef, write: Write, owner: Option<&str>) -> Result<Item, Error> {
        write_in(self, table, write, owner).await
    }

    async fn savepoint(&mut self, sql: &'static str) -> Result<(), Error> {
        q(sql.to_owned()).execute(self).await?;
        Ok(())
    }
}

/// The most parameters one statement binds (SQLite's limit is 32,766).
const MAX_PARAMS: usize = 30_000;

/// Writes that pass [`plan::can_plan`], decided at once (see [`plan`]): one read of their rows
/// (none when all are inserts, see [`plan::only_inserts`]), one clock step for all, one
/// multi-row `INSERT … RETURNING` per run of inserts and one `UPDATE … RETURNING` per other
/// write. An `Err` is a statement that failed; the caller rolls
/// back what this did.
async fn write_planned(
    tx: &mut SqliteConnection,
    table: &TableDef,
    writes: &[Result<Write, Error>],
    owner: Option<&str>,
) -> Result<Vec<Result<Item, Error>>, Error> {
    let columns = all_columns(&table.columns);
    // Only inserts: no read, see `plan::only_inserts`.
    let mut current = if plan::only_inserts(writes) {
        HashMap::new()
    } else {
        fetch_items(&mut *tx, &table.name, &columns, &plan::ids(writes)).await?
    };
    let plan::Plan { outcomes, actions } = plan::plan(table, writes, &mut current, owner);
    let mut items: Vec<Option<Result<Item, Error>>> = Vec::with_capacity(actions.len());
    items.resize_with(actions.len(), || None);
    if actions.is_empty() {
        return Ok(plan::answers(outcomes, items));
    }
    let stamps = reserve(&mut *tx, &table.name, actions.len()).await?;
    let returning = select_list(&columns);
    let width = 5 + actions
        .iter()
        .map(|a| if let plan::Action::Insert { values, .. } = a { values.len() } else { 0 })
        .max()
        .unwrap_or(0);
    for run in plan::insert_runs(&actions, MAX_PARAMS / width) {
        let mut names = vec!["id", "createdAt", "updatedAt", "version", "deleted"];
        let mut params = Vec::with_capacity(run.len() * width);
        for (k, action) in actions.iter().enumerate().take(run.end).skip(run.start) {
            let plan::Action::Insert { id, values } = action else { continue };
            if k == run.start {
                names.extend(values.iter().map(|v| v.name.as_str()));
            }
            let at = &stamps[k];
            params.extend([
                SqlValue::Text((*id).to_owned()),
                SqlValue::Text(at.clone()),
                SqlValue::Text(at.clone()),
                SqlValue::Text(new_version()),
                SqlValue::Bool(false),
            ]);
            params.extend(values.iter().map(|v| v.value.clone()));
        }
        let row = format!("({})", vec!["?"; names.len()].join(", "));
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {} ON CONFLICT (\"id\") DO NOTHING RETURNING {returning}",
            ident(&table.name),
            names.iter().map(|n| ident(n)).collect::<Vec<_>>().join(", "),
            vec![row; run.len()].join(", ")
        );
        let mut by_id = HashMap::with_capacity(run.len());
        for row in bind_all(q(sql), &params).fetch_all(&mut *tx).await? {
            let item = item_from_row(&row, &columns)?;
            if let Some(Value::String(id)) = item.get("id") {
                by_id.insert(id.clone(), item);
            }
        }
        let missing = plan::missing_ids(&actions, run.clone(), &by_id);
        let stored = if missing.is_empty() {
            HashMap::new()
        } else {
            fetch_items(&mut *tx, &table.name, &columns, &missing).await?
        };
        plan::answer_inserts(&actions, run, by_id, stored, owner, &mut items);
    }
    for (k, action) in actions.iter().enumerate() {
        match action {
            plan::Action::Insert { .. } => {}
            plan::Action::Update { id, values, deleted } => {
                let mut sets: Vec<(&str, SqlValue)> =
                    values.iter().map(|v| (v.name.as_str(), v.value.clone())).collect();
                if let Some(deleted) = deleted {
                    sets.push(("deleted", SqlValue::Bool(*deleted)));
                }
                sets.push(("updatedAt", SqlValue::Text(stamps[k].clone())));
                sets.push(("version", SqlValue::Text(new_version())));
                let assignments = sets.iter().map(|(n, _)| format!("{} = ?", ident(n))).collect::<Vec<_>>().join(", ");
                let sql =
                    format!("UPDATE {} SET {assignments} WHERE \"id\" = ? RETURNING {returning}", ident(&table.name));
                let mut params: Vec<SqlValue> = sets.into_iter().map(|(_, v)| v).collect();
                params.push(SqlValue::Text((*id).to_owned()));
                let row = bind_all(q(sql), &params).fetch_optional(&mut *tx).await?;
                items[k] = Some(match row {
                    Some(row) => Ok(item_from_row(&row, &columns)?),
                    None => Err(Error::internal("the written row is gone")),
                });
            }
            plan::Action::Remove { id, item } => {
                q(format!("DELETE FROM {} WHERE \"id\" = ?", ident(&table.name)))
                    .bind((*id).to_owned())
                    .execute(&mut *tx)
                    .await?;
                items[k] = Some(Ok(item.clone()));
            }
        }
    }
    Ok(plan::answers(outcomes, items))
}

/// The stored rows of `ids` (soft-deleted ones included), by id.
async fn fetch_items(
    conn: &mut SqliteConnection,
    table: &str,
    columns: &[Column],
    ids: &[&str],
) -> Result<HashMap<String, Item>, Error> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(MAX_PARAMS) {
        let sql = format!(
            "SELECT {} FROM {} WHERE \"id\" IN ({})",
            select_list(columns),
            ident(table),
            vec!["?"; chunk.len()].join(", ")
        );
        let query = chunk.iter().fold(q(sql), |query, id| query.bind((*id).to_owned()));
        for row in query.fetch_all(&mut *conn).await? {
            let item = item_from_row(&row, columns)?;
            if let Some(Value::String(id)) = item.get("id") {
                out.insert(id.clone(), item);
            }
        }
    }
    Ok(out)
}

/// Reserves `n` (at least one) consecutive `updatedAt`s of a table, each after every one handed
/// out before: the first is max(now, last + 1 ms), and the last is saved.
async fn reserve(conn: &mut SqliteConnection, table: &str, n: usize) -> Result<Vec<String>, Error> {
    let extra = i64::try_from(n.saturating_sub(1)).map_err(|_| Error::internal("too many writes"))?;
    let now = Utc::now().timestamp_millis();
    let last: i64 = sqlx::query_scalar(
        "INSERT INTO __sync_clock (name, last_ms) VALUES (?1, ?2 + ?3) \
         ON CONFLICT(name) DO UPDATE SET last_ms = max(last_ms + 1, ?2) + ?3 RETURNING last_ms",
    )
    .bind(table)
    .bind(now)
    .bind(extra)
    .fetch_one(&mut *conn)
    .await?;
    (last - extra..=last)
        .map(|ms| {
            DateTime::from_timestamp_millis(ms)
                .map(format_datetime)
                .ok_or_else(|| Error::internal("the clock is out of range"))
        })
        .collect()
}

#[async_trait]
impl Backend for SqliteBackend {
    async fn prepare(&self, table: &TableDef) -> Result<(), ServerError> {
        let mut conn = self.writer.acquire().await?;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS __sync_clock (name TEXT PRIMARY KEY NOT NULL, last_ms INTEGER NOT NULL)",
        )
        .execute(&mut *tx)
        .await?;
        let name = ident(&table.name);
        let dt = sql_type(ColumnType::DateTime);
        let mut create = format!(
            "CREATE TABLE IF NOT EXISTS {name} (\"id\" TEXT PRIMARY KEY NOT NULL, \"createdAt\" {dt} NOT NULL, \
             \"updatedAt\" {dt} NOT NULL, \"version\" TEXT NOT NULL, \"deleted\" BOOLEAN NOT NULL DEFAULT 0"
        );
        for c in &table.columns {
            create.push_str(&format!(", {} {}", ident(&c.name), sql_type(c.ty)));
        }
        create.push(')');
        q(create).execute(&mut *tx).await?;
        q(format!(
            "CREATE INDEX IF NOT EXISTS {} ON {name} (\"updatedAt\", \"id\")",
            ident(&format!("__ix_{}_updatedAt_id", table.name))
        ))
        .execute(&mut *tx)
        .await?;
        let stored = stored_columns(&mut tx, &table.name).await?.unwrap_or_default();
        for want in system_columns().iter().chain(&table.columns) {
            match stored.iter().find(|c| c.name == want.name) {
                Some(have) if have.ty != want.ty => {
                    return Err(ServerError::Config(format!(
                        "table {}: the database's column {} holds {}, the declaration says {}",
                        table.name,
                        want.name,
                        have.ty.name(),
                        want.ty.name()
                    )))
                }
                Some(_) => {}
                None => {
                    q(format!("ALTER TABLE {name} ADD COLUMN {} {}", ident(&want.name), sql_type(want.ty)))
                        .execute(&mut *tx)
                        .await?;
                }
            }
        }
        // Rows written by an earlier run (or another program) push the clock forward.
        let max: Option<String> = sqlx::query_scalar(AssertSqlSafe(format!("SELECT max(\"updatedAt\") FROM {name}")))
            .fetch_one(&mut *tx)
            .await?;
        if let Some(ms) = max.and_then(|m| DateTime::parse_from_rfc3339(&m).ok()).map(|d| d.timestamp_millis()) {
            advance_clock(&mut tx, &table.name, ms).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn columns(&self, table: &TableDef) -> Result<Vec<Column>, Error> {
        if !table.dynamic {
            // Declared: no connection needed (on PostgreSQL, taking one is a round trip).
            return Ok(table.columns.clone());
        }
        let mut conn = self.reader.acquire().await?;
        user_columns(&mut conn, table).await
    }

    async fn query(&self, table: &TableDef, options: &QueryOptions, top: u64) -> Result<QueryPage, Error> {
        let mut conn = self.reader.acquire().await?;
        let mut tx = conn.begin().await?;
        let user = user_columns(&mut tx, table).await?;
        let columns = all_columns(&user);
        let PageSql { select, count, params } = page_sql(table, &columns, options, Dialect::Sqlite)?;
        let sql = select;
        let limit = i64::try_from(top.saturating_add(1)).unwrap_or(i64::MAX);
        let offset = i64::try_from(options.skip).unwrap_or(i64::MAX);
        let rows = bind_all(q(sql), &params).bind(limit).bind(offset).fetch_all(&mut *tx).await?;
        let more = rows.len() as u64 > top;
        let top = usize::try_from(top).unwrap_or(usize::MAX);
        let mut page = PageWriter::new(table, &columns, options.select.as_deref(), rows.len().min(top));
        for row in rows.iter().take(top) {
            page.row(row)?;
        }
        let (rows_json, rows) = page.finish();
        let count = if options.inline_count {
            let row = bind_all(q(count), &params).fetch_one(&mut *tx).await?;
            Some(u64::try_from(row.try_get::<i64, _>(0)?).unwrap_or(0))
        } else {
            None
        };
        tx.commit().await?;
        Ok(QueryPage { rows_json, rows, more, count })
    }

    async fn read(&self, table: &TableDef, id: &str) -> Result<Option<Item>, Error> {
        let mut conn = self.reader.acquire().await?;
        let user = user_columns(&mut conn, table).await?;
        let item = fetch_item(&mut conn, &table.name, &all_columns(&user), id).await?;
        Ok(item.filter(|i| !is_deleted(i)))
    }

    async fn write(&self, table: &TableDef, write: Write, owner: Option<&str>) -> Result<Item, Error> {
        let mut conn = self.writer.acquire().await?;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        let item = write_in(&mut tx, table, write, owner).await?;
        tx.commit().await?;
        Ok(item)
    }

    async fn write_many(
        &self,
        table: &TableDef,
        writes: Vec<Result<Write, Error>>,
        owner: Option<&str>,
    ) -> Result<Vec<Result<Item, Error>>, Error> {
        let mut conn = self.writer.acquire().await?;
        if plan::can_plan(table, &writes) {
            let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
            match write_planned(&mut tx, table, &writes, owner).await {
                Ok(out) => {
                    tx.commit().await?;
                    return Ok(out);
                }
                // A write alone: a failing statement is its own answer, and nothing commits.
                Err(e) if writes.len() == 1 => return Ok(vec![Err(e)]),
                // A statement that fails (a value the database refuses) would fail the others
                // of its multi-row statement too: nothing was committed, so the writes run
                // again, one by one, in a new transaction.
                Err(_) => tx.rollback().await?,
            }
        }
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        let out = write_each(&mut *tx, table, writes, owner).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn seed(&self, table: &TableDef, rows: Vec<SeedRow>, updated_at: &str) -> Result<(), Error> {
        let at = sync_core::backend::canonical_datetime(updated_at)
            .ok_or_else(|| Error::bad_request(format!("seed: {updated_at:?} is not a date-time")))?;
        let ms = DateTime::parse_from_rfc3339(&at).map(|d| d.timestamp_millis()).unwrap_or_default();
        let mut conn = self.writer.acquire().await?;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        for row in rows {
            let values = storable(&mut tx, table, row.values).await?;
            insert_row(&mut tx, table, &row.id, &values, &at, row.deleted).await?;
        }
        advance_clock(&mut tx, &table.name, ms).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }
}
