//! # store-memory
//!
//! In-memory implementations of the sync-core seams, made for tests and prototypes:
//! - [`MemoryStore`]: a [`Store`](sync_core::Store) kept in memory, fast and thread-safe;
//! - [`MemoryRemote`]: a [`Remote`](sync_core::Remote) that behaves like the official Node server,
//!   with fault injection and a request log.

mod remote;
mod store;

pub use remote::*;
pub use store::*;
