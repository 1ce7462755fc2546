//! sync-core's Remote conformance suite against ONE real Node server per test binary, started on
//! first use and shared by every case (the cases use unique ids and filter on their own marker).
//! Seeding writes straight into the server's SQLite file (`tests/server/seed-rows.js`).

use std::sync::Arc;

use backend_azure_rest::test_server::NodeServer;
use serde_json::Value;
use sync_core::conformance::remote::RemoteFactory;
use sync_core::{Record, Remote};
use tokio::sync::OnceCell;

/// The shared server. It outlives the per-case runtimes (its I/O runs on plain threads) and is
/// killed when the test process exits (its watchdog sees stdin close).
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

struct NodeFactory;

#[async_trait::async_trait]
impl RemoteFactory for NodeFactory {
    async fn create(&self) -> Arc<dyn Remote> {
        // A new remote (and connection pool) per case: each case runs on its own runtime.
        Arc::new(server().await.remote())
    }

    async fn seed(&self, table: &str, rows: Vec<Record>, updated_at: &str) {
        let rows: Vec<Value> = rows.into_iter().map(Value::from).collect();
        if let Err(e) = server().await.seed_rows(table, &rows, updated_at).await {
            panic!("seeding {table}: {e}");
        }
    }
}

sync_core::remote_conformance_suite!(NodeFactory);
