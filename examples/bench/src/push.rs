//! Section 2, push: K local inserts (SyncTable into a file DieselStore) pushed to the Node server
//! by the engine, sequentially and 8 in flight, on loopback and through the 20 ms delaying proxy,
//! against raw POSTs of the same items at the same concurrency and delay.

use std::time::{Duration, Instant};

use backend_azure_rest::test_server::NodeServer;
use backend_azure_rest::AzureRestRemote;
use std::sync::Arc;

use store_diesel::DieselStore;
use sync_core::{SyncContext, SyncOptions, SyncTable};

use crate::model::Todo;
use crate::proxy::Proxy;
use crate::raw::RawClient;
use crate::report::{dur, rate, thousands, Summary};
use crate::timing::{RemoteTime, Timed};
use crate::BenchError;

const SECTION: &str = "2 push";
const TABLE: &str = "TodoItem";
/// A block that takes this long is stuck (the slowest, 500 sequential inserts at 20 ms, takes ~15 s).
const STUCK: Duration = Duration::from_secs(300);

/// What section 2 runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Inserts pushed per run.
    pub ops: u64,
    /// The network delay of the delayed cases.
    pub delay: Duration,
    /// Blocks per case (raw and ours alternate block by block).
    pub blocks: usize,
    /// Only these cases (`loopback-1`, `loopback-8`, `delay-1`, `delay-8`); empty: all.
    pub cases: Vec<String>,
    /// Diagnostics: push from an in-memory DieselStore (no fsync) instead of a file.
    pub memory_store: bool,
}

/// Runs section 2 against `server`.
///
/// Each case pushes `ops` inserts in `blocks` blocks, alternating raw and ours block by block
/// (raw first in even blocks, ours first in odd ones), so that the load of a shared machine hits
/// both alike. The figure is the median over blocks of (our block time / raw block time): a burst
/// of load from other processes spoils a block or two, not the figure. Ours keeps one file store per case:
/// each block inserts its items (not timed), then times `ctx.push()`.
pub async fn run(server: &NodeServer, cfg: &Config, summary: &mut Summary) -> Result<(), BenchError> {
    println!("\n## 2. Push: {} inserts per case, in {} interleaved blocks", thousands(cfg.ops), cfg.blocks);
    let proxy = Proxy::start(&server.url(), cfg.delay, false).await?;
    let ms = cfg.delay.as_millis();
    let cases = [
        ("loopback", server.url(), 1usize),
        ("loopback", server.url(), 8),
        ("delay", proxy.url(), 1),
        ("delay", proxy.url(), 8),
    ];
    let mut delayed_ours = Vec::new();
    'cases: for (case, (net, url, in_flight)) in cases.into_iter().enumerate() {
        if !cfg.cases.is_empty() && !cfg.cases.contains(&format!("{net}-{in_flight}")) {
            continue;
        }
        let net = if net == "delay" { format!("{ms} ms delay") } else { net.to_owned() };
        let raw = RawClient::new(&url)?;
        let remote = AzureRestRemote::builder(&url).build()?;
        let mut ours = OurPush::new(&remote, in_flight, cfg.memory_store).await?;
        let (mut raw_total, mut our_total, mut our_remote) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
        let mut block_ratios = Vec::new();
        let per_block = cfg.ops / cfg.blocks as u64;
        for block in 0..cfg.blocks {
            let ids = block as u64 * per_block..(block as u64 + 1) * per_block;
            let (mut raw_t, mut our_t) = (Duration::ZERO, Duration::ZERO);
            for is_ours in if block % 2 == 0 { [false, true] } else { [true, false] } {
                if is_ours {
                    let prefix = format!("c{case}o-");
                    let items = ids.clone().map(|i| Todo::new(&prefix, i)).collect();
                    let Ok(pushed) = tokio::time::timeout(STUCK, ours.push(items)).await else {
                        stuck(summary, &net, in_flight, block, "our push");
                        let (started, finished, failures) = ours.remote_time.report();
                        println!("    remote calls started {started}, finished {finished}; failures: {failures:#?}");
                        match tokio::time::timeout(Duration::from_secs(10), ours.ctx.pending_operations()).await {
                            Ok(pending) => {
                                let states = pending?.iter().fold(std::collections::BTreeMap::new(), |mut m, op| {
                                    *m.entry(format!("{:?}", op.state)).or_insert(0) += 1;
                                    m
                                });
                                println!("    queue: {states:?}");
                            }
                            Err(_) => println!("    the store does not answer either (writer busy or deadlocked)"),
                        }
                        continue 'cases;
                    };
                    let (t, in_remote) = pushed?;
                    our_t = t;
                    our_remote += in_remote;
                } else {
                    let prefix = format!("c{case}r-");
                    let bodies = ids.clone().map(|i| Todo::new(&prefix, i).post_body()).collect();
                    let start = Instant::now();
                    let Ok(posted) = tokio::time::timeout(STUCK, raw.post_all(TABLE, bodies, in_flight)).await else {
                        stuck(summary, &net, in_flight, block, "the raw POSTs");
                        continue 'cases;
                    };
                    let done = posted?;
                    raw_t = start.elapsed();
                    if done != per_block {
                        return Err(BenchError::new(format!("raw POSTs: {done} of {per_block}")));
                    }
                }
            }
            raw_total += raw_t;
            our_total += our_t;
            eprintln!("    [{net}, {in_flight} in flight] block {block}: raw {}, ours {}", dur(raw_t), dur(our_t));
            block_ratios.push(our_t.as_secs_f64() / raw_t.as_secs_f64());
        }
        block_ratios.sort_by(f64::total_cmp);
        let ratio = median_f64(&block_ratios);
        let ops = per_block * cfg.blocks as u64;
        let sum_ratio = our_total.as_secs_f64() / raw_total.as_secs_f64();
        let split = if in_flight == 1 {
            format!(
                " ({} in the remote, {} in store + engine)",
                dur(our_remote),
                dur(our_total.saturating_sub(our_remote))
            )
        } else {
            String::new()
        };
        println!(
            "  {net}, {in_flight} in flight: ours {}{split}, {} ops/s; raw {}, {} ops/s; median block ratio {ratio:.2} (range {:.2}–{:.2}; ratio of sums {sum_ratio:.2})",
            dur(our_total),
            rate(ops, our_total),
            dur(raw_total),
            rate(ops, raw_total),
            block_ratios[0],
            block_ratios[block_ratios.len() - 1],
        );
        let what = format!("{net}, {in_flight} in flight");
        summary.info(
            SECTION,
            format!("{what}: ops/s ours (raw)"),
            format!("{} ({})", rate(ops, our_total), rate(ops, raw_total)),
        );
        summary.goal(
            SECTION,
            format!("{what}: push time / raw POSTs time (median block)"),
            format!("{ratio:.2}×"),
            "≤ 1.2×",
            ratio <= 1.2,
        );
        if net.contains("delay") {
            delayed_ours.push(our_total);
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

/// Reports a block that did not finish within [`STUCK`] (the case is skipped, the run goes on).
fn stuck(summary: &mut Summary, net: &str, in_flight: usize, block: usize, who: &str) {
    let what = format!("{net}, {in_flight} in flight");
    println!("  {what}: {who} did not finish block {block} within {}: case skipped", dur(STUCK));
    summary.goal(SECTION, format!("{what}: push time / raw POSTs time"), format!("{who} stuck"), "≤ 1.2×", false);
}

/// The median of sorted values (the mean of the middle two for an even count).
fn median_f64(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// One case's engine: a file DieselStore (in a temp dir) and a context with the remote.
struct OurPush {
    _dir: tempfile::TempDir,
    ctx: SyncContext,
    todos: SyncTable<Todo>,
    remote_time: Arc<RemoteTime>,
}

impl OurPush {
    async fn new(remote: &AzureRestRemote, in_flight: usize, memory_store: bool) -> Result<Self, BenchError> {
        let dir = tempfile::tempdir()?;
        let store = if memory_store {
            DieselStore::open_in_memory().await?
        } else {
            DieselStore::open(dir.path().join("push.db")).await?
        };
        let options = SyncOptions::default().push_parallelism(in_flight);
        let (timed, remote_time) = Timed::new(remote.clone());
        let ctx = SyncContext::builder(store).remote(timed).options(options).build().await?;
        let todos = ctx.table::<Todo>().await?;
        Ok(OurPush { _dir: dir, ctx, todos, remote_time })
    }

    /// Inserts `items` (one insert_batch, not timed), then times `ctx.push()`. Returns the push
    /// time and the time spent inside the remote during it (summed over calls).
    async fn push(&mut self, items: Vec<Todo>) -> Result<(Duration, Duration), BenchError> {
        let ops = items.len() as u64;
        self.todos.insert_batch(items).await?;
        let before = self.remote_time.total();
        let start = Instant::now();
        let s = self.ctx.push().await?;
        let t = start.elapsed();
        if s.succeeded != ops || s.failed != 0 {
            return Err(BenchError::new(format!("push: {} of {ops} succeeded, {} failed", s.succeeded, s.failed)));
        }
        Ok((t, self.remote_time.total() - before))
    }
}
