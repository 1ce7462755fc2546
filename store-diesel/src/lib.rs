//! # store-diesel
//!
//! The durable default [`Store`](sync_core::Store) for apps: Diesel 2 over a bundled SQLite, in
//! WAL mode, with the system tables created by embedded migrations.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sync_core::StoreError> {
//! let store = store_diesel::DieselStore::open("app.db").await?;
//! # let _ = store; Ok(()) }
//! ```
//!
//! Map of the crate:
//! - [`DieselStore`] (`store`): opening, the connections, the `Store` impl;
//! - [`OpenOptions`] and [`Synchronous`] (`options`): readers, busy timeout, durability;
//! - `connection`: pragmas, transactions, the bounded prepared-statement cache, the reader pool;
//! - `statement`: a cacheable Diesel query fragment with dynamic parameters, and dynamic rows;
//! - `migrations`: the embedded migrations (`migrations/`) for `__operations`, `__errors`,
//!   `__config` and the `__tables` catalogue;
//! - `catalogue` and `ddl`: entity tables from a `TableSchema`, their SQL names, how they upgrade;
//! - `rows`: records to typed columns and back;
//! - `query_sql`: queries to SQL, matching `sync_core::query::eval::run_query`;
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
