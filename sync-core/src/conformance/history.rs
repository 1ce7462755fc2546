//! The randomized history test: seeded, replayable histories of several devices (two of them
//! sharing one store, as two processes share a file) editing a few items, with pushes and pulls
//! at random points, futures dropped half-way, edits on the server by another client, lost
//! answers and server failures. At quiescence every device pushes, resolves what waits with a
//! fixed policy (keep the server's item) and pulls; then:
//!
//! - every device holds exactly the server's rows;
//! - the last acknowledged write to each item is on the server, unless a conflict on that item
//!   was resolved (a conflict needs two writers, so it supersedes the write);
//! - no operation is left queued or in flight, nothing waits in the errors table;
//! - no conflict appears on an item that only one writer ever touched.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use sync_core::conformance::scenarios::ScenarioFactory;
//! # async fn demo(factory: impl ScenarioFactory) {
//! // Runs `SYNC_HISTORIES` histories (default 200) from seed `SYNC_SEED` (default: fixed),
//! // panicking with the failing seed, which replays with SYNC_SEED=<seed> SYNC_HISTORIES=1.
//! sync_core::conformance::history::run_histories(&factory, 200).await;
//! # }
//! ```

use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use serde_json::json;

use super::scenarios::wrappers::{Fault, FlakyRemote, RecordingRemote};
use super::scenarios::{by_marker, item, marker, server_rows, test_options, Device, ScenarioFactory};
use crate::{DeferConflicts, FailureKind, OperationState, PullOptions, Record, Resolution, SyncOptions};

/// Items per history. Item `i` is created only by writer `i % 3` (store 0, store 1, the other
/// client), and never again once deleted, as real apps give new items fresh UUIDs; every writer
/// may edit or delete any item.
const ITEMS: usize = 6;
/// Random steps per history.
const STEPS: usize = 40;

/// A small deterministic generator (splitmix64): a history is a function of its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// Who wrote: a store (devices sharing one count as one writer), or the other server client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Writer {
    Store(usize),
    OtherClient,
}

/// The last acknowledged write of an item: its value (`None` for a delete) and its writer.
#[derive(Debug, Clone, PartialEq)]
struct Write {
    value: Option<f64>,
    writer: Writer,
}

/// Runs `budget` histories (or `SYNC_HISTORIES`), starting at `SYNC_SEED` (or a fixed seed), and
/// panics with the seed of the first history that breaks a rule.
pub async fn run_histories<F: ScenarioFactory + ?Sized>(factory: &F, budget: u64) {
    let budget = std::env::var("SYNC_HISTORIES").ok().and_then(|v| v.parse().ok()).unwrap_or(budget);
    let first = std::env::var("SYNC_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x5EED_0000_u64);
    println!("history test: {budget} histories from seed {first} (replay one with SYNC_SEED=<seed> SYNC_HISTORIES=1)");
    for seed in first..first + budget {
        if let Err(failure) = run_history(factory, seed).await {
            panic!("history with seed {seed} broke a rule: {failure}\nreplay: SYNC_SEED={seed} SYNC_HISTORIES=1");
        }
    }
}

/// Drops a future after `polls` polls (or returns its output if it finishes first): a push or
/// pull cancelled half-way, at a point that depends only on the seed.
struct PollBudget<F> {
    future: Pin<Box<F>>,
    polls: u32,
}

impl<F: Future> Future for PollBudget<F> {
    type Output = Option<F::Output>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.polls == 0 {
            return Poll::Ready(None);
        }
        self.polls -= 1;
        self.future.as_mut().poll(cx).map(Some)
    }
}

async fn run_history<F: ScenarioFactory + ?Sized>(f: &F, seed: u64) -> Result<(), String> {
    let mut rng = Rng(seed);
    let mark = marker("history");
    let ids: Vec<String> = (0..ITEMS).map(|i| format!("{mark}-{i}")).collect();
    let options = SyncOptions { retry: crate::RetryPolicy::none(), ..test_options() };
    let shared_store = f.store().await;
    let other_store = f.store().await;
    let stores = [(Arc::clone(&shared_store), 0usize), (Arc::clone(&shared_store), 0), (other_store, 1)];
    let mut devices = Vec::new();
    let mut flaky = Vec::new();
    for (store, _) in &stores {
        // A little latency gives a push points where it waits, so dropping it lands half-way.
        let slow: Arc<dyn crate::Remote> = Arc::new(RecordingRemote::new(f.remote().await, Duration::from_millis(3)));
        let remote = Arc::new(FlakyRemote::new(slow));
        flaky.push(Arc::clone(&remote));
        devices.push(Device::new(Arc::clone(store), remote, DeferConflicts, options.clone()).await);
    }
    let server = f.remote().await;
    let mut last: BTreeMap<String, Write> = BTreeMap::new();
    let mut writers: BTreeMap<String, HashSet<Writer>> = BTreeMap::new();
    let mut value = 0.0f64;
    let mut log = Vec::new();
    let mut deleted: HashSet<String> = HashSet::new();
    let mut background: Vec<Option<tokio::task::JoinHandle<Result<crate::PushSummary, crate::SyncError>>>> =
        (0..3).map(|_| None).collect();

    for step in 0..STEPS {
        let d = rng.below(devices.len() as u64) as usize;
        let id = ids[rng.below(ITEMS as u64) as usize].clone();
        value += 1.0;
        let action = rng.below(100);
        let writer = Writer::Store(stores[d].1);
        // Join a finished background push now and then, so the next one can start.
        if background[d].as_ref().is_some_and(|p| p.is_finished()) {
            if let Some(push) = background[d].take() {
                let outcome = push.await.map_err(|e| format!("background push of device {d} panicked: {e}"))?;
                log.push(format!("{step}: device {d}'s background push -> {:?}", outcome.map(|s| s.succeeded)));
            }
        }
        let device = devices[d].clone();
        match action {
            0..=39 => {
                // A local write: insert, update or delete, whichever fits the local item.
                let local = device.items.get(&id).await.map_err(|e| format!("step {step}: get: {e}"))?;
                let written = match local {
                    None if creator(&ids, &id) != writer || deleted.contains(&id) => continue,
                    None => device.items.insert(item(&id, &mark, value)).await.map(|_| Some(value)),
                    Some(mut r) if rng.below(4) > 0 => {
                        let _ = r.set("n", json!(value));
                        device.items.update(r).await.map(|_| Some(value))
                    }
                    Some(_) => device.items.delete(&id).await.map(|()| None),
                };
                if let Ok(v) = written {
                    if v.is_none() {
                        deleted.insert(id.clone());
                    }
                    log.push(format!("{step}: device {d} wrote {id} = {v:?}"));
                    last.insert(id.clone(), Write { value: v, writer });
                    writers.entry(id.clone()).or_default().insert(writer);
                }
            }
            40..=59 => {
                let fault = match rng.below(6) {
                    0 => Some(Fault::LostResponse),
                    1 => Some(Fault::Unavailable),
                    2 => Some(Fault::Unreachable),
                    _ => None,
                };
                if let Some(fault) = fault.clone() {
                    flaky[d].fail_writes([fault]);
                }
                let polls = if rng.below(3) == 0 { 1 + rng.below(6) as u32 } else { u32::MAX };
                let ctx = device.ctx.clone();
                let finished = PollBudget { future: Box::pin(async move { ctx.push().await }), polls }.await;
                log.push(format!(
                    "{step}: device {d} push (fault {fault:?}, polls {polls}) -> {:?}",
                    finished.map(|r| r.map(|s| s.succeeded))
                ));
                // An unused fault would hit a later step's write; clear it.
                flaky[d].clear_faults();
            }
            60..=66 => {
                // A push in the background: the history goes on while it is on the wire.
                if background[d].is_none() {
                    let ctx = device.ctx.clone();
                    background[d] = Some(tokio::spawn(async move { ctx.push().await }));
                    log.push(format!("{step}: device {d} starts a background push"));
                    // Often, the other context on the same store starts meanwhile (a second
                    // process opening the file during a sync), then writes go on from both.
                    if stores[d].1 == 0 && rng.below(2) == 0 {
                        let other = 1 - d;
                        devices[other] = restarted(&stores[other].0, &flaky[other], &options).await;
                        log.push(format!("{step}: device {other} restarts during it"));
                    }
                }
            }
            67..=69 => {
                // A restart: a new context on the same store, as a second process (or the app
                // started again) opens the file, while a push of the old one may still run.
                devices[d] = restarted(&stores[d].0, &flaky[d], &options).await;
                log.push(format!("{step}: device {d} restarts"));
            }
            70..=79 => {
                let polls = if rng.below(4) == 0 { 1 + rng.below(6) as u32 } else { u32::MAX };
                let items = device.items.clone();
                let qid = format!("q{d}");
                let query = by_marker(&mark);
                let pull = async move { items.pull(&query, PullOptions::incremental(qid)).await };
                let finished = PollBudget { future: Box::pin(pull), polls }.await;
                log.push(format!(
                    "{step}: device {d} pull (polls {polls}) -> {:?}",
                    finished.map(|r| r.map(|s| s.rows))
                ));
                // Past the cursor's millisecond, so later writes are after it.
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            _ => {
                // Another client edits the server directly.
                let written = match server.read("Item", &id).await {
                    Ok(current) if rng.below(3) > 0 => {
                        let mut next = current.clone();
                        let _ = next.set("n", json!(value));
                        server.update("Item", &next, current.version()).await.map(|_| Some(value))
                    }
                    Ok(current) => server.delete("Item", &id, current.version()).await.map(|()| None),
                    Err(_) if creator(&ids, &id) != Writer::OtherClient || deleted.contains(&id) => continue,
                    Err(_) => server.insert("Item", &item(&id, &mark, value)).await.map(|_| Some(value)),
                };
                if let Ok(v) = written {
                    if v.is_none() {
                        deleted.insert(id.clone());
                    }
                    log.push(format!("{step}: other client wrote {id} = {v:?}"));
                    last.insert(id.clone(), Write { value: v, writer: Writer::OtherClient });
                    writers.entry(id.clone()).or_default().insert(Writer::OtherClient);
                }
            }
        }
    }

    for (d, push) in background.iter_mut().enumerate() {
        if let Some(push) = push.take() {
            let outcome = push.await.map_err(|e| format!("background push of device {d} panicked: {e}"))?;
            log.push(format!("end: device {d}'s background push -> {:?}", outcome.map(|s| s.succeeded)));
        }
    }

    // Quiescence: push, settle, pull, until nothing is left (a few rounds at most).
    let mut resolved: HashSet<String> = HashSet::new();
    for round in 0..4 {
        for (d, device) in devices.iter().enumerate() {
            if let Err(e) = device.ctx.push().await {
                return Err(format!("quiescent push of device {d} (round {round}) failed: {e}\n{}", log.join("\n")));
            }
            for error in device.ctx.errors().await.map_err(|e| e.to_string())? {
                let lone_writer = writers.get(&error.item_id).is_none_or(|w| w.len() < 2);
                if error.failure == FailureKind::Conflict && lone_writer {
                    return Err(format!(
                        "a conflict on {} that no one caused: {error:?}\n{}",
                        error.item_id,
                        log.join("\n")
                    ));
                }
                resolved.insert(error.item_id.clone());
                device
                    .ctx
                    .resolve(error.operation_id, Resolution::KeepServer)
                    .await
                    .map_err(|e| format!("resolving {error:?}: {e}\n{}", log.join("\n")))?;
            }
        }
        for (d, device) in devices.iter().enumerate() {
            device
                .items
                .pull(&by_marker(&mark), PullOptions::incremental(format!("q{d}")))
                .await
                .map_err(|e| format!("quiescent pull of device {d}: {e}"))?;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
        let mut settled = true;
        for device in &devices {
            settled &= device.ctx.pending_count().await.map_err(|e| e.to_string())? == 0;
            settled &= device.ctx.errors().await.map_err(|e| e.to_string())?.is_empty();
        }
        if settled {
            break;
        }
    }

    let on_server = server_rows(server.as_ref(), &mark).await;
    let server_view = values(&on_server);
    for (d, device) in devices.iter().enumerate() {
        let ops = device.ctx.pending_operations().await.map_err(|e| e.to_string())?;
        if let Some(op) = ops.iter().find(|op| op.state == OperationState::InFlight) {
            return Err(format!("device {d} has an operation stuck in flight: {op:?}\n{}", log.join("\n")));
        }
        if !ops.is_empty() || !device.ctx.errors().await.map_err(|e| e.to_string())?.is_empty() {
            return Err(format!("device {d} did not settle: {ops:?}\n{}", log.join("\n")));
        }
        let local = values(&device.rows(&mark).await);
        if local != server_view {
            return Err(format!(
                "device {d} differs from the server:\n  device {local:?}\n  server {server_view:?}\n{}",
                log.join("\n")
            ));
        }
    }
    for (id, write) in &last {
        if resolved.contains(id) {
            continue;
        }
        let now = server_view.get(id).copied();
        if now != write.value.map(f64::to_bits) {
            return Err(format!(
                "the last acknowledged write of {id} ({write:?}) is not on the server (it holds {now:?})\n{}",
                log.join("\n")
            ));
        }
    }
    Ok(())
}

/// A new context (device) on `store`, as a second process or a restarted app opens it.
async fn restarted(store: &Arc<dyn crate::Store>, remote: &Arc<FlakyRemote>, options: &SyncOptions) -> Device {
    Device::new(Arc::clone(store), Arc::clone(remote) as Arc<dyn crate::Remote>, DeferConflicts, options.clone()).await
}

/// Who may create item `id`.
fn creator(ids: &[String], id: &str) -> Writer {
    match ids.iter().position(|i| i == id).unwrap_or(0) % 3 {
        0 => Writer::Store(0),
        1 => Writer::Store(1),
        _ => Writer::OtherClient,
    }
}

/// Rows by id, with their `n` (as bits, so they compare exactly).
fn values(rows: &[Record]) -> BTreeMap<String, u64> {
    rows.iter()
        .map(|r| (r.id().to_owned(), r.get("n").and_then(serde_json::Value::as_f64).unwrap_or(f64::NAN).to_bits()))
        .collect()
}
