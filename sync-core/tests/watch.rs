//! Live queries on the in-memory pair: first result, wake-ups after each kind of commit, bursts,
//! unrelated tables, contexts sharing a store, unsubscribing. (Other processes on a database
//! file: store-diesel's `tests/watch.rs`.)

use std::time::Duration;

use futures::{FutureExt, StreamExt};
use store_memory::{MemoryRemote, MemoryStore};
use sync_core::backend::{StoreError, StoreExt};
use sync_core::{PullOptions, PurgeOptions, Query, SyncContext, SyncEntity};

#[derive(SyncEntity, Debug, Clone, PartialEq)]
#[sync(table = "TodoItem")]
struct TodoItem {
    id: String,
    text: String,
    n: i64,
}

#[derive(SyncEntity, Debug, Clone, PartialEq)]
#[sync(table = "Other")]
struct Other {
    id: String,
    n: i64,
}

fn todo(id: &str, n: i64) -> TodoItem {
    TodoItem { id: id.into(), text: format!("item {id}"), n }
}

async fn context(store: MemoryStore, remote: Option<&MemoryRemote>) -> SyncContext {
    let mut b = SyncContext::builder(store);
    if let Some(r) = remote {
        b = b.remote(r.clone());
    }
    b.build().await.unwrap()
}

/// The next result, failing the test after 10 s (generous: only a lost wake-up takes that long).
async fn next<T>(live: &mut sync_core::LiveQuery<T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), live.next())
        .await
        .expect("a result after a committed change")
        .expect("live queries never end")
        .expect("the query runs")
}

/// Whether the stream has a result ready without waiting. MemoryStore answers within one poll,
/// so a pending wake-up always shows here (outside Tokio's co-operative budget, which could make
/// a ready stream look pending).
fn ready<T>(live: &mut sync_core::LiveQuery<T>) -> bool {
    tokio::task::unconstrained(live.next()).now_or_never().is_some()
}

#[tokio::test]
async fn yields_the_current_result_then_one_after_each_write() {
    let ctx = context(MemoryStore::new(), None).await;
    let todos = ctx.table::<TodoItem>().await.unwrap();
    todos.insert(todo("a", 1)).await.unwrap();
    let mut live = todos.watch(&Query::new());
    assert_eq!(next(&mut live).await, vec![todo("a", 1)]);
    assert!(!ready(&mut live), "nothing changed yet");
    todos.insert(todo("b", 2)).await.unwrap();
    assert_eq!(next(&mut live).await.len(), 2);
    todos.update(&todo("a", 10)).await.unwrap();
    assert_eq!(next(&mut live).await[0].n, 10);
    todos.delete("b").await.unwrap();
    assert_eq!(next(&mut live).await, vec![todo("a", 10)]);
}

#[tokio::test]
async fn a_burst_is_coalesced_and_the_last_write_is_seen() {
    let ctx = context(MemoryStore::new(), None).await;
    let todos = ctx.table::<TodoItem>().await.unwrap();
    let mut live = todos.watch(&Query::new());
    assert!(next(&mut live).await.is_empty());
    for i in 0..100 {
        todos.insert(todo(&format!("i{i}"), i)).await.unwrap();
    }
    assert_eq!(next(&mut live).await.len(), 100, "one run sees every commit before it");
    assert!(!ready(&mut live), "a hundred commits left one wake-up, not a hundred");
}

/// 10,000 commits of one item's counter, while the watcher reads as fast as it can on another
/// thread: every result is at least as new as the one before, and the last commit is seen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_writes_in_order_and_none_lost() {
    const WRITES: i64 = 10_000;
    let ctx = context(MemoryStore::new(), None).await;
    let todos = ctx.table::<TodoItem>().await.unwrap();
    todos.insert(todo("x", 0)).await.unwrap();
    let mut live = todos.watch(&Query::new().filter(TodoItem::ID.eq("x")));
    let writer = {
        let todos = todos.clone();
        tokio::spawn(async move {
            for n in 1..=WRITES {
                todos.update(&todo("x", n)).await.unwrap();
            }
        })
    };
    let mut seen = Vec::new();
    loop {
        let n = next(&mut live).await[0].n;
        if let Some(&last) = seen.last() {
            assert!(n >= last, "a result older than the one before: {n} after {last}");
        }
        seen.push(n);
        if n == WRITES {
            break;
        }
    }
    writer.await.unwrap();
    if let Some(extra) = tokio::task::unconstrained(live.next()).now_or_never() {
        assert_eq!(extra.unwrap().unwrap()[0].n, WRITES, "a wake-up left over can only show the last state");
    }
    println!("{} results for {WRITES} commits", seen.len());
}

#[tokio::test]
async fn writes_to_other_tables_do_not_wake_it() {
    let ctx = context(MemoryStore::new(), None).await;
    let todos = ctx.table::<TodoItem>().await.unwrap();
    let others = ctx.table::<Other>().await.unwrap();
    let mut live = todos.watch(&Query::new());
    next(&mut live).await;
    for i in 0..50 {
        others.insert(Other { id: format!("o{i}"), n: i }).await.unwrap();
    }
    others.delete("o1").await.unwrap();
    assert!(!ready(&mut live), "another table's commits woke the watcher");
    todos.insert(todo("a", 1)).await.unwrap();
    assert_eq!(next(&mut live).await.len(), 1);
}

#[tokio::test]
async fn only_committed_transactions_wake_it() {
    let ctx = context(MemoryStore::new(), None).await;
    let todos = ctx.table::<TodoItem>().await.unwrap();
    let mut live = todos.json().watch(&Query::new());
    next(&mut live).await;
    let row = TodoItem::schema().conform_local(todo("a", 1).to_record().unwrap()).unwrap();
    let written = row.clone();
    let failed = ctx
        .store()
        .transact(move |tx| {
            tx.upsert("TodoItem", &written)?;
            Err::<(), _>(StoreError::Backend { message: "the work gives up".into(), source: None })
        })
        .await;
    assert!(failed.is_err());
    assert!(!ready(&mut live), "a rolled-back transaction woke the watcher");
    // The app's own transactions through the context's store are announced like the engine's.
    ctx.store().transact(move |tx| tx.upsert("TodoItem", &row)).await.unwrap();
    assert_eq!(next(&mut live).await.items.len(), 1);
}

#[tokio::test]
async fn contexts_sharing_a_store_see_each_others_writes() {
    let store = MemoryStore::new();
    let app = context(store.clone(), None).await;
    let widget = context(store.clone(), None).await;
    let mut live = app.table::<TodoItem>().await.unwrap().watch(&Query::new());
    assert!(next(&mut live).await.is_empty());
    widget.table::<TodoItem>().await.unwrap().insert(todo("w", 7)).await.unwrap();
    assert_eq!(next(&mut live).await, vec![todo("w", 7)]);
}

#[tokio::test]
async fn pulls_purges_and_pushes_wake_it() {
    let server = MemoryRemote::new();
    let a = context(MemoryStore::new(), Some(&server)).await;
    let b = context(MemoryStore::new(), Some(&server)).await;
    let on_a = a.table::<TodoItem>().await.unwrap();
    let on_b = b.table::<TodoItem>().await.unwrap();
    let mut watch_a = on_a.json().watch(&Query::new());
    let mut watch_b = on_b.watch(&Query::new());
    next(&mut watch_a).await;
    assert!(next(&mut watch_b).await.is_empty());

    on_a.insert(todo("a", 1)).await.unwrap();
    assert!(next(&mut watch_a).await.items[0].get("version").is_some_and(|v| v.is_null()));
    a.push().await.unwrap();
    let pushed = next(&mut watch_a).await;
    assert!(pushed.items[0].get("version").is_some_and(|v| v.is_string()), "the push stored the server's version");

    on_b.pull(&Query::new(), PullOptions::incremental("all")).await.unwrap();
    assert_eq!(next(&mut watch_b).await, vec![todo("a", 1)]);
    on_b.purge(&Query::new(), PurgeOptions::default().query_id("all")).await.unwrap();
    assert!(next(&mut watch_b).await.is_empty());
}

#[tokio::test]
async fn dropping_the_stream_unsubscribes() {
    let ctx = context(MemoryStore::new(), None).await;
    let todos = ctx.table::<TodoItem>().await.unwrap();
    let feed = ctx.store().change_feed().expect("the engine's store has a feed");
    let first = todos.watch(&Query::new());
    let second = todos.watch(&Query::new().filter(TodoItem::N.gt(3)));
    assert_eq!(feed.watchers(), 2);
    drop(first);
    assert_eq!(feed.watchers(), 1);
    drop(second);
    assert_eq!(feed.watchers(), 0);
    todos.insert(todo("a", 1)).await.unwrap();
}

#[tokio::test]
async fn a_bad_query_yields_an_error_and_the_stream_goes_on() {
    let ctx = context(MemoryStore::new(), None).await;
    let todos = ctx.table::<TodoItem>().await.unwrap();
    let mut live = todos.watch(&Query::new().filter(sync_core::column("nope").eq(1)));
    let first = live.next().await.unwrap();
    assert!(first.is_err(), "an unknown column is an error");
    todos.insert(todo("a", 1)).await.unwrap();
    assert!(live.next().await.unwrap().is_err(), "still the same query, still an error, still alive");
}
