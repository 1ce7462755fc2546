//! The sync engine. [`SyncContext`] is the facade: it owns the [`Shared`](shared::Shared) state
//! and hands out tables; the parts below it take that state, never the facade.
//!
//! | file | job |
//! |---|---|
//! | `context.rs` | [`SyncContext`] and its builder |
//! | `table.rs` | [`JsonTable`] and [`SyncTable`]: local CRUD, queries, pull, purge, push of one table |
//! | `watch.rs` | [`LiveQuery`]: a query's results, re-read after each committed change of its table |
//! | `announce.rs` | the store as the engine sees it: commits announced on the store's change feed |
//! | `shared.rs` | the state every part shares: store, remote, handler, options, events, locks |
//! | `push_scheduler.rs` | push: claiming batches, parallelism, per-item order |
//! | `push_operation.rs` | one operation's round trip: send, lost answers, conflicts |
//! | `push_batch.rs` | a group of operations of one table sent in one batch request |
//! | `push_records.rs` | what a push writes besides the answer: failures, attempted marks, sent bodies |
//! | `migration.rs` | explicit migration steps, run once per store when the context is built |
//! | `pull.rs` | keyset incremental pull |
//! | `rejected.rs` | server rows a pull could not store, kept for the app |
//! | `purge.rs` | purge |
//! | `resolution.rs` | applying a [`Resolution`] (handler or errors table) and checking merges |
//! | `retry.rs` | bounded retries of transient remote failures (`backon`) |
//! | `auto_sync.rs` | [`SyncHandle`]: the automatic sync task (debounced push, interval pulls, back-off) |
//! | `auto_options.rs` | [`AutoSync`] and [`SyncStatus`]: its settings and its status |
//! | `conflict.rs`, `events.rs`, `options.rs` | the app-facing types of those subjects |

mod announce;
mod auto_options;
mod auto_sync;
mod conflict;
mod context;
mod events;
mod migration;
mod options;
mod pull;
mod purge;
mod push_batch;
mod push_operation;
mod push_records;
mod push_scheduler;
pub(crate) mod rejected;
mod resolution;
mod retry;
mod shared;
mod table;
mod watch;

pub use auto_options::{AutoPull, AutoSync, SyncState, SyncStatus};
pub use auto_sync::SyncHandle;
pub use conflict::{ClientWins, Conflict, ConflictHandler, DeferConflicts, Resolution, ServerWins};
pub use context::{SyncContext, SyncContextBuilder};
pub use events::{EventStream, PullSummary, PushOutcome, PushSummary, SyncEvent};
pub use migration::{Migration, RowChange};
pub use options::{PullOptions, PurgeOptions, RetryPolicy, SyncOptions};
pub use rejected::RejectedRow;
pub use table::{JsonTable, SyncTable};
pub use watch::LiveQuery;
