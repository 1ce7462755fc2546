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

fn op(table: &str, item: &str) -> NewOperation {
    NewOperation { kind: OperationKind::Update, table: table.into(), item_id: item.into(), item: None }
}

/// What the queue index answers, per table and item: counts and ids.
async fn queue_view(store: &MemoryStore) -> Vec<(String, u64, Vec<u64>)> {
    let filters = [
        ("T", OperationFilter::table("T")),
        ("U", OperationFilter::table("U")),
        ("T+U", OperationFilter { tables: Some(vec!["U".into(), "T".into(), "U".into()]), ..Default::default() }),
        ("T/a", OperationFilter::item("T", "a")),
        ("U/a", OperationFilter::item("U", "a")),
        ("T after 1", OperationFilter { after: Some(1), ..OperationFilter::table("T") }),
        ("all", OperationFilter::all()),
    ];
    let mut out = Vec::new();
    for (name, filter) in filters {
        let f = filter.clone();
        let (count, ops) =
            store.transact(move |tx| Ok((tx.count_operations(&f)?, tx.operations(&f)?))).await.expect("read the queue");
        let ids: Vec<u64> = ops.iter().map(|o| o.id).collect();
        assert_eq!(count, ids.len() as u64, "{name}: the count agrees with the list");
        out.push((name.to_owned(), count, ids));
    }
    out
}

#[test]
fn the_queue_index_answers_per_table_and_item_and_rolls_back_with_the_transaction() {
    block_on(async {
        let store = MemoryStore::new();
        store
            .transact(|tx| {
                for (t, i) in [("T", "a"), ("U", "a"), ("T", "b"), ("T", "a"), ("U", "c")] {
                    tx.enqueue(op(t, i))?;
                }
                Ok(())
            })
            .await
            .expect("enqueue");
        let before = queue_view(&store).await;
        let counts: Vec<(&str, u64)> = before.iter().map(|(n, c, _)| (n.as_str(), *c)).collect();
        assert_eq!(
            counts,
            [("T", 3), ("U", 2), ("T+U", 5), ("T/a", 2), ("U/a", 1), ("T after 1", 2), ("all", 5)],
            "{before:?}"
        );
        assert_eq!(before[2].2, vec![1, 2, 3, 4, 5], "two tables' operations merge in queue order");

        // A failing transaction that adds, removes and moves operations between tables and items.
        let failed = store
            .transact(|tx| {
                tx.enqueue(op("T", "z"))?;
                tx.remove_operation(1)?;
                let mut moved = tx.operation(2)?.expect("op 2");
                moved.table = "T".into();
                moved.item_id = "b".into();
                tx.update_operation(&moved)?;
                tx.remove_operation(5)?;
                assert_eq!(tx.count_operations(&OperationFilter::table("U"))?, 0, "seen inside the transaction");
                Err::<(), _>(sync_core::backend::StoreError::NotFound { table: "x".into(), id: "y".into() })
            })
            .await;
        assert!(matches!(failed, Err(sync_core::backend::StoreError::NotFound { .. })), "{failed:?}");
        assert_eq!(queue_view(&store).await, before, "the index is put back with the operations");
    });
}

#[test]
fn id_lookups_give_what_a_scan_gives() {
    use sync_core::backend::{resolve_query, run_query};
    use sync_core::{column, Expr, Query};
    block_on(async {
        let store = MemoryStore::new();
        store.ensure_table(&schema()).await.expect("table");
        let rows: Vec<Record> = (0..40)
            .map(|i| {
                Record::from_json(json!({"id": format!("r{i:02}"), "n": i % 7, "deleted": i % 5 == 0})).expect("row")
            })
            .collect();
        let written = rows.clone();
        store.transact(move |tx| written.iter().try_for_each(|r| tx.upsert("T", r))).await.expect("rows");
        let stored: Vec<Record> = {
            let q = Query::new().include_deleted();
            store.query("T", &q).await.expect("all").items
        };
        let many: Vec<String> = (0..40).step_by(3).map(|i| format!("r{i:02}")).chain(["nope".to_owned()]).collect();
        let filters: Vec<Expr> = vec![
            column("id").eq("r03"),
            column("id").eq("r05"),
            column("id").eq("missing"),
            column("id").is_in(many.clone()),
            column("id").is_in(many.clone()).and(column("n").ge(3)),
            column("id").eq("r01").or(column("id").is_in(["r02", "r10"])),
            Expr::And(vec![column("id").is_in(many), !column("id").eq("r03")]),
            column("id").ne("r03").and(column("n").eq(2)),
        ];
        for filter in filters {
            for query in [
                Query::new().filter(filter.clone()),
                Query::new().filter(filter.clone()).include_deleted().with_total_count(),
                Query::new().filter(filter.clone()).order_by(column("n").desc()).skip(1).top(3).with_total_count(),
            ] {
                let expected = run_query(&stored, &resolve_query(&query, &schema()).expect("query"));
                assert_eq!(store.query("T", &query).await.expect("query"), expected, "{query:?}");
            }
        }
        let gone = store
            .transact(|tx| tx.delete_matching("T", Some(&column("id").is_in(["r05", "r06", "nope"]))))
            .await
            .expect("delete by id");
        assert_eq!(gone, 2, "a soft-deleted row (r05) is deleted too");
        assert_eq!(store.get("T", "r05").await.expect("get"), None);
        assert_eq!(store.get("T", "r06").await.expect("get"), None);
        assert!(store.get("T", "r07").await.expect("get").is_some());
    });
}
