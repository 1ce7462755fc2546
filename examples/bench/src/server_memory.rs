//! Section 7's memory figure: sync-server's peak resident memory (VmHWM) while a client pulls
//! every row of a table of 250,000 and of 1,000,000 rows. A server that streams pages holds one
//! page at a time, whatever the table's size, so the two peaks must match.
//!
//! The server runs in a child process (`bench server-memory-child --db FILE`: sync-server on a
//! SQLite file this process seeded beforehand, like section 7, and closed), so its whole life is
//! serving: its peak is what a server started on an existing table needs, with nothing left over
//! from writing the rows. This process pulls with plain keyset GETs (section 1's raw baseline)
//! and reads the child's `/proc/{pid}/status`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::memory::process_status_kb;
use crate::raw::RawClient;
use crate::report::{thousands, Summary};
use crate::server::OurServer;
use crate::BenchError;

const SECTION: &str = "7 server";

/// Measures the peak for each of `sizes` (smallest first) and reports whether it stays flat.
pub async fn run(sizes: [u64; 2], summary: &mut Summary) -> Result<(), BenchError> {
    let mut peaks = Vec::new();
    for rows in sizes {
        let (kb, requests) = peak_while_pulled(rows).await?;
        println!(
            "  sync-server (SQLite) peak RSS while {} rows are pulled ({requests} pages): {:.1} MB",
            thousands(rows),
            kb as f64 / 1024.0
        );
        summary.info(
            SECTION,
            format!("sync-server SQLite peak RSS serving a pull of {} rows", thousands(rows)),
            format!("{:.1} MB", kb as f64 / 1024.0),
        );
        peaks.push(kb);
    }
    let ratio = peaks[1] as f64 / peaks[0].max(1) as f64;
    summary.goal(
        SECTION,
        format!("sync-server peak RSS, {} / {} rows", thousands(sizes[1]), thousands(sizes[0])),
        format!("{ratio:.2}×"),
        "flat: ≤ 1.10×",
        ratio <= 1.10,
    );
    Ok(())
}

/// Seeds a new SQLite file with `rows` rows, starts the child on it, pulls them all, and returns
/// (the child's VmHWM in kB, requests).
async fn peak_while_pulled(rows: u64) -> Result<(u64, u64), BenchError> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("memory.sqlite");
    {
        let seeder = OurServer::start(format!("sqlite:{}", db.display()), None)?;
        seeder.seed(rows).await?;
    }
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .arg("server-memory-child")
        .arg("--db")
        .arg(&db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let result = async {
        let stdout = child.stdout.take().ok_or_else(|| BenchError::new("the child has no stdout"))?;
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        })
        .await
        .map_err(|e| BenchError::new(e.to_string()))??;
        let ready: Value = serde_json::from_str(line.trim())
            .map_err(|e| BenchError::new(format!("server-memory-child said {line:?}: {e}")))?;
        let url = ready["url"].as_str().ok_or_else(|| BenchError::new(format!("no url in {line:?}")))?;
        let (pulled, requests) = RawClient::new(url)?.pull("Item", 1_000).await?;
        if pulled != rows {
            return Err(BenchError::new(format!("pulled {pulled} rows of {rows}")));
        }
        Ok((process_status_kb(&child.id().to_string(), "VmHWM")?, requests))
    }
    .await;
    // Closing its stdin stops the child.
    drop(child.stdin.take());
    let _ = child.wait();
    result
}

/// The child: sync-server on the SQLite file `db` (seeded by the parent), serving until its
/// stdin closes. Prints `{"url": …}` once it listens.
pub async fn child_main(db: &Path) -> Result<(), BenchError> {
    let server = OurServer::start(format!("sqlite:{}", db.display()), None)?;
    println!("{}", json!({"url": server.url}));
    tokio::task::spawn_blocking(|| std::io::stdin().read_line(&mut String::new()))
        .await
        .map_err(|e| BenchError::new(e.to_string()))??;
    drop(server);
    Ok(())
}
