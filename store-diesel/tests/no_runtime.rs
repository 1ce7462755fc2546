//! A `DieselStore` used outside a Tokio runtime (a plain thread driving it with
//! `futures::executor::block_on`, as a `fn main` without `#[tokio::main]` would): a typed
//! [`StoreError::NoRuntime`], never the panic "there is no reactor running".

use std::sync::Arc;

use serde_json::json;
use store_diesel::DieselStore;
use sync_core::backend::{StoreError, StoreExt};
use sync_core::{Column, ColumnType, ErrorKind, Record, Store, SyncError, TableSchema};

fn schema(name: &str) -> TableSchema {
    TableSchema::new(name, vec![Column::new("text", ColumnType::String)]).expect("schema")
}

fn item(id: &str, text: &str) -> Record {
    schema("Item").conform_local(Record::from_json(json!({"id": id, "text": text})).expect("record")).expect("fits")
}

/// Runs `work` on a new thread that has no Tokio runtime, the way a plain `fn main` would.
fn on_plain_thread<T: Send + 'static>(work: impl std::future::Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || {
        assert!(tokio::runtime::Handle::try_current().is_err(), "no runtime on this thread");
        futures::executor::block_on(work)
    })
    .join()
    .expect("the thread did not panic")
}

fn assert_no_runtime<T: std::fmt::Debug>(outcome: Result<T, StoreError>, what: &str) {
    match outcome {
        Err(e @ StoreError::NoRuntime) => {
            assert!(e.to_string().contains("Tokio runtime"), "{what}: the message says what is missing: {e}");
            assert_eq!(SyncError::from(e).kind(), ErrorKind::Usage, "{what}");
        }
        other => panic!("{what}: expected StoreError::NoRuntime, got {other:?}"),
    }
}

#[test]
fn opening_outside_a_runtime_is_a_typed_error_and_creates_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("plain.db");
    let opened = on_plain_thread({
        let path = path.clone();
        async move { DieselStore::open(&path).await }
    });
    assert_no_runtime(opened, "open");
    assert!(!path.exists(), "nothing was created");
    assert_no_runtime(on_plain_thread(DieselStore::open_in_memory()), "open_in_memory");
}

#[test]
fn a_store_used_outside_a_runtime_is_a_typed_error_and_still_works_inside_one() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("dir");
    let store = runtime.block_on(async {
        let store = DieselStore::open(dir.path().join("shared.db")).await.expect("open");
        store.ensure_table(&schema("Item")).await.expect("table");
        store.transact(|tx| tx.upsert("Item", &item("1", "before"))).await.expect("write");
        Arc::new(store)
    });

    let outside = Arc::clone(&store);
    let (read, write, new_table, push_lock) = on_plain_thread(async move {
        let read = outside.get("Item", "1").await;
        let write = outside.transact(|tx| tx.upsert("Item", &item("2", "outside"))).await;
        let new_table = outside.ensure_table(&schema("Other")).await;
        let push_lock = outside.lock_push().await.map(drop);
        (read, write, new_table, push_lock)
    });
    assert_no_runtime(read, "get");
    assert_no_runtime(write, "transaction");
    assert_no_runtime(new_table, "ensure_table");
    assert_no_runtime(push_lock, "lock_push");

    runtime.block_on(async {
        assert_eq!(store.get("Item", "1").await.expect("get"), Some(item("1", "before")));
        assert_eq!(store.get("Item", "2").await.expect("get"), None, "the write outside did nothing");
        store.transact(|tx| tx.upsert("Item", &item("2", "inside"))).await.expect("the writer is free");
    });

    // Closing works without a runtime: the connections close on the current thread.
    let store = Arc::into_inner(store).expect("the only handle");
    on_plain_thread(store.close()).expect("close");
    let reopened = runtime.block_on(DieselStore::open(dir.path().join("shared.db"))).expect("reopen");
    let got = runtime.block_on(async {
        reopened.ensure_table(&schema("Item")).await.expect("table");
        reopened.get("Item", "2").await.expect("get")
    });
    assert_eq!(got, Some(item("2", "inside")));
}
