//! # sync-core
//!
//! The model and the engine of an offline-first sync framework for the Azure Mobile Apps table
//! protocol (ZUMO-API-VERSION 2.0.0). Apps write to a local [`Store`]; every change is queued in
//! the same transaction; the engine pushes the queue to a [`Remote`] and pulls server changes back
//! with a keyset cursor.
//!
//! Map of the crate:
//! - the model: [`Record`], [`TableSchema`], [`SyncEntity`] (derive it), [`Query`] and typed
//!   columns ([`Col`]);
//! - the seams: [`Store`] (+ [`Transaction`]), [`Remote`];
//! - the queue rules shared by every store: [`queue`];
//! - the engine: [`SyncContext`], [`SyncTable`], [`ConflictHandler`], [`SyncEvent`] ([`engine`]);
//! - errors classified by kind: [`error`].
//!
//! ```
//! use sync_core::{SyncEntity, Query};
//!
//! #[derive(SyncEntity, Debug, Clone)]
//! #[sync(table = "TodoItem")]
//! struct TodoItem {
//!     id: String,
//!     text: String,
//!     complete: bool,
//! }
//!
//! let open_items = Query::new()
//!     .filter(TodoItem::COMPLETE.eq(false))
//!     .order_by(TodoItem::TEXT.asc());
//! assert!(open_items.filter.is_some());
//! ```

#[cfg(feature = "conformance")]
pub mod conformance;
pub mod engine;
pub mod entity;
pub mod error;
pub mod operation;
pub mod query;
pub mod queue;
pub mod record;
pub mod remote;
pub mod schema;
pub mod store;

#[doc(hidden)]
pub mod __private;

pub use engine::conflict::{ClientWins, Conflict, ConflictHandler, DeferConflicts, Resolution, ServerWins};
pub use engine::context::{SyncContext, SyncContextBuilder};
pub use engine::events::{PullSummary, PushOutcome, PushSummary, SyncEvent};
pub use engine::options::{RetryPolicy, SyncOptions};
pub use engine::table::{JsonTable, SyncTable};
pub use entity::SyncEntity;
pub use error::{
    BoxError, CollapseError, PushAbort, QueryError, RecordError, RemoteError, RemoteErrorKind, SchemaError, StoreError,
    SyncError,
};
pub use operation::{
    FailureKind, NewOperation, Operation, OperationError, OperationFilter, OperationKind, OperationState,
};
pub use query::eval::QueryResult;
pub use query::expr::{column, Col, CompareOp, Expr, OrderBy, Query};
pub use query::odata::{odata_filter, odata_literal, odata_orderby};
pub use query::resolve::resolve_query;
pub use query::value::QueryValue;
pub use record::{validate_id, Record, MAX_ID_LEN};
pub use remote::{strip_server_columns, Cursor, Page, Remote};
pub use schema::{canonical_datetime, format_datetime, system, Column, ColumnType, TableSchema};
pub use store::{Store, StoreExt, Transaction, TxWork};

#[cfg(feature = "derive")]
pub use sync_derive::SyncEntity;

/// The date-time crate of entity fields (`DateTime<Utc>`), re-exported so apps use the same version.
pub use chrono;
/// The JSON crate of records, re-exported so apps use the same version.
pub use serde_json;
