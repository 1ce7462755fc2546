//! The server's tables and rules: what the Node server (npm `azure-mobile-apps` 4.0.2, SQLite
//! provider, soft delete) does with each request. Pure and synchronous; the caller holds the lock
//! and passes the server time.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use sync_core::backend::compare_records;
use sync_core::backend::{system, Cursor, RemoteError};
use sync_core::{CompareOp, Expr, OrderBy, QueryValue, Record};

use super::filter::{prepare, sql_matches};
use super::ids::{base64, new_uuid};
use super::timestamps::TimestampStorage;

/// The server's `maxTop`: a larger `$top` is a 400.
pub(super) const MAX_TOP: u64 = 1000;
/// The server's default page size, used when `$top` is 0 or absent.
pub(super) const DEFAULT_PAGE_SIZE: u64 = 50;

/// Every table, created on first use (the server's dynamic schema).
#[derive(Debug, Default)]
pub(super) struct Server {
    tables: HashMap<String, Table>,
    /// How `updatedAt` is stored, compared and sent.
    pub(super) stamps: TimestampStorage,
}

#[derive(Debug, Default)]
struct Table {
    /// User columns in the order they first appeared (the table's `ALTER TABLE ADD COLUMN`s).
    columns: Vec<String>,
    /// Rows in insertion (rowid) order; rows are never removed (soft delete).
    rows: Vec<Row>,
    by_id: HashMap<String, usize>,
}

#[derive(Debug)]
struct Row {
    /// The stored item with its system columns (`version` already encoded).
    record: Record,
    /// The version column as SQLite holds it: the decimal counter its trigger bumps.
    version: String,
}

impl Row {
    fn live(&self) -> bool {
        !self.record.is_deleted()
    }
}

/// The `(updatedAt, id)` order of keyset pages.
fn keyset_order() -> [OrderBy; 1] {
    [OrderBy { column: system::UPDATED_AT.to_owned(), descending: false }]
}

fn not_found() -> RemoteError {
    RemoteError::NotFound { message: "The item does not exist".to_owned() }
}

fn bad_request(message: impl Into<String>) -> RemoteError {
    RemoteError::BadRequest { status: 400, message: message.into() }
}

/// `createdAt`, `updatedAt` and `deleted` in a request body are a 400 on the Node server.
fn check_reserved(body: &Map<String, Value>) -> Result<(), RemoteError> {
    for col in [system::CREATED_AT, system::UPDATED_AT, system::DELETED] {
        if body.contains_key(col) {
            return Err(bad_request(format!("Cannot update item with property '{col}' as it is reserved")));
        }
    }
    Ok(())
}

/// JSON numbers as JavaScript writes them back: whole floats become integers (`5.0` → `5`).
fn normalise(value: Value) -> Value {
    match value {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 => Value::Number(Number::from(f as i64)),
            _ => Value::Number(n),
        },
        other => other,
    }
}

/// SQLite's `version + 1` on a text value: its leading integer (0 if none) plus one.
fn bump(version: &str) -> String {
    let t = version.trim_start();
    let (sign, digits) = match t.strip_prefix('-') {
        Some(rest) => (-1i64, rest),
        None => (1, t.strip_prefix('+').unwrap_or(t)),
    };
    let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    let n = digits[..end].parse::<i64>().map(|n| n * sign).unwrap_or(0);
    n.saturating_add(1).to_string()
}

impl Table {
    fn note_columns<'a>(&mut self, keys: impl Iterator<Item = &'a String>) {
        for k in keys {
            if !system::ALL.contains(&k.as_str()) && !self.columns.contains(k) {
                self.columns.push(k.clone());
            }
        }
    }

    /// The row as the server returns it: every column of the table, `null` where unset.
    fn present(&self, stamps: TimestampStorage, record: &Record) -> Record {
        let mut out = record.clone();
        if let Some(sent) = out.updated_at().map(|t| stamps.sent(t)) {
            // Not the id: cannot fail.
            let _ = out.set(system::UPDATED_AT, Value::String(sent));
        }
        for c in &self.columns {
            if out.get(c).is_none() {
                // Not the id: cannot fail.
                let _ = out.set(c.clone(), Value::Null);
            }
        }
        out
    }

    fn row(&self, id: &str) -> Option<&Row> {
        self.by_id.get(id).and_then(|&i| self.rows.get(i))
    }

    fn live_row_mut(&mut self, id: &str) -> Result<&mut Row, RemoteError> {
        match self.by_id.get(id).and_then(|&i| self.rows.get_mut(i)) {
            Some(row) if row.live() => Ok(row),
            _ => Err(not_found()),
        }
    }

    fn push(&mut self, record: Record, version: String) {
        self.by_id.insert(record.id().to_owned(), self.rows.len());
        self.rows.push(Row { record, version });
    }
}

impl Row {
    fn touch(&mut self, now: &str) {
        self.version = bump(&self.version);
        // Non-id keys: cannot fail.
        let _ = self.record.set(system::VERSION, Value::String(base64(&self.version)));
        let _ = self.record.set(system::UPDATED_AT, Value::String(now.to_owned()));
    }

    /// Checks `If-Match` (412) or a `version` in the body without `If-Match` (409).
    fn check_version(&self, if_match: Option<&str>, body_version: Option<&str>) -> Result<(), RemoteError> {
        let (expected, status) = match (if_match, body_version) {
            (Some(v), _) => (v, 412),
            (None, Some(v)) => (v, 409),
            (None, None) => return Ok(()),
        };
        if Some(expected) == self.record.version() {
            Ok(())
        } else {
            Err(RemoteError::Conflict { status, server_item: Some(Box::new(self.record.clone())) })
        }
    }
}

impl Server {
    fn table_mut(&mut self, table: &str) -> &mut Table {
        self.tables.entry(table.to_owned()).or_default()
    }

    /// `POST /tables/{table}` with `body`: 201 with the stored item.
    pub(super) fn insert(&mut self, table: &str, body: Map<String, Value>, now: &str) -> Result<Record, RemoteError> {
        let stamps = self.stamps;
        check_reserved(&body)?;
        let mut body: Map<String, Value> = body.into_iter().map(|(k, v)| (k, normalise(v))).collect();
        match body.get(system::ID) {
            None | Some(Value::Null) => {
                body.insert(system::ID.to_owned(), Value::String(new_uuid()));
            }
            Some(_) => {}
        }
        // Quirk: the SQLite provider stores a `version` sent on POST verbatim.
        let version = match body.remove(system::VERSION) {
            None | Some(Value::Null) => "1".to_owned(),
            Some(Value::String(s)) => s,
            Some(other) => other.to_string(),
        };
        body.insert(system::CREATED_AT.to_owned(), Value::String(now.to_owned()));
        body.insert(system::UPDATED_AT.to_owned(), Value::String(now.to_owned()));
        body.insert(system::VERSION.to_owned(), Value::String(base64(&version)));
        body.insert(system::DELETED.to_owned(), Value::Bool(false));
        let record = Record::new(body).map_err(|e| bad_request(e.to_string()))?;
        let t = self.table_mut(table);
        if t.by_id.contains_key(record.id()) {
            // The Node server answers 409 with the request item, not the stored one.
            return Err(RemoteError::Conflict { status: 409, server_item: None });
        }
        t.note_columns(record.as_map().keys());
        let out = t.present(stamps, &record);
        t.push(record, version);
        Ok(out)
    }

    /// `PATCH /tables/{table}/{id}` with a partial `body`: 200 with the stored item.
    pub(super) fn update(
        &mut self,
        table: &str,
        id: &str,
        body: Map<String, Value>,
        if_match: Option<&str>,
        now: &str,
    ) -> Result<Record, RemoteError> {
        let stamps = self.stamps;
        match body.get(system::ID) {
            None => {}
            Some(Value::String(body_id)) if body_id == id => {}
            Some(_) => return Err(bad_request("The item's id does not match the id in the URL")),
        }
        check_reserved(&body)?;
        let Some(t) = self.tables.get_mut(table) else { return Err(not_found()) };
        let row = t.live_row_mut(id)?;
        let body_version = body.get(system::VERSION).and_then(Value::as_str);
        row.check_version(if_match, body_version)?;
        let mut changed = Vec::new();
        for (k, v) in body {
            if k != system::ID && k != system::VERSION {
                let _ = row.record.set(k.clone(), normalise(v));
                changed.push(k);
            }
        }
        row.touch(now);
        let record = row.record.clone();
        t.note_columns(changed.iter());
        Ok(t.present(stamps, &record))
    }

    /// `DELETE /tables/{table}/{id}`: soft delete; 200 with the deleted item.
    pub(super) fn delete(
        &mut self,
        table: &str,
        id: &str,
        if_match: Option<&str>,
        now: &str,
    ) -> Result<Record, RemoteError> {
        let stamps = self.stamps;
        let Some(t) = self.tables.get_mut(table) else { return Err(not_found()) };
        let row = t.live_row_mut(id)?;
        row.check_version(if_match, None)?;
        let _ = row.record.set(system::DELETED, Value::Bool(true));
        row.touch(now);
        let record = row.record.clone();
        Ok(t.present(stamps, &record))
    }

    /// `POST /tables/{table}/{id}`: brings back a soft-deleted row (a live one is returned as
    /// it is, once its version matches); 404 when there is no row.
    pub(super) fn undelete(
        &mut self,
        table: &str,
        id: &str,
        if_match: Option<&str>,
        now: &str,
    ) -> Result<Record, RemoteError> {
        let stamps = self.stamps;
        let Some(t) = self.tables.get_mut(table) else { return Err(not_found()) };
        let Some(&i) = t.by_id.get(id) else { return Err(not_found()) };
        let Some(row) = t.rows.get_mut(i) else { return Err(not_found()) };
        row.check_version(if_match, None)?;
        if !row.live() {
            let _ = row.record.set(system::DELETED, Value::Bool(false));
            row.touch(now);
        }
        let record = row.record.clone();
        Ok(t.present(stamps, &record))
    }

    /// `GET /tables/{table}/{id}`: 404 for a missing or soft-deleted item.
    pub(super) fn read(&self, table: &str, id: &str) -> Result<Record, RemoteError> {
        let stamps = self.stamps;
        let t = self.tables.get(table).ok_or_else(not_found)?;
        match t.row(id) {
            Some(row) if row.live() => Ok(t.present(stamps, &row.record)),
            _ => Err(not_found()),
        }
    }

    /// The keyset query: `$filter=(F) and (cursor)&$orderby=updatedAt,id&$top=n&__includeDeleted=true`.
    /// Returns the rows and the effective `$top`.
    pub(super) fn query(
        &self,
        table: &str,
        filter: Option<&Expr>,
        cursor: Option<&Cursor>,
        page_size: u64,
    ) -> Result<(Vec<Record>, u64), RemoteError> {
        let keyset = cursor.map(Cursor::filter);
        self.select(table, [filter, keyset.as_ref()], &keyset_order(), page_size)
    }

    /// How many rows [`query`](Self::query) finds on all pages (soft-deleted ones included).
    pub(super) fn count(&self, table: &str, filter: Option<&Expr>, cursor: Option<&Cursor>) -> u64 {
        let Some(t) = self.tables.get(table) else { return 0 };
        let keyset = cursor.map(Cursor::filter);
        let filters: Vec<Expr> =
            [filter, keyset.as_ref()].into_iter().flatten().map(|f| prepare(f, self.stamps)).collect();
        t.rows.iter().filter(|r| filters.iter().all(|f| sql_matches(f, &r.record))).count() as u64
    }

    /// The query by id: `$filter=(F) and (id gt 'after')&$orderby=id&$top=n&__includeDeleted=true`.
    pub(super) fn query_by_id(
        &self,
        table: &str,
        filter: Option<&Expr>,
        after_id: Option<&str>,
        page_size: u64,
    ) -> Result<(Vec<Record>, u64), RemoteError> {
        let after = after_id.map(|id| Expr::Compare {
            column: system::ID.to_owned(),
            op: CompareOp::Gt,
            value: QueryValue::String(id.to_owned()),
        });
        self.select(table, [filter, after.as_ref()], &[], page_size)
    }

    /// The rows matching every filter, in `order` then id, at most `page_size` (the server's
    /// default when 0); and the effective `$top`.
    fn select(
        &self,
        table: &str,
        filters: [Option<&Expr>; 2],
        order: &[OrderBy],
        page_size: u64,
    ) -> Result<(Vec<Record>, u64), RemoteError> {
        if page_size > MAX_TOP {
            return Err(bad_request(format!("You cannot request more than {MAX_TOP} records")));
        }
        let stamps = self.stamps;
        let top = if page_size == 0 { DEFAULT_PAGE_SIZE } else { page_size };
        let Some(t) = self.tables.get(table) else { return Ok((Vec::new(), top)) };
        let filters: Vec<Expr> = filters.into_iter().flatten().map(|f| prepare(f, stamps)).collect();
        let mut hits: Vec<&Record> =
            t.rows.iter().map(|r| &r.record).filter(|r| filters.iter().all(|f| sql_matches(f, r))).collect();
        hits.sort_by(|a, b| compare_records(order, a, b));
        hits.truncate(usize::try_from(top).unwrap_or(usize::MAX));
        Ok((hits.into_iter().map(|r| t.present(stamps, r)).collect(), top))
    }

    /// Writes rows straight into storage with `updated_at` (see `MemoryRemote::seed`).
    pub(super) fn seed(&mut self, table: &str, rows: Vec<Record>, updated_at: &str) {
        let updated_at = &self.stamps.seeded(updated_at);
        let t = self.table_mut(table);
        for row in rows {
            let deleted = row.is_deleted();
            let mut fields = row.into_map();
            for col in system::SERVER_OWNED {
                fields.remove(col);
            }
            let fields: Map<String, Value> = fields.into_iter().map(|(k, v)| (k, normalise(v))).collect();
            t.note_columns(fields.keys());
            let id = fields.get(system::ID).and_then(Value::as_str).unwrap_or_default().to_owned();
            let stamp = Value::String(updated_at.to_owned());
            match t.by_id.get(&id).and_then(|&i| t.rows.get_mut(i)) {
                Some(existing) => {
                    for (k, v) in fields {
                        let _ = existing.record.set(k, v);
                    }
                    let _ = existing.record.set(system::DELETED, Value::Bool(deleted));
                    existing.touch(updated_at);
                }
                None => {
                    let mut map = fields;
                    map.insert(system::CREATED_AT.to_owned(), stamp.clone());
                    map.insert(system::UPDATED_AT.to_owned(), stamp);
                    map.insert(system::VERSION.to_owned(), Value::String(base64("1")));
                    map.insert(system::DELETED.to_owned(), Value::Bool(deleted));
                    if let Ok(record) = Record::new(map) {
                        t.push(record, "1".to_owned());
                    }
                }
            }
        }
    }

    /// Every row of `table` in insertion order, soft-deleted ones included.
    pub(super) fn rows(&self, table: &str) -> Vec<Record> {
        let stamps = self.stamps;
        self.tables
            .get(table)
            .map(|t| t.rows.iter().map(|r| t.present(stamps, &r.record)).collect())
            .unwrap_or_default()
    }

    /// One row, soft-deleted or not.
    pub(super) fn row(&self, table: &str, id: &str) -> Option<Record> {
        let stamps = self.stamps;
        let t = self.tables.get(table)?;
        t.row(id).map(|r| t.present(stamps, &r.record))
    }

    /// Names of the tables that exist.
    pub(super) fn table_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.tables.keys().cloned().collect();
        names.sort();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_bump_like_sqlite() {
        assert_eq!(bump("1"), "2");
        assert_eq!(bump("41"), "42");
        assert_eq!(bump("AAAA"), "1");
        assert_eq!(bump("7abc"), "8");
        assert_eq!(bump("-3"), "-2");
        assert_eq!(bump(&i64::MAX.to_string()), i64::MAX.to_string());
    }

    #[test]
    fn whole_floats_become_integers() {
        assert_eq!(normalise(serde_json::json!(5.0)), serde_json::json!(5));
        assert_eq!(normalise(serde_json::json!(5.5)), serde_json::json!(5.5));
        assert_eq!(normalise(serde_json::json!(1e300)), serde_json::json!(1e300));
    }
}
