//! Tests of what the conformance suite does not reach: the memory store's own guarantees.

use std::time::{Duration, Instant};

use serde_json::json;
use sync_core::backend::apply_pull_page;
use sync_core::backend::{NewOperation, OperationFilter, StoreExt};
use sync_core::{Column, ColumnType, OperationKind, Record, Store, TableSchema};

use super::MemoryStore;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().build().expect("runtime").block_on(f)
}

fn schema() -> TableSchema {
    TableSchema::new("T", vec![Column::nullable("n", ColumnType::Integer)]).expect("schema")
}

#[test]
fn a_panicking_transaction_rolls_back_and_leaves_the_store_usable() {
    block_on(async {
        let store = MemoryStore::new();
        store.ensure_table(&schema()).await.expect("table");
        let s = store.clone();
        let outcome = std::thread::spawn(move || {
            block_on(s.transaction(Box::new(|tx| {
                tx.upsert("T", &Record::from_json(json!({"id": "a", "n": 1})).expect("record"))?;
                tx.set_config("k", "v")?;
                panic!("work panicked");
            })))
        })
        .join();
        assert!(outcome.is_err(), "the panic goes on to the caller");
        assert_eq!(store.get("T", "a").await.expect("get"), None);
        assert_eq!(store.transact(|tx| tx.config("k")).await.expect("config"), None);
        store.transact(|tx| tx.set_config("k", "w")).await.expect("the store is still usable");
    });
}

#[test]
fn clones_share_the_data() {
    block_on(async {
        let a = MemoryStore::new();
        let b = a.clone();
        a.ensure_table(&schema()).await.expect("table");
        assert_eq!(b.get("T", "x").await.expect("get"), None);
        assert!(format!("{b:?}").contains("\"T\": 0"));
    });
}

#[test]
fn a_hundred_thousand_pending_operations_stay_fast() {
    block_on(async {
        let store = MemoryStore::new();
        store.ensure_table(&schema()).await.expect("table");
        let started = Instant::now();
        store
            .transact(|tx| {
                for i in 0..100_000u32 {
                    let kind = OperationKind::Update;
                    tx.enqueue(NewOperation { kind, table: "T".into(), item_id: format!("i{i}"), item: None })?;
                }
                Ok(())
            })
            .await
            .expect("enqueue");
        // A pull page checks every row against the queue.
        let rows: Vec<Record> = (0..1_000u32)
            .map(|i| Record::from_json(json!({"id": format!("i{}", i * 150), "n": i})).expect("row"))
            .collect();
        let out = store.transact(move |tx| apply_pull_page(tx, "T", &rows, None)).await.expect("page");
        assert_eq!(out.skipped, 667);
        // Per-item lookups and an `after` scan with a limit.
        let (one, next) = store
            .transact(|tx| {
                let one = tx.operations(&OperationFilter::item("T", "i99999"))?;
                let next =
                    tx.operations(&OperationFilter { after: Some(99_990), limit: Some(3), ..Default::default() })?;
                Ok((one, next))
            })
            .await
            .expect("lookups");
        assert_eq!(one.len(), 1);
        assert_eq!(next.iter().map(|o| o.id).collect::<Vec<_>>(), vec![99_991, 99_992, 99_993]);
        // Generous even for a debug build on a loaded machine; a linear scan per row would take minutes.
        assert!(started.elapsed() < Duration::from_secs(60), "took {:?}", started.elapsed());
    });
}
