//! A small TCP proxy on 127.0.0.1 in front of the Node server, standing in for a mobile network.
//!
//! What it delays: **every byte the server sends** reaches the client `delay` after the proxy
//! read it from the server — a delay line per connection (each chunk is stamped on arrival and
//! written at `arrival + delay`, in order, so consecutive chunks of one response are not delayed
//! twice). Requests (client → server) and connection setup are forwarded at once. With HTTP/1.1
//! keep-alive and no pipelining this adds `delay` to each request's round trip: a response starts
//! `delay` late and its later chunks follow at the pace they came.
//!
//! It can also record each request line (`GET /tables/Item?… HTTP/1.1`) the clients send, which
//! the pull section uses to check that the raw baseline asks for exactly what the remote asks for.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// A running proxy; stops when dropped.
pub struct Proxy {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
    waits: Arc<Waits>,
    accept: JoinHandle<()>,
}

/// Server wait times seen by the proxy: from forwarding a request's first bytes to reading the
/// first bytes of the answer (the server's time to first byte, before any delay).
#[derive(Debug, Default)]
pub struct Waits {
    count: std::sync::atomic::AtomicU64,
    nanos: std::sync::atomic::AtomicU64,
}

impl Waits {
    fn add(&self, d: Duration) {
        use std::sync::atomic::Ordering::Relaxed;
        self.count.fetch_add(1, Relaxed);
        self.nanos.fetch_add(d.as_nanos() as u64, Relaxed);
    }

    /// (answers, summed time to first byte) so far, and resets both.
    pub fn take(&self) -> (u64, Duration) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.count.swap(0, Relaxed), Duration::from_nanos(self.nanos.swap(0, Relaxed)))
    }
}

impl Proxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `upstream` (`http://127.0.0.1:port`).
    pub async fn start(upstream: &str, delay: Duration, record: bool) -> std::io::Result<Proxy> {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .map_err(|e| std::io::Error::other(format!("upstream {upstream}: {e}")))?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let waits = Arc::new(Waits::default());
        let log = record.then(|| Arc::clone(&requests));
        let conn_waits = Arc::clone(&waits);
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let log = log.clone();
                let waits = Arc::clone(&conn_waits);
                tokio::spawn(async move {
                    if let Err(e) = serve(client, upstream, delay, log, waits).await {
                        eprintln!("proxy: connection ended with {e}");
                    }
                });
            }
        });
        Ok(Proxy { addr, requests, waits, accept })
    }

    /// `http://127.0.0.1:<port>` of the proxy.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server's time to first byte, summed over answers.
    pub fn waits(&self) -> &Waits {
        &self.waits
    }

    /// The request lines recorded so far (`METHOD target`), and forgets them.
    pub fn take_requests(&self) -> Vec<String> {
        self.requests.lock().map(|mut r| std::mem::take(&mut *r)).unwrap_or_default()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn serve(
    client: TcpStream,
    upstream: SocketAddr,
    delay: Duration,
    log: Option<Arc<Mutex<Vec<String>>>>,
    waits: Arc<Waits>,
) -> std::io::Result<()> {
    let server = TcpStream::connect(upstream).await?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();

    // When the request now waiting for its answer was forwarded.
    let sent: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let sent_by_client = Arc::clone(&sent);
    // client → server: at once.
    let requests = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = client_read.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            if let Some(log) = &log {
                record_request_lines(&buf[..n], log);
            }
            if let Ok(mut s) = sent_by_client.lock() {
                s.get_or_insert_with(Instant::now);
            }
            server_write.write_all(&buf[..n]).await?;
        }
        server_write.shutdown().await
    });

    // server → client: through the delay line.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = server_read.read(&mut buf).await?;
            let now = Instant::now();
            if let Some(at) = sent.lock().ok().and_then(|mut s| s.take()) {
                waits.add(now - at);
            }
            if n == 0 || tx.send((now + delay, buf[..n].to_vec())).is_err() {
                break;
            }
        }
        Ok::<(), std::io::Error>(())
    });
    while let Some((due, chunk)) = rx.recv().await {
        tokio::time::sleep_until(due).await;
        client_write.write_all(&chunk).await?;
    }
    client_write.shutdown().await.ok();
    reader.await.map_err(std::io::Error::other)??;
    requests.abort();
    Ok(())
}

/// Records the HTTP request lines in a chunk of client bytes.
fn record_request_lines(chunk: &[u8], log: &Mutex<Vec<String>>) {
    let text = String::from_utf8_lossy(chunk);
    for line in text.split("\r\n") {
        let is_request = ["GET ", "POST ", "PATCH ", "DELETE "].iter().any(|m| line.starts_with(m));
        if is_request && line.ends_with(" HTTP/1.1") {
            if let Ok(mut log) = log.lock() {
                log.push(line.trim_end_matches(" HTTP/1.1").to_owned());
            }
        }
    }
}
