//! A group of claimed operations of one table pushed in one [`Remote::batch`] request. Each
//! operation is prepared and settled as [`push_one`] does it; only its first send travels in
//! the batch, and its answer there is taken as the answer of that send. Resends after a
//! resolved conflict, and deletes that must read the server's version first, go alone.

use super::push_operation::{lost_in_batch, prepare, prepare_read, push_one, settle_sends, Prepared, Step};
use super::push_records::Stop;
use super::retry::with_retry;
use super::shared::Shared;
use crate::error::{RemoteError, RemoteErrorKind};
use crate::operation::{Operation, OperationKind, OperationState};
use crate::record::Record;
use crate::remote::{BatchOp, BatchResult, Remote};
use crate::store::StoreExt;

/// What pushing one operation of a group came to, under its item's key.
pub(super) type Settled = ((String, String), Result<Step, Stop>);

/// Pushes claimed operations of one table, of distinct items: alone when there is one, else
/// the ones that can go in a batch in one [`Remote::batch`] request (retried as a whole on
/// transient failures), then each settled in queue order.
///
/// An answer for each operation is settled as the answer of its single request. When the
/// request fails as a whole:
/// - a 401 or a transient failure (5xx, 429, after retries) counts as each operation's own
///   answer, as it would have been for its single request (the push stops, or each goes to the
///   errors table, to be sent again by the next push);
/// - any other failure (no answer, a malformed answer, an answer with too few results) says
///   nothing of which operations the server applied: each is left `Attempted` with what it sent
///   remembered, as after a lost single answer, and the push stops. The next push sends them
///   again, and a write found already applied is recognised as the device's own.
pub(super) async fn push_group(
    inner: &Shared,
    remote: &dyn Remote,
    mut ops: Vec<(Operation, OperationState)>,
) -> Vec<Settled> {
    if ops.len() == 1 {
        if let Some((op, before)) = ops.pop() {
            return vec![push_one(inner, remote, op, before).await];
        }
    }
    let mut out = Vec::with_capacity(ops.len());
    // Prepared operations, each with its request when it goes in the batch.
    let mut ready: Vec<(Prepared, Option<BatchOp>)> = Vec::with_capacity(ops.len());
    let mut items = read_items(inner, &ops).await.map(Vec::into_iter);
    for (op, before) in ops {
        let key = super::push_operation::item_key(&op);
        let prepared = match items.as_mut() {
            Some(items) => prepare_read(inner, op, before, items.next().flatten()).await,
            None => prepare(inner, op, before).await,
        };
        match prepared {
            Ok(Ok(prepared)) => {
                let request = prepared.request();
                ready.push((prepared, request));
            }
            Ok(Err(step)) => out.push((key, Ok(step))),
            Err(stop) => out.push((key, Err(stop))),
        }
    }
    let Some(table) = ready.first().map(|(p, _)| p.key().0) else { return out };
    let requests: Vec<BatchOp> = ready.iter().filter_map(|(_, r)| r.clone()).collect();
    let answers = match requests.len() {
        0 => Ok(Vec::new()),
        1 => Ok(Vec::new()), // one request is sent alone, below
        n => {
            let answers = with_retry(&inner.options.retry, || remote.batch(&table, &requests)).await;
            match answers {
                Ok(a) if a.len() != n => Err(RemoteError::protocol(format!(
                    "the batch of {n} operations was answered with {} results",
                    a.len()
                ))),
                other => other,
            }
        }
    };
    let batched = requests.len() > 1;
    match answers {
        Ok(answers) => {
            let mut answers = answers.into_iter();
            for (prepared, request) in ready {
                let key = prepared.key();
                let first: Option<BatchResult> = if batched && request.is_some() { answers.next() } else { None };
                out.push((key, settle_sends(inner, remote, prepared, first).await));
            }
        }
        Err(error) => {
            let whole = error.kind();
            for (prepared, request) in ready {
                let key = prepared.key();
                let result = match (request, whole) {
                    // Not in the batch: sent alone as usual.
                    (None, _) => settle_sends(inner, remote, prepared, None).await,
                    (Some(_), RemoteErrorKind::Unauthorized | RemoteErrorKind::Transient) => {
                        settle_sends(inner, remote, prepared, Some(Err(copy(&error)))).await
                    }
                    (Some(_), _) => lost_in_batch(inner, prepared, copy(&error)).await,
                };
                out.push((key, result));
            }
        }
    }
    out
}

/// The items the operations send, read in one store transaction instead of one read each (a
/// read of a file store is a trip to another thread), with one [`Transaction::get_many`] per
/// table: per operation, in order, its row of the data table (`None` for a delete, which sends
/// its snapshot). `None` when the read fails: then each operation reads its own, and meets the
/// failure there.
///
/// [`Transaction::get_many`]: crate::store::Transaction::get_many
async fn read_items(inner: &Shared, ops: &[(Operation, OperationState)]) -> Option<Vec<Option<Record>>> {
    // Per table, the positions of the operations that read an item of it.
    let mut tables: Vec<(String, Vec<(usize, String)>)> = Vec::new();
    for (i, (op, _)) in ops.iter().enumerate() {
        if op.kind == OperationKind::Delete || inner.schema(&op.table).is_none() {
            continue;
        }
        let wanted = (i, op.item_id.clone());
        match tables.iter_mut().find(|(table, _)| *table == op.table) {
            Some((_, list)) => list.push(wanted),
            None => tables.push((op.table.clone(), vec![wanted])),
        }
    }
    let count = ops.len();
    inner
        .store
        .transact(move |tx| {
            let mut items: Vec<Option<Record>> = vec![None; count];
            for (table, wanted) in &tables {
                let ids: Vec<&str> = wanted.iter().map(|(_, id)| id.as_str()).collect();
                for ((i, _), item) in wanted.iter().zip(tx.get_many(table, &ids)?) {
                    items[*i] = item;
                }
            }
            Ok(items)
        })
        .await
        .ok()
}

/// The same failure for another operation of the batch (the transport's source is not shared;
/// its message is kept).
fn copy(error: &RemoteError) -> RemoteError {
    match error {
        RemoteError::Conflict { status, server_item } => {
            RemoteError::Conflict { status: *status, server_item: server_item.clone() }
        }
        RemoteError::NotFound { message } => RemoteError::NotFound { message: message.clone() },
        RemoteError::Unauthorized { message } => RemoteError::Unauthorized { message: message.clone() },
        RemoteError::BadRequest { status, message } => {
            RemoteError::BadRequest { status: *status, message: message.clone() }
        }
        RemoteError::Offline { message, .. } => RemoteError::offline(message.clone()),
        RemoteError::Transient { status, message } => {
            RemoteError::Transient { status: *status, message: message.clone() }
        }
        RemoteError::TooLarge { size, limit } => RemoteError::TooLarge { size: *size, limit: *limit },
        RemoteError::Protocol { message, .. } => RemoteError::protocol(message.clone()),
    }
}
