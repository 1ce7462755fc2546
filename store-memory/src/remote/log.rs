//! The request log: what reached the in-memory server, in arrival order.

use std::time::Instant;

use sync_core::backend::Cursor;

/// The kind of a call that reached a [`MemoryRemote`](crate::MemoryRemote).
///
/// ```
/// use store_memory::RequestKind;
/// assert!(RequestKind::Update.is_write());
/// assert!(!RequestKind::Query.is_write());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestKind {
    /// `POST /tables/{table}` ([`Remote::insert`](sync_core::Remote::insert)).
    Insert,
    /// `PATCH /tables/{table}/{id}` ([`Remote::update`](sync_core::Remote::update)).
    Update,
    /// `DELETE /tables/{table}/{id}` ([`Remote::delete`](sync_core::Remote::delete)).
    Delete,
    /// `GET /tables/{table}/{id}` ([`Remote::read`](sync_core::Remote::read)).
    Read,
    /// `POST /tables/{table}/{id}` ([`Remote::undelete`](sync_core::Remote::undelete)).
    Undelete,
    /// `GET /tables/{table}?…` ([`Remote::query_page`](sync_core::Remote::query_page)).
    Query,
    /// `POST /tables/{table}/$batch` ([`Remote::batch`](sync_core::Remote::batch)): one
    /// request for many writes.
    Batch,
}

impl RequestKind {
    /// Whether the call changes data (insert, update, delete, undelete, batch).
    ///
    /// ```
    /// assert!(store_memory::RequestKind::Insert.is_write());
    /// ```
    pub fn is_write(self) -> bool {
        matches!(
            self,
            RequestKind::Insert
                | RequestKind::Update
                | RequestKind::Delete
                | RequestKind::Undelete
                | RequestKind::Batch
        )
    }
}

/// One call as the server received it. Every call is logged, including the ones a fault made fail.
///
/// ```
/// use store_memory::{MemoryRemote, RequestKind};
/// use sync_core::{Record, Remote};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let remote = MemoryRemote::new();
/// let item = Record::from_json(serde_json::json!({"id": "a", "text": "milk"})).unwrap();
/// remote.insert("TodoItem", &item).await.unwrap();
/// let log = remote.requests();
/// assert_eq!(log[0].kind, RequestKind::Insert);
/// assert_eq!(log[0].id.as_deref(), Some("a"));
/// # });
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Request {
    /// What was asked.
    pub kind: RequestKind,
    /// The table.
    pub table: String,
    /// The item id (insert, update, delete, read; `None` for a query or an insert without id).
    pub id: Option<String>,
    /// The `If-Match` version sent with an update or delete.
    pub version: Option<String>,
    /// The keyset cursor of a query.
    pub cursor: Option<Cursor>,
    /// The page size a query asked for (as given: 0 means the server default).
    pub page_size: Option<u64>,
    /// When the server received it (after any latency set with
    /// [`set_latency`](crate::MemoryRemote::set_latency)).
    pub at: Instant,
}

impl Request {
    pub(super) fn new(kind: RequestKind, table: &str) -> Self {
        Request {
            kind,
            table: table.to_owned(),
            id: None,
            version: None,
            cursor: None,
            page_size: None,
            at: Instant::now(),
        }
    }

    pub(super) fn id(mut self, id: Option<&str>) -> Self {
        self.id = id.map(str::to_owned);
        self
    }

    pub(super) fn version(mut self, version: Option<&str>) -> Self {
        self.version = version.map(str::to_owned);
        self
    }

    pub(super) fn query(mut self, cursor: Option<&Cursor>, page_size: u64) -> Self {
        self.cursor = cursor.cloned();
        self.page_size = Some(page_size);
        self
    }
}
