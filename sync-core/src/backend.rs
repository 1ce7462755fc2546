//! For authors of stores and remotes: the traits' helper types, the queue rules every store
//! shares, the reference query evaluator, OData serialisation and the record helpers. Apps do not
//! need this module; [`Store`] and [`Remote`] are also at the crate root, where apps name them.
//!
//! A store implements [`Store`] and [`Transaction`], builds its local changes and pulled pages on
//! [`apply_local_change`] and [`apply_pull_page`] (so every store collapses and skips alike), and
//! proves itself with `sync_core::store_conformance_suite!` (feature `conformance`). A remote
//! implements [`Remote`], pages with the keyset [`Cursor`], and proves itself with
//! `sync_core::remote_conformance_suite!`. The contracts are written on the traits and in
//! `docs/architecture.md`.
//!
//! ```
//! use std::sync::Arc;
//! use sync_core::backend::{Store, StoreExt, OperationFilter};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store: Arc<dyn Store> = Arc::new(store_memory::MemoryStore::new());
//! let queued = store.transact(|tx| tx.count_operations(&OperationFilter::all())).await?;
//! assert_eq!(queued, 0);
//! # Ok::<_, sync_core::backend::StoreError>(()) }).unwrap();
//! ```

pub use crate::change_feed::{ChangeFeed, ChangeSubscription};
pub use crate::collapse::{collapse_rule, Collapse};
pub use crate::cursor::Cursor;
pub use crate::error::{
    BoxError, CollapseError, QueryError, RecordError, RemoteError, RemoteErrorKind, SchemaError, StoreError,
};
pub use crate::evolution::{conversion_error, convert_value, rename_config_key, upgrade_system_rows, SchemaUpgrade};
pub use crate::operation::{NewOperation, OperationFilter, RemovedOperation};
pub use crate::query::eval::{compare_records, compare_values, matches, project, run_query};
pub use crate::query::odata::{is_odata_datetime, odata_filter, odata_literal, odata_orderby, try_odata_filter};
pub use crate::query::resolve::resolve_query;
pub use crate::queue::{
    adopt_server_columns, apply_local_change, apply_local_changes, apply_pull_page, complete_operation,
    complete_operations, newest_operation, Completion, LocalChangeOutcome, PageOutcome,
};
pub use crate::record::{json_type_name, validate_id, MAX_ID_LEN};
pub use crate::remote::{strip_server_columns, BatchOp, BatchResult, Page, PageRequest, Remote};
pub use crate::row_page::{Field, RowError, RowPage};
pub use crate::schema::{canonical_datetime, format_datetime, is_canonical_datetime, system};
pub use crate::store::{PushLock, Store, StoreExt, Transaction, TxWork};
