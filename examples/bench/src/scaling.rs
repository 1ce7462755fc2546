//! Section 5, scaling: time per operation to enqueue (SyncTable inserts on a file DieselStore)
//! and to push (to an in-process `MemoryRemote`, so the engine and the store are measured, not a
//! server) with a small and a large queue already pending.

use std::sync::Arc;
use std::time::{Duration, Instant};

use store_diesel::DieselStore;
use store_memory::MemoryRemote;
use sync_core::{Store, SyncContext, SyncTable};

use crate::model::Item;
use crate::report::{best, dur, median, thousands, Summary};
use crate::timing::Timed;
use crate::BenchError;

const SECTION: &str = "5 scaling";

/// What section 5 runs.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// The small queue.
    pub small: u64,
    /// The large queue.
    pub large: u64,
    /// Operations timed at each size.
    pub ops: u64,
    /// Push rounds per size (alternating sizes).
    pub rounds: usize,
}

struct Queue {
    _dir: tempfile::TempDir,
    store: Arc<DieselStore>,
    table: SyncTable<Item>,
    next: u64,
}

impl Queue {
    /// A fresh file store with `pending` queued inserts (written with insert_batch, not timed).
    async fn new(pending: u64) -> Result<Queue, BenchError> {
        let dir = tempfile::tempdir()?;
        let store = Arc::new(DieselStore::open(dir.path().join("queue.db")).await?);
        let ctx = SyncContext::builder(Arc::clone(&store) as Arc<dyn Store>).build().await?;
        let table = ctx.table::<Item>().await?;
        let mut q = Queue { _dir: dir, store, table, next: 0 };
        q.fill(pending).await?;
        Ok(q)
    }

    async fn fill(&mut self, n: u64) -> Result<(), BenchError> {
        let end = self.next + n;
        while self.next < end {
            let to = (self.next + 1000).min(end);
            self.table.insert_batch((self.next..to).map(|i| Item::new("q-", i))).await?;
            self.next = to;
        }
        Ok(())
    }

    /// Times `n` single inserts (one transaction each).
    async fn time_inserts(&mut self, n: u64) -> Result<Duration, BenchError> {
        let start = Instant::now();
        for i in self.next..self.next + n {
            self.table.insert(Item::new("q-", i)).await?;
        }
        self.next += n;
        Ok(start.elapsed())
    }

    /// Times a push that stops after `n` operations (the remote refuses the next insert with
    /// 401, which ends a push at once), then queues `n` new inserts so the size is back.
    async fn time_push(&mut self, n: u64) -> Result<Duration, BenchError> {
        let (remote, _) = Timed::new(MemoryRemote::new());
        let ctx = SyncContext::builder(Arc::clone(&self.store) as Arc<dyn Store>)
            .remote(remote.stop_after_inserts(n))
            .build()
            .await?;
        ctx.table::<Item>().await?;
        let before = ctx.pending_count().await?;
        let start = Instant::now();
        let result = ctx.push().await;
        let t = start.elapsed();
        let pushed = before - ctx.pending_count().await?;
        match result {
            Err(e) if e.is_unauthorized() && pushed == n => {}
            other => return Err(BenchError::new(format!("push of {n} ops ended with {other:?} after {pushed}"))),
        }
        self.fill(n).await?;
        Ok(t)
    }
}

/// Runs section 5.
pub async fn run(cfg: Config, summary: &mut Summary) -> Result<(), BenchError> {
    let (s, l, m) = (thousands(cfg.small), thousands(cfg.large), thousands(cfg.ops));
    println!("\n## 5. Scaling: {s} vs {l} pending operations, {m} operations timed");
    let mut small = Queue::new(cfg.small - cfg.ops).await?;
    let mut large = Queue::new(cfg.large - cfg.ops).await?;

    // Enqueue: the last `ops` inserts that bring each queue to its size, in alternating slices;
    // per size, the median slice counts (single commits are at the mercy of the shared disk).
    let slices = 10;
    let slice = cfg.ops / slices;
    let (mut small_t, mut large_t) = (Vec::new(), Vec::new());
    for i in 0..slices {
        for is_small in if i % 2 == 0 { [true, false] } else { [false, true] } {
            if is_small {
                small_t.push(small.time_inserts(slice).await? / slice as u32);
            } else {
                large_t.push(large.time_inserts(slice).await? / slice as u32);
            }
        }
    }
    let (small_e, large_e) = (median(&small_t), median(&large_t));
    let enqueue_ratio = large_e.as_secs_f64() / small_e.as_secs_f64();
    println!(
        "  enqueue ({slices} alternating slices of {slice} single inserts, median slice): {} per op at {s} pending, {} at {l}: ratio {enqueue_ratio:.2}",
        dur(small_e),
        dur(large_e)
    );

    // Push: the first `ops` operations of each queue, alternating sizes.
    let (mut small_p, mut large_p) = (Vec::new(), Vec::new());
    for round in 0..cfg.rounds {
        let small_first = round % 2 == 0;
        for is_small in [small_first, !small_first] {
            let (q, times) = if is_small { (&mut small, &mut small_p) } else { (&mut large, &mut large_p) };
            let t = q.time_push(cfg.ops).await?;
            println!(
                "  round {round}: push {m} of {} pending: {} ({} per op)",
                if is_small { &s } else { &l },
                dur(t),
                dur(t / cfg.ops as u32)
            );
            times.push(t);
        }
    }
    let (sp, lp) = (best(&small_p) / cfg.ops as u32, best(&large_p) / cfg.ops as u32);
    let push_ratio = lp.as_secs_f64() / sp.as_secs_f64();
    println!("  push: {} per op at {s} pending, {} at {l}: ratio {push_ratio:.2}", dur(sp), dur(lp));

    summary.info(
        SECTION,
        format!("enqueue, per op at {s} / {l} pending"),
        format!("{} / {}", dur(small_e), dur(large_e)),
    );
    summary.goal(
        SECTION,
        format!("enqueue time per op, {l} / {s} pending"),
        format!("{enqueue_ratio:.2}×"),
        "≤ 1.5×",
        enqueue_ratio <= 1.5,
    );
    summary.info(
        SECTION,
        format!("push to MemoryRemote, per op at {s} / {l} pending"),
        format!("{} / {}", dur(sp), dur(lp)),
    );
    summary.goal(
        SECTION,
        format!("push time per op, {l} / {s} pending"),
        format!("{push_ratio:.2}×"),
        "≤ 1.5×",
        push_ratio <= 1.5,
    );
    Ok(())
}
