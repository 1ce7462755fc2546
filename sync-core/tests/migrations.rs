//! Explicit migration steps (`SyncContextBuilder::migration`) and the entity's declarations
//! working together, on the in-memory pair: each step runs once per store, in order, in one
//! transaction; a failing step leaves nothing behind; steps fix what declarations refuse.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::json;
use store_memory::{MemoryRemote, MemoryStore};
use sync_core::error::StoreError;
use sync_core::{Column, ColumnType, Query, Record, RowChange, SyncContext, SyncEntity, SyncError, TableSchema};

#[derive(SyncEntity, Debug, Clone, PartialEq)]
#[sync(table = "Note")]
struct NoteV1 {
    id: String,
    text: String,
    tag: Option<String>,
}

#[derive(SyncEntity, Debug, Clone, PartialEq)]
#[sync(table = "Note")]
struct NoteV2 {
    id: String,
    text: String,
}

fn counter() -> (Arc<AtomicUsize>, impl Fn() -> usize) {
    let n = Arc::new(AtomicUsize::new(0));
    let read = Arc::clone(&n);
    (n, move || read.load(Ordering::SeqCst))
}

#[tokio::test]
async fn each_step_runs_once_per_store_in_version_order() {
    let store = MemoryStore::new();
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let build = |store: MemoryStore| {
        let (a, b) = (Arc::clone(&order), Arc::clone(&order));
        // Registered out of order: they run by version.
        SyncContext::builder(store)
            .migration(7, move |_| {
                a.lock().unwrap().push(7);
                Ok(())
            })
            .migration(3, move |_| {
                b.lock().unwrap().push(3);
                Ok(())
            })
            .build()
    };
    build(store.clone()).await.unwrap();
    build(store.clone()).await.unwrap();
    assert_eq!(*order.lock().unwrap(), [3, 7], "each step once, lowest version first");
    let version = sync_core::backend::StoreExt::transact(&store, |tx| tx.config("schemaVersion")).await.unwrap();
    assert_eq!(version.as_deref(), Some("7"), "the store keeps the last version run");

    // A newer app adds step 9: only it runs.
    let (n, ran) = counter();
    SyncContext::builder(store.clone())
        .migration(3, |_| panic!("step 3 ran again"))
        .migration(9, move |_| {
            n.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
        .build()
        .await
        .unwrap();
    assert_eq!(ran(), 1);
}

#[tokio::test]
async fn a_failing_step_keeps_nothing_and_runs_again() {
    let store = MemoryStore::new();
    let ctx = SyncContext::builder(store.clone()).build().await.unwrap();
    let notes = ctx.table::<NoteV1>().await.unwrap();
    notes.insert(NoteV1 { id: "1".into(), text: "a".into(), tag: None }).await.unwrap();

    let failing = SyncContext::builder(store.clone())
        .migration(1, |m| {
            m.update_rows("Note", |mut row| {
                row.set("text", json!("rewritten"))?;
                Ok(RowChange::Write(row))
            })?;
            Err(StoreError::Backend { message: "half-way".into(), source: None })
        })
        .build()
        .await;
    match failing {
        Err(e @ SyncError::Migration { version: 1, .. }) => assert!(e.to_string().contains("half-way"), "{e}"),
        other => panic!("expected SyncError::Migration, got {other:?}"),
    }
    let row = ctx.table::<NoteV1>().await.unwrap().get("1").await.unwrap().unwrap();
    assert_eq!(row.text, "a", "the failed step's writes were rolled back");

    let (n, ran) = counter();
    SyncContext::builder(store)
        .migration(1, move |m| {
            n.fetch_add(1, Ordering::SeqCst);
            m.update_rows("Note", |mut row| {
                row.set("text", json!("rewritten"))?;
                Ok(RowChange::Write(row))
            })
            .map(drop)
        })
        .build()
        .await
        .unwrap();
    assert_eq!(ran(), 1, "the step runs again after a failure");
    let row = ctx.table::<NoteV1>().await.unwrap().get("1").await.unwrap().unwrap();
    assert_eq!(row.text, "rewritten");
}

#[tokio::test]
async fn two_steps_with_one_version_are_refused() {
    let built =
        SyncContext::builder(MemoryStore::new()).migration(1, |_| Ok(())).migration(1, |_| Ok(())).build().await;
    assert!(matches!(built, Err(SyncError::DuplicateMigration(1))), "{built:?}");
}

/// Version 2 of the app drops the `tag` field while a change to it is unpushed: the declaration
/// alone refuses (the value would never be pushed); a step that clears the tags of rows with
/// queued changes makes the decision explicit, and the rest syncs.
#[tokio::test]
async fn a_step_decides_what_a_removed_column_refuses() {
    let store = MemoryStore::new();
    let remote = MemoryRemote::new();
    let v1 = SyncContext::builder(store.clone()).remote(remote.clone()).build().await.unwrap();
    let notes = v1.table::<NoteV1>().await.unwrap();
    notes.insert(NoteV1 { id: "1".into(), text: "a".into(), tag: Some("work".into()) }).await.unwrap();

    let v2 = SyncContext::builder(store.clone()).remote(remote.clone()).build().await.unwrap();
    match v2.table::<NoteV2>().await {
        Err(SyncError::Store(StoreError::IncompatibleSchema { table, message })) => {
            assert_eq!(table, "Note");
            assert!(message.contains("\"tag\"") && message.contains("Migration::update_rows"), "{message}");
        }
        other => panic!("expected IncompatibleSchema, got {other:?}"),
    }

    let v2 = SyncContext::builder(store.clone())
        .remote(remote.clone())
        .migration(1, |m| {
            m.update_rows("Note", |mut row| {
                row.set("tag", serde_json::Value::Null)?;
                Ok(RowChange::Write(row))
            })
            .map(drop)
        })
        .build()
        .await
        .unwrap();
    let notes = v2.table::<NoteV2>().await.unwrap();
    let summary = v2.push().await.unwrap();
    assert_eq!(summary.succeeded, 1, "the insert is pushed without the tag: {summary:?}");
    assert_eq!(remote.row("Note", "1").and_then(|r| r.get("text").cloned()), Some(json!("a")));
    assert_eq!(notes.query(&Query::new()).await.unwrap().len(), 1);
}

/// A table the app no longer has: its queued operations would make every push fail; a step
/// moves them to the table that replaces it (or drops them), and nothing is left behind.
#[tokio::test]
async fn a_step_moves_or_drops_the_operations_of_a_table_that_is_gone() {
    let store = MemoryStore::new();
    let remote = MemoryRemote::new();
    let v1 = SyncContext::builder(store.clone()).remote(remote.clone()).build().await.unwrap();
    let draft = TableSchema::new("Draft", vec![Column::new("text", ColumnType::String)]).unwrap();
    let drafts = v1.json_table(draft).await.unwrap();
    drafts.insert(Record::from_json(json!({"id": "d1", "text": "draft"})).unwrap()).await.unwrap();
    let notes = v1.table::<NoteV1>().await.unwrap();
    notes.insert(NoteV1 { id: "1".into(), text: "a".into(), tag: None }).await.unwrap();

    let v2 = SyncContext::builder(store.clone())
        .remote(remote.clone())
        .migration(1, |m| {
            let dropped = m.drop_operations("Draft")?;
            assert_eq!(dropped, 1);
            Ok(())
        })
        .build()
        .await
        .unwrap();
    v2.table::<NoteV1>().await.unwrap();
    assert_eq!(v2.pending_count().await.unwrap(), 1, "only the note is left to push");
    assert_eq!(v2.push().await.unwrap().succeeded, 1);
    assert!(remote.row("Draft", "d1").is_none(), "the dropped draft was never pushed");
}

#[derive(SyncEntity, Debug, Clone, PartialEq)]
#[sync(table = "Note")]
struct NoteWithStars {
    id: String,
    text: String,
    tag: Option<String>,
    #[sync(default = 0)]
    stars: i32,
}

/// A server where another, upgraded device gave note "1" five stars, and a store where version 1
/// of the app (no stars) pulled it and queued an edit of its text.
async fn an_update_queued_by_v1_over_five_stars() -> (MemoryRemote, MemoryStore) {
    let remote = MemoryRemote::new();
    let other = SyncContext::builder(MemoryStore::new()).remote(remote.clone()).build().await.unwrap();
    let theirs = other.table::<NoteWithStars>().await.unwrap();
    theirs.insert(NoteWithStars { id: "1".into(), text: "a".into(), tag: None, stars: 5 }).await.unwrap();
    other.push().await.unwrap();

    let store = MemoryStore::new();
    let v1 = SyncContext::builder(store.clone()).remote(remote.clone()).build().await.unwrap();
    let notes = v1.table::<NoteV1>().await.unwrap();
    notes.pull(&Query::new(), sync_core::PullOptions::incremental("all")).await.unwrap();
    notes.update(&NoteV1 { id: "1".into(), text: "edited by v1".into(), tag: None }).await.unwrap();
    (remote, store)
}

/// An update queued by the older version pushes only the columns it knew, so the server keeps
/// the new column's value another device set; once the item is edited again, everything goes.
#[tokio::test]
async fn an_update_queued_before_a_new_column_leaves_the_servers_value() {
    let (remote, store) = an_update_queued_by_v1_over_five_stars().await;

    let v2 = SyncContext::builder(store.clone()).remote(remote.clone()).build().await.unwrap();
    let notes = v2.table::<NoteWithStars>().await.unwrap();
    assert_eq!(notes.get("1").await.unwrap().unwrap().stars, 0, "the device has only the default");
    v2.push().await.unwrap();
    let server = remote.row("Note", "1").unwrap();
    assert_eq!(server.get("text"), Some(&json!("edited by v1")), "the queued edit reached the server");
    assert_eq!(server.get("stars"), Some(&json!(5)), "the server kept the value the device did not know");
    assert_eq!(notes.get("1").await.unwrap().unwrap().stars, 5, "the answer brought it to the device");

    // An edit made with the new version sends every column.
    notes.update(&NoteWithStars { id: "1".into(), text: "v2".into(), tag: None, stars: 1 }).await.unwrap();
    v2.push().await.unwrap();
    assert_eq!(remote.row("Note", "1").unwrap().get("stars"), Some(&json!(1)));

    // An update queued before the upgrade and edited after it sends every column too.
    let store = MemoryStore::new();
    let v1 = SyncContext::builder(store.clone()).remote(remote.clone()).build().await.unwrap();
    let old = v1.table::<NoteV1>().await.unwrap();
    old.pull(&Query::new(), sync_core::PullOptions::incremental("all")).await.unwrap();
    old.update(&NoteV1 { id: "1".into(), text: "v1 again".into(), tag: None }).await.unwrap();
    let v2 = SyncContext::builder(store).remote(remote.clone()).build().await.unwrap();
    let notes = v2.table::<NoteWithStars>().await.unwrap();
    notes.update(&NoteWithStars { id: "1".into(), text: "v2 again".into(), tag: None, stars: 3 }).await.unwrap();
    v2.push().await.unwrap();
    assert_eq!(remote.row("Note", "1").unwrap().get("stars"), Some(&json!(3)), "the newer edit owns the column");
}

/// An update queued by the older version whose answer was lost is recognised as the device's
/// own write when it is sent again: the server's value of the column it did not know is no sign
/// of another writer, so no conflict reaches the user.
#[tokio::test]
async fn a_lost_answer_to_an_update_queued_before_a_new_column_is_not_a_conflict() {
    let (remote, store) = an_update_queued_by_v1_over_five_stars().await;

    let options = sync_core::SyncOptions::default().retry(sync_core::RetryPolicy::none());
    let v2 = SyncContext::builder(store.clone()).remote(remote.clone()).options(options).build().await.unwrap();
    let notes = v2.table::<NoteWithStars>().await.unwrap();
    remote.fail_after_apply_next(1);
    assert!(v2.push().await.is_err(), "the answer is lost");
    assert_eq!(remote.row("Note", "1").unwrap().get("text"), Some(&json!("edited by v1")), "but the server applied it");
    let again = v2.push().await.unwrap();
    assert_eq!(v2.pending_count().await.unwrap(), 0, "the resend is the device's own write: {again:?}");
    assert!(v2.errors().await.unwrap().is_empty(), "no conflict waits");
    let server = remote.row("Note", "1").unwrap();
    assert_eq!(server.get("stars"), Some(&json!(5)), "the other device's value stays");
    assert_eq!(notes.get("1").await.unwrap().unwrap().text, "edited by v1");
}
