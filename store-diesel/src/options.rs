//! [`OpenOptions`]: how a file-backed [`DieselStore`](crate::DieselStore) is opened.

use std::time::Duration;

use crate::encryption::EncryptionKey;

/// When SQLite waits for the disk (`PRAGMA synchronous`). Both keep the database consistent after
/// any crash; they differ in what a *power loss* (or OS crash) may undo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Synchronous {
    /// `FULL` (the default): every commit syncs the write-ahead log before it returns, so a
    /// committed transaction survives a process kill, an OS crash and a power loss. This is what
    /// the [`Store`](sync_core::Store) contract promises.
    #[default]
    Full,
    /// `NORMAL`: in WAL mode a commit survives a process kill but the last commits before a power
    /// loss or OS crash may roll back (the database stays consistent). Faster for many small
    /// transactions; choose it only when losing the last moments of local edits is acceptable.
    Normal,
}

impl Synchronous {
    pub(crate) fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

/// Options for [`DieselStore::open_with`](crate::DieselStore::open_with).
///
/// ```
/// use std::time::Duration;
/// use store_diesel::{OpenOptions, Synchronous};
/// let options = OpenOptions::new().readers(2).busy_timeout(Duration::from_secs(10)).synchronous(Synchronous::Full);
/// assert_eq!(options.reader_count(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenOptions {
    readers: usize,
    busy_timeout: Duration,
    synchronous: Synchronous,
    change_poll_interval: Duration,
    encryption_key: Option<EncryptionKey>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            readers: 4,
            busy_timeout: Duration::from_secs(5),
            synchronous: Synchronous::Full,
            change_poll_interval: Duration::from_millis(100),
            encryption_key: None,
        }
    }
}

impl OpenOptions {
    /// The defaults: 4 reader connections, a 5 s busy timeout, `synchronous = FULL`, commits of
    /// other processes seen within 100 ms.
    pub fn new() -> Self {
        OpenOptions::default()
    }

    /// How many read-only connections serve `get` and `query` concurrently (at least 1).
    pub fn readers(mut self, n: usize) -> Self {
        self.readers = n.max(1);
        self
    }

    /// How long a statement waits for a lock held by another connection (or process) before it
    /// fails with `SQLITE_BUSY` (reported as [`StoreError::Busy`](sync_core::backend::StoreError::Busy)).
    /// Opening a file that needs no migration, `get`, `query` and `ensure_table` of a known
    /// table never wait for another process's write lock.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// The durability setting (see [`Synchronous`]).
    pub fn synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    /// How often, while a live query watches the store, it checks whether another process (or
    /// another handle on the file) has committed (`PRAGMA data_version`, one cheap statement).
    /// Such a commit wakes every live query of the store within this interval; the store's own
    /// commits wake the live queries of their tables at once. Nothing is polled while no live
    /// query is alive.
    pub fn change_poll_interval(mut self, interval: Duration) -> Self {
        self.change_poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Encrypts the database file with SQLCipher under `key` (a passphrase; a raw 256-bit key may be
    /// given as `x'` + 64 hex digits + `'`). The key is applied first thing on every connection;
    /// a new file is created encrypted, and an existing file must have been created with the same
    /// key. Every page is encrypted, the `-wal` file too; the key is never printed (`Debug` shows
    /// `[redacted]`) and never put in an error.
    ///
    /// Needs SQLCipher: store-diesel's `bundled-sqlcipher` feature (or SQLCipher linked by other
    /// means). Opening fails with [`StoreError::Encryption`](sync_core::backend::StoreError::Encryption)
    /// when the key is wrong, when a key is given for a file that is not encrypted, when an
    /// encrypted file is opened without one (in a build with SQLCipher), when the key is empty,
    /// and when this build's SQLite cannot encrypt. An existing plain file is not converted.
    ///
    /// ```
    /// use store_diesel::OpenOptions;
    /// let options = OpenOptions::new().encryption_key("correct horse battery staple");
    /// assert!(!format!("{options:?}").contains("horse"));
    /// ```
    pub fn encryption_key(mut self, key: impl Into<String>) -> Self {
        self.encryption_key = Some(EncryptionKey::new(key.into()));
        self
    }

    /// The interval set by [`change_poll_interval`](Self::change_poll_interval).
    pub fn change_poll_interval_value(&self) -> Duration {
        self.change_poll_interval
    }

    /// The number of reader connections.
    pub fn reader_count(&self) -> usize {
        self.readers
    }

    pub(crate) fn busy_timeout_ms(&self) -> u64 {
        u64::try_from(self.busy_timeout.as_millis()).unwrap_or(u64::MAX).min(i32::MAX as u64)
    }

    pub(crate) fn synchronous_mode(&self) -> Synchronous {
        self.synchronous
    }

    pub(crate) fn key(&self) -> Option<&EncryptionKey> {
        self.encryption_key.as_ref()
    }
}
