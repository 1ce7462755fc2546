//! Conflict resolution: applies a [`Resolution`] to a failed operation inside one store
//! transaction, and checks merged items. Shared by the push (handler decisions) and by
//! [`SyncContext::resolve`](crate::SyncContext::resolve) (the errors table), so both paths behave
//! the same.

use serde_json::Value;

use super::conflict::Resolution;
use super::retry::with_retry;
use super::shared::Shared;
use crate::cursor::Cursor;
use crate::error::{RemoteErrorKind, StoreError, SyncError};
use crate::operation::{Operation, OperationError, OperationKind, OperationState};
use crate::queue::adopt_server_columns;
use crate::record::Record;
use crate::schema::TableSchema;
use crate::store::{StoreExt, Transaction};

/// Resolves the failure recorded for `operation_id` in the errors table (see
/// [`SyncContext::resolve`](crate::SyncContext::resolve)).
///
/// The server's item recorded with the error may be old: another device may have changed the
/// item since, and a pull skipped it (its operation was pending) while moving the cursor past it.
/// So, when the context has a remote, the server's **current** item is read first and the
/// resolution applies to it; a device that resolves ends with the server's current item. When
/// the server cannot be reached, the recorded copy is used and the table's pull cursors are
/// forgotten, so the next pull brings the current item.
pub(crate) async fn resolve_recorded(
    shared: &Shared,
    operation_id: u64,
    resolution: Resolution,
) -> Result<(), SyncError> {
    // Not while a push holds the operation in flight.
    let _no_push = shared.lock_push().await?;
    let errors = shared.store.transact(|tx| tx.errors(None)).await?;
    let error =
        errors.into_iter().find(|e| e.operation_id == operation_id).ok_or(SyncError::NoSuchError(operation_id))?;
    let schema = shared.opened_schema(&error.table)?;
    let resolution = match resolution {
        Resolution::Merge(item) => Resolution::Merge(conform_merge(&schema, &error.item_id, item)?),
        other => other,
    };
    let (mut server_item, stale) = current_server_item(shared, &schema, &error).await?;
    if server_item.is_none() && !stale && resolution == Resolution::KeepLocal && error.kind != OperationKind::Delete {
        // The server deleted the item, and the app keeps its edit: bring the item back, so the
        // edit goes over its version (an insert of a deleted row's id is a conflict).
        server_item = undeleted(shared, &schema, &error).await?;
    }
    let table = error.table.clone();
    let effect = shared
        .store
        .transact(move |tx| {
            let effect = apply_resolution(
                tx,
                &schema,
                error.operation_id,
                error.operation_version,
                server_item.as_ref(),
                &resolution,
                OperationState::Pending,
            )?;
            if stale && !matches!(effect, Effect::Stale | Effect::Deferred | Effect::Unresolvable(_)) {
                Cursor::forget(tx, &table, None)?;
            }
            Ok(effect)
        })
        .await?;
    match effect {
        Effect::Stale => Err(SyncError::StaleError(operation_id)),
        Effect::Unresolvable(reason) => Err(SyncError::CannotResolve { operation_id, reason }),
        Effect::Settled | Effect::Resend(..) | Effect::Deferred => Ok(()),
    }
}

/// The item brought back by the server, or `None` when it cannot (it has no such row, or no
/// undelete), in which case keep-local re-creates the item with an insert.
async fn undeleted(shared: &Shared, schema: &TableSchema, error: &OperationError) -> Result<Option<Record>, SyncError> {
    let Some(remote) = shared.remote.as_ref() else { return Ok(None) };
    match with_retry(&shared.options.retry, || remote.undelete(&error.table, &error.item_id, None)).await {
        Ok(item) => server_row(schema, item).map(Some),
        Err(e) if matches!(e.kind(), RemoteErrorKind::NotFound | RemoteErrorKind::BadRequest) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The server's current item for a recorded failure, and whether it may be stale: read from the
/// server (`None` when it has none, or holds it deleted), or the recorded copy when the server
/// cannot be reached or there is no remote.
async fn current_server_item(
    shared: &Shared,
    schema: &TableSchema,
    error: &OperationError,
) -> Result<(Option<Record>, bool), SyncError> {
    let Some(remote) = shared.remote.as_ref() else { return Ok((error.server_item.clone(), true)) };
    match with_retry(&shared.options.retry, || remote.read(&error.table, &error.item_id)).await {
        Ok(item) => Ok((Some(server_row(schema, item)?), false)),
        Err(e) if e.kind() == RemoteErrorKind::NotFound => Ok((None, false)),
        Err(e) if e.is_retryable() => Ok((error.server_item.clone(), true)),
        Err(e) => Err(e.into()),
    }
}

/// A server's item conformed to the table.
fn server_row(schema: &TableSchema, item: Record) -> Result<Record, SyncError> {
    schema
        .conform_remote(item)
        .map_err(|source| SyncError::InvalidServerRow { table: schema.name().to_owned(), source })
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
            // The local change is dropped. The device then holds what the server holds, so it
            // converges: the server's item when it has one, else nothing.
            tx.remove_operation(op.id)?;
            match server_alive {
                Some(server) => tx.upsert(&table, server)?,
                None => {
                    tx.delete(&table, &op.item_id)?;
                }
            }
        }
        Resolution::KeepLocal if server_alive.is_none() => {
            return keep_local_without_server_item(tx, &table, op, resend_state);
        }
        Resolution::KeepLocal | Resolution::Merge(_) => {
            let Some(server) = server_alive else {
                return Ok(Effect::Unresolvable(
                    "the server's item is unknown or deleted, so there is no version to merge over",
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
            // An update queued before columns were added keeps the list of columns it knew
            // (`evolution::only_known_columns`): keeping that edit must not send the device's
            // defaults over the server's values of the others.
            let keeps_known_columns =
                matches!(resolution, Resolution::KeepLocal) && op.kind == OperationKind::Update && op.item.is_some();
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
                if !keeps_known_columns {
                    op.item = None;
                }
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
    tx.remove_config(&sent_key(op.id))?;
    Ok(Effect::Settled)
}

/// The config key under which the bodies of an operation's sends whose answer never came are kept:
/// the server may have applied any of them, and a later conflict is then recognised as the device's own
/// write instead of a conflict (the key ends with `|`, so removing it by prefix removes only it).
pub(super) fn sent_key(op_id: u64) -> String {
    format!("push|sent|{op_id}|")
}

/// Keep-local when the server has no live item (it deleted it, or never had it): a local delete
/// is done already; an insert or update re-creates the item with an insert. A server that keeps
/// the deleted row's id taken (the Node server answers 409) makes the insert a conflict again.
fn keep_local_without_server_item(
    tx: &mut dyn Transaction,
    table: &str,
    mut op: Operation,
    resend_state: OperationState,
) -> Result<Effect, StoreError> {
    if op.kind == OperationKind::Delete {
        tx.remove_operation(op.id)?;
        tx.remove_error(op.id)?;
        tx.remove_config(&sent_key(op.id))?;
        return Ok(Effect::Settled);
    }
    let Some(mut item) = tx.get(table, &op.item_id)? else {
        return Ok(Effect::Unresolvable("the local item is gone"));
    };
    for col in [crate::schema::system::CREATED_AT, crate::schema::system::UPDATED_AT, crate::schema::system::VERSION] {
        item.set(col, Value::Null).map_err(|e| StoreError::record(table, e))?;
    }
    tx.upsert(table, &item)?;
    op.kind = OperationKind::Insert;
    op.item = None;
    op.state = resend_state;
    op.version += 1;
    tx.update_operation(&op)?;
    tx.remove_error(op.id)?;
    Ok(Effect::Resend(op, Some(item)))
}
