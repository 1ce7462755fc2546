//! Commits made by other connections to the same file (another process, another `DieselStore`
//! handle) announced on the store's [`ChangeFeed`].
//!
//! SQLite's `PRAGMA data_version` changes, on a connection, exactly when *another* connection
//! has committed since that connection last asked. The poller asks on the writer connection, so
//! the store's own commits (announced by the engine, table by table) never count; a change
//! counts as an unknown one and wakes every watcher. It polls only while the feed has watchers,
//! and ends when the store is closed or dropped.

use std::sync::{Mutex, Weak};
use std::time::Duration;

use sync_core::backend::{ChangeFeed, StoreError};
use tokio::sync::oneshot;

use crate::connection::Db;
use crate::error;
use crate::statement::Stmt;

/// The running poller of one store; dropping it stops the poller.
#[derive(Debug)]
pub(crate) struct Poller {
    _stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

/// Starts the poller, inside a Tokio runtime (it is tried again at the next call otherwise, and
/// started again if the runtime it ran on has shut down).
pub(crate) fn ensure_started(
    slot: &Mutex<Option<Poller>>,
    writer: Weak<tokio::sync::Mutex<Db>>,
    feed: &ChangeFeed,
    interval: Duration,
) {
    let mut slot = slot.lock().unwrap_or_else(|p| p.into_inner());
    if slot.as_ref().is_some_and(|p| !p.task.is_finished()) {
        return;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
    let (stop, stopped) = oneshot::channel();
    let task = runtime.spawn(poll(writer, feed.clone(), interval, stopped));
    *slot = Some(Poller { _stop: stop, task });
}

async fn poll(
    writer: Weak<tokio::sync::Mutex<Db>>,
    feed: ChangeFeed,
    interval: Duration,
    mut stopped: oneshot::Receiver<()>,
) {
    // Read before any watcher exists: a commit between a watcher's first read and the first
    // poll must count as a change.
    let mut last = data_version(&writer).await.ok().flatten();
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            _ = feed.watched() => {}
        }
        tokio::select! {
            _ = &mut stopped => return,
            _ = tokio::time::sleep(interval) => {}
        }
        match data_version(&writer).await {
            Ok(Some(version)) => {
                if last.is_some_and(|l| l != version) {
                    tracing::trace!(version, "another connection committed");
                    feed.publish_unknown();
                }
                last = Some(version);
            }
            Ok(None) => return,
            Err(e) => tracing::debug!(error = %e, "polling data_version"),
        }
    }
}

/// The writer's `data_version`, or `None` once the store is gone.
async fn data_version(writer: &Weak<tokio::sync::Mutex<Db>>) -> Result<Option<i64>, StoreError> {
    let Some(writer) = writer.upgrade() else { return Ok(None) };
    let mut db = writer.lock_owned().await;
    let version = tokio::task::spawn_blocking(move || {
        let rows =
            db.load(Stmt::new("PRAGMA data_version", vec![])).map_err(|e| error::db("PRAGMA data_version", e))?;
        rows.into_iter()
            .next()
            .and_then(|r| r.0.into_iter().next())
            .and_then(|c| c.as_i64())
            .ok_or_else(|| error::corrupt("data_version", "PRAGMA data_version returned no number"))
    })
    .await
    .map_err(error::join)??;
    Ok(Some(version))
}
