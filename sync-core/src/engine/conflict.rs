//! [`ConflictHandler`]: what to do when the server rejects a push with 409/412, and the
//! [`Resolution`]s shared by handlers and the errors table.

use crate::operation::Operation;
use crate::record::Record;

/// A push the server rejected because the item changed there.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// The queued operation.
    pub operation: Operation,
    /// The local item (for a delete, the snapshot taken when it was deleted).
    pub local_item: Option<Record>,
    /// The server's item, when known (`None` when the server holds it soft-deleted or would not say).
    pub server_item: Option<Record>,
    /// 409 or 412.
    pub status: u16,
}

/// How to settle a conflict or a failed operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// Cancel the operation and store the server's item locally (or drop the local item when the
    /// server has none).
    KeepServer,
    /// Send the local item again, over the server's version. When the server has no live item
    /// (it deleted it), the item is re-created with an insert; a local delete is then done.
    KeepLocal,
    /// Store this item locally and send it over the server's version.
    Merge(Record),
    /// Cancel the operation and drop the local change: the device keeps the server's item when
    /// the server has one, else the local item is deleted. (The official clients delete the
    /// local item either way, which leaves a device without a row the server holds until it
    /// changes again; here every device converges.)
    Discard,
    /// Leave it in the errors table for the app to resolve later.
    Defer,
}

/// Decides conflicts during a push. Object-safe; called on the push's task, so keep it quick.
///
/// ```
/// use sync_core::{Conflict, ConflictHandler, Resolution};
/// #[derive(Debug)]
/// struct NewestTextWins;
/// impl ConflictHandler for NewestTextWins {
///     fn resolve(&self, conflict: &Conflict) -> Resolution {
///         match (&conflict.local_item, &conflict.server_item) {
///             (Some(local), Some(_)) => Resolution::Merge(local.clone()),
///             _ => Resolution::KeepServer,
///         }
///     }
/// }
/// ```
pub trait ConflictHandler: std::fmt::Debug + Send + Sync {
    /// Picks a resolution.
    fn resolve(&self, conflict: &Conflict) -> Resolution;
}

/// The server's item wins: the local change is dropped.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerWins;

impl ConflictHandler for ServerWins {
    fn resolve(&self, _: &Conflict) -> Resolution {
        Resolution::KeepServer
    }
}

/// The local change wins: it is re-sent over the server's version.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientWins;

impl ConflictHandler for ClientWins {
    fn resolve(&self, _: &Conflict) -> Resolution {
        Resolution::KeepLocal
    }
}

/// The default: every conflict waits in the errors table for the app.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeferConflicts;

impl ConflictHandler for DeferConflicts {
    fn resolve(&self, _: &Conflict) -> Resolution {
        Resolution::Defer
    }
}
