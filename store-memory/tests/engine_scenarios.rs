//! The engine's end-to-end scenarios on the in-memory pair: a fresh `MemoryRemote` per case and a
//! fresh `MemoryStore` per simulated device.

use std::sync::Arc;

use async_trait::async_trait;
use store_memory::{MemoryRemote, MemoryStore};
use sync_core::conformance::scenarios::ScenarioFactory;
use sync_core::{Record, Remote, Store};

struct InMemory {
    server: MemoryRemote,
}

impl InMemory {
    fn new() -> Self {
        InMemory { server: MemoryRemote::new() }
    }
}

#[async_trait]
impl ScenarioFactory for InMemory {
    async fn store(&self) -> Arc<dyn Store> {
        Arc::new(MemoryStore::new())
    }

    async fn remote(&self) -> Arc<dyn Remote> {
        Arc::new(self.server.clone())
    }

    async fn seed(&self, table: &str, rows: Vec<Record>, updated_at: &str) {
        self.server.seed(table, rows, updated_at);
    }
}

sync_core::scenario_suite!(InMemory::new());
