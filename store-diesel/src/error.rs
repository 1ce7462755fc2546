//! Turning SQLite/Diesel failures into [`StoreError`]s.
//!
//! Every SQLite error (including `SQLITE_BUSY` once the busy timeout ran out) becomes
//! [`StoreError::Backend`] with the Diesel error kept as its source; errors of our own making
//! (schema, records, queue rules) pass through unchanged.

use sync_core::backend::StoreError;

/// A backend failure while doing `context`.
pub(crate) fn db(context: &str, source: diesel::result::Error) -> StoreError {
    StoreError::backend(format!("sqlite: {context}"), source)
}

/// Data in `table` that cannot be read back.
pub(crate) fn corrupt(table: &str, message: impl Into<String>) -> StoreError {
    StoreError::Corrupt { table: table.to_owned(), message: message.into() }
}

/// A failed blocking task (it panicked, or the runtime is shutting down).
pub(crate) fn join(e: tokio::task::JoinError) -> StoreError {
    StoreError::backend("sqlite: the blocking task failed", e)
}
