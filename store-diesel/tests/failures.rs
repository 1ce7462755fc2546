//! SQLite failures an app must be able to tell its user about: a full disk, a database locked by
//! another process, a read-only file, a damaged file. Each is produced for real and checked for
//! its [`StoreError`] variant, its [`ErrorKind`], and SQLite's reason in the message.
//!
//! How each is produced, and why:
//! - **Locked**: another connection (standing in for another process) holds `BEGIN IMMEDIATE`.
//! - **Damaged**: bytes written over the file, or a file that never was a database.
//! - **Full disk**: a filesystem that is really full, a 1 MiB `tmpfs`. Mounting needs root
//!   (`CAP_SYS_ADMIN`); elsewhere the test prints `SKIPPED <name>` and returns. Without root the
//!   same failure comes from SQLite itself (`PRAGMA max_page_count`: `SQLITE_FULL` exactly as for
//!   a full disk), in the unit tests of `src/error.rs`.
//! - **Read-only**: for a process that file permissions bind, `chmod 0444` on the files and
//!   `0555` on the directory. Root writes through those, so as root the directory is a `tmpfs`
//!   remounted `ro` instead (every write fails with `EROFS`, for root too); root without the
//!   right to mount prints `SKIPPED <name>`. `PRAGMA query_only` (in `src/error.rs`) gives the
//!   same `SQLITE_READONLY` anywhere.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use serde_json::json;
use store_diesel::{DieselStore, OpenOptions};
use sync_core::backend::{StoreError, StoreExt};
use sync_core::{column, Column, ColumnType, ErrorKind, Query, Record, Store, SyncError, TableSchema};

fn schema() -> TableSchema {
    TableSchema::new("Item", vec![Column::new("text", ColumnType::String)]).expect("schema")
}

fn item(id: &str, text: &str) -> Record {
    schema().conform_local(Record::from_json(json!({"id": id, "text": text})).expect("record")).expect("fits")
}

/// The message of a database failure, after checking it is the `expected` kind and carries its
/// SQLite error as the source.
fn message_of(e: &StoreError, expected: ErrorKind) -> String {
    assert_eq!(e.kind(), expected, "{e:?}");
    let source = std::error::Error::source(e).unwrap_or_else(|| panic!("{e:?} has no source"));
    let message = match e {
        StoreError::DiskFull { message, .. }
        | StoreError::Busy { message, .. }
        | StoreError::ReadOnly { message, .. }
        | StoreError::CorruptFile { message, .. }
        | StoreError::Backend { message, .. } => message.clone(),
        other => panic!("not a database failure: {other:?}"),
    };
    assert!(message.starts_with("sqlite: "), "{message}");
    assert!(message.contains(&source.to_string()), "the message {message:?} holds the source's reason {source}");
    message
}

async fn seeded(path: &Path) -> DieselStore {
    let store = DieselStore::open(path).await.expect("open");
    store.ensure_table(&schema()).await.expect("ensure_table");
    store.transact(|tx| tx.upsert("Item", &item("1", "committed"))).await.expect("seed");
    store
}

// ---- Locked by another process ----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_locked_by_another_process_is_busy_and_retryable() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("busy.db");
    drop(seeded(&path).await);
    let store =
        DieselStore::open_with(&path, OpenOptions::new().busy_timeout(Duration::from_millis(200))).await.expect("open");
    let mut other = SqliteConnection::establish(path.to_str().expect("utf-8")).expect("other connection");
    other.batch_execute("BEGIN IMMEDIATE").expect("the other process takes the write lock");

    let started = Instant::now();
    let e = store.transact(|tx| tx.upsert("Item", &item("2", "x"))).await.expect_err("locked");
    assert!(started.elapsed() >= Duration::from_millis(150), "the busy timeout was honoured");
    assert!(matches!(e, StoreError::Busy { .. }), "{e:?}");
    assert_eq!(message_of(&e, ErrorKind::Busy), "sqlite: beginning a transaction: database is locked");
    let app = SyncError::from(e);
    assert_eq!(app.kind(), ErrorKind::Busy);
    assert!(app.is_retryable(), "a busy database may be free later");
    assert!(app.to_string().contains("database is locked"), "{app}");

    other.batch_execute("ROLLBACK").expect("unlock");
    store.transact(|tx| tx.upsert("Item", &item("2", "x"))).await.expect("the retry succeeds");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_up_to_date_file_opens_and_reads_while_another_process_holds_the_write_lock() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("reads.db");
    seeded(&path).await.close().await.expect("close");
    let mut other = SqliteConnection::establish(path.to_str().expect("utf-8")).expect("other connection");
    other
        .batch_execute("BEGIN IMMEDIATE; INSERT INTO \"Item\" (\"id\", \"deleted\", \"text\") VALUES ('2', 0, 'x');")
        .expect("the other process writes and holds the lock");

    // The default busy timeout is 5 s: anything that waited for the lock would take that long.
    let started = Instant::now();
    let store = DieselStore::open(&path).await.expect("opening needs no write lock");
    store.ensure_table(&schema()).await.expect("an unchanged table needs no write lock");
    assert_eq!(store.get("Item", "1").await.expect("get"), Some(item("1", "committed")));
    let all = store.query("Item", &Query::new().filter(column("text").ne("zzz"))).await.expect("query");
    assert_eq!(all.items, vec![item("1", "committed")], "the other process's write is not committed");
    assert!(started.elapsed() < Duration::from_secs(2), "waited {:?} for the lock", started.elapsed());

    other.batch_execute("COMMIT").expect("the other process commits");
    assert!(store.get("Item", "2").await.expect("get").is_some(), "and its write is seen");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_another_handle_created_is_ensured_without_the_write_lock() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("stale.db");
    let options = OpenOptions::new().busy_timeout(Duration::from_millis(200));
    let first = DieselStore::open_with(&path, options.clone()).await.expect("open");
    let second = DieselStore::open_with(&path, options).await.expect("open before the table exists");
    first.ensure_table(&schema()).await.expect("created by the first handle");
    let mut other = SqliteConnection::establish(path.to_str().expect("utf-8")).expect("other connection");
    other.batch_execute("BEGIN IMMEDIATE").expect("lock");
    // The second handle's cached catalogue predates the table: it reads the catalogue, finds the
    // same schema, and needs no write.
    second.ensure_table(&schema()).await.expect("found with a read");
    assert_eq!(second.get("Item", "1").await.expect("get"), None);
    other.batch_execute("ROLLBACK").expect("unlock");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_table_waits_for_the_lock_and_then_is_busy() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("new-table.db");
    drop(seeded(&path).await);
    let store =
        DieselStore::open_with(&path, OpenOptions::new().busy_timeout(Duration::from_millis(200))).await.expect("open");
    let mut other = SqliteConnection::establish(path.to_str().expect("utf-8")).expect("other connection");
    other.batch_execute("BEGIN IMMEDIATE").expect("lock");
    let new = TableSchema::new("Other", vec![]).expect("schema");
    let e = store.ensure_table(&new).await.expect_err("creating a table needs the lock");
    assert_eq!(message_of(&e, ErrorKind::Busy), "sqlite: beginning a transaction: database is locked");
    other.batch_execute("ROLLBACK").expect("unlock");
    store.ensure_table(&new).await.expect("created once the lock is free");
}

// ---- Damaged files ------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_a_database_is_corrupt() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("garbage.db");
    std::fs::write(&path, vec![0xA5u8; 16 * 1024]).expect("garbage");
    let e = DieselStore::open(&path).await.expect_err("not a database");
    if cfg!(feature = "bundled-sqlcipher") {
        // With SQLCipher, such a file may as well be an encrypted database opened without its key.
        let StoreError::Encryption { message, .. } = &e else { panic!("{e:?}") };
        assert!(message.contains("the file is encrypted (or is not a database)"), "{message}");
    } else {
        assert!(matches!(e, StoreError::CorruptFile { .. }), "{e:?}");
        let message = message_of(&e, ErrorKind::Corrupt);
        assert!(message.ends_with(": file is not a database"), "{message}");
    }
}

#[derive(QueryableByName)]
struct Int {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    value: i64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_table_is_corrupt_and_the_rest_of_the_file_still_works() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("damaged.db");
    let store = seeded(&path).await;
    let many: Vec<Record> = (0..500).map(|i| item(&format!("r{i:03}"), &"x".repeat(200))).collect();
    store.transact(move |tx| many.iter().try_for_each(|r| tx.upsert("Item", r))).await.expect("fill several pages");
    store.close().await.expect("close: the log is checkpointed into the file");
    let (page_size, root) = {
        let mut conn = SqliteConnection::establish(path.to_str().expect("utf-8")).expect("connection");
        let int = |conn: &mut SqliteConnection, sql: &str| {
            diesel::sql_query(sql).load::<Int>(conn).expect("pragma").first().map(|r| r.value).expect("a row")
        };
        let page_size = int(&mut conn, "SELECT page_size AS value FROM pragma_page_size");
        let root = int(&mut conn, "SELECT rootpage AS value FROM sqlite_master WHERE name = 'Item'");
        (page_size, root)
    };
    // Overwrite the table's root page (its b-tree header and cell pointers) with garbage.
    let mut bytes = std::fs::read(&path).expect("read");
    let start = usize::try_from((root - 1) * page_size).expect("offset");
    bytes[start..start + 64].fill(0xFF);
    std::fs::write(&path, bytes).expect("write");

    let store = DieselStore::open(&path).await.expect("the catalogue and system tables are intact");
    let e = store.query("Item", &Query::new()).await.expect_err("the table is damaged");
    assert!(matches!(e, StoreError::CorruptFile { .. }), "{e:?}");
    let message = message_of(&e, ErrorKind::Corrupt);
    assert_eq!(message, "sqlite: querying \"Item\": database disk image is malformed");
    assert_eq!(SyncError::from(e).kind(), ErrorKind::Corrupt);
    let config = store.transact(|tx| tx.config("k")).await.expect("other tables still read");
    assert_eq!(config, None);
}

// ---- A full disk (tmpfs, root only) and a read-only place ---------------------------------------

/// A tmpfs mounted on a fresh temporary directory, unmounted on drop (also when a test fails).
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (`mount -o size=…`), or `None` where mounting is not allowed.
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().expect("dir");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .is_ok_and(|out| out.status.success());
        ok.then_some(Tmpfs { dir })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Remounts it read-only: every write fails with `EROFS`, for root too.
    fn make_read_only(&self) {
        let out = Command::new("mount").args(["-o", "remount,ro"]).arg(self.dir.path()).output().expect("mount");
        assert!(out.status.success(), "remount,ro: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

/// A directory that can be made read-only for this process: by permissions when they bind it,
/// else (root) as a tmpfs remounted read-only.
enum ReadOnlyPlace {
    Permissions(tempfile::TempDir),
    Mount(Tmpfs),
}

impl ReadOnlyPlace {
    fn new() -> Option<Self> {
        if permissions_bind() {
            Some(ReadOnlyPlace::Permissions(tempfile::tempdir().expect("dir")))
        } else {
            Tmpfs::mount("4m").map(ReadOnlyPlace::Mount)
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        match self {
            ReadOnlyPlace::Permissions(dir) => dir.path().join(name),
            ReadOnlyPlace::Mount(fs) => fs.path(name),
        }
    }

    /// What the message says when a database without its `-wal`/`-shm` files is opened here:
    /// without write permission SQLite opens the file read-only and reports `SQLITE_READONLY`;
    /// on a read-only mount it reports `SQLITE_CANTOPEN`, and the store adds the system's reason.
    fn open_reasons(&self) -> &'static [&'static str] {
        match self {
            ReadOnlyPlace::Permissions(_) => &[": attempt to write a readonly database"],
            ReadOnlyPlace::Mount(_) => &[": unable to open database file", "Read-only file system"],
        }
    }

    fn make_read_only(&self) {
        match self {
            ReadOnlyPlace::Permissions(dir) => {
                for entry in std::fs::read_dir(dir.path()).expect("list") {
                    set_mode(&entry.expect("entry").path(), 0o444);
                }
                set_mode(dir.path(), 0o555);
            }
            ReadOnlyPlace::Mount(fs) => fs.make_read_only(),
        }
    }
}

impl Drop for ReadOnlyPlace {
    fn drop(&mut self) {
        if let ReadOnlyPlace::Permissions(dir) = self {
            set_mode(dir.path(), 0o755); // so the directory can be removed
        }
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Whether a read-only directory stops this process from creating a file in it (not for root).
fn permissions_bind() -> bool {
    let dir = tempfile::tempdir().expect("dir");
    set_mode(dir.path(), 0o555);
    let bound = std::fs::File::create(dir.path().join("probe")).is_err();
    set_mode(dir.path(), 0o755);
    bound
}

macro_rules! read_only_or_skip {
    ($name:expr) => {
        match ReadOnlyPlace::new() {
            Some(place) => place,
            None => {
                eprintln!("SKIPPED {}: root ignores file permissions, and mounting a tmpfs is not allowed", $name);
                return;
            }
        }
    };
}

macro_rules! tmpfs_or_skip {
    ($size:expr, $name:expr) => {
        match Tmpfs::mount($size) {
            Some(fs) => fs,
            None => {
                eprintln!("SKIPPED {}: mounting a tmpfs needs root (CAP_SYS_ADMIN)", $name);
                return;
            }
        }
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_disk_full_and_nothing_of_the_transaction_is_written() {
    let fs = tmpfs_or_skip!("1m", "a_full_disk_is_disk_full_and_nothing_of_the_transaction_is_written");
    // Space to give back later, so the test can show the store works again once there is room.
    std::fs::write(fs.path("ballast"), vec![0u8; 256 * 1024]).expect("ballast");
    let store = seeded(&fs.path("full.db")).await;
    let big = "x".repeat(8 * 1024);
    let mut failure = None;
    for round in 0..40 {
        let rows: Vec<Record> = (0..16).map(|i| item(&format!("r{round}-{i}"), &big)).collect();
        if let Err(e) = store.transact(move |tx| rows.iter().try_for_each(|r| tx.upsert("Item", r))).await {
            failure = Some((round, e));
            break;
        }
    }
    let (round, e) = failure.expect("a 1 MiB disk fills up");
    assert!(matches!(e, StoreError::DiskFull { .. }), "{e:?}");
    let message = message_of(&e, ErrorKind::DiskFull);
    assert!(message.ends_with(": database or disk is full"), "{message}");
    let app = SyncError::from(e);
    assert_eq!(app.kind(), ErrorKind::DiskFull);
    assert!(!app.is_retryable(), "not without freeing space first");
    assert_eq!(store.get("Item", &format!("r{round}-0")).await.expect("reads still work"), None, "rolled back");
    assert!(store.get("Item", "1").await.expect("get").is_some(), "earlier commits are intact");

    std::fs::remove_file(fs.path("ballast")).expect("free some space");
    store.transact(|tx| tx.upsert("Item", &item("after", "small"))).await.expect("writes work again");
    assert!(store.get("Item", "after").await.expect("get").is_some());
    store.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_place_reads_and_refuses_writes_as_read_only() {
    let fs = read_only_or_skip!("a_read_only_place_reads_and_refuses_writes_as_read_only");
    // The store keeps its -wal and -shm files while it is open: copy all three from a live store,
    // as a backup of a running app would, so SQLite finds them in the read-only place.
    let live_dir = tempfile::tempdir().expect("dir");
    let live = seeded(&live_dir.path().join("live.db")).await;
    for suffix in ["", "-wal", "-shm"] {
        std::fs::copy(live_dir.path().join(format!("live.db{suffix}")), fs.path(&format!("ro.db{suffix}")))
            .expect("copy");
    }
    fs.make_read_only();

    let store = DieselStore::open(fs.path("ro.db")).await.expect("an up-to-date file opens read-only");
    store.ensure_table(&schema()).await.expect("a known table needs no write");
    assert_eq!(store.get("Item", "1").await.expect("get"), Some(item("1", "committed")));
    let e = store.transact(|tx| tx.upsert("Item", &item("2", "x"))).await.expect_err("read-only");
    assert!(matches!(e, StoreError::ReadOnly { .. }), "{e:?}");
    let message = message_of(&e, ErrorKind::ReadOnly);
    assert!(message.ends_with(": attempt to write a readonly database"), "{message}");
    assert_eq!(SyncError::from(e).kind(), ErrorKind::ReadOnly);
    drop(live);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_place_without_its_wal_files_is_read_only_at_open() {
    let fs = read_only_or_skip!("a_read_only_place_without_its_wal_files_is_read_only_at_open");
    // Closing the store checkpoints and removes -wal and -shm: only the database file is left.
    seeded(&fs.path("ro.db")).await.close().await.expect("close");
    assert!(!fs.path("ro.db-wal").exists() && !fs.path("ro.db-shm").exists());
    fs.make_read_only();

    let e = DieselStore::open(fs.path("ro.db")).await.expect_err("SQLite cannot create -shm");
    assert!(matches!(e, StoreError::ReadOnly { .. }), "{e:?}");
    let message = message_of(&e, ErrorKind::ReadOnly);
    for reason in fs.open_reasons() {
        assert!(message.contains(reason), "{reason:?} in {message:?}");
    }
}
