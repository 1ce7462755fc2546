//! sync-core's randomized history test on store-diesel devices (one SQLite file per store; two
//! devices share one file, as two processes would) and a MemoryRemote server. Set
//! `SYNC_HISTORIES=N` for more histories, `SYNC_SEED=S` to start (or replay) at a seed.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use store_diesel::DieselStore;
use store_memory::MemoryRemote;
use sync_core::conformance::scenarios::ScenarioFactory;
use sync_core::{Record, Remote, Store};

struct Files {
    server: MemoryRemote,
    dirs: Mutex<Vec<tempfile::TempDir>>,
}

#[async_trait]
impl ScenarioFactory for Files {
    async fn store(&self) -> Arc<dyn Store> {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = DieselStore::open(dir.path().join("device.db")).await.expect("store-diesel opens");
        self.dirs.lock().expect("dirs").push(dir);
        Arc::new(store)
    }
    async fn remote(&self) -> Arc<dyn Remote> {
        Arc::new(self.server.clone())
    }
    async fn seed(&self, table: &str, rows: Vec<Record>, updated_at: &str) {
        self.server.seed(table, rows, updated_at);
    }
}

#[test]
fn random_histories_converge_and_lose_nothing() {
    // Unique stamps close the keyset cursor's same-millisecond blind spot, which background
    // pushes during another device's pull could otherwise hit (the engine documents that gap).
    let server = MemoryRemote::new();
    server.set_unique_timestamps(true);
    let files = Files { server, dirs: Mutex::default() };
    sync_core::conformance::block_on(sync_core::conformance::history::run_histories(&files, 200));
}
