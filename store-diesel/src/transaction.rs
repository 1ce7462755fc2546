//! [`DieselTransaction`]: the [`Transaction`] a store's work runs against — the writer connection
//! inside an open `BEGIN IMMEDIATE` transaction, plus the table catalogue as of its start.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sync_core::backend::{
    resolve_query, NewOperation, OperationFilter, RemovedOperation, RowPage, StoreError, Transaction,
};
use sync_core::{Expr, Query};
use sync_core::{Operation, OperationError, OperationState, Record};

use crate::catalogue::{Catalogue, TableInfo};
use crate::connection::Db;
use crate::error::db;
use crate::statement::{statement_chunks, Param, Stmt, MAX_PARAMS, MAX_ROWS_PER_STATEMENT};
use crate::{query_sql, rows, system_tables};

/// A transaction in progress on the writer connection. Everything it does commits together when
/// the work returns `Ok` and rolls back otherwise.
pub(crate) struct DieselTransaction<'c> {
    db: &'c mut Db,
    catalogue: Arc<Catalogue>,
}

impl std::fmt::Debug for DieselTransaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DieselTransaction").field("tables", &self.catalogue.len()).finish_non_exhaustive()
    }
}

impl<'c> DieselTransaction<'c> {
    pub(crate) fn new(db: &'c mut Db, catalogue: Arc<Catalogue>) -> Self {
        DieselTransaction { db, catalogue }
    }

    /// Upserts `rows` into the table with its many-row statement, as many rows per statement as
    /// the parameter limit allows; `push` appends one row's parameters in schema order.
    fn upsert_params<'a, T>(
        &mut self,
        info: &TableInfo,
        rows: &'a [T],
        push: impl Fn(&'a T, &mut Vec<Param<'a>>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let columns = info.schema.columns().len().max(1);
        let most = (MAX_PARAMS / columns).min(MAX_ROWS_PER_STATEMENT);
        let shape = info.upsert_rows();
        for chunk in statement_chunks(rows, most) {
            let mut params = Vec::with_capacity(chunk.len() * columns);
            for row in chunk {
                push(row, &mut params)?;
            }
            let table = info.schema.name();
            self.db.execute(Stmt::rows(shape, params)).map_err(|e| db(&format!("writing to {table:?}"), e))?;
        }
        Ok(())
    }

    fn table(&self, name: &str) -> Result<Arc<TableInfo>, StoreError> {
        self.catalogue.get(name).cloned().ok_or_else(|| StoreError::UnknownTable(name.to_owned()))
    }
}

/// `record` in the table's canonical form, with the same checks as the reference store (wrong
/// types, nulls in non-null columns and unknown fields are errors; date-times canonical).
/// Records the engine already conformed are borrowed, not copied.
fn conformed<'r>(info: &TableInfo, record: &'r Record) -> Result<Cow<'r, Record>, StoreError> {
    if info.schema.is_conformed(record) {
        return Ok(Cow::Borrowed(record));
    }
    let row = info.schema.conform_local(record.clone()).map_err(|e| StoreError::record(info.schema.name(), e))?;
    Ok(Cow::Owned(row))
}

/// Reads one item with its table's fixed statement.
pub(crate) fn get_item(db: &mut Db, info: &TableInfo, id: &str) -> Result<Option<Record>, StoreError> {
    let rows = db
        .load(Stmt::new(info.get_sql.as_str(), vec![Param::text(id)]))
        .map_err(|e| crate::error::db(&format!("reading from {:?}", info.schema.name()), e))?;
    rows.into_iter().next().map(|row| rows::read_record(info.schema.name(), info.schema.columns(), row)).transpose()
}

impl Transaction for DieselTransaction<'_> {
    fn get(&mut self, table: &str, id: &str) -> Result<Option<Record>, StoreError> {
        let info = self.table(table)?;
        get_item(self.db, &info, id)
    }

    fn upsert(&mut self, table: &str, record: &Record) -> Result<(), StoreError> {
        let info = self.table(table)?;
        let row = conformed(&info, record)?;
        let params = rows::record_params(&info.schema, &row)?;
        self.db
            .execute(Stmt::new(info.upsert_sql.as_str(), params))
            .map_err(|e| db(&format!("writing to {table:?}"), e))?;
        Ok(())
    }

    fn upsert_many(&mut self, table: &str, records: &[&Record]) -> Result<(), StoreError> {
        let info = self.table(table)?;
        let rows = records.iter().map(|r| conformed(&info, r)).collect::<Result<Vec<_>, _>>()?;
        self.upsert_params(&info, &rows, |row, params| rows::push_record_params(&info.schema, row, params))
    }

    fn upsert_rows(&mut self, table: &str, page: &RowPage, rows: &[usize]) -> Result<(), StoreError> {
        let info = self.table(table)?;
        if page.schema().columns() != info.schema.columns() {
            // Conformed to another schema than the store's: through records, checked again.
            let records = page.records(rows)?;
            return self.upsert_many(table, &records.iter().collect::<Vec<_>>());
        }
        self.upsert_params(&info, rows, |&row, params| rows::push_page_params(&info.schema, page, row, params))
    }

    fn get_many(&mut self, table: &str, ids: &[&str]) -> Result<Vec<Option<Record>>, StoreError> {
        let info = self.table(table)?;
        let rows = self.db.load_by_ids(|n| info.get_many_sql(n), &[], ids, &format!("reading from {table:?}"))?;
        let mut found: HashMap<String, Record> = HashMap::with_capacity(rows.len());
        for row in rows {
            let record = rows::read_record(info.schema.name(), info.schema.columns(), row)?;
            found.insert(record.id().to_owned(), record);
        }
        // In the order asked; an id asked twice is answered twice (a copy but the last time).
        let last: HashMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        Ok(ids
            .iter()
            .enumerate()
            .map(|(i, id)| if last.get(id) == Some(&i) { found.remove(*id) } else { found.get(*id).cloned() })
            .collect())
    }

    fn existing_ids(&mut self, table: &str, ids: &[&str]) -> Result<HashSet<String>, StoreError> {
        let info = self.table(table)?;
        let rows =
            self.db.load_by_ids(|n| info.existing_ids_sql(n), &[], ids, &format!("reading ids from {table:?}"))?;
        rows.into_iter().map(|row| rows::read_id(table, row)).collect()
    }

    fn delete(&mut self, table: &str, id: &str) -> Result<bool, StoreError> {
        let info = self.table(table)?;
        let changed = self
            .db
            .execute(Stmt::new(info.delete_sql.as_str(), vec![Param::text(id)]))
            .map_err(|e| db(&format!("deleting from {table:?}"), e))?;
        Ok(changed > 0)
    }

    fn rows(&mut self, table: &str, after: Option<&str>, limit: usize) -> Result<Vec<Record>, StoreError> {
        let info = self.table(table)?;
        // Every id is greater than the empty string (ids are never empty).
        let params = vec![Param::text(after.unwrap_or("")), Param::Integer(i64::try_from(limit).unwrap_or(i64::MAX))];
        let found = self
            .db
            .load(Stmt::new(info.rows_after_sql.as_str(), params))
            .map_err(|e| db(&format!("reading from {:?}", info.schema.name()), e))?;
        found.into_iter().map(|row| rows::read_record(info.schema.name(), info.schema.columns(), row)).collect()
    }

    fn delete_matching(&mut self, table: &str, filter: Option<&Expr>) -> Result<u64, StoreError> {
        let info = self.table(table)?;
        let changed = match filter {
            None => self.db.execute(Stmt::new(format!("DELETE FROM {}", info.table_sql), vec![])),
            Some(filter) => {
                let query = Query { filter: Some(filter.clone()), ..Query::default() };
                let resolved = resolve_query(&query, &info.schema)?;
                let Some(expr) = &resolved.filter else { return Ok(0) };
                let (where_sql, params) = query_sql::filter_sql(&info, expr)?;
                self.db.execute(Stmt::new(format!("DELETE FROM {} WHERE {where_sql}", info.table_sql), params))
            }
        }
        .map_err(|e| db(&format!("deleting from {table:?}"), e))?;
        Ok(changed as u64)
    }

    fn enqueue(&mut self, op: NewOperation) -> Result<Operation, StoreError> {
        system_tables::enqueue(self.db, op)
    }

    fn queued_items(&mut self, table: &str, ids: &[&str]) -> Result<HashSet<String>, StoreError> {
        system_tables::queued_items(self.db, table, ids)
    }

    fn enqueue_many(&mut self, ops: Vec<NewOperation>) -> Result<Vec<Operation>, StoreError> {
        system_tables::enqueue_many(self.db, ops)
    }

    fn update_operation(&mut self, op: &Operation) -> Result<(), StoreError> {
        system_tables::update_operation(self.db, op)
    }

    fn remove_operation(&mut self, id: u64) -> Result<bool, StoreError> {
        system_tables::remove_operation(self.db, id)
    }

    fn set_operation_states(&mut self, ids: &[u64], state: OperationState) -> Result<u64, StoreError> {
        system_tables::set_operation_states(self.db, ids, state)
    }

    fn remove_sent_operations(&mut self, sent: &[(u64, u64)]) -> Result<Vec<RemovedOperation>, StoreError> {
        system_tables::remove_sent_operations(self.db, sent)
    }

    fn operation(&mut self, id: u64) -> Result<Option<Operation>, StoreError> {
        system_tables::operation(self.db, id)
    }

    fn operations(&mut self, filter: &OperationFilter) -> Result<Vec<Operation>, StoreError> {
        system_tables::operations(self.db, filter)
    }

    fn count_operations(&mut self, filter: &OperationFilter) -> Result<u64, StoreError> {
        system_tables::count_operations(self.db, filter)
    }

    fn put_error(&mut self, error: &OperationError) -> Result<(), StoreError> {
        system_tables::put_error(self.db, error)
    }

    fn remove_error(&mut self, operation_id: u64) -> Result<bool, StoreError> {
        system_tables::remove_error(self.db, operation_id)
    }

    fn errors(&mut self, table: Option<&str>) -> Result<Vec<OperationError>, StoreError> {
        system_tables::errors(self.db, table)
    }

    fn config(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        system_tables::config(self.db, key)
    }

    fn set_config(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        system_tables::set_config(self.db, key, value)
    }

    fn remove_config(&mut self, prefix: &str) -> Result<u64, StoreError> {
        system_tables::remove_config(self.db, prefix)
    }
}
