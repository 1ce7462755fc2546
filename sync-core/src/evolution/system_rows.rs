//! Moving a table's queued operations, error rows and config entries along with a schema upgrade.

use serde_json::{Map, Value};

use super::SchemaUpgrade;
use crate::cursor::Cursor;
use crate::error::{RecordError, StoreError};
use crate::operation::{OperationFilter, OperationKind};
use crate::record::Record;
use crate::schema::{system, TableSchema};
use crate::store::Transaction;

/// The snapshot of a queued update that may send only some columns: the user columns it knew
/// (those of `previous`, an earlier upgrade's list, or else every column but the new ones), as
/// nulls.
fn known_columns(
    schema: &TableSchema,
    previous: Result<Option<Record>, RecordError>,
    id: &str,
    new_columns: &[&str],
) -> Result<Record, StoreError> {
    let previous = previous.map_err(|e| StoreError::record(schema.name(), e))?;
    let mut map = Map::new();
    map.insert(system::ID.to_owned(), Value::String(id.to_owned()));
    for col in schema.user_columns().filter(|c| !new_columns.contains(&c.name.as_str())) {
        if previous.as_ref().is_none_or(|p| p.as_map().contains_key(&col.name)) {
            map.insert(col.name.clone(), Value::Null);
        }
    }
    Record::new(map).map_err(|e| StoreError::record(schema.name(), e))
}

/// The body of an update whose operation lists the columns it knows (see
/// [`upgrade_system_rows`]): the other user columns left out, so the server keeps its values.
pub(crate) fn only_known_columns(schema: &TableSchema, mut body: Record, known: &Record) -> Record {
    for col in schema.user_columns() {
        if !known.as_map().contains_key(&col.name) {
            body.remove(&col.name);
        }
    }
    body
}

/// Brings the queue and the errors of the upgraded table in line with `plan`, inside the store's
/// upgrade transaction: operations and error rows of a renamed table move to `schema`'s table,
/// and their item snapshots take the new shape ([`SchemaUpgrade::upgrade_record`]); when the plan
/// says so, the table's pull cursors are forgotten. Call it after the store moved the table's
/// config entries ([`rename_config_key`]).
///
/// A queued **update** made by the older version knows nothing of the columns this upgrade adds:
/// the device only has their default, while the server may hold real values (another device set
/// them). Such an update gets a snapshot listing the columns it knows (their values are unused),
/// and its push sends only those; the next local edit of the item drops the list (the app then
/// saved the whole item, new columns included).
pub fn upgrade_system_rows(
    tx: &mut dyn Transaction,
    schema: &TableSchema,
    plan: &SchemaUpgrade,
) -> Result<(), StoreError> {
    let table = schema.name();
    let from = plan.renamed_table.as_deref().unwrap_or(table);
    let new_columns: Vec<&str> = plan.added.iter().chain(&plan.revived).map(|c| c.name.as_str()).collect();
    let upgrade = |r: Option<crate::Record>| -> Result<Option<crate::Record>, StoreError> {
        r.map(|r| plan.upgrade_record(r)).transpose().map_err(|e| StoreError::record(table, e))
    };
    let mut after = None;
    loop {
        // Page through the queue: a table may have many operations.
        let filter = OperationFilter { after, limit: Some(500), ..OperationFilter::table(from) };
        let ops = tx.operations(&filter)?;
        let Some(last) = ops.last().map(|op| op.id) else { break };
        for mut op in ops {
            op.table = table.to_owned();
            op.item = match (op.kind, op.item.take()) {
                (OperationKind::Update, known) if !new_columns.is_empty() => Some(known_columns(
                    schema,
                    known.map(|k| plan.upgrade_record(k)).transpose(),
                    &op.item_id,
                    &new_columns,
                )?),
                (_, item) => upgrade(item)?,
            };
            tx.update_operation(&op)?;
        }
        after = Some(last);
    }
    for mut error in tx.errors(Some(from))? {
        error.table = table.to_owned();
        error.item = upgrade(error.item.take())?;
        error.server_item = upgrade(error.server_item.take())?;
        tx.put_error(&error)?;
    }
    if plan.reset_cursors {
        Cursor::forget(tx, table, None)?;
    }
    Ok(())
}

/// The key a config entry takes when table `from` is renamed to `to`: the table's pull cursors
/// (and the filters they belong to) and its rejected rows move; `None` for every other key.
///
/// ```
/// use sync_core::backend::rename_config_key;
/// assert_eq!(rename_config_key("deltaToken|Old|all|", "Old", "New").as_deref(), Some("deltaToken|New|all|"));
/// assert_eq!(rename_config_key("rejected|Old", "Old", "New").as_deref(), Some("rejected|New"));
/// assert_eq!(rename_config_key("rejected|Older", "Old", "New"), None);
/// ```
pub fn rename_config_key(key: &str, from: &str, to: &str) -> Option<String> {
    if let Some(rest) = Cursor::table_key_suffix(key, from) {
        return Some(format!("{}{rest}", Cursor::table_key_prefix(to)));
    }
    (key == crate::engine::rejected::key(from)).then(|| crate::engine::rejected::key(to))
}

/// `sent` with the user columns an update did not send (see [`only_known_columns`]) taken from
/// the server's `answer`: what the device holds once the answer is in.
pub(crate) fn with_unsent_columns_of(schema: &TableSchema, sent: &Record, known: &Record, answer: &Record) -> Record {
    let mut out = sent.clone();
    for col in schema.user_columns().filter(|c| !known.as_map().contains_key(&c.name)) {
        // Only non-id columns are set, which cannot fail.
        let _ = out.set(col.name.clone(), answer.get(&col.name).cloned().unwrap_or(Value::Null));
    }
    out
}
