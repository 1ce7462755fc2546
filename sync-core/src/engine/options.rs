//! [`SyncOptions`]: how push and pull behave.

use std::time::Duration;

/// Push and pull settings. The defaults suit a phone on a flaky network.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncOptions {
    /// Requests in flight during a push (default 1). Operations on the same item are never
    /// reordered, whatever this is.
    pub push_parallelism: usize,
    /// Retries of a transient failure (5xx, 429, timeouts, dropped connections) per request.
    pub retry: RetryPolicy,
    /// Rows per pull request (default 1000, the most the Node server allows).
    pub page_size: u64,
    /// Push the table's queued operations before pulling it (default true), so the pull sees the
    /// server with the local edits applied.
    pub push_before_pull: bool,
    /// How often one push may re-send an operation after a `KeepLocal`/`Merge` resolution before
    /// leaving it in the errors table (default 3).
    pub max_conflict_rounds: u32,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            push_parallelism: 1,
            retry: RetryPolicy::default(),
            page_size: 1000,
            push_before_pull: true,
            max_conflict_rounds: 3,
        }
    }
}

/// Bounded exponential back-off for transient failures.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// The first delay; each retry doubles it.
    pub initial_backoff: Duration,
    /// The longest delay.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_retries: 3, initial_backoff: Duration::from_millis(200), max_backoff: Duration::from_secs(5) }
    }
}

impl RetryPolicy {
    /// No retries.
    pub fn none() -> Self {
        RetryPolicy { max_retries: 0, ..Default::default() }
    }

    /// The delay before retry number `attempt` (0-based).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX);
        self.initial_backoff.saturating_mul(factor).min(self.max_backoff)
    }
}
