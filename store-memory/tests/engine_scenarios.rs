//! The engine's end-to-end scenarios on the in-memory pair: a fresh `MemoryRemote` per case and a
//! fresh `MemoryStore` per simulated device. They run three times: on a server that keeps
//! `updatedAt` as it sends it, and on the two kinds that keep more digits (`TimestampStorage`),
//! where the engine pages within each timestamp; and a fourth time with batches on
//! (`MemoryRemote::set_max_batch`), where the engine pushes many operations per request.

use std::sync::Arc;

use async_trait::async_trait;
use store_memory::{MemoryRemote, MemoryStore, TimestampStorage};
use sync_core::conformance::scenarios::ScenarioFactory;
use sync_core::{Record, Remote, Store};

struct InMemory {
    server: MemoryRemote,
}

impl InMemory {
    fn new(timestamps: TimestampStorage) -> Self {
        let server = MemoryRemote::new();
        server.set_timestamp_storage(timestamps);
        InMemory { server }
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

/// With the batch extension: the engine groups its pushes (the scenarios that wrap the remote
/// in `RecordingRemote` or `FlakyRemote` still send every write alone).
mod batched {
    use super::*;
    sync_core::scenario_suite!({
        let f = InMemory::new(TimestampStorage::Exact);
        f.server.set_max_batch(4);
        f
    });
}

mod exact {
    use super::*;
    sync_core::scenario_suite!(InMemory::new(TimestampStorage::Exact));
}

/// Like the Node server on SQLite with rows another tool wrote.
mod finer_text {
    use super::*;
    sync_core::scenario_suite!(InMemory::new(TimestampStorage::FinerText));
}

/// Like the .NET server.
mod finer_instant {
    use super::*;
    sync_core::scenario_suite!(InMemory::new(TimestampStorage::FinerInstant));
}
