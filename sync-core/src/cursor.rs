//! The delta cursor of incremental pull: its type, the keyset filter it stands for, and how it is
//! kept in the store (config key, encoding, load, save, forget). Nothing else in the crate knows
//! these details.
//!
//! A pull with a query id resumes after the cursor saved for `(table, query id)`; each pulled
//! page saves the cursor after its last row in the same transaction as the page's rows (see
//! [`apply_pull_page`](crate::backend::apply_pull_page)). The rules are in
//! `docs/architecture.md`, "Pull with the keyset cursor".

use serde::{Deserialize, Serialize};

use crate::error::{RemoteError, StoreError, SyncError};
use crate::query::expr::{CompareOp, Expr};
use crate::query::value::QueryValue;
use crate::record::Record;
use crate::row_page::RowKeys;
use crate::schema::system;
use crate::store::Transaction;

/// The position after the last pulled row: its `updatedAt` exactly as the server sent it, and its
/// `id`. The next page holds rows with `(updatedAt, id)` strictly greater.
///
/// ```
/// use sync_core::backend::Cursor;
/// let cursor = Cursor { updated_at: "2024-01-02T03:04:05.678Z".into(), id: "a".into() };
/// assert_eq!(
///     sync_core::backend::odata_filter(&cursor.filter()),
///     "((updatedAt gt datetimeoffset'2024-01-02T03:04:05.678Z') or \
///      ((updatedAt eq datetimeoffset'2024-01-02T03:04:05.678Z') and (id gt 'a')))"
/// );
/// ```
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
        Cursor::after_keys(row)
    }

    /// [`after`](Cursor::after) for any pulled row.
    pub(crate) fn after_keys(row: &impl RowKeys) -> Option<Cursor> {
        Some(Cursor { updated_at: row.updated_at()?.to_owned(), id: row.id().to_owned() })
    }

    /// The cursor saved for `(table, query_id)`. An unreadable saved value counts as none: a
    /// full re-download is safe, a skipped row is not.
    pub fn load(tx: &mut dyn Transaction, table: &str, query_id: &str) -> Result<Option<Cursor>, StoreError> {
        Ok(tx.config(&config_key(table, query_id))?.and_then(|text| serde_json::from_str(&text).ok()))
    }

    /// Whether the position saved for `(table, query_id)` was saved by pulls with this filter
    /// (`filter_key`, the filter's OData text). A query id reused with another filter would
    /// resume after rows the new filter never downloaded, so a changed (or unknown) filter
    /// forgets the saved position and records the new filter: the pull starts over.
    pub(crate) fn keep_for_filter(
        tx: &mut dyn Transaction,
        table: &str,
        query_id: &str,
        filter_key: &str,
    ) -> Result<bool, StoreError> {
        let key = filter_config_key(table, query_id);
        if tx.config(&key)?.as_deref() == Some(filter_key) {
            return Ok(true);
        }
        Cursor::forget(tx, table, Some(query_id))?;
        tx.set_config(&key, filter_key)?;
        Ok(false)
    }

    /// Saves this cursor for `(table, query_id)`, replacing the one before.
    pub fn save(&self, tx: &mut dyn Transaction, table: &str, query_id: &str) -> Result<(), StoreError> {
        let text = serde_json::to_string(self).map_err(|e| StoreError::backend("encoding a pull cursor", e))?;
        tx.set_config(&config_key(table, query_id), &text)
    }

    /// The prefix of every config key of `table`'s cursors.
    pub(crate) fn table_key_prefix(table: &str) -> String {
        table_prefix(table)
    }

    /// The rest of `key` after `table`'s cursor prefix, when it is one of `table`'s cursor keys.
    pub(crate) fn table_key_suffix<'k>(key: &'k str, table: &str) -> Option<&'k str> {
        key.strip_prefix(table_prefix(table).as_str())
    }

    /// Forgets the cursor of `(table, query_id)`, or every cursor of `table` when `query_id` is
    /// `None`; returns how many were removed.
    pub fn forget(tx: &mut dyn Transaction, table: &str, query_id: Option<&str>) -> Result<u64, StoreError> {
        match query_id {
            Some(id) => tx.remove_config(&config_key(table, id)),
            None => tx.remove_config(&table_prefix(table)),
        }
    }
}

/// Checks that a page keeps the keyset order: its rows strictly increase in `(updatedAt, id)`,
/// and its first row comes after `previous` (the cursor the page was asked after). A server that
/// ignores the filter, sorts another way, or stores `updatedAt` more precisely than it sends it
/// would otherwise make a pull loop (or skip rows) for ever; this makes it a protocol error that
/// says what the server did.
pub(crate) fn check_page_order<R: RowKeys>(previous: Option<&Cursor>, rows: &[R]) -> Result<(), RemoteError> {
    let mut before: Option<(Key<'_>, &str)> = previous.map(|c| (Key::of(&c.updated_at), c.id.as_str()));
    for (i, row) in rows.iter().enumerate() {
        let Some(updated_at) = row.updated_at() else { continue };
        let here = (Key::of(updated_at), row.id());
        if let Some(prev) = &before {
            if here <= *prev {
                let what = if i == 0 {
                    "does not advance past the cursor it was asked after (it ignores the $filter, or stores updatedAt \
                     more precisely than it sends it)"
                } else {
                    "sends rows out of (updatedAt, id) order (it ignores $orderby=updatedAt,id)"
                };
                return Err(RemoteError::protocol(format!(
                    "the server {what}: row {:?} at {updated_at:?} came after {:?} at {:?}",
                    row.id(),
                    prev.1,
                    prev.0.text()
                )));
            }
        }
        before = Some(here);
    }
    Ok(())
}

/// A timestamp for ordering: parsed when it is a date-time (so `…Z` and `…+00:00` compare right),
/// else its text.
#[derive(Debug, Clone)]
enum Key<'a> {
    Canonical(&'a str),
    Time(chrono::DateTime<chrono::Utc>, &'a str),
    Text(&'a str),
}

impl Key<'_> {
    /// The instant, for comparing canonical text with other spellings.
    fn instant(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        match self {
            Key::Canonical(text) => {
                chrono::DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&chrono::Utc))
            }
            Key::Time(t, _) => Some(*t),
            Key::Text(_) => None,
        }
    }
}

impl Ord for Key<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match (self, other) {
            (Key::Canonical(a), Key::Canonical(b)) => a.cmp(b),
            (Key::Text(a), Key::Text(b)) => a.cmp(b),
            // Date-times before other text, as the derived order had it.
            (Key::Text(_), _) => std::cmp::Ordering::Greater,
            (_, Key::Text(_)) => std::cmp::Ordering::Less,
            (a, b) => (a.instant(), a.text()).cmp(&(b.instant(), b.text())),
        }
    }
}

impl PartialOrd for Key<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Key<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Key<'_> {}

impl<'a> Key<'a> {
    fn of(text: &'a str) -> Key<'a> {
        // Canonical text is fixed-width UTC, so its byte order is time order: no parse needed
        // (nearly every row of every page).
        if crate::schema::is_canonical_datetime(text) {
            return Key::Canonical(text);
        }
        match chrono::DateTime::parse_from_rfc3339(text) {
            Ok(t) => Key::Time(t.with_timezone(&chrono::Utc), text),
            Err(_) => Key::Text(text),
        }
    }

    fn text(&self) -> &'a str {
        match self {
            Key::Canonical(text) | Key::Time(_, text) | Key::Text(text) => text,
        }
    }
}

/// The config key of a query id's cursor, named like the .NET client's delta tokens. The closing
/// `|` makes every key a unique prefix (query ids cannot hold `|`), so removing by prefix removes
/// exactly one cursor, and [`table_prefix`] removes all of a table's.
pub(crate) fn config_key(table: &str, query_id: &str) -> String {
    format!("deltaToken|{table}|{query_id}|")
}

/// The config key of the filter a query id's cursor belongs to. It starts with the cursor's own
/// key, so forgetting the cursor forgets it too.
fn filter_config_key(table: &str, query_id: &str) -> String {
    format!("{}filter", config_key(table, query_id))
}

fn table_prefix(table: &str) -> String {
    format!("deltaToken|{table}|")
}

/// Checks a query id: 1 to 255 bytes without `|` (the .NET client's rule, and what keeps every
/// config key a unique prefix).
pub(crate) fn check_query_id(query_id: Option<&str>) -> Result<(), SyncError> {
    match query_id {
        Some(id) if id.is_empty() || id.len() > 255 || id.contains('|') => {
            Err(SyncError::InvalidQueryId(id.to_owned()))
        }
        _ => Ok(()),
    }
}
