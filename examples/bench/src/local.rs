//! Section 3, local writes: SyncTable inserts on a file DieselStore, one per transaction and
//! through the batch API, against a plain Diesel bulk insert of the same rows plus their queue
//! rows. Every variant writes a fresh file database with the store's own tables, indexes and
//! pragmas (WAL, `synchronous = FULL`).
#![allow(missing_docs)] // `diesel::table!` generates undocumented items.

use std::path::Path;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use store_diesel::DieselStore;
use sync_core::{OperationKind, OperationState, SyncContext};

use crate::model::Item;
use crate::report::{best, dur, rate, thousands, Summary};
use crate::BenchError;

const SECTION: &str = "3 local writes";
/// Rows per transaction of the batch API and of the plain bulk insert.
pub const BATCH: usize = 1_000;

diesel::table! {
    #[sql_name = "Item"]
    item (id) {
        id -> Text,
        #[sql_name = "createdAt"]
        created_at -> Nullable<Text>,
        #[sql_name = "updatedAt"]
        updated_at -> Nullable<Text>,
        version -> Nullable<Text>,
        deleted -> Integer,
        name -> Text,
        n -> Double,
        flag -> Integer,
    }
}

diesel::table! {
    #[sql_name = "__operations"]
    operations (id) {
        id -> BigInt,
        kind -> BigInt,
        #[sql_name = "tableName"]
        table_name -> Text,
        #[sql_name = "itemId"]
        item_id -> Text,
        state -> BigInt,
        version -> BigInt,
        item -> Nullable<Text>,
    }
}

#[derive(Insertable)]
#[diesel(table_name = item)]
struct ItemRow<'a> {
    id: &'a str,
    created_at: Option<&'a str>,
    updated_at: Option<&'a str>,
    version: Option<&'a str>,
    deleted: i32,
    name: &'a str,
    n: f64,
    flag: i32,
}

#[derive(Insertable)]
#[diesel(table_name = operations)]
struct OpRow<'a> {
    kind: i64,
    table_name: &'a str,
    item_id: &'a str,
    state: i64,
    version: i64,
    item: Option<&'a str>,
}

/// What section 3 runs.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Rows of the batch and plain runs.
    pub rows: u64,
    /// Rows of the one-per-transaction run.
    pub single_rows: u64,
    /// Rounds of (batch, plain), alternating which goes first.
    pub rounds: usize,
}

/// Runs section 3.
pub async fn run(cfg: Config, summary: &mut Summary) -> Result<(), BenchError> {
    println!("\n## 3. Local writes (file database, WAL, synchronous = FULL)");
    let items = |prefix: &str, n: u64| (0..n).map(|i| Item::new(prefix, i)).collect::<Vec<_>>();

    let dir = tempfile::tempdir()?;
    let singles = single_vs_bare(dir.path(), items("s", cfg.single_rows)).await?;
    let (single_t, bare_t, single_ratio) = (singles.ours, singles.bare, singles.median_ratio);
    println!(
        "  one SyncTable::insert per transaction: {} for {} ({} inserts/s, {} per insert)",
        dur(single_t),
        thousands(cfg.single_rows),
        rate(cfg.single_rows, single_t),
        dur(single_t / cfg.single_rows.max(1) as u32),
    );
    println!(
        "  bare Diesel, one BEGIN IMMEDIATE; INSERT item; INSERT queue row; COMMIT per row: {} ({} inserts/s); \
         SyncTable::insert / bare, median of {} alternating slices of {SLICE} = {single_ratio:.2}×",
        dur(bare_t),
        rate(cfg.single_rows, bare_t),
        singles.slices,
    );

    let (mut batch_times, mut plain_times) = (Vec::new(), Vec::new());
    for round in 0..cfg.rounds {
        let order = if round % 2 == 0 { [true, false] } else { [false, true] };
        for is_batch in order {
            let dir = tempfile::tempdir()?;
            if is_batch {
                let t = batch(dir.path(), items("b", cfg.rows)).await?;
                println!(
                    "  round {round}: insert_batch ({BATCH} per call) {:>9} ({} inserts/s)",
                    dur(t),
                    rate(cfg.rows, t)
                );
                batch_times.push(t);
            } else {
                let t = plain(dir.path(), items("p", cfg.rows)).await?;
                println!("  round {round}: plain Diesel bulk insert  {:>9} ({} inserts/s)", dur(t), rate(cfg.rows, t));
                plain_times.push(t);
            }
        }
    }
    let (b, p) = (best(&batch_times), best(&plain_times));
    let ratio = p.as_secs_f64() / b.as_secs_f64();
    println!("  best: batch {}, plain {}: batch speed / plain speed {ratio:.2}", dur(b), dur(p));
    let n = thousands(cfg.rows);
    summary.info(
        SECTION,
        format!("{} SyncTable inserts, one per transaction", thousands(cfg.single_rows)),
        format!("{} inserts/s", rate(cfg.single_rows, single_t)),
    );
    summary.info(
        SECTION,
        "one insert per transaction: SyncTable::insert / bare Diesel BEGIN; INSERT; INSERT; COMMIT (median slice)",
        format!("{single_ratio:.2}×"),
    );
    summary.info(SECTION, format!("{n} inserts, insert_batch of {BATCH}"), format!("{} inserts/s", rate(cfg.rows, b)));
    summary.info(
        SECTION,
        format!("{n} rows, plain Diesel bulk insert + queue rows ({BATCH}/tx)"),
        format!("{} inserts/s", rate(cfg.rows, p)),
    );
    summary.goal(SECTION, "batch API speed / plain Diesel speed", format!("{ratio:.2}"), "≥ 0.8", ratio >= 0.8);
    Ok(())
}

async fn open(dir: &Path, name: &str) -> Result<(DieselStore, std::path::PathBuf), BenchError> {
    let path = dir.join(name);
    Ok((DieselStore::open(&path).await?, path))
}

async fn batch(dir: &Path, items: Vec<Item>) -> Result<Duration, BenchError> {
    let (store, _) = open(dir, "batch.db").await?;
    let ctx = SyncContext::builder(store).build().await?;
    let table = ctx.table::<Item>().await?;
    let mut chunks = Vec::new();
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        chunks.push(items.by_ref().take(BATCH).collect::<Vec<_>>());
    }
    let start = Instant::now();
    for chunk in chunks {
        table.insert_batch(chunk).await?;
    }
    Ok(start.elapsed())
}

/// Rows per slice when single inserts and their bare baseline alternate.
const SLICE: usize = 1_000;

/// One change per transaction, ours and bare, measured in alternating slices.
struct Singles {
    /// All of ours.
    ours: Duration,
    /// All of the baseline.
    bare: Duration,
    /// The median over slices of (ours / bare), so a burst of load spoils a slice, not the figure.
    median_ratio: f64,
    /// Slices of each.
    slices: usize,
}

/// `SyncTable::insert` of each item (one transaction each) against one change per transaction as
/// bare as Diesel makes it — per row, `BEGIN IMMEDIATE`, the item's INSERT, its queue row's
/// INSERT, `COMMIT` — into a database the store created, with its pragmas; in slices of
/// [`SLICE`] rows, alternating which goes first.
async fn single_vs_bare(dir: &Path, items: Vec<Item>) -> Result<Singles, BenchError> {
    let (store, _) = open(dir, "single.db").await?;
    let ctx = SyncContext::builder(store).build().await?;
    let table = ctx.table::<Item>().await?;
    let path = store_made_db(dir, "bare.db").await?;
    let mut conn = Some(connect(&path)?);
    let (mut ours, mut bare, mut ratios) = (Duration::ZERO, Duration::ZERO, Vec::new());
    for (k, slice) in items.chunks(SLICE).enumerate() {
        let (mut ours_t, mut bare_t) = (Duration::ZERO, Duration::ZERO);
        for ours_first in [k % 2 == 0, k % 2 != 0] {
            if ours_first {
                let start = Instant::now();
                for item in slice {
                    table.insert(item.clone()).await?;
                }
                ours_t = start.elapsed();
            } else {
                let (mut c, slice) = (conn.take().ok_or_else(|| BenchError::new("no connection"))?, slice.to_vec());
                let (c, t) = tokio::task::spawn_blocking(move || -> Result<_, BenchError> {
                    let start = Instant::now();
                    for i in &slice {
                        let (row, op) = (item_row(i), op_row(i));
                        c.immediate_transaction(|c| {
                            diesel::insert_into(item::table).values(&row).execute(c)?;
                            diesel::insert_into(operations::table).values(&op).execute(c)?;
                            Ok::<_, diesel::result::Error>(())
                        })?;
                    }
                    Ok((c, start.elapsed()))
                })
                .await
                .map_err(|e| BenchError::new(e.to_string()))??;
                conn = Some(c);
                bare_t = t;
            }
        }
        ours += ours_t;
        bare += bare_t;
        ratios.push(ours_t.as_secs_f64() / bare_t.as_secs_f64().max(1e-9));
    }
    ratios.sort_by(f64::total_cmp);
    let median_ratio = ratios.get(ratios.len() / 2).copied().unwrap_or(f64::NAN);
    Ok(Singles { ours, bare, median_ratio, slices: ratios.len() })
}

/// A file database with the store's tables and indexes for `Item`, made by the store itself.
async fn store_made_db(dir: &Path, name: &str) -> Result<String, BenchError> {
    let (store, path) = open(dir, name).await?;
    SyncContext::builder(store).build().await?.table::<Item>().await?;
    Ok(path.to_str().ok_or_else(|| BenchError::new("temp path is not UTF-8"))?.to_owned())
}

/// A plain Diesel connection with the store's pragmas.
fn connect(path: &str) -> Result<SqliteConnection, BenchError> {
    let mut conn = SqliteConnection::establish(path).map_err(|e| BenchError::new(e.to_string()))?;
    conn.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
    Ok(conn)
}

/// The item's row as the store writes a new local item.
fn item_row(i: &Item) -> ItemRow<'_> {
    ItemRow {
        id: &i.id,
        created_at: None,
        updated_at: None,
        version: None,
        deleted: 0,
        name: &i.name,
        n: i.n,
        flag: i32::from(i.flag),
    }
}

/// The queue row of a new local item.
fn op_row(i: &Item) -> OpRow<'_> {
    OpRow {
        kind: OperationKind::Insert.code(),
        table_name: "Item",
        item_id: &i.id,
        state: OperationState::Pending.code(),
        version: 1,
        item: None,
    }
}

/// The same rows and queue rows with `insert_into(..).values(&rows)`, `BATCH` per transaction,
/// into a database the store created (same tables and indexes), with the store's pragmas.
async fn plain(dir: &Path, items: Vec<Item>) -> Result<Duration, BenchError> {
    let path = store_made_db(dir, "plain.db").await?;
    tokio::task::spawn_blocking(move || -> Result<Duration, BenchError> {
        let mut conn = connect(&path)?;
        let start = Instant::now();
        for chunk in items.chunks(BATCH) {
            let rows: Vec<ItemRow<'_>> = chunk.iter().map(item_row).collect();
            let ops: Vec<OpRow<'_>> = chunk.iter().map(op_row).collect();
            conn.immediate_transaction(|conn| {
                diesel::insert_into(item::table).values(&rows).execute(conn)?;
                diesel::insert_into(operations::table).values(&ops).execute(conn)?;
                Ok::<_, diesel::result::Error>(())
            })?;
        }
        Ok(start.elapsed())
    })
    .await
    .map_err(|e| BenchError::new(e.to_string()))?
}
