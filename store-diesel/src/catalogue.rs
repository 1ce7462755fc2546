//! The tables this store knows: each one's schema, the SQL names of the table and its columns, and
//! the SQL of its fixed statements, written once so their text is stable (Diesel's statement cache
//! is keyed by it).
//!
//! # SQL names
//! Protocol names are case-sensitive (`Todo` and `todo` are two tables, `a` and `A` two columns)
//! but SQLite compares identifiers ignoring ASCII case and reserves names starting with `sqlite_`.
//! So each table and column gets a SQL name when it is created: the name itself when that is free,
//! otherwise the name with `_2`, `_3`, … appended (and `t_` prepended for `sqlite_…` tables). The
//! mapping lives in the `__tables` catalogue, so it never changes once chosen.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use sync_core::backend::system;
use sync_core::backend::StoreError;
use sync_core::{Column, TableSchema};

use crate::connection::Db;
use crate::error;
use crate::statement::{placeholders, Param, RowsShape, SqlRow, Stmt};

/// A double-quoted SQL identifier. Names are validated by [`TableSchema`]
/// (`[A-Za-z_][A-Za-z0-9_]*`); quotes are doubled anyway, so no name can break out.
pub(crate) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The first of `base`, `base_2`, `base_3`, … whose lowercase form is not in `taken`; it is added
/// to `taken`.
pub(crate) fn free_name(base: &str, taken: &mut Vec<String>) -> String {
    let mut candidate = base.to_owned();
    let mut n = 2;
    while taken.contains(&candidate.to_ascii_lowercase()) {
        candidate = format!("{base}_{n}");
        n += 1;
    }
    taken.push(candidate.to_ascii_lowercase());
    candidate
}

/// SQL names for columns added to a table that already has `existing` SQL columns.
pub(crate) fn name_columns<'c>(
    columns: impl IntoIterator<Item = &'c Column>,
    existing: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut taken: Vec<String> = existing.values().map(|s| s.to_ascii_lowercase()).collect();
    let mut out = existing.clone();
    for col in columns {
        if !out.contains_key(&col.name) {
            let sql = free_name(&col.name, &mut taken);
            out.insert(col.name.clone(), sql);
        }
    }
    out
}

/// A user table as stored: its schema and SQL names.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredTable {
    /// The schema it was last opened with.
    pub(crate) schema: TableSchema,
    /// The table's SQL name (unquoted).
    pub(crate) sql_name: String,
    /// Column name → SQL column name (unquoted), for every column of `schema` and `retained`.
    pub(crate) columns: BTreeMap<String, String>,
    /// Columns kept in SQL that `schema` does not have (see [`crate::evolve`]).
    pub(crate) retained: Vec<Column>,
}

impl StoredTable {
    /// The SQL name (unquoted) of a column of the schema.
    pub(crate) fn sql_column(&self, name: &str) -> Result<&str, StoreError> {
        self.columns.get(name).map(String::as_str).ok_or_else(|| {
            error::corrupt("__tables", format!("table {:?} has no SQL name for column {name:?}", self.schema.name()))
        })
    }
}

/// A user table and the SQL of the statements run on it per item.
#[derive(Debug)]
pub(crate) struct TableInfo {
    /// The schema it was last opened with.
    pub(crate) schema: TableSchema,
    /// The quoted SQL table name.
    pub(crate) table_sql: String,
    /// Column name → quoted SQL column name.
    column_sql: HashMap<String, String>,
    /// `SELECT <every column> FROM "T" WHERE "id" = ?`.
    pub(crate) get_sql: String,
    /// `SELECT <every column> FROM "T" WHERE "id"` (see [`TableInfo::get_many_sql`]).
    select_where_id: String,
    /// Insert-or-update of every column.
    pub(crate) upsert_sql: String,
    /// `DELETE FROM "T" WHERE "id" = ?`.
    pub(crate) delete_sql: String,
    /// The parts of a many-row upsert (see [`TableInfo::upsert_rows`]).
    upsert_head: String,
    on_conflict: String,
    /// Every column of the rows after an id, in id order, at most a limit.
    pub(crate) rows_after_sql: String,
}

impl TableInfo {
    /// The statements of a stored table.
    pub(crate) fn new(stored: &StoredTable) -> Result<Self, StoreError> {
        let schema = stored.schema.clone();
        let table_sql = quote(&stored.sql_name);
        let mut column_sql = HashMap::with_capacity(schema.columns().len());
        let mut names = Vec::with_capacity(schema.columns().len());
        let mut id_sql = String::new();
        for col in schema.columns() {
            let sql = quote(stored.sql_column(&col.name)?);
            if col.name == system::ID {
                id_sql.clone_from(&sql);
            }
            names.push(sql.clone());
            column_sql.insert(col.name.clone(), sql);
        }
        let list = names.join(", ");
        let updates: Vec<String> =
            names.iter().filter(|n| **n != id_sql).map(|n| format!("{n} = excluded.{n}")).collect();
        let on_conflict = if updates.is_empty() {
            format!(" ON CONFLICT ({id_sql}) DO NOTHING")
        } else {
            format!(" ON CONFLICT ({id_sql}) DO UPDATE SET {}", updates.join(", "))
        };
        let upsert_head = format!("INSERT INTO {table_sql} ({list}) VALUES ");
        // The one-row upsert is the many-row shape with one row.
        let upsert_sql = RowsShape { head: &upsert_head, columns: names.len(), tail: &on_conflict }.sql(1);
        let select_where_id = format!("SELECT {list} FROM {table_sql} WHERE {id_sql}");
        Ok(TableInfo {
            upsert_head,
            on_conflict,
            get_sql: format!("{select_where_id} = ?"),
            select_where_id,
            rows_after_sql: format!("SELECT {list} FROM {table_sql} WHERE {id_sql} > ? ORDER BY {id_sql} LIMIT ?"),
            delete_sql: format!("DELETE FROM {table_sql} WHERE {id_sql} = ?"),
            upsert_sql,
            table_sql,
            column_sql,
            schema,
        })
    }

    /// The upsert of many rows in one statement: its shape (see [`Stmt::rows`]). Callers use a
    /// few fixed row counts only (powers of two), since Diesel keeps every distinct statement
    /// text it has prepared.
    ///
    /// [`Stmt::rows`]: crate::statement::Stmt::rows
    pub(crate) fn upsert_rows(&self) -> RowsShape<'_> {
        RowsShape { head: &self.upsert_head, columns: self.schema.columns().len(), tail: &self.on_conflict }
    }

    /// `SELECT <every column> FROM "T" WHERE "id" IN (?, …)` for `ids` ids (a few fixed sizes
    /// only, as for [`upsert_rows`](Self::upsert_rows)).
    pub(crate) fn get_many_sql(&self, ids: usize) -> String {
        format!("{} IN ({})", self.select_where_id, placeholders(ids))
    }

    /// `SELECT "id" FROM "T" WHERE "id" IN (?, …)` for `ids` ids (a few fixed sizes only, as
    /// for [`upsert_rows`](Self::upsert_rows)).
    pub(crate) fn existing_ids_sql(&self, ids: usize) -> String {
        let id = self.column_sql.get(system::ID).map(String::as_str).unwrap_or("\"id\"");
        format!("SELECT {id} FROM {} WHERE {id} IN ({})", self.table_sql, placeholders(ids))
    }

    /// The quoted SQL name of a column of the schema.
    pub(crate) fn column_sql(&self, name: &str) -> Result<&str, StoreError> {
        self.column_sql.get(name).map(String::as_str).ok_or_else(|| {
            StoreError::Query(sync_core::backend::QueryError::UnknownColumn {
                table: self.schema.name().to_owned(),
                column: name.to_owned(),
            })
        })
    }

    /// The columns to read for a projection (`id` always), in schema order.
    pub(crate) fn projection<'s>(&'s self, select: Option<&[String]>) -> Vec<&'s Column> {
        match select {
            None => self.schema.columns().iter().collect(),
            Some(wanted) => {
                self.schema.columns().iter().filter(|c| c.name == system::ID || wanted.contains(&c.name)).collect()
            }
        }
    }
}

/// Every known table by name; replaced as a whole (copy on write) when a table is added or changed.
pub(crate) type Catalogue = HashMap<String, Arc<TableInfo>>;

const SELECT: &str = "SELECT \"name\", \"sqlName\", \"schema\", \"columns\", \"retained\" FROM \"__tables\"";

/// Reads the whole catalogue (at open).
pub(crate) fn load(db: &mut Db) -> Result<Catalogue, StoreError> {
    let rows = db.load(Stmt::new(SELECT, vec![])).map_err(|e| error::db("reading the table catalogue", e))?;
    let mut out = Catalogue::new();
    for row in rows {
        let stored = stored_from_row(row)?;
        out.insert(stored.schema.name().to_owned(), Arc::new(TableInfo::new(&stored)?));
    }
    Ok(out)
}

/// The catalogue entry of `name` (exact, case-sensitive), if any.
pub(crate) fn find(db: &mut Db, name: &str) -> Result<Option<StoredTable>, StoreError> {
    let rows = db
        .load(Stmt::new(format!("{SELECT} WHERE \"name\" = ?"), vec![Param::text(name)]))
        .map_err(|e| error::db("reading the table catalogue", e))?;
    rows.into_iter().next().map(stored_from_row).transpose()
}

fn stored_from_row(row: SqlRow) -> Result<StoredTable, StoreError> {
    let mut cells = row.0.into_iter();
    let mut text =
        || cells.next().and_then(|c| c.into_text()).ok_or_else(|| error::corrupt("__tables", "a row is not text"));
    let (name, sql_name, schema_json, columns_json, retained_json) = (text()?, text()?, text()?, text()?, text()?);
    let bad = |what: &str, e: &dyn std::fmt::Display| error::corrupt("__tables", format!("{what} of {name:?}: {e}"));
    let parsed: TableSchema = serde_json::from_str(&schema_json).map_err(|e| bad("schema", &e))?;
    // Deserialising skips TableSchema's checks: run them again.
    let schema = TableSchema::new(parsed.name(), parsed.columns().to_vec()).map_err(|e| bad("schema", &e))?;
    if schema.name() != name {
        return Err(bad("schema", &"the schema names another table"));
    }
    let columns: BTreeMap<String, String> = serde_json::from_str(&columns_json).map_err(|e| bad("columns", &e))?;
    let retained: Vec<Column> = serde_json::from_str(&retained_json).map_err(|e| bad("retained columns", &e))?;
    Ok(StoredTable { schema, sql_name, columns, retained })
}

/// Removes a table's catalogue entry (its table was renamed).
pub(crate) fn remove(db: &mut Db, name: &str) -> Result<(), StoreError> {
    db.execute(Stmt::new("DELETE FROM \"__tables\" WHERE \"name\" = ?", vec![Param::text(name)]))
        .map_err(|e| error::db("writing the table catalogue", e))?;
    Ok(())
}

/// Writes a table's catalogue entry.
pub(crate) fn save(db: &mut Db, stored: &StoredTable) -> Result<(), StoreError> {
    let encode = |v: Result<String, serde_json::Error>| v.map_err(|e| StoreError::backend("encoding the catalogue", e));
    let schema_json = encode(serde_json::to_string(&stored.schema))?;
    let columns_json = encode(serde_json::to_string(&stored.columns))?;
    let retained_json = encode(serde_json::to_string(&stored.retained))?;
    db.execute(Stmt::new(
        "INSERT INTO \"__tables\" (\"name\", \"sqlName\", \"schema\", \"columns\", \"retained\") VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (\"name\") DO UPDATE SET \"sqlName\" = excluded.\"sqlName\", \"schema\" = excluded.\"schema\", \
         \"columns\" = excluded.\"columns\", \"retained\" = excluded.\"retained\"",
        vec![
            Param::text(stored.schema.name()),
            Param::text(&stored.sql_name),
            Param::text(&schema_json),
            Param::text(&columns_json),
            Param::text(&retained_json),
        ],
    ))
    .map_err(|e| error::db("writing the table catalogue", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use sync_core::ColumnType;

    use super::*;

    #[test]
    fn names_never_collide_ignoring_case() {
        let mut taken = vec!["todo".to_owned()];
        assert_eq!(free_name("Todo", &mut taken), "Todo_2");
        assert_eq!(free_name("TODO", &mut taken), "TODO_3");
        assert_eq!(free_name("other", &mut taken), "other");
        // TableSchema rejects such columns today; the mapping would still keep them apart.
        let s = [Column::new("a", ColumnType::String), Column::new("A", ColumnType::String)];
        let cols = name_columns(&s, &BTreeMap::new());
        assert_eq!(cols["a"], "a");
        assert_eq!(cols["A"], "A_2");
    }

    #[test]
    fn statements_quote_every_name() {
        let schema = TableSchema::new("T", vec![Column::new("text", ColumnType::String)]).unwrap();
        let columns = name_columns(schema.columns(), &BTreeMap::new());
        let info = TableInfo::new(&StoredTable { schema, sql_name: "T".into(), columns, retained: vec![] }).unwrap();
        assert_eq!(
            info.get_sql,
            "SELECT \"id\", \"createdAt\", \"updatedAt\", \"version\", \"deleted\", \"text\" FROM \"T\" WHERE \"id\" = ?"
        );
        assert!(info.upsert_sql.contains("ON CONFLICT (\"id\") DO UPDATE SET \"createdAt\" = excluded.\"createdAt\""));
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
        let projected: Vec<&str> =
            info.projection(Some(&["text".to_owned()])).iter().map(|c| c.name.as_str()).collect();
        assert_eq!(projected, ["id", "text"]);
    }
}
