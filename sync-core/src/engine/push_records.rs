//! What a push writes besides the server's answer: failures into the errors table, the
//! `Attempted` mark of an operation whose answer never came, and what such an operation sent
//! (to recognise the device's own write later); and why a push stops.

use super::resolution::sent_key;
use crate::error::{RemoteError, RemoteErrorKind, StoreError, SyncError};
use crate::operation::{FailureKind, Operation, OperationError, OperationKind, OperationState};
use crate::record::Record;
use crate::remote::strip_server_columns;
use crate::schema::TableSchema;
use crate::store::{Store, StoreExt};

/// Why a push stops before the end of the queue; the operations not pushed stay queued.
#[derive(Debug)]
pub(super) enum Stop {
    /// The server could not be reached (after retries) or rejected the credentials.
    Remote(RemoteError),
    /// The local store failed.
    Store(StoreError),
}

impl From<Stop> for SyncError {
    fn from(stop: Stop) -> Self {
        match stop {
            Stop::Remote(e) => SyncError::Remote(e),
            Stop::Store(e) => SyncError::from(e),
        }
    }
}

/// The user columns (system columns ignored) whose values differ between two items.
pub(super) fn differing_user_columns<'a>(
    schema: &'a TableSchema,
    a: &'a Record,
    b: &'a Record,
) -> impl Iterator<Item = &'a str> + 'a {
    let null = &serde_json::Value::Null;
    schema
        .user_columns()
        .filter(move |c| a.get(&c.name).unwrap_or(null) != b.get(&c.name).unwrap_or(null))
        .map(|c| c.name.as_str())
}

/// Whether two items hold the same user fields (system columns ignored).
pub(super) fn same_user_fields(schema: &TableSchema, a: &Record, b: &Record) -> bool {
    differing_user_columns(schema, a, b).next().is_none()
}

/// How many distinct bodies of one operation's unanswered sends are kept (each edit between
/// failed sends adds one; a success or a resolution forgets them all).
const MAX_SENT_BODIES: usize = 32;

/// Remembers the body of a send whose answer never came (see [`sent_key`]), beside the bodies
/// of its earlier unanswered sends: any of them may be the one the server applied, so a later
/// send that surely failed (a 503) must not make the device forget one that may have landed.
pub(super) async fn remember_sent(store: &dyn Store, op: &Operation, item: Option<&Record>) -> Result<(), Stop> {
    let Some(item) = item.filter(|_| op.kind != OperationKind::Delete) else { return Ok(()) };
    let body = strip_server_columns(item);
    let key = sent_key(op.id);
    store
        .transact(move |tx| {
            let mut bodies = sent_bodies(tx.config(&key)?);
            if !bodies.contains(&body) {
                bodies.push(body);
            }
            if bodies.len() > MAX_SENT_BODIES {
                bodies.remove(0);
            }
            let text = serde_json::to_string(&bodies).map_err(|e| StoreError::backend("encoding the sent item", e))?;
            tx.set_config(&key, &text)
        })
        .await
        .map_err(Stop::Store)
}

/// The bodies kept under a sent key: a JSON array of them (or one body, as stored before).
fn sent_bodies(text: Option<String>) -> Vec<Record> {
    let Some(text) = text else { return Vec::new() };
    serde_json::from_str::<Vec<Record>>(&text)
        .or_else(|_| serde_json::from_str::<Record>(&text).map(|one| vec![one]))
        .unwrap_or_default()
}

/// Whether the server's item holds exactly what one of this operation's unanswered sends carried.
pub(super) async fn was_sent(
    store: &dyn Store,
    schema: &TableSchema,
    op: &Operation,
    server: &Record,
) -> Result<bool, Stop> {
    let key = sent_key(op.id);
    let sent = store.transact(move |tx| tx.config(&key)).await.map_err(Stop::Store)?;
    // An update queued before columns were added sent only the columns it knew (see
    // `only_known_columns`): the server's values of the others are not a sign of another writer.
    let known = op.item.as_ref().filter(|_| op.kind == OperationKind::Update);
    Ok(sent_bodies(sent).into_iter().any(|body| match known {
        Some(known) => {
            let sent = crate::evolution::only_known_columns(schema, body, known);
            let null = &serde_json::Value::Null;
            schema
                .user_columns()
                .filter(|c| sent.as_map().contains_key(&c.name))
                .all(|c| sent.get(&c.name).unwrap_or(null) == server.get(&c.name).unwrap_or(null))
        }
        None => same_user_fields(schema, &body, server),
    }))
}

pub(super) async fn mark_attempted(store: &dyn Store, op: &Operation) -> Result<(), Stop> {
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
        .map_err(Stop::Store)
}

/// Why an operation failed, as the errors table records it.
pub(super) struct Failure {
    pub(super) kind: FailureKind,
    pub(super) status: Option<u16>,
    pub(super) message: String,
    pub(super) server_item: Option<Record>,
}

impl Failure {
    /// The failure a remote error stands for, with the server's item when known.
    pub(super) fn of(error: &RemoteError, server_item: Option<Record>) -> Failure {
        let kind = match error.kind() {
            RemoteErrorKind::Conflict => FailureKind::Conflict,
            RemoteErrorKind::NotFound => FailureKind::NotFound,
            RemoteErrorKind::Transient | RemoteErrorKind::Offline => FailureKind::Transient,
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
pub(super) async fn record_failure(
    store: &dyn Store,
    op: &Operation,
    item: Option<Record>,
    failure: Failure,
) -> Result<(), Stop> {
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
        .map_err(Stop::Store)
}
