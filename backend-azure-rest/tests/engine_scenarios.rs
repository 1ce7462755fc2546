//! sync-core's engine scenarios (several devices syncing through one server) with store-diesel
//! (one SQLite file per device) and this crate's remote, against ONE real Node server per test
//! binary (cases mark their rows with unique names, so they share it).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use backend_azure_rest::test_server::NodeServer;
use serde_json::Value;
use store_diesel::DieselStore;
use sync_core::conformance::scenarios::ScenarioFactory;
use sync_core::{Record, Remote, Store};
use tokio::sync::OnceCell;

async fn server() -> &'static NodeServer {
    static SERVER: OnceCell<NodeServer> = OnceCell::const_new();
    SERVER
        .get_or_init(|| async {
            match NodeServer::start().await {
                Ok(s) => s,
                Err(e) => panic!("the Node test server must be installable and start: {e}"),
            }
        })
        .await
}

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
        Arc::new(server().await.remote())
    }

    async fn seed(&self, table: &str, rows: Vec<Record>, updated_at: &str) {
        let rows: Vec<Value> = rows.into_iter().map(Value::from).collect();
        if let Err(e) = server().await.seed_rows(table, &rows, updated_at).await {
            panic!("seeding {table}: {e}");
        }
    }
}

sync_core::scenario_suite!(DieselStoresNodeServer::default());
