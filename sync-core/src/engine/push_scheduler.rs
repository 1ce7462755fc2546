//! The push scheduler: claims the queue in batches, keeps up to `push_parallelism` requests in
//! flight (one operation each, or a group of one table's operations when the remote takes
//! batches) but never two operations of the same item, and stores each answer while the next
//! request is on its way. One operation's round trip is in `push_operation.rs`, a group's in
//! `push_batch.rs`.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures::stream::{FuturesUnordered, StreamExt};

use super::events::{PushOutcome, PushSummary, SyncEvent};
use super::push_batch::push_group;
use super::push_operation::{finish, item_key, Answer, Report, Step};
use super::push_records::Stop;
use super::shared::Shared;
use crate::error::{StoreError, SyncError};
use crate::operation::{FailureKind, Operation, OperationFilter, OperationState};
use crate::remote::Remote;
use crate::store::{Store, StoreExt};

/// Operations read from the queue at a time (more when the remote batches more).
const FETCH_BATCH: usize = 64;

/// The most operations sent in one batch, whatever the remote allows.
const MAX_GROUP: usize = 1000;

/// The table and id of an item.
type Key = (String, String);

/// The config key set while a push has operations claimed: found set by a push that holds the
/// store's push lock, it means the push that claimed them is gone (crashed, killed, dropped).
const CLAIMED_KEY: &str = "push|claimed";

/// Marks operations left `InFlight` by a push that is gone as `Attempted` (the server may have
/// applied them). Only called with the push lock held, when [`CLAIMED_KEY`] shows such a push.
async fn release_in_flight(store: &dyn Store) -> Result<(), StoreError> {
    store
        .transact(|tx| {
            let mut after = None;
            loop {
                let batch = tx.operations(&OperationFilter { after, limit: Some(256), ..OperationFilter::all() })?;
                let Some(last) = batch.last() else { break };
                after = Some(last.id);
                for mut op in batch.into_iter().filter(|op| op.state == OperationState::InFlight) {
                    op.state = OperationState::Attempted;
                    tx.update_operation(&op)?;
                }
            }
            tx.remove_config(CLAIMED_KEY).map(drop)
        })
        .await
}

pub(crate) async fn push(inner: &Shared, tables: Option<Vec<String>>) -> Result<PushSummary, SyncError> {
    let remote = inner.remote()?;
    let _guard = inner.lock_push().await?;
    push_locked(inner, &remote, tables).await
}

/// The push itself; the caller holds the push guard ([`Shared::lock_push`]).
///
/// # Ownership of operations in flight
/// Claiming marks operations `InFlight` (and sets [`CLAIMED_KEY`]) in one transaction, so a
/// local change to their items, from any context or process, queues behind them instead of
/// collapsing into them. Only the push holding the store's push lock claims, so an `InFlight`
/// operation found by a push that holds the lock belongs to a push that is gone: it is taken
/// back (as `Attempted`) before anything else. The push handles the operations queued when it
/// started, at most: ones queued meanwhile wait for the next push, so the counts of its events
/// never pass their total.
#[tracing::instrument(name = "push", skip_all, fields(tables = ?tables))]
pub(crate) async fn push_locked(
    inner: &Shared,
    remote: &Arc<dyn Remote>,
    tables: Option<Vec<String>>,
) -> Result<PushSummary, SyncError> {
    let filter = OperationFilter { tables, ..OperationFilter::all() };
    let count_filter = filter.clone();
    let (orphans, queued, waiting_for_decision) = inner
        .store
        .transact(move |tx| {
            let orphans = tx.config(CLAIMED_KEY)?.is_some();
            let queued = tx.count_operations(&count_filter)?;
            // Operations whose failure was not temporary wait in the errors table for a decision
            // (or a new local change, which clears the error): sending them again would only
            // fail again.
            let waiting: HashSet<u64> = tx
                .errors(None)?
                .into_iter()
                .filter(|e| e.failure != FailureKind::Transient)
                .filter(|e| count_filter.tables.as_ref().is_none_or(|t| t.contains(&e.table)))
                .map(|e| e.operation_id)
                .collect();
            Ok((orphans, queued, waiting))
        })
        .await?;
    let total = queued.saturating_sub(waiting_for_decision.len() as u64);
    let waiting_for_decision = Arc::new(waiting_for_decision);
    if orphans {
        release_in_flight(inner.store.as_ref()).await?;
    }
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
    let mut claimed_count = 0u64;
    let mut exhausted = total == 0;
    let mut abort: Option<Stop> = None;
    let mut done = 0u64;

    loop {
        // Operations that may travel together in one request (see `next_group`).
        let max_batch = remote.max_batch().clamp(1, MAX_GROUP);
        let mut slot_free = false;
        while abort.is_none() && sending.len() < inner.options.push_parallelism {
            match next_group(&mut waiting, &mut busy, max_batch) {
                Some(group) => sending.push(push_group(inner, remote.as_ref(), group)),
                None => {
                    slot_free = true;
                    break;
                }
            }
        }
        // The next operations are claimed when a request could go but nothing waiting can, and
        // also ahead of time, while the requests are on their way, once less than a group's
        // worth waits: claiming is store work, and done beside the round trip instead of after
        // it, it costs the push no time (the next group is ready when the answer comes). At most
        // one claim runs at a time, so at most two groups' worth waits.
        let running_low = waiting.len() < max_batch;
        if abort.is_none() && !exhausted && claiming.is_none() && (slot_free || running_low) {
            let limit = (total - claimed_count).min(FETCH_BATCH.max(max_batch) as u64) as usize;
            let skip = Arc::clone(&waiting_for_decision);
            claiming = Some(Box::pin(claim_batch(inner.store.as_ref(), &filter, last_fetched, limit, skip)));
        }
        let settled: Vec<(Key, Result<Option<Report>, Stop>)> = tokio::select! {
            claimed = async {
                match claiming.as_mut() {
                    Some(claim) => claim.await,
                    None => std::future::pending().await,
                }
            }, if claiming.is_some() => {
                claiming = None;
                match claimed {
                    Ok(Claimed { ops, last_seen }) => {
                        claimed_count += ops.len() as u64;
                        match last_seen {
                            Some(last) if claimed_count < total => last_fetched = Some(last),
                            _ => exhausted = true,
                        }
                        waiting.extend(ops);
                    }
                    Err(e) => {
                        abort.get_or_insert(Stop::Store(e));
                    }
                }
                continue;
            }
            Some(steps) = sending.next(), if !sending.is_empty() => {
                let mut settled = Vec::with_capacity(steps.len());
                let mut answers = Vec::new();
                let mut answered = Vec::new();
                for (key, step) in steps {
                    match step {
                        Ok(Step::Finish { op_id, op_version, server_item, report, forget_sent }) => {
                            answers.push(Answer { op_id, op_version, server_item, forget_sent });
                            answered.push((key, report));
                        }
                        Ok(Step::Done(report)) => settled.push((key, Ok(report))),
                        Err(reason) => settled.push((key, Err(reason))),
                    }
                }
                // Storing the server's answers (one transaction for the group) runs beside the
                // next request: only their items wait for it, through `busy`.
                if !answers.is_empty() {
                    finishing.push(async move {
                        match finish(inner.store.as_ref(), answers).await {
                            Ok(()) => answered.into_iter().map(|(key, report)| (key, Ok(Some(report)))).collect(),
                            Err(stop) => {
                                let mut out: Vec<(Key, Result<Option<Report>, Stop>)> =
                                    answered.into_iter().map(|(key, _)| (key, Ok(None))).collect();
                                if let Some(first) = out.first_mut() {
                                    first.1 = Err(stop);
                                }
                                out
                            }
                        }
                    });
                }
                settled
            }
            Some(settled) = finishing.next(), if !finishing.is_empty() => settled,
            else => break,
        };
        for (key, result) in settled {
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
    }
    // Operations claimed but never sent (the push stopped early) get their state back.
    if !waiting.is_empty() {
        let unsent: Vec<(u64, OperationState)> = waiting.iter().map(|(op, before)| (op.id, *before)).collect();
        if let Err(e) = release(inner.store.as_ref(), unsent).await {
            abort.get_or_insert(Stop::Store(e));
        }
    }

    // Every operation this push claimed has settled (succeeded, failed or released), unless the
    // store failed under one of them: then the mark stays, and the next push takes them back.
    if claimed_count > 0 && !matches!(abort, Some(Stop::Store(_))) {
        if let Err(e) = inner.store.transact(|tx| tx.remove_config(CLAIMED_KEY).map(drop)).await {
            abort.get_or_insert(Stop::Store(e));
        }
    }
    summary.aborted = abort.is_some();
    inner.events.emit(SyncEvent::PushFinished(summary.clone()));
    match abort {
        Some(reason) => Err(reason.into()),
        None => Ok(summary),
    }
}

/// Takes the next operations to send together out of `waiting`: the oldest whose item has
/// nothing in flight, then (when `max` allows more than one) the next ones of the same table,
/// each of an item with nothing in flight or in the group, up to `max`, stopping at the first
/// operation of another table so that the queue's order across tables holds as far as it does
/// for single requests. An operation of an item in flight or in the group stays, and so do the
/// later ones of that item: earlier operations of an item are always ahead of it in `waiting`,
/// so per-item order holds. The group's items are marked busy.
fn next_group(
    waiting: &mut VecDeque<(Operation, OperationState)>,
    busy: &mut HashSet<Key>,
    max: usize,
) -> Option<Vec<(Operation, OperationState)>> {
    let pos = waiting.iter().position(|(op, _)| !busy.contains(&item_key(op)))?;
    let first = waiting.remove(pos)?;
    busy.insert(item_key(&first.0));
    let table = first.0.table.clone();
    let mut group = vec![first];
    let mut i = pos;
    while group.len() < max && i < waiting.len() {
        let op = &waiting[i].0;
        if op.table != table {
            break;
        }
        let key = item_key(op);
        if busy.contains(&key) {
            i += 1;
            continue;
        }
        busy.insert(key);
        if let Some(next) = waiting.remove(i) {
            group.push(next);
        }
    }
    Some(group)
}

/// A claimed batch: the operations (each with the state it had) and the last queue id looked at
/// (`None` at the end of the queue).
struct Claimed {
    ops: Vec<(Operation, OperationState)>,
    last_seen: Option<u64>,
}

type ClaimResult = Result<Claimed, StoreError>;

/// Claims the next operations of the queue (at most `limit`, after `after`, none of `skip`):
/// marks them in flight and sets [`CLAIMED_KEY`] in one transaction, so local changes to their
/// items queue behind them instead of collapsing into them.
async fn claim_batch(
    store: &dyn Store,
    filter: &OperationFilter,
    after: Option<u64>,
    limit: usize,
    skip: Arc<HashSet<u64>>,
) -> ClaimResult {
    let filter = OperationFilter { after, limit: Some(limit), ..filter.clone() };
    store
        .transact(move |tx| {
            let ops = tx.operations(&filter)?;
            let last_seen = ops.last().map(|op| op.id);
            let mut claimed = Vec::with_capacity(ops.len());
            for mut op in ops.into_iter().filter(|op| !skip.contains(&op.id)) {
                if claimed.is_empty() {
                    tx.set_config(CLAIMED_KEY, "1")?;
                }
                let before = op.state;
                op.state = OperationState::InFlight;
                tx.update_operation(&op)?;
                claimed.push((op, before));
            }
            Ok(Claimed { ops: claimed, last_seen })
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
