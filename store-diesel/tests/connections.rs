//! The connections: readers during a write, lock timeouts, panics, corrupt rows, WAL, batches.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use serde_json::json;
use store_diesel::{DieselStore, OpenOptions, Synchronous};
use sync_core::backend::{apply_local_change, apply_pull_page, Cursor};
use sync_core::backend::{OperationFilter, StoreError, StoreExt};
use sync_core::LocalChange;
use sync_core::{column, Column, ColumnType, Query, Record, Store, TableSchema};

/// The `updatedAt` of the pulled rows.
const T: &str = "2024-01-01T00:00:00.000Z";

fn schema() -> TableSchema {
    TableSchema::new(
        "Item",
        vec![
            Column::new("text", ColumnType::String),
            Column::nullable("done", ColumnType::Bool),
            Column::nullable("tags", ColumnType::Json),
        ],
    )
    .expect("schema")
}

fn item(id: &str, text: &str) -> Record {
    schema().conform_local(Record::from_json(json!({"id": id, "text": text})).expect("record")).expect("fits")
}

async fn file_store(dir: &tempfile::TempDir, options: OpenOptions) -> (DieselStore, String) {
    let path = dir.path().join("c.db");
    let store = DieselStore::open_with(&path, options).await.expect("open");
    store.ensure_table(&schema()).await.expect("ensure_table");
    (store, path.to_str().expect("utf-8").to_owned())
}

#[derive(QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_see_the_last_commit_while_a_write_is_in_progress() {
    let dir = tempfile::tempdir().expect("dir");
    let (store, _) = file_store(&dir, OpenOptions::new()).await;
    let store = std::sync::Arc::new(store);
    store.transact(|tx| tx.upsert("Item", &item("1", "committed"))).await.expect("seed");

    let (inside_tx, inside_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let writer = {
        let store = std::sync::Arc::clone(&store);
        tokio::spawn(async move {
            store
                .transact(move |tx| {
                    tx.upsert("Item", &item("1", "uncommitted"))?;
                    tx.upsert("Item", &item("2", "uncommitted"))?;
                    let _ = inside_tx.send(());
                    // Hold the write transaction open until the readers are done.
                    let _ = release_rx.recv_timeout(Duration::from_secs(10));
                    Ok(())
                })
                .await
        })
    };
    tokio::task::spawn_blocking(move || inside_rx.recv_timeout(Duration::from_secs(10)))
        .await
        .expect("join")
        .expect("the writer started");

    let started = Instant::now();
    let reads = futures_join(store.as_ref()).await;
    assert!(started.elapsed() < Duration::from_secs(2), "readers waited for the writer");
    assert_eq!(reads.0, Some(item("1", "committed")), "readers see the last committed state");
    assert_eq!(reads.1, 1, "uncommitted rows are invisible to readers");
    release_tx.send(()).expect("release the writer");
    writer.await.expect("join").expect("the write commits");
    assert_eq!(store.get("Item", "1").await.expect("get"), Some(item("1", "uncommitted")));
}

async fn futures_join(store: &DieselStore) -> (Option<Record>, usize) {
    let all = Query::new();
    let (a, b) = tokio::join!(store.get("Item", "1"), store.query("Item", &all));
    (a.expect("get"), b.expect("query").items.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_held_past_the_busy_timeout_is_busy() {
    let dir = tempfile::tempdir().expect("dir");
    let options = OpenOptions::new().busy_timeout(Duration::from_millis(200));
    let (store, path) = file_store(&dir, options).await;
    // Another process (here: another connection) holds the write lock.
    let mut other = SqliteConnection::establish(&path).expect("other connection");
    other.batch_execute("BEGIN IMMEDIATE").expect("lock");
    let started = Instant::now();
    let result = store.transact(|tx| tx.upsert("Item", &item("1", "x"))).await;
    match result {
        Err(StoreError::Busy { source: Some(source), message }) => {
            assert_eq!(message, "sqlite: beginning a transaction: database is locked");
            assert_eq!(source.to_string(), "database is locked");
        }
        other => panic!("expected a Busy error with its source, got {other:?}"),
    }
    assert!(started.elapsed() >= Duration::from_millis(150), "the busy timeout was not honoured");
    other.batch_execute("ROLLBACK").expect("unlock");
    store.transact(|tx| tx.upsert("Item", &item("1", "x"))).await.expect("works once the lock is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_transaction_rolls_back_and_the_store_goes_on() {
    for memory in [true, false] {
        let dir = tempfile::tempdir().expect("dir");
        let store = if memory {
            let s = DieselStore::open_in_memory().await.expect("open");
            s.ensure_table(&schema()).await.expect("ensure");
            s
        } else {
            file_store(&dir, OpenOptions::new()).await.0
        };
        let result = store
            .transact(|tx| -> Result<(), StoreError> {
                tx.upsert("Item", &item("1", "x"))?;
                panic!("the app's work panicked");
            })
            .await;
        assert!(matches!(result, Err(StoreError::Backend { .. })), "got {result:?}");
        assert_eq!(store.get("Item", "1").await.expect("get"), None, "the panicking work's write was kept");
        store.transact(|tx| tx.upsert("Item", &item("2", "y"))).await.expect("the store still works");
        assert!(store.get("Item", "2").await.expect("get").is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_written_behind_the_stores_back_are_corrupt_not_a_panic() {
    let dir = tempfile::tempdir().expect("dir");
    let (store, path) = file_store(&dir, OpenOptions::new()).await;
    let mut other = SqliteConnection::establish(&path).expect("other connection");
    other
        .batch_execute(
            "INSERT INTO \"Item\" (\"id\", \"deleted\", \"text\", \"done\", \"tags\") VALUES ('bad', 0, 'x', 7, '{nope');",
        )
        .expect("foreign write");
    assert!(matches!(store.get("Item", "bad").await, Err(StoreError::Corrupt { .. })));
    assert!(matches!(store.query("Item", &Query::new()).await, Err(StoreError::Corrupt { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_in_wal_mode_with_every_migration_once() {
    for sync in [Synchronous::Full, Synchronous::Normal] {
        let dir = tempfile::tempdir().expect("dir");
        let (store, path) = file_store(&dir, OpenOptions::new().synchronous(sync).readers(1)).await;
        store.transact(|tx| tx.upsert("Item", &item("1", "x"))).await.expect("write");
        let mut conn = SqliteConnection::establish(&path).expect("connection");
        let mode: Vec<Text> = diesel::sql_query("SELECT journal_mode AS value FROM pragma_journal_mode")
            .load(&mut conn)
            .expect("journal_mode");
        assert_eq!(mode[0].value, "wal");
        let versions: Vec<Text> = diesel::sql_query("SELECT version AS value FROM __diesel_schema_migrations")
            .load(&mut conn)
            .expect("migrations");
        assert_eq!(versions.len(), 2, "both embedded migrations applied (system tables, schema evolution)");
        drop(store);
        let reopened = DieselStore::open(&path).await.expect("reopen runs no migration twice");
        assert!(reopened.get("Item", "1").await.expect("get").is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_local_changes_and_a_thousand_row_page_in_one_transaction_each() {
    let dir = tempfile::tempdir().expect("dir");
    let (store, _) = file_store(&dir, OpenOptions::new()).await;
    let schema = schema();
    let changes: Vec<Record> = (0..1000).map(|i| item(&format!("local-{i:04}"), "local")).collect();
    let s = schema.clone();
    store
        .transact(move |tx| {
            for r in changes {
                apply_local_change(tx, &s, LocalChange::Insert(r))?;
            }
            Ok(())
        })
        .await
        .expect("1000 local changes");
    let page: Vec<Record> = (0..1000)
        .map(|i| {
            let r = json!({"id": format!("server-{i:04}"), "text": "pulled", "version": "v1", "deleted": i % 10 == 0,
                           "updatedAt": T, "tags": {"i": i}});
            schema.conform_remote(Record::from_json(r).expect("record")).expect("fits")
        })
        .collect();
    let outcome = store
        .transact(move |tx| {
            apply_pull_page(tx, "Item", &page, Some(("q", &Cursor { updated_at: T.into(), id: "x".into() })))
        })
        .await
        .expect("pull page");
    assert_eq!((outcome.upserted, outcome.deleted, outcome.skipped), (900, 100, 0));
    let ops = store.transact(|tx| tx.count_operations(&OperationFilter::all())).await.expect("count");
    assert_eq!(ops, 1000);
    let pulled = Query::new().filter(column("text").eq("pulled")).with_total_count().top(1);
    assert_eq!(store.query("Item", &pulled).await.expect("query").total_count, Some(900));
    let cursor = store.transact(|tx| Cursor::load(tx, "Item", "q")).await.expect("config");
    assert_eq!(cursor, Some(Cursor { updated_at: T.into(), id: "x".into() }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_values_round_trip_and_match_as_literals() {
    let dir = tempfile::tempdir().expect("dir");
    let (store, path) = file_store(&dir, OpenOptions::new()).await;
    let mut mb = String::new();
    while mb.len() < 1 << 20 {
        mb.push_str("'; DROP TABLE \"Item\"; -- é🦀%_?");
    }
    let hostile = [
        ("quote", "it's a \"quoted\" ''string''".to_owned()),
        ("injection", "'; DROP TABLE x; --".to_owned()),
        ("unicode", "ünïcødé 中文 مرحبا 👨‍👩‍👧‍👦".to_owned()),
        ("emoji", "🦀🦀🦀".to_owned()),
        ("placeholder", "? ?1 :a @b $c".to_owned()),
        ("megabyte", mb),
    ];
    for (id, text) in &hostile {
        let r = schema()
            .conform_local(Record::from_json(json!({"id": id, "text": text, "tags": [text]})).expect("record"))
            .expect("fits");
        let written = r.clone();
        store.transact(move |tx| tx.upsert("Item", &written)).await.expect("write");
        assert_eq!(store.get("Item", id).await.expect("get"), Some(r), "{id} round-trips");
        let found = store.query("Item", &Query::new().filter(column("text").eq(text.as_str()))).await.expect("query");
        assert_eq!(found.items.len(), 1, "{id} matches itself as a literal");
        assert_eq!(found.items[0].id(), *id);
        let prefix: String = text.chars().take(5).collect();
        let found = store.query("Item", &Query::new().filter(column("text").starts_with(prefix))).await.expect("q");
        assert!(found.items.iter().any(|r| r.id() == *id), "{id} matches its prefix");
    }
    let mut conn = SqliteConnection::establish(&path).expect("connection");
    let tables: Vec<Text> = diesel::sql_query("SELECT name AS value FROM sqlite_master WHERE type = 'table'")
        .load(&mut conn)
        .expect("tables");
    assert!(tables.iter().any(|t| t.value == "Item"), "the table survived");
}
