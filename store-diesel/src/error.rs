//! Turning SQLite/Diesel failures into [`StoreError`]s.
//!
//! Every SQLite failure names what the store was doing **and SQLite's reason** in its message
//! (`sqlite: committing: database or disk is full`), keeps the Diesel error as its source, and is
//! classified so apps can tell users what to do:
//!
//! | SQLite result code (primary, with its extended codes) | [`StoreError`] |
//! |---|---|
//! | `SQLITE_FULL` | [`StoreError::DiskFull`] |
//! | `SQLITE_BUSY` (after the busy timeout), `SQLITE_LOCKED` | [`StoreError::Busy`] |
//! | `SQLITE_READONLY` | [`StoreError::ReadOnly`] |
//! | `SQLITE_CANTOPEN` on a file the process cannot write (read-only mount, permissions) | [`StoreError::ReadOnly`] |
//! | `SQLITE_CORRUPT`, `SQLITE_NOTADB` | [`StoreError::CorruptFile`] |
//! | `SQLITE_NOTADB` on opening with an encryption key, or without one for a file that is not plain SQLite in a build with SQLCipher | [`StoreError::Encryption`] (see `encryption.rs`) |
//! | anything else (`SQLITE_IOERR`, …) | [`StoreError::Backend`] |
//!
//! Diesel hands over `sqlite3_errmsg()`, not the result code, so the class is read from the
//! message: SQLite gives each primary code one fixed text (`sqlite3_errstr()`, shared by its
//! extended codes), which is what [`Reason::of`] matches. The tests in `tests/failures.rs` produce
//! each of these failures for real and check the class.
//!
//! Errors of our own making (schema, records, queue rules) pass through unchanged.

use std::path::Path;

use sync_core::backend::{BoxError, StoreError};

/// Why SQLite failed, as far as an app can act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reason {
    /// `SQLITE_FULL`.
    DiskFull,
    /// `SQLITE_BUSY`, `SQLITE_LOCKED`.
    Busy,
    /// `SQLITE_READONLY`.
    ReadOnly,
    /// `SQLITE_CORRUPT`, `SQLITE_NOTADB`.
    Corrupt,
    /// `SQLITE_CANTOPEN`: the file (or its `-wal`/`-shm` companions) could not be opened.
    CantOpen,
    /// Anything else.
    Other,
}

impl Reason {
    /// The class of SQLite's message (see the module docs).
    pub(crate) fn of(message: &str) -> Reason {
        const TEXTS: [(&str, Reason); 9] = [
            ("database or disk is full", Reason::DiskFull),
            ("database is locked", Reason::Busy),
            ("database table is locked", Reason::Busy),
            ("database schema is locked", Reason::Busy),
            ("attempt to write a readonly database", Reason::ReadOnly),
            ("database disk image is malformed", Reason::Corrupt),
            ("malformed database schema", Reason::Corrupt),
            ("file is not a database", Reason::Corrupt),
            ("unable to open database file", Reason::CantOpen),
        ];
        TEXTS.iter().find(|(text, _)| message.starts_with(text)).map_or(Reason::Other, |(_, reason)| *reason)
    }

    /// The store error of this class.
    fn error(self, message: String, source: Option<BoxError>) -> StoreError {
        match self {
            Reason::DiskFull => StoreError::DiskFull { message, source },
            Reason::Busy => StoreError::Busy { message, source },
            Reason::ReadOnly => StoreError::ReadOnly { message, source },
            Reason::Corrupt => StoreError::CorruptFile { message, source },
            Reason::CantOpen | Reason::Other => StoreError::Backend { message, source },
        }
    }
}

/// SQLite's own message in a Diesel error (the error's text for Diesel's own failures).
pub(crate) fn sqlite_message(e: &diesel::result::Error) -> String {
    match e {
        diesel::result::Error::DatabaseError(_, info) => info.message().to_owned(),
        other => other.to_string(),
    }
}

/// A failure while doing `context`: `sqlite: {context}: {SQLite's reason}`, classified.
pub(crate) fn db(context: &str, source: diesel::result::Error) -> StoreError {
    let reason = sqlite_message(&source);
    Reason::of(&reason).error(format!("sqlite: {context}: {reason}"), Some(source.into()))
}

/// A failure reported as a boxed error (the migration harness's): classified like [`db`] when it
/// is a Diesel error inside.
pub(crate) fn boxed(context: &str, source: BoxError) -> StoreError {
    let reason = match source.downcast_ref::<diesel::result::Error>() {
        Some(e) => sqlite_message(e),
        None => source.to_string(),
    };
    Reason::of(&reason).error(format!("sqlite: {context}: {reason}"), Some(source))
}

/// A connection that could not be established.
pub(crate) fn connect(context: &str, source: diesel::ConnectionError) -> StoreError {
    let reason = match &source {
        diesel::ConnectionError::BadConnection(message) => message.clone(),
        other => other.to_string(),
    };
    Reason::of(&reason).error(format!("sqlite: {context}: {reason}"), Some(source.into()))
}

/// `SQLITE_CANTOPEN` says only that a file could not be opened. When the database file exists
/// but this process cannot write it (a read-only mount, or no write permission for it or its
/// directory, where SQLite must create `-wal` and `-shm`), the failure is
/// [`StoreError::ReadOnly`], with the operating system's reason added. Nothing is created or
/// changed to find out: the file is opened for writing without truncating, and closed.
pub(crate) fn diagnose_cant_open(error: StoreError, file: &Path) -> StoreError {
    let StoreError::Backend { message, source } = error else { return error };
    let cant_open = source.as_deref().is_some_and(|s| {
        let text = s.downcast_ref::<diesel::result::Error>().map(sqlite_message).unwrap_or_else(|| s.to_string());
        Reason::of(&text) == Reason::CantOpen
    });
    if !cant_open || !file.is_file() {
        return StoreError::Backend { message, source };
    }
    let why = match std::fs::OpenOptions::new().write(true).open(file) {
        Err(e) if matches!(e.kind(), std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied) => {
            Some(format!("the file cannot be written: {e}"))
        }
        _ => file
            .parent()
            .and_then(|dir| std::fs::metadata(dir).ok())
            .filter(|meta| meta.permissions().readonly())
            .map(|_| "its directory is read-only, so SQLite cannot create the -wal and -shm files".to_owned()),
    };
    match why {
        Some(why) => StoreError::ReadOnly { message: format!("{message} ({why})"), source },
        None => StoreError::Backend { message, source },
    }
}

/// Data in `table` that cannot be read back.
pub(crate) fn corrupt(table: &str, message: impl Into<String>) -> StoreError {
    StoreError::Corrupt { table: table.to_owned(), message: message.into() }
}

/// A failed blocking task (it panicked, or the runtime is shutting down).
pub(crate) fn join(e: tokio::task::JoinError) -> StoreError {
    StoreError::backend(format!("sqlite: the blocking task failed: {e}"), e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlites_fixed_texts_are_classified() {
        assert_eq!(Reason::of("database or disk is full"), Reason::DiskFull);
        assert_eq!(Reason::of("database is locked"), Reason::Busy);
        assert_eq!(Reason::of("database table is locked: T"), Reason::Busy);
        assert_eq!(Reason::of("attempt to write a readonly database"), Reason::ReadOnly);
        assert_eq!(Reason::of("database disk image is malformed"), Reason::Corrupt);
        assert_eq!(Reason::of("malformed database schema (T) - near \"x\""), Reason::Corrupt);
        assert_eq!(Reason::of("file is not a database"), Reason::Corrupt);
        assert_eq!(Reason::of("unable to open database file"), Reason::CantOpen);
        assert_eq!(Reason::of("disk I/O error"), Reason::Other);
        // A user's text inside a message is never mistaken for SQLite's reason.
        assert_eq!(Reason::of("UNIQUE constraint failed: database is locked"), Reason::Other);
    }

    #[test]
    fn the_message_holds_sqlites_reason() {
        let e = diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::Unknown,
            Box::new("database or disk is full".to_owned()),
        );
        let e = db("committing", e);
        assert!(matches!(&e, StoreError::DiskFull { message, source: Some(_) }
            if message == "sqlite: committing: database or disk is full"));
        assert_eq!(e.to_string(), "the disk is full: sqlite: committing: database or disk is full");
    }
}

/// The same failures through a whole store, made by SQLite itself so they need no root: a
/// database that reached `PRAGMA max_page_count` fails exactly like a full disk (`SQLITE_FULL`),
/// and a connection with `PRAGMA query_only` like a read-only file (`SQLITE_READONLY`). The
/// real full disk and read-only mount are in `tests/failures.rs`.
#[cfg(test)]
mod store_tests {
    use serde_json::json;
    use sync_core::backend::StoreExt;
    use sync_core::{Column, ColumnType, ErrorKind, Record, Store, TableSchema};

    use super::*;
    use crate::statement::Stmt;
    use crate::DieselStore;

    fn schema() -> TableSchema {
        TableSchema::new("T", vec![Column::new("text", ColumnType::String)]).expect("schema")
    }

    fn row(id: &str, text: &str) -> Record {
        schema().conform_local(Record::from_json(json!({"id": id, "text": text})).expect("record")).expect("fits")
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime")
    }

    async fn pragma(store: &DieselStore, sql: impl Into<String>) -> Option<i64> {
        let sql = sql.into();
        store
            .on_writer(move |db| {
                let rows = db.load(Stmt::new(sql.as_str(), vec![])).map_err(|e| super::db(&sql, e))?;
                Ok(rows.into_iter().next().and_then(|r| r.0.into_iter().next()).and_then(|c| c.as_i64()))
            })
            .await
            .expect("pragma")
    }

    #[test]
    fn a_database_at_its_size_limit_is_disk_full_and_writes_nothing() {
        runtime().block_on(async {
            let dir = tempfile::tempdir().expect("dir");
            let store = DieselStore::open(dir.path().join("full.db")).await.expect("open");
            store.ensure_table(&schema()).await.expect("table");
            let pages = pragma(&store, "PRAGMA page_count").await.expect("page_count");
            pragma(&store, format!("PRAGMA max_page_count = {}", pages + 2)).await;
            let rows: Vec<Record> = (0..64).map(|i| row(&format!("r{i}"), &"x".repeat(4096))).collect();
            let e = store
                .transact(move |tx| rows.iter().try_for_each(|r| tx.upsert("T", r)))
                .await
                .expect_err("the database is full");
            let StoreError::DiskFull { message, source: Some(source) } = &e else { panic!("{e:?}") };
            assert!(message.starts_with("sqlite: ") && message.ends_with(": database or disk is full"), "{message}");
            assert_eq!(source.to_string(), "database or disk is full");
            assert_eq!(e.kind(), ErrorKind::DiskFull);
            assert_eq!(store.get("T", "r0").await.expect("get"), None, "rolled back");
            pragma(&store, "PRAGMA max_page_count = 1073741823").await;
            store.transact(|tx| tx.upsert("T", &row("r0", "fits"))).await.expect("room again");
        });
    }

    #[test]
    fn a_connection_that_cannot_write_is_read_only() {
        runtime().block_on(async {
            let dir = tempfile::tempdir().expect("dir");
            let store = DieselStore::open(dir.path().join("ro.db")).await.expect("open");
            store.ensure_table(&schema()).await.expect("table");
            pragma(&store, "PRAGMA query_only = ON").await;
            let e = store.transact(|tx| tx.upsert("T", &row("1", "x"))).await.expect_err("read-only");
            let StoreError::ReadOnly { message, .. } = &e else { panic!("{e:?}") };
            assert!(message.ends_with(": attempt to write a readonly database"), "{message}");
            assert_eq!(e.kind(), ErrorKind::ReadOnly);
            assert!(!e.kind().is_retryable());
        });
    }
}
