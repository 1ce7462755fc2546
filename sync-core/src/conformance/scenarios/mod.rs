//! The engine's end-to-end scenarios, for any pair of [`Store`] and [`Remote`]: several devices
//! (one store each) sync through one server. The in-memory pair runs them in sync-core's tests;
//! store-diesel with the REST remote runs them against the official Node server.
//!
//! Every case works in the `Item` table (`name` string, `n` number, `flag` boolean) and marks its
//! rows with a unique `name`, so cases can share one server.
//!
//! ```ignore
//! sync_core::scenario_suite!(MyFactory::new());
//! ```

mod conflicts;
mod never_lose;
mod pull;
mod sync;
mod timestamps;
pub mod wrappers;

pub use conflicts::*;
pub use never_lose::*;
pub use pull::*;
pub use sync::*;
pub use timestamps::*;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::backend::Cursor;
use serde_json::{json, Value};

use crate::{
    column, Column, ColumnType, ConflictHandler, DeferConflicts, JsonTable, Query, Record, Remote, RetryPolicy, Store,
    SyncContext, SyncOptions, TableSchema,
};

/// Hands the scenarios their parts.
#[async_trait]
pub trait ScenarioFactory: Send + Sync + 'static {
    /// A fresh, empty local store: one per simulated device.
    async fn store(&self) -> Arc<dyn Store>;
    /// A client of the case's server (all clients of one factory see the same server).
    async fn remote(&self) -> Arc<dyn Remote>;
    /// Writes rows straight into the server's storage, all with this `updatedAt` (as another
    /// writer would), bypassing the API.
    async fn seed(&self, table: &str, rows: Vec<Record>, updated_at: &str);
}

/// Stamps one `#[test]` per scenario. `$factory` is evaluated once per test.
#[macro_export]
macro_rules! scenario_suite {
    ($factory:expr) => {
        $crate::scenario_suite!(@cases $factory;
            two_devices_converge,
            deletes_propagate,
            pending_local_edits_survive_a_pull,
            push_keeps_queue_order_across_tables,
            parallel_push_keeps_per_item_order,
            newer_local_edit_survives_push_response,
            lost_response_is_not_a_conflict,
            network_loss_stops_push_and_keeps_ops,
            unauthorized_stops_push_and_keeps_ops,
            server_errors_go_to_errors_table_and_push_goes_on,
            conflict_keep_server_via_handler,
            conflict_keep_local_via_handler,
            conflict_merge_via_handler,
            conflict_discard_via_handler,
            conflict_deferred_then_resolved_after_restart,
            delete_conflict_resolutions,
            shared_timestamp_rows_arrive_once,
            second_pull_is_one_empty_request,
            fault_mid_pull_loses_and_duplicates_nothing,
            full_pull_saves_no_cursor,
            pull_pushes_first,
            purge_rules,
            edit_from_another_context_during_a_push_is_kept,
            delete_from_another_context_during_a_push_reaches_the_server,
            delete_of_a_claimed_item_leaves_nothing_to_decide,
            push_counts_never_pass_their_total,
            keep_server_after_a_skipped_pull_takes_the_current_item,
            edit_after_a_lost_answer_is_not_a_conflict,
            an_answer_about_another_item_is_not_stored,
            finer_timestamps_skip_no_row_at_any_page_size,
        );
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                let factory = $factory;
                $crate::conformance::block_on($crate::conformance::scenarios::$case(&factory));
            }
        )*
    };
}

/// The scenarios' table.
pub fn item_schema() -> TableSchema {
    TableSchema::new(
        "Item",
        vec![
            Column::new("name", ColumnType::String),
            Column::nullable("n", ColumnType::Real),
            Column::nullable("flag", ColumnType::Bool),
        ],
    )
    .expect("the Item schema is valid")
}

/// A unique marker for one case's rows.
pub fn marker(case: &str) -> String {
    format!("{case}-{}", uuid::Uuid::new_v4().simple())
}

/// An `Item` record.
pub fn item(id: &str, name: &str, n: f64) -> Record {
    Record::from_json(json!({"id": id, "name": name, "n": n, "flag": false})).expect("valid item")
}

/// Options for tests: quick retries, small pages.
pub fn test_options() -> SyncOptions {
    SyncOptions {
        retry: RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
            jitter: true,
        },
        page_size: 50,
        ..SyncOptions::default()
    }
}

/// One simulated device: a context over its own store, and its `Item` table.
#[derive(Debug, Clone)]
pub struct Device {
    /// The context.
    pub ctx: SyncContext,
    /// The `Item` table.
    pub items: JsonTable,
    /// The store (to restart the device over it).
    pub store: Arc<dyn Store>,
}

impl Device {
    /// A device with a fresh store, the remote, the handler and options.
    pub async fn new(
        store: Arc<dyn Store>,
        remote: Arc<dyn Remote>,
        handler: impl ConflictHandler + 'static,
        options: SyncOptions,
    ) -> Device {
        let ctx = SyncContext::builder(Arc::clone(&store))
            .remote(remote)
            .conflict_handler(handler)
            .options(options)
            .build()
            .await
            .expect("context builds");
        let items = ctx.json_table(item_schema()).await.expect("Item table opens");
        Device { ctx, items, store }
    }

    /// A device with default test options and deferred conflicts.
    pub async fn simple<F: ScenarioFactory + ?Sized>(f: &F) -> Device {
        Device::new(f.store().await, f.remote().await, DeferConflicts, test_options()).await
    }

    /// Pulls this case's rows incrementally.
    ///
    /// Then waits 2 ms: the server stamps `updatedAt` in milliseconds, and a row changed within
    /// the same millisecond as the cursor, with an id not after the cursor's, is only seen at its
    /// next change (see [`JsonTable::pull`]). Real devices are never that quick; tests are.
    pub async fn pull(&self, mark: &str) -> crate::PullSummary {
        let summary = self
            .items
            .pull(&by_marker(mark), crate::PullOptions::incremental(format!("q-{mark}")))
            .await
            .expect("pull succeeds");
        tokio::time::sleep(Duration::from_millis(2)).await;
        summary
    }

    /// This case's local rows, by id.
    pub async fn rows(&self, mark: &str) -> Vec<Record> {
        self.items.query(&by_marker(mark)).await.expect("local query").items
    }
}

/// The filter on a case's marker.
pub fn by_marker(mark: &str) -> Query {
    Query::new().filter(column("name").eq(mark))
}

/// Every live server row of a case, ordered by id (read through the remote's keyset paging).
pub async fn server_rows(remote: &dyn Remote, mark: &str) -> Vec<Record> {
    let schema = item_schema();
    let filter = by_marker(mark).filter;
    let mut cursor: Option<Cursor> = None;
    let mut out = Vec::new();
    loop {
        let page = remote.query_page("Item", filter.as_ref(), cursor.as_ref(), 100).await.expect("server query");
        let Some(last) = page.items.last() else { break };
        cursor = Cursor::after(last);
        let n = page.items.len();
        out.extend(page.items.into_iter().filter(|r| !r.is_deleted()).map(|r| schema.conform_remote(r).expect("fits")));
        if n < 100 {
            break;
        }
    }
    out.sort_by(|a, b| a.id().cmp(b.id()));
    out
}

/// The fields that must match between a device and the server: id, user fields and version.
pub fn view(rows: &[Record]) -> Vec<(String, Value, Value, Value)> {
    let mut v: Vec<_> = rows
        .iter()
        .map(|r| {
            let g = |k: &str| r.get(k).cloned().unwrap_or(Value::Null);
            (r.id().to_owned(), g("n"), g("flag"), g("version"))
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// A fresh id for a case.
pub fn new_id(mark: &str, n: usize) -> String {
    format!("{}-{n:05}", &mark[..mark.len().min(40)])
}
