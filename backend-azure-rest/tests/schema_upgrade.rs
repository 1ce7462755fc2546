//! App updates that change an entity, proved on a real database file and the real Node server.
//!
//! `tests/fixtures/chore-v1.db` was made by "version 1" of the app (`ChoreV1`): three chores
//! pulled from the server (a pull cursor past them), then unpushed edits: chore `c4` inserted,
//! `c2` edited (text and notes), `c3` deleted. Regenerate it with
//! `cargo test -p backend-azure-rest --test schema_upgrade -- --ignored regenerate_fixture`.
//!
//! Each test copies the file, opens it with one "version 2" of the entity, and syncs against a
//! Node server whose table already has version 2's columns: nothing queued is lost, and rows
//! already on the device get the server's values of a new column.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use backend_azure_rest::test_server::NodeServer;
use serde_json::{json, Value};
use store_diesel::DieselStore;
use sync_core::backend::{Cursor, StoreError, StoreExt};
use sync_core::chrono::{DateTime, Utc};
use sync_core::{PullOptions, Query, Record, Remote, RowChange, Store, SyncContext, SyncEntity, SyncError, SyncTable};

const SEEDED_AT: &str = "2024-03-01T00:00:00.000Z";

#[derive(SyncEntity, Debug, Clone, PartialEq)]
#[sync(table = "Chore")]
struct ChoreV1 {
    id: String,
    text: String,
    notes: Option<String>,
    rank: i32,
    #[sync(updated_at)]
    updated_at: Option<DateTime<Utc>>,
    #[sync(version)]
    version: Option<String>,
}

/// Version 2: a new non-null field with a default.
#[derive(SyncEntity, Debug, Clone, PartialEq)]
#[sync(table = "Chore")]
struct ChoreWithPriority {
    id: String,
    text: String,
    notes: Option<String>,
    rank: i32,
    #[sync(default = 1)]
    priority: i32,
    #[sync(version)]
    version: Option<String>,
}

/// Version 2 that keeps its pull cursors when the column is added.
#[derive(SyncEntity, Debug, Clone, PartialEq)]
#[sync(table = "Chore", keep_cursors)]
struct ChoreWithPriorityKeepingCursors {
    id: String,
    text: String,
    notes: Option<String>,
    rank: i32,
    #[sync(default = 1)]
    priority: i32,
}

/// Version 2 forgetting the default: refused.
#[derive(SyncEntity, Debug, Clone, PartialEq)]
#[sync(table = "Chore")]
struct ChoreWithPriorityNoDefault {
    id: String,
    text: String,
    notes: Option<String>,
    rank: i32,
    priority: i32,
}

/// Version 2: `text` renamed to `title`.
#[derive(SyncEntity, Debug, Clone, PartialEq)]
#[sync(table = "Chore")]
struct ChoreWithTitle {
    id: String,
    #[sync(renamed_from = "text")]
    title: String,
    notes: Option<String>,
    rank: i32,
}

/// Version 2: the table renamed to `Task`.
#[derive(SyncEntity, Debug, Clone, PartialEq)]
#[sync(table = "Task", renamed_from = "Chore")]
struct Task {
    id: String,
    text: String,
    notes: Option<String>,
    rank: i32,
}

/// Version 2: `rank` becomes a number, converted.
#[derive(SyncEntity, Debug, Clone, PartialEq)]
#[sync(table = "Chore")]
struct ChoreWithRealRank {
    id: String,
    text: String,
    notes: Option<String>,
    #[sync(convert)]
    rank: f64,
}

/// Version 2: `rank` becomes a number, not declared: refused.
#[derive(SyncEntity, Debug, Clone, PartialEq)]
#[sync(table = "Chore")]
struct ChoreWithUndeclaredRealRank {
    id: String,
    text: String,
    notes: Option<String>,
    rank: f64,
}

/// Version 2: `notes` removed.
#[derive(SyncEntity, Debug, Clone, PartialEq)]
#[sync(table = "Chore")]
struct ChoreWithoutNotes {
    id: String,
    text: String,
    rank: i32,
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chore-v1.db")
}

/// The chores the server holds (version 1's columns plus `extra`).
fn server_chores(extra: impl Fn(usize) -> Value) -> Vec<Value> {
    let base = [("c1", "sweep", Some("kitchen"), 1), ("c2", "mop", None, 2), ("c3", "dust", None, 3)];
    base.iter()
        .enumerate()
        .map(|(i, (id, text, notes, rank))| {
            let mut row = json!({"id": id, "text": text, "notes": notes, "rank": rank});
            if let (Some(map), Value::Object(more)) = (row.as_object_mut(), extra(i)) {
                map.extend(more);
            }
            row
        })
        .collect()
}

/// A Node server with `table`'s columns, seeded with the chores.
async fn server(table: &str, columns: Value, rows: &[Value]) -> NodeServer {
    let tables = json!({ table: columns }).to_string();
    let s = match NodeServer::builder().extra_tables(tables).start().await {
        Ok(s) => s,
        Err(e) => panic!("the Node test server must be installable and start: {e}"),
    };
    if let Err(e) = s.seed_rows(table, rows, SEEDED_AT).await {
        panic!("seeding {table}: {e}");
    }
    s
}

fn v1_columns() -> Value {
    json!({"text": "string", "notes": "string", "rank": "number"})
}

/// A copy of the fixture in a temporary directory, opened.
async fn open_copy(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    let path = dir.path().join("app.db");
    std::fs::copy(fixture(), &path).expect("copy the fixture");
    Arc::new(DieselStore::open(&path).await.expect("open the fixture"))
}

async fn context(store: &Arc<dyn Store>, server: &NodeServer) -> SyncContext {
    SyncContext::builder(Arc::clone(store)).remote(server.remote()).build().await.expect("build")
}

async fn cursor(store: &Arc<dyn Store>, table: &str) -> Option<Cursor> {
    let table = table.to_owned();
    store.transact(move |tx| Cursor::load(tx, &table, "all")).await.expect("cursor")
}

/// Pushes everything, then pulls `table` incrementally; returns the server's rows by id.
async fn sync<T: SyncEntity>(ctx: &SyncContext, table: &SyncTable<T>, server: &NodeServer, name: &str) -> Vec<Record> {
    let pushed = ctx.push().await.expect("push");
    assert_eq!((pushed.failed, pushed.aborted), (0, false), "every queued change is pushed: {pushed:?}");
    assert!(ctx.errors().await.expect("errors").is_empty(), "no error is recorded");
    assert_eq!(ctx.pending_count().await.expect("pending"), 0, "nothing is left queued");
    table.pull(&Query::new(), PullOptions::incremental("all")).await.expect("pull");
    server_rows(server, name).await
}

/// Every row of the server's table, soft-deleted ones included, by id.
async fn server_rows(server: &NodeServer, table: &str) -> Vec<Record> {
    let remote = server.remote();
    let (mut rows, mut cursor) = (Vec::new(), None);
    loop {
        let page = remote.query_page(table, None, cursor.as_ref(), 100).await.expect("reading the server");
        let Some(last) = page.items.last() else { break };
        cursor = Cursor::after(last);
        rows.extend(page.items);
    }
    rows.sort_by(|a, b| a.id().cmp(b.id()));
    rows
}

fn field<'r>(rows: &'r [Record], id: &str, column: &str) -> Option<&'r Value> {
    rows.iter().find(|r| r.id() == id).and_then(|r| r.get(column))
}

fn is_deleted(rows: &[Record], id: &str) -> bool {
    rows.iter().find(|r| r.id() == id).is_some_and(Record::is_deleted)
}

/// Every change version 1 queued reached the server, under the names of version 2.
fn assert_v1_edits_pushed(rows: &[Record], text: &str) {
    assert_eq!(field(rows, "c2", text), Some(&json!("mop floor")), "the unpushed edit of c2 reached the server");
    assert_eq!(field(rows, "c2", "notes"), Some(&json!("hall")));
    assert_eq!(field(rows, "c4", text), Some(&json!("wash")), "the unpushed insert c4 reached the server");
    assert!(is_deleted(rows, "c3"), "the unpushed delete of c3 reached the server");
    assert!(!is_deleted(rows, "c1"));
}

fn incompatible(result: Result<impl std::fmt::Debug, SyncError>) -> String {
    match result {
        Err(SyncError::Store(StoreError::IncompatibleSchema { table, message })) => {
            assert_eq!(table, "Chore", "the error names the table");
            message
        }
        other => panic!("expected IncompatibleSchema, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_field_with_a_default_syncs_and_rows_on_the_device_get_the_servers_values() {
    let columns = json!({"text": "string", "notes": "string", "rank": "number", "priority": "number"});
    let s = server("Chore", columns, &server_chores(|i| json!({"priority": 5 + i}))).await;
    let dir = tempfile::tempdir().expect("dir");
    let store = open_copy(&dir).await;
    assert!(cursor(&store, "Chore").await.is_some(), "the fixture was pulled");
    let ctx = context(&store, &s).await;
    let chores = ctx.table::<ChoreWithPriority>().await.expect("open with version 2");
    assert_eq!(cursor(&store, "Chore").await, None, "adding a column forgets the cursor");
    let c1 = chores.get("c1").await.expect("get").expect("c1");
    assert_eq!((c1.text.as_str(), c1.priority), ("sweep", 1), "stored rows get the default at once");
    assert_eq!(ctx.pending_count().await.expect("pending"), 3, "version 1's three changes are still queued");

    let rows = sync(&ctx, &chores, &s, "Chore").await;
    assert_v1_edits_pushed(&rows, "text");
    assert_eq!(field(&rows, "c4", "priority"), Some(&json!(1)), "the new row goes up with the default");
    let c1 = chores.get("c1").await.expect("get").expect("c1");
    assert_eq!(c1.priority, 5, "a row already on the device gets the server's value by the re-pull");
    assert_eq!(field(&rows, "c2", "priority"), Some(&json!(6)), "version 1's queued edit left the server's priority");
    let c2 = chores.get("c2").await.expect("get").expect("c2");
    assert_eq!((c2.text.as_str(), c2.notes.as_deref(), c2.priority), ("mop floor", Some("hall"), 6));
    assert!(chores.get("c3").await.expect("get").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_cursors_skips_the_re_pull() {
    let columns = json!({"text": "string", "notes": "string", "rank": "number", "priority": "number"});
    let s = server("Chore", columns, &server_chores(|i| json!({"priority": 5 + i}))).await;
    let dir = tempfile::tempdir().expect("dir");
    let store = open_copy(&dir).await;
    let before = cursor(&store, "Chore").await;
    let ctx = context(&store, &s).await;
    let chores = ctx.table::<ChoreWithPriorityKeepingCursors>().await.expect("open with version 2");
    assert_eq!(cursor(&store, "Chore").await, before, "keep_cursors keeps the cursor");
    let rows = sync(&ctx, &chores, &s, "Chore").await;
    assert_v1_edits_pushed(&rows, "text");
    let c1 = chores.get("c1").await.expect("get").expect("c1");
    assert_eq!(c1.priority, 1, "without the re-pull, an unchanged row keeps the default");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_field_keeps_its_values_and_queued_edits() {
    let rows = server_chores(|_| json!({}));
    let renamed: Vec<Value> = rows
        .into_iter()
        .map(|mut r| {
            let text = r.as_object_mut().and_then(|m| m.remove("text")).unwrap_or(Value::Null);
            r["title"] = text;
            r
        })
        .collect();
    let s = server("Chore", json!({"title": "string", "notes": "string", "rank": "number"}), &renamed).await;
    let dir = tempfile::tempdir().expect("dir");
    let store = open_copy(&dir).await;
    let ctx = context(&store, &s).await;
    let chores = ctx.table::<ChoreWithTitle>().await.expect("open with version 2");
    assert_eq!(chores.get("c2").await.expect("get").expect("c2").title, "mop floor", "the edit moved to title");
    let rows = sync(&ctx, &chores, &s, "Chore").await;
    assert_v1_edits_pushed(&rows, "title");
    assert_eq!(chores.get("c1").await.expect("get").expect("c1").title, "sweep");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_table_keeps_its_rows_queue_and_cursor() {
    let s = server("Task", v1_columns(), &server_chores(|_| json!({}))).await;
    let dir = tempfile::tempdir().expect("dir");
    let store = open_copy(&dir).await;
    let before = cursor(&store, "Chore").await;
    let ctx = context(&store, &s).await;
    let tasks = ctx.table::<Task>().await.expect("open with version 2");
    assert_eq!(cursor(&store, "Task").await, before, "the cursor moved with the table");
    assert!(ctx.pending_operations().await.expect("ops").iter().all(|op| op.table == "Task"), "the queue moved");
    assert_eq!(tasks.query(&Query::new()).await.expect("query").len(), 3, "c1, c2 and c4 moved");
    let rows = sync(&ctx, &tasks, &s, "Task").await;
    assert_v1_edits_pushed(&rows, "text");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_type_change_converts_and_syncs() {
    let s = server("Chore", v1_columns(), &server_chores(|_| json!({}))).await;
    let dir = tempfile::tempdir().expect("dir");
    let store = open_copy(&dir).await;
    let ctx = context(&store, &s).await;
    let chores = ctx.table::<ChoreWithRealRank>().await.expect("open with version 2");
    assert_eq!(chores.get("c4").await.expect("get").expect("c4").rank, 4.0, "the rank is converted");
    let rows = sync(&ctx, &chores, &s, "Chore").await;
    assert_v1_edits_pushed(&rows, "text");
    assert_eq!(field(&rows, "c4", "rank").and_then(Value::as_f64), Some(4.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_cannot_be_done_automatically_is_refused_with_the_fix_named() {
    let s = server("Chore", v1_columns(), &server_chores(|_| json!({}))).await;
    let dir = tempfile::tempdir().expect("dir");
    let store = open_copy(&dir).await;
    let ctx = context(&store, &s).await;
    let m = incompatible(ctx.table::<ChoreWithPriorityNoDefault>().await);
    assert!(m.contains("\"priority\"") && m.contains("#[sync(default"), "{m}");
    let m = incompatible(ctx.table::<ChoreWithUndeclaredRealRank>().await);
    assert!(m.contains("\"rank\"") && m.contains("#[sync(convert)]") && m.contains("migration"), "{m}");
    let m = incompatible(ctx.table::<ChoreWithoutNotes>().await);
    assert!(m.contains("\"notes\"") && m.contains("push") && m.contains("Migration::update_rows"), "{m}");
    // Nothing was changed by the refusals: version 1 still opens and syncs everything.
    let chores = ctx.table::<ChoreV1>().await.expect("version 1 again");
    let rows = sync(&ctx, &chores, &s, "Chore").await;
    assert_v1_edits_pushed(&rows, "text");
}

/// Dropping `notes` with unpushed notes in the queue needs an explicit decision: a migration
/// step that clears them. The rest of the edits sync; the server keeps its own notes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_field_with_unpushed_values_goes_through_an_explicit_step() {
    let s = server("Chore", v1_columns(), &server_chores(|_| json!({}))).await;
    let dir = tempfile::tempdir().expect("dir");
    let store = open_copy(&dir).await;
    let ctx = SyncContext::builder(Arc::clone(&store))
        .remote(s.remote())
        .migration(1, |m| {
            m.update_rows("Chore", |mut row| {
                row.set("notes", Value::Null)?;
                Ok(RowChange::Write(row))
            })
            .map(drop)
        })
        .build()
        .await
        .expect("build with the step");
    let chores = ctx.table::<ChoreWithoutNotes>().await.expect("open with version 2 after the step");
    let rows = sync(&ctx, &chores, &s, "Chore").await;
    assert_eq!(field(&rows, "c2", "text"), Some(&json!("mop floor")));
    assert_eq!(field(&rows, "c4", "text"), Some(&json!("wash")));
    assert!(is_deleted(&rows, "c3"));
    assert_eq!(field(&rows, "c1", "notes"), Some(&json!("kitchen")), "the server keeps the notes it had");
}

/// An older app on a newer file: the extra column is retained, survives the old app's update
/// of the row, and the newer app finds it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_older_version_opens_a_newer_file_and_keeps_its_extra_columns() {
    let columns = json!({"text": "string", "notes": "string", "rank": "number", "priority": "number"});
    let s = server("Chore", columns, &server_chores(|i| json!({"priority": 5 + i}))).await;
    let dir = tempfile::tempdir().expect("dir");
    let store = open_copy(&dir).await;
    let ctx = context(&store, &s).await;
    let v2 = ctx.table::<ChoreWithPriority>().await.expect("version 2");
    sync(&ctx, &v2, &s, "Chore").await;

    let old = context(&store, &s).await;
    let v1 = old.table::<ChoreV1>().await.expect("version 1 on the version 2 file");
    let mut c1 = v1.get("c1").await.expect("get").expect("c1");
    c1.text = "sweep again".into();
    v1.update(&c1).await.expect("update with version 1");
    let rows = sync(&old, &v1, &s, "Chore").await;
    assert_eq!(field(&rows, "c1", "text"), Some(&json!("sweep again")));
    assert_eq!(field(&rows, "c1", "priority"), Some(&json!(5)), "the older app's push leaves the server's column");

    let new = context(&store, &s).await;
    let v2 = new.table::<ChoreWithPriority>().await.expect("version 2 again");
    let c1 = v2.get("c1").await.expect("get").expect("c1");
    assert_eq!((c1.text.as_str(), c1.priority), ("sweep again", 5), "the retained value survived the update");
}

/// Makes `tests/fixtures/chore-v1.db` with version 1 of the app against the Node server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "regenerates tests/fixtures/chore-v1.db: run with --ignored regenerate_fixture"]
async fn regenerate_fixture() {
    let s = server("Chore", v1_columns(), &server_chores(|_| json!({}))).await;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("chore-v1.db");
    let store = Arc::new(DieselStore::open(&path).await.expect("open"));
    {
        let ctx =
            SyncContext::builder(Arc::clone(&store) as Arc<dyn Store>).remote(s.remote()).build().await.expect("build");
        let chores = ctx.table::<ChoreV1>().await.expect("table");
        chores.pull(&Query::new(), PullOptions::incremental("all")).await.expect("pull");
        let new = ChoreV1 {
            id: "c4".into(),
            text: "wash".into(),
            notes: Some("car".into()),
            rank: 4,
            updated_at: None,
            version: None,
        };
        chores.insert(new).await.expect("insert c4");
        let mut c2 = chores.get("c2").await.expect("get").expect("c2 was pulled");
        c2.text = "mop floor".into();
        c2.notes = Some("hall".into());
        chores.update(&c2).await.expect("update c2");
        chores.delete("c3").await.expect("delete c3");
        assert_eq!(ctx.pending_count().await.expect("pending"), 3);
    }
    let store = Arc::into_inner(store).expect("the only handle");
    store.close().await.expect("close");
    std::fs::create_dir_all(fixture().parent().expect("fixtures dir")).expect("fixtures dir");
    std::fs::copy(&path, fixture()).expect("write the fixture");
}
