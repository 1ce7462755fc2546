//! `todo watch` as a user runs it, against the official Node server: device B's live list shows
//! an edit made on device A within the pull interval, an edit made by another process on B's own
//! database at once, "offline" while the server is down, and syncs by itself when the server is
//! back; Ctrl-C exits 0.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backend_azure_rest::test_server::NodeServer;
use common::{server_list, Device};
use tokio::io::{AsyncBufReadExt, BufReader};

/// The pull interval the watcher runs with.
const INTERVAL_MS: u64 = 500;

/// A running `todo watch`, its output collected block by block (one block per change, each
/// ending with an empty line).
struct Watch {
    child: tokio::process::Child,
    blocks: Arc<Mutex<Vec<String>>>,
}

impl Watch {
    fn start(device: &Device) -> Watch {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_todo"))
            .arg("--db")
            .arg(&device.db)
            .arg("--remote")
            .arg(&device.url)
            .args(["watch", "--interval-ms", &INTERVAL_MS.to_string()])
            .env_remove("TODO_DB")
            .env_remove("TODO_REMOTE")
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("todo watch starts");
        let blocks = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().expect("piped stdout");
        let sink = Arc::clone(&blocks);
        tokio::spawn(async move {
            let mut lines = BufReader::new(out).lines();
            let mut block = String::new();
            while let Ok(Some(line)) = lines.next_line().await {
                if line.is_empty() {
                    sink.lock().unwrap().push(std::mem::take(&mut block));
                } else {
                    block.push_str(&line);
                    block.push('\n');
                }
            }
        });
        Watch { child, blocks }
    }

    /// Waits (at most 30 s) for a block passing `want` printed after the first `after` blocks;
    /// returns it, its index and how long it took.
    async fn wait(&self, after: usize, what: &str, want: impl Fn(&str) -> bool) -> (String, usize, Duration) {
        let start = Instant::now();
        loop {
            {
                let blocks = self.blocks.lock().unwrap();
                if let Some((i, b)) = blocks.iter().enumerate().skip(after).find(|(_, b)| want(b)) {
                    return (b.clone(), i, start.elapsed());
                }
            }
            if start.elapsed() > Duration::from_secs(30) {
                panic!("todo watch never showed {what}; it printed:\n{}", self.blocks.lock().unwrap().join("\n"));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn printed(&self) -> usize {
        self.blocks.lock().unwrap().len()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_list_on_two_devices_through_an_outage() {
    let mut server = NodeServer::start().await.expect("the official Node server starts");
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (Device::new(dir.path(), "a", &server.url()), Device::new(dir.path(), "b", &server.url()));
    let milk = a.add("milk").await;
    a.ok(&["sync"]).await;

    let watch = Watch::start(&b);
    let (first, _, _) = watch.wait(0, "milk after the first sync", |b| b.contains("] milk")).await;
    assert!(first.lines().any(|l| l.starts_with("[ ] milk")), "{first}");
    let (_, at, _) = watch.wait(0, "online and synced", |b| b.starts_with("online ·") && b.contains("0 pending")).await;

    // An edit on A reaches B's screen by B's own pulls, within the interval (plus the request).
    a.ok(&["edit", &milk, "oat milk"]).await;
    a.ok(&["sync"]).await;
    let (_, at, took) = watch.wait(at, "A's edit", |b| b.contains("] oat milk")).await;
    println!("A's edit on B's screen after {took:?} (pull interval {INTERVAL_MS} ms)");

    // Another process on B's database: seen at once (B's store polls the file every 100 ms),
    // then pushed by the watcher by itself.
    b.ok(&["done", &milk]).await;
    let (_, at, took) = watch.wait(at, "the other process's edit", |b| b.contains("[x] oat milk")).await;
    println!("another process's edit on B's screen after {took:?}");
    watch.wait(at, "the edit pushed", |b| b.starts_with("online ·") && b.contains("0 pending")).await;
    for _ in 0..100 {
        if server_list(&server.remote()).await[0]["complete"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(server_list(&server.remote()).await[0]["complete"], true, "the watcher pushed B's edit");

    // The server goes away: the watch says so; an edit made meanwhile waits, shown as pending.
    server.kill().await.unwrap();
    let (offline, at, took) = watch.wait(at, "offline", |b| b.starts_with("offline")).await;
    assert!(offline.contains("retrying in"), "{offline}");
    println!("offline shown after {took:?}");
    let bread = b.add("bread").await;
    let (_, at, _) = watch.wait(at, "bread, pending", |b| b.contains("] bread") && b.contains("1 pending")).await;

    // It comes back: the watch syncs by itself, with no command typed.
    server.restart().await.unwrap();
    let (back, _, took) =
        watch.wait(at, "online again, bread pushed", |b| b.starts_with("online ·") && b.contains("0 pending")).await;
    println!("synced by itself {took:?} after the restart");
    assert!(back.contains("] bread"), "{back}");
    let rows = server_list(&server.remote()).await;
    assert!(rows.as_array().unwrap().iter().any(|r| r["id"] == bread.as_str()), "{rows}");

    // Ctrl-C: the watch stops its sync and exits cleanly.
    let printed = watch.printed();
    let mut watch = watch;
    let pid = watch.child.id().expect("running").to_string();
    let status = std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(20), watch.child.wait()).await.unwrap().unwrap();
    assert_eq!(exit.code(), Some(0), "Ctrl-C exits 0");
    assert!(watch.printed() >= printed);
}
