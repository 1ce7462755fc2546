//! # bench: the benchmark harness (issue 7)
//!
//! Measures the sync framework against raw baselines **in one run**, and prints ratios (the
//! machine is shared and noisy: absolute times are not stable, ratios measured side by side are).
//! It starts the official Node server itself (`backend_azure_rest::test_server::NodeServer`).
//!
//! ```text
//! cargo run --release -p bench                       # everything (≈ 8 min on 2 cores)
//! cargo run --release -p bench -- --quick            # everything, scaled down (≈ 30 s; a smoke test)
//! cargo run --release -p bench -- --section pull     # one section: pull, push, local, memory, scaling, watch, server
//! ```
//!
//! Sections (see `BENCHMARKS.md` for the figures and what bounds them):
//! 1. **pull** — N rows seeded on the Node server, first incremental pull into store-diesel vs a
//!    raw baseline that GETs the same keyset pages and parses them; then the no-change pull.
//! 2. **push** — K inserts pushed sequentially and 8 in flight, on loopback and through a proxy
//!    that delays responses by 20 ms, vs raw POSTs of the same items at the same concurrency.
//! 3. **local** — SyncTable inserts, one per transaction and with `insert_batch`, vs a plain
//!    Diesel bulk insert of the same rows plus their queue rows.
//! 4. **memory** — peak RSS of a child process pulling 250k and 1M generated rows.
//! 5. **scaling** — time per op to enqueue and to push with 10k vs 100k operations pending.
//! 6. **watch** — live queries: commit → result latency in-process and from another process,
//!    and the cost of a local write with 100 watchers on another table / the same table.
//! 7. **server** — sync-server on SQLite and on PostgreSQL against the Node server: raw POSTs
//!    per second (1 and 8 in flight), rows per second of a first pull into store-diesel, and
//!    the engine's push with the `$batch` extension against sequential single requests.
//!
//! Baselines and ours alternate within each section (A B, B A, …) and the best of each counts.

// A binary has no public API: its `pub` items are visible to its own modules only.
#![allow(unnameable_types)]

mod commit_floor;
mod echo_server;
mod floor;
mod local;
mod memory;
mod model;
mod proxy;
mod pull;
mod push;
mod raw;
mod report;
mod scaling;
mod server;
mod server_memory;
mod timing;
mod watch;

use std::time::{Duration, Instant};

use backend_azure_rest::test_server::NodeServer;
use clap::{Parser, Subcommand, ValueEnum};

use report::{dur, Summary};

/// Any failure of the harness: it stops the run with a message.
#[derive(Debug)]
pub struct BenchError(String);

impl BenchError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        BenchError(message.into())
    }
}

impl std::fmt::Display for BenchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! from_error {
    ($($t:ty),*) => {$(
        impl From<$t> for BenchError {
            fn from(e: $t) -> Self {
                BenchError(e.to_string())
            }
        }
    )*};
}
from_error!(
    std::io::Error,
    serde_json::Error,
    reqwest::Error,
    sync_core::SyncError,
    sync_core::backend::StoreError,
    sync_core::backend::RemoteError,
    backend_azure_rest::BuildError,
    backend_azure_rest::test_server::TestServerError,
    diesel::result::Error,
    diesel::ConnectionError,
    sqlx::Error
);

#[derive(Parser, Debug)]
#[command(name = "bench", about = "Benchmarks of offline-sync: ratios to raw baselines, measured in one run.")]
struct Cli {
    /// Scale every N down (≈ 30 s in all) to check the harness end to end; not the figures.
    #[arg(long)]
    quick: bool,
    /// Run only these sections (repeat or separate with commas); default: all.
    #[arg(long, value_enum, value_delimiter = ',')]
    section: Vec<Section>,
    /// Rounds per comparison (baseline and ours alternate; the best of each counts).
    #[arg(long)]
    rounds: Option<usize>,
    /// Diagnostics: push this many inserts per run (default 5,000; 300 with --quick).
    #[arg(long, hide = true)]
    push_ops: Option<u64>,
    /// Diagnostics: push blocks per case (default 10).
    #[arg(long, hide = true)]
    push_blocks: Option<usize>,
    /// Diagnostics: only these push cases (loopback-1, loopback-8, delay-1, delay-8).
    #[arg(long, hide = true, value_delimiter = ',')]
    push_cases: Vec<String>,
    /// Diagnostics: the local store of the push section, `file` (default) or `memory` (no fsync).
    #[arg(long, hide = true, default_value = "file")]
    push_store: String,
    #[command(subcommand)]
    command: Option<Hidden>,
}

// The variants are the subcommands' names (`memory-child`, …), which say what they are.
#[allow(clippy::enum_variant_names)]
#[derive(Subcommand, Debug)]
enum Hidden {
    /// Section 4's child process: pulls generated rows and prints its peak RSS.
    #[command(hide = true)]
    MemoryChild {
        /// Rows to pull.
        #[arg(long)]
        rows: u64,
    },
    /// Section 7's child process: sync-server on a seeded SQLite file, until stdin closes.
    #[command(hide = true)]
    ServerMemoryChild {
        /// The SQLite file.
        #[arg(long)]
        db: std::path::PathBuf,
    },
    /// Section 6's child process: commits to a file another process watches.
    #[command(hide = true)]
    WatchChild {
        /// The database file.
        #[arg(long)]
        db: std::path::PathBuf,
        /// Commits to make.
        #[arg(long)]
        commits: u64,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Section {
    /// 1: pull from the Node server.
    Pull,
    /// 2: push to the Node server, with and without delay.
    Push,
    /// 3: local writes.
    Local,
    /// 4: peak memory while pulling.
    Memory,
    /// 5: queue-size scaling.
    Scaling,
    /// 6: live queries.
    Watch,
    /// 7: sync-server (SQLite, PostgreSQL) against the Node server.
    Server,
}

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench: cannot start a runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = match cli.command {
        Some(Hidden::MemoryChild { rows }) => runtime.block_on(memory::child_main(rows)),
        Some(Hidden::WatchChild { db, commits }) => runtime.block_on(watch::child_main(&db, commits)),
        Some(Hidden::ServerMemoryChild { db }) => runtime.block_on(server_memory::child_main(&db)),
        None => runtime.block_on(run(&cli)),
    };
    if let Err(e) = result {
        eprintln!("bench: {e}");
        std::process::exit(1);
    }
}

async fn run(cli: &Cli) -> Result<(), BenchError> {
    let wants = |s: Section| cli.section.is_empty() || cli.section.contains(&s);
    let quick = cli.quick;
    let rounds = |full: usize| cli.rounds.unwrap_or(if quick { 2 } else { full });
    let started = Instant::now();
    let mut summary = Summary::default();
    println!(
        "# bench{} (2 tokio workers; times are this run's, ratios are the figures)",
        if quick { " --quick" } else { "" }
    );

    let server = if wants(Section::Pull) || wants(Section::Push) {
        let start = Instant::now();
        let server = NodeServer::start().await?;
        println!("Node server (azure-mobile-apps 4.0.2, SQLite) at {} in {}", server.url(), dur(start.elapsed()));
        Some(server)
    } else {
        None
    };
    if let (true, Some(server)) = (wants(Section::Pull), &server) {
        let cfg = pull::Config { rows: if quick { 5_000 } else { 100_000 }, rounds: rounds(5) };
        pull::run(server, cfg, &mut summary).await?;
    }
    if let (true, Some(server)) = (wants(Section::Push), &server) {
        let cfg = push::Config {
            ops: cli.push_ops.unwrap_or(if quick { 300 } else { 5_000 }),
            cases: cli.push_cases.clone(),
            memory_store: cli.push_store == "memory",
            delay: Duration::from_millis(20),
            blocks: cli.push_blocks.unwrap_or(10),
        };
        push::run(server, &cfg, &mut summary).await?;
    }
    drop(server);
    if wants(Section::Local) {
        let cfg = if quick {
            local::Config { rows: 10_000, single_rows: 2_000, rounds: rounds(3) }
        } else {
            local::Config { rows: 100_000, single_rows: 100_000, rounds: rounds(3) }
        };
        local::run(cfg, &mut summary).await?;
    }
    if wants(Section::Memory) {
        let cfg = if quick {
            memory::Config { small: 25_000, large: 100_000 }
        } else {
            memory::Config { small: 250_000, large: 1_000_000 }
        };
        memory::run(cfg, &mut summary)?;
    }
    if wants(Section::Scaling) {
        let cfg = if quick {
            scaling::Config { small: 2_000, large: 20_000, ops: 400, rounds: rounds(3) }
        } else {
            scaling::Config { small: 10_000, large: 100_000, ops: 2_000, rounds: rounds(3) }
        };
        scaling::run(cfg, &mut summary).await?;
    }
    if wants(Section::Watch) {
        let cfg = if quick {
            watch::Config { commits: 20, writes: 300, rounds: rounds(3) }
        } else {
            watch::Config { commits: 200, writes: 3_000, rounds: rounds(5) }
        };
        watch::run(cfg, &mut summary).await?;
    }
    if wants(Section::Server) {
        let cfg = if quick {
            server::Config { posts: 200, rows: 5_000, push_ops: 500, rounds: rounds(2) }
        } else {
            server::Config { posts: 2_000, rows: 100_000, push_ops: 4_000, rounds: rounds(3) }
        };
        server::run(cfg, &mut summary).await?;
        let sizes = if quick { [25_000, 100_000] } else { [250_000, 1_000_000] };
        server_memory::run(sizes, &mut summary).await?;
    }

    println!("\n## Summary ({} in all)\n", dur(started.elapsed()));
    print!("{}", summary.markdown());
    if summary.any_miss() {
        println!("\nSome goals were missed: BENCHMARKS.md explains what bounds each.");
    }
    Ok(())
}
