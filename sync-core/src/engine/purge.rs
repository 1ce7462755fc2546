//! Purge, as the .NET client does it (`docs/architecture.md`, "Purge").

use std::sync::Arc;

use super::options::PurgeOptions;
use super::shared::Shared;
use crate::cursor::{check_query_id, Cursor};
use crate::error::SyncError;
use crate::operation::OperationFilter;
use crate::query::expr::Query;
use crate::query::resolve::resolve_query;
use crate::schema::TableSchema;
use crate::store::StoreExt;

/// Refuses when the table has queued operations, unless `force` with no filter, which also drops
/// the table's operations, errors and every cursor; forgets the query id's cursor; deletes the
/// matching local rows. All in one transaction. Returns the rows deleted.
pub(crate) async fn purge(
    shared: &Shared,
    schema: &Arc<TableSchema>,
    query: &Query,
    options: PurgeOptions,
) -> Result<u64, SyncError> {
    let PurgeOptions { query_id, force } = options;
    check_query_id(query_id.as_deref())?;
    let filter = resolve_query(query, schema)?.filter;
    let table = schema.name().to_owned();
    // Purge runs between pushes: an operation in flight must not vanish under the push.
    let _no_push = shared.lock_push().await?;
    let outcome = shared
        .store
        .transact(move |tx| {
            let ops_filter = OperationFilter::table(&table);
            let pending = tx.count_operations(&ops_filter)?;
            if pending > 0 && !(force && filter.is_none()) {
                return Ok(Err(SyncError::PurgeBlocked { table, pending }));
            }
            if force {
                for op in tx.operations(&ops_filter)? {
                    tx.remove_operation(op.id)?;
                    tx.remove_error(op.id)?;
                }
                for error in tx.errors(Some(&table))? {
                    tx.remove_error(error.operation_id)?;
                }
                Cursor::forget(tx, &table, None)?;
            }
            if let Some(id) = &query_id {
                Cursor::forget(tx, &table, Some(id))?;
            }
            Ok(Ok(tx.delete_matching(&table, filter.as_ref())?))
        })
        .await?;
    outcome
}
