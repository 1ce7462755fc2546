//! Automatic sync: one task per [`SyncHandle`] that pushes after local writes (debounced), pulls
//! the registered queries on an interval and after each push, backs off while the server cannot
//! be reached, and reports a [`SyncStatus`].
//!
//! The task wakes on: the store's queue announcements (local writes of any context or process
//! on the store, resolutions), its timer (the next pull, the end of a back-off, the end of a
//! debounce), the handle ([`SyncHandle::sync_now`], stop), and, while offline, a successful
//! request of the app's own (seen in the context's events), which ends the back-off at once.
//! Operations waiting for a decision are not pushable, so a deferred conflict wakes nothing.

use std::sync::Arc;
use std::time::Duration;

use backon::BackoffBuilder;
use chrono::Utc;
use futures::{FutureExt, StreamExt};
use tokio::sync::{oneshot, watch, Notify};
use tokio::time::Instant;

use super::auto_options::{AutoSync, SyncState, SyncStatus};
use super::events::{EventStream, SyncEvent};
use super::options::PullOptions;
use super::shared::Shared;
use crate::error::SyncError;
use crate::operation::{FailureKind, OperationFilter};
use crate::query::expr::Query;
use crate::schema::TableSchema;
use crate::store::StoreExt;

/// A running automatic sync (from [`SyncContext::start_sync`](crate::SyncContext::start_sync)).
///
/// [`stop`](Self::stop) ends it and waits; dropping the handle ends it in the background. A
/// sync stopped during a push or a pull leaves nothing half-written: every store transaction
/// is atomic and the stop waits for the one running, operations being sent stay queued (the next
/// push takes them back, see [`SyncContext::push`](crate::SyncContext::push)), and a pull keeps
/// the cursor of its last stored page.
#[derive(Debug)]
pub struct SyncHandle {
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    status: watch::Receiver<SyncStatus>,
    now: Arc<Notify>,
}

impl SyncHandle {
    /// The status now.
    pub fn status(&self) -> SyncStatus {
        self.status.borrow().clone()
    }

    /// A receiver of every status change, for a UI (`changed().await`, then `borrow()`).
    pub fn watch_status(&self) -> watch::Receiver<SyncStatus> {
        self.status.clone()
    }

    /// Syncs at once (a push and every registered pull), also while backing off.
    pub fn sync_now(&self) {
        self.now.notify_one();
    }

    /// Stops, and returns once the task has ended: any store transaction it was running has
    /// committed or rolled back.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SyncHandle {
    fn drop(&mut self) {
        // Dropping the sender wakes the task, which stops the same way `stop` does.
        self.stop.take();
    }
}

/// Why the task woke up.
enum Wake {
    Stop,
    Sync,
    Queue,
    Now,
    Event(SyncEvent),
}

/// One registered pull, resolved.
struct Pull {
    schema: Arc<TableSchema>,
    query: Query,
    query_id: String,
}

/// Starts the task.
pub(crate) fn start(shared: Arc<Shared>, config: AutoSync) -> Result<SyncHandle, SyncError> {
    shared.remote()?;
    let pulls = config
        .pulls
        .iter()
        .map(|p| {
            crate::cursor::check_query_id(Some(&p.query_id))?;
            Ok(Pull { schema: shared.opened_schema(&p.table)?, query: p.query.clone(), query_id: p.query_id.clone() })
        })
        .collect::<Result<Vec<_>, SyncError>>()?;
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| SyncError::NoRuntime)?;
    let (status_tx, status) = watch::channel(SyncStatus::starting());
    let (stop, stopped) = oneshot::channel();
    let now = Arc::new(Notify::new());
    let scheduler = Scheduler {
        queue: shared.feed.subscribe_queue(),
        events: None,
        shared,
        config,
        pulls,
        status: status_tx,
        now: Arc::clone(&now),
        backoff: None,
    };
    let task = runtime.spawn(scheduler.run(stopped));
    Ok(SyncHandle { stop: Some(stop), task: Some(task), status, now })
}

struct Scheduler {
    shared: Arc<Shared>,
    config: AutoSync,
    pulls: Vec<Pull>,
    status: watch::Sender<SyncStatus>,
    now: Arc<Notify>,
    queue: crate::change_feed::ChangeSubscription,
    /// The context's events, while offline only (a stream costs every emit a clone).
    events: Option<EventStream>,
    /// The delays of the current back-off, while the server cannot be reached.
    backoff: Option<backon::ExponentialBackoff>,
}

impl Scheduler {
    async fn run(mut self, mut stopped: oneshot::Receiver<()>) {
        let mut next_sync = Instant::now();
        // (first write, push due) of the writes waiting for the debounce.
        let mut push_due: Option<(Instant, Instant)> = None;
        loop {
            let wake_at = push_due.map_or(next_sync, |(_, due)| due.min(next_sync));
            let offline = self.backoff.is_some();
            let events = self.events.as_mut();
            let wake = tokio::select! {
                biased;
                _ = &mut stopped => Wake::Stop,
                _ = tokio::time::sleep_until(wake_at) => Wake::Sync,
                _ = self.queue.changed() => Wake::Queue,
                _ = self.now.notified() => Wake::Now,
                Some(event) = next_event(events) => Wake::Event(event),
            };
            match wake {
                Wake::Stop => break,
                Wake::Sync => {
                    push_due = None;
                    let delay = {
                        let cycle = self.cycle();
                        tokio::select! {
                            biased;
                            _ = &mut stopped => None,
                            delay = cycle => Some(delay),
                        }
                    };
                    match delay {
                        Some(delay) => next_sync = Instant::now() + delay,
                        None => {
                            self.settle().await;
                            break;
                        }
                    }
                }
                Wake::Queue => {
                    let pushable = self.refresh_counts().await;
                    if pushable && !offline {
                        let now = Instant::now();
                        let first = push_due.map_or(now, |(first, _)| first);
                        let debounce = self.config.push_debounce;
                        push_due = Some((first, (now + debounce).min(first + debounce * 4)));
                    }
                }
                Wake::Now => next_sync = Instant::now(),
                Wake::Event(event) => {
                    if succeeded(&event) {
                        tracing::debug!("a request of the app succeeded: retrying now");
                        next_sync = Instant::now();
                    }
                }
            }
        }
        self.status.send_modify(|s| s.state = SyncState::Stopped);
    }

    // The methods take `&mut self`: the task's future must be `Send`, and `Scheduler` is not
    // `Sync` (its event stream is not).

    /// Waits until a transaction the dropped cycle may have left running has ended
    /// (transactions are serialised, so an empty one runs after it).
    async fn settle(&mut self) {
        if let Err(e) = self.shared.store.transact(|_| Ok(())).await {
            tracing::debug!(error = %e, "settling after stop");
        }
    }

    /// One sync: the push, then every registered pull. Returns the delay until the next one.
    async fn cycle(&mut self) -> Duration {
        self.status.send_modify(|s| s.state = SyncState::Syncing);
        let result = self.push_and_pull().await;
        // The cycle's own events are not news of the network coming back.
        if let Some(events) = self.events.as_mut() {
            while tokio::task::unconstrained(events.next()).now_or_never().flatten().is_some() {}
        }
        self.refresh_counts().await;
        let delay = match result {
            Ok(()) => {
                self.backoff = None;
                self.events = None;
                self.status.send_modify(|s| {
                    s.last_sync = Some(Utc::now());
                    s.state = if s.waiting > 0 { SyncState::NeedsAttention } else { SyncState::Idle };
                });
                self.config.pull_interval
            }
            Err(e) if e.is_retryable() => {
                if self.events.is_none() {
                    self.events = Some(self.shared.events.stream());
                }
                let config = &self.config;
                let backoff = self.backoff.get_or_insert_with(|| {
                    backon::ExponentialBuilder::default()
                        .with_min_delay(config.min_backoff)
                        .with_max_delay(config.max_backoff)
                        .with_jitter()
                        .without_max_times()
                        .build()
                });
                let delay = backoff.next().unwrap_or(config.max_backoff).min(config.max_backoff);
                let retry_at = (Instant::now() + delay).into_std();
                tracing::debug!(?delay, error = %e, "sync failed; backing off");
                let state = if e.is_offline() {
                    SyncState::Offline { retry_at }
                } else {
                    SyncState::Error { message: e.to_string(), retry_at }
                };
                self.status.send_modify(|s| s.state = state);
                delay
            }
            Err(e) => {
                self.backoff = None;
                self.events = None;
                let delay = self.config.pull_interval;
                let retry_at = (Instant::now() + delay).into_std();
                tracing::warn!(error = %e, "sync failed");
                self.status.send_modify(|s| s.state = SyncState::Error { message: e.to_string(), retry_at });
                delay
            }
        };
        // Writes made during the cycle announced themselves: their wake-up is still pending.
        delay
    }

    async fn push_and_pull(&mut self) -> Result<(), SyncError> {
        super::push_scheduler::push(&self.shared, None).await?;
        for pull in &self.pulls {
            let options = PullOptions::incremental(pull.query_id.clone()).push_first(false);
            super::pull::pull(&self.shared, &pull.schema, &pull.query, options).await?;
        }
        Ok(())
    }

    /// Updates the counts of the status; returns whether some operation can be pushed.
    async fn refresh_counts(&mut self) -> bool {
        let counted = self
            .shared
            .store
            .transact(|tx| {
                let queued = tx.count_operations(&OperationFilter::all())?;
                let waiting = tx.errors(None)?.iter().filter(|e| e.failure != FailureKind::Transient).count() as u64;
                Ok((queued, waiting))
            })
            .await;
        match counted {
            Ok((queued, waiting)) => {
                self.status.send_if_modified(|s| {
                    let changed = s.pending != queued || s.waiting != waiting;
                    s.pending = queued;
                    s.waiting = waiting;
                    changed
                });
                queued > waiting
            }
            Err(e) => {
                tracing::debug!(error = %e, "counting the queue");
                false
            }
        }
    }
}

/// The next event of the stream, or never without one.
async fn next_event(events: Option<&mut EventStream>) -> Option<SyncEvent> {
    match events {
        Some(events) => events.next().await,
        None => std::future::pending().await,
    }
}

/// Whether an event shows that a request reached the server.
fn succeeded(event: &SyncEvent) -> bool {
    match event {
        SyncEvent::PushFinished(summary) => !summary.aborted && summary.total > 0,
        SyncEvent::PullFinished(_) | SyncEvent::PagePulled { .. } => true,
        _ => false,
    }
}
