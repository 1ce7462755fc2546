//! Fixtures shared by the remote cases: a per-case marker that isolates the case on a shared
//! server, record builders, and helpers that run one step and fail with a message naming it.

use std::fmt::Debug;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::RemoteFactory;
use crate::cursor::Cursor;
use crate::error::{RemoteError, RemoteErrorKind};
use crate::query::expr::{column, Expr};
use crate::record::Record;
use crate::remote::{Page, Remote};
use crate::schema::system;

/// The page size the cases page with.
pub(crate) const PAGE: u64 = 100;

/// One running case: the remote and the case's random marker.
pub(crate) struct Case {
    pub(crate) remote: Arc<dyn Remote>,
    /// Random and unique to the case: the prefix of its ids and the value of its marker column.
    pub(crate) marker: String,
}

impl Case {
    /// Starts a case: a remote from the factory and a fresh marker.
    pub(crate) async fn start(factory: &dyn RemoteFactory) -> Case {
        Case { remote: factory.create().await, marker: format!("rc{}", uuid::Uuid::new_v4().simple()) }
    }

    /// The case's id with `suffix`.
    pub(crate) fn id(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.marker)
    }

    /// A record with the case's id for `suffix`, the marker in `marker_column`, and `fields`.
    pub(crate) fn record(&self, suffix: &str, marker_column: &str, fields: Value) -> Record {
        let mut map = match fields {
            Value::Object(map) => map,
            other => panic!("bad fixture fields {other}"),
        };
        map.insert(system::ID.to_owned(), Value::String(self.id(suffix)));
        map.insert(marker_column.to_owned(), Value::String(self.marker.clone()));
        rec(Value::Object(map))
    }

    /// An `Item` of this case: `name` = marker, plus `fields`.
    pub(crate) fn item(&self, suffix: &str, fields: Value) -> Record {
        self.record(suffix, "name", fields)
    }

    /// `<marker_column> eq '<marker>'`.
    pub(crate) fn mine(&self, marker_column: &str) -> Expr {
        column(marker_column).eq(self.marker.as_str())
    }

    /// Inserts and returns the server's item, failing the case on an error.
    pub(crate) async fn insert(&self, table: &str, item: &Record) -> Record {
        ok(self.remote.insert(table, item).await, &format!("insert {} into {table}", item.id()))
    }

    /// Reads, failing the case on an error.
    pub(crate) async fn read(&self, table: &str, id: &str) -> Record {
        ok(self.remote.read(table, id).await, &format!("read {id} from {table}"))
    }

    /// One page, failing the case on an error.
    pub(crate) async fn page(&self, table: &str, filter: &Expr, cursor: Option<&Cursor>, size: u64) -> Page {
        ok(
            self.remote.query_page(table, Some(filter), cursor, size).await,
            &format!("query_page({table}, {filter:?}, {cursor:?}, {size})"),
        )
    }

    /// Every row matching `filter` (soft-deleted included), paged with the keyset cursor, checking
    /// on the way that pages are ordered by `(updatedAt, id)` and no row comes twice.
    pub(crate) async fn all(&self, table: &str, filter: &Expr) -> Vec<Record> {
        let mut out: Vec<Record> = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.page(table, filter, cursor.as_ref(), PAGE).await;
            let n = page.items.len() as u64;
            out.extend(page.items);
            assert_keyset_order(&out, &format!("paging through {table} with {filter:?}"));
            if n < PAGE {
                return out;
            }
            cursor = out.last().and_then(Cursor::after);
            assert!(cursor.is_some(), "query_page returned a row without updatedAt: {:?}", out.last());
        }
    }

    /// The ids of every row matching `marker and filter`, sorted.
    pub(crate) async fn ids_where(&self, table: &str, marker_column: &str, filter: Expr) -> Vec<String> {
        let mut ids: Vec<String> =
            self.all(table, &self.mine(marker_column).and(filter)).await.iter().map(|r| r.id().to_owned()).collect();
        ids.sort();
        ids
    }

    /// The case's ids for `suffixes`, sorted.
    pub(crate) fn ids(&self, suffixes: &[&str]) -> Vec<String> {
        let mut ids: Vec<String> = suffixes.iter().map(|s| self.id(s)).collect();
        ids.sort();
        ids
    }
}

/// A record from JSON (fixtures are always valid).
pub(crate) fn rec(value: Value) -> Record {
    match Record::from_json(value) {
        Ok(r) => r,
        Err(e) => panic!("bad fixture record: {e}"),
    }
}

/// A record holding only `id` and `fields`.
pub(crate) fn patch(id: &str, fields: Value) -> Record {
    let mut map = match fields {
        Value::Object(map) => map,
        other => panic!("bad fixture fields {other}"),
    };
    map.insert(system::ID.to_owned(), Value::String(id.to_owned()));
    rec(Value::Object(map))
}

/// Sets a field of a fixture record.
pub(crate) fn set(record: &mut Record, col: &str, value: Value) {
    if let Err(e) = record.set(col, value) {
        panic!("bad fixture field {col}: {e}");
    }
}

/// Unwraps a remote result or fails the case with what was being done.
pub(crate) fn ok<T>(result: Result<T, RemoteError>, doing: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("{doing}: the remote failed: {e:?}"),
    }
}

/// Expects an error of `kind` (and `status`, when given) and returns it.
pub(crate) fn expect_err<T: Debug>(
    result: Result<T, RemoteError>,
    kind: RemoteErrorKind,
    status: Option<u16>,
    doing: &str,
) -> RemoteError {
    match result {
        Ok(v) => panic!("{doing}: expected a {kind:?} error, the remote succeeded with {v:?}"),
        Err(e) => {
            assert_eq!(e.kind(), kind, "{doing}: wrong error kind: {e:?}");
            if let Some(status) = status {
                assert_eq!(e.status(), Some(status), "{doing}: wrong status: {e:?}");
            }
            e
        }
    }
}

/// A field as a number (servers on JavaScript may send `5` or `5.0`).
pub(crate) fn num(record: &Record, col: &str) -> Option<f64> {
    record.get(col).and_then(Value::as_f64)
}

/// A field as text.
pub(crate) fn text<'a>(record: &'a Record, col: &str) -> Option<&'a str> {
    record.get(col).and_then(Value::as_str)
}

/// Fails unless the rows are strictly increasing in `(updatedAt, id)`.
pub(crate) fn assert_keyset_order(rows: &[Record], doing: &str) {
    for w in rows.windows(2) {
        let key = |r: &Record| (r.updated_at().unwrap_or_default().to_owned(), r.id().as_bytes().to_vec());
        assert!(
            key(&w[0]) < key(&w[1]),
            "{doing}: rows are not in strict (updatedAt, id) order: {:?} then {:?}",
            (w[0].updated_at(), w[0].id()),
            (w[1].updated_at(), w[1].id())
        );
    }
}

/// Fails unless `record` has the server's system columns, alive.
pub(crate) fn assert_system_columns(record: &Record, doing: &str) {
    for col in [system::CREATED_AT, system::UPDATED_AT, system::VERSION] {
        match record.get(col) {
            Some(Value::String(s)) if !s.is_empty() => {}
            other => panic!("{doing}: {col} must be a non-empty string, found {other:?} in {record:?}"),
        }
    }
    assert_eq!(record.get(system::DELETED), Some(&Value::Bool(false)), "{doing}: deleted must be false: {record:?}");
}

/// Fails unless every field of `expected` (except the id) is in `actual` with an equal value
/// (numbers compared as numbers).
pub(crate) fn assert_fields(actual: &Record, expected: &Map<String, Value>, doing: &str) {
    for (k, v) in expected {
        let got = actual.get(k).unwrap_or(&Value::Null);
        let same = match (got, v) {
            (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
            (a, b) => a == b,
        };
        assert!(same, "{doing}: field {k:?} is {got:?}, expected {v:?} (item {actual:?})");
    }
}
