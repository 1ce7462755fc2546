//! Encryption at rest (`OpenOptions::encryption_key`, feature `bundled-sqlcipher`): a keyed file
//! reopens with its key, holds none of the text written to it, and every key that does not fit
//! is a typed [`StoreError::Encryption`] that says what is wrong. Without SQLCipher a key is
//! refused, never ignored.

use store_diesel::{DieselStore, OpenOptions};
use sync_core::backend::StoreError;
use sync_core::{ErrorKind, SyncError};

const KEY: &str = "correct horse battery 'staple'";

fn keyed(key: &str) -> OpenOptions {
    OpenOptions::new().readers(2).encryption_key(key)
}

/// The `StoreError::Encryption` message of a failed open (a panic with the error otherwise).
fn encryption_message(outcome: Result<DieselStore, StoreError>) -> String {
    match outcome {
        Err(e @ StoreError::Encryption { .. }) => {
            let text = e.to_string();
            assert!(!text.contains("horse"), "the key is never shown: {text}");
            assert_eq!(SyncError::from(e).kind(), ErrorKind::Usage);
            text
        }
        other => panic!("expected StoreError::Encryption, got {other:?}"),
    }
}

#[cfg(feature = "bundled-sqlcipher")]
mod with_sqlcipher {
    use std::path::Path;

    use serde_json::json;
    use sync_core::backend::StoreExt;
    use sync_core::{Column, ColumnType, Query, Record, Store, TableSchema};

    use super::*;

    fn schema() -> TableSchema {
        TableSchema::new("Diary", vec![Column::new("text", ColumnType::String)]).expect("schema")
    }

    fn entry(id: &str, text: &str) -> Record {
        schema().conform_local(Record::from_json(json!({"id": id, "text": text})).expect("record")).expect("fits")
    }

    /// Whether any of the database's files holds `needle`.
    fn files_hold(db: &Path, needle: &[u8]) -> Vec<String> {
        ["", "-wal"]
            .iter()
            .map(|suffix| format!("{}{suffix}", db.display()))
            .filter(|file| std::fs::read(file).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle)))
            .collect()
    }

    async fn encrypted_file(dir: &tempfile::TempDir) -> std::path::PathBuf {
        let path = dir.path().join("secret.db");
        let store = DieselStore::open_with(&path, keyed(KEY)).await.expect("open with a key");
        store.ensure_table(&schema()).await.expect("table");
        store.transact(|tx| tx.upsert("Diary", &entry("1", "the plaintext diary entry"))).await.expect("write");
        store.close().await.expect("close");
        path
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_keyed_store_reopens_with_its_key_and_its_files_hold_no_plaintext() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("secret.db");
        let store = DieselStore::open_with(&path, keyed(KEY)).await.expect("open with a key");
        store.ensure_table(&schema()).await.expect("table");
        let rows: Vec<Record> =
            (0..50).map(|i| entry(&format!("e{i}"), &format!("plaintext entry number {i}"))).collect();
        store.transact(move |tx| rows.iter().try_for_each(|r| tx.upsert("Diary", r))).await.expect("write");
        // Read on the readers (each opened with the key) while the rows are still in the -wal file.
        assert_eq!(store.query("Diary", &Query::new()).await.expect("query").items.len(), 50);
        assert!(Path::new(&format!("{}-wal", path.display())).exists(), "WAL mode: the -wal file exists");
        assert_eq!(files_hold(&path, b"plaintext entry"), Vec::<String>::new(), "no item text on disk while open");
        store.close().await.expect("close");
        for needle in [&b"plaintext entry"[..], b"SQLite format 3", b"Diary", b"__operations"] {
            let found = files_hold(&path, needle);
            assert!(found.is_empty(), "{:?} found in {found:?}", String::from_utf8_lossy(needle));
        }

        // The control: the same rows in a plain file are found by the same search.
        let plain_path = dir.path().join("plain.db");
        let plain = DieselStore::open(&plain_path).await.expect("plain");
        plain.ensure_table(&schema()).await.expect("table");
        plain.transact(|tx| tx.upsert("Diary", &entry("1", "plaintext entry"))).await.expect("write");
        assert!(!files_hold(&plain_path, b"plaintext entry").is_empty(), "the search finds plain text");
        plain.close().await.expect("close");

        let reopened = DieselStore::open_with(&path, keyed(KEY)).await.expect("reopens with its key");
        assert_eq!(reopened.get("Diary", "e7").await.expect("get"), Some(entry("e7", "plaintext entry number 7")));
        assert_eq!(reopened.query("Diary", &Query::new()).await.expect("query").items.len(), 50);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_wrong_key_is_a_typed_error() {
        let dir = tempfile::tempdir().expect("dir");
        let path = encrypted_file(&dir).await;
        let message = encryption_message(DieselStore::open_with(&path, keyed("wrong horse")).await);
        assert!(message.contains("the encryption key is wrong"), "{message}");
        DieselStore::open_with(&path, keyed(KEY)).await.expect("the right key still opens it");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_encrypted_file_without_a_key_is_a_typed_error() {
        let dir = tempfile::tempdir().expect("dir");
        let path = encrypted_file(&dir).await;
        let message = encryption_message(DieselStore::open(&path).await);
        assert!(message.contains("the file is encrypted"), "{message}");
        assert!(message.contains("OpenOptions::encryption_key"), "says what to do: {message}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_key_for_a_plain_file_is_a_typed_error() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("plain.db");
        let store = DieselStore::open(&path).await.expect("plain");
        store.ensure_table(&schema()).await.expect("table");
        store.close().await.expect("close");
        let message = encryption_message(DieselStore::open_with(&path, keyed(KEY)).await);
        assert!(message.contains("the file is not encrypted"), "{message}");
        DieselStore::open(&path).await.expect("still opens without a key");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_empty_key_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let message = encryption_message(DieselStore::open_with(dir.path().join("e.db"), keyed("")).await);
        assert!(message.contains("empty"), "{message}");
    }
}

#[cfg(not(feature = "bundled-sqlcipher"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_sqlcipher_a_key_is_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let message = encryption_message(DieselStore::open_with(dir.path().join("k.db"), keyed(KEY)).await);
    assert!(message.contains("`bundled-sqlcipher`"), "says which feature: {message}");
}
