//! Creating entity tables from a [`TableSchema`] (and handing other schemas to the upgrade).
//!
//! # Tables
//! One typed column per field (see [`crate::rows`] for the values): String, DateTime and Json as
//! `TEXT`, Bool and Integer as `INTEGER`, Real as `REAL`; `id` is the `TEXT PRIMARY KEY`, and an
//! index on `updatedAt` serves incremental pulls. SQL names are chosen so that protocol names that
//! differ only in case never collide (see the catalogue docs in the source); usually they are the
//! names themselves.
//!
//! # Upgrades
//! A table stored with another schema is upgraded by [`crate::evolve`] (the rules are sync-core's
//! `SchemaUpgrade`): columns added with their defaults, renamed, converted, or retained.
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
/// statements. A table stored under the schema's former name (`renamed_from`) is renamed, unless
/// a table of the new name exists already (then the old one is left as it is).
pub(crate) fn ensure_table(db: &mut Db, schema: &TableSchema) -> Result<Arc<TableInfo>, StoreError> {
    let stored = match catalogue::find(db, schema.name())? {
        Some(stored) if stored.schema == *schema => stored,
        Some(stored) => crate::evolve::upgrade(db, schema, stored)?,
        None => match schema.previous_name().map(|old| catalogue::find(db, old)).transpose()?.flatten() {
            Some(old) => crate::evolve::upgrade(db, schema, old)?,
            None => create(db, schema)?,
        },
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
    let stored = StoredTable { schema: schema.clone(), sql_name, columns, retained: Vec::new() };

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
