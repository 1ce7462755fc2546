//! The error mapping: which [`ErrorKind`] every failure is, in one place.

use super::{RemoteError, RemoteErrorKind, StoreError, SyncError};

/// What kind of failure a [`SyncError`] is: what an app decides from.
///
/// | kind | what happened | what to do |
/// |---|---|---|
/// | `Offline` | no answer from the server (unreachable, dropped connection, timeout) | try again later; local changes are kept |
/// | `Temporary` | the server answered 5xx or 429 | try again later |
/// | `Unauthorized` | the server rejected the credentials (401) | sign in again |
/// | `Conflict` | the item changed on the server (409/412) | resolve it |
/// | `NotFound` | the item, operation or error row does not exist (locally, or 404 from the server) | |
/// | `Rejected` | the server refused the request (another 4xx) | fix the data or the server |
/// | `Protocol` | the server's answer does not follow the protocol (or a server row does not fit) | check the server |
/// | `InvalidInput` | a record, query, schema, id or query id the app passed is invalid | fix the call |
/// | `LocalState` | the change or resolution does not fit the local state (duplicate id, a queued delete, stale error, blocked purge) | sync first, or pick another resolution |
/// | `Busy` | another process holds the local database locked | try again later (close the other program) |
/// | `DiskFull` | the disk holding the local database is full | free some space, then try again |
/// | `ReadOnly` | the local database cannot be written (read-only file, directory or mount) | move it somewhere writable, or fix its permissions |
/// | `Corrupt` | the local database file is damaged, or holds data it cannot read back | restore it, or delete it and sync again |
/// | `Storage` | the local database failed otherwise (I/O, an incompatible stored schema) | |
/// | `Usage` | the context cannot do this as configured (no remote, a table not opened, no Tokio runtime, an encryption key that does not fit the database) | fix the setup |
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No answer from the server: unreachable, connection dropped, timed out.
    Offline,
    /// The server answered with a temporary failure (5xx, 429).
    Temporary,
    /// The server rejected the credentials (401).
    Unauthorized,
    /// The item changed on the server (409/412).
    Conflict,
    /// The item, operation or error row does not exist.
    NotFound,
    /// The server refused the request (a 4xx other than 401, 404, 409, 412).
    Rejected,
    /// The server's answer does not follow the protocol.
    Protocol,
    /// The app passed an invalid record, query, schema, id or query id.
    InvalidInput,
    /// The change or resolution does not fit the local state.
    LocalState,
    /// Another connection or process holds the local database locked (past the busy timeout).
    Busy,
    /// The disk holding the local database (or the database's size limit) is full.
    DiskFull,
    /// The local database cannot be written: a read-only file, directory or mount.
    ReadOnly,
    /// The local database file is damaged, or a stored value cannot be read back.
    Corrupt,
    /// The local database failed otherwise (I/O, an incompatible stored schema, …).
    Storage,
    /// The context cannot do this as configured.
    Usage,
}

impl ErrorKind {
    /// Whether the same call may succeed later without any change (offline, temporary, busy).
    ///
    /// ```
    /// use sync_core::ErrorKind;
    /// assert!(ErrorKind::Busy.is_retryable());
    /// assert!(!ErrorKind::DiskFull.is_retryable()); // not without freeing space first
    /// ```
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Offline | ErrorKind::Temporary | ErrorKind::Busy)
    }
}

impl From<RemoteErrorKind> for ErrorKind {
    fn from(kind: RemoteErrorKind) -> Self {
        match kind {
            RemoteErrorKind::Conflict => ErrorKind::Conflict,
            RemoteErrorKind::NotFound => ErrorKind::NotFound,
            RemoteErrorKind::Unauthorized => ErrorKind::Unauthorized,
            RemoteErrorKind::BadRequest => ErrorKind::Rejected,
            RemoteErrorKind::Offline => ErrorKind::Offline,
            RemoteErrorKind::Transient => ErrorKind::Temporary,
            RemoteErrorKind::Protocol => ErrorKind::Protocol,
        }
    }
}

impl StoreError {
    /// The kind of this store failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::Record { .. } | StoreError::Query(_) | StoreError::Schema(_) => ErrorKind::InvalidInput,
            StoreError::UnknownTable(_) | StoreError::NoRuntime | StoreError::Encryption { .. } => ErrorKind::Usage,
            StoreError::DuplicateId { .. } | StoreError::Collapse(_) => ErrorKind::LocalState,
            StoreError::NotFound { .. } => ErrorKind::NotFound,
            StoreError::Busy { .. } => ErrorKind::Busy,
            StoreError::DiskFull { .. } => ErrorKind::DiskFull,
            StoreError::ReadOnly { .. } => ErrorKind::ReadOnly,
            StoreError::Corrupt { .. } | StoreError::CorruptFile { .. } => ErrorKind::Corrupt,
            StoreError::IncompatibleSchema { .. } | StoreError::Backend { .. } => ErrorKind::Storage,
        }
    }
}

impl SyncError {
    /// The kind of failure (see [`ErrorKind`] for the whole mapping).
    ///
    /// ```
    /// use sync_core::{ErrorKind, SyncError};
    /// assert_eq!(SyncError::NoRemote.kind(), ErrorKind::Usage);
    /// assert!(!SyncError::NoRemote.is_retryable());
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            SyncError::Store(e) | SyncError::Migration { source: e, .. } => e.kind(),
            SyncError::Remote(e) => e.kind().into(),
            SyncError::Record { .. }
            | SyncError::Query(_)
            | SyncError::Schema(_)
            | SyncError::InvalidQueryId(_)
            | SyncError::MergeIdMismatch { .. } => ErrorKind::InvalidInput,
            SyncError::NoRemote | SyncError::NoRuntime | SyncError::DuplicateMigration(_) => ErrorKind::Usage,
            SyncError::InvalidServerRow { .. } => ErrorKind::Protocol,
            SyncError::PurgeBlocked { .. } | SyncError::StaleError(_) | SyncError::CannotResolve { .. } => {
                ErrorKind::LocalState
            }
            SyncError::NoSuchError(_) => ErrorKind::NotFound,
        }
    }

    /// Whether the server could not be reached (no answer arrived). Local changes are kept.
    pub fn is_offline(&self) -> bool {
        self.kind() == ErrorKind::Offline
    }

    /// Whether the item changed on the server (409/412).
    pub fn is_conflict(&self) -> bool {
        self.kind() == ErrorKind::Conflict
    }

    /// Whether the server rejected the credentials (401).
    pub fn is_unauthorized(&self) -> bool {
        self.kind() == ErrorKind::Unauthorized
    }

    /// Whether something asked for does not exist.
    pub fn is_not_found(&self) -> bool {
        self.kind() == ErrorKind::NotFound
    }

    /// Whether the same call may succeed later without any change (offline, temporary, a busy
    /// local database).
    pub fn is_retryable(&self) -> bool {
        self.kind().is_retryable()
    }

    /// The HTTP status of the server's answer, when the failure came with one.
    pub fn status(&self) -> Option<u16> {
        self.remote_error().and_then(RemoteError::status)
    }

    /// The remote error behind this one, if any.
    pub fn remote_error(&self) -> Option<&RemoteError> {
        match self {
            SyncError::Remote(e) => Some(e),
            _ => None,
        }
    }

    /// The store error behind this one, if any.
    pub fn store_error(&self) -> Option<&StoreError> {
        match self {
            SyncError::Store(e) | SyncError::Migration { source: e, .. } => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_failures_have_their_own_kinds() {
        let reason = || "sqlite: committing: reason".to_owned();
        let cases = [
            (StoreError::Busy { message: reason(), source: None }, ErrorKind::Busy, true),
            (StoreError::DiskFull { message: reason(), source: None }, ErrorKind::DiskFull, false),
            (StoreError::ReadOnly { message: reason(), source: None }, ErrorKind::ReadOnly, false),
            (StoreError::CorruptFile { message: reason(), source: None }, ErrorKind::Corrupt, false),
            (StoreError::Backend { message: reason(), source: None }, ErrorKind::Storage, false),
            (StoreError::Encryption { message: reason(), source: None }, ErrorKind::Usage, false),
        ];
        for (error, kind, retryable) in cases {
            assert_eq!(error.kind(), kind, "{error}");
            let app = SyncError::from(error);
            assert_eq!((app.kind(), app.is_retryable()), (kind, retryable), "{app}");
            assert!(app.to_string().ends_with(": sqlite: committing: reason"), "the reason is shown: {app}");
        }
        assert_eq!(SyncError::from(StoreError::NoRuntime).kind(), ErrorKind::Usage);
        let row = StoreError::Corrupt { table: "T".into(), message: "not a boolean".into() };
        assert_eq!(row.kind(), ErrorKind::Corrupt, "unreadable stored data is corruption too");
    }
}
