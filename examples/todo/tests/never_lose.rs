//! The never-lose promise across processes, with the built `todo` binary against the official
//! Node server: a second process edits (or deletes) an item while a `todo sync` waits on a
//! server that stalls (stopped with SIGSTOP); progress never passes its total; a server row that
//! does not fit the entity is reported with its id and the rest is synced.

mod common;

use std::time::Duration;

use backend_azure_rest::test_server::NodeServer;
use common::Device;
use serde_json::{json, Value};
use sync_core::{Record, Remote};

fn text_of(list: &Value, id: &str) -> Option<String> {
    list.as_array()?.iter().find(|r| r["id"] == id).and_then(|r| r["text"].as_str()).map(str::to_owned)
}

/// Every `pushed done/total` line of a sync's progress has `done <= total`.
fn assert_progress_within_total(stderr: &str) {
    for line in stderr.lines().filter(|l| l.starts_with("pushed ")) {
        let counts = line["pushed ".len()..].split(':').next().unwrap_or_default();
        let (done, total) = counts.split_once('/').unwrap_or(("0", "0"));
        let (done, total): (u64, u64) = (done.parse().unwrap_or(0), total.parse().unwrap_or(0));
        assert!(done <= total, "progress passed its total: {line:?}\n{stderr}");
    }
}

async fn second_process_change_during_a_stalled_sync(delete: bool) {
    let mut server = NodeServer::start().await.expect("the official Node server starts");
    let dir = tempfile::tempdir().unwrap();
    let phone = Device::new(dir.path(), "phone", &server.url());
    let id = phone.add("v1").await;
    phone.ok(&["sync"]).await;
    phone.ok(&["edit", &id, "v2"]).await;

    server.suspend().await.unwrap();
    let syncing = tokio::spawn({
        let phone = Device::new(dir.path(), "phone", &server.url());
        async move { phone.run(&["sync"]).await }
    });
    // The sync has claimed the edit and its PATCH waits on the stopped server.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    if delete {
        phone.ok(&["rm", &id]).await;
    } else {
        phone.ok(&["edit", &id, "v3"]).await;
    }
    let added = phone.add("added during the sync").await;
    server.resume().await.unwrap();
    let first = syncing.await.unwrap();
    assert_eq!(first.code, 0, "the stalled sync: {}{}", first.stdout, first.stderr);
    assert_progress_within_total(&first.stderr);

    let second = phone.run(&["sync"]).await;
    assert_eq!(second.code, 0, "{}{}", second.stdout, second.stderr);
    assert_progress_within_total(&second.stderr);
    let local = phone.list().await;
    let on_server = common::server_list(&server.remote()).await;
    if delete {
        assert_eq!(text_of(&local, &id), None, "the delete was lost on the device");
        assert_eq!(text_of(&on_server, &id), None, "the delete never reached the server");
    } else {
        assert_eq!(text_of(&local, &id).as_deref(), Some("v3"), "the second process's edit was lost");
        assert_eq!(text_of(&on_server, &id).as_deref(), Some("v3"), "the server ended at {on_server}");
    }
    assert_eq!(text_of(&on_server, &added).as_deref(), Some("added during the sync"));
    assert_eq!(local, on_server, "the device and the server differ");
    assert!(phone.ok(&["status"]).await.contains("pending operations: 0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_from_a_second_process_during_a_stalled_sync_is_kept() {
    second_process_change_during_a_stalled_sync(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_from_a_second_process_during_a_stalled_sync_reaches_the_server() {
    second_process_change_during_a_stalled_sync(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_row_that_does_not_fit_is_reported_by_id_and_the_rest_is_synced() {
    let server = NodeServer::start().await.expect("the official Node server starts");
    let row = |v: Value| Record::from_json(v).unwrap();
    // Written by another client straight into the server's database: `complete` is missing.
    server
        .seed_records(
            "TodoItem",
            vec![
                row(json!({"id": "fits-1", "text": "fine", "complete": false})),
                row(json!({"id": "no-complete", "text": "written by another client"})),
                row(json!({"id": "fits-2", "text": "fine too", "complete": true})),
            ],
            "2024-05-01T00:00:00.000Z",
        )
        .await;
    let dir = tempfile::tempdir().unwrap();
    let phone = Device::new(dir.path(), "phone", &server.url());
    let sync = phone.run(&["sync"]).await;
    assert_eq!(sync.code, 0, "{}{}", sync.stdout, sync.stderr);
    assert!(
        sync.stderr.contains("warning: server item no-complete was not stored")
            && sync.stderr.contains("column \"complete\" cannot be null"),
        "{}",
        sync.stderr
    );
    let local = phone.list().await;
    assert_eq!(text_of(&local, "fits-1").as_deref(), Some("fine"));
    assert_eq!(text_of(&local, "fits-2").as_deref(), Some("fine too"));
    // The cursor moved on: the next sync does not fail on it again.
    let again = phone.run(&["sync"]).await;
    assert_eq!(again.code, 0, "{}{}", again.stdout, again.stderr);
    let _ = server.remote().read("TodoItem", "fits-1").await.unwrap();
}
