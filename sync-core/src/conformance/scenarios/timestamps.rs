//! Scenarios: servers that keep `updatedAt` finer than they send it (`Remote::exact_timestamps`).
//! Rows are seeded with timestamps in and around one millisecond, with more digits than the
//! server sends and with ids in another order than those digits, so a keyset cursor alone
//! would skip some at small page sizes, or stall on a page inside one millisecond.

use super::{by_marker, item, marker, new_id, test_options, Device, ScenarioFactory};
use crate::{DeferConflicts, PullOptions, Remote, SyncOptions};

/// The seeded `updatedAt` texts: the millisecond before, the millisecond itself written four
/// ways, and the one after, each with more digits than a server sends.
const STAMPS: [&str; 8] = [
    "2024-03-06T12:00:00.0995Z",
    "2024-03-06T12:00:00.099Z",
    "2024-03-06T12:00:00.100Z",
    "2024-03-06T12:00:00.1000001Z",
    "2024-03-06T12:00:00.1004Z",
    "2024-03-06T12:00:00.1009999Z",
    "2024-03-06T12:00:00.101Z",
    "2024-03-06T12:00:00.1012345Z",
];
const PER_STAMP: usize = 5;

/// Every row arrives once at every page size, a second pull brings nothing, and a row changed
/// later arrives.
pub async fn finer_timestamps_skip_no_row_at_any_page_size<F: ScenarioFactory>(f: &F) {
    let mark = marker("finer");
    // Ids interleave the stamps backwards: the id order disagrees with the digits' order.
    for (s, stamp) in STAMPS.iter().enumerate() {
        let rows = (0..PER_STAMP).map(|j| item(&new_id(&mark, j * STAMPS.len() + (STAMPS.len() - 1 - s)), &mark, 1.0));
        f.seed("Item", rows.collect(), stamp).await;
    }
    let total = (STAMPS.len() * PER_STAMP) as u64;
    for page_size in [1, 2, 3, 4, 7, 11, 50] {
        let options = SyncOptions { page_size, ..test_options() };
        let d = Device::new(f.store().await, f.remote().await, DeferConflicts, options).await;
        let query_id = format!("finer-{page_size}");
        let first = d.items.pull(&by_marker(&mark), PullOptions::incremental(&query_id)).await;
        let first = first.unwrap_or_else(|e| panic!("page size {page_size}: {e}"));
        let local = d.items.count(&by_marker(&mark)).await.unwrap();
        assert_eq!(local, total, "page size {page_size}: every row arrives ({first:?})");
        // A window may read a neighbouring millisecond's row again (stored twice, harmless);
        // never more than once more per row.
        assert!(first.rows <= 2 * total, "page size {page_size}: {} rows read for {total}", first.rows);
        let again = d.items.pull(&by_marker(&mark), PullOptions::incremental(&query_id)).await.unwrap();
        assert_eq!(again.rows, 0, "page size {page_size}: a second pull brings nothing");
    }
    // A row changed through the API (stamped by the server now) arrives at the next pull.
    let d = Device::new(f.store().await, f.remote().await, DeferConflicts, test_options()).await;
    d.items.pull(&by_marker(&mark), PullOptions::incremental("finer-after")).await.unwrap();
    let changed = item(&new_id(&mark, 3), &mark, 2.0);
    let remote = f.remote().await;
    let current = remote.read("Item", changed.id()).await.expect("the seeded row reads back");
    remote.update("Item", &changed, current.version()).await.expect("the server takes the update");
    let after = d.items.pull(&by_marker(&mark), PullOptions::incremental("finer-after")).await.unwrap();
    assert_eq!(after.rows, 1, "the changed row, and only it, arrives");
    let local = d.items.get(changed.id()).await.unwrap().expect("still there");
    assert_eq!(local.get("n").and_then(serde_json::Value::as_f64), Some(2.0));
}
