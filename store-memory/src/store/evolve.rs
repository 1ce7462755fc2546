//! Opening a table stored with another schema: sync-core's [`SchemaUpgrade`] applied to the
//! maps. Everything that can fail is checked before anything changes, so a refused upgrade leaves
//! the store as it was.
//!
//! Retained columns (stored, not in the schema) keep their values beside the rows, by id, so
//! reads and writes of the row never see them; a schema that has the column again takes them
//! back. The values of a row deleted meanwhile are kept until then, and a row inserted again with
//! the same id gets them back, where a SQL store would have dropped them with the row.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use sync_core::backend::{
    conversion_error, convert_value, rename_config_key, upgrade_system_rows, OperationFilter, SchemaUpgrade, StoreError,
};
use sync_core::{OperationKind, Record, TableSchema};

use super::state::{State, Table};
use super::tx::MemoryTransaction;

/// Creates the table for `schema`, or opens (and upgrades) the stored one.
pub(super) fn ensure_table(state: &mut State, schema: &TableSchema) -> Result<(), StoreError> {
    let stored_name = match (state.tables.get(schema.name()), schema.previous_name()) {
        (Some(t), _) if t.schema == *schema => return Ok(()),
        (Some(_), _) => schema.name().to_owned(),
        (None, Some(old)) if state.tables.contains_key(old) => old.to_owned(),
        (None, _) => {
            let table = Table {
                schema: schema.clone(),
                rows: BTreeMap::new(),
                retained: Vec::new(),
                retained_values: BTreeMap::new(),
            };
            state.tables.insert(schema.name().to_owned(), table);
            return Ok(());
        }
    };
    let table = state.table(&stored_name)?;
    let plan = SchemaUpgrade::plan(&table.schema, &table.retained, schema)?;
    check(state, table, &plan)?;

    let renamed = rename_config(state, &plan, schema.name());
    let mut tx = MemoryTransaction::new(state);
    if let Err(e) = upgrade_system_rows(&mut tx, schema, &plan) {
        tx.roll_back();
        for (old, new) in renamed {
            if let Some(v) = state.config.remove(&new) {
                state.config.insert(old, v);
            }
        }
        return Err(e);
    }
    tx.commit();

    let Some(mut table) = state.tables.remove(&stored_name) else { return Err(StoreError::UnknownTable(stored_name)) };
    let rows = std::mem::take(&mut table.rows);
    for (id, row) in rows {
        let row = upgrade_row(&mut table, &plan, &id, row).map_err(|e| StoreError::record(schema.name(), e))?;
        table.rows.insert(id, row);
    }
    table.schema = schema.clone();
    table.retained = plan.retained.clone();
    state.tables.insert(schema.name().to_owned(), table);
    Ok(())
}

/// What can refuse the upgrade: unpushed values in a column about to be retained, and stored
/// values that do not convert.
fn check(state: &State, table: &Table, plan: &SchemaUpgrade) -> Result<(), StoreError> {
    let name = table.schema.name();
    for col in &plan.newly_retained {
        let filter = OperationFilter::table(name);
        let mut ids: Vec<&str> = state
            .ops_matching(&filter)
            .filter(|op| op.kind != OperationKind::Delete)
            .filter(|op| table.rows.get(&op.item_id).and_then(|r| r.get(&col.name)).is_some_and(|v| !v.is_null()))
            .map(|op| op.item_id.as_str())
            .collect();
        ids.dedup();
        if !ids.is_empty() {
            return Err(StoreError::IncompatibleSchema {
                table: name.to_owned(),
                message: format!(
                    "column {:?} is not in the schema any more, but {} rows with queued changes hold values in it, \
                     which would never be pushed; push them with an app version that has the column, or register a \
                     migration step (SyncContextBuilder::migration) that clears those values (Migration::update_rows) \
                     or drops the operations (Migration::drop_operations)",
                    col.name,
                    ids.len()
                ),
            });
        }
    }
    for (col, from) in &plan.converted {
        let old = plan.renamed_columns.iter().find(|(_, new)| *new == col.name).map_or(col.name.as_str(), |(o, _)| o);
        for (id, row) in &table.rows {
            let Some(value) = row.get(old).filter(|v| !v.is_null()) else { continue };
            if convert_value(*from, col.ty, value.clone()).is_none() {
                return Err(conversion_error(name, &col.name, id, *from, col.ty, value));
            }
        }
    }
    Ok(())
}

/// Moves the config entries of a renamed table; returns the `(old, new)` keys moved.
fn rename_config(state: &mut State, plan: &SchemaUpgrade, to: &str) -> Vec<(String, String)> {
    let Some(from) = &plan.renamed_table else { return Vec::new() };
    let moves: Vec<(String, String)> =
        state.config.keys().filter_map(|k| rename_config_key(k, from, to).map(|n| (k.clone(), n))).collect();
    for (old, new) in &moves {
        if let Some(v) = state.config.remove(old) {
            state.config.insert(new.clone(), v);
        }
    }
    moves
}

/// One row in the new shape: newly retained values put aside, revived ones brought back.
fn upgrade_row(
    table: &mut Table,
    plan: &SchemaUpgrade,
    id: &str,
    row: Record,
) -> Result<Record, sync_core::backend::RecordError> {
    let mut map = row.into_map();
    let kept = table.retained_values.entry(id.to_owned()).or_default();
    for col in &plan.newly_retained {
        if let Some(v) = map.remove(&col.name).filter(|v| !v.is_null()) {
            kept.insert(col.name.clone(), v);
        }
    }
    for col in &plan.revived {
        let old = plan.renamed_columns.iter().find(|(_, new)| *new == col.name).map_or(col.name.as_str(), |(o, _)| o);
        if let Some(v) = kept.remove(old) {
            map.insert(old.to_owned(), v);
        }
    }
    if kept.is_empty() {
        table.retained_values.remove(id);
    }
    plan.upgrade_record(Record::new(map)?)
}

/// Values kept for one row's retained columns.
pub(super) type RetainedValues = Map<String, Value>;
