//! Server rows that do not fit the local table (a column missing, `2.5` for an integer, a number
//! beyond `i64`): a pull stores the rest of the page and moves on, and keeps each rejected row's
//! table, id, column and reason, per table, so an app can list them later
//! ([`SyncContext::rejected_rows`](crate::SyncContext::rejected_rows)).
//!
//! They are kept in the config table, one JSON list per table under `rejected|{table}`, written
//! only by a page that rejected something (nothing on the hot path), at most
//! [`KEPT_PER_TABLE`] per table (the newest), one per item (the newest).

use serde::{Deserialize, Serialize};

use crate::error::{RecordError, StoreError};
use crate::store::Transaction;

/// The most rejected rows kept per table.
pub const KEPT_PER_TABLE: usize = 1000;

/// A server row a pull could not store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RejectedRow {
    /// The table.
    pub table: String,
    /// The row's id.
    pub id: String,
    /// The column that does not fit, when one is to blame.
    pub column: Option<String>,
    /// What was expected and what came.
    pub reason: String,
    /// The row's `updatedAt` as the server sent it.
    pub updated_at: Option<String>,
}

impl RejectedRow {
    pub(crate) fn new(table: &str, id: &str, updated_at: Option<&str>, error: &RecordError) -> RejectedRow {
        RejectedRow {
            table: table.to_owned(),
            id: id.to_owned(),
            column: error.column().map(str::to_owned),
            reason: error.to_string(),
            updated_at: updated_at.map(str::to_owned),
        }
    }
}

impl std::fmt::Display for RejectedRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "row {:?} of {:?} was not stored: {}", self.id, self.table, self.reason)
    }
}

/// The config key holding `table`'s rejected rows.
pub(crate) fn key(table: &str) -> String {
    format!("rejected|{table}")
}

/// The rejected rows kept for `table`, oldest first.
pub(crate) fn list(tx: &mut dyn Transaction, table: &str) -> Result<Vec<RejectedRow>, StoreError> {
    Ok(tx.config(&key(table))?.and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default())
}

/// Adds `rows` to those kept for `table`.
pub(crate) fn keep(tx: &mut dyn Transaction, table: &str, rows: &[RejectedRow]) -> Result<(), StoreError> {
    let mut kept = list(tx, table)?;
    kept.retain(|old| rows.iter().all(|new| new.id != old.id));
    kept.extend(rows.iter().cloned());
    let excess = kept.len().saturating_sub(KEPT_PER_TABLE);
    kept.drain(..excess);
    let text = serde_json::to_string(&kept).map_err(|e| StoreError::backend("encoding rejected rows", e))?;
    tx.set_config(&key(table), &text)
}

/// Forgets the rejected rows kept for `table`; returns how many there were.
pub(crate) fn clear(tx: &mut dyn Transaction, table: &str) -> Result<u64, StoreError> {
    let n = list(tx, table)?.len() as u64;
    tx.remove_config(&key(table))?;
    Ok(n)
}
