//! One operation's round trip during a push: read what to send, send it (with retries), and
//! settle the answer: a success to store, a lost answer recognised as our own write, a conflict
//! for the handler, a failure for the errors table, or a reason to stop the push.

use std::sync::Arc;

use super::conflict::{Conflict, Resolution};
use super::events::{PushOutcome, SyncEvent};
use super::push_records::{
    differing_user_columns, mark_attempted, record_failure, remember_sent, same_user_fields, was_sent, Failure, Stop,
};
use super::push_scheduler::Claim;
use super::resolution::{apply_resolution, conform_merge, sent_key, Effect};
use super::retry::with_retry;
use super::shared::Shared;
use crate::error::{RemoteError, RemoteErrorKind, StoreError};
use crate::operation::{FailureKind, Operation, OperationFilter, OperationKind, OperationState};
use crate::queue::{complete_operations, Completion};
use crate::record::Record;
use crate::remote::{BatchOp, BatchResult, Remote};
use crate::schema::TableSchema;
use crate::store::{Store, StoreExt};

/// The table and id of an operation's item: operations of one item are never in flight together.
pub(super) fn item_key(op: &Operation) -> (String, String) {
    (op.table.clone(), op.item_id.clone())
}

pub(super) struct Report {
    pub(super) kind: OperationKind,
    pub(super) outcome: PushOutcome,
}

/// What a pushed operation leaves to do.
pub(super) enum Step {
    /// The server applied it: store its answer (see [`finish`]).
    Finish { op_id: u64, op_version: u64, server_item: Option<Record>, report: Report, forget_sent: bool },
    /// Settled already (resolved, recorded as failed) — or `None` when it vanished.
    Done(Option<Report>),
}

impl Step {
    /// The server applied `op` (or has nothing left to do for it): store `server_item`.
    fn succeeded(op: &Operation, server_item: Option<Record>, forget_sent: bool) -> Step {
        let report = Report { kind: op.kind, outcome: PushOutcome::Succeeded };
        Step::Finish { op_id: op.id, op_version: op.version, server_item, report, forget_sent }
    }
}

/// A claimed operation read and ready to send: its table's schema and what to send.
pub(super) struct Prepared {
    schema: Arc<TableSchema>,
    op: Operation,
    item: Option<Record>,
    /// Whether an earlier push may have sent it already (its state was `Attempted`).
    attempted: bool,
}

impl Prepared {
    /// The table and id of the operation's item.
    pub(super) fn key(&self) -> (String, String) {
        item_key(&self.op)
    }

    /// The request of its first send, when that needs nothing but the operation and its item:
    /// every operation but a delete whose snapshot has no version (see
    /// [`send_unversioned_delete`]).
    pub(super) fn request(&self) -> Option<BatchOp> {
        if self.op.kind == OperationKind::Delete && self.item.as_ref().and_then(Record::version).is_none() {
            return None;
        }
        request(&self.schema, &self.op, self.item.as_ref())
    }
}

/// Pushes one claimed operation: a success to finish, a resolved conflict, a recorded failure, or
/// an abort.
///
/// `before` is the state the operation had before this push claimed it: an `Attempted` one may
/// have reached the server already, and what was sent then is remembered (see [`sent_key`]).
pub(super) async fn push_one(
    inner: &Shared,
    remote: &dyn Remote,
    claim: Claim,
) -> ((String, String), Result<Step, Stop>) {
    let key = item_key(&claim.op);
    let result = match prepare(inner, claim).await {
        Ok(Ok(prepared)) => settle_sends(inner, remote, prepared, None).await,
        Ok(Err(step)) => Ok(step),
        Err(stop) => Err(stop),
    };
    (key, result)
}

/// What to send for a claimed operation: the item from the data table (insert, update), as the
/// claim read it (or read now, when the claim did not), or the snapshot (delete). An operation
/// with nothing left to send is settled here (`Err`).
pub(super) async fn prepare(inner: &Shared, claim: Claim) -> Result<Result<Prepared, Step>, Stop> {
    let Claim { op, before, item } = claim;
    let item = match item {
        Some(read) => read,
        // Settled as unknown by `prepare_read`, without reading a table that is not open.
        None if inner.schema(&op.table).is_none() => None,
        None => match op.kind {
            OperationKind::Delete => None,
            _ => inner.store.get(&op.table, &op.item_id).await.map_err(Stop::Store)?,
        },
    };
    prepare_read(inner, op, before, item).await
}

/// [`prepare`] with the item read already: `item` is the data table's row of an insert or an
/// update, and ignored for a delete (which sends its snapshot).
async fn prepare_read(
    inner: &Shared,
    op: Operation,
    before: OperationState,
    item: Option<Record>,
) -> Result<Result<Prepared, Step>, Stop> {
    let attempted = before == OperationState::Attempted;
    let schema = inner.schema(&op.table).ok_or_else(|| {
        Stop::Store(StoreError::UnknownTable(format!(
            "{} (open it with SyncContext::table before pushing its operations)",
            op.table
        )))
    })?;
    let store = inner.store.as_ref();
    let item = match op.kind {
        OperationKind::Delete => op.item.clone(),
        _ => item,
    };
    let kind = op.kind;
    if kind != OperationKind::Delete && item.is_none() {
        // The item was deleted after this operation was claimed: the delete is queued behind it
        // and carries what the server needs, so this operation has nothing left to do.
        if superseded_by_a_later_delete(store, &op).await? {
            return Ok(Err(Step::succeeded(&op, None, attempted)));
        }
        let message = format!("the local item {} of {} is missing, so there is nothing to send", op.item_id, op.table);
        let failure = Failure { kind: FailureKind::MissingLocalItem, status: None, message, server_item: None };
        record_failure(store, &op, None, failure).await?;
        return Ok(Err(Step::Done(Some(Report { kind, outcome: PushOutcome::Failed }))));
    }
    Ok(Ok(Prepared { schema, op, item, attempted }))
}

/// An operation whose request went out in a batch that failed as a whole in a way that says
/// nothing of its own fate: the server may have applied it, as after a lost single answer. What
/// was sent is remembered, the operation is left `Attempted`, and the push stops with `error`.
pub(super) async fn lost_in_batch(inner: &Shared, prepared: Prepared, error: RemoteError) -> Result<Step, Stop> {
    let store = inner.store.as_ref();
    remember_sent(store, &prepared.op, prepared.item.as_ref()).await?;
    mark_attempted(store, &prepared.op).await?;
    Err(Stop::Remote(error))
}

/// Sends a prepared operation until it settles (resending it after a resolved conflict) and
/// settles the answer. `first` is the answer to its first send when that already went out (in a
/// batch); then only later sends are made here.
// A span per operation: its id, kind, table and item id; never the item's fields or a token.
#[tracing::instrument(name = "operation", skip_all, fields(id = prepared.op.id, kind = %prepared.op.kind, table = %prepared.op.table, item = %prepared.op.item_id))]
pub(super) async fn settle_sends(
    inner: &Shared,
    remote: &dyn Remote,
    prepared: Prepared,
    mut first: Option<BatchResult>,
) -> Result<Step, Stop> {
    let Prepared { schema, mut op, mut item, attempted } = prepared;
    let store = inner.store.as_ref();
    let kind = op.kind;
    let mut rounds = 0u32;
    let mut resolved = false;
    loop {
        let sent = if let Some(answer) = first.take() {
            answer
        } else if op.kind == OperationKind::Delete && item.as_ref().and_then(Record::version).is_none() {
            send_unversioned_delete(inner, remote, &schema, &op, &mut item).await
        } else {
            send(inner, remote, &schema, &op, item.as_ref()).await
        };
        let failure = match sent {
            Ok(server_item) => {
                // An answer about another item must not be stored over that item.
                if let Some(answered) = server_item.as_ref().map(Record::id).filter(|id| *id != op.item_id) {
                    let err = RemoteError::protocol(format!(
                        "the server answered the {} of item {:?} with item {answered:?}",
                        op.kind, op.item_id
                    ));
                    record_failure(store, &op, item, Failure::of(&err, None)).await?;
                    return Ok(Step::Done(Some(Report { kind, outcome: PushOutcome::Failed })));
                }
                let server_item = match server_item.map(|s| schema.conform_remote(s)).transpose() {
                    Ok(s) => s,
                    Err(e) => {
                        let err = RemoteError::protocol(format!("the server's item does not fit the table: {e}"));
                        record_failure(store, &op, item, Failure::of(&err, None)).await?;
                        return Ok(Step::Done(Some(Report { kind, outcome: PushOutcome::Failed })));
                    }
                };
                let server_item = match (server_item, item.as_ref()) {
                    (Some(answer), Some(sent)) => Some(keep_what_the_server_changed(inner, &schema, &op, sent, answer)),
                    (answer, _) => answer,
                };
                let outcome = if resolved { PushOutcome::Resolved } else { PushOutcome::Succeeded };
                return Ok(Step::Finish {
                    op_id: op.id,
                    op_version: op.version,
                    server_item,
                    report: Report { kind, outcome },
                    forget_sent: attempted,
                });
            }
            Err(e) => e,
        };
        match failure.kind() {
            // Already gone on the server: the delete is done.
            RemoteErrorKind::NotFound if op.kind == OperationKind::Delete => {
                return Ok(Step::succeeded(&op, None, attempted));
            }
            RemoteErrorKind::Unauthorized => {
                mark_attempted(store, &op).await?;
                return Err(Stop::Remote(failure));
            }
            // The server does not serve the table at all (a wrong URL, not a Mobile Apps
            // backend): a POST to a table is never 404 otherwise. Stop and say so at once,
            // instead of parking every operation in the errors table.
            _ if (failure.kind() == RemoteErrorKind::NotFound && op.kind == OperationKind::Insert)
                || matches!(failure.status(), Some(405 | 501)) =>
            {
                mark_attempted(store, &op).await?;
                return Err(Stop::Remote(failure));
            }
            // No answer: the server may have applied it. What was sent is remembered.
            RemoteErrorKind::Offline => {
                remember_sent(store, &op, item.as_ref()).await?;
                mark_attempted(store, &op).await?;
                return Err(Stop::Remote(failure));
            }
            RemoteErrorKind::Conflict => {}
            kind => {
                if kind == RemoteErrorKind::Transient {
                    remember_sent(store, &op, item.as_ref()).await?;
                }
                record_failure(store, &op, item, Failure::of(&failure, None)).await?;
                return Ok(Step::Done(Some(Report { kind: op.kind, outcome: PushOutcome::Failed })));
            }
        }

        // A conflict: find the server's item, then settle it.
        let status = failure.status().unwrap_or(409);
        let server_item = server_item_of(remote, &schema, &op, &failure).await;
        if let (Some(local), Some(server)) = (item.as_ref(), server_item.as_ref()) {
            if !server.is_deleted() {
                // Our earlier attempt landed but its answer was lost: the server holds our change.
                if op.kind != OperationKind::Delete && same_user_fields(&schema, local, server) {
                    return Ok(Step::succeeded(&op, Some(server.clone()), attempted));
                }
                // It landed, and the item was edited (or deleted) since: send the change over the
                // server's version, as the device's own write, not a conflict.
                if attempted
                    && rounds < inner.options.max_conflict_rounds
                    && was_sent(store, &schema, &op, server).await?
                {
                    rounds += 1;
                    match settle(store, &schema, &op, Some(server), Resolution::KeepLocal).await? {
                        Effect::Resend(next_op, next_item) => {
                            op = next_op;
                            item = next_item;
                            continue;
                        }
                        Effect::Stale => return Ok(Step::Done(None)),
                        _ => {}
                    }
                }
            }
        }
        let conflict =
            Conflict { operation: op.clone(), local_item: item.clone(), server_item: server_item.clone(), status };
        let resolution = match inner.handler.resolve(&conflict) {
            Resolution::Merge(merged) => match conform_merge(&schema, &op.item_id, merged) {
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
        let effect = settle(store, &schema, &op, server_item.as_ref(), resolution).await?;
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

/// The request that sends `op` with `item` (the data table's row, or a delete's snapshot);
/// `None` when an insert or update has no item (there is nothing to send).
fn request(schema: &TableSchema, op: &Operation, item: Option<&Record>) -> Option<BatchOp> {
    match (op.kind, item) {
        (OperationKind::Delete, item) => {
            Some(BatchOp::Delete { id: op.item_id.clone(), version: item.and_then(Record::version).map(str::to_owned) })
        }
        (_, None) => None,
        (OperationKind::Insert, Some(item)) => Some(BatchOp::Insert { item: schema.wire_form(item) }),
        (OperationKind::Update, Some(item)) => {
            let body = schema.wire_form(item);
            // An update queued before columns were added sends only the columns it knew.
            let body = match &op.item {
                Some(known) => crate::evolution::only_known_columns(schema, body, known),
                None => body,
            };
            Some(BatchOp::Update { item: body, version: item.version().map(str::to_owned) })
        }
    }
}

/// Sends one operation, retrying transient failures. `Ok(None)` for a delete.
async fn send(
    inner: &Shared,
    remote: &dyn Remote,
    schema: &TableSchema,
    op: &Operation,
    item: Option<&Record>,
) -> Result<Option<Record>, RemoteError> {
    // `prepare` records a missing item before sending; nothing to send here.
    let Some(request) = request(schema, op, item) else { return Ok(None) };
    with_retry(&inner.options.retry, || request.send_alone(remote, &op.table)).await
}

/// The server's answer to an insert or update should hold what was sent. A field it holds
/// otherwise was changed by the server (a JavaScript server rounds integers beyond ±2^53, a text
/// column may cut or convert a value): that is reported (`SyncEvent::ServerChangedValues` and a
/// warning), and the local fields are kept, with the server's system columns, rather than
/// silently overwritten.
fn keep_what_the_server_changed(
    inner: &Shared,
    schema: &TableSchema,
    op: &Operation,
    sent: &Record,
    answer: Record,
) -> Record {
    // Columns an update did not send (it was queued before they were added) are the server's.
    let with_unsent;
    let sent = match (op.kind, &op.item) {
        (OperationKind::Update, Some(known)) => {
            with_unsent = crate::evolution::with_unsent_columns_of(schema, sent, known, &answer);
            &with_unsent
        }
        _ => sent,
    };
    let changed: Vec<String> = differing_user_columns(schema, sent, &answer).map(str::to_owned).collect();
    if changed.is_empty() {
        return answer;
    }
    tracing::warn!(table = %op.table, item = %op.item_id, ?changed, "the server stored other values than were sent");
    inner.events.emit(SyncEvent::ServerChangedValues {
        table: op.table.clone(),
        item_id: op.item_id.clone(),
        columns: changed,
    });
    let mut kept = sent.clone();
    match crate::queue::adopt_server_columns(&mut kept, &answer) {
        Ok(()) => kept,
        Err(_) => answer,
    }
}

/// Applies a resolution to the operation being pushed (re-sent ones stay in flight).
async fn settle(
    store: &dyn Store,
    schema: &Arc<TableSchema>,
    op: &Operation,
    server_item: Option<&Record>,
    resolution: Resolution,
) -> Result<Effect, Stop> {
    let schema = Arc::clone(schema);
    let server_item = server_item.cloned();
    let (op_id, op_version) = (op.id, op.version);
    store
        .transact(move |tx| {
            apply_resolution(
                tx,
                &schema,
                op_id,
                op_version,
                server_item.as_ref(),
                &resolution,
                OperationState::InFlight,
            )
        })
        .await
        .map_err(Stop::Store)
}

/// A delete whose snapshot has no version: the item was inserted here and the insert's answer
/// was lost, so the server's version is unknown. A `DELETE` without `If-Match` would delete
/// whatever the server holds, even another client's later edit. So the server's item is read
/// first: still what this device wrote (or sent), it is deleted over its version; changed since,
/// it is a conflict; gone, the delete is done.
async fn send_unversioned_delete(
    inner: &Shared,
    remote: &dyn Remote,
    schema: &TableSchema,
    op: &Operation,
    item: &mut Option<Record>,
) -> Result<Option<Record>, RemoteError> {
    let server = match with_retry(&inner.options.retry, || remote.read(&op.table, &op.item_id)).await {
        Ok(server) => schema.conform_remote(server).map_err(|e| RemoteError::protocol(e.to_string()))?,
        Err(e) if e.kind() == RemoteErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let ours = match item.as_ref() {
        Some(snapshot) => {
            same_user_fields(schema, snapshot, &server)
                || was_sent(inner.store.as_ref(), schema, op, &server).await.unwrap_or(false)
        }
        None => false,
    };
    if !ours {
        return Err(RemoteError::Conflict { status: 412, server_item: Some(Box::new(server)) });
    }
    if let (Some(snapshot), Some(version)) = (item.as_mut(), server.version()) {
        snapshot
            .set(crate::schema::system::VERSION, serde_json::Value::String(version.to_owned()))
            .map_err(|e| RemoteError::protocol(e.to_string()))?;
    }
    send(inner, remote, schema, op, item.as_ref()).await
}

/// Whether a delete of the operation's item is queued behind it.
async fn superseded_by_a_later_delete(store: &dyn Store, op: &Operation) -> Result<bool, Stop> {
    let filter = OperationFilter { after: Some(op.id), ..OperationFilter::item(&op.table, &op.item_id) };
    let later = store.transact(move |tx| tx.operations(&filter)).await.map_err(Stop::Store)?;
    Ok(later.iter().any(|later| later.kind == OperationKind::Delete))
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

/// A server answer to store: the operation (id and version as pushed), the server's item, and
/// whether to forget what was remembered of an earlier send.
pub(super) struct Answer {
    pub(super) op_id: u64,
    pub(super) op_version: u64,
    pub(super) server_item: Option<Record>,
    pub(super) forget_sent: bool,
}

/// Stores the server's answers (see [`complete_operations`]) in one transaction, forgetting what
/// was remembered of earlier sends where asked.
pub(super) async fn finish(store: &dyn Store, answers: Vec<Answer>) -> Result<(), Stop> {
    store
        .transact(move |tx| {
            let completions: Vec<Completion<'_>> = answers
                .iter()
                .map(|a| Completion { op_id: a.op_id, sent_version: a.op_version, server_item: a.server_item.as_ref() })
                .collect();
            complete_operations(tx, &completions)?;
            for a in answers.iter().filter(|a| a.forget_sent) {
                tx.remove_config(&sent_key(a.op_id))?;
            }
            Ok(())
        })
        .await
        .map_err(Stop::Store)
}
