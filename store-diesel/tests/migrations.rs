//! Migration steps on a database file: the schema version lives in the file, so a step runs once
//! per file across restarts, and a failed step leaves the file as it was.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::json;
use store_diesel::DieselStore;
use sync_core::{RowChange, SyncContext, SyncEntity, SyncError};

#[derive(SyncEntity, Debug, Clone, PartialEq)]
#[sync(table = "Note")]
struct Note {
    id: String,
    text: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_runs_once_per_file_across_restarts() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("app.db");
    let ctx = SyncContext::builder(DieselStore::open(&path).await.expect("open")).build().await.expect("build");
    let notes = ctx.table::<Note>().await.expect("table");
    notes.insert(Note { id: "1".into(), text: "milk".into() }).await.expect("insert");
    drop((notes, ctx));

    let runs = Arc::new(AtomicUsize::new(0));
    for attempt in 0..3 {
        let n = Arc::clone(&runs);
        let fail = attempt == 0;
        let built = SyncContext::builder(DieselStore::open(&path).await.expect("reopen"))
            .migration(1, move |m| {
                n.fetch_add(1, Ordering::SeqCst);
                m.update_rows("Note", |mut row| {
                    let text = row.get("text").and_then(|v| v.as_str()).unwrap_or_default().to_uppercase();
                    row.set("text", json!(text))?;
                    Ok(RowChange::Write(row))
                })?;
                if fail {
                    return Err(sync_core::error::StoreError::Backend { message: "power cut".into(), source: None });
                }
                Ok(())
            })
            .build()
            .await;
        let ctx = match (attempt, built) {
            (0, Err(SyncError::Migration { version: 1, .. })) => continue,
            (0, other) => panic!("the first attempt fails: {other:?}"),
            (_, built) => built.expect("build after the failed attempt"),
        };
        let note = ctx.table::<Note>().await.expect("table").get("1").await.expect("get").expect("row");
        assert_eq!(note.text, "MILK", "upper-cased once, never twice (attempt {attempt})");
    }
    assert_eq!(runs.load(Ordering::SeqCst), 2, "the failed attempt and one successful run");
}
