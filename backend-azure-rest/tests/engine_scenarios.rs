//! sync-core's engine scenarios (several devices syncing through one server) with store-diesel
//! (one SQLite file per device) and this crate's remote, against ONE real Node server per test
//! binary (cases mark their rows with unique names, so they share it).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use backend_azure_rest::test_server::NodeServer;
use store_diesel::DieselStore;
use sync_core::conformance::scenarios::ScenarioFactory;
use sync_core::{Record, Remote, Store};

/// Each device is a SQLite file in a folder removed when the case ends.
#[derive(Default)]
struct DieselStoresNodeServer {
    dirs: Mutex<Vec<tempfile::TempDir>>,
}

#[async_trait]
impl ScenarioFactory for DieselStoresNodeServer {
    async fn store(&self) -> Arc<dyn Store> {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = DieselStore::open(dir.path().join("device.db")).await.expect("store-diesel opens");
        self.dirs.lock().expect("dirs").push(dir);
        Arc::new(store)
    }

    async fn remote(&self) -> Arc<dyn Remote> {
        Arc::new(NodeServer::shared().await.remote())
    }

    async fn seed(&self, table: &str, rows: Vec<Record>, updated_at: &str) {
        NodeServer::shared().await.seed_records(table, rows, updated_at).await;
    }
}

sync_core::scenario_suite!(DieselStoresNodeServer::default());
