//! # store-diesel
//!
//! The durable default [`Store`](sync_core::Store) for apps: Diesel 2 over a bundled SQLite, in
//! WAL mode, with the system tables created by embedded migrations. See [`DieselStore`] for the
//! connections, durability, table layout and upgrade rules.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sync_core::backend::StoreError> {
//! let store = store_diesel::DieselStore::open("app.db").await?;
//! // … hand it to the engine as `Arc<dyn Store>` …
//! store.close().await?;
//! # Ok(()) }
//! ```
//!
//! How it works, by module:
//! - `store`: [`DieselStore`] — opening, the `Store` impl, closing;
//! - `options`: [`OpenOptions`] and [`Synchronous`] — readers, busy timeout, durability;
//! - `connection`: pragmas, `BEGIN IMMEDIATE` transactions (rolled back on error or panic), the
//!   bounded prepared-statement cache, and the pool of read-only connections;
//! - `statement`: a Diesel query fragment with dynamic `?` parameters that Diesel's statement cache
//!   keeps (Diesel never caches `sql_query`): constant statements are keyed by a marker type, per
//!   table ones by their stable SQL text; rows are read cell by cell with SQLite's own types;
//! - `migrations`: the embedded migrations (`migrations/`) for `__operations`, `__errors`,
//!   `__config` and the `__tables` catalogue;
//! - `catalogue` and `ddl`: entity tables from a `TableSchema`, their SQL names, how they upgrade;
//! - `rows`: records to typed column values and back;
//! - `query_sql`: queries to SQL with bound parameters, matching `sync_core::backend::run_query`;
//! - `transaction` and `system_tables`: the `Transaction` the engine's work runs against.

mod catalogue;
mod connection;
mod ddl;
mod error;
mod migrations;
mod options;
mod query_sql;
mod rows;
mod statement;
mod store;
mod system_tables;
mod transaction;

pub use options::{OpenOptions, Synchronous};
pub use store::DieselStore;
