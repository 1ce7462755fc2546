//! The PostgreSQL backend (sqlx), for several servers on one database.
//!
//! Layout: as on SQLite (see [`super::sqlite`]), one table per synced table with `id` as the
//! primary key, the system columns, an index on `(updatedAt, id)` (NULLs first, the order queries
//! sort in) and typed user columns
//! (`text`, `boolean`, `bigint`, `double precision`, and the text domains `sync_datetime` and
//! `sync_json`, so a dynamic table's schema is read back from the catalogue), plus a hidden
//! identity column that breaks ties in insertion order. The server's own tables come from
//! embedded migrations ([`schema`]).
//!
//! # Writes
//! A write is one transaction (READ COMMITTED) that first locks its table's row in
//! `__sync_clock` with `INSERT … ON CONFLICT DO UPDATE SET last_ms = GREATEST(last_ms + 1, now)
//! RETURNING last_ms`. That one statement both computes the new `updatedAt` and holds the lock
//! until commit, so:
//! - `updatedAt` is strictly increasing and unique per table, whatever the number of servers;
//! - rows become visible in `updatedAt` order (a writer gets its value only after the previous
//!   writer committed), so a keyset cursor never skips a row that commits late;
//! - the precondition read (`SELECT … FOR UPDATE`) and the write see the latest committed row:
//!   no lost update, a stale `If-Match` is always a 412;
//! - every write takes the clock lock before any row lock, so writers never deadlock.
//!
//! Writes to one table are therefore serial (as on SQLite, where one connection writes), while
//! reads run in parallel on the pool. `write_many` (a `$batch`, or a group of single writes, see
//! [`super::group`]) runs its writes in one such transaction and commits once: writes of distinct
//! ids take the clock once for all (reserving one `updatedAt` per write), lock their rows with one
//! `SELECT … FOR UPDATE` and write with multi-row statements ([`super::plan`]); others run each
//! in a savepoint, each taking the clock in turn. A group of inserts only that name the same
//! columns (a lone POST among them) needs no transaction: one statement takes the clock and
//! inserts ([`insert`]). A dynamic table's new columns are added before the write (see
//! [`schema::ensure_columns`]).

#[cfg(test)]
mod fuzz;
mod insert;
mod rows;
mod schema;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool, Postgres, Row};
use sync_core::backend::format_datetime;
use sync_core::Column;

use self::insert::Alone;
use self::rows::{bind, bind_params, db_error, item_from_row, q};
pub(crate) use self::schema::SEQ;
use self::schema::{ensure_columns, user_columns};
use super::filter::{ident, Dialect};
use super::page_json::PageWriter;
use super::page_sql::{all_columns, page_sql, select_list, PageSql};
use super::{
    insert_conflict, is_deleted, known_values, new_version, owned, plan, write_each, Backend, ColumnValue, Item,
    QueryPage, SavepointTx, SeedRow, SqlValue, Write,
};
use crate::error::{short, Error, ServerError};
use crate::odata::QueryOptions;
use crate::table::TableDef;

/// Connections per server.
const POOL_SIZE: u32 = 10;
/// How long a request waits for a connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// A pooled connection idle this long is pinged before a request gets it.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);
/// The longest writes keep one connection before it goes back to the pool.
const KEEP_AT_MOST: Duration = Duration::from_secs(60);

/// PostgreSQL storage: a connection pool, and one connection writes keep between them.
#[derive(Debug, Clone)]
pub(crate) struct PostgresBackend {
    pool: PgPool,
    /// The connection the last write that succeeded gave back, and when. sqlx pings every
    /// connection handed back to its pool, a round trip that costs a lone POST (one statement)
    /// nearly as much again; a write that finds this one takes it instead.
    kept: Arc<Mutex<Option<Kept>>>,
}

/// A connection kept between writes.
#[derive(Debug)]
struct Kept {
    conn: PoolConnection<Postgres>,
    /// When the last write that used it ended.
    used: Instant,
    /// Since when it has been kept without going back to the pool.
    since: Instant,
}

impl PostgresBackend {
    /// Connects to `postgres://…` and applies the embedded migrations.
    pub(crate) async fn open(url: &str) -> Result<Self, ServerError> {
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A ping on every checkout is a round trip per request (a sixth of a lone POST's
            // time). Only a connection that sat idle is pinged: one used a moment ago is alive
            // (the window connection pools commonly trust), and one that broke (the database
            // restarted, a proxy dropped it) is replaced before a request gets it.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_AFTER_IDLE {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect(url)
            .await?;
        schema::migrate(&pool).await?;
        Ok(PostgresBackend { pool, kept: Arc::default() })
    }

    /// A connection for a write, and since when it has been kept (now, for one from the pool):
    /// the kept one when it was used within [`PING_AFTER_IDLE`] (as the pool trusts its own),
    /// else one from the pool (the kept one goes back to it, to be pinged there).
    async fn write_connection(&self) -> Result<(PoolConnection<Postgres>, Instant), Error> {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner).take();
        match kept {
            Some(kept) if kept.used.elapsed() < PING_AFTER_IDLE => Ok((kept.conn, kept.since)),
            _ => Ok((self.pool.acquire().await?, Instant::now())),
        }
    }

    /// Keeps the connection of a write that succeeded (one that failed, or whose future was
    /// dropped half-way, goes back to the pool, which checks it), unless one is kept already or
    /// the pool is closing. One kept for [`KEEP_AT_MOST`] goes back too, so the pool's own care
    /// (the check of a connection given back, its maximum lifetime) reaches it as the others.
    fn keep(&self, conn: PoolConnection<Postgres>, since: Instant) {
        if since.elapsed() >= KEEP_AT_MOST {
            return;
        }
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        // Checked under the lock that `close` takes after marking the pool closed.
        if kept.is_none() && !self.pool.is_closed() {
            *kept = Some(Kept { conn, used: Instant::now(), since });
        }
    }
}

/// The row of an id, locked for the rest of the transaction.
async fn fetch_for_update(
    conn: &mut PgConnection,
    table: &str,
    columns: &[Column],
    id: &str,
) -> Result<Option<Item>, Error> {
    let sql = format!("SELECT {} FROM {} WHERE \"id\" = $1 FOR UPDATE", select_list(columns), ident(table));
    let row = q(sql).bind(id.to_owned()).fetch_optional(&mut *conn).await.map_err(|e| db_error(e, false))?;
    Ok(match row {
        Some(row) => Some(item_from_row(&row, columns)?),
        None => None,
    })
}

/// Locks the table's clock and returns its next `updatedAt`: max(now, last + 1 ms).
async fn tick(conn: &mut PgConnection, table: &str) -> Result<String, Error> {
    stamp(tick_ms(conn, table).await?)
}

/// [`tick`] in milliseconds since the epoch.
async fn tick_ms(conn: &mut PgConnection, table: &str) -> Result<i64, Error> {
    reserve_ms(conn, table, 1).await
}

/// Locks the table's clock and reserves `n` (at least one) consecutive `updatedAt`s, the first
/// max(now, last + 1 ms); returns the first, in milliseconds since the epoch.
async fn reserve_ms(conn: &mut PgConnection, table: &str, n: usize) -> Result<i64, Error> {
    let extra = i64::try_from(n.saturating_sub(1)).map_err(|_| Error::internal("too many writes"))?;
    let now = Utc::now().timestamp_millis();
    let last: i64 = sqlx::query_scalar(
        "INSERT INTO __sync_clock (name, last_ms) VALUES ($1, $2 + $3) \
         ON CONFLICT (name) DO UPDATE SET last_ms = GREATEST(__sync_clock.last_ms + 1, $2) + $3 \
         RETURNING last_ms",
    )
    .bind(table)
    .bind(now)
    .bind(extra)
    .fetch_one(&mut *conn)
    .await?;
    Ok(last - extra)
}

/// An `updatedAt` from milliseconds since the epoch.
fn stamp(ms: i64) -> Result<String, Error> {
    let at = DateTime::from_timestamp_millis(ms).ok_or_else(|| Error::internal("the clock is out of range"))?;
    Ok(format_datetime(at))
}

async fn insert_row(
    conn: &mut PgConnection,
    table: &TableDef,
    id: &str,
    values: &[ColumnValue],
    at: &str,
    deleted: bool,
) -> Result<bool, Error> {
    let mut names = vec!["id", "createdAt", "updatedAt", "version", "deleted"];
    names.extend(values.iter().map(|v| v.name.as_str()));
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (\"id\") DO NOTHING",
        ident(&table.name),
        names.iter().map(|n| ident(n)).collect::<Vec<_>>().join(", "),
        (1..=names.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
    );
    let query = q(sql).bind(id.to_owned()).bind(at.to_owned()).bind(at.to_owned()).bind(new_version()).bind(deleted);
    let query = values.iter().fold(query, |query, v| bind(query, &v.value, v.ty));
    let done = query.execute(&mut *conn).await.map_err(|e| db_error(e, false))?;
    Ok(done.rows_affected() == 1)
}

/// `UPDATE … SET <assignments>, updatedAt, version WHERE id`.
async fn update_row(
    conn: &mut PgConnection,
    table: &TableDef,
    id: &str,
    sets: &[ColumnValue],
    at: &str,
) -> Result<(), Error> {
    let mut assignments: Vec<String> =
        sets.iter().enumerate().map(|(i, v)| format!("{} = ${}", ident(&v.name), i + 1)).collect();
    let n = sets.len();
    assignments.push(format!("\"updatedAt\" = ${}", n + 1));
    assignments.push(format!("\"version\" = ${}", n + 2));
    let sql = format!("UPDATE {} SET {} WHERE \"id\" = ${}", ident(&table.name), assignments.join(", "), n + 3);
    let query = sets.iter().fold(q(sql), |query, v| bind(query, &v.value, v.ty));
    query
        .bind(at.to_owned())
        .bind(new_version())
        .bind(id.to_owned())
        .execute(&mut *conn)
        .await
        .map_err(|e| db_error(e, false))?;
    Ok(())
}

fn deleted_flag(deleted: bool) -> ColumnValue {
    ColumnValue { name: "deleted".to_owned(), ty: sync_core::ColumnType::Bool, value: SqlValue::Bool(deleted) }
}

/// A write's values that the table stores (dynamic tables: after [`ensure_columns`]).
fn storable(table: &TableDef, user: &[Column], values: Vec<ColumnValue>) -> Vec<ColumnValue> {
    if table.dynamic {
        known_values(user, values)
    } else {
        values
    }
}

/// One write inside the caller's transaction, the clock taken first (see the module docs);
/// nothing is committed here, and on an error the caller rolls back what it did.
async fn write_in(tx: &mut PgConnection, table: &TableDef, write: Write, owner: Option<&str>) -> Result<Item, Error> {
    // The clock first, always: see the module docs.
    let at = tick(&mut *tx, &table.name).await?;
    let user = user_columns(&mut *tx, table).await?;
    let columns = all_columns(&user);
    let id = write.id().to_owned();
    let current = owned(&write, fetch_for_update(&mut *tx, &table.name, &columns, &id).await?, owner)?;
    let answer = match write {
        Write::Insert { values, .. } => {
            if let Some(existing) = current {
                return Err(Error::conflict(409, existing));
            }
            let values = storable(table, &user, values);
            if !insert_row(&mut *tx, table, &id, &values, &at, false).await? {
                // Inserted meanwhile by a writer that does not take the clock (a seed).
                let existing = fetch_for_update(&mut *tx, &table.name, &columns, &id).await?;
                return Err(existing
                    .map_or_else(|| Error::internal("the conflicting row is gone"), |e| insert_conflict(e, owner)));
            }
            None
        }
        Write::Update { values, pre, .. } => {
            let current = current.filter(|c| !is_deleted(c)).ok_or_else(Error::no_item)?;
            pre.check(&current)?;
            update_row(&mut *tx, table, &id, &storable(table, &user, values), &at).await?;
            None
        }
        Write::Delete { pre, .. } => {
            let current = current.filter(|c| !is_deleted(c)).ok_or_else(Error::no_item)?;
            pre.check(&current)?;
            if table.options.soft_delete {
                update_row(&mut *tx, table, &id, &[deleted_flag(true)], &at).await?;
                None
            } else {
                q(format!("DELETE FROM {} WHERE \"id\" = $1", ident(&table.name)))
                    .bind(id.clone())
                    .execute(&mut *tx)
                    .await?;
                Some(current)
            }
        }
        Write::Undelete { pre, .. } => {
            let current = current.ok_or_else(Error::no_item)?;
            pre.check(&current)?;
            update_row(&mut *tx, table, &id, &[deleted_flag(false)], &at).await?;
            None
        }
    };
    let item = match answer {
        Some(item) => item,
        None => fetch_for_update(&mut *tx, &table.name, &columns, &id)
            .await?
            .ok_or_else(|| Error::internal("the written row is gone"))?,
    };
    Ok(item)
}

/// [`write_each`]'s steps on this backend.
#[async_trait]
impl SavepointTx for PgConnection {
    async fn write_one(&mut self, table: &TableDef, write: Write, owner: Option<&str>) -> Result<Item, Error> {
        write_in(self, table, write, owner).await
    }

    async fn savepoint(&mut self, sql: &'static str) -> Result<(), Error> {
        q(sql.to_owned()).execute(self).await?;
        Ok(())
    }
}

/// The most parameters one statement binds (PostgreSQL's limit is 65,535).
const MAX_PARAMS: usize = 60_000;

/// Writes that pass [`plan::can_plan`], decided at once (see [`plan`]): the clock first (as
/// every write takes it, see the module docs), reserving one `updatedAt` per write, one
/// `SELECT … FOR UPDATE` of their rows (none when all are inserts, see [`plan::only_inserts`]),
/// one multi-row `INSERT … RETURNING` per run of inserts and one `UPDATE … RETURNING` per other
/// write. An `Err` is a statement that failed; the caller rolls
/// back what this did.
async fn write_planned(
    tx: &mut PgConnection,
    table: &TableDef,
    writes: &[Result<Write, Error>],
    owner: Option<&str>,
) -> Result<Vec<Result<Item, Error>>, Error> {
    // One `updatedAt` for each write that reached the backend; those of writes that fail are
    // skipped (still unique and increasing).
    let first = reserve_ms(&mut *tx, &table.name, writes.iter().flatten().count()).await?;
    let columns = all_columns(&table.columns);
    // Only inserts: no read, see `plan::only_inserts`.
    let mut current = if plan::only_inserts(writes) {
        std::collections::HashMap::new()
    } else {
        fetch_many_for_update(&mut *tx, &table.name, &columns, &plan::ids(writes)).await?
    };
    let plan::Plan { outcomes, actions } = plan::plan(table, writes, &mut current, owner);
    let mut items: Vec<Option<Result<Item, Error>>> = Vec::with_capacity(actions.len());
    items.resize_with(actions.len(), || None);
    let stamps = (0..actions.len() as i64).map(|k| stamp(first + k)).collect::<Result<Vec<_>, _>>()?;
    let returning = select_list(&columns);
    let width = 5 + actions
        .iter()
        .map(|a| if let plan::Action::Insert { values, .. } = a { values.len() } else { 0 })
        .max()
        .unwrap_or(0);
    for run in plan::insert_runs(&actions, MAX_PARAMS / width) {
        let plan::Action::Insert { values: first_values, .. } = &actions[run.start] else { continue };
        let mut names = vec!["id", "createdAt", "updatedAt", "version", "deleted"];
        names.extend(first_values.iter().map(|v| v.name.as_str()));
        let rows = (0..run.len())
            .map(|r| {
                let at = r * names.len();
                format!("({})", (1..=names.len()).map(|i| format!("${}", at + i)).collect::<Vec<_>>().join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {rows} ON CONFLICT (\"id\") DO NOTHING RETURNING {returning}",
            ident(&table.name),
            names.iter().map(|n| ident(n)).collect::<Vec<_>>().join(", "),
        );
        let mut query = q(sql);
        for k in run.clone() {
            let plan::Action::Insert { id, values } = &actions[k] else { continue };
            query = query
                .bind((*id).to_owned())
                .bind(stamps[k].clone())
                .bind(stamps[k].clone())
                .bind(new_version())
                .bind(false);
            query = values.iter().fold(query, |query, v| bind(query, &v.value, v.ty));
        }
        let rows = query.fetch_all(&mut *tx).await.map_err(|e| db_error(e, false))?;
        insert::answer_inserts(&mut *tx, &table.name, &columns, &actions, run, rows, owner, &mut items).await?;
    }
    for (k, action) in actions.iter().enumerate() {
        match action {
            plan::Action::Insert { .. } => {}
            plan::Action::Update { id, values, deleted } => {
                let flag = deleted.map(deleted_flag);
                let sets: Vec<&ColumnValue> = values.iter().chain(flag.as_ref()).collect();
                let mut assignments: Vec<String> =
                    sets.iter().enumerate().map(|(i, v)| format!("{} = ${}", ident(&v.name), i + 1)).collect();
                let n = sets.len();
                assignments.push(format!("\"updatedAt\" = ${}", n + 1));
                assignments.push(format!("\"version\" = ${}", n + 2));
                let sql = format!(
                    "UPDATE {} SET {} WHERE \"id\" = ${} RETURNING {returning}",
                    ident(&table.name),
                    assignments.join(", "),
                    n + 3
                );
                let query = sets.iter().fold(q(sql), |query, v| bind(query, &v.value, v.ty));
                let row = query
                    .bind(stamps[k].clone())
                    .bind(new_version())
                    .bind((*id).to_owned())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(|e| db_error(e, false))?;
                items[k] = Some(match row {
                    Some(row) => Ok(item_from_row(&row, &columns)?),
                    None => Err(Error::internal("the written row is gone")),
                });
            }
            plan::Action::Remove { id, item } => {
                q(format!("DELETE FROM {} WHERE \"id\" = $1", ident(&table.name)))
                    .bind((*id).to_owned())
                    .execute(&mut *tx)
                    .await?;
                items[k] = Some(Ok(item.clone()));
            }
        }
    }
    Ok(plan::answers(outcomes, items))
}

/// The stored rows of `ids` (soft-deleted ones included), by id, locked for the rest of the
/// transaction.
async fn fetch_many_for_update(
    conn: &mut PgConnection,
    table: &str,
    columns: &[Column],
    ids: &[&str],
) -> Result<std::collections::HashMap<String, Item>, Error> {
    // One index lookup per id, whatever the planner knows of the table: `id = ANY($1)` on a
    // table it has no statistics for yet is planned as a scan that compares every row with
    // every id.
    let sql = format!(
        "SELECT r.* FROM unnest($1::text[]) AS u(id) CROSS JOIN LATERAL \
         (SELECT {} FROM {} AS t WHERE t.\"id\" = u.id FOR UPDATE) AS r",
        select_list(columns),
        ident(table)
    );
    let ids: Vec<String> = ids.iter().map(|id| (*id).to_owned()).collect();
    let rows = q(sql).bind(ids).fetch_all(&mut *conn).await.map_err(|e| db_error(e, false))?;
    let mut out = std::collections::HashMap::with_capacity(rows.len());
    for row in rows {
        let item = item_from_row(&row, columns)?;
        if let Some(serde_json::Value::String(id)) = item.get("id") {
            out.insert(id.clone(), item);
        }
    }
    Ok(out)
}

/// [`Backend::write_many`] on a connection: inserts only as one statement ([`insert`]), other
/// batches decided at once ([`write_planned`]) or, when they cannot be or a statement fails,
/// write by write.
async fn write_many_on(
    conn: &mut PgConnection,
    table: &TableDef,
    writes: Vec<Result<Write, Error>>,
    owner: Option<&str>,
) -> Result<Vec<Result<Item, Error>>, Error> {
    if plan::can_plan(table, &writes) {
        let alone = if plan::only_inserts(&writes) {
            insert::insert_alone(&mut *conn, table, &writes, owner).await?
        } else {
            Alone::NotOne
        };
        let failed = match alone {
            Alone::Done(out) => return Ok(out),
            Alone::Failed(e) => e,
            Alone::NotOne => {
                let mut tx = conn.begin().await?;
                match write_planned(&mut tx, table, &writes, owner).await {
                    Ok(out) => {
                        tx.commit().await?;
                        return Ok(out);
                    }
                    Err(e) => {
                        tx.rollback().await?;
                        e
                    }
                }
            }
        };
        // A write alone: a failing statement is its own answer, and nothing committed.
        if writes.len() == 1 {
            return Ok(vec![Err(failed)]);
        }
        // A statement that fails (a value PostgreSQL refuses) would fail the others of its
        // multi-row statement too: nothing was committed, so the writes run again, one by
        // one, in a new transaction.
    }
    let mut tx = conn.begin().await?;
    let out = write_each(&mut *tx, table, writes, owner).await?;
    tx.commit().await?;
    Ok(out)
}

#[async_trait]
impl Backend for PostgresBackend {
    async fn prepare(&self, table: &TableDef) -> Result<(), ServerError> {
        schema::prepare(&self.pool, table).await
    }

    async fn columns(&self, table: &TableDef) -> Result<Vec<Column>, Error> {
        if !table.dynamic {
            // Declared: no connection needed (on PostgreSQL, taking one is a round trip).
            return Ok(table.columns.clone());
        }
        let mut conn = self.pool.acquire().await?;
        user_columns(&mut conn, table).await
    }

    async fn query(&self, table: &TableDef, options: &QueryOptions, top: u64) -> Result<QueryPage, Error> {
        let mut conn = self.pool.acquire().await?;
        // One snapshot for the page and its count.
        let mut tx = conn.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?;
        let user = user_columns(&mut tx, table).await?;
        let columns = all_columns(&user);
        let PageSql { select, count, params } = page_sql(table, &columns, options, Dialect::Postgres)?;
        let sql = select;
        let limit = i64::try_from(top.saturating_add(1)).unwrap_or(i64::MAX);
        let offset = i64::try_from(options.skip).unwrap_or(i64::MAX);
        let rows = bind_params(q(sql), &params)
            .bind(limit)
            .bind(offset)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| db_error(e, true))?;
        let more = rows.len() as u64 > top;
        let top = usize::try_from(top).unwrap_or(usize::MAX);
        let mut page = PageWriter::new(table, &columns, options.select.as_deref(), rows.len().min(top));
        for row in rows.iter().take(top) {
            page.row(row)?;
        }
        let (rows_json, rows) = page.finish();
        let count = if options.inline_count {
            let row = bind_params(q(count), &params).fetch_one(&mut *tx).await.map_err(|e| db_error(e, true))?;
            Some(u64::try_from(row.try_get::<i64, _>(0)?).unwrap_or(0))
        } else {
            None
        };
        tx.commit().await?;
        Ok(QueryPage { rows_json, rows, more, count })
    }

    async fn read(&self, table: &TableDef, id: &str) -> Result<Option<Item>, Error> {
        let mut conn = self.pool.acquire().await?;
        let user = user_columns(&mut conn, table).await?;
        let columns = all_columns(&user);
        let sql = format!("SELECT {} FROM {} WHERE \"id\" = $1", select_list(&columns), ident(&table.name));
        let row = q(sql).bind(id.to_owned()).fetch_optional(&mut *conn).await.map_err(|e| db_error(e, false))?;
        let item = match row {
            Some(row) => Some(item_from_row(&row, &columns)?),
            None => None,
        };
        Ok(item.filter(|i| !is_deleted(i)))
    }

    async fn write(&self, table: &TableDef, write: Write, owner: Option<&str>) -> Result<Item, Error> {
        if let Write::Insert { values, .. } | Write::Update { values, .. } = &write {
            ensure_columns(&self.pool, table, values).await?;
        }
        let (mut conn, since) = self.write_connection().await?;
        let mut tx = conn.begin().await?;
        let item = write_in(&mut tx, table, write, owner).await?;
        tx.commit().await?;
        self.keep(conn, since);
        Ok(item)
    }

    async fn write_many(
        &self,
        table: &TableDef,
        writes: Vec<Result<Write, Error>>,
        owner: Option<&str>,
    ) -> Result<Vec<Result<Item, Error>>, Error> {
        for write in writes.iter().flatten() {
            if let Write::Insert { values, .. } | Write::Update { values, .. } = write {
                ensure_columns(&self.pool, table, values).await?;
            }
        }
        let (mut conn, since) = self.write_connection().await?;
        let out = write_many_on(&mut conn, table, writes, owner).await?;
        self.keep(conn, since);
        Ok(out)
    }

    async fn seed(&self, table: &TableDef, rows: Vec<SeedRow>, updated_at: &str) -> Result<(), Error> {
        let at = sync_core::backend::canonical_datetime(updated_at)
            .ok_or_else(|| Error::bad_request(format!("seed: {updated_at:?} is not a date-time")))?;
        let ms = DateTime::parse_from_rfc3339(&at).map(|d| d.timestamp_millis()).unwrap_or_default();
        for row in &rows {
            ensure_columns(&self.pool, table, &row.values).await?;
        }
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin().await?;
        let user = user_columns(&mut tx, table).await?;
        for row in rows {
            let values = storable(table, &user, row.values);
            if !insert_row(&mut tx, table, &row.id, &values, &at, row.deleted).await? {
                return Err(Error::bad_request(format!("seed: the id {:?} exists", short(&row.id))));
            }
        }
        sqlx::query(
            "INSERT INTO __sync_clock (name, last_ms) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET last_ms = GREATEST(__sync_clock.last_ms, excluded.last_ms)",
        )
        .bind(&table.name)
        .bind(ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn close(&self) {
        // The pool's close waits for every connection out of it, the kept one too: it is marked
        // closed first (so `keep` keeps nothing more), then the kept one goes back.
        let closing = self.pool.close();
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner).take();
        drop(kept);
        closing.await;
    }
}

#[cfg(test)]
mod kept_tests {
    use super::*;
    use crate::test_postgres::PgServer;

    /// A write's connection is kept for the next write, unless it has been kept for
    /// [`KEEP_AT_MOST`] already: that one goes back to the pool. Closing gives the kept one back
    /// (else the pool's close would wait for it for ever).
    #[tokio::test]
    async fn writes_keep_a_connection_for_a_while_only() {
        let url = PgServer::shared().fresh_database().await.unwrap_or_else(|e| panic!("{e}"));
        let backend = PostgresBackend::open(&url).await.expect("open");
        let is_kept = |b: &PostgresBackend| b.kept.lock().unwrap_or_else(PoisonError::into_inner).is_some();
        let (conn, since) = backend.write_connection().await.expect("a connection");
        backend.keep(conn, since);
        assert!(is_kept(&backend), "kept for the next write");
        let (conn, since_again) = backend.write_connection().await.expect("the kept one");
        assert!(!is_kept(&backend) && since_again == since, "the next write takes it");
        let Some(long_ago) = Instant::now().checked_sub(KEEP_AT_MOST) else { return };
        backend.keep(conn, long_ago);
        assert!(!is_kept(&backend), "kept too long: back to the pool");
        let (conn, since) = backend.write_connection().await.expect("a connection");
        backend.keep(conn, since);
        tokio::time::timeout(Duration::from_secs(10), backend.close())
            .await
            .expect("close does not wait for the kept one");
        assert!(!is_kept(&backend));
    }
}
