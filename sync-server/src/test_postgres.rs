//! A real, throw-away PostgreSQL server for tests (feature `test-postgres`), started by the
//! repository's `scripts/postgres.sh` (initdb into a temporary folder, a free loopback port,
//! root-safe).
//!
//! ```no_run
//! # async fn demo() -> Result<(), sync_server::test_postgres::PgError> {
//! use sync_server::test_postgres::PgServer;
//! let pg = PgServer::shared();                  // one server per test process
//! let url = pg.fresh_database().await?;         // postgres://…/t_…, an empty database
//! let server = sync_server::Server::builder().database_url(&url).dynamic_table("Notes").build().await;
//! # Ok(()) }
//! ```
//!
//! - Any failure (no PostgreSQL installed, initdb failing, no port) is an error, and
//!   [`PgServer::shared`] panics with it: tests that need PostgreSQL fail loudly, they never skip
//!   (CI installs Debian's `postgresql` package, see `.ci/run`).
//! - The script runs until its stdin closes. The [`PgServer`] holds that pipe, so the server and
//!   its folder go when the value is dropped or, for [`PgServer::shared`], when the test process
//!   ends in any way (a panic or a kill included).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::Duration;

use sqlx::{Connection, PgConnection};

/// How long initdb and the first start may take.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// The PostgreSQL server could not be started or a database could not be made.
#[derive(Debug, thiserror::Error)]
#[error("test PostgreSQL: {0}")]
pub struct PgError(String);

/// A running PostgreSQL server on 127.0.0.1, stopped (and its folder removed) when dropped.
#[derive(Debug)]
pub struct PgServer {
    url: String,
    child: Child,
    stdin: Option<ChildStdin>,
}

/// The script that runs the server (`scripts/postgres.sh` at the workspace root).
pub fn script() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/postgres.sh"))
}

impl PgServer {
    /// Starts a server in a new folder under the temp directory.
    pub fn start() -> Result<PgServer, PgError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sync-test-pg-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let mut child = Command::new("bash")
            .arg(script())
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| PgError(format!("cannot run {}: {e}", script().display())))?;
        let (Some(stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            return Err(PgError("no pipes to the script".to_owned()));
        };
        let (tx, rx) = mpsc::channel();
        let err_tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.trim().strip_prefix("ready ") {
                    let _ = tx.send(Ok(url.to_owned()));
                }
            }
        });
        std::thread::spawn(move || {
            // The script writes to stderr only when it fails; the whole text is the error.
            let text: Vec<String> = BufReader::new(stderr).lines().map_while(Result::ok).collect();
            if !text.is_empty() {
                let _ = err_tx.send(Err(text.join("\n")));
            }
        });
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(Ok(url)) => Ok(PgServer { url, child, stdin: Some(stdin) }),
            Ok(Err(message)) => {
                let _ = child.wait();
                Err(PgError(message))
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(PgError(format!("{} printed no ready line within {START_TIMEOUT:?}", script().display())))
            }
        }
    }

    /// One server for the whole test process, started on first use.
    ///
    /// # Panics
    /// When PostgreSQL cannot start: tests that need it fail loudly.
    pub fn shared() -> &'static PgServer {
        static SERVER: OnceLock<PgServer> = OnceLock::new();
        SERVER.get_or_init(|| match PgServer::start() {
            Ok(s) => s,
            Err(e) => panic!("PostgreSQL must be installed and start for these tests: {e}"),
        })
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres` (the superuser, trust authentication).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Creates a new, empty database and returns its URL.
    pub async fn fresh_database(&self) -> Result<String, PgError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!("t_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let mut conn = PgConnection::connect(&self.url).await.map_err(|e| PgError(format!("connect: {e}")))?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .map_err(|e| PgError(format!("CREATE DATABASE {name}: {e}")))?;
        let _ = conn.close().await;
        let base = self.url.rsplit_once('/').map_or(self.url.as_str(), |(base, _)| base);
        Ok(format!("{base}/{name}"))
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // End of file on the script's stdin: it stops the server and removes the folder.
        drop(self.stdin.take());
        for _ in 0..500 {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
