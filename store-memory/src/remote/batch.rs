//! Batches: many writes of one table in one request, each answered as its single call, as
//! sync-server's `$batch` extension does. Off by default, like the Node server.

use sync_core::backend::{strip_server_columns, BatchOp, BatchResult, RemoteError};

use super::log::{Request, RequestKind};
use super::MemoryRemote;

impl MemoryRemote {
    /// Lets the engine send up to `max` writes of one table in one
    /// [`batch`](sync_core::Remote::batch) request (what [`max_batch`](sync_core::Remote::max_batch)
    /// answers); 0 (the default) or 1 turns batching off, as on the Node server.
    ///
    /// A batch is one request in the log ([`RequestKind::Batch`]). A fault ordered for any call
    /// ([`fail_next`](Self::fail_next)) or for batches fails the batch as a whole and applies
    /// nothing; one ordered for a kind of write ([`fail_next_of`](Self::fail_next_of)) fails
    /// that operation inside a batch and the others go on; a lost answer
    /// ([`fail_after_apply_next`](Self::fail_after_apply_next)) applies the whole batch.
    ///
    /// ```
    /// use store_memory::{Fault, MemoryRemote, RequestKind};
    /// use sync_core::backend::BatchOp;
    /// use sync_core::{Record, Remote};
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let remote = MemoryRemote::new();
    /// remote.set_max_batch(100);
    /// assert_eq!(remote.max_batch(), 100);
    /// let insert = |id: &str| BatchOp::Insert { item: Record::with_id(id).unwrap() };
    /// remote.fail_next_of(RequestKind::Insert, 1, Fault::BadRequest { status: 400 });
    /// let results = remote.batch("Item", &[insert("a"), insert("b"), insert("a")]).await.unwrap();
    /// assert_eq!(results[0].as_ref().unwrap_err().status(), Some(400));
    /// assert_eq!(results[1].as_ref().unwrap().as_ref().unwrap().id(), "b");
    /// assert!(results[2].is_ok());
    /// assert_eq!(remote.request_count_of(RequestKind::Batch), 1);
    /// # });
    /// ```
    pub fn set_max_batch(&self, max: usize) {
        self.lock().max_batch = max;
    }

    /// Runs a batch: each operation as its single call would run, under one lock.
    pub(super) async fn run_batch(&self, table: &str, ops: &[BatchOp]) -> Result<Vec<BatchResult>, RemoteError> {
        let latency = self.lock().latency;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let mut state = self.lock();
        let mut request = Request::new(RequestKind::Batch, table);
        request.at = std::time::Instant::now();
        state.log.push(request);
        if let Some(error) = state.faults.take(RequestKind::Batch) {
            return Err(error);
        }
        let mut results = Vec::with_capacity(ops.len());
        for op in ops {
            let kind = match op {
                BatchOp::Insert { .. } => RequestKind::Insert,
                BatchOp::Update { .. } => RequestKind::Update,
                BatchOp::Delete { .. } => RequestKind::Delete,
                _ => {
                    results.push(Err(RemoteError::BadRequest {
                        status: 400,
                        message: "MemoryRemote cannot batch this operation".into(),
                    }));
                    continue;
                }
            };
            if let Some(error) = state.faults.take_for_item(kind) {
                results.push(Err(error));
                continue;
            }
            let now = state.stamp(kind);
            let server = &mut state.server;
            results.push(match op {
                BatchOp::Insert { item } => server.insert(table, strip_server_columns(item).into_map(), &now).map(Some),
                BatchOp::Update { item, version } => server
                    .update(table, item.id(), strip_server_columns(item).into_map(), version.as_deref(), &now)
                    .map(Some),
                BatchOp::Delete { id, version } => server.delete(table, id, version.as_deref(), &now).map(|_| None),
                _ => continue,
            });
        }
        if state.faults.take_lost_response(RequestKind::Batch) {
            return Err(super::faults::lost_response());
        }
        Ok(results)
    }
}
