//! The Store conformance suite against the in-memory DieselStore (`:memory:`, one connection).

use store_diesel::DieselStore;
use sync_core::conformance::store::StoreFactory;

struct MemoryFactory;

#[async_trait::async_trait]
impl StoreFactory for MemoryFactory {
    type Store = DieselStore;

    async fn create(&self) -> DieselStore {
        match DieselStore::open_in_memory().await {
            Ok(store) => store,
            Err(e) => panic!("cannot open an in-memory store: {e}"),
        }
    }
    // `reopen` keeps its default: an in-memory database does not outlive its store.
}

sync_core::store_conformance_suite!(MemoryFactory);
