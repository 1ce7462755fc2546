//! sync-core's engine scenarios (several devices syncing through one server) with store-diesel
//! (one SQLite file per device) and `AzureRestRemote`, against ONE sync-server per test binary and
//! database (cases mark their rows with unique names, so they share it): on SQLite and on
//! PostgreSQL.

mod common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use common::{Db, TestServer};
use store_diesel::DieselStore;
use sync_core::conformance::scenarios::ScenarioFactory;
use sync_core::{Record, Remote, Store};

/// Each device is a SQLite file in a folder removed when the case ends.
struct DieselStoresSyncServer {
    db: Db,
    dirs: Mutex<Vec<tempfile::TempDir>>,
}

impl DieselStoresSyncServer {
    fn on(db: Db) -> Self {
        DieselStoresSyncServer { db, dirs: Mutex::default() }
    }
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
        Arc::new(TestServer::shared(self.db).remote())
    }

    async fn seed(&self, table: &str, rows: Vec<Record>, updated_at: &str) {
        TestServer::shared(self.db).seed(table, rows, updated_at).await;
    }
}

mod sqlite {
    use super::*;
    sync_core::scenario_suite!(DieselStoresSyncServer::on(Db::Sqlite));
}

mod postgres {
    use super::*;
    sync_core::scenario_suite!(DieselStoresSyncServer::on(Db::Postgres));
}
