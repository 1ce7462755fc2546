//! Local write throughput of `DieselStore` (run with `cargo bench -p store-diesel`).
//!
//! Prints inserts per second for:
//! - **single**: one local change per transaction (`apply_local_change` inside `transaction`), so
//!   one commit — and, with `synchronous = FULL`, one WAL sync — per change;
//! - **batch**: 1,000 local changes per transaction (the path a pulled page or an import takes);
//! - **plain**: the same rows written with a plain Diesel bulk insert (`insert_into(..).values(&rows)`
//!   through `table!` definitions) into the same tables, plus the equivalent queue rows, also
//!   1,000 per transaction — the floor any store on Diesel pays;
//!
//! and the ratio batch / plain (the goal is at least 0.5). Every variant writes a file database in
//! WAL mode with `synchronous = FULL` and the same schema and indexes (single is also shown with
//! `synchronous = NORMAL`, where a commit does not wait for the disk).
//!
//! Set `BENCH_N` to change N (default 100,000; single uses N / 50). The machine may be shared and
//! noisy: batch and plain run interleaved, three rounds each, and the best round of each counts.
//! `BENCH_ONLY=single|batch|plain` runs one variant (for profiling).
#![allow(missing_docs)] // `table!` generates undocumented items.

use std::path::Path;
use std::time::Instant;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::json;
use store_diesel::{DieselStore, OpenOptions, Synchronous};
use sync_core::backend::apply_local_change;
use sync_core::backend::StoreExt;
use sync_core::LocalChange;
use sync_core::{Column, ColumnType, OperationKind, OperationState, Record, Store, TableSchema};

const BATCH: usize = 1_000;

diesel::table! {
    #[sql_name = "Bench"]
    bench (id) {
        id -> Text,
        #[sql_name = "createdAt"]
        created_at -> Nullable<Text>,
        #[sql_name = "updatedAt"]
        updated_at -> Nullable<Text>,
        version -> Nullable<Text>,
        deleted -> Integer,
        text -> Text,
        complete -> Integer,
        n -> Nullable<BigInt>,
        due -> Nullable<Text>,
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
#[diesel(table_name = bench)]
struct BenchRow<'a> {
    id: &'a str,
    created_at: Option<&'a str>,
    updated_at: Option<&'a str>,
    version: Option<&'a str>,
    deleted: i32,
    text: &'a str,
    complete: i32,
    n: Option<i64>,
    due: Option<&'a str>,
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

/// One entity's fields, owned, for the plain insert.
struct Fields {
    id: String,
    text: String,
    complete: bool,
    n: Option<i64>,
    due: Option<String>,
}

fn schema() -> TableSchema {
    TableSchema::new(
        "Bench",
        vec![
            Column::new("text", ColumnType::String),
            Column::new("complete", ColumnType::Bool),
            Column::nullable("n", ColumnType::Integer),
            Column::nullable("due", ColumnType::DateTime),
        ],
    )
    .expect("valid schema")
}

fn records(schema: &TableSchema, prefix: &str, n: usize) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let r = Record::from_json(json!({
                "id": format!("{prefix}-{i:08}"),
                "text": format!("item number {i} with some text"),
                "complete": i % 2 == 0,
                "n": i as i64,
                "due": "2024-05-01T10:00:00.000Z",
            }))
            .expect("valid record");
            schema.conform_local(r).expect("fits")
        })
        .collect()
}

async fn fresh_store(path: &Path, schema: &TableSchema) -> DieselStore {
    open_store(path, schema, Synchronous::Full).await
}

async fn open_store(path: &Path, schema: &TableSchema, sync: Synchronous) -> DieselStore {
    let store = DieselStore::open_with(path, OpenOptions::new().synchronous(sync)).await.expect("open");
    store.ensure_table(schema).await.expect("ensure_table");
    store
}

async fn single(dir: &Path, schema: &TableSchema, n: usize, sync: Synchronous) -> f64 {
    let store = open_store(&dir.join(format!("single-{sync:?}.db")), schema, sync).await;
    let rows = records(schema, "s", n);
    let start = Instant::now();
    for r in rows {
        let s = schema.clone();
        store.transact(move |tx| apply_local_change(tx, &s, LocalChange::Insert(r))).await.expect("local change");
    }
    n as f64 / start.elapsed().as_secs_f64()
}

async fn batch(dir: &Path, schema: &TableSchema, n: usize) -> f64 {
    let store = fresh_store(&dir.join("batch.db"), schema).await;
    let rows = records(schema, "b", n);
    let chunks: Vec<Vec<Record>> = rows.chunks(BATCH).map(<[Record]>::to_vec).collect();
    let start = Instant::now();
    for chunk in chunks {
        let s = schema.clone();
        store
            .transact(move |tx| {
                for r in chunk {
                    apply_local_change(tx, &s, LocalChange::Insert(r))?;
                }
                Ok(())
            })
            .await
            .expect("batch of local changes");
    }
    n as f64 / start.elapsed().as_secs_f64()
}

async fn plain(dir: &Path, schema: &TableSchema, n: usize) -> f64 {
    let path = dir.join("plain.db");
    // The same tables and indexes as the store creates.
    drop(fresh_store(&path, schema).await);
    let rows = records(schema, "p", n);
    let path = path.to_str().expect("utf-8 path").to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = SqliteConnection::establish(&path).expect("open");
        conn.batch_execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;")
            .expect("pragmas");
        let text = |r: &Record, c: &str| r.get(c).and_then(|v| v.as_str()).map(str::to_owned);
        let owned: Vec<Fields> = rows
            .iter()
            .map(|r| Fields {
                id: r.id().to_owned(),
                text: text(r, "text").unwrap_or_default(),
                complete: r.get("complete").and_then(|v| v.as_bool()).unwrap_or_default(),
                n: r.get("n").and_then(|v| v.as_i64()),
                due: text(r, "due"),
            })
            .collect();
        let start = Instant::now();
        for chunk in owned.chunks(BATCH) {
            let items: Vec<BenchRow<'_>> = chunk
                .iter()
                .map(|f| BenchRow {
                    id: &f.id,
                    created_at: None,
                    updated_at: None,
                    version: None,
                    deleted: 0,
                    text: &f.text,
                    complete: i32::from(f.complete),
                    n: f.n,
                    due: f.due.as_deref(),
                })
                .collect();
            let ops: Vec<OpRow<'_>> = chunk
                .iter()
                .map(|f| OpRow {
                    kind: OperationKind::Insert.code(),
                    table_name: "Bench",
                    item_id: &f.id,
                    state: OperationState::Pending.code(),
                    version: 1,
                    item: None,
                })
                .collect();
            conn.immediate_transaction(|conn| {
                diesel::insert_into(bench::table).values(&items).execute(conn)?;
                diesel::insert_into(operations::table).values(&ops).execute(conn)?;
                Ok::<_, diesel::result::Error>(())
            })
            .expect("plain bulk insert");
        }
        n as f64 / start.elapsed().as_secs_f64()
    })
    .await
    .expect("blocking task")
}

fn main() {
    let n: usize = std::env::var("BENCH_N").ok().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let only = std::env::var("BENCH_ONLY").ok();
    let runs = |name: &str| only.as_deref().is_none_or(|o| o == name);
    let n_single = (n / 50).max(100);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let schema = schema();
    rt.block_on(async {
        println!("local_writes (file database, WAL, synchronous = FULL)");
        if runs("single") {
            let dir = tempfile::tempdir().expect("temp dir");
            let rate = single(dir.path(), &schema, n_single, Synchronous::Full).await;
            println!("  single local changes, 1 per transaction:          {rate:>8.0} inserts/s  (N = {n_single})");
            let rate = single(dir.path(), &schema, n_single, Synchronous::Normal).await;
            println!("    the same with synchronous = NORMAL:             {rate:>8.0} inserts/s  (N = {n_single})");
        }
        let (mut best_batch, mut best_plain) = (0.0f64, 0.0f64);
        let rounds = if only.is_some() { 1 } else { 3 };
        for round in 0..rounds {
            let dir = tempfile::tempdir().expect("temp dir");
            if runs("batch") {
                let rate = batch(dir.path(), &schema, n).await;
                println!("  round {round}: batch {rate:>8.0} inserts/s");
                best_batch = best_batch.max(rate);
            }
            if runs("plain") {
                let rate = plain(dir.path(), &schema, n).await;
                println!("  round {round}: plain {rate:>8.0} inserts/s");
                best_plain = best_plain.max(rate);
            }
        }
        if runs("batch") {
            println!("  batch path, {BATCH} local changes per transaction:   {best_batch:>8.0} inserts/s  (N = {n}, best of {rounds})");
        }
        if runs("plain") {
            println!("  plain Diesel bulk insert + queue rows:              {best_plain:>8.0} inserts/s  (N = {n}, best of {rounds})");
        }
        if best_plain > 0.0 && best_batch > 0.0 {
            println!("  batch / plain: {:.2} (goal >= 0.5)", best_batch / best_plain);
        }
    });
}
