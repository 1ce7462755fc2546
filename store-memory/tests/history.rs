//! sync-core's randomized history test on MemoryStore devices and a MemoryRemote server. Set
//! `SYNC_HISTORIES=N` for more histories, `SYNC_SEED=S` to start (or replay) at a seed.

use std::sync::Arc;

use async_trait::async_trait;
use store_memory::{MemoryRemote, MemoryStore};
use sync_core::conformance::scenarios::ScenarioFactory;
use sync_core::{Record, Remote, Store};

struct Memory(MemoryRemote);

#[async_trait]
impl ScenarioFactory for Memory {
    async fn store(&self) -> Arc<dyn Store> {
        Arc::new(MemoryStore::new())
    }
    async fn remote(&self) -> Arc<dyn Remote> {
        Arc::new(self.0.clone())
    }
    async fn seed(&self, table: &str, rows: Vec<Record>, updated_at: &str) {
        self.0.seed(table, rows, updated_at);
    }
}

#[test]
fn random_histories_converge_and_lose_nothing() {
    // Unique stamps close the keyset cursor's same-millisecond blind spot, which background
    // pushes during another device's pull could otherwise hit (the engine documents that gap).
    let server = MemoryRemote::new();
    server.set_unique_timestamps(true);
    sync_core::conformance::block_on(sync_core::conformance::history::run_histories(&Memory(server), 200));
}

/// The same on a server that keeps `updatedAt` finer than it sends it, so every full page of a
/// pull is followed by a window read by id (`Remote::exact_timestamps`).
#[test]
fn random_histories_converge_on_a_server_with_finer_timestamps() {
    let server = MemoryRemote::new();
    server.set_unique_timestamps(true);
    server.set_timestamp_storage(store_memory::TimestampStorage::FinerText);
    sync_core::conformance::block_on(sync_core::conformance::history::run_histories(&Memory(server), 100));
}
