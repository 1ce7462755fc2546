//! The [`Remote`] trait (the server) and the keyset [`Cursor`] of incremental pull.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::RemoteError;
use crate::query::expr::{CompareOp, Expr};
use crate::query::value::QueryValue;
use crate::record::Record;
use crate::schema::system;

/// The position after the last pulled row: its `updatedAt` exactly as the server sent it, and its
/// `id`. The next page holds rows with `(updatedAt, id)` strictly greater.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The last row's `updatedAt`, verbatim.
    #[serde(rename = "updatedAt")]
    pub updated_at: String,
    /// The last row's `id`.
    pub id: String,
}

impl Cursor {
    /// The keyset filter `(updatedAt gt T) or (updatedAt eq T and id gt I)`.
    pub fn filter(&self) -> Expr {
        let t = QueryValue::DateTime(self.updated_at.clone());
        let updated = |op| Expr::Compare { column: system::UPDATED_AT.to_owned(), op, value: t.clone() };
        updated(CompareOp::Gt).or(updated(CompareOp::Eq).and(Expr::Compare {
            column: system::ID.to_owned(),
            op: CompareOp::Gt,
            value: QueryValue::String(self.id.clone()),
        }))
    }

    /// The cursor after `row`, if it has an `updatedAt`.
    pub fn after(row: &Record) -> Option<Cursor> {
        Some(Cursor { updated_at: row.updated_at()?.to_owned(), id: row.id().to_owned() })
    }
}

/// One page of a keyset query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// The rows as the server sent them, soft-deleted ones included, ordered by `(updatedAt, id)`.
    pub items: Vec<Record>,
    /// Whether the server announced a next page (`Link: …; rel=next`).
    pub has_next_link: bool,
}

/// The server side of sync: the Mobile Apps table operations.
///
/// # Contract
/// - Records sent are the local rows; implementations send only what the protocol allows
///   (no `createdAt`/`updatedAt`/`deleted`; `version` only as `If-Match`).
/// - Results are the server's items, system columns included.
/// - Failures are [`RemoteError`]s classified by kind; a 409/412 carries the server's item when
///   the response held one.
///
/// Implementations pass the remote conformance suite in `sync_core::conformance`.
#[async_trait]
pub trait Remote: Send + Sync {
    /// `POST /tables/{table}`: creates the item and returns the stored one.
    async fn insert(&self, table: &str, item: &Record) -> Result<Record, RemoteError>;

    /// `PATCH /tables/{table}/{id}` with `If-Match: "<version>"` when `version` is given.
    async fn update(&self, table: &str, item: &Record, version: Option<&str>) -> Result<Record, RemoteError>;

    /// `DELETE /tables/{table}/{id}` with `If-Match` when `version` is given (soft delete).
    async fn delete(&self, table: &str, id: &str, version: Option<&str>) -> Result<(), RemoteError>;

    /// `GET /tables/{table}/{id}`; a soft-deleted item is `NotFound`.
    async fn read(&self, table: &str, id: &str) -> Result<Record, RemoteError>;

    /// One page of the keyset query of DESIGN §5: rows matching `filter` and after `cursor`,
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
}

#[async_trait]
impl<R: Remote + ?Sized> Remote for Arc<R> {
    async fn insert(&self, table: &str, item: &Record) -> Result<Record, RemoteError> {
        (**self).insert(table, item).await
    }
    async fn update(&self, table: &str, item: &Record, version: Option<&str>) -> Result<Record, RemoteError> {
        (**self).update(table, item, version).await
    }
    async fn delete(&self, table: &str, id: &str, version: Option<&str>) -> Result<(), RemoteError> {
        (**self).delete(table, id, version).await
    }
    async fn read(&self, table: &str, id: &str) -> Result<Record, RemoteError> {
        (**self).read(table, id).await
    }
    async fn query_page(
        &self,
        table: &str,
        filter: Option<&Expr>,
        cursor: Option<&Cursor>,
        page_size: u64,
    ) -> Result<Page, RemoteError> {
        (**self).query_page(table, filter, cursor, page_size).await
    }
}

/// The record to send for an insert or update: the server-owned columns removed.
pub fn strip_server_columns(item: &Record) -> Record {
    let mut out = item.clone();
    for col in system::SERVER_OWNED {
        out.remove(col);
    }
    out
}
