//! sync-core's engine scenarios (several devices syncing through one server) with store-diesel
//! (one SQLite file per device) and `AzureRestRemote`, against ONE sync-server per test binary
//! (cases mark their rows with unique names, so they share it).

mod common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use common::TestServer;
use store_diesel::DieselStore;
use sync_core::conformance::scenarios::ScenarioFactory;
use sync_core::{Record, Remote, Store};

/// Each device is a SQLite file in a folder removed when the case ends.
#[derive(Default)]
struct DieselStoresSyncServer {
    dirs: Mutex<Vec<tempfile::TempDir>>,
}

#[async_trait]
impl ScenarioFactory for DieselStoresSyncServer {
    async fn store(&self) -> Arc<dyn Store> {
        let dir = tempfile::tempdir().expect("a temp dir");
        let store = DieselStore::open(dir.path().join("device.db")).await.expect("store-diesel opens");
        self.dirs.lock().expect("dirs").push(dir);
        Arc::new(store)
    }

    async fn remote(&self) -> Arc<dyn Remote> {
        Arc::new(TestServer::shared().remote())
    }

    async fn seed(&self, table: &str, rows: Vec<Record>, updated_at: &str) {
        TestServer::shared().seed(table, rows, updated_at).await;
    }
}

sync_core::scenario_suite!(DieselStoresSyncServer::default());
