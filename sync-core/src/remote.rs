//! The [`Remote`] trait (the server), the [`Page`] of a keyset query, and the [`BatchOp`]s of a
//! batch of writes.

use std::sync::Arc;

use async_trait::async_trait;

use crate::cursor::Cursor;
use crate::error::RemoteError;
use crate::forward::forward_through_pointers;
use crate::query::expr::Expr;
use crate::record::Record;
use crate::row_page::RowPage;
use crate::schema::{system, TableSchema};

/// One page of a keyset query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// The rows as the server sent them, soft-deleted ones included, ordered by `(updatedAt, id)`.
    pub items: Vec<Record>,
    /// Whether the server announced a next page (`Link: …; rel=next`).
    pub has_next_link: bool,
    /// How many rows match the query on all its pages, this one included, when the server was
    /// asked ([`Remote::query_page_with_total`], `$inlinecount=allpages`) and said; else `None`.
    pub total: Option<u64>,
}

/// Which page a pull asks [`Remote::query_rows`] for: the arguments of the call it stands for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PageRequest<'a> {
    /// [`Remote::query_page`], or [`Remote::query_page_with_total`] when `with_total`.
    Keyset {
        /// The pull's filter.
        filter: Option<&'a Expr>,
        /// The rows after this one.
        cursor: Option<&'a Cursor>,
        /// At most this many rows.
        page_size: u64,
        /// Whether to ask for the total as well.
        with_total: bool,
    },
    /// [`Remote::query_by_id`].
    ById {
        /// The pull's filter.
        filter: Option<&'a Expr>,
        /// The rows whose id comes after this one.
        after_id: Option<&'a str>,
        /// At most this many rows.
        page_size: u64,
    },
}

/// One write of a [`Remote::batch`]: the single call it stands for, with the same arguments.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum BatchOp {
    /// [`Remote::insert`] of this item.
    Insert {
        /// The item, as `insert` takes it.
        item: Record,
    },
    /// [`Remote::update`] of this item, with `If-Match` when `version` is given.
    Update {
        /// The item, as `update` takes it.
        item: Record,
        /// The version the update is made over.
        version: Option<String>,
    },
    /// [`Remote::delete`] of this id, with `If-Match` when `version` is given.
    Delete {
        /// The item's id.
        id: String,
        /// The version the delete is made over.
        version: Option<String>,
    },
}

impl BatchOp {
    /// The id of the operation's item.
    ///
    /// ```
    /// use sync_core::backend::BatchOp;
    /// let op = BatchOp::Delete { id: "a".into(), version: None };
    /// assert_eq!(op.id(), "a");
    /// ```
    pub fn id(&self) -> &str {
        match self {
            BatchOp::Insert { item } | BatchOp::Update { item, .. } => item.id(),
            BatchOp::Delete { id, .. } => id,
        }
    }

    /// Runs the operation as its single call on `remote`: the answer [`Remote::batch`] gives it.
    pub async fn send_alone(&self, remote: &(impl Remote + ?Sized), table: &str) -> BatchResult {
        match self {
            BatchOp::Insert { item } => remote.insert(table, item).await.map(Some),
            BatchOp::Update { item, version } => remote.update(table, item, version.as_deref()).await.map(Some),
            BatchOp::Delete { id, version } => remote.delete(table, id, version.as_deref()).await.map(|()| None),
        }
    }
}

/// The answer to one [`BatchOp`]: the server's item (`None` for a delete), or the error its
/// single call would have failed with.
pub type BatchResult = Result<Option<Record>, RemoteError>;

/// The server side of sync: the Mobile Apps table operations.
///
/// # Contract
/// - Records sent are the local rows; implementations send only what the protocol allows
///   (no `createdAt`/`updatedAt`/`deleted`; `version` only as `If-Match`).
/// - Results are the server's items, system columns included.
/// - Failures are [`RemoteError`]s classified by kind; a 409/412 carries the server's item when
///   the response held one.
///
/// Implementations pass the remote conformance suite in `sync_core::conformance`, and add
/// `impl From<MyRemote> for Arc<dyn Remote>` so that
/// [`SyncContextBuilder::remote`](crate::SyncContextBuilder::remote) takes them as they are.
#[async_trait]
pub trait Remote: std::fmt::Debug + Send + Sync {
    /// `POST /tables/{table}`: creates the item and returns the stored one.
    async fn insert(&self, table: &str, item: &Record) -> Result<Record, RemoteError>;

    /// `PATCH /tables/{table}/{id}` with `If-Match: "<version>"` when `version` is given.
    async fn update(&self, table: &str, item: &Record, version: Option<&str>) -> Result<Record, RemoteError>;

    /// `DELETE /tables/{table}/{id}` with `If-Match` when `version` is given (soft delete).
    async fn delete(&self, table: &str, id: &str, version: Option<&str>) -> Result<(), RemoteError>;

    /// `GET /tables/{table}/{id}`; a soft-deleted item is `NotFound`.
    async fn read(&self, table: &str, id: &str) -> Result<Record, RemoteError>;

    /// `POST /tables/{table}/{id}` (with `If-Match` when `version` is given): brings back a
    /// soft-deleted item and returns it; `NotFound` when the server holds no row of that id.
    /// The engine uses it when the app keeps its own edit of an item the server deleted (a
    /// server keeps a deleted row's id taken, so inserting it again is a conflict). The Node
    /// server has this route; the default answers `BadRequest` (405) for servers that do not.
    async fn undelete(&self, table: &str, id: &str, version: Option<&str>) -> Result<Record, RemoteError> {
        let _ = (table, id, version);
        Err(RemoteError::BadRequest { status: 405, message: "this remote cannot undelete items".into() })
    }

    /// One page of the keyset query (`docs/architecture.md`, "Pull"): rows matching `filter` and after `cursor`,
    /// soft-deleted rows included, ordered by `(updatedAt, id)`, at most `page_size`.
    ///
    /// The server evaluates `filter` with its own null semantics: SQL servers use three-valued
    /// logic, so `ne`/`not` over a nullable column skip rows where it is null there, while local
    /// stores use two-valued logic. Pull filters should avoid `ne`/`not` on nullable columns.
    async fn query_page(
        &self,
        table: &str,
        filter: Option<&Expr>,
        cursor: Option<&Cursor>,
        page_size: u64,
    ) -> Result<Page, RemoteError>;

    /// Like [`query_page`](Remote::query_page), and the page's [`total`](Page::total) also says
    /// how many rows match `filter` and `cursor` on all pages (`$inlinecount=allpages`: the
    /// count comes in the same response, no request is added). A pull asks it for its first page
    /// only, to show progress against the total. The default calls `query_page` and leaves the
    /// total unknown (`None`).
    async fn query_page_with_total(
        &self,
        table: &str,
        filter: Option<&Expr>,
        cursor: Option<&Cursor>,
        page_size: u64,
    ) -> Result<Page, RemoteError> {
        self.query_page(table, filter, cursor, page_size).await
    }

    /// Whether the server compares and sorts `updatedAt` exactly as it sends it. Some servers
    /// store more digits than they send (the .NET server keeps 7 and sends milliseconds; the
    /// Node server on SQLite holds whatever text another tool wrote and sends it as
    /// milliseconds), and then the keyset cursor `(updatedAt, id)` can skip rows or stall on
    /// a page cut inside one timestamp. A remote that answers `false` gets pulled in windows:
    /// after each full page the engine reads the rows around the page's last timestamp by id
    /// with [`query_by_id`](Remote::query_by_id), then goes on past that timestamp
    /// (`docs/architecture.md`, "Timestamps finer than the server sends").
    ///
    /// The default is `true`, the keyset cursor alone, for remotes that know their server
    /// (such a remote need not implement `query_by_id`). The engine asks again after each page
    /// it receives, so a remote may learn the answer from the server's responses (as
    /// `AzureRestRemote` does from sync-server's `x-sync-extensions: exact-timestamps`); a
    /// window already begun runs to its end either way.
    fn exact_timestamps(&self) -> bool {
        true
    }

    /// One page of the rows matching `filter` whose `id` comes after `after_id` (all rows when
    /// `None`), soft-deleted rows included, ordered by `id`, at most `page_size`:
    /// `$filter=(F) and (id gt 'after')&$orderby=id&$top=n&__includeDeleted=true`. The engine
    /// uses it to page within one timestamp when [`exact_timestamps`](Remote::exact_timestamps)
    /// is `false`. The default answers `BadRequest` (501) for remotes that cannot.
    async fn query_by_id(
        &self,
        table: &str,
        filter: Option<&Expr>,
        after_id: Option<&str>,
        page_size: u64,
    ) -> Result<Page, RemoteError> {
        let _ = (table, filter, after_id, page_size);
        Err(RemoteError::BadRequest { status: 501, message: "this remote cannot page by id".into() })
    }

    /// The page a pull asks for, as a [`RowPage`] of `schema`'s table: what the call that
    /// `request` stands for answers, each row's fields placed by column. The engine pulls
    /// through this. The default makes that call and places each record's fields
    /// ([`RowPage::from_page`]); a remote that reads JSON can parse the body straight into the
    /// page ([`RowPage::parse_json`]), which builds no record per row.
    async fn query_rows(&self, schema: &Arc<TableSchema>, request: PageRequest<'_>) -> Result<RowPage, RemoteError> {
        let table = schema.name();
        let page = match request {
            PageRequest::Keyset { filter, cursor, page_size, with_total: false } => {
                self.query_page(table, filter, cursor, page_size).await?
            }
            PageRequest::Keyset { filter, cursor, page_size, with_total: true } => {
                self.query_page_with_total(table, filter, cursor, page_size).await?
            }
            PageRequest::ById { filter, after_id, page_size } => {
                self.query_by_id(table, filter, after_id, page_size).await?
            }
        };
        Ok(RowPage::from_page(schema, page))
    }

    /// The most operations one [`batch`](Remote::batch) call should carry; 0 or 1 when the
    /// remote has no cheaper way to send many writes than one request each (the default). The
    /// engine batches its push only when this is 2 or more, and reads it at every batch, so a
    /// remote may learn it from the server as it goes (`docs/architecture.md`, "Push").
    fn max_batch(&self) -> usize {
        0
    }

    /// Sends many writes of one table at once, in order, and answers each with exactly what
    /// its single call would answer ([`BatchOp::send_alone`]): the server's item, or a
    /// [`RemoteError`] classified as for the single call (a 409/412 conflict with the server's
    /// item, `NotFound`, `BadRequest`, …). The writes are not atomic: each one that fails changes
    /// nothing, and the others go on.
    ///
    /// The outer `Err` is for the request as a whole (no answer, a 5xx, a 401, an answer that is
    /// not a batch answer); the server may then have applied any of the writes, as after a lost
    /// single answer. `Ok` holds one result per operation, in order.
    ///
    /// The default sends each operation alone, one after the other; remotes that can do better
    /// override it and [`max_batch`](Remote::max_batch).
    async fn batch(&self, table: &str, ops: &[BatchOp]) -> Result<Vec<BatchResult>, RemoteError> {
        let mut results = Vec::with_capacity(ops.len());
        for op in ops {
            results.push(op.send_alone(self, table).await);
        }
        Ok(results)
    }
}

forward_through_pointers!(Remote {
    async fn insert(&self, table: &str, item: &Record) -> Result<Record, RemoteError>;
    async fn update(&self, table: &str, item: &Record, version: Option<&str>) -> Result<Record, RemoteError>;
    async fn delete(&self, table: &str, id: &str, version: Option<&str>) -> Result<(), RemoteError>;
    async fn read(&self, table: &str, id: &str) -> Result<Record, RemoteError>;
    async fn undelete(&self, table: &str, id: &str, version: Option<&str>) -> Result<Record, RemoteError>;
    async fn query_page(
        &self,
        table: &str,
        filter: Option<&Expr>,
        cursor: Option<&Cursor>,
        page_size: u64,
    ) -> Result<Page, RemoteError>;
    async fn query_page_with_total(
        &self,
        table: &str,
        filter: Option<&Expr>,
        cursor: Option<&Cursor>,
        page_size: u64,
    ) -> Result<Page, RemoteError>;
    async fn query_by_id(
        &self,
        table: &str,
        filter: Option<&Expr>,
        after_id: Option<&str>,
        page_size: u64,
    ) -> Result<Page, RemoteError>;
    async fn batch(&self, table: &str, ops: &[BatchOp]) -> Result<Vec<BatchResult>, RemoteError>;
    async fn query_rows(&self, schema: &Arc<TableSchema>, request: PageRequest<'_>) -> Result<RowPage, RemoteError>;
    fn exact_timestamps(&self) -> bool;
    fn max_batch(&self) -> usize;
});

/// The record to send for an insert or update: the server-owned columns removed.
pub fn strip_server_columns(item: &Record) -> Record {
    let mut out = item.clone();
    for col in system::SERVER_OWNED {
        out.remove(col);
    }
    out
}
