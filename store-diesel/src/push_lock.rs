//! The store's push lock ([`Store::lock_push`](sync_core::Store::lock_push)) across processes:
//! an exclusive OS file lock (`flock`) on `<database>.push-lock` beside the database file. The OS
//! releases it when its holder closes the file or dies, so a killed process never leaves the lock
//! behind, and every handle on the file (in this process or another) competes for the same lock.
//! The in-memory store, which no other handle can open, uses an in-process mutex.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use sync_core::backend::{PushLock, StoreError};

use crate::connection::{blocking, Location};

/// How often a waiting push tries the file lock again. Polling (rather than a blocking `lock()`
/// on a thread) keeps the wait cancellable: dropping the future gives up at once.
const RETRY: Duration = Duration::from_millis(25);

/// Where the lock of one store lives.
#[derive(Debug)]
pub(crate) enum PushLockSite {
    /// `<database>.push-lock`.
    File(PathBuf),
    /// The in-memory store's own mutex.
    Memory(Arc<tokio::sync::Mutex<()>>),
}

impl PushLockSite {
    pub(crate) fn for_location(location: &Location) -> PushLockSite {
        match location {
            Location::File(path) => PushLockSite::File(PathBuf::from(format!("{path}.push-lock"))),
            Location::Memory => PushLockSite::Memory(Arc::default()),
        }
    }

    /// Waits for the lock and takes it.
    pub(crate) async fn lock(&self) -> Result<PushLock, StoreError> {
        match self {
            PushLockSite::Memory(mutex) => Ok(PushLock::new(Arc::clone(mutex).lock_owned().await)),
            PushLockSite::File(path) => {
                let file = open(path).await?;
                loop {
                    match file.try_lock() {
                        Ok(()) => return Ok(PushLock::new(file)),
                        Err(TryLockError::WouldBlock) => tokio::time::sleep(RETRY).await,
                        Err(TryLockError::Error(e)) => {
                            return Err(StoreError::backend(format!("locking {} for a push", path.display()), e))
                        }
                    }
                }
            }
        }
    }
}

async fn open(path: &std::path::Path) -> Result<File, StoreError> {
    let owned = path.to_owned();
    let opened =
        blocking(move || OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&owned)).await?;
    opened.map_err(|e| StoreError::backend(format!("opening the push lock file {}", path.display()), e))
}
