//! The Store conformance suite against file-backed DieselStores (WAL, a writer and readers), each
//! in its own temporary directory; `reopen` closes the store and opens the same file again.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use store_diesel::DieselStore;
use sync_core::backend::{PushLock, StoreError, TxWork};
use sync_core::conformance::store::StoreFactory;
use sync_core::QueryResult;
use sync_core::{Query, Record, Store, TableSchema};

/// A file-backed store and the temporary directory that holds its file (deleted with the last
/// handle).
#[derive(Debug)]
struct FileStore {
    store: DieselStore,
    path: PathBuf,
    _dir: Arc<tempfile::TempDir>,
}

#[async_trait]
impl Store for FileStore {
    async fn ensure_table(&self, schema: &TableSchema) -> Result<(), StoreError> {
        self.store.ensure_table(schema).await
    }
    async fn get(&self, table: &str, id: &str) -> Result<Option<Record>, StoreError> {
        self.store.get(table, id).await
    }
    async fn query(&self, table: &str, query: &Query) -> Result<QueryResult, StoreError> {
        self.store.query(table, query).await
    }
    async fn transaction(&self, work: TxWork) -> Result<(), StoreError> {
        self.store.transaction(work).await
    }
    async fn lock_push(&self) -> Result<PushLock, StoreError> {
        self.store.lock_push().await
    }
}

struct FileFactory;

async fn open(path: &std::path::Path) -> DieselStore {
    match DieselStore::open(path).await {
        Ok(store) => store,
        Err(e) => panic!("cannot open {}: {e}", path.display()),
    }
}

#[async_trait]
impl StoreFactory for FileFactory {
    type Store = FileStore;

    async fn create(&self) -> FileStore {
        let dir = match tempfile::tempdir() {
            Ok(dir) => Arc::new(dir),
            Err(e) => panic!("cannot create a temporary directory: {e}"),
        };
        let path = dir.path().join("store.db");
        FileStore { store: open(&path).await, path, _dir: dir }
    }

    async fn reopen(&self, store: FileStore) -> Option<FileStore> {
        let FileStore { store, path, _dir } = store;
        drop(store);
        Some(FileStore { store: open(&path).await, path, _dir })
    }
}

sync_core::store_conformance_suite!(FileFactory, persistent);
