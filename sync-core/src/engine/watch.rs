//! Live queries: [`LiveQuery`], the stream [`JsonTable::watch`](super::JsonTable::watch) and
//! [`SyncTable::watch`](super::SyncTable::watch) return.
//!
//! A live query subscribes to its table on the store's [`ChangeFeed`] *before* it runs the query
//! the first time, then runs the query again after every wake-up. Wake-ups come after commits
//! only (see `announce.rs`), a watcher keeps at most one pending, and runs are sequential, so:
//! no commit is missed (one made during a run leaves a wake-up for the next), a burst costs one
//! run, and every result reads a state at least as new as the one before.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::stream::{BoxStream, Stream, StreamExt};

use crate::change_feed::{ChangeFeed, ChangeSubscription};
use crate::error::SyncError;
use crate::query::eval::QueryResult;
use crate::query::expr::Query;
use crate::store::Store;

/// The results of one query, kept current: the result now, then a fresh one after each
/// committed change to the query's table (local writes, pull pages, pushes, resolutions, purges,
/// and commits of other contexts and processes on the store, see
/// [`Store::change_feed`](crate::Store::change_feed)).
///
/// - Changes are coalesced: however many commits land while a result is being read or waits to
///   be taken, the stream runs the query once more, not once per commit.
/// - Writes to other tables do not wake it.
/// - A result never reflects an older state than the one before it.
/// - A failed run yields the error and the stream goes on with the next change.
/// - Dropping the stream unsubscribes.
///
/// The stream never ends by itself.
pub struct LiveQuery<T> {
    inner: BoxStream<'static, Result<T, SyncError>>,
}

impl<T> fmt::Debug for LiveQuery<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveQuery").finish_non_exhaustive()
    }
}

impl<T> Stream for LiveQuery<T> {
    type Item = Result<T, SyncError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

impl<T: Send + 'static> LiveQuery<T> {
    /// The same results, converted.
    pub(crate) fn map<U: Send + 'static>(
        self,
        convert: impl Fn(T) -> Result<U, SyncError> + Send + 'static,
    ) -> LiveQuery<U> {
        LiveQuery { inner: self.inner.map(move |r| r.and_then(&convert)).boxed() }
    }
}

/// The live query of `query` on `table`.
pub(crate) fn live_query(
    store: Arc<dyn Store>,
    feed: &ChangeFeed,
    table: String,
    query: Query,
) -> LiveQuery<QueryResult> {
    struct State {
        store: Arc<dyn Store>,
        table: String,
        query: Query,
        changes: ChangeSubscription,
        first: bool,
    }
    let state = State { changes: feed.subscribe_table(&table), store, table, query, first: true };
    let inner = futures::stream::unfold(state, |mut s| async move {
        if !s.first {
            s.changes.changed().await;
        }
        s.first = false;
        let result = s.store.query(&s.table, &s.query).await.map_err(SyncError::from);
        Some((result, s))
    });
    LiveQuery { inner: inner.boxed() }
}
