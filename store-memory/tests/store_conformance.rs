//! Runs the sync-core Store conformance suite against [`MemoryStore`].

use store_memory::MemoryStore;
use sync_core::conformance::store::StoreFactory;

/// Hands the suite fresh memory stores.
struct MemoryFactory;

#[async_trait::async_trait]
impl StoreFactory for MemoryFactory {
    type Store = MemoryStore;

    async fn create(&self) -> MemoryStore {
        MemoryStore::new()
    }

    /// A memory store's "location" is its shared state, which lives as long as a handle does:
    /// reopening hands the same store back. Nothing outlives the process, but this runs the
    /// suite's restart cases (their own logic included) against the memory store too.
    async fn reopen(&self, store: MemoryStore) -> Option<MemoryStore> {
        Some(store)
    }
}

sync_core::store_conformance_suite!(MemoryFactory);
