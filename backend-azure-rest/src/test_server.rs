//! Starts the official Azure Mobile Apps Node server (`tests/server/` of this repository) for
//! tests (feature `test-server`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), backend_azure_rest::test_server::TestServerError> {
//! use backend_azure_rest::test_server::NodeServer;
//! let server = NodeServer::start().await?;      // install.sh (once), node server.js
//! server.seed("Item", 10, "2024-01-01T00:00:00.000Z", "k-").await?;
//! let remote = server.remote();
//! # Ok(()) }
//! ```
//!
//! - The folder is `$SYNC_TEST_SERVER_DIR`, else `tests/server` at the workspace root.
//! - `install.sh` runs once per process, under an exclusive `flock(1)` lock in the temp directory,
//!   so parallel test binaries do not install at the same time. Any failure is an error: tests
//!   that need the server fail loudly, they never skip.
//! - Each server gets a fresh SQLite file in its own temp directory, port 0 (a free port), and
//!   optionally `AUTH_TOKEN`. It is killed when the [`NodeServer`] is dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use std::io::{BufRead, Read, Write};

use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use tokio::sync::OnceCell;

use crate::{AzureRestRemote, AzureRestRemoteBuilder};

/// The environment variable that overrides the server folder.
pub const SERVER_DIR_ENV: &str = "SYNC_TEST_SERVER_DIR";
/// How long the server may take to print its `listening` line.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `install.sh` may take (the first run builds sqlite3: ~2 minutes on 2 cores).
const INSTALL_TIMEOUT: Duration = Duration::from_secs(20 * 60);
/// How long a seeding script may take.
const SEED_TIMEOUT: Duration = Duration::from_secs(120);

/// The test server could not be installed, started or seeded.
#[derive(Debug, thiserror::Error)]
#[error("test server: {0}")]
pub struct TestServerError(String);

impl TestServerError {
    fn new(message: impl Into<String>) -> Self {
        TestServerError(message.into())
    }
}

/// Options for [`NodeServer`].
#[derive(Debug, Clone, Default)]
pub struct NodeServerBuilder {
    auth_token: Option<String>,
    dir: Option<PathBuf>,
    extra_tables: Option<String>,
}

impl NodeServerBuilder {
    /// Require this token (`X-ZUMO-AUTH` or `Authorization: Bearer`) on every request.
    pub fn auth_token(mut self, token: impl Into<String>) -> Self {
        self.auth_token = Some(token.into());
        self
    }

    /// The server folder (default: `$SYNC_TEST_SERVER_DIR`, else `tests/server`).
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Extra tables, as server.js's `EXTRA_TABLES` JSON (`{"Name":{"col":"string|number|boolean|date"}}`).
    pub fn extra_tables(mut self, json: impl Into<String>) -> Self {
        self.extra_tables = Some(json.into());
        self
    }

    /// Installs (once per process) and starts the server.
    pub async fn start(self) -> Result<NodeServer, TestServerError> {
        let dir = self.dir.unwrap_or_else(server_dir);
        if !dir.join("server.js").is_file() {
            return Err(TestServerError::new(format!("no server.js in {}", dir.display())));
        }
        install(&dir).await?;
        let temp = tempfile::Builder::new()
            .prefix("ama-test-server-")
            .tempdir()
            .map_err(|e| TestServerError::new(format!("cannot make a temp dir: {e}")))?;
        let db = temp.path().join("ama.db");
        let mut server = NodeServer {
            dir,
            db,
            temp,
            port: 0,
            auth_token: self.auth_token,
            extra_tables: self.extra_tables,
            process: None,
            stderr: Arc::new(Mutex::new(String::new())),
        };
        server.spawn(0).await?;
        Ok(server)
    }
}

/// The watchdog between the test process and `server.js`: it runs the server, forwards its output,
/// obeys `stop`/`cont`/`kill` lines on stdin (acknowledged with `ack <cmd>` on stdout), and when
/// its stdin closes, i.e. when the `NodeServer` is dropped or the test process ends in any way,
/// kills the server with SIGKILL and removes `$WATCHDOG_CLEANUP` (the DB's temp dir, which a
/// server in a `static` would otherwise leave behind).
const WATCHDOG: &str = r#"'use strict';
const child = require('child_process').spawn(process.execPath, ['server.js'], { stdio: ['ignore', 'inherit', 'inherit'] });
const kill = () => { try { child.kill('SIGKILL'); } catch (e) {} };
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
        const cmd = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (cmd === 'stop') child.kill('SIGSTOP');
        else if (cmd === 'cont') child.kill('SIGCONT');
        else if (cmd === 'kill') kill();
        process.stdout.write('ack ' + cmd + '\n');
    }
});
let cleanup = false;
const last = () => { cleanup = true; kill(); };
process.stdin.on('end', last);
process.stdin.on('error', last);
process.on('SIGTERM', last);
child.on('exit', (code) => {
    if (cleanup && process.env.WATCHDOG_CLEANUP) {
        try { require('fs').rmSync(process.env.WATCHDOG_CLEANUP, { recursive: true, force: true }); } catch (e) {}
    }
    process.exit(code === null ? 137 : code);
});
"#;

/// A running official Node server on 127.0.0.1 with its own SQLite file.
///
/// Its I/O is served by plain threads, so one server may outlive the tokio runtime that started
/// it (e.g. a `static` shared by the tests of one binary); it is killed when this value is dropped
/// or, at the latest, when the test process exits.
#[derive(Debug)]
pub struct NodeServer {
    dir: PathBuf,
    db: PathBuf,
    temp: tempfile::TempDir,
    port: u16,
    auth_token: Option<String>,
    extra_tables: Option<String>,
    process: Option<Process>,
    stderr: Arc<Mutex<String>>,
}

/// The watchdog process and its pipes.
#[derive(Debug)]
struct Process {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
}

impl NodeServer {
    /// One server for the whole test process, started on first use and shared by every test
    /// (tests keep apart by using their own ids). It outlives the per-test runtimes (its I/O runs
    /// on plain threads) and is killed when the process exits.
    ///
    /// # Panics
    /// When the server cannot be installed or started: tests that need it fail loudly.
    pub async fn shared() -> &'static NodeServer {
        static SERVER: OnceCell<NodeServer> = OnceCell::const_new();
        SERVER
            .get_or_init(|| async {
                match NodeServer::start().await {
                    Ok(s) => s,
                    Err(e) => panic!("the Node test server must be installable and start: {e}"),
                }
            })
            .await
    }

    /// Seeds records (JSON objects with ids) with `seed_rows`, panicking on failure (for tests).
    ///
    /// # Panics
    /// When seeding fails.
    pub async fn seed_records(&self, table: &str, rows: Vec<sync_core::Record>, updated_at: &str) {
        let rows: Vec<Value> = rows.into_iter().map(Value::from).collect();
        if let Err(e) = self.seed_rows(table, &rows, updated_at).await {
            panic!("seeding {table}: {e}");
        }
    }

    /// Installs (once per process) and starts a server without auth.
    pub async fn start() -> Result<NodeServer, TestServerError> {
        NodeServerBuilder::default().start().await
    }

    /// Options: auth token, folder, extra tables.
    pub fn builder() -> NodeServerBuilder {
        NodeServerBuilder::default()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port (kept across [`restart`](Self::restart)).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's SQLite file.
    pub fn db_path(&self) -> &Path {
        &self.db
    }

    /// The server folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The token the server requires, if any.
    pub fn auth_token(&self) -> Option<&str> {
        self.auth_token.as_deref()
    }

    /// What the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// A remote builder for this server, with its token if it requires one.
    pub fn remote_builder(&self) -> AzureRestRemoteBuilder {
        let builder = AzureRestRemote::builder(self.url());
        match &self.auth_token {
            Some(t) => builder.token(t.as_str()),
            None => builder,
        }
    }

    /// A remote for this server with default options.
    ///
    /// # Panics
    /// Never in practice: the URL is always valid.
    pub fn remote(&self) -> AzureRestRemote {
        match self.remote_builder().build() {
            Ok(r) => r,
            Err(e) => panic!("cannot build a remote for {}: {e}", self.url()),
        }
    }

    /// Whether the server process is running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.process.as_mut().map(|p| p.child.try_wait()), Some(Ok(None)))
    }

    /// Freezes the server (SIGSTOP): connections are still accepted by the kernel but never
    /// answered, so requests hang until their timeout, a [`resume`](Self::resume) or a kill.
    pub async fn suspend(&mut self) -> Result<(), TestServerError> {
        self.command("stop").await
    }

    /// Thaws a [`suspend`](Self::suspend)ed server (SIGCONT).
    pub async fn resume(&mut self) -> Result<(), TestServerError> {
        self.command("cont").await
    }

    /// Kills the server (SIGKILL, like a crash, also when suspended) and waits until it is gone.
    /// The DB file stays.
    pub async fn kill(&mut self) -> Result<(), TestServerError> {
        let Some(mut p) = self.process.take() else { return Ok(()) };
        // `kill`, not EOF: EOF would also remove the DB that a restart reuses.
        if let Some(stdin) = p.stdin.as_mut() {
            let _ = stdin.write_all(b"kill\n").and_then(|()| stdin.flush());
        }
        for _ in 0..500 {
            match p.child.try_wait() {
                Ok(Some(_)) => return Ok(()),
                Ok(None) => tokio::time::sleep(Duration::from_millis(20)).await,
                Err(e) => return Err(TestServerError::new(format!("cannot wait for the server: {e}"))),
            }
        }
        let _ = p.child.kill();
        Err(TestServerError::new("the server did not exit within 10 s of being killed"))
    }

    /// Kills the server if it runs, then starts it again on the same DB file and port.
    pub async fn restart(&mut self) -> Result<(), TestServerError> {
        self.kill().await?;
        let port = self.port;
        let mut last = None;
        for _ in 0..20 {
            match self.spawn(port).await {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Err(last.unwrap_or_else(|| TestServerError::new("restart failed")))
    }

    /// Seeds `count` rows with `seed.js` (ids `<prefix><6-digit index>`, all with `updated_at`);
    /// returns its JSON summary.
    pub async fn seed(
        &self,
        table: &str,
        count: u64,
        updated_at: &str,
        prefix: &str,
    ) -> Result<Value, TestServerError> {
        let db = self.db.to_string_lossy().into_owned();
        let count = count.to_string();
        let args = ["--db", &db, "--table", table, "--count", &count, "--updated-at", updated_at, "--prefix", prefix];
        self.node_script("seed.js", &args, None).await
    }

    /// Seeds the given rows (JSON objects with an `id`; `"deleted": true` for soft-deleted ones),
    /// all with `updatedAt = createdAt = updated_at` and version `"MQ=="`, with `seed-rows.js`.
    pub async fn seed_rows(&self, table: &str, rows: &[Value], updated_at: &str) -> Result<Value, TestServerError> {
        let db = self.db.to_string_lossy().into_owned();
        let stdin = serde_json::to_vec(rows).map_err(|e| TestServerError::new(e.to_string()))?;
        self.node_script("seed-rows.js", &["--db", &db, "--table", table, "--updated-at", updated_at], Some(stdin))
            .await
    }

    async fn node_script(&self, script: &str, args: &[&str], stdin: Option<Vec<u8>>) -> Result<Value, TestServerError> {
        let mut cmd = Command::new("node");
        cmd.arg(script)
            .args(args)
            .current_dir(&self.dir)
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| TestServerError::new(format!("cannot run node {script}: {e}")))?;
        if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(&data).await.map_err(|e| TestServerError::new(format!("{script} stdin: {e}")))?;
            drop(pipe);
        }
        let out = tokio::time::timeout(SEED_TIMEOUT, child.wait_with_output())
            .await
            .map_err(|_| TestServerError::new(format!("{script} timed out")))?
            .map_err(|e| TestServerError::new(format!("{script}: {e}")))?;
        if !out.status.success() {
            return Err(TestServerError::new(format!(
                "{script} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(stdout.trim())
            .map_err(|e| TestServerError::new(format!("{script} printed no JSON summary ({e}): {stdout}")))
    }

    /// Sends a watchdog command and waits for its acknowledgement.
    async fn command(&mut self, cmd: &str) -> Result<(), TestServerError> {
        let p = self.process.as_mut().ok_or_else(|| TestServerError::new("the server is not running"))?;
        let stdin = p.stdin.as_mut().ok_or_else(|| TestServerError::new("the server is not running"))?;
        stdin
            .write_all(format!("{cmd}\n").as_bytes())
            .and_then(|()| stdin.flush())
            .map_err(|e| TestServerError::new(format!("cannot send {cmd:?} to the watchdog: {e}")))?;
        let ack = format!("ack {cmd}");
        let wait = async {
            while let Some(line) = p.lines.recv().await {
                if line.trim() == ack {
                    return true;
                }
            }
            false
        };
        match tokio::time::timeout(Duration::from_secs(10), wait).await {
            Ok(true) => Ok(()),
            _ => Err(TestServerError::new(format!("the watchdog did not acknowledge {cmd:?}"))),
        }
    }

    /// Starts the watchdog with `server.js` on `port` (0 = any) and waits for the `listening` line.
    async fn spawn(&mut self, port: u16) -> Result<(), TestServerError> {
        let mut cmd = std::process::Command::new("node");
        cmd.arg("-e")
            .arg(WATCHDOG)
            .current_dir(&self.dir)
            .env("PORT", port.to_string())
            .env("DB_FILE", &self.db)
            .env("WATCHDOG_CLEANUP", self.temp.path())
            .env_remove("AUTH_TOKEN")
            .env_remove("EXTRA_TABLES")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(t) = &self.auth_token {
            cmd.env("AUTH_TOKEN", t);
        }
        if let Some(t) = &self.extra_tables {
            cmd.env("EXTRA_TABLES", t);
        }
        let mut child = cmd.spawn().map_err(|e| TestServerError::new(format!("cannot run node: {e}")))?;
        let (Some(stdin), Some(stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            return Err(TestServerError::new("no pipes to the server process"));
        };
        let sink = Arc::clone(&self.stderr);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
        let (tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    // Nobody listens any more: keep draining so the server never blocks.
                    continue;
                }
            }
        });
        let waited = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = lines.recv().await {
                if let Some(p) = line.trim().strip_prefix("listening http://127.0.0.1:") {
                    return p.parse::<u16>().ok();
                }
            }
            None
        })
        .await;
        let found = match waited {
            Ok(Some(p)) => p,
            Ok(None) => {
                let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
                tokio::time::sleep(Duration::from_millis(100)).await; // let stderr drain
                return Err(TestServerError::new(format!(
                    "server.js exited ({status}) before listening; stderr:\n{}",
                    self.stderr()
                )));
            }
            Err(_) => {
                drop(stdin);
                let _ = child.kill();
                let _ = child.wait();
                return Err(TestServerError::new(format!(
                    "server.js did not print its listening line within {START_TIMEOUT:?}; stderr:\n{}",
                    self.stderr()
                )));
            }
        };
        self.port = found;
        self.process = Some(Process { child, stdin: Some(stdin), lines });
        Ok(())
    }
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        if let Some(mut p) = self.process.take() {
            drop(p.stdin.take());
            // The watchdog SIGKILLs the server on EOF and exits; give it a moment, then force it.
            for _ in 0..250 {
                if !matches!(p.child.try_wait(), Ok(None)) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }
}

/// `$SYNC_TEST_SERVER_DIR`, else `tests/server` at the workspace root.
pub fn server_dir() -> PathBuf {
    match std::env::var_os(SERVER_DIR_ENV) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/server")),
    }
}

/// Runs `install.sh` once per process and folder, under an exclusive lock shared by every
/// process on the machine (`flock(1)` on a file in the temp dir named after the folder).
pub async fn install(dir: &Path) -> Result<(), TestServerError> {
    static DONE: OnceCell<Result<PathBuf, String>> = OnceCell::const_new();
    let canonical = dir.canonicalize().map_err(|e| TestServerError::new(format!("{}: {e}", dir.display())))?;
    let result = DONE.get_or_init(|| async { run_install(&canonical).await.map(|()| canonical.clone()) }).await;
    match result {
        Ok(done) if *done == canonical => Ok(()),
        Ok(_) => run_install(&canonical).await.map_err(TestServerError),
        Err(e) => Err(TestServerError::new(e.clone())),
    }
}

async fn run_install(dir: &Path) -> Result<(), String> {
    let lock = std::env::temp_dir().join(format!("ama-test-server-install-{:016x}.lock", fnv1a(dir)));
    let mut cmd = Command::new("flock");
    cmd.arg(&lock)
        .arg("bash")
        .arg(dir.join("install.sh"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child =
        cmd.spawn().map_err(|e| format!("cannot run `flock … bash install.sh` (is util-linux installed?): {e}"))?;
    let out = tokio::time::timeout(INSTALL_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| format!("install.sh did not finish within {INSTALL_TIMEOUT:?}"))?
        .map_err(|e| format!("install.sh: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{}/install.sh failed ({}):\n{}{}",
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

fn fnv1a(path: &Path) -> u64 {
    path.to_string_lossy().bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}
