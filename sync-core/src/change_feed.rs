//! [`ChangeFeed`]: how committed changes of a store reach live queries and the auto-sync
//! scheduler.
//!
//! The engine announces its own commits (the tables a transaction wrote, and whether it changed
//! the queue) after the store reports them committed. A store that can be changed behind the
//! engine's back (another process on the same file, another handle) announces those changes
//! itself with [`ChangeFeed::publish_unknown`], which wakes every watcher. Each watcher keeps at
//! most one pending wake-up (a [`tokio::sync::Notify`] permit), so a burst of commits costs a
//! watcher one re-evaluation, never a backlog, and never loses the last commit.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

/// What a watcher listens to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Topic {
    /// The rows of one table.
    Table(String),
    /// The operation queue and the errors table (what a push would send).
    Queue,
}

/// The announcement hub of one store, shared by every context that uses the store (see
/// [`Store::change_feed`](crate::Store::change_feed)). Cheap to clone; clones share everything.
///
/// Store authors call [`publish_unknown`](Self::publish_unknown) for changes they detect from
/// outside (and may use [`watchers`](Self::watchers) and [`watched`](Self::watched) to poll only
/// while someone listens); the engine publishes its own commits.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use sync_core::backend::ChangeFeed;
/// let feed = ChangeFeed::new();
/// let mut todos = feed.subscribe_table("TodoItem");
/// feed.publish_tables(["Other"]); // does not wake it
/// feed.publish_tables(["TodoItem"]);
/// feed.publish_tables(["TodoItem"]); // coalesced with the one before
/// todos.changed().await; // returns at once: one wake-up is pending
/// assert_eq!(feed.watchers(), 1);
/// drop(todos);
/// assert_eq!(feed.watchers(), 0);
/// # });
/// ```
#[derive(Clone, Default)]
pub struct ChangeFeed {
    inner: Arc<Inner>,
}

/// Watchers by id.
type Slots = HashMap<u64, Arc<Notify>>;

#[derive(Default)]
struct Watchers {
    tables: HashMap<String, Slots>,
    queue: Slots,
}

impl Watchers {
    fn slots(&mut self, topic: &Topic) -> &mut Slots {
        match topic {
            Topic::Table(table) => self.tables.entry(table.clone()).or_default(),
            Topic::Queue => &mut self.queue,
        }
    }
}

#[derive(Default)]
struct Inner {
    watchers: Mutex<Watchers>,
    next_id: AtomicUsize,
    /// How many watchers are alive (read without the lock on every commit).
    count: AtomicUsize,
    /// Woken when the first watcher arrives.
    arrivals: Notify,
}

impl ChangeFeed {
    /// A feed nobody listens to yet.
    pub fn new() -> Self {
        ChangeFeed::default()
    }

    fn lock(&self) -> MutexGuard<'_, Watchers> {
        // The map holds no invariant a panic could break half-way.
        self.inner.watchers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Announces committed writes to these tables.
    pub fn publish_tables<'a>(&self, tables: impl IntoIterator<Item = &'a str>) {
        if self.watchers() == 0 {
            return;
        }
        let watchers = self.lock();
        for table in tables {
            if let Some(of_table) = watchers.tables.get(table) {
                of_table.values().for_each(|n| n.notify_one());
            }
        }
    }

    /// Announces a committed change of the operation queue or the errors table.
    pub fn publish_queue(&self) {
        if self.watchers() == 0 {
            return;
        }
        self.lock().queue.values().for_each(|n| n.notify_one());
    }

    /// Announces a change the store cannot attribute (another process committed): wakes every
    /// watcher of every table and of the queue.
    pub fn publish_unknown(&self) {
        if self.watchers() == 0 {
            return;
        }
        let watchers = self.lock();
        watchers.tables.values().flat_map(HashMap::values).chain(watchers.queue.values()).for_each(|n| n.notify_one());
    }

    /// How many watchers are alive.
    pub fn watchers(&self) -> usize {
        self.inner.count.load(Ordering::Acquire)
    }

    /// Returns once at least one watcher is alive (at once if one is).
    pub async fn watched(&self) {
        loop {
            let arrived = self.inner.arrivals.notified();
            if self.watchers() > 0 {
                return;
            }
            arrived.await;
        }
    }

    /// Listens to committed writes of one table.
    pub fn subscribe_table(&self, table: &str) -> ChangeSubscription {
        self.subscribe(Topic::Table(table.to_owned()))
    }

    /// Listens to committed changes of the operation queue and the errors table.
    pub fn subscribe_queue(&self) -> ChangeSubscription {
        self.subscribe(Topic::Queue)
    }

    fn subscribe(&self, topic: Topic) -> ChangeSubscription {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed) as u64;
        let notify = Arc::new(Notify::new());
        self.lock().slots(&topic).insert(id, Arc::clone(&notify));
        if self.inner.count.fetch_add(1, Ordering::AcqRel) == 0 {
            self.inner.arrivals.notify_waiters();
        }
        ChangeSubscription { feed: self.clone(), topic, id, notify }
    }
}

impl fmt::Debug for ChangeFeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChangeFeed").field("watchers", &self.watchers()).finish()
    }
}

/// One watcher of a [`ChangeFeed`]; dropping it unsubscribes.
pub struct ChangeSubscription {
    feed: ChangeFeed,
    topic: Topic,
    id: u64,
    notify: Arc<Notify>,
}

impl ChangeSubscription {
    /// Waits for the next announcement. Announcements made since the last call (or since
    /// subscribing) count: at most one is kept, so this returns at once after any number of them.
    pub async fn changed(&mut self) {
        self.notify.notified().await;
    }
}

impl Drop for ChangeSubscription {
    fn drop(&mut self) {
        let mut watchers = self.feed.lock();
        watchers.slots(&self.topic).remove(&self.id);
        if let Topic::Table(table) = &self.topic {
            if watchers.tables.get(table).is_some_and(HashMap::is_empty) {
                watchers.tables.remove(table);
            }
        }
        self.feed.inner.count.fetch_sub(1, Ordering::AcqRel);
    }
}

impl fmt::Debug for ChangeSubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChangeSubscription").field("topic", &self.topic).finish_non_exhaustive()
    }
}
