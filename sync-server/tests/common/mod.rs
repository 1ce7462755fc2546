//! Test harness: a sync-server on 127.0.0.1 (a free port) with the conformance suites' tables, run
//! on its own thread and runtime so cases on other runtimes can share it; stopped on drop. The
//! database is a SQLite file or a fresh database on the test PostgreSQL server
//! (`sync_server::test_postgres`, which fails the test loudly when PostgreSQL cannot start).

#![allow(dead_code)]

use std::sync::OnceLock;

use sync_core::Record;
use sync_server::test_postgres::PgServer;
use sync_server::{Config, Server};

/// The database kinds the suites run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    /// A SQLite file in a temp dir.
    Sqlite,
    /// A fresh database on the shared test PostgreSQL server.
    Postgres,
}

/// Where a server keeps its data.
#[derive(Debug, Clone)]
pub enum Target {
    /// A SQLite file (which may be shared with another server).
    File(std::path::PathBuf),
    /// A database URL (which may be shared with another server).
    Url(String),
}

/// The tables of sync-core's conformance suites (`sync_core::conformance::remote` docs).
pub const CONFORMANCE_TABLES: &str = r#"
[tables.Item]
columns = { name = "string", n = "number", flag = "boolean" }
[tables.AllTypes]
columns = { s = "string", i = "number", r = "number", b = "boolean", d = "date" }
[tables.TodoItem]
columns = { text = "string", complete = "boolean", priority = "number" }
"#;

/// A running server.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The server (its handle: seed through [`TestServer::seed`]).
    pub server: Server,
    /// The database.
    pub db: Target,
    runtime: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: Option<tempfile::TempDir>,
}

impl TestServer {
    /// Starts a server with the conformance tables on a fresh SQLite database.
    pub fn start() -> TestServer {
        TestServer::start_on(Db::Sqlite)
    }

    /// Starts a server with the conformance tables on a fresh database of the kind.
    pub fn start_on(db: Db) -> TestServer {
        TestServer::with_config_on(db, CONFORMANCE_TABLES, |b| b)
    }

    /// Starts a server with a config and builder tweaks on a fresh SQLite database.
    pub fn with_config(
        config: &str,
        tweak: impl FnOnce(sync_server::ServerBuilder) -> sync_server::ServerBuilder + Send + 'static,
    ) -> TestServer {
        TestServer::with_config_on(Db::Sqlite, config, tweak)
    }

    /// Starts a server with a config and builder tweaks on a fresh database of the kind.
    pub fn with_config_on(
        db: Db,
        config: &str,
        tweak: impl FnOnce(sync_server::ServerBuilder) -> sync_server::ServerBuilder + Send + 'static,
    ) -> TestServer {
        match db {
            Db::Sqlite => {
                let dir = tempfile::tempdir().expect("a temp dir");
                let file = dir.path().join("server.sqlite");
                let mut s = TestServer::on(config, Target::File(file), tweak);
                s._dir = Some(dir);
                s
            }
            Db::Postgres => TestServer::on(config, Target::Url(fresh_postgres_database()), tweak),
        }
    }

    /// Starts a server on a given database (which may be shared with another server).
    pub fn on(
        config: &str,
        db: Target,
        tweak: impl FnOnce(sync_server::ServerBuilder) -> sync_server::ServerBuilder + Send + 'static,
    ) -> TestServer {
        let config = Config::from_toml(config).expect("test config");
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let file = db.clone();
        let thread = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
            runtime.block_on(async move {
                let base = match &file {
                    Target::File(path) => Server::builder().sqlite_file(path),
                    Target::Url(url) => Server::builder().database_url(url),
                };
                let builder = tweak(base.config(&config));
                let server = builder.build().await.expect("the server builds");
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
                let addr = listener.local_addr().expect("addr");
                ready_tx
                    .send((format!("http://{addr}"), server.clone(), tokio::runtime::Handle::current()))
                    .expect("ready");
                server
                    .serve(listener, async move {
                        let _ = stop_rx.await;
                    })
                    .await
                    .expect("serve");
            });
        });
        let (url, server, runtime) = ready_rx.recv().expect("the server starts");
        TestServer { url, server, db, runtime, stop: Some(stop_tx), thread: Some(thread), _dir: None }
    }

    /// One server per test binary and database kind, never stopped before the process ends.
    pub fn shared(db: Db) -> &'static TestServer {
        static SQLITE: OnceLock<TestServer> = OnceLock::new();
        static POSTGRES: OnceLock<TestServer> = OnceLock::new();
        match db {
            Db::Sqlite => SQLITE.get_or_init(|| TestServer::start_on(Db::Sqlite)),
            Db::Postgres => POSTGRES.get_or_init(|| TestServer::start_on(Db::Postgres)),
        }
    }

    /// Seeds rows on the server's own runtime.
    pub async fn seed(&self, table: &str, rows: Vec<Record>, updated_at: &str) {
        let server = self.server.clone();
        let (table, at) = (table.to_owned(), updated_at.to_owned());
        self.runtime
            .spawn(async move { server.seed(&table, rows, &at).await })
            .await
            .expect("the seed task")
            .unwrap_or_else(|e| panic!("seeding failed: {e}"));
    }

    /// A REST remote for this server.
    pub fn remote(&self) -> backend_azure_rest::AzureRestRemote {
        backend_azure_rest::AzureRestRemote::builder(&self.url).build().expect("a remote")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A new, empty database on the shared test PostgreSQL server (started on first use).
pub fn fresh_postgres_database() -> String {
    // Its own thread and runtime: callers may be inside a runtime or not.
    std::thread::spawn(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        rt.block_on(PgServer::shared().fresh_database()).unwrap_or_else(|e| panic!("{e}"))
    })
    .join()
    .expect("the database is made")
}

/// One request with `ZUMO-API-VERSION: 2.0.0`, an optional `If-Match` and an optional JSON body:
/// the status, the headers and the JSON body (null when there is none).
pub async fn send_full(
    client: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    if_match: Option<&str>,
    body: Option<&serde_json::Value>,
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let mut req = client.request(method, format!("{base}{path}")).header("ZUMO-API-VERSION", "2.0.0");
    if let Some(m) = if_match {
        req = req.header("If-Match", m);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.json().await.unwrap_or(serde_json::Value::Null))
}

/// [`send_full`] without the headers.
pub async fn send(
    client: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    if_match: Option<&str>,
    body: Option<&serde_json::Value>,
) -> (u16, serde_json::Value) {
    let (status, _, body) = send_full(client, base, method, path, if_match, body).await;
    (status, body)
}

/// An item without what differs between two servers (`createdAt`, `updatedAt`, `version`); any
/// error body is the same "an error".
pub fn comparable(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(map) = v.as_object_mut() {
        for k in ["createdAt", "updatedAt", "version"] {
            map.remove(k);
        }
        if map.contains_key("error") {
            return serde_json::json!("an error");
        }
    }
    v
}
