//! The todo binary driven as two devices, against any server (shared by the Node server test and
//! the sync-server test).

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde_json::Value;
use sync_core::backend::Cursor;
use sync_core::Remote;

pub struct Device {
    pub db: PathBuf,
    pub url: String,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Device {
    pub fn new(dir: &Path, name: &str, url: &str) -> Device {
        Device { db: dir.join(format!("{name}.db")), url: url.to_owned() }
    }

    pub async fn run(&self, args: &[&str]) -> Run {
        self.run_with_env(args, &[]).await
    }

    /// Runs a command with extra environment variables.
    pub async fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_todo"))
            .arg("--db")
            .arg(&self.db)
            .arg("--remote")
            .arg(&self.url)
            .args(args)
            .env_remove("TODO_DB")
            .env_remove("TODO_REMOTE")
            .env_remove("TODO_TOKEN")
            .env_remove("TODO_TIMEOUT")
            .envs(env.iter().copied())
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
    pub async fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args).await;
        assert_eq!(run.code, 0, "todo {args:?} failed: {}{}", run.stdout, run.stderr);
        run.stdout
    }

    pub async fn add(&self, text: &str) -> String {
        self.ok(&["add", text]).await.trim().to_owned()
    }

    pub async fn list(&self) -> Value {
        serde_json::from_str(&self.ok(&["list", "--json"]).await).expect("list --json prints JSON")
    }
}

/// The server's live TodoItem rows in `list --json` form and order (text, then id).
pub async fn server_list(remote: &dyn Remote) -> Value {
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
                "id": r.id(), "text": pick("text"), "complete": pick("complete"), "priority": pick("priority"),
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

/// Two devices: offline edits, converge, a conflict resolved with keep-server, a delete, and a
/// conflicting edit resolved with keep-mine; both lists equal the server's rows after each round.
pub async fn converge_conflict_resolve(url: &str, remote: &dyn Remote) {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (Device::new(dir.path(), "a", url), Device::new(dir.path(), "b", url));

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
    let expected = server_list(remote).await;
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
    assert_eq!(run.code, 3, "conflicts wait: {}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("todo conflicts"), "{}", run.stderr);
    let conflicts = b.ok(&["conflicts"]).await;
    assert!(conflicts.contains(&eggs), "{conflicts}");
    b.ok(&["resolve", &eggs, "--keep-server"]).await;
    b.ok(&["sync"]).await;
    a.ok(&["sync"]).await;
    let expected = server_list(remote).await;
    let texts: Vec<_> = expected.as_array().unwrap().iter().map(|r| r["text"].as_str().unwrap().to_owned()).collect();
    assert_eq!(texts, vec!["eggs", "jam", "milk"]);
    assert_eq!(a.list().await, expected);
    assert_eq!(b.list().await, expected);
    assert!(!expected.to_string().contains(&bread));
    let _ = &jam;

    // A conflicting edit on both ends with 3 until resolved; keep-mine wins on the server.
    a.ok(&["edit", &milk, "oat milk"]).await;
    b.ok(&["edit", &milk, "soy milk"]).await;
    a.ok(&["sync"]).await;
    assert_eq!(b.run(&["sync"]).await.code, 3);
    assert!(b.ok(&["status"]).await.contains("errors: 1"));
    b.ok(&["resolve", &milk, "--keep-mine"]).await;
    b.ok(&["sync"]).await;
    a.ok(&["sync"]).await;
    let expected = server_list(remote).await;
    assert!(expected.to_string().contains("soy milk"));
    assert_eq!(a.list().await, expected);
    assert_eq!(b.list().await, expected);
}
