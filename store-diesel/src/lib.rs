//! # store-diesel
//!
//! The durable default [`Store`](sync_core::Store) for apps: Diesel 2 over a bundled SQLite, in
//! WAL mode, with the system tables created by embedded migrations. See [`DieselStore`] for the
//! connections, durability, table layout and upgrade rules.
//!
//! ```
//! use store_diesel::DieselStore;
//! use sync_core::{Query, SyncContext, SyncEntity};
//!
//! #[derive(SyncEntity, Debug, Clone)]
//! #[sync(table = "TodoItem")]
//! struct TodoItem { id: String, text: String, complete: bool }
//!
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("app.db");
//! let store = DieselStore::open(&path).await?;
//! let ctx = SyncContext::builder(store).build().await?; // add .remote(…) to sync
//! let todos = ctx.table::<TodoItem>().await?;
//! todos.insert(TodoItem { id: String::new(), text: "milk".into(), complete: false }).await?;
//! assert_eq!(todos.count(&Query::new()).await?, 1);
//! assert_eq!(ctx.pending_count().await?, 1); // queued in the same transaction
//! # Ok::<_, sync_core::SyncError>(()) }).unwrap();
//! ```
//!
//! What the crate offers:
//! - [`DieselStore`]: open a file ([`DieselStore::open`], [`DieselStore::open_with`]) or a
//!   private in-memory database ([`DieselStore::open_in_memory`]); it implements
//!   [`Store`](sync_core::Store), so it plugs into [`SyncContext`](sync_core::SyncContext).
//!   Its docs cover the connections (one writer, several readers), durability, how tables are
//!   laid out and upgraded, and how failures are classified;
//! - [`OpenOptions`] and [`Synchronous`]: readers, busy timeout, durability, how often other
//!   processes' commits are looked for.
//!
//! SQLite is compiled into the crate (`libsqlite3-sys`'s `bundled` feature): nothing needs to be
//! installed. A Tokio runtime must be running: every SQLite call runs on Tokio's blocking threads.
//!
//! Feature `bundled-sqlcipher`: SQLCipher instead of SQLite, for files encrypted at rest with
//! [`OpenOptions::encryption_key`] (it links OpenSSL's libcrypto).

// How it works, by module:
// - `store`: `DieselStore` — opening, the `Store` impl, closing;
// - `options`: `OpenOptions` and `Synchronous` — readers, busy timeout, durability;
// - `connection`: pragmas, `BEGIN IMMEDIATE` transactions (rolled back on error or panic), the
//   bounded prepared-statement cache, and the pool of read-only connections;
// - `statement`: a Diesel query fragment with dynamic `?` parameters that Diesel's statement cache
//   keeps (Diesel never caches `sql_query`): constant statements are keyed by a marker type, per
//   table ones by their stable SQL text; rows are read cell by cell with SQLite's own types;
// - `migrations`: the embedded migrations (`migrations/`) for `__operations`, `__errors`,
//   `__config` and the `__tables` catalogue;
// - `catalogue` and `ddl`: entity tables from a `TableSchema`, their SQL names, how they upgrade;
// - `evolve`: the upgrade of a stored table to a new schema;
// - `rows`: records to typed column values and back;
// - `query_sql`: queries to SQL with bound parameters, matching `sync_core::backend::run_query`;
// - `transaction` and `system_tables`: the `Transaction` the engine's work runs against;
// - `push_lock`: the push lock, an OS file lock beside the database;
// - `error`: SQLite failures classified into `StoreError`s;
// - `encryption`: the SQLCipher key on every connection, and what a key that does not fit means;
// - `watch`: other connections' commits announced to live queries (`PRAGMA data_version`).

mod catalogue;
mod connection;
mod ddl;
mod encryption;
mod error;
mod evolve;
mod migrations;
mod options;
mod push_lock;
mod query_sql;
mod rows;
mod statement;
mod store;
mod system_tables;
mod transaction;
mod watch;

pub use options::{OpenOptions, Synchronous};
pub use store::DieselStore;
