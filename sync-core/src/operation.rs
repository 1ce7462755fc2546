//! Rows of the system tables: queued [`Operation`]s and [`OperationError`]s.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::record::Record;

/// What a queued operation does on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OperationKind {
    /// `POST /tables/{t}`.
    Insert,
    /// `PATCH /tables/{t}/{id}`.
    Update,
    /// `DELETE /tables/{t}/{id}`.
    Delete,
}

impl OperationKind {
    /// A stable code for stores (0 insert, 1 update, 2 delete — as the .NET client).
    pub fn code(self) -> i64 {
        match self {
            OperationKind::Insert => 0,
            OperationKind::Update => 1,
            OperationKind::Delete => 2,
        }
    }

    /// The kind for a code from [`code`](Self::code).
    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            0 => Some(OperationKind::Insert),
            1 => Some(OperationKind::Update),
            2 => Some(OperationKind::Delete),
            _ => None,
        }
    }
}

impl fmt::Display for OperationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OperationKind::Insert => "insert",
            OperationKind::Update => "update",
            OperationKind::Delete => "delete",
        })
    }
}

/// Where a queued operation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OperationState {
    /// Never sent.
    Pending,
    /// Being sent right now; a new local change to its item queues behind it instead of collapsing.
    InFlight,
    /// Sent at least once without success; the server may or may not have applied it.
    Attempted,
}

impl OperationState {
    /// A stable code for stores.
    pub fn code(self) -> i64 {
        match self {
            OperationState::Pending => 0,
            OperationState::InFlight => 1,
            OperationState::Attempted => 2,
        }
    }

    /// The state for a code from [`code`](Self::code).
    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            0 => Some(OperationState::Pending),
            1 => Some(OperationState::InFlight),
            2 => Some(OperationState::Attempted),
            _ => None,
        }
    }
}

/// One entry of the operation queue. Its `id` is its queue position: stores hand out strictly
/// increasing ids and never reuse one, even after a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    /// Queue position; unique for the store's lifetime.
    pub id: u64,
    /// What to do.
    pub kind: OperationKind,
    /// The table.
    pub table: String,
    /// The item.
    pub item_id: String,
    /// Where it stands.
    pub state: OperationState,
    /// Edit counter: bumped whenever a local change collapses into this operation.
    pub version: u64,
    /// For deletes, the item as it was when deleted (its `version` goes in `If-Match`).
    pub item: Option<Record>,
}

/// An operation to enqueue; the store assigns `id`, `state = Pending` and `version = 1`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOperation {
    /// What to do.
    pub kind: OperationKind,
    /// The table.
    pub table: String,
    /// The item.
    pub item_id: String,
    /// For deletes, the item snapshot.
    pub item: Option<Record>,
}

impl NewOperation {
    /// The stored operation with the id the store assigned.
    pub fn into_operation(self, id: u64) -> Operation {
        Operation {
            id,
            kind: self.kind,
            table: self.table,
            item_id: self.item_id,
            state: OperationState::Pending,
            version: 1,
            item: self.item,
        }
    }
}

/// An operation [`Transaction::remove_sent_operations`](crate::store::Transaction::remove_sent_operations)
/// removed: which item it was for and what it did, without its snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedOperation {
    /// Its queue position.
    pub id: u64,
    /// What it did.
    pub kind: OperationKind,
    /// The table.
    pub table: String,
    /// The item.
    pub item_id: String,
}

impl From<Operation> for RemovedOperation {
    fn from(op: Operation) -> Self {
        RemovedOperation { id: op.id, kind: op.kind, table: op.table, item_id: op.item_id }
    }
}

/// Which operations to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OperationFilter {
    /// Only these tables (all when `None`).
    pub tables: Option<Vec<String>>,
    /// Only this item (with `tables` naming its table).
    pub item_id: Option<String>,
    /// Only ids greater than this.
    pub after: Option<u64>,
    /// At most this many, lowest ids first.
    pub limit: Option<usize>,
}

impl OperationFilter {
    /// Every operation.
    pub fn all() -> Self {
        OperationFilter::default()
    }

    /// The operations of one table.
    pub fn table(table: &str) -> Self {
        OperationFilter { tables: Some(vec![table.to_owned()]), ..Default::default() }
    }

    /// The operations of one item.
    pub fn item(table: &str, id: &str) -> Self {
        OperationFilter { item_id: Some(id.to_owned()), ..OperationFilter::table(table) }
    }

    /// Whether an operation passes the filter (ignoring `limit`).
    pub fn accepts(&self, op: &Operation) -> bool {
        self.tables.as_ref().is_none_or(|t| t.contains(&op.table))
            && self.item_id.as_ref().is_none_or(|id| *id == op.item_id)
            && self.after.is_none_or(|after| op.id > after)
    }
}

/// Why a push of an operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FailureKind {
    /// 409/412: the server holds another version of the item.
    Conflict,
    /// 404 on insert/update: the item is gone on the server.
    NotFound,
    /// Another 4xx: the server rejected the request.
    Rejected,
    /// Retries of a temporary failure ran out.
    Transient,
    /// The server's answer did not follow the protocol.
    Protocol,
    /// The item to push is missing from the local table.
    MissingLocalItem,
}

/// A row of the errors table: a pushed operation that failed and waits for the app to resolve it.
/// It survives restarts; resolving it (or a successful retry) removes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationError {
    /// The failed operation's id (one error per operation).
    pub operation_id: u64,
    /// The operation's edit counter when it failed; resolving checks it is unchanged.
    pub operation_version: u64,
    /// The operation's kind.
    pub kind: OperationKind,
    /// The table.
    pub table: String,
    /// The item.
    pub item_id: String,
    /// Why it failed.
    pub failure: FailureKind,
    /// The HTTP status, if any.
    pub status: Option<u16>,
    /// A readable message.
    pub message: String,
    /// The local item as it was pushed.
    pub item: Option<Record>,
    /// The server's item, when the server sent one.
    pub server_item: Option<Record>,
}
