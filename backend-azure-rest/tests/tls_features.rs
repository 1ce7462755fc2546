//! The TLS features (`rustls-tls`, the default, and `native-tls`): a remote whose client comes
//! from each of them works against the REAL official Node server (plain http, as it serves).
//! With both features on (`--all-features`, as CI builds) the default client is native-tls.

use backend_azure_rest::test_server::NodeServer;
use backend_azure_rest::AzureRestRemote;
use serde_json::json;
use sync_core::{column, Record, Remote};

/// Inserts, reads and queries one row through `remote`.
async fn roundtrip(remote: &AzureRestRemote, id: &str) {
    let row = Record::from_json(json!({"id": id, "name": format!("via {id}"), "n": 1})).expect("record");
    let created = remote.insert("Item", &row).await.expect("insert");
    assert_eq!(created.id(), id);
    let read = remote.read("Item", id).await.expect("read");
    assert_eq!(read.get("name"), Some(&json!(format!("via {id}"))));
    let page = remote.query_page("Item", Some(&column("id").eq(id)), None, 10).await.expect("query");
    assert_eq!(page.items.len(), 1);
}

async fn server() -> NodeServer {
    NodeServer::start().await.unwrap_or_else(|e| panic!("the Node test server must start: {e}"))
}

#[cfg(feature = "native-tls")]
#[tokio::test]
async fn a_native_tls_client_talks_to_the_node_server() {
    let s = server().await;
    // The default client: native-tls, since the feature is on.
    roundtrip(&s.remote(), "native-default").await;
    // An app's own client with native-tls, injected.
    let client = reqwest::Client::builder().use_native_tls().build().expect("native-tls client");
    let remote = s.remote_builder().client(client).build().expect("remote");
    roundtrip(&remote, "native-injected").await;
}

#[cfg(feature = "rustls-tls")]
#[tokio::test]
async fn a_rustls_client_talks_to_the_node_server() {
    let s = server().await;
    let client = reqwest::Client::builder().use_rustls_tls().build().expect("rustls client");
    let remote = s.remote_builder().client(client).build().expect("remote");
    roundtrip(&remote, "rustls-injected").await;
    if cfg!(not(feature = "native-tls")) {
        roundtrip(&s.remote(), "rustls-default").await;
    }
}
