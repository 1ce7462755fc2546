//! Errors, classified by kind so callers decide what to do from [`ErrorKind`] (or a variant),
//! never from a message string.
//!
//! Apps see one error type, [`SyncError`], from every entry point of the engine: the same failure
//! is the same variant and the same [`ErrorKind`] whether it came from a local write, a query, a
//! push or a pull. Ask it with [`SyncError::kind`] and the predicates beside it, in the manner of
//! `reqwest::Error::is_timeout()`:
//!
//! ```
//! # async fn sync(ctx: &sync_core::SyncContext) {
//! match ctx.push().await {
//!     Ok(summary) => println!("pushed {}", summary.succeeded),
//!     Err(e) if e.is_offline() => println!("offline: your changes are kept and sent later"),
//!     Err(e) if e.is_unauthorized() => println!("sign in again"),
//!     Err(e) => println!("sync failed: {e}"),
//! }
//! # }
//! ```
//!
//! Stores and remotes report [`StoreError`]s and [`RemoteError`]s (each with its own small kind);
//! the engine wraps them in [`SyncError`]. How every variant maps onto an [`ErrorKind`] is one
//! table, in `kind.rs` (see [`ErrorKind`]).

use std::error::Error as StdError;

mod kind;
mod local;
mod remote;
mod sync;

pub use kind::ErrorKind;
pub use local::{CollapseError, QueryError, RecordError, SchemaError, StoreError, ValueError};
pub use remote::{RemoteError, RemoteErrorKind};
pub use sync::SyncError;

/// A boxed error from a backend (SQLite, HTTP client, …) kept as the `source` of ours.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;
