//! Section 6, live queries: how long after a commit a watcher has the new result, in-process
//! (the engine's announcement) and from another process (the store's `data_version` poll); and
//! what watchers cost a writer: local writes with 100 watchers on another table, and on the same
//! table, against none.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use store_diesel::{DieselStore, OpenOptions, Synchronous};
use sync_core::{Query, SyncContext, SyncTable};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::model::Item;
use crate::report::{best, dur, Summary};
use crate::BenchError;

const SECTION: &str = "6 watch";

/// What section 6 runs.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Commits whose latency is measured, per case.
    pub commits: u64,
    /// Inserts per write-cost run.
    pub writes: u64,
    /// Rounds of the write-cost runs (the best of each case counts).
    pub rounds: usize,
}

/// Runs section 6.
pub async fn run(cfg: Config, summary: &mut Summary) -> Result<(), BenchError> {
    println!("\n## 6. Live queries (file database, WAL; change poll interval 100 ms, the default)");
    let dir = tempfile::tempdir()?;

    let local = in_process(&dir.path().join("latency.db"), cfg.commits).await?;
    report_latency(summary, "commit → watcher's result, same process", &local);
    let other = cross_process(&dir.path().join("cross.db"), cfg.commits).await?;
    report_latency(summary, "commit → watcher's result, another process", &other);

    let mut times = [Vec::new(), Vec::new(), Vec::new()];
    for round in 0..cfg.rounds {
        for case in [0, 1, 2] {
            let case = if round % 2 == 0 { case } else { 2 - case };
            let path = dir.path().join(format!("writes-{round}-{case}.db"));
            let t = writes(&path, cfg.writes, case).await?;
            println!("  round {round}: {} inserts with {:<28} {}", cfg.writes, CASES[case], dur(t));
            times[case].push(t);
        }
    }
    let [none, other_table, same_table] = times.map(|t| best(&t));
    let other_ratio = other_table.as_secs_f64() / none.as_secs_f64();
    let same_ratio = same_table.as_secs_f64() / none.as_secs_f64();
    println!("  best: none {}, other table {}, same table {}", dur(none), dur(other_table), dur(same_table));
    summary.goal(
        SECTION,
        "insert cost, 100 watchers on another table / none",
        format!("{other_ratio:.2}×"),
        "≤ 1.10×",
        other_ratio <= 1.10,
    );
    summary.info(SECTION, "insert cost, 100 watchers on the same table / none", format!("{same_ratio:.2}×"));
    Ok(())
}

const CASES: [&str; 3] = ["no watchers", "100 watchers on another table", "100 watchers on the same table"];

fn report_latency(summary: &mut Summary, what: &str, latencies: &[Duration]) {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    let at = |q: f64| sorted.get(((sorted.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or_default();
    println!("  {what}: median {}, p99 {} ({} commits)", dur(at(0.5)), dur(at(0.99)), sorted.len());
    summary.info(SECTION, format!("{what}, median / p99"), format!("{} / {}", dur(at(0.5)), dur(at(0.99))));
}

async fn open(path: &Path) -> Result<(SyncContext, SyncTable<Item>), BenchError> {
    // NORMAL: commits without an fsync each, so the figures show the engine, not the disk.
    let store = DieselStore::open_with(path, OpenOptions::new().synchronous(Synchronous::Normal)).await?;
    let ctx = SyncContext::builder(store).build().await?;
    let table = ctx.table::<Item>().await?;
    Ok((ctx, table))
}

/// A watcher task on item `x` that reports `(n, when)` for every result.
fn watch_x(table: &SyncTable<Item>) -> tokio::sync::mpsc::UnboundedReceiver<(f64, SystemTime)> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut live = table.watch(&Query::new().filter(Item::ID.eq("x")));
    tokio::spawn(async move {
        while let Some(Ok(items)) = live.next().await {
            let n = items.first().map_or(-1.0, |i| i.n);
            if tx.send((n, SystemTime::now())).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for the watcher's result showing `n`; returns when it arrived.
async fn seen(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<(f64, SystemTime)>,
    n: f64,
) -> Result<SystemTime, BenchError> {
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), rx.recv()).await;
        match next {
            Ok(Some((got, at))) if got == n => return Ok(at),
            Ok(Some(_)) => {}
            _ => return Err(BenchError::new(format!("the watcher never showed n = {n}"))),
        }
    }
}

fn since(commit: SystemTime, seen: SystemTime) -> Duration {
    seen.duration_since(commit).unwrap_or_default()
}

/// Item `x`, the one the latency runs update.
fn item_x() -> Item {
    Item { id: "x".into(), ..Item::new("x", 0) }
}

async fn in_process(path: &Path, commits: u64) -> Result<Vec<Duration>, BenchError> {
    let (_ctx, table) = open(path).await?;
    let mut item = table.insert(item_x()).await?;
    let mut rx = watch_x(&table);
    seen(&mut rx, item.n).await?;
    let mut out = Vec::new();
    for k in 1..=commits {
        item.n = k as f64;
        table.update(&item).await?;
        let committed = SystemTime::now();
        out.push(since(committed, seen(&mut rx, item.n).await?));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(out)
}

async fn cross_process(path: &Path, commits: u64) -> Result<Vec<Duration>, BenchError> {
    let (_ctx, table) = open(path).await?;
    table.insert(item_x()).await?;
    let mut rx = watch_x(&table);
    seen(&mut rx, 0.0).await?;
    let exe = std::env::current_exe()?;
    let mut child = tokio::process::Command::new(exe)
        .args(["watch-child", "--db"])
        .arg(path)
        .args(["--commits", &commits.to_string()])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().ok_or_else(|| BenchError::new("no stdout from the watch child"))?;
    let mut lines = BufReader::new(stdout).lines();
    let mut out = Vec::new();
    while let Some(line) = lines.next_line().await? {
        let (n, nanos) = line
            .split_once(' ')
            .and_then(|(n, t)| Some((n.parse::<f64>().ok()?, t.parse::<u64>().ok()?)))
            .ok_or_else(|| BenchError::new(format!("the watch child printed {line:?}")))?;
        let committed = UNIX_EPOCH + Duration::from_nanos(nanos);
        out.push(since(committed, seen(&mut rx, n).await?));
    }
    let status = child.wait().await?;
    if !status.success() || out.len() as u64 != commits {
        return Err(BenchError::new(format!("the watch child ended with {status} after {} commits", out.len())));
    }
    Ok(out)
}

/// `bench watch-child`: commits `commits` updates of item `x` in the file, each followed by a
/// line `n <unix nanos after the commit>`, 137 ms apart (longer than the poll interval, and not
/// a multiple of it, so the commits fall on every phase of the parent's polls).
pub async fn child_main(db: &Path, commits: u64) -> Result<(), BenchError> {
    let (_ctx, table) = open(db).await?;
    let mut item = table.get("x").await?.ok_or_else(|| BenchError::new("no item x in the file"))?;
    for k in 1..=commits {
        item.n = k as f64;
        table.update(&item).await?;
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_err(|e| BenchError::new(e.to_string()))?;
        println!("{k} {}", nanos.as_nanos());
        tokio::time::sleep(Duration::from_millis(137)).await;
    }
    Ok(())
}

/// `writes` single inserts into `Item`, with no watchers (case 0), 100 watchers on another
/// table (1) or 100 on `Item` itself (2), each watcher reading its results as they come.
async fn writes(path: &Path, writes: u64, case: usize) -> Result<Duration, BenchError> {
    let (ctx, items) = open(path).await?;
    let schema = sync_core::TableSchema::new("Other", vec![]).map_err(|e| BenchError::new(e.to_string()))?;
    let other = ctx.json_table(schema).await?;
    let mut watchers = Vec::new();
    for _ in 0..if case == 0 { 0 } else { 100 } {
        let query = Query::new().top(20);
        let mut live = if case == 1 { other.watch(&query) } else { items.json().watch(&query) };
        watchers.push(tokio::spawn(async move { while live.next().await.is_some() {} }));
    }
    // Let every watcher take its first result before timing.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let start = Instant::now();
    for i in 0..writes {
        items.insert(Item::new("w", i)).await?;
    }
    let elapsed = start.elapsed();
    watchers.iter().for_each(tokio::task::JoinHandle::abort);
    Ok(elapsed)
}
