//! How the server keeps `updatedAt`: exactly as it sends it, or with more digits than it sends.

use chrono::{DateTime, Utc};
use sync_core::backend::{canonical_datetime, format_datetime};

/// How a [`MemoryRemote`](crate::MemoryRemote) stores `updatedAt`, compares it in `$filter`
/// and sorts it, against what it sends (set with
/// [`MemoryRemote::set_timestamp_storage`](crate::MemoryRemote::set_timestamp_storage)).
///
/// Servers that keep more digits than they send break a plain keyset cursor: rows within one
/// sent millisecond sort by digits the client never sees. The two finer kinds imitate the
/// servers that do this, so the engine's paging within one timestamp is proven on them.
///
/// ```
/// use store_memory::{MemoryRemote, TimestampStorage};
/// use sync_core::{Record, Remote};
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let remote = MemoryRemote::new();
/// remote.set_timestamp_storage(TimestampStorage::FinerInstant);
/// let stored = remote.insert("Item", &Record::with_id("a").unwrap()).await.unwrap();
/// assert_eq!(stored.updated_at().unwrap().len(), "2024-01-01T00:00:00.000Z".len(), "sent as milliseconds");
/// assert!(!remote.exact_timestamps());
/// # });
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TimestampStorage {
    /// Milliseconds stored, compared and sent: the Node server with the rows it wrote itself,
    /// and `sync-server`. Seeded rows are stored in milliseconds (`…00.1234567Z` as
    /// `…00.123Z`).
    #[default]
    Exact,
    /// Seven fractional digits stored as text and compared as text with the millisecond
    /// literals of `$filter`; sent as milliseconds. This is the Node server on SQLite with rows
    /// that another tool wrote: `…00.1234567Z` sorts *before* `…00.123Z` there. Seeded rows
    /// keep the `updatedAt` text they are given.
    FinerText,
    /// Seven fractional digits stored, compared and sorted as instants; sent as milliseconds
    /// (truncated). This is the .NET server (`datetimeoffset(7)`). Seeded rows are stored with
    /// seven digits.
    FinerInstant,
}

impl TimestampStorage {
    /// Whether the server sends `updatedAt` as it compares it.
    pub(super) fn exact(self) -> bool {
        self == TimestampStorage::Exact
    }

    /// What a write made at `now` stores.
    pub(super) fn stamp(self, now: DateTime<Utc>) -> String {
        match self {
            TimestampStorage::Exact => format_datetime(now),
            TimestampStorage::FinerText | TimestampStorage::FinerInstant => seven_digits(now),
        }
    }

    /// What a seeded row stores for the `updatedAt` it is given.
    pub(super) fn seeded(self, given: &str) -> String {
        match self {
            TimestampStorage::FinerInstant => chrono::DateTime::parse_from_rfc3339(given)
                .map(|t| seven_digits(t.with_timezone(&Utc)))
                .unwrap_or_else(|_| given.to_owned()),
            TimestampStorage::Exact => canonical_datetime(given).unwrap_or_else(|| given.to_owned()),
            TimestampStorage::FinerText => given.to_owned(),
        }
    }

    /// What a response carries for a stored `updatedAt`.
    pub(super) fn sent(self, stored: &str) -> String {
        match self {
            TimestampStorage::Exact => stored.to_owned(),
            TimestampStorage::FinerText | TimestampStorage::FinerInstant => {
                canonical_datetime(stored).unwrap_or_else(|| stored.to_owned())
            }
        }
    }

    /// How a date-time literal of `$filter` is bound for comparison with stored values.
    pub(super) fn literal(self, literal: &str) -> String {
        let canonical = canonical_datetime(literal).unwrap_or_else(|| literal.to_owned());
        match self {
            TimestampStorage::FinerInstant => TimestampStorage::FinerInstant.seeded(&canonical),
            TimestampStorage::Exact | TimestampStorage::FinerText => canonical,
        }
    }
}

/// `2024-01-01T00:00:00.1234567Z`: seven digits, truncated.
fn seven_digits(t: DateTime<Utc>) -> String {
    let nine = t.format("%Y-%m-%dT%H:%M:%S%.9f").to_string();
    format!("{}Z", &nine[..nine.len() - 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finer_kinds_store_seven_digits_and_send_milliseconds() {
        let t = DateTime::parse_from_rfc3339("2024-01-01T00:00:00.123456789Z").unwrap().with_timezone(&Utc);
        assert_eq!(TimestampStorage::FinerText.stamp(t), "2024-01-01T00:00:00.1234567Z");
        assert_eq!(TimestampStorage::Exact.stamp(t), "2024-01-01T00:00:00.123Z");
        assert_eq!(TimestampStorage::FinerInstant.sent("2024-01-01T00:00:00.1239999Z"), "2024-01-01T00:00:00.123Z");
        assert_eq!(TimestampStorage::FinerInstant.literal("2024-01-01T00:00:00.123Z"), "2024-01-01T00:00:00.1230000Z");
        assert_eq!(TimestampStorage::FinerText.literal("2024-01-01T00:00:00.123+00:00"), "2024-01-01T00:00:00.123Z");
        assert_eq!(TimestampStorage::FinerText.seeded("2024-01-01T00:00:00Z"), "2024-01-01T00:00:00Z");
        assert_eq!(TimestampStorage::FinerInstant.seeded("2024-01-01T00:00:00Z"), "2024-01-01T00:00:00.0000000Z");
    }
}
