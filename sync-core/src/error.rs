//! Error types shared by every crate. Each is classified by kind so callers decide what to do
//! from the variant, never from a message string.

use std::error::Error as StdError;

use crate::operation::OperationKind;
use crate::record::Record;

/// A boxed error from a backend (SQLite, HTTP client, …) kept as the `source` of ours.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// A record, or a value in it, does not fit the rules or the table's schema.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The record has no `id`.
    #[error("the record has no id")]
    MissingId,
    /// The id breaks the protocol's rules.
    #[error("invalid id {id:?}: {reason}")]
    InvalidId {
        /// The offending id (shortened).
        id: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// The JSON value is not an object.
    #[error("a record must be a JSON object, found {found}")]
    NotAnObject {
        /// The JSON type found.
        found: &'static str,
    },
    /// A field holds a value of the wrong type.
    #[error("column {column:?} expects {expected}, found {found}")]
    WrongType {
        /// The column.
        column: String,
        /// The column's type.
        expected: &'static str,
        /// What the record holds.
        found: String,
    },
    /// A field that cannot be null is null or missing.
    #[error("column {column:?} cannot be null")]
    NullValue {
        /// The column.
        column: String,
    },
    /// The record has a field the table does not know.
    #[error("table {table:?} has no column {column:?}")]
    UnknownColumn {
        /// The table.
        table: String,
        /// The unknown field.
        column: String,
    },
    /// An entity field could not be converted (reported by derived code).
    #[error("field {field:?}: {message}")]
    Field {
        /// The field (its column name).
        field: String,
        /// What went wrong.
        message: String,
    },
}

/// A [`TableSchema`](crate::TableSchema) is malformed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// A table or column name breaks the naming rules.
    #[error("invalid name {name:?}: {reason}")]
    InvalidName {
        /// The name.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// Two columns share a name.
    #[error("column {0:?} is declared twice")]
    DuplicateColumn(String),
    /// A system column is declared with the wrong type.
    #[error("system column {column:?} must be {expected}")]
    SystemColumnType {
        /// The column.
        column: String,
        /// The type it must have.
        expected: &'static str,
    },
}

/// A [`Query`](crate::Query) does not fit the table it runs on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// The query names a column the table does not have.
    #[error("table {table:?} has no column {column:?}")]
    UnknownColumn {
        /// The table.
        table: String,
        /// The column.
        column: String,
    },
    /// A value does not fit the column's type, or the operator does not apply to it.
    #[error("column {column:?}: {message}")]
    TypeMismatch {
        /// The column.
        column: String,
        /// What does not fit.
        message: String,
    },
    /// The query uses an option that is not allowed here (e.g. `$top` in a pull query).
    #[error("{0}")]
    NotAllowed(String),
}

/// Two local changes to one item that cannot be combined (DESIGN §3).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot {new} item {item_id:?} in table {table:?}: a {existing} is already queued for it; push first")]
pub struct CollapseError {
    /// The table.
    pub table: String,
    /// The item.
    pub item_id: String,
    /// The queued operation's kind.
    pub existing: OperationKind,
    /// The new change's kind.
    pub new: OperationKind,
}

/// A [`Store`](crate::Store) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A record does not fit its table.
    #[error("table {table:?}: {source}")]
    Record {
        /// The table.
        table: String,
        /// What is wrong with the record.
        #[source]
        source: RecordError,
    },
    /// A query does not fit its table.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// A schema is malformed.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// The table was never created in this store.
    #[error("unknown table {0:?}: call ensure_table first")]
    UnknownTable(String),
    /// The store holds this table with a schema that cannot be upgraded to the new one.
    #[error("table {table:?} in the store is incompatible with the schema: {message}")]
    IncompatibleSchema {
        /// The table.
        table: String,
        /// What differs.
        message: String,
    },
    /// An insert met an existing id.
    #[error("table {table:?} already has an item with id {id:?}")]
    DuplicateId {
        /// The table.
        table: String,
        /// The id.
        id: String,
    },
    /// The item, operation or error row does not exist.
    #[error("table {table:?} has no item {id:?}")]
    NotFound {
        /// The table (or system table).
        table: String,
        /// The id.
        id: String,
    },
    /// The new change cannot be combined with the queued one.
    #[error(transparent)]
    Collapse(#[from] CollapseError),
    /// A stored value could not be read back (corruption or a foreign writer).
    #[error("corrupt data in {table:?}: {message}")]
    Corrupt {
        /// The table.
        table: String,
        /// What could not be read.
        message: String,
    },
    /// The backend itself failed (I/O, SQLite, a poisoned lock, a cancelled task, …).
    #[error("store backend failed: {message}")]
    Backend {
        /// What failed.
        message: String,
        /// The backend's error.
        #[source]
        source: Option<BoxError>,
    },
}

impl StoreError {
    /// A backend failure with a source error.
    pub fn backend(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        StoreError::Backend { message: message.into(), source: Some(source.into()) }
    }

    /// A record error for `table`.
    pub fn record(table: impl Into<String>, source: RecordError) -> Self {
        StoreError::Record { table: table.into(), source }
    }
}

/// The kind of a [`RemoteError`], for matching without the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RemoteErrorKind {
    /// 409/412: the server holds another version.
    Conflict,
    /// 404: no such item (or it is soft-deleted).
    NotFound,
    /// 401: credentials missing, expired or rejected.
    Unauthorized,
    /// Another 4xx: the request is wrong and retrying will not help.
    BadRequest,
    /// 5xx, 429, timeouts, dropped connections: retrying may help.
    Transient,
    /// The response does not follow the protocol (bad JSON, wrong types, too large, …).
    Protocol,
}

/// A [`Remote`](crate::Remote) call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// 409 or 412: the item changed on the server. The server's item is attached when the response
    /// held one (the Node server sends the request item on 409 for insert, so it may be `None`).
    #[error("conflict (HTTP {status}): the item changed on the server")]
    Conflict {
        /// 409 or 412.
        status: u16,
        /// The server's current item.
        server_item: Option<Box<Record>>,
    },
    /// 404.
    #[error("not found: {message}")]
    NotFound {
        /// The server's message.
        message: String,
    },
    /// 401.
    #[error("unauthorized: {message}")]
    Unauthorized {
        /// The server's message.
        message: String,
    },
    /// Any other 4xx.
    #[error("request rejected (HTTP {status}): {message}")]
    BadRequest {
        /// The status code.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// Retryable: 5xx, 429, timeouts, dropped connections.
    #[error("temporary failure{}: {message}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Transient {
        /// The status code, if a response arrived.
        status: Option<u16>,
        /// What failed.
        message: String,
        /// The transport's error.
        #[source]
        source: Option<BoxError>,
    },
    /// The response did not follow the protocol.
    #[error("protocol error: {message}")]
    Protocol {
        /// What was wrong with the response.
        message: String,
        /// The parser's error.
        #[source]
        source: Option<BoxError>,
    },
}

impl RemoteError {
    /// The error's kind.
    pub fn kind(&self) -> RemoteErrorKind {
        match self {
            RemoteError::Conflict { .. } => RemoteErrorKind::Conflict,
            RemoteError::NotFound { .. } => RemoteErrorKind::NotFound,
            RemoteError::Unauthorized { .. } => RemoteErrorKind::Unauthorized,
            RemoteError::BadRequest { .. } => RemoteErrorKind::BadRequest,
            RemoteError::Transient { .. } => RemoteErrorKind::Transient,
            RemoteError::Protocol { .. } => RemoteErrorKind::Protocol,
        }
    }

    /// The HTTP status, where one applies.
    pub fn status(&self) -> Option<u16> {
        match self {
            RemoteError::Conflict { status, .. } | RemoteError::BadRequest { status, .. } => Some(*status),
            RemoteError::NotFound { .. } => Some(404),
            RemoteError::Unauthorized { .. } => Some(401),
            RemoteError::Transient { status, .. } => *status,
            RemoteError::Protocol { .. } => None,
        }
    }

    /// Whether retrying the same request may succeed.
    pub fn is_retryable(&self) -> bool {
        self.kind() == RemoteErrorKind::Transient
    }

    /// The server's item attached to a conflict.
    pub fn server_item(&self) -> Option<&Record> {
        match self {
            RemoteError::Conflict { server_item, .. } => server_item.as_deref(),
            _ => None,
        }
    }

    /// A transient error without a status (connection refused, reset, timeout).
    pub fn transient(message: impl Into<String>) -> Self {
        RemoteError::Transient { status: None, message: message.into(), source: None }
    }

    /// A protocol error without a source.
    pub fn protocol(message: impl Into<String>) -> Self {
        RemoteError::Protocol { message: message.into(), source: None }
    }
}

/// Why a push stopped before the end of the queue. The operations not pushed stay queued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushAbort {
    /// The server could not be reached (after retries).
    #[error("the server could not be reached: {0}")]
    Network(#[source] RemoteError),
    /// The server rejected the credentials (401).
    #[error("the server rejected the credentials: {0}")]
    Unauthorized(#[source] RemoteError),
    /// The local store failed.
    #[error("the local store failed: {0}")]
    Store(#[source] StoreError),
}

/// An error from the sync engine ([`SyncContext`](crate::SyncContext), [`SyncTable`](crate::SyncTable)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The local store failed or refused the change.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A server call failed.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// A record or entity does not fit its table.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// A query does not fit its table or is not allowed here.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// A schema is malformed.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// The context has no remote: push and pull need one.
    #[error("no remote is configured: push and pull need one")]
    NoRemote,
    /// A push stopped early; the operations not pushed stay queued.
    #[error("push stopped after {pushed} operation(s): {reason}")]
    PushAborted {
        /// Why.
        #[source]
        reason: PushAbort,
        /// Operations completed before it stopped.
        pushed: u64,
    },
    /// A row from the server does not fit the local table.
    #[error("the server sent a row of {table:?} that does not fit the table: {source}")]
    InvalidServerRow {
        /// The table.
        table: String,
        /// What does not fit.
        #[source]
        source: RecordError,
    },
    /// A query id is empty, longer than 255 bytes or holds `|`.
    #[error("invalid query id {0:?}: use 1 to 255 bytes without '|'")]
    InvalidQueryId(String),
    /// Purge refused: the table has queued operations (pass `force` with no filter to drop them).
    #[error("table {table:?} has {pending} queued operation(s): push first, or purge with force and no filter")]
    PurgeBlocked {
        /// The table.
        table: String,
        /// How many operations are queued.
        pending: u64,
    },
    /// The error row does not exist (already resolved, or retried successfully).
    #[error("no error is recorded for operation {0}")]
    NoSuchError(u64),
    /// The operation changed after the error was recorded (a newer local change); push again.
    #[error("operation {0} changed after this error was recorded; push again to get a fresh error")]
    StaleError(u64),
    /// The resolution cannot apply to this failure (e.g. keep-local when the server's item is
    /// unknown or deleted, so there is no version to write over).
    #[error("operation {operation_id} cannot be resolved that way: {reason}")]
    CannotResolve {
        /// The operation.
        operation_id: u64,
        /// Why.
        reason: &'static str,
    },
    /// A merge resolution returned an item with another id.
    #[error("a merged item must keep the id {expected:?}, found {found:?}")]
    MergeIdMismatch {
        /// The operation's item id.
        expected: String,
        /// The merged item's id.
        found: String,
    },
}
