//! Section 2, push: K local inserts (SyncTable into a file DieselStore) pushed to the Node server
//! by the engine, sequentially and 8 in flight, on loopback and through the 20 ms delaying proxy,
//! against raw POSTs of the same items at the same concurrency and delay.

use std::time::{Duration, Instant};

use backend_azure_rest::test_server::NodeServer;
use backend_azure_rest::AzureRestRemote;
use store_diesel::DieselStore;
use sync_core::{SyncContext, SyncOptions};

use crate::model::Todo;
use crate::proxy::Proxy;
use crate::raw::RawClient;
use crate::report::{best, dur, rate, thousands, Summary};
use crate::timing::Timed;
use crate::BenchError;

const SECTION: &str = "2 push";
const TABLE: &str = "TodoItem";

/// What section 2 runs.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Inserts pushed per run.
    pub ops: u64,
    /// The network delay of the delayed cases.
    pub delay: Duration,
    /// Rounds of (raw, ours) per loopback case and per delayed 8-in-flight case.
    pub rounds: usize,
    /// Rounds for the delayed sequential case (each takes `ops × delay` at least).
    pub slow_rounds: usize,
}

/// Runs section 2 against `server`.
pub async fn run(server: &NodeServer, cfg: Config, summary: &mut Summary) -> Result<(), BenchError> {
    println!("\n## 2. Push: {} inserts per run", thousands(cfg.ops));
    let proxy = Proxy::start(&server.url(), cfg.delay, false).await?;
    let ms = cfg.delay.as_millis();
    let cases = [
        ("loopback", server.url(), 1usize, cfg.rounds),
        ("loopback", server.url(), 8, cfg.rounds),
        ("delay", proxy.url(), 1, cfg.slow_rounds),
        ("delay", proxy.url(), 8, cfg.rounds),
    ];
    let mut delayed_ours = Vec::new();
    for (case, (net, url, in_flight, rounds)) in cases.into_iter().enumerate() {
        let net = if net == "delay" { format!("{ms} ms delay") } else { net.to_owned() };
        println!("  {net}, {in_flight} in flight:");
        let raw = RawClient::new(&url)?;
        let remote = AzureRestRemote::builder(&url).build()?;
        let (mut raw_times, mut our_times) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            let order = if round % 2 == 0 { [false, true] } else { [true, false] };
            for ours in order {
                let prefix = format!("c{case}r{round}{}-", if ours { "o" } else { "r" });
                if ours {
                    let (t, in_remote) = our_push(&remote, &prefix, cfg.ops, in_flight).await?;
                    let split = if in_flight == 1 {
                        format!(
                            "; {} in the remote, {} in store + engine",
                            dur(in_remote),
                            dur(t.saturating_sub(in_remote))
                        )
                    } else {
                        String::new()
                    };
                    println!("    round {round}: ours {:>9} ({} ops/s{split})", dur(t), rate(cfg.ops, t));
                    our_times.push(t);
                } else {
                    let bodies = (0..cfg.ops).map(|i| Todo::new(&prefix, i).post_body()).collect();
                    let start = Instant::now();
                    let done = raw.post_all(TABLE, bodies, in_flight).await?;
                    let t = start.elapsed();
                    if done != cfg.ops {
                        return Err(BenchError::new(format!("raw POSTs: {done} of {}", cfg.ops)));
                    }
                    println!("    round {round}: raw  {:>9} ({} ops/s)", dur(t), rate(cfg.ops, t));
                    raw_times.push(t);
                }
            }
        }
        let (ours, raw_best) = (best(&our_times), best(&raw_times));
        let ratio = ours.as_secs_f64() / raw_best.as_secs_f64();
        println!("    best: ours {}, raw {}: ratio {ratio:.2}", dur(ours), dur(raw_best));
        let what = format!("{net}, {in_flight} in flight");
        summary.info(
            SECTION,
            format!("{what}: ops/s ours (raw)"),
            format!("{} ({})", rate(cfg.ops, ours), rate(cfg.ops, raw_best)),
        );
        summary.goal(
            SECTION,
            format!("{what}: push time / raw POSTs time"),
            format!("{ratio:.2}×"),
            "≤ 1.2×",
            ratio <= 1.2,
        );
        if net.contains("delay") {
            delayed_ours.push(ours);
        }
    }
    if let [sequential, parallel] = delayed_ours[..] {
        let speedup = sequential.as_secs_f64() / parallel.as_secs_f64();
        println!("  {ms} ms delay: 8 in flight is {speedup:.1}× faster than sequential");
        summary.goal(
            SECTION,
            format!("{ms} ms delay: sequential time / 8-in-flight time"),
            format!("{speedup:.1}×"),
            "≥ 4×",
            speedup >= 4.0,
        );
    }
    Ok(())
}

/// Inserts `ops` todos into a fresh file store (not timed), then times `ctx.push()`. Returns the
/// push time and the time spent inside the remote (summed over calls).
async fn our_push(
    remote: &AzureRestRemote,
    prefix: &str,
    ops: u64,
    in_flight: usize,
) -> Result<(Duration, Duration), BenchError> {
    let dir = tempfile::tempdir()?;
    let store = DieselStore::open(dir.path().join("push.db")).await?;
    let options = SyncOptions { push_parallelism: in_flight, ..SyncOptions::default() };
    let (timed, remote_time) = Timed::new(remote.clone());
    let ctx = SyncContext::builder(store).remote(timed).options(options).build().await?;
    let todos = ctx.table::<Todo>().await?;
    let mut next = 0;
    while next < ops {
        let end = (next + 1000).min(ops);
        todos.insert_batch((next..end).map(|i| Todo::new(prefix, i))).await?;
        next = end;
    }
    let start = Instant::now();
    let s = ctx.push().await?;
    let t = start.elapsed();
    if s.succeeded != ops || s.failed != 0 {
        return Err(BenchError::new(format!("push: {} of {ops} succeeded, {} failed", s.succeeded, s.failed)));
    }
    Ok((t, remote_time.total()))
}
