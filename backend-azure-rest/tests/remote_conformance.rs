//! sync-core's Remote conformance suite against ONE real Node server per test binary, started on
//! first use and shared by every case (the cases use unique ids and filter on their own marker).
//! Seeding writes straight into the server's SQLite file (`tests/server/seed-rows.js`).

use std::sync::Arc;

use backend_azure_rest::test_server::NodeServer;
use sync_core::conformance::remote::RemoteFactory;
use sync_core::{Record, Remote};

struct NodeFactory;

#[async_trait::async_trait]
impl RemoteFactory for NodeFactory {
    async fn create(&self) -> Arc<dyn Remote> {
        // A new remote (and connection pool) per case: each case runs on its own runtime.
        Arc::new(NodeServer::shared().await.remote())
    }

    async fn seed(&self, table: &str, rows: Vec<Record>, updated_at: &str) {
        NodeServer::shared().await.seed_records(table, rows, updated_at).await;
    }
}

sync_core::remote_conformance_suite!(NodeFactory);
