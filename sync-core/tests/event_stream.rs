//! `SyncContext::events`: the same events as the callback, in order; a reader far behind is
//! told how many it missed; dropping the stream unsubscribes.

use std::sync::{Arc, Mutex};

use futures::{FutureExt, StreamExt};
use store_memory::{MemoryRemote, MemoryStore};
use sync_core::{PullOptions, Query, SyncContext, SyncEntity, SyncEvent};

#[derive(SyncEntity, Debug, Clone, PartialEq)]
#[sync(table = "TodoItem")]
struct TodoItem {
    id: String,
    text: String,
}

async fn context() -> (SyncContext, Arc<Mutex<Vec<SyncEvent>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let ctx = SyncContext::builder(MemoryStore::new())
        .remote(MemoryRemote::new())
        .on_event(move |e| log.lock().unwrap().push(e.clone()))
        .build()
        .await
        .unwrap();
    (ctx, seen)
}

/// Every event the stream holds now (outside Tokio's co-operative budget, which would make a
/// ready channel look empty after 128 reads).
fn drain(stream: &mut sync_core::EventStream) -> Vec<SyncEvent> {
    std::iter::from_fn(|| tokio::task::unconstrained(stream.next()).now_or_never().flatten()).collect()
}

#[tokio::test]
async fn the_stream_sees_what_the_callback_sees_in_order() {
    let (ctx, callback) = context().await;
    let todos = ctx.table::<TodoItem>().await.unwrap();
    let mut stream = ctx.events();
    for i in 0..5 {
        todos.insert(TodoItem { id: format!("t{i}"), text: "x".into() }).await.unwrap();
    }
    ctx.push().await.unwrap();
    todos.pull(&Query::new(), PullOptions::incremental("all")).await.unwrap();
    let streamed = drain(&mut stream);
    assert_eq!(streamed, *callback.lock().unwrap());
    assert!(matches!(streamed.first(), Some(SyncEvent::PushStarted { total: 5 })));
    assert!(matches!(streamed.last(), Some(SyncEvent::PullFinished(_))));
}

#[tokio::test]
async fn a_reader_far_behind_is_told_how_many_it_missed() {
    let (ctx, callback) = context().await;
    let todos = ctx.table::<TodoItem>().await.unwrap();
    let mut stream = ctx.events();
    let items = (0..1500).map(|i| TodoItem { id: format!("t{i}"), text: "x".into() });
    todos.insert_batch(items).await.unwrap();
    ctx.push().await.unwrap();
    let emitted = callback.lock().unwrap().clone();
    assert_eq!(emitted.len(), 1502, "started, 1500 items, finished");
    let streamed = drain(&mut stream);
    let SyncEvent::EventsMissed { count } = streamed[0] else {
        panic!("expected EventsMissed first, got {streamed:?}")
    };
    assert_eq!(count as usize + streamed.len() - 1, emitted.len(), "missed + delivered = emitted");
    assert_eq!(streamed[1..], emitted[count as usize..], "the newest events are the ones kept");
}

#[tokio::test]
async fn the_stream_ends_with_the_context() {
    let (ctx, _) = context().await;
    let mut stream = ctx.events();
    drop(ctx);
    assert_eq!(stream.next().await, None);
}
