//! The [`Remote`] conformance suite: every remote runs it, so the engine can rely on one behaviour
//! — the official Node server's (npm `azure-mobile-apps` 4.0.2, SQLite, soft delete; see
//! `docs/protocol.md`, and `docs/architecture.md`, "Pull with the keyset cursor").
//!
//! An implementation provides a [`RemoteFactory`] and adds one test file:
//!
//! ```
//! // tests/remote_conformance.rs of a remote crate
//! use std::sync::Arc;
//! use sync_core::conformance::remote::RemoteFactory;
//! use sync_core::{Record, Remote};
//!
//! struct MemoryFactory(store_memory::MemoryRemote);
//!
//! #[async_trait::async_trait]
//! impl RemoteFactory for MemoryFactory {
//!     async fn create(&self) -> Arc<dyn Remote> {
//!         Arc::new(self.0.clone())
//!     }
//!     async fn seed(&self, table: &str, rows: Vec<Record>, updated_at: &str) {
//!         self.0.seed(table, rows, updated_at);
//!     }
//! }
//!
//! sync_core::remote_conformance_suite!(MemoryFactory(store_memory::MemoryRemote::new()));
//! # fn main() {}
//! ```
//!
//! [`remote_conformance_suite!`](crate::remote_conformance_suite) stamps one `#[test]` per case,
//! named after the case; each calls the case function of the same name in this module, which can
//! also be called directly. A failing case panics with a message naming the step and the rule.
//!
//! # What the server must hold
//! The cases are written so the REST remote can run them against **one** real server per test
//! binary, shared by every case and never emptied. The server has three tables, all with soft
//! delete, and the cases use no other table or column:
//! - `Item`: `name` (string), `n` (number), `flag` (boolean);
//! - `AllTypes`: `s` (string), `i` (number), `r` (number), `b` (boolean), `d` (date);
//! - `TodoItem`: `text` (string), `complete` (boolean), `priority` (number; added by version 2 of
//!   examples/todo, and never required by a case).
//!
//! Each case draws a random marker, makes its ids `<marker>-…` and stores the marker in `name`,
//! `s` or `text`; every query filters on that marker with `eq` (the Node server's SQLite
//! `startswith` matches nothing), so other cases' rows and earlier runs never interfere.
//!
//! Filters in the cases avoid null columns under `ne` and `not`: the Node server evaluates them
//! with SQL's three-valued logic (a null column is neither `eq` nor `ne` a value), other servers
//! may not. `updatedAt` is treated as opaque text, compared only for order.
//!
//! The cases, by file:
//! - [`crud`]: insert, read, update and delete, their system columns, versions and status codes,
//!   soft delete, and ids with awkward characters;
//! - [`paging`]: `query_page` ordering, page sizes, the keyset cursor over rows sharing one
//!   `updatedAt`, and later writes showing up after a cursor;
//! - [`filters`]: strings with characters that need escaping, booleans, numbers, dates, `null`,
//!   `in`, `not`, `and`/`or`;
//! - [`batch`]: many writes in one [`Remote::batch`] call, each answered
//!   as its single call.
//!
//! [`Remote`]: crate::Remote

use std::sync::Arc;

use async_trait::async_trait;

use crate::record::Record;
use crate::remote::Remote;

pub mod batch;
pub mod crud;
pub mod filters;
pub mod paging;

mod support;

pub use batch::*;
pub use crud::*;
pub use filters::*;
pub use paging::*;

/// Hands each conformance case the remote under test and a way to write rows behind its back.
///
/// ```
/// use std::sync::Arc;
/// use sync_core::conformance::remote::RemoteFactory;
/// use sync_core::{Record, Remote};
///
/// /// Every case talks to the same in-memory server, as the REST remote's cases share one
/// /// Node server.
/// struct MemoryFactory(store_memory::MemoryRemote);
///
/// #[async_trait::async_trait]
/// impl RemoteFactory for MemoryFactory {
///     async fn create(&self) -> Arc<dyn Remote> {
///         Arc::new(self.0.clone())
///     }
///     async fn seed(&self, table: &str, rows: Vec<Record>, updated_at: &str) {
///         self.0.seed(table, rows, updated_at);
///     }
/// }
/// ```
#[async_trait]
pub trait RemoteFactory: Send + Sync + 'static {
    /// A remote to test. It may talk to a server shared with other cases and holding other rows:
    /// cases use unique ids and filter on their own marker. Panic if it cannot be made.
    async fn create(&self) -> Arc<dyn Remote>;

    /// Writes `rows` straight into the server's storage (bypassing the API, as another writer
    /// would), each with `updatedAt` = `updated_at` exactly — a canonical
    /// `YYYY-MM-DDTHH:MM:SS.sssZ` instant — and `createdAt` set, `version` set, `deleted` false.
    /// The rows hold an `id` and user columns only. Panic if it cannot be done.
    async fn seed(&self, table: &str, rows: Vec<Record>, updated_at: &str);
}

#[async_trait]
impl<F: RemoteFactory + ?Sized> RemoteFactory for Arc<F> {
    async fn create(&self) -> Arc<dyn Remote> {
        (**self).create().await
    }
    async fn seed(&self, table: &str, rows: Vec<Record>, updated_at: &str) {
        (**self).seed(table, rows, updated_at).await
    }
}

/// Stamps the [`Remote`](crate::Remote) conformance suite: one `#[test] fn <case>()` per case of
/// [`conformance::remote`](crate::conformance::remote), each running the case on a fresh runtime
/// with `factory` (an expression of a type implementing
/// [`RemoteFactory`](crate::conformance::remote::RemoteFactory), evaluated once per test).
///
/// ```
/// use std::sync::{Arc, OnceLock};
/// use sync_core::{Record, Remote};
///
/// /// One server for the whole test binary.
/// fn server() -> &'static store_memory::MemoryRemote {
///     static SERVER: OnceLock<store_memory::MemoryRemote> = OnceLock::new();
///     SERVER.get_or_init(store_memory::MemoryRemote::new)
/// }
///
/// struct Shared;
/// #[async_trait::async_trait]
/// impl sync_core::conformance::remote::RemoteFactory for Shared {
///     async fn create(&self) -> Arc<dyn Remote> {
///         Arc::new(server().clone())
///     }
///     async fn seed(&self, table: &str, rows: Vec<Record>, updated_at: &str) {
///         server().seed(table, rows, updated_at);
///     }
/// }
///
/// sync_core::remote_conformance_suite!(Shared);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! remote_conformance_suite {
    ($factory:expr $(,)?) => {
        $crate::__remote_conformance_cases! {
            $factory;
            // crud
            insert_returns_the_item_with_system_columns,
            insert_drops_server_owned_columns_of_local_rows,
            insert_of_an_existing_id_is_conflict_409,
            insert_of_a_soft_deleted_id_is_conflict_409,
            read_returns_the_stored_item,
            read_of_a_missing_item_is_not_found,
            update_merges_fields_and_bumps_the_version,
            update_with_a_stale_version_is_conflict_412_with_the_server_item,
            update_without_a_version_overwrites,
            update_of_a_missing_item_is_not_found,
            update_of_a_soft_deleted_item_is_not_found,
            delete_is_soft_and_shows_in_queries,
            delete_with_a_stale_version_is_conflict_412_with_the_server_item,
            delete_of_a_missing_item_is_not_found,
            delete_twice_is_not_found,
            ids_with_awkward_characters_round_trip,
            // paging
            query_page_filters_and_orders_by_updated_at_then_id,
            query_page_orders_by_updated_at_before_id,
            query_page_announces_a_next_page_only_when_full,
            query_page_size_over_1000_is_bad_request,
            keyset_paging_over_rows_sharing_one_updated_at,
            cursor_is_strictly_after,
            cursor_sees_later_updates_and_deletes,
            query_by_id_pages_in_id_order,
            query_rows_reads_pages_as_the_calls_they_stand_for,
            // filters
            strings_needing_escapes_round_trip_and_match,
            filter_on_booleans,
            filter_on_numbers,
            filter_on_dates,
            filter_on_null,
            filter_in_lists,
            filter_not_and_or,
            // batch
            batch_answers_each_operation_as_its_single_call,
        }
    };
}

/// Support for [`remote_conformance_suite!`]; not a public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __remote_conformance_cases {
    ($factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::conformance::block_on($crate::conformance::remote::$case(&$factory));
            }
        )*
    };
}
