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
/// | `Storage` | the local database failed (I/O, corruption, an incompatible stored schema) | |
/// | `Usage` | the context cannot do this as configured (no remote, a table not opened) | fix the setup |
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
    /// The local database failed.
    Storage,
    /// The context cannot do this as configured.
    Usage,
}

impl ErrorKind {
    /// Whether the same call may succeed later without any change (offline, temporary).
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Offline | ErrorKind::Temporary)
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
            StoreError::UnknownTable(_) => ErrorKind::Usage,
            StoreError::DuplicateId { .. } | StoreError::Collapse(_) => ErrorKind::LocalState,
            StoreError::NotFound { .. } => ErrorKind::NotFound,
            StoreError::IncompatibleSchema { .. } | StoreError::Corrupt { .. } | StoreError::Backend { .. } => {
                ErrorKind::Storage
            }
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
            SyncError::Store(e) => e.kind(),
            SyncError::Remote(e) => e.kind().into(),
            SyncError::Record { .. }
            | SyncError::Query(_)
            | SyncError::Schema(_)
            | SyncError::InvalidQueryId(_)
            | SyncError::MergeIdMismatch { .. } => ErrorKind::InvalidInput,
            SyncError::NoRemote => ErrorKind::Usage,
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

    /// Whether the same call may succeed later without any change (offline, temporary).
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
            SyncError::Store(e) => Some(e),
            _ => None,
        }
    }
}
