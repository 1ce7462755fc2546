//! What the user sees when a command fails: one line saying what to do, and exit status 1.

use std::fmt;
use std::path::Path;

use sync_core::{PushAbort, RemoteError, RemoteErrorKind, SyncError};

/// A failed command.
#[derive(Debug)]
pub struct Failure(String);

impl Failure {
    /// Wrong input.
    pub fn usage(message: impl Into<String>) -> Self {
        Failure(message.into())
    }

    /// The database could not be opened.
    pub fn store(path: &Path, e: impl fmt::Display) -> Self {
        Failure(format!("cannot open the database {}: {e}", path.display()))
    }

    /// A push or pull failed; local data is untouched.
    pub fn sync(url: &str, e: SyncError) -> Self {
        let kept = "your changes are kept on this device";
        let msg = match e {
            SyncError::NoRemote => "no server configured: pass --remote URL or set TODO_REMOTE".to_owned(),
            SyncError::PushAborted { reason: PushAbort::Network(e), .. } => {
                format!("cannot reach the server at {url} ({e}); {kept}: run `todo sync` again when online")
            }
            SyncError::PushAborted { reason: PushAbort::Unauthorized(_), .. } => {
                format!("the server at {url} rejected the credentials; {kept}")
            }
            SyncError::Remote(e) => remote(url, &e, kept),
            other => format!("sync failed: {other}; {kept}"),
        };
        Failure(msg)
    }
}

fn remote(url: &str, e: &RemoteError, kept: &str) -> String {
    match e.kind() {
        RemoteErrorKind::Transient if e.status().is_none() => {
            format!("cannot reach the server at {url} ({e}); {kept}: run `todo sync` again when online")
        }
        RemoteErrorKind::NotFound | RemoteErrorKind::BadRequest | RemoteErrorKind::Protocol => format!(
            "the server at {url} does not answer like an Azure Mobile Apps backend with a TodoItem table ({e}); check --remote"
        ),
        RemoteErrorKind::Unauthorized => format!("the server at {url} rejected the credentials; {kept}"),
        _ => format!("the server at {url} failed ({e}); {kept}: try again later"),
    }
}

impl From<SyncError> for Failure {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Store(sync_core::StoreError::Collapse(c)) => Failure(format!("{c}: run `todo sync` first")),
            other => Failure(format!("{other}")),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
