//! The floor under every server's POST rate in section 7: an HTTP server that does no work.
//! It answers `POST /tables/{table}` with `201` and the body it was sent, from its own thread
//! and runtime (2 workers), as `OurServer` runs sync-server, and takes the same requests from
//! the same client. Its rate is what the loopback, the HTTP stacks and the thread hand-offs of
//! this machine allow; no server, however fast its storage, answers sequential POSTs faster, so
//! `echo / Node` is the highest POST ratio any server can show against Node here.

use axum::body::Bytes;
use axum::http::{header, StatusCode};
use axum::routing::post;
use axum::Router;

use crate::BenchError;

/// The echo server, stopped on drop.
pub(crate) struct EchoServer {
    pub(crate) url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl EchoServer {
    pub(crate) fn start() -> Result<EchoServer, BenchError> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<String, String>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
                Ok(rt) => rt,
                Err(e) => return drop(ready_tx.send(Err(e.to_string()))),
            };
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                    Ok(l) => l,
                    Err(e) => return drop(ready_tx.send(Err(e.to_string()))),
                };
                let url = listener.local_addr().map(|a| format!("http://{a}")).unwrap_or_default();
                let _ = ready_tx.send(Ok(url));
                let app = Router::new().route("/tables/{table}", post(echo));
                let _ = axum::serve(listener, app).with_graceful_shutdown(async move { drop(stop_rx.await) }).await;
            });
        });
        let url = ready_rx
            .recv()
            .map_err(|_| BenchError::new("the echo server's thread ended"))?
            .map_err(|e| BenchError::new(format!("echo server: {e}")))?;
        Ok(EchoServer { url, stop: Some(stop_tx), thread: Some(thread) })
    }
}

/// The request's body, back, as a created item.
async fn echo(body: Bytes) -> (StatusCode, [(header::HeaderName, &'static str); 1], Bytes) {
    (StatusCode::CREATED, [(header::CONTENT_TYPE, "application/json")], body)
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
