//! The push scheduler: claims the queue in batches, keeps up to `push_parallelism` requests in
//! flight (one operation each, or a group of one table's operations when the remote takes
//! batches) but never two operations of the same item, and stores each answer while the next
//! request is on its way. One operation's round trip is in `push_operation.rs`, a group's in
//! `push_batch.rs`.

use std::collections::{HashMap, HashSet, VecDeque};
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
use crate::operation::{FailureKind, Operation, OperationFilter, OperationKind, OperationState};
use crate::record::Record;
use crate::remote::Remote;
use crate::store::{Store, StoreExt, Transaction};

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
                let in_flight: Vec<u64> =
                    batch.iter().filter(|op| op.state == OperationState::InFlight).map(|op| op.id).collect();
                tx.set_operation_states(&in_flight, OperationState::Attempted)?;
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
    // Claimed (in flight) but not dispatched yet.
    let mut waiting: VecDeque<Claim> = VecDeque::new();
    let mut busy: HashSet<(String, String)> = HashSet::new();
    // Per item, how many of its operations this push claimed and has not settled yet.
    let mut unsettled: HashMap<Key, usize> = HashMap::new();
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
            let open = inner.table_names();
            claiming = Some(Box::pin(claim_batch(inner.store.as_ref(), &filter, last_fetched, limit, skip, open)));
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
                        for mut claim in ops {
                            let earlier = unsettled.entry(item_key(&claim.op)).or_default();
                            if *earlier > 0 {
                                // An earlier operation of the item goes first, and its answer
                                // (a new version) is stored in the item: read it when sent.
                                claim.item = None;
                            }
                            *earlier += 1;
                            waiting.push_back(claim);
                        }
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
            if let Some(n) = unsettled.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    unsettled.remove(&key);
                }
            }
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
        let unsent: Vec<(u64, OperationState)> = waiting.iter().map(|claim| (claim.op.id, claim.before)).collect();
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
fn next_group(waiting: &mut VecDeque<Claim>, busy: &mut HashSet<Key>, max: usize) -> Option<Vec<Claim>> {
    let pos = waiting.iter().position(|claim| !busy.contains(&item_key(&claim.op)))?;
    let first = waiting.remove(pos)?;
    busy.insert(item_key(&first.op));
    let table = first.op.table.clone();
    let mut group = vec![first];
    let mut i = pos;
    while group.len() < max && i < waiting.len() {
        let op = &waiting[i].op;
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

/// A claimed operation waiting to be sent.
pub(super) struct Claim {
    /// The operation, marked in flight.
    pub(super) op: Operation,
    /// Its state before the claim, given back if it is never sent.
    pub(super) before: OperationState,
    /// What the claim read of the item to send: `Some(row)`, the data table's row of an insert
    /// or an update (`None` when it has none; always `None` for a delete, which sends its
    /// snapshot), or `None` when it is to be read when the operation is sent: a table not open
    /// at the claim, a read that failed (met again then), or an earlier operation of the item
    /// claimed by the same push, whose answer gives the item a new version first.
    pub(super) item: Option<Option<Record>>,
}

/// A claimed batch: the operations and the last queue id looked at (`None` at the end of the
/// queue).
struct Claimed {
    ops: Vec<Claim>,
    last_seen: Option<u64>,
}

type ClaimResult = Result<Claimed, StoreError>;

/// Claims the next operations of the queue (at most `limit`, after `after`, none of `skip`):
/// marks them in flight and sets [`CLAIMED_KEY`] in one transaction, so local changes to their
/// items queue behind them instead of collapsing into them. The same transaction reads the items
/// the operations send (of the tables in `open`), so a group is ready to go when its turn comes,
/// with no store round trip before its request: as of the claim, each item is what its operation
/// stands for, since later local changes queue operations of their own.
async fn claim_batch(
    store: &dyn Store,
    filter: &OperationFilter,
    after: Option<u64>,
    limit: usize,
    skip: Arc<HashSet<u64>>,
    open: Vec<String>,
) -> ClaimResult {
    let filter = OperationFilter { after, limit: Some(limit), ..filter.clone() };
    store
        .transact(move |tx| {
            let ops = tx.operations(&filter)?;
            let last_seen = ops.last().map(|op| op.id);
            let claimed: Vec<(Operation, OperationState)> = ops
                .into_iter()
                .filter(|op| !skip.contains(&op.id))
                .map(|mut op| {
                    let before = std::mem::replace(&mut op.state, OperationState::InFlight);
                    (op, before)
                })
                .collect();
            if !claimed.is_empty() {
                tx.set_config(CLAIMED_KEY, "1")?;
                let ids: Vec<u64> = claimed.iter().map(|(op, _)| op.id).collect();
                tx.set_operation_states(&ids, OperationState::InFlight)?;
            }
            let items = read_items(tx, claimed.iter().map(|(op, _)| op), &open);
            let ops = claimed.into_iter().zip(items).map(|((op, before), item)| Claim { op, before, item }).collect();
            Ok(Claimed { ops, last_seen })
        })
        .await
}

/// The items `ops` send, with one [`Transaction::get_many`] per table: per operation, in order,
/// its [`Claim::item`]. A table not in `open` is not read (its operations are settled as
/// unknown when sent, unless it is opened by then), and neither is a table whose read fails.
fn read_items<'o>(
    tx: &mut dyn Transaction,
    ops: impl Iterator<Item = &'o Operation>,
    open: &[String],
) -> Vec<Option<Option<Record>>> {
    // Per table, the positions of the operations that read an item of it.
    let mut tables: HashMap<&str, Vec<(usize, &str)>> = HashMap::new();
    let mut items: Vec<Option<Option<Record>>> = Vec::new();
    for (i, op) in ops.enumerate() {
        if op.kind == OperationKind::Delete {
            items.push(Some(None));
        } else {
            items.push(None);
            if open.contains(&op.table) {
                tables.entry(op.table.as_str()).or_default().push((i, op.item_id.as_str()));
            }
        }
    }
    for (table, wanted) in tables {
        let ids: Vec<&str> = wanted.iter().map(|(_, id)| *id).collect();
        if let Ok(rows) = tx.get_many(table, &ids) {
            for ((i, _), row) in wanted.iter().zip(rows) {
                items[*i] = Some(row);
            }
        }
    }
    items
}

/// Gives claimed operations that were never sent their state back.
async fn release(store: &dyn Store, unsent: Vec<(u64, OperationState)>) -> Result<(), StoreError> {
    store
        .transact(move |tx| {
            let mut by_state: Vec<(OperationState, Vec<u64>)> = Vec::new();
            for (id, before) in unsent {
                match by_state.iter_mut().find(|(state, _)| *state == before) {
                    Some((_, ids)) => ids.push(id),
                    None => by_state.push((before, vec![id])),
                }
            }
            for (state, ids) in by_state {
                tx.set_operation_states(&ids, state)?;
            }
            Ok(())
        })
        .await
}
