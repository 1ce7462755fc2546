//! Drives the built `todo` binary against the official Node server: two databases are two
//! devices; offline edits on both, sync, and both lists equal the server's rows. A conflicting
//! edit ends `sync` with status 2 until it is resolved.

use std::path::{Path, PathBuf};

use backend_azure_rest::test_server::NodeServer;
use serde_json::Value;
use sync_core::backend::Cursor;
use sync_core::Remote;

struct Device {
    db: PathBuf,
    url: String,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Device {
    fn new(dir: &Path, name: &str, url: &str) -> Device {
        Device { db: dir.join(format!("{name}.db")), url: url.to_owned() }
    }

    async fn run(&self, args: &[&str]) -> Run {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_todo"))
            .arg("--db")
            .arg(&self.db)
            .arg("--remote")
            .arg(&self.url)
            .args(args)
            .env_remove("TODO_DB")
            .env_remove("TODO_REMOTE")
            .output()
            .await
            .expect("the todo binary runs");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs a command that must succeed; returns its stdout.
    async fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args).await;
        assert_eq!(run.code, 0, "todo {args:?} failed: {}{}", run.stdout, run.stderr);
        run.stdout
    }

    async fn add(&self, text: &str) -> String {
        self.ok(&["add", text]).await.trim().to_owned()
    }

    async fn list(&self) -> Value {
        serde_json::from_str(&self.ok(&["list", "--json"]).await).expect("list --json prints JSON")
    }
}

/// The server's live TodoItem rows in `list --json` form and order (text, then id).
async fn server_list(server: &NodeServer) -> Value {
    let remote = server.remote();
    let mut cursor: Option<Cursor> = None;
    let mut rows = Vec::new();
    loop {
        let page = remote.query_page("TodoItem", None, cursor.as_ref(), 100).await.expect("server query");
        let Some(last) = page.items.last() else { break };
        cursor = Cursor::after(last);
        let full = page.items.len() == 100;
        rows.extend(page.items.into_iter().filter(|r| !r.is_deleted()).map(|r| {
            let pick = |k: &str| r.get(k).cloned().unwrap_or(Value::Null);
            serde_json::json!({
                "id": r.id(), "text": pick("text"), "complete": pick("complete"),
                "createdAt": pick("createdAt"), "updatedAt": pick("updatedAt"), "version": pick("version"),
            })
        }));
        if !full {
            break;
        }
    }
    rows.sort_by(|a, b| (a["text"].as_str(), a["id"].as_str()).cmp(&(b["text"].as_str(), b["id"].as_str())));
    Value::Array(rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_devices_converge_and_conflicts_resolve() {
    let server = NodeServer::start().await.expect("the official Node server starts");
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (Device::new(dir.path(), "a", &server.url()), Device::new(dir.path(), "b", &server.url()));

    // Offline on both devices.
    let milk = a.add("milk").await;
    let eggs = a.add("eggs").await;
    let bread = b.add("bread").await;
    a.ok(&["done", &eggs]).await;
    assert_eq!(a.list().await.as_array().unwrap().len(), 2);
    assert_eq!(a.list().await[0]["version"], Value::Null, "not synced yet");

    // Sync: both converge on the server's rows.
    for d in [&a, &b, &a] {
        d.ok(&["sync"]).await;
    }
    let expected = server_list(&server).await;
    assert_eq!(expected.as_array().unwrap().len(), 3);
    assert_eq!(a.list().await, expected);
    assert_eq!(b.list().await, expected);

    // More offline edits on both, then sync again.
    b.ok(&["edit", &eggs, "brown eggs"]).await;
    b.ok(&["rm", &bread]).await;
    a.ok(&["undone", &eggs]).await;
    let jam = a.add("jam").await;
    a.ok(&["sync"]).await;
    let run = b.run(&["sync"]).await;
    // b's edit of eggs conflicts with a's undone (both changed the same version).
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("todo conflicts"), "{}", run.stderr);
    let conflicts = b.ok(&["conflicts"]).await;
    assert!(conflicts.contains(&eggs), "{conflicts}");
    b.ok(&["resolve", &eggs, "--keep-server"]).await;
    b.ok(&["sync"]).await;
    a.ok(&["sync"]).await;
    let expected = server_list(&server).await;
    let texts: Vec<_> = expected.as_array().unwrap().iter().map(|r| r["text"].as_str().unwrap().to_owned()).collect();
    assert_eq!(texts, vec!["eggs", "jam", "milk"]);
    assert_eq!(a.list().await, expected);
    assert_eq!(b.list().await, expected);
    assert!(!expected.to_string().contains(&bread));
    let _ = &jam;

    // A conflicting edit on both ends with 2 until resolved; keep-mine wins on the server.
    a.ok(&["edit", &milk, "oat milk"]).await;
    b.ok(&["edit", &milk, "soy milk"]).await;
    a.ok(&["sync"]).await;
    assert_eq!(b.run(&["sync"]).await.code, 2);
    assert!(b.ok(&["status"]).await.contains("errors: 1"));
    b.ok(&["resolve", &milk, "--keep-mine"]).await;
    b.ok(&["sync"]).await;
    a.ok(&["sync"]).await;
    let expected = server_list(&server).await;
    assert!(expected.to_string().contains("soy milk"));
    assert_eq!(a.list().await, expected);
    assert_eq!(b.list().await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_message_and_keeps_local_data() {
    let server = NodeServer::start().await.expect("the official Node server starts");
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), "d", &server.url());
    let id = d.add("keep me").await;

    let unknown = d.run(&["done", "no-such-id"]).await;
    assert_eq!(unknown.code, 1);
    assert!(unknown.stderr.contains("no item with id"), "{}", unknown.stderr);
    let empty = d.run(&["add", "   "]).await;
    assert_eq!(empty.code, 1);
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
