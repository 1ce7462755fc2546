//! `--token` / `TODO_TOKEN` against the official Node server started with a required token.

mod common;

use backend_azure_rest::test_server::NodeServer;
use common::Device;

#[tokio::test]
async fn a_backend_that_needs_a_token_syncs_with_todo_token_and_refuses_without() {
    let server = NodeServer::builder().auth_token("s3cret-token").start().await.expect("the Node server starts");
    let dir = tempfile::tempdir().unwrap();
    let device = Device::new(dir.path(), "a", &server.url());
    device.add("needs a token").await;

    let refused = device.run(&["sync"]).await;
    assert_ne!(refused.code, 0, "a sync without the token fails: {}", refused.stdout);
    assert!(refused.stderr.to_lowercase().contains("unauthori"), "says why: {}", refused.stderr);
    assert!(!refused.stderr.contains("s3cret"), "{}", refused.stderr);

    let wrong = device.run(&["--token", "not-it", "sync"]).await;
    assert_ne!(wrong.code, 0, "a wrong token is refused too");

    let synced = device.run_with_env(&["sync"], &[("TODO_TOKEN", "s3cret-token")]).await;
    assert_eq!(synced.code, 0, "TODO_TOKEN is sent: {}{}", synced.stdout, synced.stderr);
    let rows = common::server_list(&server.remote()).await;
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "the item reached the server: {rows}");
    let flagged = device.run(&["--token", "s3cret-token", "sync"]).await;
    assert_eq!(flagged.code, 0, "--token works as well: {}", flagged.stderr);
}
