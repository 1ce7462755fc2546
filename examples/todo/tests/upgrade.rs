//! An old `todo.db` keeps working after the upgrade that added `priority`: `tests/fixtures/todo-v1.db`
//! was written by version 1 of this app (see `make-todo-v1.sh` there): "buy milk" and "walk dog"
//! synced, then "buy milk" marked done and "call mum" added, both unpushed. The current binary
//! opens it, nothing queued is lost, `sync` pushes both changes to the official Node server, and
//! the items already on the device get the server's priorities (adding the column forgot the pull
//! cursor, so the table is downloaded again).

mod common;

use backend_azure_rest::test_server::NodeServer;
use common::{server_list, Device};
use serde_json::{json, Value};

fn item<'a>(list: &'a Value, text: &str) -> &'a Value {
    list.as_array()
        .and_then(|a| a.iter().find(|i| i["text"] == text))
        .unwrap_or_else(|| panic!("no {text:?} in {list}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_1_todo_db_opens_syncs_and_gets_the_servers_priorities() {
    let server = NodeServer::start().await.expect("the official Node server starts");
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), "d", &server.url());
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/todo-v1.db");
    std::fs::copy(fixture, &d.db).expect("copy the version 1 file");

    // Offline: the file opens with the new field, every item at the default.
    let before = d.list().await;
    assert_eq!(before.as_array().map(Vec::len), Some(3), "{before}");
    for i in before.as_array().unwrap() {
        assert_eq!(i["priority"], json!(0), "stored items get the default: {i}");
    }
    assert_eq!(item(&before, "buy milk")["complete"], json!(true), "the unpushed edit is there");
    assert_eq!(item(&before, "call mum")["version"], Value::Null, "the unpushed insert is there");
    assert!(d.ok(&["status"]).await.contains("pending operations: 2"), "both changes are still queued");

    // The server as version 1 left it, with the priorities another (upgraded) device set since.
    let synced = |text: &str, priority: i64| {
        let i = item(&before, text);
        json!({"id": i["id"], "text": text, "complete": false, "priority": priority})
    };
    let rows = [synced("buy milk", 2), synced("walk dog", 5)];
    server.seed_rows("TodoItem", &rows, "2024-03-01T00:00:00.000Z").await.expect("seed the server");

    d.ok(&["sync"]).await;
    assert!(d.ok(&["status"]).await.contains("pending operations: 0"), "everything was pushed");
    let after = d.list().await;
    assert_eq!(item(&after, "walk dog")["priority"], json!(5), "an item already on the device gets the server's value");
    assert_eq!(item(&after, "buy milk")["complete"], json!(true), "the unpushed edit reached the server");
    assert_eq!(item(&after, "buy milk")["priority"], json!(2), "and left the priority it did not know alone");
    assert_eq!(after, server_list(&server.remote()).await, "the device equals the server");

    // The new field works end to end.
    let dog = item(&after, "walk dog")["id"].as_str().unwrap().to_owned();
    d.ok(&["prio", &dog, "9"]).await;
    d.ok(&["sync"]).await;
    assert_eq!(item(&server_list(&server.remote()).await, "walk dog")["priority"], json!(9));
}
