//! A raw HTTP/1.1 server on 127.0.0.1 that records each request and answers with a canned or
//! computed response: what the real server cannot be made to send (malformed bodies, cut
//! connections, redirects, echoed request headers, another item than the one asked for).
//!
//! Shared by the loopback test files; each uses a part of it.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Computes the answer's bytes from the recorded request (its head and body as text).
pub type Reply = Arc<dyn Fn(&str) -> Vec<u8> + Send + Sync>;

/// An answer, given after the request is read.
#[derive(Clone)]
pub enum Answer {
    /// These bytes.
    Raw(Vec<u8>),
    /// The bytes the function makes of the request.
    Reply(Reply),
    /// Close without answering.
    Close,
    /// Never answer.
    Hang,
}

/// The bytes of a complete response (`Connection: close`, a `Content-Length`).
pub fn response(status: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut s = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (k, v) in headers {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s.push_str("\r\n");
    s.push_str(body);
    s.into_bytes()
}

/// A canned response.
pub fn http(status: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    Answer::Raw(response(status, headers, body))
}

/// A response computed from each request.
pub fn reply(f: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static) -> Answer {
    Answer::Reply(Arc::new(f))
}

/// The requests a server has seen, in order of arrival.
pub type Seen = Arc<Mutex<Vec<String>>>;

/// Serves `answers` in turn (the last one repeats); returns the base URL and the recorded requests.
pub async fn serve(answers: Vec<Answer>) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        let mut i = 0;
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let answer = answers[i.min(answers.len() - 1)].clone();
            i += 1;
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head, then Content-Length bytes of body.
                loop {
                    let Ok(n) = sock.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned())
                            })
                            .and_then(|v| v.parse::<usize>().ok())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                let request = String::from_utf8_lossy(&buf).to_string();
                log.lock().unwrap().push(request.clone());
                let bytes = match answer {
                    Answer::Raw(bytes) => bytes,
                    Answer::Reply(f) => f(&request),
                    Answer::Close => {
                        drop(sock);
                        return;
                    }
                    Answer::Hang => {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        return;
                    }
                };
                let _ = sock.write_all(&bytes).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (url, seen)
}
