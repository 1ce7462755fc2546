//! A group of claimed operations of one table pushed in one [`Remote::batch`] request. Each
//! operation is prepared and settled as [`push_one`] does it; only its first send travels in
//! the batch, and its answer there is taken as the answer of that send. Resends after a
//! resolved conflict, and deletes that must read the server's version first, go alone.

use super::push_operation::{lost_in_batch, prepare, push_one, settle_sends, Prepared, Step};
use super::push_records::Stop;
use super::push_scheduler::Claim;
use super::retry::with_retry;
use super::shared::Shared;
use crate::error::{RemoteError, RemoteErrorKind};
use crate::remote::{BatchOp, BatchResult, Remote};

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
pub(super) async fn push_group(inner: &Shared, remote: &dyn Remote, mut claims: Vec<Claim>) -> Vec<Settled> {
    if claims.len() == 1 {
        if let Some(claim) = claims.pop() {
            return vec![push_one(inner, remote, claim).await];
        }
    }
    let mut out = Vec::with_capacity(claims.len());
    // Prepared operations, each with its request when it goes in the batch.
    let mut ready: Vec<(Prepared, Option<BatchOp>)> = Vec::with_capacity(claims.len());
    for claim in claims {
        let key = super::push_operation::item_key(&claim.op);
        let prepared = prepare(inner, claim).await;
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
