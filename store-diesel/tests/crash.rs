//! Crash safety with a real process kill.
//!
//! `crash_safety_under_sigkill` re-runs this test binary as a child (`--exact crash_child_loop
//! --ignored`) that makes local changes in a loop, one transaction each, and prints a line after
//! every commit. The parent kills it with SIGKILL (`Child::kill`) at a random moment, then checks
//! that the database opens, `PRAGMA integrity_check` is `ok`, and every change the child reported
//! is there with its queued operation. The kill points are random (the seed is printed; set
//! `CRASH_SEED` to replay); some trials kill the child while it is still opening the database.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use serde_json::json;
use store_diesel::DieselStore;
use sync_core::backend::apply_local_change;
use sync_core::backend::{OperationFilter, StoreExt};
use sync_core::LocalChange;
use sync_core::{Column, ColumnType, OperationKind, Record, Store, TableSchema};

const CHILD_DB: &str = "STORE_DIESEL_CRASH_DB";
const CHILD_TRIAL: &str = "STORE_DIESEL_CRASH_TRIAL";
const TRIALS: u32 = 24;
const MARK: &str = "COMMITTED ";

fn schema() -> TableSchema {
    TableSchema::new("Item", vec![Column::new("text", ColumnType::String), Column::nullable("n", ColumnType::Integer)])
        .expect("valid schema")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a tokio runtime")
}

/// The child: local changes in a loop until killed (or 60 s pass). Ignored so it only runs when
/// the parent asks for it.
#[test]
#[ignore = "child process of crash_safety_under_sigkill"]
fn crash_child_loop() {
    let (Ok(db), Ok(trial)) = (std::env::var(CHILD_DB), std::env::var(CHILD_TRIAL)) else {
        eprintln!("crash_child_loop only runs as the child of crash_safety_under_sigkill");
        return;
    };
    runtime().block_on(async move {
        let store = DieselStore::open(&db).await.expect("child opens the store");
        let schema = schema();
        store.ensure_table(&schema).await.expect("child ensures the table");
        let started = Instant::now();
        let mut i: u64 = 0;
        while started.elapsed() < Duration::from_secs(60) {
            let id = format!("t{trial}-{i}");
            let insert = record(&schema, &id, &format!("text {id} 'quoted'; 🦀"), None);
            local(&store, &schema, LocalChange::Insert(insert)).await;
            println!("{MARK}insert {id}");
            if i % 3 == 2 {
                let prev = format!("t{trial}-{}", i - 1);
                let n = i as i64 * 7;
                let update = record(&schema, &prev, "updated", Some(n));
                local(&store, &schema, LocalChange::Update(update)).await;
                println!("{MARK}update {prev} {n}");
            }
            i += 1;
        }
    });
}

fn record(schema: &TableSchema, id: &str, text: &str, n: Option<i64>) -> Record {
    let r = Record::from_json(json!({"id": id, "text": text, "n": n})).expect("valid record");
    schema.conform_local(r).expect("record fits")
}

async fn local(store: &DieselStore, schema: &TableSchema, change: LocalChange) {
    let schema = schema.clone();
    store.transact(move |tx| apply_local_change(tx, &schema, change)).await.expect("local change commits");
}

/// A small deterministic generator (xorshift64*), so failures can be replayed from the seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    }
}

#[derive(QueryableByName)]
struct Check {
    #[diesel(sql_type = diesel::sql_types::Text)]
    integrity_check: String,
}

fn integrity(path: &Path) -> String {
    let mut conn = SqliteConnection::establish(path.to_str().expect("utf-8 path")).expect("open for integrity check");
    let rows: Vec<Check> = diesel::sql_query("PRAGMA integrity_check").load(&mut conn).expect("integrity_check runs");
    rows.into_iter().map(|r| r.integrity_check).collect::<Vec<_>>().join("; ")
}

/// What the children reported committed: inserted ids, and the last `n` each update set.
#[derive(Default)]
struct Reported {
    inserted: Vec<String>,
    updated: BTreeMap<String, i64>,
}

impl Reported {
    fn take(&mut self, line: &str) {
        let Some(rest) = line.strip_prefix(MARK) else { return };
        let parts: Vec<&str> = rest.split(' ').collect();
        match parts.as_slice() {
            ["insert", id] => self.inserted.push((*id).to_owned()),
            ["update", id, n] => {
                self.updated.insert((*id).to_owned(), n.parse().expect("reported n"));
            }
            _ => panic!("unexpected child line {line:?}"),
        }
    }
}

/// Runs one child and kills it `delay` after `from` (its start, or its first commit).
fn run_child(exe: &Path, db: &Path, trial: u32, delay: Duration, after_first_commit: bool) -> Vec<String> {
    let mut child = Command::new(exe)
        .args(["--exact", "crash_child_loop", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_DB, db)
        .env(CHILD_TRIAL, trial.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the child");
    let stdout = child.stdout.take().expect("child stdout");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let mut deadline = Instant::now() + delay;
    if after_first_commit {
        // Wait (up to 30 s) for the first commit, then start the clock.
        let give_up = Instant::now() + Duration::from_secs(30);
        while Instant::now() < give_up {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(line) => {
                    let first = line.starts_with(MARK);
                    lines.push(line);
                    if first {
                        break;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        deadline = Instant::now() + delay;
    }
    while Instant::now() < deadline {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => lines.push(line),
            Err(_) => break,
        }
    }
    child.kill().expect("SIGKILL the child");
    let status = child.wait().expect("reap the child");
    // Lines already in the pipe were printed after their commit returned: they count.
    reader.join().expect("reader thread");
    lines.extend(rx.try_iter());
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(9),
            "trial {trial}: the child ended on its own ({status}) instead of by SIGKILL"
        );
    }
    lines
}

#[test]
fn crash_safety_under_sigkill() {
    let seed = std::env::var("CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64) | 1
    });
    println!("crash test seed: {seed} (set CRASH_SEED to replay)");
    let mut rng = Rng(seed);
    let exe = std::env::current_exe().expect("the test binary");
    let dir = tempfile::tempdir().expect("temp dir");
    let db: PathBuf = dir.path().join("crash.db");
    let schema = schema();
    let mut reported = Reported::default();
    let rt = runtime();
    let mut killed_with_commits = 0;

    for trial in 0..TRIALS {
        // Every fourth trial is killed early (often while opening or migrating); the others
        // between 0 and 300 ms into their loop of commits.
        let early = trial % 4 == 0;
        let delay = Duration::from_millis(if early { rng.below(60) } else { rng.below(300) });
        let lines = run_child(&exe, &db, trial, delay, !early);
        let before = reported.inserted.len();
        for line in &lines {
            reported.take(line);
        }
        let new = reported.inserted.len() - before;
        if new > 0 {
            killed_with_commits += 1;
        }
        println!(
            "trial {trial}: killed after {delay:?} ({}), {new} new inserts reported",
            if early { "from start" } else { "from first commit" }
        );

        if !db.exists() {
            continue; // killed before SQLite created the file
        }
        assert_eq!(integrity(&db), "ok", "trial {trial}: PRAGMA integrity_check after SIGKILL");
        rt.block_on(async {
            let store = DieselStore::open(&db).await.unwrap_or_else(|e| panic!("trial {trial}: reopen failed: {e}"));
            store.ensure_table(&schema).await.unwrap_or_else(|e| panic!("trial {trial}: ensure_table failed: {e}"));
            for id in &reported.inserted {
                let item = store.get("Item", id).await.expect("get");
                let Some(item) = item else { panic!("trial {trial}: reported insert {id} is missing") };
                let filter = OperationFilter::item("Item", id);
                let ops = store.transact(move |tx| tx.operations(&filter)).await.expect("operations");
                assert_eq!(ops.len(), 1, "trial {trial}: item {id} must have exactly one queued operation");
                assert_eq!(ops[0].kind, OperationKind::Insert, "trial {trial}: item {id}'s operation is its insert");
                if let Some(n) = reported.updated.get(id) {
                    assert_eq!(item.get("n"), Some(&json!(n)), "trial {trial}: reported update of {id} is missing");
                    assert_eq!(item.get("text"), Some(&json!("updated")), "trial {trial}: update of {id}");
                    assert!(ops[0].version >= 2, "trial {trial}: the update of {id} collapsed into its insert");
                }
            }
            let total = store.transact(|tx| tx.count_operations(&OperationFilter::all())).await.expect("count");
            assert!(total >= reported.inserted.len() as u64, "trial {trial}: operations were lost");
        });
    }
    println!(
        "{TRIALS} trials, {killed_with_commits} killed mid-loop, {} inserts and {} updates verified",
        reported.inserted.len(),
        reported.updated.len()
    );
    assert!(killed_with_commits >= TRIALS / 2, "too few trials killed the child while it was committing");
}
