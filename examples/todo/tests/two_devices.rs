//! Drives the built `todo` binary against the official Node server: two databases are two
//! devices; offline edits on both, sync, and both lists equal the server's rows. A conflicting
//! edit ends `sync` with status 2 until it is resolved.

mod common;

use backend_azure_rest::test_server::NodeServer;
use common::Device;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_devices_converge_and_conflicts_resolve() {
    let server = NodeServer::start().await.expect("the official Node server starts");
    common::converge_conflict_resolve(&server.url(), &server.remote()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_message_and_keeps_local_data() {
    let server = NodeServer::start().await.expect("the official Node server starts");
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), "d", &server.url());
    let id = d.add("keep me").await;

    let unknown = d.run(&["done", "no-such-id"]).await;
    assert_eq!(unknown.code, 2, "an id that names no item is a usage error");
    assert!(unknown.stderr.contains("no item with id"), "{}", unknown.stderr);
    let empty = d.run(&["add", "   "]).await;
    assert_eq!(empty.code, 2);
    assert!(empty.stderr.contains("empty"), "{}", empty.stderr);

    let offline = Device { db: d.db.clone(), url: "http://127.0.0.1:9".into() };
    let run = offline.run(&["sync"]).await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("cannot reach"), "{}", run.stderr);

    let not_mobile_apps = Device { db: d.db.clone(), url: format!("{}/not-a-backend", server.url()) };
    let run = not_mobile_apps.run(&["sync"]).await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("Azure Mobile Apps"), "{}", run.stderr);

    // Nothing local was lost: the item and its queued insert are still there.
    let list = d.list().await;
    assert_eq!(list[0]["id"], Value::String(id));
    assert!(d.ok(&["status"]).await.contains("pending operations: 1"));
    d.ok(&["sync"]).await;
    assert!(d.ok(&["status"]).await.contains("pending operations: 0"));
}
