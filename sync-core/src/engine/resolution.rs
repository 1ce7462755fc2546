//! Conflict resolution: applies a [`Resolution`] to a failed operation inside one store
//! transaction, and checks merged items. Shared by the push (handler decisions) and by
//! [`SyncContext::resolve`](crate::SyncContext::resolve) (the errors table), so both paths behave
//! the same.

use serde_json::Value;

use super::conflict::Resolution;
use super::shared::Shared;
use crate::error::{StoreError, SyncError};
use crate::operation::{Operation, OperationKind, OperationState};
use crate::queue::adopt_server_columns;
use crate::record::Record;
use crate::schema::TableSchema;
use crate::store::{StoreExt, Transaction};

/// Resolves the failure recorded for `operation_id` in the errors table (see
/// [`SyncContext::resolve`](crate::SyncContext::resolve)).
pub(crate) async fn resolve_recorded(
    shared: &Shared,
    operation_id: u64,
    resolution: Resolution,
) -> Result<(), SyncError> {
    // Not while a push holds the operation in flight.
    let _no_push = shared.push_lock.lock().await;
    let errors = shared.store.transact(|tx| tx.errors(None)).await?;
    let error =
        errors.into_iter().find(|e| e.operation_id == operation_id).ok_or(SyncError::NoSuchError(operation_id))?;
    let schema = shared.opened_schema(&error.table)?;
    let resolution = match resolution {
        Resolution::Merge(item) => Resolution::Merge(conform_merge(&schema, &error.item_id, item)?),
        other => other,
    };
    let effect = shared
        .store
        .transact(move |tx| {
            apply_resolution(
                tx,
                &schema,
                error.operation_id,
                error.operation_version,
                error.server_item.as_ref(),
                &resolution,
                OperationState::Pending,
            )
        })
        .await?;
    match effect {
        Effect::Stale => Err(SyncError::StaleError(operation_id)),
        Effect::Unresolvable(reason) => Err(SyncError::CannotResolve { operation_id, reason }),
        Effect::Settled | Effect::Resend(..) | Effect::Deferred => Ok(()),
    }
}

/// Checks a merged item: the operation's id, conformed to the table.
pub(crate) fn conform_merge(schema: &TableSchema, item_id: &str, merged: Record) -> Result<Record, SyncError> {
    if merged.id() != item_id {
        return Err(SyncError::MergeIdMismatch { expected: item_id.to_owned(), found: merged.id().to_owned() });
    }
    schema.conform_local(merged).map_err(|e| SyncError::record(schema.name(), e))
}

/// What a resolution left to do.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Effect {
    /// The operation is settled (cancelled, or the local item replaced).
    Settled,
    /// The operation is queued again with the server's version; the op and the item to send.
    Resend(Operation, Option<Record>),
    /// The resolution cannot apply (e.g. keep-local of an insert whose server item is unknown).
    Unresolvable(&'static str),
    /// The operation changed or vanished since the failure was recorded.
    Stale,
    /// Defer: nothing changed.
    Deferred,
}

/// Applies `resolution` to operation `op_id` whose failure was recorded at `expected_version`.
/// `merged` must already be conformed with the operation's id. The error row is removed unless
/// the result is `Deferred`, `Stale` or `Unresolvable`. `resend_state` is the state a re-sent
/// operation gets (`InFlight` when the push re-sends it now, `Pending` otherwise).
pub(crate) fn apply_resolution(
    tx: &mut dyn Transaction,
    schema: &TableSchema,
    op_id: u64,
    expected_version: u64,
    server_item: Option<&Record>,
    resolution: &Resolution,
    resend_state: OperationState,
) -> Result<Effect, StoreError> {
    let Some(mut op) = tx.operation(op_id)? else { return Ok(Effect::Stale) };
    if op.version != expected_version {
        return Ok(Effect::Stale);
    }
    let table = schema.name().to_owned();
    let server_alive = server_item.filter(|s| !s.is_deleted());
    match resolution {
        Resolution::Defer => return Ok(Effect::Deferred),
        Resolution::KeepServer => {
            tx.remove_operation(op.id)?;
            match server_alive {
                Some(server) => tx.upsert(&table, server)?,
                None => {
                    tx.delete(&table, &op.item_id)?;
                }
            }
        }
        Resolution::Discard => {
            tx.remove_operation(op.id)?;
            tx.delete(&table, &op.item_id)?;
        }
        Resolution::KeepLocal | Resolution::Merge(_) => {
            let Some(server) = server_alive else {
                return Ok(Effect::Unresolvable(
                    "the server's item is unknown or deleted, so there is no version to write over",
                ));
            };
            let item = match (resolution, op.kind) {
                (Resolution::Merge(merged), _) => Some(merged.clone()),
                (_, OperationKind::Delete) => op.item.clone(),
                _ => tx.get(&table, &op.item_id)?,
            };
            let Some(mut item) = item else {
                return Ok(Effect::Unresolvable("the local item is gone"));
            };
            adopt_server_columns(&mut item, server).map_err(|e| StoreError::record(&table, e))?;
            item.set(crate::schema::system::DELETED, Value::Bool(false)).map_err(|e| StoreError::record(&table, e))?;
            op.kind = match (resolution, op.kind) {
                // A merged item lives on: whatever the local change was, the server gets an update.
                (Resolution::Merge(_), _) => OperationKind::Update,
                // The id exists on the server, so an insert becomes an update over its version.
                (_, OperationKind::Insert) => OperationKind::Update,
                (_, kind) => kind,
            };
            if op.kind == OperationKind::Delete {
                op.item = Some(item.clone());
            } else {
                op.item = None;
                tx.upsert(&table, &item)?;
            }
            op.state = resend_state;
            op.version += 1;
            tx.update_operation(&op)?;
            tx.remove_error(op.id)?;
            return Ok(Effect::Resend(op, Some(item)));
        }
    }
    tx.remove_error(op.id)?;
    Ok(Effect::Settled)
}
