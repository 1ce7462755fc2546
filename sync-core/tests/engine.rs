//! The engine's own behaviour on the in-memory pair: the typed table API, validation, events,
//! retries and cancellation. (The end-to-end scenarios run from store-memory and against the real
//! server; this file covers what they do not.)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use store_memory::{Fault, MemoryRemote, MemoryStore};
use sync_core::error::{QueryError, RecordError, StoreError};
use sync_core::{
    column, ErrorKind, PullOptions, Query, Resolution, RetryPolicy, SyncContext, SyncEntity, SyncError, SyncEvent,
    SyncOptions,
};

#[derive(SyncEntity, Debug, Clone, PartialEq)]
#[sync(table = "TodoItem")]
struct TodoItem {
    id: String,
    text: String,
    complete: bool,
    #[sync(updated_at)]
    updated_at: Option<DateTime<Utc>>,
    #[sync(version)]
    version: Option<String>,
}

fn todo(text: &str) -> TodoItem {
    TodoItem { id: String::new(), text: text.into(), complete: false, updated_at: None, version: None }
}

fn quick() -> SyncOptions {
    SyncOptions::default().retry(
        RetryPolicy::default()
            .max_retries(3)
            .initial_backoff(Duration::from_millis(1))
            .max_backoff(Duration::from_millis(5)),
    )
}

async fn context(remote: Option<&MemoryRemote>) -> SyncContext {
    let mut b = SyncContext::builder(MemoryStore::new()).options(quick());
    if let Some(r) = remote {
        b = b.remote(r.clone());
    }
    b.build().await.unwrap()
}

#[tokio::test]
async fn typed_crud_and_queries() {
    let ctx = context(None).await;
    let todos = ctx.table::<TodoItem>().await.unwrap();
    let milk = todos.insert(todo("milk")).await.unwrap();
    assert_eq!(milk.id.len(), 36, "an empty id becomes a UUID");
    let mut eggs = todos.insert(todo("eggs")).await.unwrap();
    eggs.complete = true;
    // The app cannot set server-owned columns: the stored (null) version is kept.
    eggs.version = Some("forged".into());
    let stored = todos.update(&eggs).await.unwrap();
    assert_eq!(stored.version, None);
    assert!(stored.complete);

    let done = todos.query(&Query::new().filter(TodoItem::COMPLETE.eq(true))).await.unwrap();
    assert_eq!(done.iter().map(|t| t.text.as_str()).collect::<Vec<_>>(), vec!["eggs"]);
    let ordered = todos.query(&Query::new().order_by(TodoItem::TEXT.desc())).await.unwrap();
    assert_eq!(ordered.iter().map(|t| t.text.as_str()).collect::<Vec<_>>(), vec!["milk", "eggs"]);
    let (page, total) = todos.query_with_count(&Query::new().top(1).with_total_count()).await.unwrap();
    assert_eq!((page.len(), total), (1, Some(2)));
    assert_eq!(todos.count(&Query::new().filter(TodoItem::TEXT.starts_with("mi"))).await.unwrap(), 1);

    // Inserting then updating collapses into one queued insert; deleting it cancels both.
    assert_eq!(ctx.pending_count().await.unwrap(), 2);
    todos.delete(&milk.id).await.unwrap();
    assert_eq!(ctx.pending_count().await.unwrap(), 1);
    assert_eq!(todos.get(&milk.id).await.unwrap(), None);
}

#[tokio::test]
async fn bad_input_is_a_typed_error_and_changes_nothing() {
    let ctx = context(None).await;
    let todos = ctx.table::<TodoItem>().await.unwrap();
    let item = todos.insert(todo("a")).await.unwrap();

    let dup = todos.insert(item.clone()).await.unwrap_err();
    assert!(matches!(dup, SyncError::Store(StoreError::DuplicateId { .. })), "{dup:?}");
    let missing = todos.update(&TodoItem { id: "nope".into(), ..item.clone() }).await.unwrap_err();
    assert!(matches!(missing, SyncError::Store(StoreError::NotFound { .. })), "{missing:?}");
    assert!(matches!(todos.delete("nope").await, Err(SyncError::Store(StoreError::NotFound { .. }))));
    for bad_id in ["a/b", "", "x\u{7}y", &"z".repeat(256)] {
        let err = todos.get(bad_id).await;
        assert!(matches!(err, Err(SyncError::Record { source: RecordError::InvalidId { .. }, .. })), "{err:?}");
        let err = todos.insert(TodoItem { id: bad_id.to_owned(), ..todo("x") }).await;
        assert!(bad_id.is_empty() || matches!(err, Err(SyncError::Record { .. })), "{bad_id:?}: {err:?}");
    }
    assert_eq!(dup.kind(), ErrorKind::LocalState);
    assert_eq!(missing.kind(), ErrorKind::NotFound);
    let unknown = todos.query(&Query::new().filter(column("nope").eq(1))).await.unwrap_err();
    assert!(matches!(unknown, SyncError::Query(QueryError::UnknownColumn { .. })), "{unknown:?}");
    assert_eq!(unknown.kind(), ErrorKind::InvalidInput);

    // A batch with one bad record stores nothing.
    let json = todos.json();
    let good = sync_core::Record::from_json(json!({"id": "b1", "text": "ok", "complete": false})).unwrap();
    let bad = sync_core::Record::from_json(json!({"id": "b2", "text": 5, "complete": false})).unwrap();
    let err = json.insert_batch(vec![good.clone(), bad]).await.unwrap_err();
    assert!(matches!(err, SyncError::Record { source: RecordError::WrongType { .. }, .. }), "{err:?}");
    let dup_in_batch = sync_core::Record::from_json(json!({"id": item.id, "text": "x", "complete": false})).unwrap();
    let err = json.insert_batch(vec![good, dup_in_batch]).await.unwrap_err();
    assert!(matches!(err, SyncError::Store(StoreError::DuplicateId { .. })), "{err:?}");
    assert_eq!(todos.get("b1").await.unwrap(), None);
    assert_eq!(ctx.pending_count().await.unwrap(), 2, "only the two good inserts of the test are queued");
}

#[tokio::test]
async fn batch_inserts_are_queued_one_by_one() {
    let ctx = context(None).await;
    let todos = ctx.table::<TodoItem>().await.unwrap();
    let stored = todos.insert_batch((0..100).map(|i| todo(&format!("item {i}")))).await.unwrap();
    assert_eq!(stored.len(), 100);
    assert_eq!(ctx.pending_count().await.unwrap(), 100);
    let edited = todos.update_batch(stored.into_iter().map(|t| TodoItem { complete: true, ..t })).await.unwrap();
    assert!(edited.iter().all(|t| t.complete));
    assert_eq!(ctx.pending_count().await.unwrap(), 100, "updates collapse into the queued inserts");
    assert_eq!(todos.count(&Query::new().filter(TodoItem::COMPLETE.eq(true))).await.unwrap(), 100);
}

#[tokio::test]
async fn push_and_pull_need_a_remote_and_valid_arguments() {
    let ctx = context(None).await;
    let todos = ctx.table::<TodoItem>().await.unwrap();
    todos.insert(todo("offline")).await.unwrap();
    assert!(matches!(ctx.push().await, Err(SyncError::NoRemote)));
    assert!(matches!(todos.pull(&Query::new(), PullOptions::incremental("all")).await, Err(SyncError::NoRemote)));

    let remote = MemoryRemote::new();
    let ctx = context(Some(&remote)).await;
    let todos = ctx.table::<TodoItem>().await.unwrap();
    for q in [Query::new().top(5), Query::new().order_by(TodoItem::TEXT.asc()), Query::new().select(["text"])] {
        assert!(matches!(todos.pull(&q, PullOptions::incremental("q")).await, Err(SyncError::Query(_))));
    }
    for id in ["", "a|b", &"q".repeat(256)] {
        assert!(matches!(
            todos.pull(&Query::new(), PullOptions::incremental(id)).await,
            Err(SyncError::InvalidQueryId(_))
        ));
    }
    // One failure, one variant: an unknown column from a pull is what it is from a query.
    let unknown = column("nope").eq(1);
    let from_pull = todos.pull(&Query::new().filter(unknown.clone()), PullOptions::full()).await.unwrap_err();
    let from_query = todos.query(&Query::new().filter(unknown)).await.unwrap_err();
    assert!(matches!(from_pull, SyncError::Query(QueryError::UnknownColumn { .. })), "{from_pull:?}");
    assert_eq!(format!("{from_pull:?}"), format!("{from_query:?}"));
    assert_eq!(remote.request_count(), 0, "nothing was sent");
}

#[tokio::test]
async fn server_rows_that_do_not_fit_are_rejected_one_by_one_and_the_pull_goes_on() {
    let remote = MemoryRemote::new();
    let row = |v: serde_json::Value| sync_core::Record::from_json(v).unwrap();
    remote.seed(
        "TodoItem",
        [
            row(json!({"id": "a-good", "text": "fine", "complete": false})),
            row(json!({"id": "b-missing", "text": "no complete"})),
            row(json!({"id": "c-string", "text": "bad", "complete": "yes"})),
            row(json!({"id": "d-good", "text": "fine too", "complete": true})),
        ],
        "2024-01-01T00:00:00.000Z",
    );
    let ctx = context(Some(&remote)).await;
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&events);
    ctx.subscribe(move |e| sink.lock().unwrap().push(e.clone()));
    let todos = ctx.table::<TodoItem>().await.unwrap();
    let summary = todos.pull(&Query::new(), PullOptions::incremental("all")).await.unwrap();
    assert_eq!((summary.rows, summary.upserted), (4, 2), "the good rows of the page are stored");
    let rejected: Vec<(&str, Option<&str>)> =
        summary.rejected.iter().map(|r| (r.id.as_str(), r.column.as_deref())).collect();
    assert_eq!(rejected, vec![("b-missing", Some("complete")), ("c-string", Some("complete"))]);
    assert!(summary.rejected[1].reason.contains("expects a boolean, got string"), "{}", summary.rejected[1].reason);
    let rejected_events = events.lock().unwrap().iter().filter(|e| matches!(e, SyncEvent::RowRejected(_))).count();
    assert_eq!(rejected_events, 2);
    assert_eq!(ctx.rejected_rows().await.unwrap(), summary.rejected, "they are kept for the app");
    // The cursor moved past them: the next pull asks for nothing old.
    assert_eq!(todos.pull(&Query::new(), PullOptions::incremental("all")).await.unwrap().rows, 0);
    assert_eq!(ctx.clear_rejected_rows("TodoItem").await.unwrap(), 2);
    assert!(ctx.rejected_rows().await.unwrap().is_empty());
}

#[test]
fn messages_say_what_was_expected_and_what_came() {
    let schema = TodoCounter::schema();
    let row = |v: serde_json::Value| sync_core::Record::from_json(v).unwrap();
    let err = schema.conform_remote(row(json!({"id": "x", "count": 9223372036854775808u64}))).unwrap_err();
    assert_eq!(err.to_string(), "column \"count\" expects an integer in the i64 range, got 9223372036854775808");
    let err = schema.conform_remote(row(json!({"id": "x", "count": 2.5}))).unwrap_err();
    assert_eq!(err.to_string(), "column \"count\" expects an integer in the i64 range, got 2.5");
}

#[derive(SyncEntity, Debug, Clone)]
#[sync(table = "Counter")]
struct TodoCounter {
    id: String,
    count: i64,
}

#[tokio::test]
async fn events_report_push_and_pull_progress() {
    let remote = MemoryRemote::new();
    let ctx = context(Some(&remote)).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    ctx.subscribe(move |e| sink.lock().unwrap().push(e.clone()));
    let todos = ctx.table::<TodoItem>().await.unwrap();
    for i in 0..3 {
        todos.insert(todo(&format!("t{i}"))).await.unwrap();
    }
    todos.pull(&Query::new(), PullOptions::incremental("all")).await.unwrap();
    let events = seen.lock().unwrap().clone();
    assert!(matches!(events.first(), Some(SyncEvent::PushStarted { total: 3 })), "{events:?}");
    let pushed: Vec<u64> = events
        .iter()
        .filter_map(|e| if let SyncEvent::ItemPushed { done, .. } = e { Some(*done) } else { None })
        .collect();
    assert_eq!(pushed, vec![1, 2, 3]);
    assert!(events.iter().any(|e| matches!(e, SyncEvent::PushFinished(s) if s.succeeded == 3)));
    assert!(events.iter().any(|e| matches!(e, SyncEvent::PagePulled { total_rows: 3, .. })));
    assert!(matches!(events.last(), Some(SyncEvent::PullFinished(s)) if s.rows == 3 && s.upserted == 3));
}

#[tokio::test]
async fn pulled_pages_report_the_total_the_first_page_counted() {
    let remote = MemoryRemote::new();
    let rows = (0..25).map(|i| {
        sync_core::Record::from_json(json!({"id": format!("r{i:02}"), "text": "t", "complete": false})).unwrap()
    });
    remote.seed("TodoItem", rows, "2024-01-01T00:00:00.000Z");
    let ctx = context(Some(&remote)).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    ctx.subscribe(move |e| sink.lock().unwrap().push(e.clone()));
    let todos = ctx.table::<TodoItem>().await.unwrap();
    todos.pull(&Query::new(), PullOptions::incremental("all").page_size(10)).await.unwrap();
    let pages: Vec<(u64, Option<u64>)> = seen
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            SyncEvent::PagePulled { total_rows, total, .. } => Some((*total_rows, *total)),
            _ => None,
        })
        .collect();
    assert_eq!(pages, vec![(10, Some(25)), (20, Some(25)), (25, Some(25))]);
}

#[tokio::test]
async fn transient_failures_are_retried() {
    let remote = MemoryRemote::new();
    let ctx = context(Some(&remote)).await;
    let todos = ctx.table::<TodoItem>().await.unwrap();
    todos.insert(todo("retry me")).await.unwrap();
    remote.fail_next(2, Fault::unavailable());
    let summary = ctx.push().await.unwrap();
    assert_eq!(summary.succeeded, 1);
    remote.fail_next(3, Fault::unavailable());
    todos.pull(&Query::new(), PullOptions::incremental("all")).await.unwrap();
    assert!(ctx.errors().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_push_leaves_the_store_consistent() {
    let remote = MemoryRemote::new();
    remote.set_latency(Duration::from_millis(40));
    let store = Arc::new(MemoryStore::new());
    let ctx = SyncContext::builder(store.clone() as Arc<dyn sync_core::Store>)
        .remote(remote.clone())
        .options(quick())
        .build()
        .await
        .unwrap();
    let todos = ctx.table::<TodoItem>().await.unwrap();
    for i in 0..10 {
        todos.insert(todo(&format!("t{i}"))).await.unwrap();
    }
    let pushing = tokio::spawn({
        let ctx = ctx.clone();
        async move { ctx.push().await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    pushing.abort();
    let _ = pushing.await;
    drop((ctx, todos));

    // A restart over the same store: nothing lost, nothing sent twice.
    remote.set_latency(Duration::ZERO);
    let ctx = SyncContext::builder(store as Arc<dyn sync_core::Store>)
        .remote(remote.clone())
        .options(quick())
        .build()
        .await
        .unwrap();
    let todos = ctx.table::<TodoItem>().await.unwrap();
    assert!(ctx.pending_count().await.unwrap() > 0, "the cancelled push left work queued");
    ctx.push().await.unwrap();
    assert_eq!(ctx.pending_count().await.unwrap(), 0);
    assert!(ctx.errors().await.unwrap().is_empty());
    assert_eq!(remote.rows("TodoItem").len(), 10);
    assert_eq!(todos.count(&Query::new()).await.unwrap(), 10);
    assert!(todos.query(&Query::new()).await.unwrap().iter().all(|t| t.version.is_some()));
}

#[tokio::test]
async fn resolving_checks_the_error_and_the_merged_item() {
    let remote = MemoryRemote::new();
    let ctx = context(Some(&remote)).await;
    let todos = ctx.table::<TodoItem>().await.unwrap();
    let item = todos.insert(todo("x")).await.unwrap();
    ctx.push().await.unwrap();
    // Someone else changes it on the server; our stale edit conflicts and waits (default handler).
    let mut theirs = remote.row("TodoItem", &item.id).unwrap();
    theirs.set("text", json!("theirs")).unwrap();
    remote.seed("TodoItem", [theirs], "2030-01-01T00:00:00.000Z");
    todos.update(&TodoItem { text: "mine".into(), ..todos.get(&item.id).await.unwrap().unwrap() }).await.unwrap();
    assert_eq!(ctx.push().await.unwrap().failed, 1);
    let error = ctx.errors().await.unwrap().remove(0);
    assert_eq!(error.server_item.as_ref().unwrap().get("text"), Some(&json!("theirs")));

    let wrong = sync_core::Record::from_json(json!({"id": "other", "text": "m", "complete": false})).unwrap();
    assert!(matches!(
        ctx.resolve(error.operation_id, Resolution::Merge(wrong)).await,
        Err(SyncError::MergeIdMismatch { .. })
    ));
    assert!(matches!(ctx.resolve(9999, Resolution::KeepServer).await, Err(SyncError::NoSuchError(9999))));
    // A newer local edit replaces the recorded failure: the next push decides again.
    todos
        .update(&TodoItem { text: "mine, again".into(), ..todos.get(&item.id).await.unwrap().unwrap() })
        .await
        .unwrap();
    assert!(ctx.errors().await.unwrap().is_empty());
    assert_eq!(ctx.push().await.unwrap().failed, 1);
    let error = ctx.errors().await.unwrap().remove(0);
    ctx.resolve(error.operation_id, Resolution::KeepLocal).await.unwrap();
    ctx.push().await.unwrap();
    assert_eq!(remote.row("TodoItem", &item.id).unwrap().get("text"), Some(&json!("mine, again")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_after_a_cancelled_one_on_the_same_context_sends_everything_once() {
    let remote = MemoryRemote::new();
    remote.set_latency(Duration::from_millis(40));
    let ctx = context(Some(&remote)).await;
    let todos = ctx.table::<TodoItem>().await.unwrap();
    for i in 0..6 {
        todos.insert(todo(&format!("t{i}"))).await.unwrap();
    }
    let pushing = tokio::spawn({
        let ctx = ctx.clone();
        async move { ctx.push().await }
    });
    tokio::time::sleep(Duration::from_millis(60)).await;
    pushing.abort();
    let _ = pushing.await;
    remote.set_latency(Duration::ZERO);
    // The interrupted operation was left in flight; the next push releases and re-sends it, and
    // a local edit meanwhile still collapses normally once it is released.
    ctx.push().await.unwrap();
    assert_eq!(ctx.pending_count().await.unwrap(), 0);
    assert!(ctx.errors().await.unwrap().is_empty());
    assert_eq!(remote.rows("TodoItem").len(), 6);
}

#[tokio::test]
async fn a_permanent_failure_waits_for_a_decision_instead_of_being_sent_on_every_push() {
    let remote = MemoryRemote::new();
    let ctx = context(Some(&remote)).await;
    let todos = ctx.table::<TodoItem>().await.unwrap();
    let item = todos.insert(todo("too large")).await.unwrap();
    remote.fail_next(1, Fault::BadRequest { status: 413 });
    let summary = ctx.push().await.unwrap();
    assert_eq!(summary.failed, 1);
    let error = ctx.errors().await.unwrap().remove(0);
    assert_eq!((error.failure, error.status), (sync_core::FailureKind::Rejected, Some(413)));
    let sent = remote.request_count();
    for _ in 0..3 {
        let again = ctx.push().await.unwrap();
        assert_eq!((again.total, again.failed), (0, 0), "a 413 is not temporary: nothing is sent again");
    }
    assert_eq!(remote.request_count(), sent);
    // A new local change is a new decision: it clears the error and is sent.
    todos.update(&TodoItem { text: "smaller".into(), ..item }).await.unwrap();
    assert!(ctx.errors().await.unwrap().is_empty());
    assert_eq!(ctx.push().await.unwrap().succeeded, 1);
}

#[tokio::test]
async fn keep_mine_after_the_server_deleted_the_item_re_creates_it() {
    let remote = MemoryRemote::new();
    let ctx = context(Some(&remote)).await;
    let todos = ctx.table::<TodoItem>().await.unwrap();
    let item = todos.insert(todo("mine")).await.unwrap();
    ctx.push().await.unwrap();
    let stored = todos.get(&item.id).await.unwrap().unwrap();
    // Another device deletes it; this one edits it.
    sync_core::Remote::delete(&remote, "TodoItem", &item.id, stored.version.as_deref()).await.unwrap();
    todos.update(&TodoItem { text: "mine, edited".into(), ..stored }).await.unwrap();
    ctx.push().await.unwrap();
    let error = ctx.errors().await.unwrap().remove(0);
    assert_eq!(error.failure, sync_core::FailureKind::NotFound);
    ctx.resolve(error.operation_id, Resolution::KeepLocal).await.unwrap();
    let summary = ctx.push().await.unwrap();
    let errors = ctx.errors().await.unwrap();
    assert!(errors.is_empty(), "{summary:?} {errors:?}");
    let row = remote.row("TodoItem", &item.id).unwrap();
    assert_eq!(row.get("text"), Some(&json!("mine, edited")));
    assert!(!row.is_deleted());
}

#[tokio::test]
async fn a_query_id_reused_with_another_filter_starts_over() {
    let remote = MemoryRemote::new();
    let row = |id: &str, text: &str| {
        sync_core::Record::from_json(json!({"id": id, "text": text, "complete": false})).unwrap()
    };
    remote.seed("TodoItem", [row("b1", "b"), row("b2", "b")], "2024-01-01T00:00:00.000Z");
    remote.seed("TodoItem", [row("a1", "a")], "2024-01-02T00:00:00.000Z");
    let ctx = context(Some(&remote)).await;
    let todos = ctx.table::<TodoItem>().await.unwrap();
    let only = |text: &str| Query::new().filter(TodoItem::TEXT.eq(text));
    assert_eq!(todos.pull(&only("a"), PullOptions::incremental("q")).await.unwrap().rows, 1);
    // Same query id, another filter: its cursor (after a1) would skip b1 and b2.
    assert_eq!(todos.pull(&only("b"), PullOptions::incremental("q")).await.unwrap().rows, 2);
    assert_eq!(todos.count(&Query::new()).await.unwrap(), 3);
    // And the same filter again resumes after its own cursor.
    assert_eq!(todos.pull(&only("b"), PullOptions::incremental("q")).await.unwrap().rows, 0);
}

/// A store that counts the transactions run on it.
#[derive(Debug, Default)]
struct Counting {
    inner: MemoryStore,
    transactions: std::sync::atomic::AtomicU64,
}

#[async_trait::async_trait]
impl sync_core::Store for Counting {
    async fn ensure_table(&self, schema: &sync_core::TableSchema) -> Result<(), StoreError> {
        self.inner.ensure_table(schema).await
    }
    async fn get(&self, table: &str, id: &str) -> Result<Option<sync_core::Record>, StoreError> {
        self.inner.get(table, id).await
    }
    async fn query(&self, table: &str, query: &Query) -> Result<sync_core::QueryResult, StoreError> {
        self.inner.query(table, query).await
    }
    async fn transaction(&self, work: sync_core::backend::TxWork) -> Result<(), StoreError> {
        self.transactions.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.transaction(work).await
    }
    async fn lock_push(&self) -> Result<sync_core::backend::PushLock, StoreError> {
        self.inner.lock_push().await
    }
}

#[tokio::test]
async fn building_a_context_reads_nothing_from_the_queue_whatever_its_size() {
    let store = Arc::new(Counting::default());
    let ctx = SyncContext::builder(Arc::clone(&store) as Arc<dyn sync_core::Store>).build().await.unwrap();
    let todos = ctx.table::<TodoItem>().await.unwrap();
    todos.insert_batch((0..5000).map(|i| todo(&format!("t{i}")))).await.unwrap();
    let before = store.transactions.load(std::sync::atomic::Ordering::SeqCst);
    for _ in 0..3 {
        let _ctx = SyncContext::builder(Arc::clone(&store) as Arc<dyn sync_core::Store>).build().await.unwrap();
    }
    assert_eq!(store.transactions.load(std::sync::atomic::Ordering::SeqCst), before, "start-up ran transactions");
}

/// An insert lands but its answer is lost; the item is edited, and the next send fails with a
/// 503 (not applied). The send after that meets the landed insert (409): it is still the
/// device's own write, not a conflict, however many failed sends came between.
#[tokio::test]
async fn a_failed_resend_does_not_hide_an_earlier_send_that_landed() {
    let server = MemoryRemote::new();
    let ctx = SyncContext::builder(MemoryStore::new())
        .remote(server.clone())
        .options(SyncOptions::default().retry(RetryPolicy::none()))
        .build()
        .await
        .unwrap();
    let todos = ctx.table::<TodoItem>().await.unwrap();
    let mut item = todos.insert(todo("first")).await.unwrap();
    server.fail_after_apply_next(1);
    assert!(ctx.push().await.unwrap_err().is_offline(), "the answer was lost");
    item.text = "second".into();
    todos.update(&item).await.unwrap();
    server.fail_next(1, Fault::unavailable());
    let failed = ctx.push().await.unwrap();
    assert_eq!(failed.failed, 1, "the 503 is recorded");
    item.text = "third".into();
    todos.update(&item).await.unwrap();
    ctx.push().await.unwrap();
    assert!(ctx.errors().await.unwrap().is_empty(), "{:?}", ctx.errors().await.unwrap());
    assert_eq!(ctx.pending_count().await.unwrap(), 0);
    assert_eq!(server.row("TodoItem", &item.id).unwrap().get("text").unwrap(), "third");
}
