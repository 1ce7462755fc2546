//! Group commit: single writes to one table that arrive while another is being committed wait,
//! and then go together, in one transaction, through [`Backend::write_many`].
//!
//! Writes to a table are serial anyway (SQLite has one writer; PostgreSQL's writers queue on the
//! table's clock row), and on SQLite each commit is a WAL fsync. So while one transaction runs,
//! the writes that arrive queue up, and the next transaction takes all of them: one commit for
//! many writes, and on a fixed-schema table one multi-row statement for many rows (see
//! [`super::plan`]). Each write is answered as it would be alone, and only after the transaction
//! that holds it committed; a write that fails changes nothing and the others of its group go on
//! ([`Backend::write_many`]'s contract).
//!
//! The mechanism is flat combining, with no task of its own: a write puts itself in its table's
//! queue and waits for the table's turn (a fair lock). Whoever gets the turn and finds its own
//! write still queued takes the whole queue and commits it, in a spawned task that holds the
//! turn until every answer of the group is sent, so a request that goes away (a client that
//! disconnects) never cancels the writes of others; a group of one write, the taker's own, is
//! committed in place. A write whose group someone else committed finds its answer when its turn
//! comes, and gives the turn on at once.
//!
//! Dynamic tables keep their single writes: each may add the columns the next is checked against.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use sync_core::Column;
use tokio::sync::oneshot;

use super::{Backend, Item, QueryPage, SeedRow, Write};
use crate::batch::MAX_OPERATIONS;
use crate::error::{Error, ServerError};
use crate::odata::QueryOptions;
use crate::table::TableDef;

/// A backend whose single writes are committed in groups.
pub(crate) struct GroupCommit {
    inner: Arc<dyn Backend>,
    lanes: Mutex<HashMap<String, Arc<Lane>>>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

/// The queue of one table.
#[derive(Default)]
struct Lane {
    /// Writes waiting for a transaction, in order of arrival.
    waiting: Mutex<Vec<Pending>>,
    /// Held by whoever commits a group of this table.
    turn: Arc<tokio::sync::Mutex<()>>,
}

/// A write waiting for its group.
struct Pending {
    write: Write,
    owner: Option<String>,
    answer: oneshot::Sender<Result<Item, Error>>,
}

impl GroupCommit {
    /// Wraps a backend.
    pub(crate) fn new(inner: Arc<dyn Backend>) -> Self {
        GroupCommit { inner, lanes: Mutex::new(HashMap::new()) }
    }

    fn lane(&self, table: &str) -> Arc<Lane> {
        let mut lanes = self.lanes.lock().unwrap_or_else(PoisonError::into_inner);
        lanes.entry(table.to_owned()).or_default().clone()
    }
}

/// Commits a group: by owner (a `per_user` table's writes of one user share a transaction), in
/// order of arrival, at most [`MAX_OPERATIONS`] writes to a transaction; then answers each.
async fn commit(backend: Arc<dyn Backend>, table: TableDef, group: Vec<Pending>) {
    let mut by_owner: Vec<(Option<String>, Vec<Pending>)> = Vec::new();
    for pending in group {
        match by_owner.iter_mut().find(|(owner, _)| *owner == pending.owner) {
            Some((_, list)) => list.push(pending),
            None => by_owner.push((pending.owner.clone(), vec![pending])),
        }
    }
    for (owner, mut list) in by_owner {
        while !list.is_empty() {
            let rest = list.split_off(list.len().min(MAX_OPERATIONS));
            let chunk = std::mem::replace(&mut list, rest);
            let (writes, answers): (Vec<_>, Vec<_>) = chunk.into_iter().map(|p| (Ok(p.write), p.answer)).unzip();
            match backend.write_many(&table, writes, owner.as_deref()).await {
                Ok(results) => {
                    let mut results = results.into_iter();
                    for answer in answers {
                        let result =
                            results.next().unwrap_or_else(|| Err(Error::internal("a grouped write has no answer")));
                        // The request may be gone; its write stands, as after a lost answer.
                        let _ = answer.send(result);
                    }
                }
                Err(e) => {
                    for answer in answers {
                        let _ = answer.send(Err(e.clone()));
                    }
                }
            }
        }
    }
}

#[async_trait]
impl Backend for GroupCommit {
    async fn prepare(&self, table: &TableDef) -> Result<(), ServerError> {
        self.inner.prepare(table).await
    }

    async fn columns(&self, table: &TableDef) -> Result<Vec<Column>, Error> {
        self.inner.columns(table).await
    }

    async fn query(&self, table: &TableDef, options: &QueryOptions, top: u64) -> Result<QueryPage, Error> {
        self.inner.query(table, options, top).await
    }

    async fn read(&self, table: &TableDef, id: &str) -> Result<Option<Item>, Error> {
        self.inner.read(table, id).await
    }

    async fn write(&self, table: &TableDef, write: Write, owner: Option<&str>) -> Result<Item, Error> {
        if table.dynamic {
            return self.inner.write(table, write, owner).await;
        }
        let lane = self.lane(&table.name);
        let (answer, mut answered) = oneshot::channel();
        lane.waiting.lock().unwrap_or_else(PoisonError::into_inner).push(Pending {
            write,
            owner: owner.map(str::to_owned),
            answer,
        });
        let turn = lane.turn.clone().lock_owned().await;
        match answered.try_recv() {
            // Committed (or failed) in the group of an earlier turn.
            Ok(result) => return result,
            Err(oneshot::error::TryRecvError::Closed) => return Err(Error::internal("a grouped write was dropped")),
            // Still queued: this turn commits the queue, this write with it.
            Err(oneshot::error::TryRecvError::Empty) => {}
        }
        let mut group = std::mem::take(&mut *lane.waiting.lock().unwrap_or_else(PoisonError::into_inner));
        // A request that went away while it waited (its future dropped: the client disconnected
        // or timed out) was never started, as a single write cancelled before its transaction
        // would not be: it is not written later behind the client's back, when the client may
        // have retried or moved on.
        group.retain(|pending| !pending.answer.is_closed());
        if group.len() == 1 {
            // This write alone (the commonest case when requests come one at a time): no task, as
            // there are no others' writes that this request going away could cancel; if it goes,
            // its write goes as a single write's would, and the turn with it.
            commit(self.inner.clone(), table.clone(), group).await;
            drop(turn);
            return answered.await.unwrap_or_else(|_| Err(Error::internal("a grouped write was dropped")));
        }
        let (backend, table) = (self.inner.clone(), table.clone());
        tokio::spawn(async move {
            commit(backend, table, group).await;
            drop(turn);
        });
        answered.await.unwrap_or_else(|_| Err(Error::internal("a grouped write was dropped")))
    }

    async fn write_many(
        &self,
        table: &TableDef,
        writes: Vec<Result<Write, Error>>,
        owner: Option<&str>,
    ) -> Result<Vec<Result<Item, Error>>, Error> {
        // A batch is a group already.
        self.inner.write_many(table, writes, owner).await
    }

    async fn seed(&self, table: &TableDef, rows: Vec<SeedRow>, updated_at: &str) -> Result<(), Error> {
        self.inner.seed(table, rows, updated_at).await
    }

    async fn close(&self) {
        self.inner.close().await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::Value;
    use tokio::sync::Semaphore;

    use super::*;
    use crate::table::TableOptions;

    /// A backend that records the ids of each `write_many` and holds the first one until the
    /// test lets it go.
    struct Gated {
        groups: Mutex<Vec<Vec<String>>>,
        gate: Semaphore,
    }

    #[async_trait]
    impl Backend for Gated {
        async fn prepare(&self, _: &TableDef) -> Result<(), ServerError> {
            Ok(())
        }
        async fn columns(&self, _: &TableDef) -> Result<Vec<Column>, Error> {
            Ok(Vec::new())
        }
        async fn query(&self, _: &TableDef, _: &QueryOptions, _: u64) -> Result<QueryPage, Error> {
            Ok(QueryPage { rows_json: b"[]".to_vec(), rows: 0, more: false, count: None })
        }
        async fn read(&self, _: &TableDef, _: &str) -> Result<Option<Item>, Error> {
            Ok(None)
        }
        async fn write(&self, _: &TableDef, _: Write, _: Option<&str>) -> Result<Item, Error> {
            Err(Error::internal("single writes go through write_many here"))
        }
        async fn write_many(
            &self,
            _: &TableDef,
            writes: Vec<Result<Write, Error>>,
            _: Option<&str>,
        ) -> Result<Vec<Result<Item, Error>>, Error> {
            let ids: Vec<String> = writes.iter().flatten().map(|w| w.id().to_owned()).collect();
            let first = {
                let mut groups = self.groups.lock().unwrap_or_else(PoisonError::into_inner);
                groups.push(ids.clone());
                groups.len() == 1
            };
            if first {
                self.gate.acquire().await.map_err(|_| Error::internal("gate closed"))?.forget();
            }
            Ok(ids.into_iter().map(|id| Ok(Item::from_iter([("id".to_owned(), Value::String(id))]))).collect())
        }
        async fn seed(&self, _: &TableDef, _: Vec<SeedRow>, _: &str) -> Result<(), Error> {
            Ok(())
        }
        async fn close(&self) {}
    }

    fn insert(id: &str) -> Write {
        Write::Insert { id: id.to_owned(), values: Vec::new() }
    }

    #[tokio::test]
    async fn a_write_whose_request_went_away_while_queued_is_not_written_later() {
        let gated = Arc::new(Gated { groups: Mutex::new(Vec::new()), gate: Semaphore::new(0) });
        let group = Arc::new(GroupCommit::new(gated.clone()));
        let table =
            TableDef { name: "Item".to_owned(), columns: Vec::new(), dynamic: false, options: TableOptions::default() };

        // "a" takes the table's turn and its group is held in the backend.
        let first = tokio::spawn({
            let (group, table) = (group.clone(), table.clone());
            async move { group.write(&table, insert("a"), None).await }
        });
        while gated.groups.lock().unwrap_or_else(PoisonError::into_inner).is_empty() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // "b" queues behind it, and its request goes away (a client that timed out).
        let gone = tokio::time::timeout(Duration::from_millis(20), group.write(&table, insert("b"), None)).await;
        assert!(gone.is_err(), "b waited for the turn");
        // "c" queues too; then the first group commits.
        let third = tokio::spawn({
            let (group, table) = (group.clone(), table.clone());
            async move { group.write(&table, insert("c"), None).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        gated.gate.add_permits(1);

        let a = first.await.expect("task").expect("a written");
        let c = third.await.expect("task").expect("c written");
        assert_eq!((a["id"].as_str(), c["id"].as_str()), (Some("a"), Some("c")));
        let groups = gated.groups.lock().unwrap_or_else(PoisonError::into_inner).clone();
        assert_eq!(groups, vec![vec!["a".to_owned()], vec!["c".to_owned()]], "b was never written");
    }
}
