//! What SQLite alone costs to store the pulled rows: the floor under the client CPU of section 1.
//!
//! The same number of `Item` rows, of the pull's shape (ids, two canonical date-times, a
//! version, a name, a number, a flag), written by one `INSERT … SELECT … ON CONFLICT DO UPDATE`
//! per 1,000 rows that makes its rows inside SQLite (a recursive CTE): no parsing, no binding,
//! no engine, into a database the store created (same table and index), with the store's
//! pragmas (WAL, `synchronous = FULL`). Any client that stores these rows in SQLite pays at
//! least this on top of fetching and parsing them.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use store_diesel::DieselStore;
use sync_core::SyncContext;

use crate::model::Item;
use crate::pull::cpu_time;
use crate::BenchError;

/// Rows per transaction, as the engine stores a page of 1,000.
const PER_TRANSACTION: u64 = 1_000;

/// The CPU time of this process for storing `rows` rows as described above.
pub async fn sqlite_alone(rows: u64) -> Result<Duration, BenchError> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("floor.db");
    let store = DieselStore::open(&path).await?;
    SyncContext::builder(store).build().await?.table::<Item>().await?;
    let path = path.to_str().ok_or_else(|| BenchError::new("temp path is not UTF-8"))?.to_owned();
    tokio::task::spawn_blocking(move || -> Result<Duration, BenchError> {
        let mut conn = SqliteConnection::establish(&path).map_err(|e| BenchError::new(e.to_string()))?;
        conn.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
        let insert = r#"
            WITH RECURSIVE n(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
            INSERT INTO "Item" ("id", "createdAt", "updatedAt", "version", "deleted", "name", "n", "flag")
            SELECT printf('b%03d-%06d', i / 10000, i), printf('2024-01-01T00:%02d:%02d.000Z', i / 600000, (i / 10000) % 60),
                   printf('2024-01-01T00:%02d:%02d.000Z', i / 600000, (i / 10000) % 60), 'MQ==', 0,
                   printf('b%03d-%06d', i / 10000, i), i * 1.0, i % 2
            FROM n WHERE true
            ON CONFLICT ("id") DO UPDATE SET "createdAt" = excluded."createdAt", "updatedAt" = excluded."updatedAt",
                "version" = excluded."version", "deleted" = excluded."deleted", "name" = excluded."name",
                "n" = excluded."n", "flag" = excluded."flag""#;
        let start = cpu_time()?;
        let mut from = 0;
        while from < rows {
            let to = (from + PER_TRANSACTION).min(rows);
            conn.immediate_transaction(|conn| {
                diesel::sql_query(insert)
                    .bind::<BigInt, _>(i64::try_from(from).unwrap_or(i64::MAX))
                    .bind::<BigInt, _>(i64::try_from(to).unwrap_or(i64::MAX))
                    .execute(conn)
            })?;
            from = to;
        }
        Ok(cpu_time()?.saturating_sub(start))
    })
    .await
    .map_err(|e| BenchError::new(e.to_string()))?
}
