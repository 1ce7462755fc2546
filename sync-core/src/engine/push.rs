//! Push: sends the operation queue to the server in order, one request per operation, with up to
//! `push_parallelism` requests in flight but never two for the same item.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures::stream::{FuturesUnordered, StreamExt};

use super::conflict::{Conflict, Resolution};
use super::context::Inner;
use super::events::{PushOutcome, PushSummary, SyncEvent};
use super::resolution::{apply_resolution, Effect};
use super::retry::with_retry;
use crate::error::{PushAbort, RemoteError, RemoteErrorKind, StoreError, SyncError};
use crate::operation::{FailureKind, Operation, OperationError, OperationFilter, OperationKind, OperationState};
use crate::queue::complete_operation;
use crate::record::Record;
use crate::remote::{strip_server_columns, Remote};
use crate::schema::TableSchema;
use crate::store::{Store, StoreExt};

/// Operations read from the queue at a time.
const FETCH_BATCH: usize = 64;

/// Marks operations left `InFlight` (by a crash or a dropped push) as `Attempted`.
pub(crate) async fn release_in_flight(store: &dyn Store) -> Result<(), StoreError> {
    store
        .transact(|tx| {
            let mut after = None;
            loop {
                let batch = tx.operations(&OperationFilter { after, limit: Some(256), ..OperationFilter::all() })?;
                let Some(last) = batch.last() else { return Ok(()) };
                after = Some(last.id);
                for mut op in batch.into_iter().filter(|op| op.state == OperationState::InFlight) {
                    op.state = OperationState::Attempted;
                    tx.update_operation(&op)?;
                }
            }
        })
        .await
}

pub(crate) async fn push(inner: &Inner, tables: Option<Vec<String>>) -> Result<PushSummary, SyncError> {
    let remote = inner.remote.clone().ok_or(SyncError::NoRemote)?;
    let _one_push_at_a_time = inner.push_lock.lock().await;
    push_locked(inner, &remote, tables).await
}

/// The push itself; the caller holds the push lock.
pub(crate) async fn push_locked(
    inner: &Inner,
    remote: &Arc<dyn Remote>,
    tables: Option<Vec<String>>,
) -> Result<PushSummary, SyncError> {
    // Only a push that was dropped half-way leaves operations marked in flight (the builder
    // releases those of an earlier process), so the queue is scanned only then.
    if inner.push_interrupted.swap(true, Ordering::SeqCst) {
        release_in_flight(inner.store.as_ref()).await?;
    }
    let filter = OperationFilter { tables, ..OperationFilter::all() };
    let count_filter = filter.clone();
    let total = inner.store.transact(move |tx| tx.count_operations(&count_filter)).await?;
    inner.events.emit(SyncEvent::PushStarted { total });

    let mut summary = PushSummary { total, ..Default::default() };
    // Claimed (in flight) but not dispatched yet, with the state each had before the claim.
    let mut waiting: VecDeque<(Operation, OperationState)> = VecDeque::new();
    let mut busy: HashSet<(String, String)> = HashSet::new();
    let mut sending = FuturesUnordered::new();
    let mut finishing = FuturesUnordered::new();
    // The next batch of the queue being claimed. It is polled together with the requests and
    // the finishing writes, never awaited alone: a finishing write may hold the store's writer
    // lock, and it must be polled to release it.
    let mut claiming: Option<Pin<Box<dyn Future<Output = ClaimResult> + Send + '_>>> = None;
    let mut last_fetched: Option<u64> = None;
    let mut exhausted = false;
    let mut abort: Option<PushAbort> = None;
    let mut done = 0u64;

    loop {
        while abort.is_none() && sending.len() < inner.options.push_parallelism {
            // The oldest waiting operation whose item has nothing in flight; earlier operations of
            // the same item are always ahead of it in `waiting`, so per-item order holds.
            if let Some(pos) = waiting.iter().position(|(op, _)| !busy.contains(&item_key(op))) {
                if let Some((op, _)) = waiting.remove(pos) {
                    busy.insert(item_key(&op));
                    sending.push(push_one(inner, remote, op));
                }
                continue;
            }
            if !exhausted && claiming.is_none() {
                claiming = Some(Box::pin(claim_batch(inner.store.as_ref(), &filter, last_fetched)));
            }
            break;
        }
        let (key, result) = tokio::select! {
            claimed = async {
                match claiming.as_mut() {
                    Some(claim) => claim.await,
                    None => std::future::pending().await,
                }
            }, if claiming.is_some() => {
                claiming = None;
                match claimed {
                    Ok(batch) => {
                        match batch.last() {
                            None => exhausted = true,
                            Some((last, _)) => last_fetched = Some(last.id),
                        }
                        waiting.extend(batch);
                    }
                    Err(e) => {
                        abort.get_or_insert(PushAbort::Store(e));
                    }
                }
                continue;
            }
            Some((key, step)) = sending.next(), if !sending.is_empty() => match step {
                // Storing the server's answer runs beside the next request: only the item waits
                // for it, through `busy`.
                Ok(Step::Finish { op_id, server_item, report }) => {
                    finishing.push(async move {
                        let stored = finish(inner.store.as_ref(), op_id, server_item).await;
                        (key, stored.map(|()| Some(report)))
                    });
                    continue;
                }
                Ok(Step::Done(report)) => (key, Ok(report)),
                Err(reason) => (key, Err(reason)),
            },
            Some((key, result)) = finishing.next(), if !finishing.is_empty() => (key, result),
            else => break,
        };
        busy.remove(&key);
        match result {
            Ok(Some(report)) => {
                done += 1;
                match report.outcome {
                    PushOutcome::Succeeded => summary.succeeded += 1,
                    PushOutcome::Resolved => summary.resolved += 1,
                    PushOutcome::Failed => summary.failed += 1,
                }
                inner.events.emit(SyncEvent::ItemPushed {
                    table: key.0,
                    item_id: key.1,
                    kind: report.kind,
                    outcome: report.outcome,
                    done,
                    total,
                });
            }
            Ok(None) => {}
            Err(reason) => {
                abort.get_or_insert(reason);
            }
        }
    }
    // Operations claimed but never sent (the push stopped early) get their state back.
    if !waiting.is_empty() {
        let unsent: Vec<(u64, OperationState)> = waiting.iter().map(|(op, before)| (op.id, *before)).collect();
        if let Err(e) = release(inner.store.as_ref(), unsent).await {
            abort.get_or_insert(PushAbort::Store(e));
        }
    }

    // Every operation this push claimed has settled (succeeded, failed or released), unless the
    // store failed under one of them.
    if !matches!(abort, Some(PushAbort::Store(_))) {
        inner.push_interrupted.store(false, Ordering::SeqCst);
    }
    summary.aborted = abort.is_some();
    inner.events.emit(SyncEvent::PushFinished(summary.clone()));
    match abort {
        Some(reason) => Err(SyncError::PushAborted { reason, pushed: summary.succeeded + summary.resolved }),
        None => Ok(summary),
    }
}

fn item_key(op: &Operation) -> (String, String) {
    (op.table.clone(), op.item_id.clone())
}

struct Report {
    kind: OperationKind,
    outcome: PushOutcome,
}

/// What a pushed operation leaves to do.
enum Step {
    /// The server applied it: store its answer (see [`finish`]).
    Finish { op_id: u64, server_item: Option<Record>, report: Report },
    /// Settled already (resolved, recorded as failed) — or `None` when it vanished.
    Done(Option<Report>),
}

/// Pushes one claimed operation: a success to finish, a resolved conflict, a recorded failure, or
/// an abort.
async fn push_one(
    inner: &Inner,
    remote: &Arc<dyn Remote>,
    op: Operation,
) -> ((String, String), Result<Step, PushAbort>) {
    let key = item_key(&op);
    let result = push_one_inner(inner, remote.as_ref(), op).await;
    (key, result)
}

async fn push_one_inner(inner: &Inner, remote: &dyn Remote, op: Operation) -> Result<Step, PushAbort> {
    let schema = inner.schema(&op.table).ok_or_else(|| {
        PushAbort::Store(StoreError::UnknownTable(format!(
            "{} (open it with SyncContext::table before pushing its operations)",
            op.table
        )))
    })?;
    let store = inner.store.as_ref();
    let mut op = op;
    // What to send is read now: the item from the data table (insert/update), or the snapshot.
    let mut item = match op.kind {
        OperationKind::Delete => op.item.clone(),
        _ => store.get(&op.table, &op.item_id).await.map_err(PushAbort::Store)?,
    };
    let kind = op.kind;
    if kind != OperationKind::Delete && item.is_none() {
        let message = format!("the local item {} of {} is missing, so there is nothing to send", op.item_id, op.table);
        let failure = Failure { kind: FailureKind::MissingLocalItem, status: None, message, server_item: None };
        record_failure(store, &op, None, failure).await?;
        return Ok(Step::Done(Some(Report { kind, outcome: PushOutcome::Failed })));
    }
    let mut rounds = 0u32;
    let mut resolved = false;
    loop {
        let sent = send(inner, remote, &op, item.as_ref()).await;
        let failure = match sent {
            Ok(server_item) => {
                let server_item = match server_item.map(|s| schema.conform_remote(s)).transpose() {
                    Ok(s) => s,
                    Err(e) => {
                        let err = RemoteError::protocol(format!("the server's item does not fit the table: {e}"));
                        record_failure(store, &op, item, Failure::of(&err, None)).await?;
                        return Ok(Step::Done(Some(Report { kind, outcome: PushOutcome::Failed })));
                    }
                };
                let outcome = if resolved { PushOutcome::Resolved } else { PushOutcome::Succeeded };
                return Ok(Step::Finish { op_id: op.id, server_item, report: Report { kind, outcome } });
            }
            Err(e) => e,
        };
        match failure.kind() {
            // Already gone on the server: the delete is done.
            RemoteErrorKind::NotFound if op.kind == OperationKind::Delete => {
                let report = Report { kind, outcome: PushOutcome::Succeeded };
                return Ok(Step::Finish { op_id: op.id, server_item: None, report });
            }
            RemoteErrorKind::Unauthorized => {
                mark_attempted(store, &op).await?;
                return Err(PushAbort::Unauthorized(failure));
            }
            RemoteErrorKind::Transient if failure.status().is_none() => {
                mark_attempted(store, &op).await?;
                return Err(PushAbort::Network(failure));
            }
            RemoteErrorKind::Conflict => {}
            _ => {
                record_failure(store, &op, item, Failure::of(&failure, None)).await?;
                return Ok(Step::Done(Some(Report { kind, outcome: PushOutcome::Failed })));
            }
        }

        // A conflict: find the server's item, then settle it.
        let status = failure.status().unwrap_or(409);
        let server_item = server_item_of(remote, &schema, &op, &failure).await;
        if let (Some(local), Some(server)) = (item.as_ref(), server_item.as_ref()) {
            // Our earlier attempt landed but its answer was lost: the server holds our change.
            if op.kind != OperationKind::Delete && !server.is_deleted() && same_user_fields(&schema, local, server) {
                let report = Report { kind, outcome: PushOutcome::Succeeded };
                return Ok(Step::Finish { op_id: op.id, server_item: Some(server.clone()), report });
            }
        }
        let conflict =
            Conflict { operation: op.clone(), local_item: item.clone(), server_item: server_item.clone(), status };
        let resolution = match inner.handler.resolve(&conflict) {
            Resolution::Merge(merged) => match super::table::conform_merge(&schema, &op.item_id, merged) {
                Ok(m) => Resolution::Merge(m),
                Err(e) => {
                    tracing::warn!(table = %op.table, item = %op.item_id, "merge returned an unusable item: {e}");
                    Resolution::Defer
                }
            },
            other => other,
        };
        rounds += 1;
        let resolution = if rounds > inner.options.max_conflict_rounds { Resolution::Defer } else { resolution };
        let settle_schema = Arc::clone(&schema);
        let settle_server = server_item.clone();
        let (op_id, op_version) = (op.id, op.version);
        let effect = store
            .transact(move |tx| {
                apply_resolution(
                    tx,
                    &settle_schema,
                    op_id,
                    op_version,
                    settle_server.as_ref(),
                    &resolution,
                    OperationState::InFlight,
                )
            })
            .await
            .map_err(PushAbort::Store)?;
        match effect {
            Effect::Settled => return Ok(Step::Done(Some(Report { kind, outcome: PushOutcome::Resolved }))),
            Effect::Resend(next_op, next_item) => {
                op = next_op;
                item = next_item;
                resolved = true;
            }
            Effect::Stale => return Ok(Step::Done(None)),
            Effect::Deferred | Effect::Unresolvable(_) => {
                record_failure(store, &op, item, Failure::of(&failure, server_item)).await?;
                return Ok(Step::Done(Some(Report { kind, outcome: PushOutcome::Failed })));
            }
        }
    }
}

/// Claims the next operations of the queue (after `after`): marks them in flight in one
/// transaction, so local changes to their items queue behind them instead of collapsing into
/// them. Returns each with the state it had.
type ClaimResult = Result<Vec<(Operation, OperationState)>, StoreError>;

async fn claim_batch(store: &dyn Store, filter: &OperationFilter, after: Option<u64>) -> ClaimResult {
    let filter = OperationFilter { after, limit: Some(FETCH_BATCH), ..filter.clone() };
    store
        .transact(move |tx| {
            let ops = tx.operations(&filter)?;
            let mut claimed = Vec::with_capacity(ops.len());
            for mut op in ops {
                let before = op.state;
                op.state = OperationState::InFlight;
                tx.update_operation(&op)?;
                claimed.push((op, before));
            }
            Ok(claimed)
        })
        .await
}

/// Gives claimed operations that were never sent their state back.
async fn release(store: &dyn Store, unsent: Vec<(u64, OperationState)>) -> Result<(), StoreError> {
    store
        .transact(move |tx| {
            for (id, before) in unsent {
                if let Some(mut op) = tx.operation(id)? {
                    op.state = before;
                    tx.update_operation(&op)?;
                }
            }
            Ok(())
        })
        .await
}

/// Sends one operation, retrying transient failures. `Ok(None)` for a delete.
async fn send(
    inner: &Inner,
    remote: &dyn Remote,
    op: &Operation,
    item: Option<&Record>,
) -> Result<Option<Record>, RemoteError> {
    let retry = &inner.options.retry;
    match (op.kind, item) {
        (OperationKind::Delete, item) => {
            let version = item.and_then(Record::version);
            with_retry(retry, || remote.delete(&op.table, &op.item_id, version)).await.map(|()| None)
        }
        // `push_one_inner` records a missing item before sending; nothing to send here.
        (_, None) => Ok(None),
        (OperationKind::Insert, Some(item)) => {
            let body = strip_server_columns(item);
            with_retry(retry, || remote.insert(&op.table, &body)).await.map(Some)
        }
        (OperationKind::Update, Some(item)) => {
            let body = strip_server_columns(item);
            with_retry(retry, || remote.update(&op.table, &body, item.version())).await.map(Some)
        }
    }
}

/// The server's item for a conflict: attached to the error, or read back (the Node server answers
/// a duplicate insert with the request's own item, not its own).
async fn server_item_of(
    remote: &dyn Remote,
    schema: &TableSchema,
    op: &Operation,
    failure: &RemoteError,
) -> Option<Record> {
    let raw = match failure.server_item() {
        Some(item) => Some(item.clone()),
        None => remote.read(&op.table, &op.item_id).await.ok(),
    };
    raw.and_then(|r| schema.conform_remote(r).ok())
}

/// Whether two items hold the same user fields (system columns ignored).
fn same_user_fields(schema: &TableSchema, a: &Record, b: &Record) -> bool {
    schema.user_columns().all(|c| {
        let null = serde_json::Value::Null;
        a.get(&c.name).unwrap_or(&null) == b.get(&c.name).unwrap_or(&null)
    })
}

async fn finish(store: &dyn Store, op_id: u64, server_item: Option<Record>) -> Result<(), PushAbort> {
    store.transact(move |tx| complete_operation(tx, op_id, server_item.as_ref())).await.map_err(PushAbort::Store)
}

async fn mark_attempted(store: &dyn Store, op: &Operation) -> Result<(), PushAbort> {
    let op_id = op.id;
    store
        .transact(move |tx| {
            if let Some(mut op) = tx.operation(op_id)? {
                op.state = OperationState::Attempted;
                tx.update_operation(&op)?;
            }
            Ok(())
        })
        .await
        .map_err(PushAbort::Store)
}

/// Why an operation failed, as the errors table records it.
struct Failure {
    kind: FailureKind,
    status: Option<u16>,
    message: String,
    server_item: Option<Record>,
}

impl Failure {
    /// The failure a remote error stands for, with the server's item when known.
    fn of(error: &RemoteError, server_item: Option<Record>) -> Failure {
        let kind = match error.kind() {
            RemoteErrorKind::Conflict => FailureKind::Conflict,
            RemoteErrorKind::NotFound => FailureKind::NotFound,
            RemoteErrorKind::Transient => FailureKind::Transient,
            RemoteErrorKind::Protocol => FailureKind::Protocol,
            _ => FailureKind::Rejected,
        };
        Failure {
            kind,
            status: error.status(),
            message: error.to_string(),
            server_item: server_item.or_else(|| error.server_item().cloned()),
        }
    }
}

/// Records a failed operation in the errors table and leaves it queued as attempted.
async fn record_failure(
    store: &dyn Store,
    op: &Operation,
    item: Option<Record>,
    failure: Failure,
) -> Result<(), PushAbort> {
    tracing::warn!(table = %op.table, item = %op.item_id, kind = %op.kind, "push failed: {}", failure.message);
    let error = OperationError {
        operation_id: op.id,
        operation_version: op.version,
        kind: op.kind,
        table: op.table.clone(),
        item_id: op.item_id.clone(),
        failure: failure.kind,
        status: failure.status,
        message: failure.message,
        item,
        server_item: failure.server_item,
    };
    let op_id = op.id;
    store
        .transact(move |tx| {
            let Some(mut op) = tx.operation(op_id)? else { return Ok(()) };
            op.state = OperationState::Attempted;
            tx.update_operation(&op)?;
            // Record against the operation as it is now, so resolving checks the right version.
            let error = OperationError { operation_version: op.version, ..error };
            tx.put_error(&error)
        })
        .await
        .map_err(PushAbort::Store)
}
