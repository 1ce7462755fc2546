//! The engine's push through `Remote::batch` on the in-memory pair (`MemoryRemote` with batches
//! on): operations go many per request, and each settles as its single request would (partial
//! failures, a conflict in the middle, a lost answer, a batch that fails as a whole).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;
use store_memory::{Fault, MemoryRemote, MemoryStore, RequestKind};
use sync_core::backend::{BatchOp, BatchResult, Cursor, Page, RemoteError, RemoteErrorKind};
use sync_core::{
    ClientWins, Column, ColumnType, ConflictHandler, DeferConflicts, ErrorKind, Expr, FailureKind, JsonTable,
    OperationState, Record, Remote, RetryPolicy, SyncContext, SyncOptions, TableSchema,
};

fn schema() -> TableSchema {
    TableSchema::new("Item", vec![Column::new("name", ColumnType::String), Column::nullable("n", ColumnType::Real)])
        .unwrap()
}

fn item(id: &str, n: f64) -> Record {
    Record::from_json(json!({"id": id, "name": format!("item {id}"), "n": n})).unwrap()
}

fn options() -> SyncOptions {
    SyncOptions::default().retry(
        RetryPolicy::default()
            .max_retries(2)
            .initial_backoff(Duration::from_millis(1))
            .max_backoff(Duration::from_millis(2)),
    )
}

async fn device(remote: Arc<dyn Remote>, handler: impl ConflictHandler + 'static) -> (SyncContext, JsonTable) {
    let ctx = SyncContext::builder(MemoryStore::new())
        .remote(remote)
        .conflict_handler(handler)
        .options(options())
        .build()
        .await
        .unwrap();
    let items = ctx.json_table(schema()).await.unwrap();
    (ctx, items)
}

fn batching(max: usize) -> MemoryRemote {
    let remote = MemoryRemote::new();
    remote.set_max_batch(max);
    remote
}

/// The user fields of the server's live rows, by id.
fn server_view(remote: &MemoryRemote) -> Vec<(String, Option<f64>)> {
    let mut rows: Vec<_> = remote
        .rows("Item")
        .into_iter()
        .filter(|r| !r.is_deleted())
        .map(|r| (r.id().to_owned(), r.get("n").and_then(serde_json::Value::as_f64)))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

async fn local_view(items: &JsonTable) -> Vec<(String, Option<f64>)> {
    let mut rows: Vec<_> = items
        .query(&sync_core::Query::new())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|r| (r.id().to_owned(), r.get("n").and_then(serde_json::Value::as_f64)))
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

/// Starts a push and waits, at most `within`, until it has claimed every queued operation.
async fn push_claiming_everything(
    ctx: &SyncContext,
    within: Duration,
) -> tokio::task::JoinHandle<Result<sync_core::PushSummary, sync_core::SyncError>> {
    let push = tokio::spawn({
        let ctx = ctx.clone();
        async move { ctx.push().await }
    });
    let all_claimed = async {
        while !ctx.pending_operations().await.unwrap().iter().all(|op| op.state == OperationState::InFlight) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(within, all_claimed).await.expect("every operation claimed before the first answer came back");
    push
}

#[tokio::test]
async fn many_operations_go_in_few_requests() {
    let remote = batching(100);
    let (ctx, items) = device(Arc::new(remote.clone()), DeferConflicts).await;
    for i in 0..200 {
        items.insert(item(&format!("i{i:03}"), i as f64)).await.unwrap();
    }
    let summary = ctx.push().await.unwrap();
    assert_eq!((summary.total, summary.succeeded, summary.failed), (200, 200, 0));
    assert_eq!(remote.request_count_of(RequestKind::Batch), 2);
    assert_eq!(remote.request_count_of(RequestKind::Insert), 0);
    assert_eq!(ctx.pending_count().await.unwrap(), 0);
    // The server's versions were stored: the next edits update over them without conflicts.
    for i in 0..200 {
        let mut r = items.get(&format!("i{i:03}")).await.unwrap().unwrap();
        assert!(r.version().is_some());
        r.set("n", json!(i as f64 + 0.5)).unwrap();
        items.update(r).await.unwrap();
    }
    for i in 0..10 {
        items.delete(&format!("i{i:03}")).await.unwrap();
    }
    remote.reset_log();
    let summary = ctx.push().await.unwrap();
    assert_eq!((summary.succeeded, summary.failed), (200, 0));
    assert_eq!(remote.request_count_of(RequestKind::Batch), 2);
    assert_eq!(remote.request_count(), 2);
    assert_eq!(server_view(&remote), local_view(&items).await);
    assert_eq!(server_view(&remote).len(), 190);
}

#[tokio::test]
async fn batching_off_sends_one_request_per_operation() {
    let remote = MemoryRemote::new();
    let (ctx, items) = device(Arc::new(remote.clone()), DeferConflicts).await;
    for i in 0..5 {
        items.insert(item(&format!("i{i}"), 0.0)).await.unwrap();
    }
    ctx.push().await.unwrap();
    assert_eq!(remote.request_count_of(RequestKind::Batch), 0);
    assert_eq!(remote.request_count_of(RequestKind::Insert), 5);
}

#[tokio::test]
async fn failures_inside_a_batch_are_each_operations_own() {
    let remote = batching(50);
    let (ctx, items) = device(Arc::new(remote.clone()), DeferConflicts).await;
    for i in 0..6 {
        items.insert(item(&format!("i{i}"), i as f64)).await.unwrap();
    }
    // The first insert is rejected (400), the second meets a server error (per item, not retried
    // alone); the other four are stored.
    remote.fail_next_of(RequestKind::Insert, 1, Fault::BadRequest { status: 400 });
    remote.fail_next_of(RequestKind::Insert, 1, Fault::unavailable());
    let summary = ctx.push().await.unwrap();
    assert_eq!((summary.succeeded, summary.failed, summary.aborted), (4, 2, false));
    assert_eq!(remote.request_count_of(RequestKind::Batch), 1);
    let mut errors = ctx.errors().await.unwrap();
    errors.sort_by(|a, b| a.item_id.cmp(&b.item_id));
    assert_eq!(
        errors.iter().map(|e| (e.item_id.as_str(), e.status)).collect::<Vec<_>>(),
        [("i0", Some(400)), ("i1", Some(503))]
    );
    assert_eq!(errors[0].failure, FailureKind::Rejected);
    assert_eq!(errors[1].failure, FailureKind::Transient);
    assert_eq!(remote.rows("Item").len(), 4);
    // The transient one goes again with the next push; the rejected one waits for a decision.
    let summary = ctx.push().await.unwrap();
    assert_eq!((summary.total, summary.succeeded), (1, 1));
    assert_eq!(ctx.errors().await.unwrap().len(), 1);
    assert_eq!(remote.rows("Item").len(), 5);
}

#[tokio::test]
async fn a_conflict_in_the_middle_of_a_batch_is_settled_alone() {
    let remote = batching(50);
    let (a, a_items) = device(Arc::new(remote.clone()), ClientWins).await;
    for i in 0..5 {
        a_items.insert(item(&format!("i{i}"), 0.0)).await.unwrap();
    }
    a.push().await.unwrap();
    // Another device changes i2 on the server.
    let (b, b_items) = device(Arc::new(remote.clone()), DeferConflicts).await;
    b_items.pull(&sync_core::Query::new(), sync_core::PullOptions::default()).await.unwrap();
    let mut theirs = b_items.get("i2").await.unwrap().unwrap();
    theirs.set("n", json!(99.0)).unwrap();
    b_items.update(theirs).await.unwrap();
    b.push().await.unwrap();
    // Device a edits all five over the old versions: i2 conflicts (412) inside the batch and
    // the handler keeps a's edit, which is sent again alone over the server's version.
    for i in 0..5 {
        let mut r = a_items.get(&format!("i{i}")).await.unwrap().unwrap();
        r.set("n", json!(1.0)).unwrap();
        a_items.update(r).await.unwrap();
    }
    remote.reset_log();
    let summary = a.push().await.unwrap();
    assert_eq!((summary.succeeded, summary.resolved, summary.failed), (4, 1, 0));
    assert_eq!(remote.request_count_of(RequestKind::Batch), 1);
    assert_eq!(remote.request_count_of(RequestKind::Update), 1, "the resolved conflict is resent alone");
    assert!(a.errors().await.unwrap().is_empty());
    assert!(server_view(&remote).iter().all(|(_, n)| *n == Some(1.0)));
    assert_eq!(server_view(&remote), local_view(&a_items).await);
}

#[tokio::test]
async fn a_deferred_conflict_in_a_batch_waits_in_the_errors_table() {
    let remote = batching(50);
    let (a, a_items) = device(Arc::new(remote.clone()), DeferConflicts).await;
    for i in 0..3 {
        a_items.insert(item(&format!("i{i}"), 0.0)).await.unwrap();
    }
    a.push().await.unwrap();
    let mut stored = remote.row("Item", "i1").unwrap();
    stored.set("n", json!(7.0)).unwrap();
    remote.seed("Item", [stored], "2030-01-01T00:00:00.000Z");
    for i in 0..3 {
        let mut r = a_items.get(&format!("i{i}")).await.unwrap().unwrap();
        r.set("n", json!(1.0)).unwrap();
        a_items.update(r).await.unwrap();
    }
    let summary = a.push().await.unwrap();
    assert_eq!((summary.succeeded, summary.failed), (2, 1));
    let errors = a.errors().await.unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (errors[0].item_id.as_str(), errors[0].failure, errors[0].status),
        ("i1", FailureKind::Conflict, Some(412))
    );
    assert_eq!(errors[0].server_item.as_ref().and_then(|s| s.get("n")), Some(&json!(7.0)));
}

/// Queues inserts, updates and deletes over six pushed items; returns the device.
async fn queue_mixed(remote: &MemoryRemote, options: SyncOptions) -> (SyncContext, JsonTable) {
    let ctx = SyncContext::builder(MemoryStore::new()).remote(remote.clone()).options(options).build().await.unwrap();
    let items = ctx.json_table(schema()).await.unwrap();
    for i in 0..6 {
        items.insert(item(&format!("i{i}"), 0.0)).await.unwrap();
    }
    ctx.push().await.unwrap();
    for i in 6..10 {
        items.insert(item(&format!("i{i}"), 0.0)).await.unwrap();
    }
    for i in 0..4 {
        let mut r = items.get(&format!("i{i}")).await.unwrap().unwrap();
        r.set("n", json!(2.0)).unwrap();
        items.update(r).await.unwrap();
    }
    items.delete("i4").await.unwrap();
    items.delete("i5").await.unwrap();
    (ctx, items)
}

#[tokio::test]
async fn a_lost_batch_answer_is_retried_without_duplicates_or_conflicts() {
    let remote = batching(50);
    let (ctx, items) = queue_mixed(&remote, options()).await;
    // The server applies the whole batch and the answer is lost; the retry meets every write
    // applied already (409, 412, 404), and each is recognised as the device's own.
    remote.fail_after_apply_next(1);
    remote.reset_log();
    let summary = ctx.push().await.unwrap();
    assert_eq!((summary.succeeded, summary.failed), (10, 0));
    assert_eq!(remote.request_count_of(RequestKind::Batch), 2);
    assert!(ctx.errors().await.unwrap().is_empty());
    assert_eq!(ctx.pending_count().await.unwrap(), 0);
    assert_eq!(server_view(&remote), local_view(&items).await);
    assert_eq!(remote.rows("Item").len(), 10, "no row twice");
}

#[tokio::test]
async fn a_lost_batch_answer_loses_and_duplicates_nothing() {
    let remote = batching(50);
    let (ctx, items) = queue_mixed(&remote, options().retry(RetryPolicy::none())).await;
    // The server applies the whole batch, the answer is lost, and there are no retries.
    remote.fail_after_apply_next(1);
    let err = ctx.push().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Offline, "{err:?}");
    let pending = ctx.pending_operations().await.unwrap();
    assert_eq!(pending.len(), 10);
    assert!(pending.iter().all(|op| op.state == OperationState::Attempted), "{pending:?}");
    assert!(ctx.errors().await.unwrap().is_empty());
    // Edits made meanwhile: one to an attempted insert, one to an attempted update, and a delete
    // of an attempted insert (a delete whose snapshot has no version).
    let mut r = items.get("i6").await.unwrap().unwrap();
    r.set("n", json!(6.0)).unwrap();
    items.update(r).await.unwrap();
    let mut r = items.get("i0").await.unwrap().unwrap();
    r.set("n", json!(3.0)).unwrap();
    items.update(r).await.unwrap();
    items.delete("i7").await.unwrap();
    let summary = ctx.push().await.unwrap();
    assert_eq!(summary.failed, 0, "{summary:?}");
    assert!(ctx.errors().await.unwrap().is_empty(), "{:?}", ctx.errors().await.unwrap());
    assert_eq!(ctx.pending_count().await.unwrap(), 0);
    assert_eq!(server_view(&remote), local_view(&items).await);
    assert_eq!(remote.rows("Item").len(), 10, "no row twice");
    let n_of = |id: &str| server_view(&remote).into_iter().find(|(i, _)| i == id).map(|(_, n)| n);
    assert_eq!(n_of("i0"), Some(Some(3.0)));
    assert_eq!(n_of("i6"), Some(Some(6.0)));
    assert_eq!(n_of("i7"), None);
}

#[tokio::test]
async fn a_batch_failing_as_a_whole_is_each_operations_answer() {
    let remote = batching(50);
    let (ctx, items) = device(Arc::new(remote.clone()), DeferConflicts).await;
    for i in 0..4 {
        items.insert(item(&format!("i{i}"), 0.0)).await.unwrap();
    }
    // A 503 that outlasts the retries (one try and two retries): each operation fails as its
    // single request would have, and the push goes on.
    remote.fail_next(3, Fault::unavailable());
    let summary = ctx.push().await.unwrap();
    assert_eq!((summary.succeeded, summary.failed), (0, 4));
    assert_eq!(remote.request_count_of(RequestKind::Batch), 3);
    assert!(ctx.errors().await.unwrap().iter().all(|e| e.failure == FailureKind::Transient && e.status == Some(503)));
    // A 401 stops the push and keeps everything queued.
    remote.fail_next(1, Fault::Unauthorized);
    let err = ctx.push().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    assert_eq!(ctx.pending_count().await.unwrap(), 4);
    // Then it goes through.
    let summary = ctx.push().await.unwrap();
    assert_eq!(summary.succeeded, 4);
    assert!(ctx.errors().await.unwrap().is_empty());
    assert_eq!(remote.rows("Item").len(), 4);
}

/// A remote whose batch answers are cut short (a broken server or proxy) until told otherwise.
#[derive(Debug)]
struct ShortAnswers {
    inner: MemoryRemote,
    broken: AtomicBool,
}

#[async_trait]
impl Remote for ShortAnswers {
    async fn insert(&self, table: &str, item: &Record) -> Result<Record, RemoteError> {
        self.inner.insert(table, item).await
    }
    async fn update(&self, table: &str, item: &Record, version: Option<&str>) -> Result<Record, RemoteError> {
        self.inner.update(table, item, version).await
    }
    async fn delete(&self, table: &str, id: &str, version: Option<&str>) -> Result<(), RemoteError> {
        self.inner.delete(table, id, version).await
    }
    async fn read(&self, table: &str, id: &str) -> Result<Record, RemoteError> {
        self.inner.read(table, id).await
    }
    async fn query_page(
        &self,
        table: &str,
        filter: Option<&Expr>,
        cursor: Option<&Cursor>,
        page_size: u64,
    ) -> Result<Page, RemoteError> {
        self.inner.query_page(table, filter, cursor, page_size).await
    }
    fn max_batch(&self) -> usize {
        self.inner.max_batch()
    }
    async fn batch(&self, table: &str, ops: &[BatchOp]) -> Result<Vec<BatchResult>, RemoteError> {
        let mut results = self.inner.batch(table, ops).await?;
        if self.broken.load(Ordering::SeqCst) {
            results.pop();
        }
        Ok(results)
    }
}

#[tokio::test]
async fn a_malformed_batch_answer_stops_the_push_like_a_lost_one() {
    let remote = Arc::new(ShortAnswers { inner: batching(50), broken: AtomicBool::new(true) });
    let (ctx, items) = device(remote.clone(), DeferConflicts).await;
    for i in 0..5 {
        items.insert(item(&format!("i{i}"), i as f64)).await.unwrap();
    }
    let err = ctx.push().await.unwrap_err();
    assert!(matches!(&err, sync_core::SyncError::Remote(e) if e.kind() == RemoteErrorKind::Protocol), "{err:?}");
    assert!(err.to_string().contains("5 operations was answered with 4 results"), "{err}");
    let pending = ctx.pending_operations().await.unwrap();
    assert_eq!(pending.len(), 5);
    assert!(pending.iter().all(|op| op.state == OperationState::Attempted));
    remote.broken.store(false, Ordering::SeqCst);
    // The server had applied all five: sent again, each is recognised as the device's own.
    let summary = ctx.push().await.unwrap();
    assert_eq!((summary.succeeded, summary.failed), (5, 0));
    assert!(ctx.errors().await.unwrap().is_empty());
    assert_eq!(remote.inner.rows("Item").len(), 5);
    assert_eq!(server_view(&remote.inner), local_view(&items).await);
}

#[tokio::test]
async fn batches_keep_per_item_order_and_parallelism() {
    let remote = batching(8);
    remote.set_latency(Duration::from_millis(40));
    let ctx = SyncContext::builder(MemoryStore::new())
        .remote(remote.clone())
        .options(options().push_parallelism(3))
        .build()
        .await
        .unwrap();
    let items = ctx.json_table(schema()).await.unwrap();
    for i in 0..40 {
        items.insert(item(&format!("i{i:02}"), 0.0)).await.unwrap();
    }
    let push = tokio::spawn({
        let ctx = ctx.clone();
        async move { ctx.push().await }
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    // Edits of items in flight queue behind their inserts.
    for id in ["i00", "i01", "i02"] {
        let mut r = items.get(id).await.unwrap().unwrap();
        r.set("n", json!(5.0)).unwrap();
        items.update(r).await.unwrap();
    }
    items.delete("i03").await.unwrap();
    let summary = push.await.unwrap().unwrap();
    assert_eq!(summary.succeeded, 40);
    assert_eq!(remote.request_count_of(RequestKind::Batch), 5);
    let batches: Vec<_> =
        remote.requests().into_iter().filter(|r| r.kind == RequestKind::Batch).map(|r| r.at).collect();
    assert!(batches[2].duration_since(batches[0]) < Duration::from_millis(20), "three batches in flight at once");
    let summary = ctx.push().await.unwrap();
    assert_eq!((summary.total, summary.succeeded), (4, 4));
    assert_eq!(server_view(&remote), local_view(&items).await);
    assert_eq!(server_view(&remote).len(), 39);
}

/// With one request in flight (the default), the operations after the group on its way are
/// claimed while it travels, not once its answer is back. An edit of an item claimed that way
/// queues behind its insert, and a push cancelled then loses and duplicates nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_group_is_claimed_while_a_request_travels_and_loses_nothing() {
    let remote = batching(1000);
    remote.set_latency(Duration::from_millis(200));
    let (ctx, items) = device(Arc::new(remote.clone()), DeferConflicts).await;
    for i in 0..1100 {
        items.insert(item(&format!("i{i:04}"), 0.0)).await.unwrap();
    }
    // The first group (1,000 operations) is on its way; the last 100 are claimed beside it.
    let push = push_claiming_everything(&ctx, Duration::from_millis(150)).await;
    assert_eq!(remote.request_count_of(RequestKind::Batch), 0, "still on its way");
    let mut r = items.get("i1050").await.unwrap().unwrap();
    r.set("n", json!(5.0)).unwrap();
    items.update(r).await.unwrap();
    items.delete("i1099").await.unwrap();
    // Cancelled while the first group travels: the claimed-ahead operations were never sent.
    push.abort();
    let _ = push.await;
    remote.set_latency(Duration::ZERO);
    ctx.push().await.unwrap();
    ctx.push().await.unwrap();
    assert_eq!(ctx.pending_count().await.unwrap(), 0);
    assert!(ctx.errors().await.unwrap().is_empty());
    assert_eq!(server_view(&remote), local_view(&items).await);
    assert_eq!(server_view(&remote).len(), 1099);
    assert_eq!(server_view(&remote).iter().find(|(id, _)| id == "i1050").map(|r| r.1), Some(Some(5.0)));
}

/// The claim reads the items its operations send. An item edited, and one deleted, after their
/// operations were claimed but before they were sent: the push sends what was claimed (the
/// inserts as they were), and the changes, queued behind, go with the next push. Nothing is
/// lost or sent twice, with batches and with single requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_changed_after_their_claim_are_sent_by_the_changes_own_operations() {
    for (remote, count) in [(batching(1000), 1100), (MemoryRemote::new(), 40)] {
        remote.set_latency(Duration::from_millis(150));
        let (ctx, items) = device(Arc::new(remote.clone()), DeferConflicts).await;
        for i in 0..count {
            items.insert(item(&format!("i{i:04}"), 0.0)).await.unwrap();
        }
        let (edited, deleted) = (format!("i{:04}", count - 10), format!("i{:04}", count - 1));
        let push = push_claiming_everything(&ctx, Duration::from_millis(120)).await;
        let mut r = items.get(&edited).await.unwrap().unwrap();
        r.set("n", json!(5.0)).unwrap();
        items.update(r).await.unwrap();
        items.delete(&deleted).await.unwrap();
        remote.set_latency(Duration::ZERO);
        let first = push.await.unwrap().unwrap();
        assert_eq!(first.succeeded, count as u64, "the push sends what it claimed, every insert");
        let sent = server_view(&remote);
        assert_eq!(sent.len(), count, "the deleted item's insert went too: its delete is queued behind");
        assert_eq!(sent.iter().find(|(id, _)| *id == edited).map(|r| r.1), Some(Some(0.0)), "as claimed");
        assert_eq!(ctx.pending_count().await.unwrap(), 2, "the edit and the delete wait for the next push");
        let second = ctx.push().await.unwrap();
        assert_eq!((second.succeeded, second.failed), (2, 0));
        assert_eq!(ctx.pending_count().await.unwrap(), 0);
        assert!(ctx.errors().await.unwrap().is_empty());
        assert_eq!(server_view(&remote), local_view(&items).await);
        assert_eq!(server_view(&remote).len(), count - 1);
        assert_eq!(server_view(&remote).iter().find(|(id, _)| *id == edited).map(|r| r.1), Some(Some(5.0)));
    }
}

/// Two queued operations of one item, claimed together (a push was cancelled after a change
/// queued behind its first one): the second goes once the first's answer is stored, and reads
/// its item then, so it sends the version the first brought and is applied, not refused with a
/// 412. For an update and a delete queued behind, with batches and with single requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_operation_of_an_item_claimed_with_the_first_sends_the_version_the_first_brought() {
    for remote in [batching(1000), MemoryRemote::new()] {
        remote.seed("Item", [item("u", 1.0), item("d", 1.0)], "2024-01-01T00:00:00.000Z");
        let (ctx, items) = device(Arc::new(remote.clone()), DeferConflicts).await;
        items.pull(&sync_core::Query::new(), sync_core::PullOptions::default()).await.unwrap();
        for id in ["u", "d"] {
            let mut r = items.get(id).await.unwrap().unwrap();
            r.set("n", json!(2.0)).unwrap();
            items.update(r).await.unwrap();
        }
        remote.set_latency(Duration::from_millis(300));
        let push = push_claiming_everything(&ctx, Duration::from_millis(250)).await;
        // Changes queued behind the operations in flight, then the push is cancelled: the next
        // push claims each item's two operations together.
        let mut r = items.get("u").await.unwrap().unwrap();
        r.set("n", json!(3.0)).unwrap();
        items.update(r).await.unwrap();
        items.delete("d").await.unwrap();
        push.abort();
        let _ = push.await;
        remote.set_latency(Duration::ZERO);
        let summary = ctx.push().await.unwrap();
        assert_eq!((summary.failed, summary.resolved), (0, 0), "no conflict: {:?}", ctx.errors().await.unwrap());
        assert!(ctx.errors().await.unwrap().is_empty());
        assert_eq!(ctx.pending_count().await.unwrap(), 0);
        assert_eq!(server_view(&remote), vec![("u".to_owned(), Some(3.0))]);
        assert_eq!(server_view(&remote), local_view(&items).await);
        let u = remote.rows("Item").into_iter().find(|r| r.id() == "u").expect("u on the server");
        // MemoryRemote counts versions up from 1 ("MQ=="): seeded, then both updates applied.
        assert_eq!(u.version(), Some("Mw=="), "the second update was applied, not refused");
        assert_eq!(items.get("u").await.unwrap().unwrap().version(), u.version());
    }
}
