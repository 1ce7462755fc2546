//! Upgrading a stored table to a new schema, inside the `ensure_table` write transaction: the
//! plan is sync-core's [`SchemaUpgrade`]; this module applies it to SQL.
//!
//! - **Renamed table**: only the catalogue entry changes (the SQL table keeps its SQL name); the
//!   queue, the errors and the table's config entries (cursors, rejected rows) move to the new name.
//! - **Renamed column**: only the catalogue's column map changes (the SQL column keeps its name).
//! - **Added column**: `ALTER TABLE … ADD COLUMN`, then the default in every row.
//! - **Converted column**: every stored value is read as the old type, converted and written back,
//!   500 rows at a time; one that does not convert fails the whole upgrade (nothing is changed).
//! - **Retained column** (stored, not in the schema): stays in SQL with its values. Reads and
//!   writes name only the schema's columns, so an update of the row (local or pulled) leaves it
//!   as it was, and a new row holds `NULL` there. A schema that has it again takes it back.
//!   Because nothing pushes it any more, a column cannot become retained while queued inserts or
//!   updates are for rows holding a value in it: that is [`StoreError::IncompatibleSchema`].

use sync_core::backend::{
    conversion_error, convert_value, rename_config_key, upgrade_system_rows, SchemaUpgrade, StoreError,
};
use sync_core::{Column, ColumnType, OperationKind, TableSchema};

use crate::catalogue::{self, quote, Catalogue, StoredTable};
use crate::connection::Db;
use crate::error::{corrupt, db as db_error};
use crate::rows::{cell_value, value_param};
use crate::statement::{Param, Stmt};
use crate::transaction::DieselTransaction;

/// Rows converted per statement round.
const CONVERT_PAGE: i64 = 500;

/// Upgrades `stored` (the table under `schema`'s name, or under its former name) to `schema`.
pub(crate) fn upgrade(db: &mut Db, schema: &TableSchema, stored: StoredTable) -> Result<StoredTable, StoreError> {
    let plan = SchemaUpgrade::plan(&stored.schema, &stored.retained, schema)?;
    check_retained_values(db, &stored, &plan)?;
    let table = quote(&stored.sql_name);
    let mut columns = stored.columns.clone();
    for (old, new) in &plan.renamed_columns {
        if let Some(sql) = columns.remove(old) {
            columns.insert(new.clone(), sql);
        }
    }
    columns = catalogue::name_columns(&plan.added, &columns);
    let upgraded = StoredTable {
        schema: schema.clone(),
        sql_name: stored.sql_name.clone(),
        columns,
        retained: plan.retained.clone(),
    };
    for col in &plan.added {
        let ddl = format!(
            "ALTER TABLE {table} ADD COLUMN {} {}",
            quote(upgraded.sql_column(&col.name)?),
            crate::ddl::sql_type(col.ty)
        );
        db.batch(&ddl).map_err(|e| db_error(&format!("adding column {:?}", col.name), e))?;
    }
    let mut upgraded = upgraded;
    for (col, from) in &plan.converted {
        convert_column(db, &mut upgraded, col, *from)?;
    }
    for col in plan.added.iter().chain(&plan.revived).chain(&plan.filled) {
        fill_default(db, &upgraded, col)?;
    }
    if let Some(old) = &plan.renamed_table {
        catalogue::remove(db, old)?;
        rename_config(db, old, schema.name())?;
    }
    catalogue::save(db, &upgraded)?;
    upgrade_system_rows(&mut DieselTransaction::new(db, std::sync::Arc::new(Catalogue::new())), schema, &plan)?;
    tracing::debug!(table = schema.name(), ?plan, "upgraded table");
    Ok(upgraded)
}

/// Refuses to retain a column whose values queued inserts or updates would have pushed.
fn check_retained_values(db: &mut Db, stored: &StoredTable, plan: &SchemaUpgrade) -> Result<(), StoreError> {
    let table = quote(&stored.sql_name);
    for col in &plan.newly_retained {
        let sql = format!(
            "SELECT count(*) FROM {table} WHERE {col} IS NOT NULL AND \"id\" IN \
             (SELECT \"itemId\" FROM \"__operations\" WHERE \"tableName\" = ? AND \"kind\" <> ?)",
            col = quote(stored.sql_column(&col.name)?)
        );
        let params = vec![Param::text(stored.schema.name()), Param::Integer(OperationKind::Delete.code())];
        let rows = db.load(Stmt::new(sql, params)).map_err(|e| db_error("checking queued operations", e))?;
        let count = rows.into_iter().next().and_then(|r| r.0.into_iter().next()).and_then(|c| c.as_i64()).unwrap_or(0);
        if count > 0 {
            return Err(retained_with_pending(stored.schema.name(), &col.name, count));
        }
    }
    Ok(())
}

/// The error of a column that would be retained with unpushed values in it.
pub(crate) fn retained_with_pending(table: &str, column: &str, count: i64) -> StoreError {
    StoreError::IncompatibleSchema {
        table: table.to_owned(),
        message: format!(
            "column {column:?} is not in the schema any more, but {count} rows with queued changes hold values \
             in it, which would never be pushed; push them with an app version that has the column, or register \
             a migration step (SyncContextBuilder::migration) that clears those values (Migration::update_rows) \
             or drops the operations (Migration::drop_operations)"
        ),
    }
}

/// Puts the column's default in every row that has none.
fn fill_default(db: &mut Db, stored: &StoredTable, col: &Column) -> Result<(), StoreError> {
    let Some(default) = &col.default else { return Ok(()) };
    let param = value_param(col, default).map_err(|e| StoreError::record(stored.schema.name(), e))?;
    let sql_col = quote(stored.sql_column(&col.name)?);
    let sql = format!("UPDATE {} SET {sql_col} = ? WHERE {sql_col} IS NULL", quote(&stored.sql_name));
    db.execute(Stmt::new(sql, vec![param])).map_err(|e| db_error(&format!("filling column {:?}", col.name), e))?;
    Ok(())
}

/// Rewrites every stored value of `col` from type `from` to its new type, page by page in id order.
/// SQLite converts values to a column's declared type (a `TEXT` column stores `5` as `'5'`), so a
/// conversion to another SQL type writes into a new SQL column and drops the old one.
fn convert_column(db: &mut Db, stored: &mut StoredTable, col: &Column, from: ColumnType) -> Result<(), StoreError> {
    let table = quote(&stored.sql_name);
    let source = quote(stored.sql_column(&col.name)?);
    let moves = crate::ddl::sql_type(from) != crate::ddl::sql_type(col.ty);
    if moves {
        let mut taken: Vec<String> = stored.columns.values().map(|s| s.to_ascii_lowercase()).collect();
        let fresh = catalogue::free_name(&col.name, &mut taken);
        let ddl = format!("ALTER TABLE {table} ADD COLUMN {} {}", quote(&fresh), crate::ddl::sql_type(col.ty));
        db.batch(&ddl).map_err(|e| db_error(&format!("converting column {:?}", col.name), e))?;
        stored.columns.insert(col.name.clone(), fresh);
    }
    copy_converted(db, stored, &source, col, from)?;
    if moves {
        let ddl = format!("ALTER TABLE {table} DROP COLUMN {source}");
        db.batch(&ddl).map_err(|e| db_error(&format!("converting column {:?}", col.name), e))?;
    }
    Ok(())
}

/// Writes the converted values of the SQL column `source` into `col`'s SQL column.
fn copy_converted(
    db: &mut Db,
    stored: &StoredTable,
    source: &str,
    col: &Column,
    from: ColumnType,
) -> Result<(), StoreError> {
    let name = stored.schema.name();
    let table = quote(&stored.sql_name);
    let (sql_col, target_col) = (source, quote(stored.sql_column(&col.name)?));
    let id_col = quote(stored.sql_column(sync_core::backend::system::ID)?);
    let old = Column { ty: from, nullable: true, ..col.clone() };
    let target = Column { nullable: true, ..col.clone() };
    let mut after = String::new();
    loop {
        let select = format!(
            "SELECT {id_col}, {sql_col} FROM {table} WHERE {id_col} > ? AND {sql_col} IS NOT NULL ORDER BY {id_col} LIMIT ?"
        );
        let rows = db
            .load(Stmt::new(select, vec![Param::text(&after), Param::Integer(CONVERT_PAGE)]))
            .map_err(|e| db_error(&format!("reading column {:?}", col.name), e))?;
        let Some(last) = rows.len().checked_sub(1) else { return Ok(()) };
        for (i, row) in rows.into_iter().enumerate() {
            let mut cells = row.0.into_iter();
            let id = cells.next().and_then(|c| c.into_text()).ok_or_else(|| corrupt(name, "an id is not text"))?;
            let cell = cells.next().ok_or_else(|| corrupt(name, "a row is too short"))?;
            let value = cell_value(name, &old, cell)?;
            let converted = convert_value(from, col.ty, value.clone())
                .ok_or_else(|| conversion_error(name, &col.name, &id, from, col.ty, &value))?;
            let param = value_param(&target, &converted).map_err(|e| StoreError::record(name, e))?;
            let update = format!("UPDATE {table} SET {target_col} = ? WHERE {id_col} = ?");
            db.execute(Stmt::new(update, vec![param, Param::text(&id)]))
                .map_err(|e| db_error(&format!("converting column {:?}", col.name), e))?;
            if i == last {
                after = id;
            }
        }
    }
}

/// Moves the config entries of table `from` (cursors, rejected rows) to table `to`.
fn rename_config(db: &mut Db, from: &str, to: &str) -> Result<(), StoreError> {
    let rows =
        db.load(Stmt::new("SELECT \"key\" FROM \"__config\"", vec![])).map_err(|e| db_error("reading config", e))?;
    for key in rows.into_iter().filter_map(|r| r.0.into_iter().next()?.into_text()) {
        if let Some(new) = rename_config_key(&key, from, to) {
            db.execute(Stmt::new(
                "UPDATE OR REPLACE \"__config\" SET \"key\" = ? WHERE \"key\" = ?",
                vec![Param::text(&new), Param::text(&key)],
            ))
            .map_err(|e| db_error("moving config", e))?;
        }
    }
    Ok(())
}
