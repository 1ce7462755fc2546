//! The todo binary never leaves the user guessing: a server that accepts connections and never
//! answers is given up on within `--timeout` with a clear message and exit 1, and what was saved
//! before stays whole (a pull stopped between pages keeps whole pages only, and a later sync
//! finishes it); a proxy's HTML error page is one short line; progress off a terminal is plain
//! text that names the table and counts against the server's total.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backend_azure_rest::test_server::NodeServer;
use common::Device;

/// A listener on 127.0.0.1 that accepts every connection and never answers (the connections
/// stay open for as long as the test process runs).
fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("its address");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    format!("http://{addr}")
}

/// A loopback server that answers every request with `status` and an HTML page, as a proxy
/// in front of a dead backend does.
fn html_server(status: &'static str, page: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("its address");
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let page = page.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && conn.read(&mut byte).is_ok_and(|n| n == 1) {
                    head.push(byte[0]);
                }
                let answer = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{page}",
                    page.len()
                );
                let _ = conn.write_all(answer.as_bytes());
            });
        }
    });
    format!("http://{addr}")
}

/// A proxy to `upstream` that passes the first `passed` requests and holds every later one:
/// it is never sent on, so its connection stays open with no answer. Requests are counted by
/// their empty line, so this is for GETs only (a pull).
fn stalling_proxy(upstream: SocketAddr, passed: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().expect("its address");
    let sent = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(upstream) else { continue };
            let (mut from_server, mut to_client) = (server.try_clone().unwrap(), client.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut from_server, &mut to_client);
            });
            let sent = Arc::clone(&sent);
            std::thread::spawn(move || {
                let (mut client, mut server) = (client, server);
                let (mut pending, mut buf) = (Vec::new(), [0u8; 4096]);
                while let Ok(n @ 1..) = client.read(&mut buf) {
                    pending.extend_from_slice(&buf[..n]);
                    while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                        let request: Vec<u8> = pending.drain(..end + 4).collect();
                        if sent.fetch_add(1, Ordering::SeqCst) < passed && server.write_all(&request).is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

fn no_control_characters(text: &str) -> bool {
    !text.chars().any(|c| c.is_control() && c != '\n')
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_is_given_up_on_within_the_timeout_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), "d", &silent_server());
    let id = d.add("keep me").await;

    let started = Instant::now();
    let run = d.run(&["--timeout", "2", "sync"]).await;
    let took = started.elapsed();
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(took < Duration::from_secs(8), "returned after {took:?}, the bound is 2 s");
    assert!(took >= Duration::from_secs(2), "not before the limit: {took:?}");
    assert!(
        run.stderr.contains("did not finish within 2 s (--timeout)") && run.stderr.contains("your changes are kept"),
        "{}",
        run.stderr
    );
    assert!(no_control_characters(&run.stderr), "off a terminal no control characters: {:?}", run.stderr);

    // The environment variable works too, and the item and its queued insert are intact.
    let run = d.run_with_env(&["sync", "--pull-only"], &[("TODO_TIMEOUT", "1")]).await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("within 1 s"), "{}", run.stderr);
    assert_eq!(d.list().await[0]["id"], serde_json::Value::String(id));
    assert!(d.ok(&["status"]).await.contains("pending operations: 1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_stopped_by_the_timeout_keeps_whole_pages_and_the_next_sync_finishes_it() {
    let server = NodeServer::start().await.expect("the official Node server starts");
    server.seed("TodoItem", 2500, "2024-01-01T00:00:00.000Z", "row-").await.unwrap();
    let upstream: SocketAddr = format!("127.0.0.1:{}", server.port()).parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The first page (1000 rows) comes through; the next request never gets an answer.
    let stalled = Device::new(dir.path(), "d", &stalling_proxy(upstream, 1));
    let run = stalled.run(&["--timeout", "3", "sync", "--pull-only"]).await;
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("did not finish within 3 s"), "{}", run.stderr);
    let kept = stalled.list().await.as_array().unwrap().len();
    assert_eq!(kept, 1000, "the first page is stored whole, nothing of the next");

    let direct = Device { db: stalled.db.clone(), url: server.url() };
    direct.ok(&["sync"]).await;
    assert_eq!(direct.list().await, common::server_list(&server.remote()).await, "the next sync finishes the pull");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_html_error_page_is_one_short_line() {
    let page = format!(
        "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body><h1>502 Bad Gateway</h1>\
         <pre>{}</pre><hr><center>nginx</center></body></html>",
        "upstream trace line\n".repeat(500)
    );
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), "d", &html_server("502 Bad Gateway", page));
    let run = d.run(&["sync", "--pull-only"]).await;
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let message = run.stderr.lines().find(|l| l.starts_with("todo: ")).unwrap_or_default();
    assert!(message.contains("failed: HTTP 502 Bad Gateway (text/html): 502 Bad Gateway;"), "{}", run.stderr);
    assert!(!run.stderr.contains("<") && !run.stderr.contains("upstream trace"), "no HTML: {}", run.stderr);
    assert!(message.chars().count() < 250, "one short line: {message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_off_a_terminal_names_the_table_and_counts_to_the_total() {
    let server = NodeServer::start().await.expect("the official Node server starts");
    server.seed("TodoItem", 2500, "2024-01-01T00:00:00.000Z", "row-").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), "d", &server.url());
    let ids = [d.add("one").await, d.add("two").await, d.add("three").await];
    let run = d.run(&["sync"]).await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("Pushing TodoItem: 3 of 3 (100%)"), "{}", run.stderr);
    assert!(run.stderr.contains("Pulling TodoItem: 2,503 of 2,503 (100%)"), "{}", run.stderr);
    assert!(run.stderr.contains("rows/s"), "{}", run.stderr);
    assert!(ids.iter().all(|id| !run.stderr.contains(id.as_str())), "no item ids: {}", run.stderr);
    assert!(no_control_characters(&run.stderr), "{:?}", run.stderr);
}
