//! The sync engine: [`SyncContext`](context::SyncContext) and the tables it hands out, push,
//! pull, purge, conflict handling and progress events.

pub mod conflict;
pub mod context;
pub mod events;
pub mod options;
mod pull;
mod push;
mod resolution;
mod retry;
pub mod table;
