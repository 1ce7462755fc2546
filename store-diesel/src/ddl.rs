//! Creating entity tables from a [`TableSchema`] and upgrading them when the schema grows.
//!
//! # Tables
//! One typed column per field (see [`crate::rows`] for the values): String, DateTime and Json as
//! `TEXT`, Bool and Integer as `INTEGER`, Real as `REAL`; `id` is the `TEXT PRIMARY KEY`, and an
//! index on `updatedAt` serves incremental pulls. SQL names are chosen so that protocol names that
//! differ only in case never collide (see the catalogue docs in the source); usually they are the
//! names themselves.
//!
//! # Upgrade rules
//! Compared with the schema the table was last opened with (kept in the `__tables` catalogue),
//! the only accepted change is **adding nullable columns** (`ALTER TABLE … ADD COLUMN`; existing
//! rows read `null` there). Everything else is [`StoreError::IncompatibleSchema`] and leaves the
//! table untouched, so no data is ever silently lost or misread:
//! - a new **non-null** column (existing rows have no value for it);
//! - a **type change** (stored values would no longer read back as the new type);
//! - a **nullability change** either way (tightening would break on stored nulls; loosening
//!   would let this client write nulls an older client of the same file cannot read);
//! - a **removed column** (its data would silently disappear from reads and writes).
//!
//! Only `id` carries a `NOT NULL` constraint in SQL: nullability is the schema's job (every write
//! is checked against it), which keeps added columns plain `ALTER TABLE … ADD COLUMN`s.

use std::collections::BTreeMap;
use std::sync::Arc;

use sync_core::backend::StoreError;
use sync_core::{ColumnType, TableSchema};

use crate::catalogue::{self, quote, StoredTable, TableInfo};
use crate::connection::Db;
use crate::error;
use crate::statement::Stmt;

/// The SQLite type of a column.
pub(crate) fn sql_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::String | ColumnType::DateTime | ColumnType::Json => "TEXT",
        ColumnType::Bool | ColumnType::Integer => "INTEGER",
        ColumnType::Real => "REAL",
    }
}

/// Creates or upgrades the table for `schema` (call inside a write transaction) and returns its
/// statements.
pub(crate) fn ensure_table(db: &mut Db, schema: &TableSchema) -> Result<Arc<TableInfo>, StoreError> {
    let stored = match catalogue::find(db, schema.name())? {
        None => create(db, schema)?,
        Some(stored) if stored.schema == *schema => stored,
        Some(stored) => upgrade(db, schema, stored)?,
    };
    Ok(Arc::new(TableInfo::new(&stored)?))
}

fn create(db: &mut Db, schema: &TableSchema) -> Result<StoredTable, StoreError> {
    let existing = db
        .load(Stmt::new("SELECT lower(\"name\") FROM sqlite_master", vec![]))
        .map_err(|e| error::db("listing the database's tables", e))?;
    let mut taken: Vec<String> = existing.into_iter().filter_map(|r| r.0.into_iter().next()?.into_text()).collect();
    let base = schema.name();
    let base = if base.to_ascii_lowercase().starts_with("sqlite_") { format!("t_{base}") } else { base.to_owned() };
    let sql_name = catalogue::free_name(&base, &mut taken);
    let columns = catalogue::name_columns(schema.columns(), &BTreeMap::new());
    let stored = StoredTable { schema: schema.clone(), sql_name, columns };

    let table = quote(&stored.sql_name);
    let defs = schema
        .columns()
        .iter()
        .map(|c| {
            let name = quote(stored.sql_column(&c.name)?);
            Ok(if c.name == sync_core::backend::system::ID {
                format!("{name} TEXT PRIMARY KEY NOT NULL")
            } else {
                format!("{name} {}", sql_type(c.ty))
            })
        })
        .collect::<Result<Vec<String>, StoreError>>()?;
    // Index names share the tables' namespace; `__` prefixes are never given to user tables.
    let index = quote(&format!("__idx_{}_updatedAt", stored.sql_name));
    let updated_at = quote(stored.sql_column(sync_core::backend::system::UPDATED_AT)?);
    let ddl = format!("CREATE TABLE {table} ({}); CREATE INDEX {index} ON {table} ({updated_at});", defs.join(", "));
    db.batch(&ddl).map_err(|e| error::db(&format!("creating table {:?}", schema.name()), e))?;
    catalogue::save(db, &stored)?;
    tracing::debug!(table = schema.name(), sql_name = %stored.sql_name, "created table");
    Ok(stored)
}

fn upgrade(db: &mut Db, schema: &TableSchema, stored: StoredTable) -> Result<StoredTable, StoreError> {
    let incompatible = |message: String| StoreError::IncompatibleSchema { table: schema.name().to_owned(), message };
    for old in stored.schema.columns() {
        let Some(new) = schema.column(&old.name) else {
            return Err(incompatible(format!("column {:?} is missing; its stored data would be lost", old.name)));
        };
        if new.ty != old.ty {
            return Err(incompatible(format!(
                "column {:?} changes type from {} to {}",
                old.name,
                old.ty.name(),
                new.ty.name()
            )));
        }
        if new.nullable != old.nullable {
            let how = if new.nullable { "nullable" } else { "non-null" };
            return Err(incompatible(format!("column {:?} becomes {how}", old.name)));
        }
    }
    let added: Vec<_> = schema.columns().iter().filter(|c| stored.schema.column(&c.name).is_none()).collect();
    if let Some(col) = added.iter().find(|c| !c.nullable) {
        return Err(incompatible(format!("new column {:?} is non-null but existing rows have no value", col.name)));
    }
    let columns = catalogue::name_columns(added.iter().copied(), &stored.columns);
    let upgraded = StoredTable { schema: schema.clone(), sql_name: stored.sql_name, columns };
    let table = quote(&upgraded.sql_name);
    for col in &added {
        let ddl =
            format!("ALTER TABLE {table} ADD COLUMN {} {}", quote(upgraded.sql_column(&col.name)?), sql_type(col.ty));
        db.batch(&ddl).map_err(|e| error::db(&format!("adding column {:?}", col.name), e))?;
    }
    catalogue::save(db, &upgraded)?;
    tracing::debug!(table = schema.name(), added = added.len(), "upgraded table");
    Ok(upgraded)
}
