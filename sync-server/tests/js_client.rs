//! The official JavaScript client (npm `azure-mobile-apps-client` 2.0.1, unmodified) under Node
//! against sync-server: local inserts and an update, push, a pull with a query id into a fresh
//! store, server-side changes, then an incremental pull (`tests/js-client/interop.js`; shims as in
//! PROTOCOL.md §6). The client is installed by `tests/js-client/install.sh` (`npm ci` from the
//! committed lock file); its SQLite store uses the `sqlite3` that `tests/server/install.sh` builds.

mod common;

use std::path::PathBuf;
use std::process::Stdio;

use common::TestServer;

fn js_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/js-client"))
}

async fn install() {
    let server_dir = backend_azure_rest::test_server::server_dir();
    backend_azure_rest::test_server::install(&server_dir)
        .await
        .unwrap_or_else(|e| panic!("tests/server must install (it builds sqlite3): {e}"));
    let lock = std::env::temp_dir().join("sync-server-js-client-install.lock");
    let out = tokio::process::Command::new("flock")
        .arg(&lock)
        .arg("bash")
        .arg(js_dir().join("install.sh"))
        .stdin(Stdio::null())
        .output()
        .await
        .expect("flock + bash run");
    assert!(out.status.success(), "tests/js-client/install.sh failed: {}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_javascript_client_pushes_and_pulls_incrementally() {
    install().await;
    let server = TestServer::start();
    let work = tempfile::tempdir().unwrap();
    let sqlite3 = backend_azure_rest::test_server::server_dir().join("node_modules/sqlite3");
    let run = tokio::process::Command::new("node")
        .arg("interop.js")
        .arg(&server.url)
        .arg(&sqlite3)
        .arg(work.path())
        .current_dir(js_dir())
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(180), run)
        .await
        .expect("interop.js finishes within 3 minutes")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "interop.js failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).expect("a JSON summary");
    assert_eq!(summary["ok"], true, "{summary}");

    // The server holds what the client pushed and what changed behind its back.
    let remote = server.remote();
    let rows = sync_core::Remote::query_page(&remote, "TodoItem", None, None, 100).await.expect("query");
    let live: Vec<(&str, Option<&str>)> = rows
        .items
        .iter()
        .filter(|r| !r.is_deleted())
        .map(|r| (r.id(), r.get("text").and_then(|t| t.as_str())))
        .collect();
    assert_eq!(live, [("js-3", Some("bread")), ("js-2", Some("brown eggs")), ("js-4", Some("jam"))]);
}
