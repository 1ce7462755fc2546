//! Option values: [`SyncOptions`] for a context, [`PullOptions`] and [`PurgeOptions`] for one
//! call, [`RetryPolicy`] for transient failures. Each is `#[non_exhaustive]`: build it from
//! `Default` (or a constructor) and its setters, so new options are not breaking changes.

use std::time::Duration;

/// Push and pull settings of a context. The defaults suit a phone on a flaky network.
///
/// ```
/// use sync_core::{RetryPolicy, SyncOptions};
/// let options = SyncOptions::default().push_parallelism(8).page_size(500).retry(RetryPolicy::none());
/// assert_eq!(options.push_parallelism, 8);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SyncOptions {
    /// Requests in flight during a push (default 1). Operations on the same item are never
    /// reordered, whatever this is.
    pub push_parallelism: usize,
    /// Retries of a transient failure (5xx, 429, timeouts, dropped connections) per request.
    pub retry: RetryPolicy,
    /// Rows per pull request (default 1000, the most the Node server allows).
    pub page_size: u64,
    /// Push the table's queued operations before pulling it (default true), so the pull sees the
    /// server with the local edits applied. [`PullOptions::push_first`] overrides it per pull.
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

impl SyncOptions {
    /// Sets [`push_parallelism`](Self::push_parallelism) (at least 1).
    pub fn push_parallelism(mut self, requests: usize) -> Self {
        self.push_parallelism = requests;
        self
    }

    /// Sets the [`retry`](Self::retry) policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Sets [`page_size`](Self::page_size) (at least 1).
    pub fn page_size(mut self, rows: u64) -> Self {
        self.page_size = rows;
        self
    }

    /// Sets [`push_before_pull`](Self::push_before_pull).
    pub fn push_before_pull(mut self, push: bool) -> Self {
        self.push_before_pull = push;
        self
    }

    /// Sets [`max_conflict_rounds`](Self::max_conflict_rounds).
    pub fn max_conflict_rounds(mut self, rounds: u32) -> Self {
        self.max_conflict_rounds = rounds;
        self
    }
}

/// How one pull runs. The default is a full pull (no query id: every matching row is
/// downloaded, no cursor is kept) with the context's settings.
///
/// ```
/// use sync_core::PullOptions;
/// let incremental = PullOptions::incremental("open-items").push_first(false).page_size(100);
/// assert_eq!(incremental.query_id.as_deref(), Some("open-items"));
/// assert_eq!(PullOptions::default().query_id, None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PullOptions {
    /// The query id of an incremental pull: the pull resumes after the cursor saved under it and
    /// saves the new one with every page. 1 to 255 bytes without `|`.
    pub query_id: Option<String>,
    /// Push the table's queued operations first; `None` takes
    /// [`SyncOptions::push_before_pull`].
    pub push_first: Option<bool>,
    /// Rows per request; `None` takes [`SyncOptions::page_size`].
    pub page_size: Option<u64>,
}

impl PullOptions {
    /// A full pull with the context's settings (the same as `Default`).
    pub fn full() -> Self {
        PullOptions::default()
    }

    /// An incremental pull under `query_id`.
    pub fn incremental(query_id: impl Into<String>) -> Self {
        PullOptions { query_id: Some(query_id.into()), ..PullOptions::default() }
    }

    /// Sets [`push_first`](Self::push_first).
    pub fn push_first(mut self, push: bool) -> Self {
        self.push_first = Some(push);
        self
    }

    /// Sets [`page_size`](Self::page_size).
    pub fn page_size(mut self, rows: u64) -> Self {
        self.page_size = Some(rows);
        self
    }
}

/// How one purge runs. The default purges the matching rows and nothing else, and is refused
/// while the table has queued operations.
///
/// ```
/// use sync_core::PurgeOptions;
/// let everything = PurgeOptions::default().force(true);
/// let one_query = PurgeOptions::default().query_id("open-items");
/// assert!(everything.force && one_query.query_id.is_some());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PurgeOptions {
    /// Forget the cursor of this query id too, so its next pull starts over.
    pub query_id: Option<String>,
    /// Purge even with queued operations: only with no filter, and it drops the table's queued
    /// operations, its errors and every cursor of the table (local changes are lost).
    pub force: bool,
}

impl PurgeOptions {
    /// Sets [`query_id`](Self::query_id).
    pub fn query_id(mut self, query_id: impl Into<String>) -> Self {
        self.query_id = Some(query_id.into());
        self
    }

    /// Sets [`force`](Self::force).
    pub fn force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }
}

/// Bounded exponential back-off for transient failures. Each delay doubles the one before, up
/// to `max_backoff`; with [`jitter`](Self::jitter) (the default) a random part of up to the same
/// length again is added, still never above `max_backoff`, so devices that lost the server
/// together do not come back in step.
///
/// ```
/// use std::time::Duration;
/// use sync_core::RetryPolicy;
/// let quick = RetryPolicy::default().max_retries(5).initial_backoff(Duration::from_millis(10));
/// assert_eq!(quick.backoff(2), Duration::from_millis(40));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// The first delay; each retry doubles it.
    pub initial_backoff: Duration,
    /// The longest delay.
    pub max_backoff: Duration,
    /// Add a random part to each delay (default true).
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// No retries.
    pub fn none() -> Self {
        RetryPolicy { max_retries: 0, ..Default::default() }
    }

    /// Sets [`max_retries`](Self::max_retries).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// Sets [`initial_backoff`](Self::initial_backoff).
    pub fn initial_backoff(mut self, delay: Duration) -> Self {
        self.initial_backoff = delay;
        self
    }

    /// Sets [`max_backoff`](Self::max_backoff).
    pub fn max_backoff(mut self, delay: Duration) -> Self {
        self.max_backoff = delay;
        self
    }

    /// Sets [`jitter`](Self::jitter).
    pub fn jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// The delay before retry number `attempt` (0-based), before jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX);
        self.initial_backoff.saturating_mul(factor).min(self.max_backoff)
    }

    /// The back-off as `backon` builds it (the jitter is capped by the caller).
    pub(crate) fn exponential(&self) -> backon::ExponentialBuilder {
        let builder = backon::ExponentialBuilder::default()
            .with_min_delay(self.initial_backoff)
            .with_max_delay(self.max_backoff)
            .with_factor(2.0)
            .with_max_times(self.max_retries as usize);
        if self.jitter {
            builder.with_jitter()
        } else {
            builder
        }
    }
}
