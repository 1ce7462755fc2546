//! What one stored write costs a server on this machine, measured beside the POSTs of section 7.
//!
//! A server may answer a POST only once the item is stored, so a sequential client waits for
//! the round trip and for that write, one after the other. The echo server measures the first
//! ([`crate::echo_server`]); this module measures the second, with no server in between:
//!
//! - [`sqlite_commit`]: one row inserted in its own `BEGIN IMMEDIATE` transaction, into a file
//!   in WAL mode with `synchronous = FULL` (sync-server's SQLite settings), so each commit waits
//!   for the disk.
//! - [`postgres_insert`]: one row inserted by one prepared statement outside a transaction, on
//!   the same PostgreSQL server sync-server uses: one round trip to it and its own work.
//!
//! Neither has the clock step, the checks or the JSON that a real write has. So
//! `1 / (echo round trip + stored write)` is more than any server can reach one POST at a time,
//! and that rate over Node's is the highest sequential ratio this machine allows.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use sqlx::{Connection as _, PgConnection};

use crate::report::per_each;
use crate::BenchError;

/// The mean time of one durable SQLite commit of one small row, over `count` commits (after
/// `count / 10` that warm the file and its WAL up).
pub async fn sqlite_commit(count: u64) -> Result<Duration, BenchError> {
    tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("commit-floor.sqlite");
        let mut conn = SqliteConnection::establish(&path.display().to_string())?;
        conn.batch_execute(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
             CREATE TABLE t (id TEXT PRIMARY KEY NOT NULL, text TEXT NOT NULL)",
        )?;
        let mut insert = |i: u64| {
            conn.immediate_transaction(|c| {
                diesel::sql_query("INSERT INTO t (id, text) VALUES (?, ?)")
                    .bind::<Text, _>(format!("row-{i}"))
                    .bind::<Text, _>("some text")
                    .execute(c)
            })
        };
        for i in 0..count / 10 {
            insert(i)?;
        }
        let start = Instant::now();
        for i in count / 10..count / 10 + count {
            insert(i)?;
        }
        Ok(per_each(start.elapsed(), count))
    })
    .await
    .map_err(|e| BenchError::new(e.to_string()))?
}

/// The mean time of one single-row `INSERT` on the PostgreSQL database at `url`, over `count`
/// inserts (after `count / 10` that prepare the statement and warm the connection up).
pub async fn postgres_insert(url: &str, count: u64) -> Result<Duration, BenchError> {
    let mut conn = PgConnection::connect(url).await?;
    // Left behind by a run that failed half-way, if any.
    sqlx::query("DROP TABLE IF EXISTS commit_floor").execute(&mut conn).await?;
    sqlx::query("CREATE TABLE commit_floor (id TEXT PRIMARY KEY NOT NULL, text TEXT NOT NULL)")
        .execute(&mut conn)
        .await?;
    for i in 0..count / 10 {
        insert_row(&mut conn, i).await?;
    }
    let start = Instant::now();
    for i in count / 10..count / 10 + count {
        insert_row(&mut conn, i).await?;
    }
    let elapsed = start.elapsed();
    sqlx::query("DROP TABLE commit_floor").execute(&mut conn).await?;
    conn.close().await?;
    Ok(per_each(elapsed, count))
}

/// The `i`-th row of [`postgres_insert`].
async fn insert_row(conn: &mut PgConnection, i: u64) -> Result<(), BenchError> {
    sqlx::query("INSERT INTO commit_floor (id, text) VALUES ($1, $2)")
        .bind(format!("row-{i}"))
        .bind("some text")
        .execute(conn)
        .await?;
    Ok(())
}
