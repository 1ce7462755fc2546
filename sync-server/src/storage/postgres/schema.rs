//! The PostgreSQL schema: the embedded migrations of the server's own tables, the synced tables
//! made or extended from their declarations, and the columns a dynamic table has.
//!
//! Every DDL statement runs under a transaction-scoped advisory lock named after its table
//! (`pg_advisory_xact_lock`), so servers that start or add a column at the same moment take
//! turns, and each re-reads the catalogue after it got the lock (`IF NOT EXISTS` plus a type
//! check): two instances adding one column both succeed, and a clash of types is a clear error.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Connection, PgConnection, PgPool, Row, SqlSafeStr};
use sync_core::{Column, ColumnType};

use super::rows::q;
use crate::error::{Error, ServerError};
use crate::storage::filter::ident;
use crate::storage::{new_columns, ColumnValue};
use crate::table::{system_columns, TableDef};

/// The hidden column that orders rows of equal sort keys by insertion (SQLite's `rowid`).
pub(crate) const SEQ: &str = "__seq";

/// The migrations of the server's own schema (`migrations/postgres/` of this crate), applied by
/// [`migrate`] under sqlx's advisory lock and recorded in `__sync_migrations`.
fn migrator() -> Migrator {
    let mut m = Migrator::with_migrations(vec![Migration::new(
        1,
        Cow::Borrowed("server schema"),
        MigrationType::Simple,
        include_str!("../../../migrations/postgres/0001_server_schema.sql").into_sql_str(),
        false,
    )]);
    m.dangerous_set_table_name("__sync_migrations");
    m
}

/// Applies the embedded migrations that the database lacks.
pub(super) async fn migrate(pool: &PgPool) -> Result<(), ServerError> {
    migrator().run(pool).await.map_err(|e| ServerError::Config(format!("PostgreSQL migrations: {e}")))
}

/// PostgreSQL cuts longer names (to 63 bytes) without an error, which would make two names one.
const MAX_NAME_BYTES: usize = 63;

/// A name PostgreSQL keeps as it is, else the message why not.
fn check_name(what: &str, name: &str) -> Result<(), String> {
    if name.len() > MAX_NAME_BYTES {
        return Err(format!("the {what} name '{name}' is longer than PostgreSQL's {MAX_NAME_BYTES} bytes"));
    }
    Ok(())
}

/// The SQL type of a protocol type.
pub(super) fn sql_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::String => "text COLLATE \"C\"",
        ColumnType::Bool => "boolean",
        ColumnType::Integer => "bigint",
        ColumnType::Real => "double precision",
        ColumnType::DateTime => "sync_datetime",
        ColumnType::Json => "sync_json",
    }
}

/// The protocol type of a stored column, from its type's name in `pg_type`.
fn column_type(type_name: &str) -> ColumnType {
    match type_name {
        "bool" => ColumnType::Bool,
        "int2" | "int4" | "int8" => ColumnType::Integer,
        "float4" | "float8" | "numeric" => ColumnType::Real,
        "sync_datetime" => ColumnType::DateTime,
        "sync_json" => ColumnType::Json,
        // text, varchar and anything another program made.
        _ => ColumnType::String,
    }
}

/// The stored columns of a table (`None`: no such table), without the hidden [`SEQ`].
pub(super) async fn stored_columns(conn: &mut PgConnection, table: &str) -> Result<Option<Vec<Column>>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
         WHERE a.attrelid = to_regclass(quote_ident($1)) AND a.attnum > 0 AND NOT a.attisdropped \
         ORDER BY a.attnum",
    )
    .bind(table)
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let name: String = row.try_get(0)?;
        let ty: String = row.try_get(1)?;
        if name != SEQ {
            out.push(Column::nullable(name, column_type(&ty)));
        }
    }
    Ok(Some(out))
}

/// The user columns a request works with: declared ones, or (dynamic) the stored ones.
pub(super) async fn user_columns(conn: &mut PgConnection, table: &TableDef) -> Result<Vec<Column>, Error> {
    if !table.dynamic {
        return Ok(table.columns.clone());
    }
    let stored = stored_columns(conn, &table.name).await?.unwrap_or_default();
    let system = system_columns();
    Ok(stored.into_iter().filter(|c| !system.iter().any(|s| s.name == c.name)).collect())
}

/// Takes the table's DDL lock until the transaction ends.
async fn ddl_lock(conn: &mut PgConnection, table: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('sync-server ddl ' || $1, 0))")
        .bind(table)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The name of the `(updatedAt, id)` index earlier versions made, at most 63 bytes (PostgreSQL
/// cuts longer ones, which could make two tables' names equal).
fn old_index_name(table: &str) -> String {
    let name = format!("__ix_{table}_updatedAt_id");
    if name.len() <= 63 {
        return name;
    }
    format!("__ix_{}_{:016x}", &table[..table.len().min(40)], name_hash(table))
}

/// The name of the keyset index, `(updatedAt NULLS FIRST, id NULLS FIRST)`, at most 63 bytes.
fn index_name(table: &str) -> String {
    let name = format!("__ix_{table}_keyset");
    if name.len() <= 63 {
        return name;
    }
    format!("__ix_{}_{:016x}_k", &table[..table.len().min(38)], name_hash(table))
}

/// FNV-1a of a table name.
fn name_hash(table: &str) -> u64 {
    table.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Creates the table, or checks and extends an existing one to its declared columns; moves the
/// table's clock past the rows already stored.
pub(super) async fn prepare(pool: &PgPool, table: &TableDef) -> Result<(), ServerError> {
    check_name("table", &table.name).map_err(ServerError::Config)?;
    for c in &table.columns {
        check_name("column", &c.name).map_err(|e| ServerError::Config(format!("table {}: {e}", table.name)))?;
    }
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    ddl_lock(&mut tx, &table.name).await?;
    let name = ident(&table.name);
    let mut create = format!(
        "CREATE TABLE IF NOT EXISTS {name} (\"id\" text COLLATE \"C\" PRIMARY KEY, \
         \"createdAt\" sync_datetime NOT NULL, \"updatedAt\" sync_datetime NOT NULL, \
         \"version\" text NOT NULL, \"deleted\" boolean NOT NULL DEFAULT false, \
         {} bigint GENERATED BY DEFAULT AS IDENTITY",
        ident(SEQ)
    );
    for c in &table.columns {
        create.push_str(&format!(", {} {}", ident(&c.name), sql_type(c.ty)));
    }
    create.push(')');
    q(create).execute(&mut *tx).await?;
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
    q(format!("ALTER TABLE {name} ADD COLUMN IF NOT EXISTS {} bigint GENERATED BY DEFAULT AS IDENTITY", ident(SEQ)))
        .execute(&mut *tx)
        .await?;
    // The keyset index sorts NULLs first, as queries do here (SQLite's order), so a pull's
    // `ORDER BY "updatedAt" ASC NULLS FIRST, "id" ASC NULLS FIRST` is read from it with no sort;
    // the index of earlier versions (NULLs last) made every page sort the rest of the table.
    q(format!(
        "CREATE INDEX IF NOT EXISTS {} ON {name} (\"updatedAt\" NULLS FIRST, \"id\" NULLS FIRST)",
        ident(&index_name(&table.name))
    ))
    .execute(&mut *tx)
    .await?;
    q(format!("DROP INDEX IF EXISTS {}", ident(&old_index_name(&table.name)))).execute(&mut *tx).await?;
    // Rows written by an earlier run (or another program) push the clock forward.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO __sync_clock (name, last_ms) \
         SELECT $1, COALESCE(floor(extract(epoch FROM max(CAST(\"updatedAt\" AS timestamptz))) * 1000), 0) FROM {name} \
         ON CONFLICT (name) DO UPDATE SET last_ms = GREATEST(__sync_clock.last_ms, excluded.last_ms)"
    )))
    .bind(&table.name)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Adds the columns a write to a dynamic table brings, in a transaction of its own (before the
/// write's: DDL inside the write would hold row locks while it waits for the table lock, and two
/// such writes would deadlock). A column added for a write that then fails stays: it is empty.
pub(super) async fn ensure_columns(pool: &PgPool, table: &TableDef, values: &[ColumnValue]) -> Result<(), Error> {
    if !table.dynamic {
        return Ok(());
    }
    let mut conn = pool.acquire().await?;
    let stored = stored_columns(&mut conn, &table.name).await?.unwrap_or_default();
    let new = new_columns(&stored, values)?;
    if new.is_empty() {
        return Ok(());
    }
    for v in new {
        check_name("column", &v.name).map_err(Error::bad_request)?;
    }
    let mut tx = conn.begin().await?;
    ddl_lock(&mut tx, &table.name).await?;
    // Another server may have added some of them meanwhile: decide again under the lock.
    let stored = stored_columns(&mut tx, &table.name).await?.unwrap_or_default();
    for v in new_columns(&stored, values)? {
        let sql = format!(
            "ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}",
            ident(&table.name),
            ident(&v.name),
            sql_type(v.ty)
        );
        q(sql).execute(&mut *tx).await?;
        tracing::info!(table = %table.name, column = %v.name, ty = v.ty.name(), "column added");
    }
    tx.commit().await?;
    Ok(())
}
