//! Encryption at rest with SQLCipher: the key of [`OpenOptions::encryption_key`], applied first
//! thing on every connection (the writer and each reader), and the diagnosis of a file that the
//! key does not open.
//!
//! SQLCipher encrypts every page (the header, the schema and the `-wal` file included) once a
//! connection has run `PRAGMA key` before touching the file. A wrong key is not reported by the
//! pragma: the first read fails with SQLite's "file is not a database". This module reads the
//! schema at once, so that failure surfaces when the store opens, and says what it means:
//! [`StoreError::Encryption`], never [`StoreError::CorruptFile`] alone.
//!
//! Whether SQLite can encrypt is asked of SQLite (`PRAGMA cipher_version`), not of a Cargo
//! feature: SQLCipher linked through another crate's `libsqlite3-sys` features works too, and a
//! build without it refuses a key instead of silently writing plain text.
//!
//! [`OpenOptions::encryption_key`]: crate::OpenOptions::encryption_key

use std::io::Read;
use std::path::Path;

use diesel::connection::{InstrumentationEvent, SimpleConnection};
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use sync_core::backend::StoreError;

use crate::error::{self, Reason};

/// A SQLCipher key (a passphrase, or a raw key written `x'…'`). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct EncryptionKey(String);

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptionKey([redacted])")
    }
}

impl EncryptionKey {
    pub(crate) fn new(key: String) -> Self {
        EncryptionKey(key)
    }

    /// `PRAGMA key = '…'`, the key quoted as an SQL string literal.
    fn pragma(&self) -> Result<String, StoreError> {
        if self.0.is_empty() || self.0.contains('\0') {
            // SQLCipher reads an empty key as "no encryption", and a NUL would cut the key short.
            return Err(encryption("the encryption key is empty or holds a NUL character", None));
        }
        Ok(format!("PRAGMA key = '{}';", self.0.replace('\'', "''")))
    }
}

/// Applies `key` (if any) to a connection just established: the first statement it runs.
pub(crate) fn unlock(conn: &mut SqliteConnection, key: Option<&EncryptionKey>) -> Result<(), StoreError> {
    if let Some(key) = key {
        let pragma = key.pragma()?;
        // The statement holds the key: keep it from an app's Diesel instrumentation (which may log
        // SQL), then give the connection back its default one.
        conn.set_instrumentation(|_: InstrumentationEvent<'_>| {});
        let keyed = conn.batch_execute(&pragma);
        if let Some(default) = diesel::connection::get_default_instrumentation() {
            conn.set_instrumentation(default);
        }
        keyed.map_err(|e| encryption("setting the encryption key failed", Some(e)))?;
        if cipher_version(conn).is_some() {
            // SQLCipher writes a wrong key's failed page checks to stderr (process-wide, from
            // WARN up); the failure comes back as a typed error instead.
            conn.batch_execute("PRAGMA cipher_log_level = NONE")
                .map_err(|e| encryption("configuring SQLCipher failed", Some(e)))?;
        } else {
            return Err(encryption(
                "an encryption key was given, but this build's SQLite cannot encrypt: enable store-diesel's \
                 `bundled-sqlcipher` feature",
                None,
            ));
        }
    }
    Ok(())
}

/// Reads the schema, so that a key that does not fit the file (or a missing one) fails when the
/// connection opens, as [`StoreError::Encryption`]. Run after the busy timeout is set: another
/// connection may be checkpointing. `file` is the database file (`None` in memory).
pub(crate) fn check_readable(conn: &mut SqliteConnection, keyed: bool, file: Option<&Path>) -> Result<(), StoreError> {
    match conn.batch_execute("SELECT count(*) FROM sqlite_master") {
        Ok(_) => Ok(()),
        Err(e) if Reason::of(&error::sqlite_message(&e)) == Reason::Corrupt => Err(diagnose(e, keyed, file, conn)),
        Err(e) => Err(error::db("reading the database schema", e)),
    }
}

/// SQLCipher's version, or `None` when SQLite is plain SQLite.
fn cipher_version(conn: &mut SqliteConnection) -> Option<String> {
    let rows = diesel::sql_query("PRAGMA cipher_version").load::<CipherVersion>(conn).ok()?;
    rows.into_iter().next().map(|r| r.cipher_version)
}

#[derive(QueryableByName)]
struct CipherVersion {
    #[diesel(sql_type = diesel::sql_types::Text)]
    cipher_version: String,
}

/// The first 16 bytes of every plain SQLite database.
const PLAIN_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// What "file is not a database" means, given whether a key was used and what the file starts
/// with. Without a key, in a build that cannot encrypt, it stays [`StoreError::CorruptFile`].
fn diagnose(e: diesel::result::Error, keyed: bool, file: Option<&Path>, conn: &mut SqliteConnection) -> StoreError {
    let plain = file.is_some_and(|f| {
        let mut header = [0u8; 16];
        std::fs::File::open(f).and_then(|mut file| file.read_exact(&mut header)).is_ok() && &header == PLAIN_HEADER
    });
    let message = match (keyed, plain) {
        (true, true) => "a key was given, but the file is not encrypted: open it without one",
        (true, false) => "the encryption key is wrong (or the file is not a database)",
        (false, false) if cipher_version(conn).is_some() => {
            "the file is encrypted (or is not a database): open it with its key (OpenOptions::encryption_key)"
        }
        (false, _) => return error::db("reading the database schema", e),
    };
    encryption(message, Some(e))
}

fn encryption(message: &str, source: Option<diesel::result::Error>) -> StoreError {
    StoreError::Encryption { message: format!("sqlite: {message}"), source: source.map(Into::into) }
}
