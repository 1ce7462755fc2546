//! [`SyncError`]: the one error type of the engine's public API.

use super::{QueryError, RecordError, RemoteError, SchemaError, StoreError};

/// An error from the sync engine ([`SyncContext`](crate::SyncContext),
/// [`SyncTable`](crate::SyncTable), [`JsonTable`](crate::JsonTable)).
///
/// One failure is one variant, whatever the entry point: an unknown column is
/// [`SyncError::Query`] from a local query and from a pull alike, and a push that stops because
/// the server cannot be reached is the [`SyncError::Remote`] it met. Decide what to do from
/// [`kind`](SyncError::kind) and the predicates (`is_offline()`, `is_conflict()`,
/// `is_retryable()`, …); print it with its [`source`](std::error::Error::source) chain for
/// details.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The local store failed or refused the change. Never holds a [`StoreError::Query`],
    /// [`StoreError::Schema`] or [`StoreError::Record`]: those are lifted into
    /// [`SyncError::Query`], [`SyncError::Schema`] and [`SyncError::Record`].
    #[error("the local store failed: {0}")]
    Store(#[source] StoreError),
    /// A server call failed. A push that stops early (the server cannot be reached, it rejected
    /// the credentials) ends with this error; the operations not pushed stay queued.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// A record or entity does not fit its table.
    #[error("{table:?}: {source}")]
    Record {
        /// The table.
        table: String,
        /// What does not fit.
        #[source]
        source: RecordError,
    },
    /// A query does not fit its table or is not allowed here.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// A schema is malformed.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// The context has no remote: push and pull need one.
    #[error("no remote is configured: push and pull need one")]
    NoRemote,
    /// Automatic sync was started outside a Tokio runtime (it runs as a task on the current one).
    #[error("automatic sync needs a running Tokio runtime to run on")]
    NoRuntime,
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
    /// Purge refused: the table has queued operations.
    #[error("table {table:?} has {pending} queued operation(s): push them first, or purge the whole table with force")]
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
    /// A migration step failed: nothing it did was kept, and the store stays at the version
    /// before it (see [`SyncContextBuilder::migration`](crate::SyncContextBuilder::migration)).
    #[error("migration step {version} failed: {source}")]
    Migration {
        /// The step's version.
        version: u32,
        /// Why.
        #[source]
        source: StoreError,
    },
    /// Two migration steps were registered with the same version.
    #[error("two migration steps have version {0}: each version is one step")]
    DuplicateMigration(u32),
    /// A merge resolution returned an item with another id.
    #[error("a merged item must keep the id {expected:?}, found {found:?}")]
    MergeIdMismatch {
        /// The operation's item id.
        expected: String,
        /// The merged item's id.
        found: String,
    },
}

impl SyncError {
    /// A record error of `table`.
    pub fn record(table: impl Into<String>, source: RecordError) -> Self {
        SyncError::Record { table: table.into(), source }
    }
}

impl From<StoreError> for SyncError {
    /// Lifts the store's query, schema and record errors into the variants every other entry
    /// point uses, so one failure is one variant.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Query(q) => SyncError::Query(q),
            StoreError::Schema(s) => SyncError::Schema(s),
            StoreError::Record { table, source } => SyncError::Record { table, source },
            other => SyncError::Store(other),
        }
    }
}
