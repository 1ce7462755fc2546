//! The Remote conformance suite on `MemoryRemote`, the way the REST remote runs it on the Node
//! server: every case of this binary talks to ONE shared server, which already holds other
//! writers' rows (nulls, soft-deleted rows, rows on the timestamps the cases seed on), so a case
//! that forgets to isolate itself fails here too.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use serde_json::json;
use store_memory::MemoryRemote;
use sync_core::conformance::remote::RemoteFactory;
use sync_core::{Record, Remote};

/// The server shared by every case, seeded with rows that belong to no case.
fn server() -> &'static MemoryRemote {
    static SERVER: OnceLock<MemoryRemote> = OnceLock::new();
    SERVER.get_or_init(|| {
        let server = MemoryRemote::new();
        let rec = |v| Record::from_json(v).expect("valid noise row");
        for stamp in ["2002-02-02T02:02:02.002Z", "2003-03-03T03:03:03.303Z", "2004-04-04T04:04:04.404Z"] {
            let item = (0..20).map(|i| {
                rec(json!({"id": format!("noise-{stamp}-{i:02}"), "name": if i % 3 == 0 { json!(null) } else { json!(format!("noise{i}")) },
                    "n": if i % 4 == 0 { json!(null) } else { json!(i) }, "flag": i % 2 == 0, "deleted": i % 5 == 0}))
            });
            server.seed("Item", item, stamp);
            let all_types = (0..10).map(|i| {
                rec(json!({"id": format!("noise-{stamp}-{i:02}"), "s": null, "i": i, "r": 0.5, "b": null,
                    "d": if i % 2 == 0 { json!(null) } else { json!("2024-06-15T12:30:45.678Z") }}))
            });
            server.seed("AllTypes", all_types, stamp);
            let todo = (0..10).map(|i| rec(json!({"id": format!("noise-{stamp}-{i:02}"), "text": "noise", "complete": false})));
            server.seed("TodoItem", todo, stamp);
        }
        server
    })
}

/// Hands every case a client of the shared server.
struct Shared;

#[async_trait]
impl RemoteFactory for Shared {
    async fn create(&self) -> Arc<dyn Remote> {
        Arc::new(server().clone())
    }

    async fn seed(&self, table: &str, rows: Vec<Record>, updated_at: &str) {
        server().seed(table, rows, updated_at);
    }
}

sync_core::remote_conformance_suite!(Shared);

/// The suite also passes on a fresh, empty server per case.
mod fresh {
    use super::*;

    struct Fresh(MemoryRemote);

    #[async_trait]
    impl RemoteFactory for Fresh {
        async fn create(&self) -> Arc<dyn Remote> {
            Arc::new(self.0.clone())
        }

        async fn seed(&self, table: &str, rows: Vec<Record>, updated_at: &str) {
            self.0.seed(table, rows, updated_at);
        }
    }

    sync_core::remote_conformance_suite!(Fresh(MemoryRemote::new()));
}
