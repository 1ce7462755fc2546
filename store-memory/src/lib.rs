//! # store-memory
//!
//! In-memory implementations of the sync-core seams, made for tests and prototypes: the same app
//! code runs on them as on a database file and a real server.
//!
//! ```
//! use store_memory::{MemoryRemote, MemoryStore};
//! use sync_core::{PullOptions, Query, SyncContext, SyncEntity};
//!
//! #[derive(SyncEntity, Debug, Clone)]
//! #[sync(table = "TodoItem")]
//! struct TodoItem { id: String, text: String, complete: bool }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let server = MemoryRemote::new();
//! let phone = SyncContext::builder(MemoryStore::new()).remote(server.clone()).build().await?;
//! let laptop = SyncContext::builder(MemoryStore::new()).remote(server.clone()).build().await?;
//! phone.table::<TodoItem>().await?.insert(TodoItem { id: "1".into(), text: "milk".into(), complete: false }).await?;
//! phone.push().await?;
//! let todos = laptop.table::<TodoItem>().await?;
//! todos.pull(&Query::new(), PullOptions::incremental("all")).await?;
//! assert_eq!(todos.get("1").await?.map(|t| t.text), Some("milk".to_owned()));
//! # Ok::<_, sync_core::SyncError>(()) }).unwrap();
//! ```
//!
//! - [`MemoryStore`]: a [`Store`](sync_core::Store) kept in memory, fast and thread-safe;
//! - [`MemoryRemote`]: a [`Remote`](sync_core::Remote) that behaves like the official Node server,
//!   with fault injection and a request log.

mod remote;
mod store;

pub use remote::*;
pub use store::*;
