//! Live queries on database files: commits of another handle on the same file (another
//! connection, exactly what another process is to SQLite) are seen within the poll interval;
//! the store's own commits at once; a transaction whose future was dropped is announced once it
//! has committed. (Another *process* on the file: examples/todo's `tests/watch.rs`.)

use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use store_diesel::{DieselStore, OpenOptions};
use sync_core::backend::StoreExt;
use sync_core::{LiveQuery, Query, SyncContext, SyncEntity};

#[derive(SyncEntity, Debug, Clone, PartialEq)]
#[sync(table = "TodoItem")]
struct TodoItem {
    id: String,
    text: String,
}

fn todo(id: &str) -> TodoItem {
    TodoItem { id: id.into(), text: format!("item {id}") }
}

async fn next<T>(live: &mut LiveQuery<T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), live.next())
        .await
        .expect("a result after a committed change")
        .expect("live queries never end")
        .expect("the query runs")
}

async fn open(path: &std::path::Path, interval: Duration) -> SyncContext {
    let store = DieselStore::open_with(path, OpenOptions::new().change_poll_interval(interval)).await.unwrap();
    SyncContext::builder(store).build().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_handle_on_the_file_is_seen_within_the_interval() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let watching = open(&path, Duration::from_millis(50)).await;
    let writing = open(&path, Duration::from_millis(50)).await;
    let mine = watching.table::<TodoItem>().await.unwrap();
    let theirs = writing.table::<TodoItem>().await.unwrap();
    let mut live = mine.watch(&Query::new());
    assert!(next(&mut live).await.is_empty());

    let mut latencies = Vec::new();
    for i in 0..5 {
        let start = Instant::now();
        theirs.insert(todo(&format!("t{i}"))).await.unwrap();
        loop {
            if next(&mut live).await.len() == i + 1 {
                break;
            }
        }
        latencies.push(start.elapsed());
    }
    // Timing is reported, not asserted (a loaded machine may be slow); the 10 s bound of `next`
    // is what fails when a commit is never seen.
    println!("another handle's commit seen after {latencies:?} (interval 50 ms)");

    // The store's own commits need no poll.
    let start = Instant::now();
    mine.insert(todo("own")).await.unwrap();
    assert_eq!(next(&mut live).await.len(), 6);
    println!("own commit seen after {:?}", start.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_whose_future_was_dropped_is_announced_after_it_commits() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = open(&dir.path().join("app.db"), Duration::from_secs(3600)).await;
    let todos = ctx.table::<TodoItem>().await.unwrap();
    let mut live = todos.watch(&Query::new());
    assert!(next(&mut live).await.is_empty());
    // Drop inserts after one poll until one of them had started (the writer was free when it
    // was polled: the store then runs it to its end on a blocking thread).
    let mut stored = 0;
    for i in 0..200 {
        let mut insert = Box::pin(todos.insert(todo(&format!("d{i}"))));
        let _ = (&mut insert).now_or_never();
        drop(insert);
        // Transactions are serialised: once an empty one has run, the dropped one has ended.
        ctx.store().transact(|_| Ok(())).await.unwrap();
        stored = todos.count(&Query::new()).await.unwrap();
        if stored > 0 {
            break;
        }
    }
    assert!(stored >= 1, "no dropped insert had started; the test proves nothing");
    // The poll interval is an hour: only the engine's announcement can wake the watcher.
    let mut seen = 0;
    while seen < stored {
        seen = next(&mut live).await.len() as u64;
    }
    assert_eq!(seen, stored);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_made_while_nobody_watches_are_not_missed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let watching = open(&path, Duration::from_millis(20)).await;
    let writing = open(&path, Duration::from_millis(20)).await;
    let mine = watching.table::<TodoItem>().await.unwrap();
    let theirs = writing.table::<TodoItem>().await.unwrap();
    // Commits while nobody watches are not lost: the first live query starts from the current
    // state, and a poll after it compares with the version read before it existed.
    theirs.insert(todo("before")).await.unwrap();
    {
        let mut live = mine.watch(&Query::new());
        assert_eq!(next(&mut live).await.len(), 1);
    }
    theirs.insert(todo("unwatched")).await.unwrap();
    let mut live = mine.watch(&Query::new());
    assert_eq!(next(&mut live).await.len(), 2);
    theirs.insert(todo("watched")).await.unwrap();
    while next(&mut live).await.len() < 3 {}
}

/// 10,000 commits of one item while a watcher reads on the reader pool: every result is at least
/// as new as the one before (each read starts after the one before ended, on whichever reader),
/// and the last commit is seen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_commits_in_order_through_the_reader_pool() {
    const WRITES: usize = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let options = OpenOptions::new().synchronous(store_diesel::Synchronous::Normal);
    let store = DieselStore::open_with(dir.path().join("app.db"), options).await.unwrap();
    let ctx = SyncContext::builder(store).build().await.unwrap();
    let todos = ctx.table::<TodoItem>().await.unwrap();
    todos.insert(TodoItem { id: "x".into(), text: "0".into() }).await.unwrap();
    let mut live = todos.watch(&Query::new());
    let writer = {
        let todos = todos.clone();
        tokio::spawn(async move {
            for n in 1..=WRITES {
                todos.update(&TodoItem { id: "x".into(), text: n.to_string() }).await.unwrap();
            }
        })
    };
    let (mut last, mut results) = (0, 0);
    while last < WRITES {
        let n: usize = next(&mut live).await[0].text.parse().unwrap();
        assert!(n >= last, "a result older than the one before: {n} after {last}");
        (last, results) = (n, results + 1);
    }
    writer.await.unwrap();
    println!("{results} results for {WRITES} commits");
}
