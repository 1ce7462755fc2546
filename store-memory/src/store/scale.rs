//! How the memory store's costs grow with a large fixture: one million rows and one million
//! queued operations. Ignored by default (it builds the fixture first); run it in release mode:
//!
//! ```text
//! cargo test --release -p store-memory --lib -- --ignored --nocapture scale
//! ```
//!
//! It prints one line per measurement and checks each answer, so a speed-up can never come from
//! a wrong result.

use std::time::Instant;

use serde_json::json;
use sync_core::backend::{apply_pull_page, NewOperation, OperationFilter, StoreExt};
use sync_core::{column, Column, ColumnType, OperationKind, Query, Record, Store, TableSchema};

use super::MemoryStore;

const ROWS: usize = 1_000_000;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().build().expect("runtime").block_on(f)
}

fn id(i: usize) -> String {
    format!("item-{i:07}")
}

/// A text that does not follow the id order, so ordering by it really sorts.
fn text(i: usize) -> String {
    format!("t{:07}", (i * 7_919) % ROWS)
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = f();
    eprintln!("scale: {what}: {:.3} s", started.elapsed().as_secs_f64());
    out
}

#[test]
#[ignore = "builds a million-row fixture; run in release mode with --ignored"]
fn scale_a_million_rows_and_operations() {
    {
        let schema = TableSchema::new(
            "T",
            vec![Column::new("text", ColumnType::String), Column::nullable("n", ColumnType::Integer)],
        )
        .expect("schema");
        let other = TableSchema::new("Other", vec![]).expect("schema");
        let store = MemoryStore::new();
        block_on(store.ensure_table(&schema)).expect("table");
        block_on(store.ensure_table(&other)).expect("table");
        let rows: Vec<Record> = (0..ROWS)
            .map(|i| {
                let r = Record::from_json(json!({"id": id(i), "text": text(i), "n": i})).expect("record");
                schema.conform_local(r).expect("fits")
            })
            .collect();
        block_on(store.transact(move |tx| {
            for r in &rows {
                tx.upsert("T", r)?;
            }
            for i in 0..ROWS {
                let kind = OperationKind::Update;
                tx.enqueue(NewOperation { kind, table: "T".into(), item_id: id(i), item: None })?;
            }
            Ok(())
        }))
        .expect("fixture");

        // Warm up: the first query that allocates after the fixture's million temporary records
        // were freed pays for the allocator's clean-up (~0.3 s). Other ids than those timed.
        let warm = Query::new().filter(column("id").is_in((0..1000).map(|i| id(i * 997 + 1))));
        assert_eq!(block_on(store.query("T", &warm)).expect("query").items.len(), 1000);

        let ids: Vec<String> = (0..1000).map(|i| id(i * 997)).collect();
        let q = Query::new().filter(column("id").is_in(ids.clone()));
        let out = timed("id in (1000 values), 1M rows", || block_on(store.query("T", &q))).expect("query");
        assert_eq!(out.items.len(), 1000);

        let q = Query::new().filter(column("id").eq(id(4242)).and(column("n").ge(0)));
        let out = timed("id eq x and n ge 0, 1M rows", || block_on(store.query("T", &q))).expect("query");
        assert_eq!(out.items.len(), 1);

        let texts: Vec<String> = (0..1000).map(|i| text(i * 997)).collect();
        let q = Query::new().filter(column("text").is_in(texts));
        let out = timed("text in (1000 values), 1M rows", || block_on(store.query("T", &q))).expect("query");
        assert_eq!(out.items.len(), 1000);

        let q = Query::new().order_by(column("text").asc()).top(10);
        let out = timed("order by text, top 10, 1M rows", || block_on(store.query("T", &q))).expect("query");
        let first: Vec<String> =
            out.items.iter().map(|r| r.get("text").and_then(|v| v.as_str()).unwrap_or("").to_owned()).collect();
        assert_eq!(first, (0..10).map(|i| format!("t{i:07}")).collect::<Vec<_>>());

        let q = Query::new().order_by(column("text").desc()).skip(10).top(10).with_total_count();
        let out = timed("order by text desc, skip 10 top 10 with count, 1M rows", || block_on(store.query("T", &q)))
            .expect("query");
        assert_eq!(out.total_count, Some(ROWS as u64));
        assert_eq!(out.items[0].get("text").and_then(|v| v.as_str()), Some(format!("t{:07}", ROWS - 11).as_str()));

        let n = timed("count_operations(table Other), 1M queued in T", || {
            block_on(store.transact(|tx| tx.count_operations(&OperationFilter::table("Other"))))
        })
        .expect("count");
        assert_eq!(n, 0);

        let n = timed("count_operations(table T), 1M queued in T", || {
            block_on(store.transact(|tx| tx.count_operations(&OperationFilter::table("T"))))
        })
        .expect("count");
        assert_eq!(n, ROWS as u64);

        let page: Vec<Record> = (0..1000)
            .map(|i| {
                Record::from_json(json!({"id": format!("o{i}"), "updatedAt": "2024-01-01T00:00:00.000Z",
                                         "version": "v1", "deleted": false}))
                .expect("row")
            })
            .collect();
        let page: Vec<Record> = page.into_iter().map(|r| other.conform_remote(r).expect("fits")).collect();
        timed("100 pulled pages of 1000 rows into Other, 1M queued in T", || {
            for _ in 0..100 {
                let page = page.clone();
                block_on(store.transact(move |tx| apply_pull_page(tx, "Other", &page, None))).expect("page");
            }
        });
    }
}
