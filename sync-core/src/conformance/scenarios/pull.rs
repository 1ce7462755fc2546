//! Scenarios: keyset pull over shared timestamps, the one-request no-change pull, faults in the
//! middle of a pull, full pulls, push-before-pull, and purge.

use std::sync::Arc;

use super::wrappers::FlakyRemote;
use super::{by_marker, item, marker, new_id, server_rows, test_options, Device, ScenarioFactory};
use crate::{DeferConflicts, PullOptions, PurgeOptions, Record, Remote, RetryPolicy, SyncError, SyncOptions};

fn seeded(mark: &str, count: usize) -> Vec<Record> {
    (0..count).map(|i| item(&new_id(mark, i), mark, i as f64)).collect()
}

/// 2,500 rows sharing one `updatedAt`, pulled with pages of 100, arrive exactly once.
pub async fn shared_timestamp_rows_arrive_once<F: ScenarioFactory>(f: &F) {
    let mark = marker("shared");
    f.seed("Item", seeded(&mark, 2500), "2024-03-01T12:00:00.000Z").await;
    let options = SyncOptions { page_size: 100, ..test_options() };
    let remote = f.remote().await;
    let d = Device::new(f.store().await, remote.clone(), DeferConflicts, options).await;
    let summary = d.pull(&mark).await;
    // As the remote knows it after the pull: one may learn it from the server's first answer
    // (sync-server says so), and then the pages after the first follow the keyset cursor.
    let exact = remote.exact_timestamps();
    assert_eq!(summary.rows, 2500);
    assert_eq!(summary.upserted, 2500);
    if exact {
        assert_eq!(summary.requests, 26, "25 full pages and one empty page");
    } else {
        // The first page is full, so the rows of its timestamp are read by id: 25 full pages and
        // an empty one, then the empty page past that timestamp.
        assert_eq!(summary.requests, 28, "one page, the window of 25 full pages and an empty one, one empty page");
    }
    assert_eq!(d.items.count(&by_marker(&mark)).await.unwrap(), 2500);
    let again = d.pull(&mark).await;
    assert_eq!((again.rows, again.requests), (0, 1));
}

/// A pull with nothing new makes exactly one request and downloads nothing.
pub async fn second_pull_is_one_empty_request<F: ScenarioFactory>(f: &F) {
    let mark = marker("again");
    f.seed("Item", seeded(&mark, 120), "2024-03-02T12:00:00.000Z").await;
    let d = Device::simple(f).await;
    let first = d.pull(&mark).await;
    assert_eq!(first.rows, 120);
    let second = d.pull(&mark).await;
    assert_eq!((second.rows, second.requests), (0, 1));
    // A new server row after that arrives alone.
    f.seed("Item", vec![item(&new_id(&mark, 999), &mark, 1.0)], "2024-03-02T12:00:00.001Z").await;
    let third = d.pull(&mark).await;
    assert_eq!(third.rows, 1);
}

/// A connection dropped in the middle of a pull keeps the pages already stored; the retry resumes
/// from the saved cursor and nothing is lost or duplicated.
pub async fn fault_mid_pull_loses_and_duplicates_nothing<F: ScenarioFactory>(f: &F) {
    let mark = marker("midpull");
    f.seed("Item", seeded(&mark, 1000), "2024-03-03T12:00:00.000Z").await;
    let flaky = Arc::new(FlakyRemote::new(f.remote().await));
    let options = SyncOptions { page_size: 100, retry: RetryPolicy::none(), ..test_options() };
    let d = Device::new(f.store().await, flaky.clone(), DeferConflicts, options).await;
    flaky.drop_pull_after(250);
    let err = d.items.pull(&by_marker(&mark), PullOptions::incremental("midpull")).await.unwrap_err();
    assert!(matches!(err, SyncError::Remote(ref e) if e.is_retryable()), "{err:?}");
    let stored = d.items.count(&by_marker(&mark)).await.unwrap();
    // 100 rows a page: two pages by keyset; with a window (see `Remote::exact_timestamps`) the
    // first page's rows are read again by id, and those are not stored twice.
    let expected = if flaky.exact_timestamps() { 200 } else { 100 };
    assert_eq!(stored, expected, "the whole pages before the drop were stored");
    let resumed = d.items.pull(&by_marker(&mark), PullOptions::incremental("midpull")).await.unwrap();
    assert_eq!(resumed.rows, 1000 - stored, "the retry starts after the last stored page");
    assert_eq!(d.items.count(&by_marker(&mark)).await.unwrap(), 1000);
}

/// Without a query id a pull downloads everything each time and saves no cursor.
pub async fn full_pull_saves_no_cursor<F: ScenarioFactory>(f: &F) {
    let mark = marker("full");
    f.seed("Item", seeded(&mark, 60), "2024-03-04T12:00:00.000Z").await;
    let d = Device::simple(f).await;
    assert_eq!(d.items.pull(&by_marker(&mark), PullOptions::full()).await.unwrap().rows, 60);
    assert_eq!(d.items.pull(&by_marker(&mark), PullOptions::full()).await.unwrap().rows, 60);
}

/// A pull pushes the table's queued changes first.
pub async fn pull_pushes_first<F: ScenarioFactory>(f: &F) {
    let mark = marker("pushfirst");
    let d = Device::simple(f).await;
    d.items.insert(item(&new_id(&mark, 1), &mark, 1.0)).await.unwrap();
    d.pull(&mark).await;
    assert_eq!(d.ctx.pending_count().await.unwrap(), 0);
    let server = server_rows(f.remote().await.as_ref(), &mark).await;
    assert_eq!(server.len(), 1);
    assert!(d.items.get(&new_id(&mark, 1)).await.unwrap().unwrap().version().is_some());
}

/// Purge: refused with queued operations unless forced without a filter; resets the cursor.
pub async fn purge_rules<F: ScenarioFactory>(f: &F) {
    let mark = marker("purge");
    f.seed("Item", seeded(&mark, 30), "2024-03-05T12:00:00.000Z").await;
    let d = Device::simple(f).await;
    let qid = format!("q-{mark}");
    d.pull(&mark).await;
    assert_eq!(d.items.count(&by_marker(&mark)).await.unwrap(), 30);

    // No pending operations: purge deletes the rows and resets the cursor.
    assert_eq!(d.items.purge(&by_marker(&mark), PurgeOptions::default().query_id(&qid)).await.unwrap(), 30);
    assert_eq!(d.items.count(&by_marker(&mark)).await.unwrap(), 0);
    assert_eq!(d.pull(&mark).await.rows, 30, "the cursor was reset, so everything comes back");

    // A pending operation blocks purge, with or without a filter, unless forced without one.
    d.items.insert(item(&new_id(&mark, 500), &mark, 1.0)).await.unwrap();
    let blocked = d.items.purge(&by_marker(&mark), PurgeOptions::default().query_id(&qid)).await;
    assert!(matches!(blocked, Err(SyncError::PurgeBlocked { pending: 1, .. })), "{blocked:?}");
    let blocked = d.items.purge(&by_marker(&mark), PurgeOptions::default().query_id(&qid).force(true)).await;
    assert!(matches!(blocked, Err(SyncError::PurgeBlocked { .. })), "force with a filter is refused");
    assert_eq!(d.items.count(&by_marker(&mark)).await.unwrap(), 31, "a refused purge changes nothing");
    d.items.purge(&crate::Query::new(), PurgeOptions::default().force(true)).await.unwrap();
    assert_eq!(d.ctx.pending_count().await.unwrap(), 0);
    assert_eq!(d.items.count(&crate::Query::new()).await.unwrap(), 0);
    assert_eq!(d.pull(&mark).await.rows, 30, "force drops every cursor of the table");
}
