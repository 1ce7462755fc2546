//! The app-facing types of automatic sync: [`AutoSync`] (what to do and when) and
//! [`SyncStatus`] (what it is doing, for a status line).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::query::expr::Query;

/// The settings of [`SyncContext::start_sync`](crate::SyncContext::start_sync): which queries
/// to pull, how long to wait after local writes before pushing, how often to pull, and how to
/// back off while the server cannot be reached.
///
/// ```
/// use std::time::Duration;
/// use sync_core::{AutoSync, Query};
/// let auto = AutoSync::new()
///     .pull("TodoItem", Query::new(), "all-todos")
///     .pull_interval(Duration::from_secs(10))
///     .push_debounce(Duration::from_millis(200));
/// assert_eq!(auto.pulls.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AutoSync {
    /// The incremental pulls run on every sync, in this order.
    pub pulls: Vec<AutoPull>,
    /// How long the queue must be quiet after a local write before the push starts (default
    /// 300 ms); a stream of writes is pushed at the latest 4 times this after its first write.
    pub push_debounce: Duration,
    /// How often the registered queries are pulled when nothing else happens (default 30 s).
    pub pull_interval: Duration,
    /// The first delay after a failure to reach the server (default 1 s); each further failure
    /// doubles it, plus jitter.
    pub min_backoff: Duration,
    /// The longest delay between attempts while the server cannot be reached (default 60 s).
    pub max_backoff: Duration,
}

/// One registered pull: `query` of `table` under the query id `query_id` (see
/// [`PullOptions::incremental`](crate::PullOptions::incremental)).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AutoPull {
    /// The table (opened in the context before the sync starts).
    pub table: String,
    /// The filter.
    pub query: Query,
    /// The query id its cursor is saved under.
    pub query_id: String,
}

impl Default for AutoSync {
    fn default() -> Self {
        AutoSync {
            pulls: Vec::new(),
            push_debounce: Duration::from_millis(300),
            pull_interval: Duration::from_secs(30),
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
        }
    }
}

impl AutoSync {
    /// The defaults, with no pulls (pushes only).
    pub fn new() -> Self {
        AutoSync::default()
    }

    /// Registers an incremental pull of `query` on `table` under `query_id`.
    pub fn pull(mut self, table: impl Into<String>, query: Query, query_id: impl Into<String>) -> Self {
        self.pulls.push(AutoPull { table: table.into(), query, query_id: query_id.into() });
        self
    }

    /// Sets [`push_debounce`](Self::push_debounce).
    pub fn push_debounce(mut self, quiet: Duration) -> Self {
        self.push_debounce = quiet;
        self
    }

    /// Sets [`pull_interval`](Self::pull_interval).
    pub fn pull_interval(mut self, every: Duration) -> Self {
        self.pull_interval = every;
        self
    }

    /// Sets [`min_backoff`](Self::min_backoff) and [`max_backoff`](Self::max_backoff).
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.min_backoff = min;
        self.max_backoff = max.max(min);
        self
    }
}

/// What automatic sync is doing, with the counts a status line shows. Observe it with
/// [`SyncHandle::status`](crate::SyncHandle::status) or
/// [`SyncHandle::watch_status`](crate::SyncHandle::watch_status).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SyncStatus {
    /// The activity.
    pub state: SyncState,
    /// Queued local operations (not yet on the server).
    pub pending: u64,
    /// Failed operations waiting in the errors table for the app's decision (conflicts,
    /// rejected writes); sync does not send them again until they are resolved.
    pub waiting: u64,
    /// When the last sync (push and every registered pull) succeeded.
    pub last_sync: Option<DateTime<Utc>>,
}

/// The activity of automatic sync.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SyncState {
    /// Nothing to do until the next write or the next pull.
    Idle,
    /// Pushing or pulling now.
    Syncing,
    /// The server could not be reached; the next attempt is at `retry_at` (sooner when a
    /// request of the app's own succeeds, or on [`SyncHandle::sync_now`](crate::SyncHandle::sync_now)).
    Offline {
        /// When the next attempt starts.
        retry_at: Instant,
    },
    /// The last sync succeeded, and operations wait for a decision (see [`SyncStatus::waiting`]).
    NeedsAttention,
    /// The last sync failed for another reason (credentials, a server or store error).
    Error {
        /// What failed.
        message: String,
        /// When the next attempt starts.
        retry_at: Instant,
    },
    /// Stopped ([`SyncHandle::stop`](crate::SyncHandle::stop), or the handle was dropped).
    Stopped,
}

impl SyncStatus {
    pub(crate) fn starting() -> Self {
        SyncStatus { state: SyncState::Idle, pending: 0, waiting: 0, last_sync: None }
    }

    /// How long until the next attempt, while offline or after an error ("retrying in 12 s").
    pub fn retry_in(&self) -> Option<Duration> {
        match &self.state {
            SyncState::Offline { retry_at } | SyncState::Error { retry_at, .. } => {
                Some(retry_at.saturating_duration_since(Instant::now()))
            }
            _ => None,
        }
    }

    /// Whether the last attempt reached the server.
    pub fn is_online(&self) -> bool {
        !matches!(self.state, SyncState::Offline { .. })
    }
}
