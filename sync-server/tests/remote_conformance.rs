//! sync-core's Remote conformance suite through `backend_azure_rest::AzureRestRemote` against ONE
//! sync-server per test binary and database (the cases use unique ids and filter on their own
//! marker): once on SQLite, once on PostgreSQL. Seeding writes straight into the server's database
//! with [`sync_server::Server::seed`].

mod common;

use std::sync::Arc;

use common::{Db, TestServer};
use sync_core::conformance::remote::RemoteFactory;
use sync_core::{Record, Remote};

struct SyncServerFactory(Db);

#[async_trait::async_trait]
impl RemoteFactory for SyncServerFactory {
    async fn create(&self) -> Arc<dyn Remote> {
        Arc::new(TestServer::shared(self.0).remote())
    }

    async fn seed(&self, table: &str, rows: Vec<Record>, updated_at: &str) {
        TestServer::shared(self.0).seed(table, rows, updated_at).await;
    }
}

mod sqlite {
    use super::*;
    sync_core::remote_conformance_suite!(SyncServerFactory(Db::Sqlite));
}

mod postgres {
    use super::*;
    sync_core::remote_conformance_suite!(SyncServerFactory(Db::Postgres));
}
