//! Tables across restarts: the catalogue, SQL names, upgrades and what is refused.

use serde_json::json;
use store_diesel::DieselStore;
use sync_core::backend::{StoreError, StoreExt};
use sync_core::{Column, ColumnType, Query, Record, Store, TableSchema};

fn todo_v1() -> TableSchema {
    TableSchema::new("Todo", vec![Column::new("text", ColumnType::String)]).expect("schema")
}

fn todo_v2() -> TableSchema {
    TableSchema::new(
        "Todo",
        vec![
            Column::new("text", ColumnType::String),
            Column::nullable("due", ColumnType::DateTime),
            Column::nullable("score", ColumnType::Real),
        ],
    )
    .expect("schema")
}

fn row(schema: &TableSchema, v: serde_json::Value) -> Record {
    schema.conform_local(Record::from_json(v).expect("record")).expect("fits")
}

async fn put(store: &DieselStore, table: &str, r: Record) {
    let table = table.to_owned();
    store.transact(move |tx| tx.upsert(&table, &r)).await.expect("upsert");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_are_known_after_reopen_and_upgrade_later() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("t.db");
    {
        let store = DieselStore::open(&path).await.expect("open");
        store.ensure_table(&todo_v1()).await.expect("v1");
        put(&store, "Todo", row(&todo_v1(), json!({"id": "1", "text": "milk"}))).await;
    }
    let store = DieselStore::open(&path).await.expect("reopen");
    // Known from the catalogue before ensure_table runs again.
    assert_eq!(store.get("Todo", "1").await.expect("get"), Some(row(&todo_v1(), json!({"id": "1", "text": "milk"}))));
    store.ensure_table(&todo_v2()).await.expect("upgrade to v2");
    let upgraded = row(&todo_v2(), json!({"id": "1", "text": "milk"}));
    assert_eq!(store.get("Todo", "1").await.expect("get"), Some(upgraded));
    put(&store, "Todo", row(&todo_v2(), json!({"id": "2", "text": "jam", "score": 5, "due": "2024-01-01T00:00:00Z"})))
        .await;
    store.close().await.expect("close");
    assert!(!dir.path().join("t.db-wal").exists(), "closing the last connection checkpoints and removes the WAL");

    let store = DieselStore::open(&path).await.expect("reopen again");
    let got = store.get("Todo", "2").await.expect("get").expect("row 2");
    assert_eq!(got.get("score"), Some(&json!(5.0)), "a REAL reads back as a float");
    assert_eq!(got.get("due"), Some(&json!("2024-01-01T00:00:00.000Z")));
    // The old schema again (an older app on the same file): `score` and `due` are retained, and
    // survive an update of the row, across a reopen.
    store.ensure_table(&todo_v1()).await.expect("v1 on the v2 file");
    assert_eq!(store.get("Todo", "2").await.expect("get"), Some(row(&todo_v1(), json!({"id": "2", "text": "jam"}))));
    put(&store, "Todo", row(&todo_v1(), json!({"id": "2", "text": "jam!"}))).await;
    store.close().await.expect("close");
    let store = DieselStore::open(&path).await.expect("reopen a third time");
    store.ensure_table(&todo_v2()).await.expect("v2 again");
    let got = store.get("Todo", "2").await.expect("get").expect("row 2");
    assert_eq!((got.get("text"), got.get("score")), (Some(&json!("jam!")), Some(&json!(5.0))), "the update kept score");
    assert_eq!(store.query("Todo", &Query::new()).await.expect("query").items.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_twins_and_reserved_names_get_their_own_sql_names_for_good() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("names.db");
    let upper = TableSchema::new("Todo", vec![Column::new("text", ColumnType::String)]).expect("schema");
    let lower = TableSchema::new("todo", vec![Column::nullable("n", ColumnType::Integer)]).expect("schema");
    let reserved = TableSchema::new("sqlite_stat1", vec![Column::new("text", ColumnType::String)]).expect("schema");
    {
        let store = DieselStore::open(&path).await.expect("open");
        for s in [&upper, &lower, &reserved] {
            store.ensure_table(s).await.expect("ensure_table");
        }
        put(&store, "Todo", row(&upper, json!({"id": "1", "text": "upper"}))).await;
        put(&store, "todo", row(&lower, json!({"id": "1", "n": 1}))).await;
        put(&store, "sqlite_stat1", row(&reserved, json!({"id": "1", "text": "reserved"}))).await;
    }
    // Reopen in the other order: the names chosen at creation stay.
    let store = DieselStore::open(&path).await.expect("reopen");
    for s in [&reserved, &lower, &upper] {
        store.ensure_table(s).await.expect("ensure_table after reopen");
    }
    assert_eq!(store.get("Todo", "1").await.expect("get"), Some(row(&upper, json!({"id": "1", "text": "upper"}))));
    assert_eq!(store.get("todo", "1").await.expect("get"), Some(row(&lower, json!({"id": "1", "n": 1}))));
    let r = store.get("sqlite_stat1", "1").await.expect("get");
    assert_eq!(r, Some(row(&reserved, json!({"id": "1", "text": "reserved"}))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incompatible_changes_are_refused_in_memory_too() {
    let store = DieselStore::open_in_memory().await.expect("open");
    store.ensure_table(&todo_v2()).await.expect("v2");
    let retyped = TableSchema::new(
        "Todo",
        vec![
            Column::new("text", ColumnType::String),
            Column::nullable("due", ColumnType::String),
            Column::nullable("score", ColumnType::Real),
        ],
    )
    .expect("schema");
    assert!(matches!(store.ensure_table(&retyped).await, Err(StoreError::IncompatibleSchema { .. })));
    let tightened = TableSchema::new(
        "Todo",
        vec![
            Column::new("text", ColumnType::String),
            Column::new("due", ColumnType::DateTime),
            Column::nullable("score", ColumnType::Real),
        ],
    )
    .expect("schema");
    assert!(matches!(store.ensure_table(&tightened).await, Err(StoreError::IncompatibleSchema { .. })));
    store.ensure_table(&todo_v2()).await.expect("the stored schema still opens");
}
