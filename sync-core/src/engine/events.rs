//! [`SyncEvent`]s: progress of push and pull, for progress bars and logs, delivered to callbacks
//! and to [`EventStream`]s.

use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};

use futures::stream::{BoxStream, Stream, StreamExt};
use tokio::sync::broadcast;

use super::rejected::RejectedRow;
use crate::operation::OperationKind;

/// Progress reported while pushing and pulling.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SyncEvent {
    /// A push started with this many queued operations.
    PushStarted {
        /// Operations queued for the tables being pushed.
        total: u64,
    },
    /// One operation was handled.
    ItemPushed {
        /// The table.
        table: String,
        /// The item.
        item_id: String,
        /// What was sent.
        kind: OperationKind,
        /// How it ended.
        outcome: PushOutcome,
        /// Operations handled so far in this push.
        done: u64,
        /// Operations queued when the push started.
        total: u64,
    },
    /// The push ended (also when it stopped early).
    PushFinished(PushSummary),
    /// A pull started.
    PullStarted {
        /// The table.
        table: String,
        /// The query id, for incremental pulls.
        query_id: Option<String>,
    },
    /// A page was stored.
    PagePulled {
        /// The table.
        table: String,
        /// Rows in this page.
        rows: u64,
        /// Rows pulled so far in this pull.
        total_rows: u64,
        /// Pages so far.
        pages: u64,
        /// The rows this pull is expected to receive in all, when the server counted them on
        /// the first page ([`Page::total`](crate::backend::Page::total)); `None` when it did not.
        /// Rows changed on the server during the pull can make `total_rows` pass it.
        total: Option<u64>,
    },
    /// A page was larger than the remote accepts, so the pull asks for smaller pages from now on.
    PageSizeReduced {
        /// The table.
        table: String,
        /// The new page size.
        page_size: u64,
    },
    /// The server's answer to a push held other values than were sent (it rounded, cut or
    /// converted them). The local values are kept; the server holds the changed ones.
    ServerChangedValues {
        /// The table.
        table: String,
        /// The item.
        item_id: String,
        /// The user columns whose values differ.
        columns: Vec<String>,
    },
    /// A server row did not fit the local table and was not stored (the pull went on).
    RowRejected(RejectedRow),
    /// The pull ended.
    PullFinished(PullSummary),
    /// Only in an [`EventStream`]: the stream's reader fell behind and this many events were
    /// dropped before the next one (the callback of
    /// [`SyncContext::subscribe`](crate::SyncContext::subscribe) never misses any).
    EventsMissed {
        /// How many events were dropped.
        count: u64,
    },
}

/// How one pushed operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// The server applied it.
    Succeeded,
    /// A conflict was resolved by the handler (server wins, discard, or re-sent and applied).
    Resolved,
    /// It failed and is recorded in the errors table.
    Failed,
}

/// What a push did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushSummary {
    /// Operations queued when the push started.
    pub total: u64,
    /// Operations the server applied.
    pub succeeded: u64,
    /// Conflicts the handler resolved.
    pub resolved: u64,
    /// Operations that failed and wait in the errors table.
    pub failed: u64,
    /// Whether the push stopped early (network loss, 401, store failure).
    pub aborted: bool,
}

/// What a pull did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullSummary {
    /// The table.
    pub table: String,
    /// Requests sent (pages asked for).
    pub requests: u64,
    /// Rows received.
    pub rows: u64,
    /// Rows inserted or replaced locally.
    pub upserted: u64,
    /// Rows deleted locally because the server deleted them.
    pub deleted: u64,
    /// Rows left alone because their item has a queued local change.
    pub skipped: u64,
    /// Rows that did not fit the local table and were not stored (also kept: see
    /// [`SyncContext::rejected_rows`](crate::SyncContext::rejected_rows)).
    pub rejected: Vec<RejectedRow>,
}

type Subscriber = Arc<dyn Fn(&SyncEvent) + Send + Sync>;

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.subscribers.read().map(|s| s.len()).unwrap_or(0);
        f.debug_struct("EventBus").field("subscribers", &n).finish()
    }
}

/// Events an [`EventStream`] holds for a reader that is behind, before it misses some.
pub(crate) const STREAM_BUFFER: usize = 1024;

/// The subscribers of one context.
#[derive(Clone)]
pub(crate) struct EventBus {
    subscribers: Arc<RwLock<Vec<Subscriber>>>,
    /// The streams' channel (events are only cloned into it while a stream is alive).
    streams: broadcast::Sender<SyncEvent>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus { subscribers: Arc::default(), streams: broadcast::channel(STREAM_BUFFER).0 }
    }
}

impl EventBus {
    /// A stream of the events emitted from now on.
    pub(crate) fn stream(&self) -> EventStream {
        let receiver = self.streams.subscribe();
        let inner = futures::stream::unfold(receiver, |mut receiver| async move {
            let event = match receiver.recv().await {
                Ok(event) => event,
                Err(broadcast::error::RecvError::Lagged(count)) => SyncEvent::EventsMissed { count },
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            Some((event, receiver))
        });
        EventStream { inner: inner.boxed() }
    }

    pub(crate) fn subscribe(&self, f: Subscriber) {
        if let Ok(mut subs) = self.subscribers.write() {
            subs.push(f);
        }
    }

    pub(crate) fn emit(&self, event: SyncEvent) {
        if self.streams.receiver_count() > 0 {
            // Fails only when every stream is gone meanwhile.
            let _ = self.streams.send(event.clone());
        }
        let subs = match self.subscribers.read() {
            Ok(subs) => subs.clone(),
            Err(_) => return,
        };
        for s in subs {
            s(&event);
        }
    }
}

/// The [`SyncEvent`]s of a context as a [`Stream`], from [`SyncContext::events`](crate::SyncContext::events):
/// for a UI that `select!`s over events, live queries and input.
///
/// It holds the last 1024 events its reader has not taken; a reader further behind gets
/// [`SyncEvent::EventsMissed`] in place of the oldest ones (a push of many operations must not
/// grow memory because a screen is not looking). The stream ends when every clone of the
/// context is gone; dropping it unsubscribes.
pub struct EventStream {
    inner: BoxStream<'static, SyncEvent>,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream").finish_non_exhaustive()
    }
}

impl Stream for EventStream {
    type Item = SyncEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SyncEvent>> {
        self.inner.poll_next_unpin(cx)
    }
}
