//! # sync-core
//!
//! The model and the engine of an offline-first sync framework for the Azure Mobile Apps table
//! protocol (ZUMO-API-VERSION 2.0.0). Apps write to a local [`Store`]; every change is queued in
//! the same transaction; the engine pushes the queue to a [`Remote`] and pulls server changes back
//! with a keyset cursor.
//!
//! ```
//! use sync_core::{PullOptions, Query, SyncContext, SyncEntity};
//!
//! #[derive(SyncEntity, Debug, Clone)]
//! #[sync(table = "TodoItem")]
//! struct TodoItem {
//!     id: String,
//!     text: String,
//!     complete: bool,
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let server = store_memory::MemoryRemote::new();
//! let ctx = SyncContext::builder(store_memory::MemoryStore::new()).remote(server).build().await?;
//! let todos = ctx.table::<TodoItem>().await?;
//! todos.insert(TodoItem { id: String::new(), text: "milk".into(), complete: false }).await?;
//! ctx.push().await?;
//! todos.pull(&Query::new(), PullOptions::incremental("all-todos")).await?;
//! let open = todos.query(&Query::new().filter(TodoItem::COMPLETE.eq(false))).await?;
//! assert_eq!(open.len(), 1);
//! # Ok::<_, sync_core::SyncError>(()) }).unwrap();
//! ```
//!
//! Map of the crate:
//! - the model: [`Record`], [`TableSchema`], [`SyncEntity`] (derive it), the field types
//!   ([`SyncValue`]: derive it for your enums and newtypes), [`Query`] and typed columns ([`Col`]);
//! - the engine: [`SyncContext`] hands out [`SyncTable`]s (typed) and [`JsonTable`]s (records);
//!   it pushes, pulls ([`PullOptions`]), purges ([`PurgeOptions`]), reports [`SyncEvent`]s (to
//!   callbacks and as an [`EventStream`]) and keeps failed operations in the errors table
//!   ([`OperationError`]) until they are resolved ([`Resolution`], [`ConflictHandler`]);
//! - live data: [`SyncTable::watch`] gives a [`LiveQuery`] stream of a query's results, and
//!   [`SyncContext::start_sync`] syncs by itself ([`AutoSync`], [`SyncHandle`], [`SyncStatus`]);
//! - errors: [`SyncError`] with its [`ErrorKind`] ([`error`] has the detailed types);
//! - the seams: [`Store`] and [`Remote`]; their authors find everything else in [`backend`], and
//!   the conformance suites in `conformance` (feature `conformance`).
//!
//! The architecture and the protocol notes the code relies on are in the repository's `docs/`.

pub mod backend;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod error;

mod change_feed;
mod collapse;
mod cursor;
mod engine;
mod entity;
mod evolution;
mod field_order;
mod forward;
mod operation;
mod pull_position;
mod query;
mod queue;
mod record;
mod remote;
mod row_page;
mod schema;
mod store;
mod sync_value;
mod value_check;

#[doc(hidden)]
pub mod __private;

pub use engine::{
    AutoPull, AutoSync, ClientWins, Conflict, ConflictHandler, DeferConflicts, EventStream, JsonTable, LiveQuery,
    Migration, PullOptions, PullSummary, PurgeOptions, PushOutcome, PushSummary, RejectedRow, Resolution, RetryPolicy,
    RowChange, ServerWins, SyncContext, SyncContextBuilder, SyncEvent, SyncHandle, SyncOptions, SyncState, SyncStatus,
    SyncTable,
};
pub use entity::SyncEntity;
pub use error::{ErrorKind, SyncError, ValueError};
pub use operation::{FailureKind, Operation, OperationError, OperationKind, OperationState};
pub use query::eval::QueryResult;
pub use query::expr::{column, Col, CompareOp, Expr, OrderBy, Query};
pub use query::value::QueryValue;
pub use queue::LocalChange;
pub use record::Record;
pub use remote::Remote;
pub use schema::{Column, ColumnType, TableSchema};
pub use store::Store;
pub use sync_value::SyncValue;

#[cfg(feature = "derive")]
pub use sync_derive::{SyncEntity, SyncValue};

/// The date-time crate of entity fields (`DateTime<Utc>`), re-exported so apps use the same version.
pub use chrono;
/// The JSON crate of records, re-exported so apps use the same version.
pub use serde_json;
