//! Section 6, server: sync-server (on SQLite and on PostgreSQL) against the official Node server,
//! side by side in one run on the same data: raw POSTs per second, sequentially and 8 in flight
//! (and to a server that does no work, [`EchoServer`], the floor under every server's POST, with
//! the cost of one stored write beside it, [`commit_floor`]),
//! and rows per second of a first incremental pull through our client into store-diesel; and the
//! engine's push through `AzureRestRemote` with the `$batch` extension against the same engine
//! with batching off (one request per operation, sequentially), on both sync-servers.
//!
//! sync-server runs in this process on a runtime of its own (2 workers), so client and server
//! share the machine's 2 cores, as the Node server does with the client. PostgreSQL is the
//! throw-away server of `scripts/postgres.sh` (`sync_server::test_postgres`).

use std::time::{Duration, Instant};

use backend_azure_rest::test_server::NodeServer;
use backend_azure_rest::{AzureRestRemote, Batching};
use store_diesel::DieselStore;
use sync_core::{Record, SyncContext, SyncOptions, SyncTable};
use sync_server::test_postgres::PgServer;
use sync_server::{Config as ServerConfig, Server};

use crate::commit_floor;
use crate::echo_server::EchoServer;
use crate::model::Todo;
use crate::pull::our_pull;
use crate::raw::RawClient;
use crate::report::{best, dur, per_each, rate, thousands, Summary};
use crate::timing::{RemoteTime, Timed};
use crate::BenchError;

const SECTION: &str = "7 server";
/// The Node server's tables (`tests/server/server.js`), declared alike.
const TABLES: &str = r#"
[tables.Item]
columns = { name = "string", n = "number", flag = "boolean" }
[tables.TodoItem]
columns = { text = "string", complete = "boolean" }
"#;
/// Rows per seeding call (one `updatedAt` each, as section 1 seeds the Node server).
const SEED_BATCH: u64 = 10_000;

/// What section 6 runs.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// POSTs per run.
    pub posts: u64,
    /// Rows pulled.
    pub rows: u64,
    /// Operations pushed per run, batched and single.
    pub push_ops: u64,
    /// Rounds (the servers take turns; the best of each counts).
    pub rounds: usize,
}

/// A sync-server on its own thread and runtime, stopped on drop.
pub(crate) struct OurServer {
    pub(crate) url: String,
    server: Server,
    runtime: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl OurServer {
    pub(crate) fn start(database_url: String, dir: Option<tempfile::TempDir>) -> Result<OurServer, BenchError> {
        let config = ServerConfig::from_toml(TABLES).map_err(|e| BenchError::new(e.to_string()))?;
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.to_string()));
                    return;
                }
            };
            runtime.block_on(async move {
                let built = Server::builder().database_url(&database_url).config(&config).build().await;
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await;
                let (server, listener) = match (built, listener) {
                    (Ok(s), Ok(l)) => (s, l),
                    (Err(e), _) => return drop(ready_tx.send(Err(e.to_string()))),
                    (_, Err(e)) => return drop(ready_tx.send(Err(e.to_string()))),
                };
                let url = listener.local_addr().map(|a| format!("http://{a}")).unwrap_or_default();
                let _ = ready_tx.send(Ok((url, server.clone(), tokio::runtime::Handle::current())));
                let _ = server.serve(listener, async move { drop(stop_rx.await) }).await;
            });
        });
        let (url, server, runtime) = ready_rx
            .recv()
            .map_err(|_| BenchError::new("sync-server's thread ended"))?
            .map_err(|e| BenchError::new(format!("sync-server: {e}")))?;
        Ok(OurServer { url, server, runtime, stop: Some(stop_tx), thread: Some(thread), _dir: dir })
    }

    /// Seeds `rows` Item rows like `seed.js` does for the Node server.
    pub(crate) async fn seed(&self, rows: u64) -> Result<(), BenchError> {
        let mut done = 0;
        let mut batch = 0;
        while done < rows {
            let count = SEED_BATCH.min(rows - done);
            let at = format!("2024-01-01T00:{:02}:{:02}.000Z", batch / 60, batch % 60);
            let records: Vec<Record> = (0..count)
                .map(|i| {
                    let id = format!("b{batch:03}-{i:06}");
                    Record::from_json(serde_json::json!({"id": id, "name": id, "n": i as f64, "flag": i % 2 == 1}))
                })
                .collect::<Result<_, _>>()
                .map_err(|e| BenchError::new(e.to_string()))?;
            let server = self.server.clone();
            self.runtime
                .spawn(async move { server.seed("Item", records, &at).await })
                .await
                .map_err(|e| BenchError::new(e.to_string()))?
                .map_err(|e| BenchError::new(format!("seed: {e}")))?;
            done += count;
            batch += 1;
        }
        Ok(())
    }
}

impl Drop for OurServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs section 6 (starts its own Node server, two sync-servers and PostgreSQL).
pub async fn run(cfg: Config, summary: &mut Summary) -> Result<(), BenchError> {
    println!(
        "\n## 7. Server: {} POSTs (1 and 8 in flight), first pull of {} rows; Node vs sync-server (SQLite, PostgreSQL); \
         push of {} operations with $batch vs single requests",
        thousands(cfg.posts),
        thousands(cfg.rows),
        thousands(cfg.push_ops)
    );
    let node = NodeServer::start().await?;
    let dir = tempfile::tempdir()?;
    let sqlite_url = format!("sqlite:{}", dir.path().join("bench.sqlite").display());
    let sqlite = OurServer::start(sqlite_url, Some(dir))?;
    let pg_url = PgServer::shared().fresh_database().await.map_err(|e| BenchError::new(e.to_string()))?;
    let postgres = OurServer::start(pg_url, None)?;
    let servers: [(&str, String); 3] = [
        ("Node", node.url()),
        ("sync-server SQLite", sqlite.url.clone()),
        ("sync-server PostgreSQL", postgres.url.clone()),
    ];

    // The servers, then the echo server: the floor of any server's POST (see `echo_server`).
    let echo = EchoServer::start()?;
    let targets: Vec<(&str, String)> =
        servers.iter().cloned().chain([("no-op echo server (floor)", echo.url.clone())]).collect();
    // What one stored write costs with no server in between (`commit_floor`), beside the
    // sequential POSTs, on the same disk and the same PostgreSQL.
    let floor_url = PgServer::shared().fresh_database().await.map_err(|e| BenchError::new(e.to_string()))?;
    let (mut sqlite_commits, mut postgres_inserts) = (Vec::new(), Vec::new());
    for in_flight in [1usize, 8] {
        let mut times: Vec<Vec<Duration>> = vec![Vec::new(); targets.len()];
        for round in 0..cfg.rounds {
            for k in 0..targets.len() {
                // Rotate who goes first, so the load of a shared machine hits all alike.
                let s = (k + round) % targets.len();
                let raw = RawClient::new(&targets[s].1)?;
                let prefix = format!("p{in_flight}r{round}-");
                let bodies = (0..cfg.posts).map(|i| Todo::new(&prefix, i).post_body()).collect();
                let start = Instant::now();
                raw.post_all("TodoItem", bodies, in_flight).await?;
                times[s].push(start.elapsed());
            }
            if in_flight == 1 {
                sqlite_commits.push(commit_floor::sqlite_commit(cfg.posts).await?);
                postgres_inserts.push(commit_floor::postgres_insert(&floor_url, cfg.posts).await?);
            }
        }
        let node_best = best(&times[0]);
        for (s, (name, _)) in targets.iter().enumerate() {
            let t = best(&times[s]);
            println!("  POST, {in_flight} in flight, {name:<22} {:>9} ({} POSTs/s)", dur(t), rate(cfg.posts, t));
            summary.info(SECTION, format!("POSTs/s, {in_flight} in flight, {name}"), rate(cfg.posts, t));
            if s == targets.len() - 1 {
                let ceiling = node_best.as_secs_f64() / t.as_secs_f64();
                println!("  the most any server can reach here, {in_flight} in flight: {ceiling:.1}× Node");
                summary.info(
                    SECTION,
                    format!("POST rate no-op echo server / Node, {in_flight} in flight"),
                    format!("{ceiling:.1}×"),
                );
                if in_flight == 1 {
                    let round_trip = per_each(t, cfg.posts);
                    let node_post = node_best.as_secs_f64() / cfg.posts.max(1) as f64;
                    for (what, write) in [
                        ("one durable SQLite commit", best(&sqlite_commits)),
                        ("one PostgreSQL insert", best(&postgres_inserts)),
                    ] {
                        let floor = round_trip + write;
                        let most = node_post / floor.as_secs_f64();
                        println!(
                            "  {what}: {}; with the echo round trip ({}), at most {most:.1}× Node one at a time",
                            dur(write),
                            dur(round_trip)
                        );
                        summary.info(SECTION, format!("{what}, no server (commit_floor)"), dur(write));
                        summary.info(
                            SECTION,
                            format!("POST rate limit with {what} (echo + write) / Node, 1 in flight"),
                            format!("{most:.1}×"),
                        );
                    }
                }
            } else if s > 0 {
                let ratio = node_best.as_secs_f64() / t.as_secs_f64();
                summary.goal(
                    SECTION,
                    format!("POST rate {name} / Node, {in_flight} in flight"),
                    format!("{ratio:.1}×"),
                    "≥ 10×",
                    ratio >= 10.0,
                );
            }
        }
    }

    drop(echo);

    push_batched(&servers[1..], cfg, summary).await?;

    let start = Instant::now();
    crate::pull::seed(&node, cfg.rows).await?;
    sqlite.seed(cfg.rows).await?;
    postgres.seed(cfg.rows).await?;
    println!("  seeded {} Item rows on each server in {}", thousands(cfg.rows), dur(start.elapsed()));
    let mut times: [Vec<Duration>; 3] = Default::default();
    for round in 0..cfg.rounds {
        for k in 0..servers.len() {
            let s = (k + round) % servers.len();
            let remote = AzureRestRemote::builder(&servers[s].1).build()?;
            times[s].push(our_pull(&remote, cfg.rows).await?.time);
        }
    }
    for (s, (name, _)) in servers.iter().enumerate() {
        let t = best(&times[s]);
        println!("  pull into store-diesel from {name:<22} {:>9} ({} rows/s)", dur(t), rate(cfg.rows, t));
        if s == 0 {
            summary.info(SECTION, format!("pull rows/s from {name}"), rate(cfg.rows, t));
        } else {
            let per_s = cfg.rows as f64 / t.as_secs_f64();
            summary.goal(
                SECTION,
                format!("pull rows/s from {name}"),
                rate(cfg.rows, t),
                "≥ 100,000",
                per_s >= 100_000.0,
            );
        }
    }
    Ok(())
}

/// The engine's push of `push_ops` inserts through `AzureRestRemote` into each sync-server, with
/// the `$batch` extension (negotiated) and with batching off (one request per operation, one at
/// a time: `push_parallelism` 1 for both), the two alternating round by round; best of rounds.
async fn push_batched(servers: &[(&str, String)], cfg: Config, summary: &mut Summary) -> Result<(), BenchError> {
    for (name, url) in servers {
        let mut batched = EnginePush::new(url, Batching::Negotiate).await?;
        let mut single = EnginePush::new(url, Batching::Off).await?;
        // Warm-up (not timed): connections, tables, and the batched remote learns the extension.
        batched.push(10).await?;
        single.push(10).await?;
        let (mut batched_t, mut single_t) = (Vec::new(), Vec::new());
        // The batched runs' (total, inside the remote) times, to split client from server.
        let mut batched_split = Vec::new();
        for round in 0..cfg.rounds {
            for is_batched in if round % 2 == 0 { [true, false] } else { [false, true] } {
                if is_batched {
                    let (t, remote) = batched.push(cfg.push_ops).await?;
                    batched_t.push(t);
                    batched_split.push((t, remote));
                } else {
                    single_t.push(single.push(cfg.push_ops).await?.0);
                }
            }
        }
        let (b, s) = (best(&batched_t), best(&single_t));
        if let Some((t, remote)) = batched_split.iter().min_by_key(|(t, _)| *t) {
            let per_op = |d: Duration| d.as_secs_f64() * 1e6 / cfg.push_ops as f64;
            println!(
                "  push with $batch into {name:<22} per operation: {:.1} µs, of which {:.1} µs inside the remote \
                 (request, server, answer) and {:.1} µs in the engine and store",
                per_op(*t),
                per_op(*remote),
                per_op(t.saturating_sub(*remote))
            );
            summary.info(
                SECTION,
                format!("push with $batch, µs per operation inside the remote / in the engine and store, {name}"),
                format!("{:.1} / {:.1}", per_op(*remote), per_op(t.saturating_sub(*remote))),
            );
        }
        let ratio = s.as_secs_f64() / b.as_secs_f64();
        println!(
            "  push through the engine into {name:<22} with $batch {:>9} ({} ops/s), single requests {:>9} ({} ops/s): {ratio:.1}×",
            dur(b),
            rate(cfg.push_ops, b),
            dur(s),
            rate(cfg.push_ops, s)
        );
        summary.info(
            SECTION,
            format!("push ops/s with $batch (single requests), {name}"),
            format!("{} ({})", rate(cfg.push_ops, b), rate(cfg.push_ops, s)),
        );
        summary.goal(
            SECTION,
            format!("push with $batch / sequential single requests, {name}"),
            format!("{ratio:.1}×"),
            "≥ 20×",
            ratio >= 20.0,
        );
    }
    Ok(())
}

/// One engine pushing to one server: a file DieselStore (in a temp dir), a context with the remote.
struct EnginePush {
    _dir: tempfile::TempDir,
    ctx: SyncContext,
    todos: SyncTable<Todo>,
    next: u64,
    prefix: &'static str,
    remote_time: std::sync::Arc<RemoteTime>,
}

impl EnginePush {
    async fn new(url: &str, batching: Batching) -> Result<Self, BenchError> {
        let dir = tempfile::tempdir()?;
        let store = DieselStore::open(dir.path().join("push.db")).await?;
        let remote = AzureRestRemote::builder(url).batching(batching).build()?;
        let (timed, remote_time) = Timed::new(remote);
        let ctx = SyncContext::builder(store).remote(timed).options(SyncOptions::default()).build().await?;
        let todos = ctx.table::<Todo>().await?;
        let prefix = if batching == Batching::Off { "s-" } else { "b-" };
        Ok(EnginePush { _dir: dir, ctx, todos, next: 0, prefix, remote_time })
    }

    /// Inserts `ops` new items (not timed), then times `ctx.push()`: the push's time and the
    /// time spent inside the remote during it.
    async fn push(&mut self, ops: u64) -> Result<(Duration, Duration), BenchError> {
        let items = (self.next..self.next + ops).map(|i| Todo::new(self.prefix, i)).collect::<Vec<_>>();
        self.next += ops;
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
