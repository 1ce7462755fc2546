//! sync-core's Remote conformance suite through `backend_azure_rest::AzureRestRemote` against ONE
//! sync-server per test binary (the cases use unique ids and filter on their own marker). Seeding
//! writes straight into the server's database with [`sync_server::Server::seed`].

mod common;

use std::sync::Arc;

use common::TestServer;
use sync_core::conformance::remote::RemoteFactory;
use sync_core::{Record, Remote};

struct SyncServerFactory;

#[async_trait::async_trait]
impl RemoteFactory for SyncServerFactory {
    async fn create(&self) -> Arc<dyn Remote> {
        Arc::new(TestServer::shared().remote())
    }

    async fn seed(&self, table: &str, rows: Vec<Record>, updated_at: &str) {
        TestServer::shared().seed(table, rows, updated_at).await;
    }
}

sync_core::remote_conformance_suite!(SyncServerFactory);
