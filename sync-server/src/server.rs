//! [`Server`] and its [`ServerBuilder`].

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use serde_json::Value;
use sync_core::{Record, SyncEntity, TableSchema};

use crate::auth::Auth;
use crate::config::{Config, DEFAULT_MAX_BODY_BYTES};
use crate::error::{Error, ServerError};
use crate::storage::group::GroupCommit;
use crate::storage::postgres::PostgresBackend;
use crate::storage::sqlite::SqliteBackend;
use crate::storage::{Backend, SeedRow};
use crate::table::{TableDef, TableOptions};
use crate::{http, protocol};

/// What the request handlers share.
pub(crate) struct Inner {
    pub backend: Arc<dyn Backend>,
    pub tables: HashMap<String, TableDef>,
    pub max_body_bytes: usize,
    pub public_url: Option<String>,
    pub auth: Option<Arc<Auth>>,
}

/// Where the data lives.
#[derive(Debug, Clone)]
enum Database {
    File(PathBuf),
    Memory,
    Postgres(String),
}

impl Database {
    /// A `postgres://`/`postgresql://` URL, or `sqlite:PATH` / `sqlite://PATH` / `sqlite::memory:`.
    fn from_url(url: &str) -> Result<Database, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Database::Postgres(url.to_owned()));
        }
        match url.strip_prefix("sqlite:") {
            Some(":memory:") => Ok(Database::Memory),
            Some(path) if !path.is_empty() => {
                let path = path.strip_prefix("//").unwrap_or(path);
                Ok(Database::File(PathBuf::from(path.split('?').next().unwrap_or(path))))
            }
            _ => Err(format!(
                "unsupported database URL {:?}: use postgres://… or sqlite:PATH",
                crate::error::short(url.split('@').next_back().unwrap_or_default())
            )),
        }
    }
}

/// Builds a [`Server`]: tables, database, limits.
///
/// ```no_run
/// # async fn demo() -> Result<(), sync_server::ServerError> {
/// use sync_core::SyncEntity;
///
/// #[derive(SyncEntity, Debug, Clone)]
/// #[sync(table = "TodoItem")]
/// struct TodoItem {
///     id: String,
///     text: String,
///     complete: bool,
/// }
///
/// let server = sync_server::Server::builder()
///     .sqlite_file("todo.sqlite")
///     .table::<TodoItem>()
///     .dynamic_table("Notes")
///     .build()
///     .await?;
/// let app = axum::Router::new().merge(server.router());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(listener, app).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use]
pub struct ServerBuilder {
    tables: Vec<TableDef>,
    errors: Vec<String>,
    database: Database,
    max_body_bytes: usize,
    public_url: Option<String>,
    defaults: TableOptions,
    auth: Option<Auth>,
}

impl Default for ServerBuilder {
    fn default() -> Self {
        ServerBuilder {
            tables: Vec::new(),
            errors: Vec::new(),
            database: Database::File(PathBuf::from("sync-server.sqlite")),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            public_url: None,
            defaults: TableOptions::default(),
            auth: None,
        }
    }
}

impl ServerBuilder {
    /// Serves the table of an entity, with fixed columns from its schema and the default options
    /// (soft delete, page size 50, maxTop 1000).
    pub fn table<T: SyncEntity>(self) -> Self {
        let options = self.defaults;
        self.table_with::<T>(options)
    }

    /// Serves the table of an entity with the given options.
    pub fn table_with<T: SyncEntity>(self, options: TableOptions) -> Self {
        self.schema(&T::schema(), options)
    }

    /// Serves a table with fixed columns from a schema.
    pub fn schema(mut self, schema: &TableSchema, options: TableOptions) -> Self {
        match TableDef::fixed(schema, options) {
            Ok(def) => self.tables.push(def),
            Err(e) => self.errors.push(e.to_string()),
        }
        self
    }

    /// Serves a table with soft delete and a dynamic schema: columns are added when an insert or
    /// update first brings them, typed by the JSON value (string, number → 64-bit float, boolean,
    /// array/object → JSON). Like the Node server's `tables.add(name, { softDelete: true })`.
    pub fn dynamic_table(mut self, name: &str) -> Self {
        match TableDef::dynamic(name, self.defaults) {
            Ok(def) => self.tables.push(def),
            Err(e) => self.errors.push(e.to_string()),
        }
        self
    }

    /// Adds a configuration file's tables and limits (see [`Config`]).
    pub fn config(mut self, config: &Config) -> Self {
        if let Some(n) = config.max_body_bytes {
            self.max_body_bytes = n;
        }
        self.defaults = config.defaults();
        if let Some(auth) = &config.auth {
            match auth.build() {
                Ok(a) => self.auth = Some(a),
                Err(e) => self.errors.push(e.to_string()),
            }
        }
        match config.tables() {
            Ok(tables) => self.tables.extend(tables),
            Err(e) => self.errors.push(e.to_string()),
        }
        self
    }

    /// The SQLite file (created if missing). Default: `sync-server.sqlite` in the current folder.
    pub fn sqlite_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.database = Database::File(path.into());
        self
    }

    /// The database as a URL: `postgres://user:password@host:port/database` (PostgreSQL; several
    /// servers may share it), `sqlite:PATH` or `sqlite::memory:`. A URL of another scheme fails
    /// [`build`](Self::build).
    pub fn database_url(mut self, url: &str) -> Self {
        match Database::from_url(url) {
            Ok(db) => self.database = db,
            Err(e) => self.errors.push(e),
        }
        self
    }

    /// An in-memory SQLite database, gone when the server is dropped (for tests).
    pub fn sqlite_memory(mut self) -> Self {
        self.database = Database::Memory;
        self
    }

    /// Requires a valid JWT on every request (see [`Auth`]); `per_user` tables need it.
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// The largest request body accepted (default 1 MiB); larger is a 413.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// The origin clients reach the server at (`https://example.org`, `http://10.0.0.2:8080`),
    /// used for absolute `Link` URLs; the path is the request's own. Default: `http://` and the
    /// request's `Host` header.
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into());
        self
    }

    /// Opens the database, creates or extends the tables and returns the server.
    pub async fn build(self) -> Result<Server, ServerError> {
        if let Some(e) = self.errors.first() {
            return Err(ServerError::Config(e.clone()));
        }
        let mut tables = HashMap::new();
        for def in self.tables {
            if tables.contains_key(&def.name) {
                return Err(ServerError::Config(format!("the table {} is declared twice", def.name)));
            }
            if def.options.per_user && self.auth.is_none() {
                return Err(ServerError::Config(format!(
                    "table {} is per_user, which needs authentication ([auth] or ServerBuilder::auth)",
                    def.name
                )));
            }
            tables.insert(def.name.clone(), def);
        }
        let backend: Arc<dyn Backend> = match &self.database {
            Database::File(path) => Arc::new(SqliteBackend::open(Some(path)).await?),
            Database::Memory => Arc::new(SqliteBackend::open(None).await?),
            Database::Postgres(url) => Arc::new(PostgresBackend::open(url).await?),
        };
        // Concurrent single writes to a table share a transaction (see `storage::group`).
        let backend: Arc<dyn Backend> = Arc::new(GroupCommit::new(backend));
        let mut names: Vec<&String> = tables.keys().collect();
        names.sort();
        for name in names {
            backend.prepare(&tables[name]).await?;
        }
        let inner = Inner {
            backend,
            tables,
            max_body_bytes: self.max_body_bytes,
            public_url: self.public_url,
            auth: self.auth.map(Arc::new),
        };
        Ok(Server { inner: Arc::new(inner) })
    }
}

/// A Mobile Apps table server: an axum [`Router`] over a SQLite or PostgreSQL database.
///
/// Cheap to clone (shared state). See the [crate] docs for the protocol it speaks.
#[derive(Clone)]
pub struct Server {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("tables", &self.table_names()).finish_non_exhaustive()
    }
}

impl Server {
    /// A builder.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    /// The routes (`/tables/…`) to mount in an app.
    pub fn router(&self) -> Router {
        http::router(Arc::clone(&self.inner))
    }

    /// The names of the served tables, sorted.
    pub fn table_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.inner.tables.keys().cloned().collect();
        names.sort();
        names
    }

    /// Serves on `listener` until `shutdown` completes, then finishes the requests in flight and
    /// closes the database.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let result = axum::serve(listener, self.router()).with_graceful_shutdown(shutdown).await;
        self.inner.backend.close().await;
        result
    }

    /// Writes rows straight into the database, as another writer behind the API would: each with
    /// `createdAt = updatedAt = updated_at` (any RFC 3339 instant, stored canonical), a new
    /// `version`, and `deleted` from the row's `deleted` (default false). Values are checked like
    /// an insert's. Later writes through the API get a later `updatedAt` than the seeded rows.
    /// Meant for tests (the conformance suites' `seed`).
    pub async fn seed(
        &self,
        table: &str,
        rows: impl IntoIterator<Item = Record>,
        updated_at: &str,
    ) -> Result<(), Error> {
        let def = self.inner.tables.get(table).ok_or_else(|| Error::not_found(format!("no table '{table}'")))?;
        let columns = self.inner.backend.columns(def).await?;
        let mut seeded = Vec::new();
        for row in rows {
            let mut map = row.into_map();
            let deleted = map.remove("deleted") == Some(Value::Bool(true));
            for sys in ["createdAt", "updatedAt", "version"] {
                map.remove(sys);
            }
            let id = protocol::insert_id(&map)?;
            let values = protocol::column_values(def, &columns, &map, "seed")?;
            seeded.push(SeedRow { id, values, deleted });
        }
        self.inner.backend.seed(def, seeded, updated_at).await
    }
}
