//! Moving a table's queued operations, error rows and config entries along with a schema upgrade.

use super::SchemaUpgrade;
use crate::cursor::Cursor;
use crate::error::StoreError;
use crate::operation::OperationFilter;
use crate::store::Transaction;

/// Brings the queue and the errors of the upgraded table in line with `plan`, inside the store's
/// upgrade transaction: operations and error rows of a renamed table move to `table` (its new
/// name), and their item snapshots take the new shape ([`SchemaUpgrade::upgrade_record`]); when
/// the plan says so, the table's pull cursors are forgotten. Call it after the store moved the
/// table's config entries ([`rename_config_key`]).
pub fn upgrade_system_rows(tx: &mut dyn Transaction, table: &str, plan: &SchemaUpgrade) -> Result<(), StoreError> {
    let from = plan.renamed_table.as_deref().unwrap_or(table);
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
            op.item = upgrade(op.item.take())?;
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
