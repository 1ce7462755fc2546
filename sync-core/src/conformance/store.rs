//! The [`Store`] conformance suite: every store runs it, so every store behaves the same.
//!
//! An implementation provides a [`StoreFactory`] and adds one test file:
//!
//! ```
//! // tests/store_conformance.rs of a store crate
//! use sync_core::conformance::store::StoreFactory;
//!
//! struct MemoryFactory;
//!
//! #[async_trait::async_trait]
//! impl StoreFactory for MemoryFactory {
//!     type Store = store_memory::MemoryStore;
//!     async fn create(&self) -> Self::Store {
//!         store_memory::MemoryStore::new()
//!     }
//! }
//!
//! sync_core::store_conformance_suite!(MemoryFactory);
//! # fn main() {}
//! ```
//!
//! [`store_conformance_suite!`](crate::store_conformance_suite) stamps one `#[test]` per case,
//! named after the case; each calls the case function of the same name in this module, which can
//! also be called directly (e.g. from a custom test harness). A failing case panics with a
//! message saying which rule of the contract the store broke.
//!
//! The cases, by file:
//! - [`schema`]: creating, re-opening and upgrading tables, unknown tables, awkward names;
//! - [`records`]: reads and writes through transactions, rollback, rejected records, hostile values;
//! - [`query`] and [`query_shape`]: every filter operator, ordering, paging, counting, projection,
//!   typed query errors, and a differential check against [`run_query`](crate::backend::run_query);
//! - [`queue`]: the collapse table (`docs/architecture.md`, "The collapse table") through
//!   [`apply_local_change`](crate::backend::apply_local_change),
//!   atomicity of local changes, in-flight operations;
//! - [`queue_order`]: queue order and filters, ids never reused, concurrent local changes;
//! - [`system_tables`]: the errors and config tables, pulled pages, completed pushes;
//! - [`evolution`]: schema evolution: defaults, renamed columns and tables, retained columns,
//!   conversions, and the errors of what nothing declares;
//! - [`persistence`]: everything survives a reopen (for stores that persist).
//!
//! # Capabilities
//! Some cases need what not every store can do. A store declares what it can do after the
//! factory in the macro call, and the cases needing something it lacks are stamped as ignored
//! tests whose reason names the capability, so `cargo test` lists them as skipped, by name:
//!
//! | capability | meaning | cases |
//! |---|---|---|
//! | `persistent` | closing and opening the same location again keeps everything ([`StoreFactory::reopen`] returns `Some`) | [`reopen_keeps_everything`], [`evolution_survives_a_reopen`] |
//!
//! ```text
//! sync_core::store_conformance_suite!(FileFactory, persistent);   // runs every case
//! sync_core::store_conformance_suite!(MemoryFactory);             // skips reopen_keeps_everything
//! ```
//!
//! [`Store`]: crate::Store

use async_trait::async_trait;

use crate::store::Store;

pub mod evolution;
pub mod persistence;
pub mod query;
pub mod query_shape;
pub mod queue;
pub mod queue_order;
pub mod records;
pub mod schema;
pub mod system_tables;

mod support;

pub use evolution::*;
pub use persistence::*;
pub use query::*;
pub use query_shape::*;
pub use queue::*;
pub use queue_order::*;
pub use records::*;
pub use schema::*;
pub use system_tables::*;

/// Hands each conformance case fresh stores of the implementation under test.
///
/// ```
/// use sync_core::conformance::store::StoreFactory;
///
/// /// A store that keeps its data in a directory would keep that path inside the store, and
/// /// `reopen` would drop the store and open the path again.
/// struct MemoryFactory;
///
/// #[async_trait::async_trait]
/// impl StoreFactory for MemoryFactory {
///     type Store = store_memory::MemoryStore;
///     async fn create(&self) -> Self::Store {
///         store_memory::MemoryStore::new()
///     }
///     // `reopen` keeps its default (`None`): nothing persists.
/// }
/// ```
#[async_trait]
pub trait StoreFactory: Send + Sync + 'static {
    /// The store under test. Cases use it directly and share it between tasks as `Arc<Self::Store>`.
    type Store: Store + 'static;

    /// A fresh, empty store (no tables, no operations, no errors, no config), independent of every
    /// other store this factory made. Panic if it cannot be made.
    async fn create(&self) -> Self::Store;

    /// Closes `store` (the case holds no other handle on it) and opens the same location again,
    /// as an app does after a restart. `None` for stores that do not persist (the default); a
    /// store that declares the `persistent` capability must return `Some`.
    async fn reopen(&self, store: Self::Store) -> Option<Self::Store> {
        drop(store);
        None
    }
}

/// Stamps the [`Store`](crate::Store) conformance suite: one `#[test] fn <case>()` per case of
/// [`conformance::store`](crate::conformance::store), each running the case on a fresh runtime with
/// `factory` (an expression of a type implementing
/// [`StoreFactory`](crate::conformance::store::StoreFactory), evaluated once per test).
///
/// ```
/// struct MemoryFactory;
/// #[async_trait::async_trait]
/// impl sync_core::conformance::store::StoreFactory for MemoryFactory {
///     type Store = store_memory::MemoryStore;
///     async fn create(&self) -> Self::Store {
///         store_memory::MemoryStore::new()
///     }
/// }
///
/// sync_core::store_conformance_suite!(MemoryFactory);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! store_conformance_suite {
    ($factory:expr $(, $capability:ident)* $(,)?) => {
        $($crate::__store_conformance_capability!($capability);)*
        $crate::__store_conformance_cases! {
            $factory; [$($capability),*];
            // schema
            ensure_table_creates_an_empty_table,
            ensure_table_twice_keeps_the_rows,
            ensure_table_adds_nullable_columns,
            ensure_table_rejects_incompatible_changes,
            unknown_table_is_an_error,
            awkward_names_work,
            // records
            crud_through_transactions,
            delete_matching_filters_and_counts,
            failed_transaction_rolls_back_every_write,
            wrong_typed_record_is_rejected_and_nothing_written,
            hostile_values_round_trip,
            // query
            query_compares_every_column_type,
            query_null_semantics_are_two_valued,
            query_in_lists,
            query_string_functions_are_literal_and_case_sensitive,
            query_boolean_nesting,
            // query_shape
            query_orders_by_several_keys_with_ties_and_nulls,
            query_skip_top_and_total_count,
            query_hides_soft_deleted_rows_unless_asked,
            query_select_keeps_id,
            query_errors_are_typed,
            query_matches_the_reference_evaluator,
            // queue
            local_change_without_queued_operation,
            collapse_insert_then_update_is_insert,
            collapse_insert_then_delete_cancels_both,
            collapse_attempted_insert_then_delete_becomes_delete,
            collapse_update_then_update_is_update,
            collapse_update_then_delete_keeps_its_place,
            collapse_rejects_impossible_combinations,
            in_flight_operation_is_never_collapsed,
            local_change_is_atomic,
            // queue_order
            queue_order_and_filters,
            update_and_remove_operation,
            set_operation_states_changes_only_the_state,
            remove_sent_operations_removes_only_unchanged_ones,
            operation_ids_are_never_reused,
            batch_inserts_queue_one_operation_each_in_order,
            concurrent_local_changes_keep_the_queue_consistent,
            // system_tables
            errors_table_round_trip,
            config_round_trip_and_prefix_removal,
            pull_page_is_atomic,
            pulled_pages_of_any_size_store_every_row,
            complete_operation_stores_the_server_item,
            complete_operation_keeps_newer_local_changes,
            complete_operation_never_drops_a_change_made_after_the_send,
            complete_operations_equals_completing_each,
            // evolution
            evolution_fills_defaults_and_resets_cursors,
            evolution_renames_columns,
            evolution_renames_tables,
            evolution_retains_removed_columns,
            evolution_refuses_to_retain_unpushed_values,
            evolution_converts_declared_type_changes,
            evolution_errors_name_the_fix,
            transaction_rows_page_in_id_order,
        }
        // persistence
        $crate::__store_conformance_if_persistent! {
            [$($capability),*];
            $factory;
            reopen_keeps_everything,
            evolution_survives_a_reopen,
        }
    };
}

/// Support for [`store_conformance_suite!`]; not a public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance_cases {
    ($factory:expr; [$($capability:ident),*]; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::conformance::block_on($crate::conformance::store::$case(&$factory));
            }
        )*
    };
}

/// Support for [`store_conformance_suite!`]: refuses an unknown capability. Not a public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance_capability {
    (persistent) => {};
    ($other:ident) => {
        compile_error!(concat!("unknown store capability `", stringify!($other), "`; known: persistent"));
    };
}

/// Support for [`store_conformance_suite!`]: stamps the cases as tests when the capability list
/// holds `persistent`, else as ignored tests that say why. Not a public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance_if_persistent {
    ([]; $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            #[ignore = "skipped: needs the `persistent` capability, which this store does not declare"]
            fn $case() {}
        )*
    };
    ([persistent $(, $rest:ident)*]; $factory:expr; $($case:ident),* $(,)?) => {
        $crate::__store_conformance_cases! { $factory; []; $($case),* }
    };
    ([$other:ident $(, $rest:ident)*]; $factory:expr; $($case:ident),* $(,)?) => {
        $crate::__store_conformance_if_persistent! { [$($rest),*]; $factory; $($case),* }
    };
}
