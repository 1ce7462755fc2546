//! Automatic sync on the in-memory pair: debounced pushes, pulls on the interval and after
//! pushes, back-off behind MemoryRemote's faults (and convergence through random ones, seeded),
//! deferred conflicts waiting without a loop, stopping during a push.

use std::time::Duration;

use futures::StreamExt;
use store_memory::{Fault, MemoryRemote, MemoryStore, RequestKind};
use sync_core::{
    AutoSync, PullOptions, Query, Resolution, RetryPolicy, SyncContext, SyncEntity, SyncEvent, SyncHandle, SyncOptions,
    SyncState, SyncStatus,
};

#[derive(SyncEntity, Debug, Clone, PartialEq)]
#[sync(table = "TodoItem")]
struct TodoItem {
    id: String,
    text: String,
}

fn todo(id: &str, text: &str) -> TodoItem {
    TodoItem { id: id.into(), text: text.into() }
}

async fn device(server: &MemoryRemote) -> SyncContext {
    SyncContext::builder(MemoryStore::new())
        .remote(server.clone())
        .options(SyncOptions::default().retry(RetryPolicy::none()))
        .build()
        .await
        .unwrap()
}

/// Quick settings: pulls only when asked (an hour), a short debounce, short back-off.
fn quick() -> AutoSync {
    AutoSync::new()
        .pull("TodoItem", Query::new(), "all")
        .pull_interval(Duration::from_secs(3600))
        .push_debounce(Duration::from_millis(20))
        .backoff(Duration::from_millis(10), Duration::from_millis(50))
}

/// Waits (at most 20 s) for a status passing `done`.
async fn until(sync: &SyncHandle, what: &str, done: impl Fn(&SyncStatus) -> bool) -> SyncStatus {
    match try_until(sync, done).await {
        Some(s) => s,
        None => panic!("no status where {what}; last: {:?}", sync.status()),
    }
}

/// Waits (at most 20 s) for a status passing `done`; `None` when none came.
async fn try_until(sync: &SyncHandle, done: impl Fn(&SyncStatus) -> bool) -> Option<SyncStatus> {
    let mut status = sync.watch_status();
    let wait = async {
        loop {
            let now = status.borrow_and_update().clone();
            if done(&now) {
                return now;
            }
            status.changed().await.expect("the sync task is alive");
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait).await.ok()
}

fn synced(s: &SyncStatus) -> bool {
    s.pending == 0 && s.last_sync.is_some() && matches!(s.state, SyncState::Idle)
}

#[tokio::test]
async fn local_writes_are_pushed_after_the_debounce_in_few_pushes() {
    let server = MemoryRemote::new();
    let ctx = device(&server).await;
    let todos = ctx.table::<TodoItem>().await.unwrap();
    let sync = ctx.start_sync(quick()).unwrap();
    until(&sync, "the first sync is done", synced).await;
    let mut events = ctx.events();
    for i in 0..20 {
        todos.insert(todo(&format!("t{i}"), "x")).await.unwrap();
    }
    until(&sync, "every write is on the server", |s| s.pending == 0 && server.rows("TodoItem").len() == 20).await;
    let mut pushes = 0;
    while let Ok(Some(event)) = tokio::time::timeout(Duration::from_millis(50), events.next()).await {
        if matches!(event, SyncEvent::PushStarted { total } if total > 0) {
            pushes += 1;
        }
    }
    assert!(pushes < 20, "twenty writes in a burst took {pushes} pushes");
    sync.stop().await;
}

#[tokio::test]
async fn pulls_run_after_each_push_and_on_the_interval() {
    let server = MemoryRemote::new();
    let a = device(&server).await;
    let b = device(&server).await;
    let on_a = a.table::<TodoItem>().await.unwrap();
    let on_b = b.table::<TodoItem>().await.unwrap();
    on_a.insert(todo("from-a", "a")).await.unwrap();
    a.push().await.unwrap();

    // B pulls after pushing its own write (its interval is an hour).
    let sync_b = b.start_sync(quick()).unwrap();
    until(&sync_b, "the first sync is done", synced).await;
    let mut live = on_b.watch(&Query::new());
    assert_eq!(live.next().await.unwrap().unwrap().len(), 1);
    on_a.insert(todo("from-a-2", "a")).await.unwrap();
    a.push().await.unwrap();
    on_b.insert(todo("from-b", "b")).await.unwrap();
    loop {
        let now = tokio::time::timeout(Duration::from_secs(20), live.next()).await.unwrap().unwrap().unwrap();
        if now.len() == 3 {
            break;
        }
    }
    sync_b.stop().await;

    // A pulls on its interval with nothing written.
    let sync_a = a.start_sync(quick().pull_interval(Duration::from_millis(30))).unwrap();
    until(&sync_a, "B's write reached A", |_| true).await;
    let mut live = on_a.watch(&Query::new());
    loop {
        let now = tokio::time::timeout(Duration::from_secs(20), live.next()).await.unwrap().unwrap().unwrap();
        if now.iter().any(|t| t.id == "from-b") {
            break;
        }
    }
    sync_a.stop().await;
}

#[tokio::test]
async fn offline_backs_off_then_syncs_and_a_success_of_the_app_ends_the_back_off() {
    let server = MemoryRemote::new();
    let ctx = device(&server).await;
    let todos = ctx.table::<TodoItem>().await.unwrap();
    todos.insert(todo("a", "x")).await.unwrap();
    server.fail_next(3, Fault::Offline);
    let sync = ctx.start_sync(quick()).unwrap();
    let offline = until(&sync, "offline", |s| matches!(s.state, SyncState::Offline { .. })).await;
    assert!(!offline.is_online());
    assert!(offline.retry_in().is_some_and(|d| d <= Duration::from_millis(50)), "the back-off is capped");
    until(&sync, "synced after the faults", synced).await;
    assert_eq!(server.rows("TodoItem").len(), 1);
    sync.stop().await;

    // With an hour of back-off, only the app's own successful request brings it back early.
    let patient = quick().backoff(Duration::from_secs(3600), Duration::from_secs(3600));
    server.fail_next(1, Fault::Offline);
    todos.insert(todo("b", "x")).await.unwrap();
    let sync = ctx.start_sync(patient).unwrap();
    until(&sync, "offline", |s| matches!(s.state, SyncState::Offline { .. })).await;
    todos.pull(&Query::new(), PullOptions::incremental("app").push_first(false)).await.unwrap();
    until(&sync, "synced after the app's pull", synced).await;
    assert_eq!(server.rows("TodoItem").len(), 2);
    sync.stop().await;
}

#[tokio::test]
async fn a_deferred_conflict_waits_for_its_resolution_without_a_loop() {
    let server = MemoryRemote::new();
    let a = device(&server).await;
    let b = device(&server).await;
    let on_a = a.table::<TodoItem>().await.unwrap();
    let on_b = b.table::<TodoItem>().await.unwrap();
    on_a.insert(todo("x", "first")).await.unwrap();
    a.push().await.unwrap();
    on_b.pull(&Query::new(), PullOptions::incremental("all")).await.unwrap();
    on_a.update(&todo("x", "a's edit")).await.unwrap();
    a.push().await.unwrap();

    on_b.update(&todo("x", "b's edit")).await.unwrap();
    let sync = b.start_sync(quick()).unwrap();
    let attention = until(&sync, "the conflict waits", |s| s.state == SyncState::NeedsAttention).await;
    assert_eq!((attention.pending, attention.waiting), (1, 1));
    let updates = server.request_count_of(RequestKind::Update);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.request_count_of(RequestKind::Update), updates, "the conflict was sent again");

    let error = b.errors().await.unwrap().remove(0);
    b.resolve(error.operation_id, Resolution::KeepLocal).await.unwrap();
    until(&sync, "the resolution is pushed", synced).await;
    assert_eq!(server.row("TodoItem", "x").unwrap().get("text").unwrap(), "b's edit");
    sync.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_during_a_push_loses_nothing() {
    let server = MemoryRemote::new();
    server.set_latency(Duration::from_millis(5));
    let ctx = device(&server).await;
    let todos = ctx.table::<TodoItem>().await.unwrap();
    todos.insert_batch((0..100).map(|i| todo(&format!("t{i}"), "x"))).await.unwrap();
    let mut events = ctx.events();
    let sync = ctx.start_sync(quick().push_debounce(Duration::ZERO)).unwrap();
    // Stop once a few operations are on the server: the push is half-way.
    let mut pushed = 0;
    while pushed < 5 {
        if let Some(SyncEvent::ItemPushed { .. }) = events.next().await {
            pushed += 1;
        }
    }
    sync.stop().await;
    let on_server = server.rows("TodoItem").len();
    let queued = ctx.pending_count().await.unwrap();
    assert!(on_server < 100, "the stop came after the push ended; the test proves nothing");
    assert!(on_server as u64 + queued >= 100, "{on_server} on the server and {queued} queued: some were lost");
    ctx.push().await.unwrap();
    assert_eq!(server.rows("TodoItem").len(), 100);
    assert_eq!(ctx.pending_count().await.unwrap(), 0);
}

#[tokio::test]
async fn dropping_the_handle_stops_the_task() {
    let server = MemoryRemote::new();
    let ctx = device(&server).await;
    ctx.table::<TodoItem>().await.unwrap();
    let sync = ctx.start_sync(quick()).unwrap();
    let mut status = sync.watch_status();
    drop(sync);
    let stopped = tokio::time::timeout(Duration::from_secs(20), status.wait_for(|s| s.state == SyncState::Stopped));
    assert!(stopped.await.is_ok());
}

#[tokio::test]
async fn starting_checks_its_settings() {
    let server = MemoryRemote::new();
    let ctx = device(&server).await;
    assert!(ctx.start_sync(quick()).is_err(), "TodoItem is not opened yet");
    ctx.table::<TodoItem>().await.unwrap();
    assert!(ctx.start_sync(quick().pull("TodoItem", Query::new(), "a|b")).is_err(), "an invalid query id");
    let local = SyncContext::builder(MemoryStore::new()).build().await.unwrap();
    assert!(matches!(local.start_sync(AutoSync::new()), Err(sync_core::SyncError::NoRemote)));
}

/// A small seeded generator (the seed is printed; `AUTO_SYNC_SEED=<n>` replays it).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Two devices syncing by themselves through random offline spells, 503s and lost answers
/// end up with the server's rows, every write on it, nothing queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_converges_behind_random_faults() {
    let seed = std::env::var("AUTO_SYNC_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    });
    println!("AUTO_SYNC_SEED={seed}");
    let mut rng = Rng(seed);
    let server = MemoryRemote::new();
    server.set_unique_timestamps(true);
    let devices = [device(&server).await, device(&server).await];
    let mut tables = Vec::new();
    let mut syncs = Vec::new();
    for d in &devices {
        tables.push(d.table::<TodoItem>().await.unwrap());
        syncs.push(d.start_sync(quick().pull_interval(Duration::from_millis(30))).unwrap());
    }
    let mut expected = std::collections::BTreeMap::new();
    for step in 0..150 {
        let who = rng.below(2) as usize;
        // Each device edits its own items, so the only conflicts are the engine's to settle
        // (lost answers), never the app's.
        let id = format!("d{who}-{}", rng.below(10));
        let text = format!("step {step}");
        if expected.contains_key(&id) {
            tables[who].update(&todo(&id, &text)).await.unwrap();
        } else {
            tables[who].insert(todo(&id, &text)).await.unwrap();
        }
        expected.insert(id, text);
        match rng.below(20) {
            0 => server.fail_next(rng.below(4) + 1, Fault::Offline),
            1 => server.fail_next(rng.below(3) + 1, Fault::unavailable()),
            2 => server.fail_after_apply_next(1),
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(rng.below(3))).await;
    }
    server.clear_faults();
    let on_server = || server.rows("TodoItem").len();
    for (d, sync) in devices.iter().zip(&syncs) {
        if try_until(sync, |s| synced(s) && on_server() == expected.len()).await.is_none() {
            panic!("not synced (seed {seed}): {:?}; errors: {:#?}", sync.status(), d.errors().await.unwrap());
        }
    }
    for (id, text) in &expected {
        assert_eq!(server.row("TodoItem", id).unwrap().get("text").unwrap(), text.as_str(), "server row {id}");
    }
    // Both devices converge on the server's rows (each pulls on its interval).
    for (table, sync) in tables.iter().zip(&syncs) {
        sync.sync_now();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let rows = table.query(&Query::new()).await.unwrap();
            let same = rows.len() == expected.len() && rows.iter().all(|t| expected.get(&t.id) == Some(&t.text));
            if same {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "a device did not converge (seed {seed})");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    for sync in syncs {
        sync.stop().await;
    }
}
