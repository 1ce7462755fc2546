//! Scenarios: conflicts settled by each resolution, through a handler and through the errors
//! table after a restart.

use serde_json::json;

use super::{item, marker, new_id, server_rows, test_options, view, Device, ScenarioFactory};
use crate::{ClientWins, Conflict, ConflictHandler, DeferConflicts, FailureKind, Record, Resolution, ServerWins};

/// Device A and B share an item; A changes `n` to 1 and pushes; B, still holding the old
/// version, changes `n` to 2. Returns B with its update queued (it conflicts when pushed).
async fn conflicting_edit<F: ScenarioFactory>(f: &F, mark: &str, index: usize, b: &Device) -> String {
    let a = Device::simple(f).await;
    let id = new_id(mark, index);
    a.items.insert(item(&id, mark, 0.0)).await.unwrap();
    a.ctx.push().await.unwrap();
    b.pull(mark).await;
    let mut theirs = a.items.get(&id).await.unwrap().unwrap();
    theirs.set("n", json!(1.0)).unwrap();
    a.items.update(theirs).await.unwrap();
    a.ctx.push().await.unwrap();
    let mut mine = b.items.get(&id).await.unwrap().unwrap();
    mine.set("n", json!(2.0)).unwrap();
    b.items.update(mine).await.unwrap();
    id
}

async fn n_of(rows: &[Record], id: &str) -> Option<serde_json::Value> {
    rows.iter().find(|r| r.id() == id).and_then(|r| r.get("n").cloned())
}

async fn device_with<F: ScenarioFactory>(f: &F, handler: impl ConflictHandler + 'static) -> Device {
    Device::new(f.store().await, f.remote().await, handler, test_options()).await
}

/// `ServerWins`: the local change is dropped and the server's item stored.
pub async fn conflict_keep_server_via_handler<F: ScenarioFactory>(f: &F) {
    let mark = marker("keepserver");
    let b = device_with(f, ServerWins).await;
    let id = conflicting_edit(f, &mark, 1, &b).await;
    let summary = b.ctx.push().await.unwrap();
    assert_eq!(summary.resolved, 1);
    assert_eq!(b.items.get(&id).await.unwrap().unwrap().get("n"), Some(&json!(1.0)));
    assert_eq!(b.ctx.pending_count().await.unwrap(), 0);
    let server = server_rows(f.remote().await.as_ref(), &mark).await;
    assert_eq!(view(&b.rows(&mark).await), view(&server));
}

/// `ClientWins`: the local change is re-sent over the server's version.
pub async fn conflict_keep_local_via_handler<F: ScenarioFactory>(f: &F) {
    let mark = marker("keeplocal");
    let b = device_with(f, ClientWins).await;
    let id = conflicting_edit(f, &mark, 1, &b).await;
    let summary = b.ctx.push().await.unwrap();
    assert_eq!(summary.resolved, 1);
    let server = server_rows(f.remote().await.as_ref(), &mark).await;
    assert_eq!(n_of(&server, &id).await, Some(json!(2.0)));
    assert_eq!(view(&b.rows(&mark).await), view(&server));
    assert!(b.ctx.errors().await.unwrap().is_empty());
}

#[derive(Debug)]
struct SumMerge;
impl ConflictHandler for SumMerge {
    fn resolve(&self, c: &Conflict) -> Resolution {
        let (Some(local), Some(server)) = (&c.local_item, &c.server_item) else { return Resolution::Defer };
        let sum = local.get("n").and_then(|v| v.as_f64()).unwrap_or(0.0)
            + server.get("n").and_then(|v| v.as_f64()).unwrap_or(0.0);
        let mut merged = local.clone();
        let _ = merged.set("n", json!(sum));
        Resolution::Merge(merged)
    }
}

/// `Merge`: the merged item is stored and sent.
pub async fn conflict_merge_via_handler<F: ScenarioFactory>(f: &F) {
    let mark = marker("merge");
    let b = device_with(f, SumMerge).await;
    let id = conflicting_edit(f, &mark, 1, &b).await;
    b.ctx.push().await.unwrap();
    let server = server_rows(f.remote().await.as_ref(), &mark).await;
    assert_eq!(n_of(&server, &id).await, Some(json!(3.0)));
    assert_eq!(view(&b.rows(&mark).await), view(&server));
}

#[derive(Debug)]
struct AlwaysDiscard;
impl ConflictHandler for AlwaysDiscard {
    fn resolve(&self, _: &Conflict) -> Resolution {
        Resolution::Discard
    }
}

/// `Discard`: the operation and the local change are dropped; the device keeps the server's
/// item, so it equals the server without waiting for the item to change again.
pub async fn conflict_discard_via_handler<F: ScenarioFactory>(f: &F) {
    let mark = marker("discard");
    let b = device_with(f, AlwaysDiscard).await;
    let id = conflicting_edit(f, &mark, 1, &b).await;
    b.ctx.push().await.unwrap();
    assert_eq!(b.ctx.pending_count().await.unwrap(), 0);
    let server = server_rows(f.remote().await.as_ref(), &mark).await;
    assert_eq!(n_of(&server, &id).await, Some(json!(1.0)));
    assert_eq!(view(&b.rows(&mark).await), view(&server), "the local change is gone; the server's item is kept");
    b.pull(&mark).await;
    assert_eq!(view(&b.rows(&mark).await), view(&server));
}

/// The default handler defers: the conflict waits in the errors table, survives a restart, and
/// each resolution applied from there settles it at the next push.
pub async fn conflict_deferred_then_resolved_after_restart<F: ScenarioFactory>(f: &F) {
    let mark = marker("deferred");
    let b = device_with(f, DeferConflicts).await;
    let ids: Vec<String> = {
        let mut ids = Vec::new();
        for i in 0..4 {
            ids.push(conflicting_edit(f, &mark, i, &b).await);
        }
        ids
    };
    // Each pull above pushed first, so three conflicts were deferred already: they wait for a
    // decision and are not sent again; the last edit conflicts now.
    let summary = b.ctx.push().await.unwrap();
    assert_eq!((summary.total, summary.failed), (1, 1), "{summary:?}");
    assert_eq!(b.ctx.errors().await.unwrap().len(), 4);
    let store = b.store.clone();
    drop(b);

    // Restart: a new context over the same store sees the errors.
    let b = Device::new(store, f.remote().await, DeferConflicts, test_options()).await;
    let errors = b.ctx.errors().await.unwrap();
    assert_eq!(errors.len(), 4);
    for e in &errors {
        assert_eq!(e.failure, FailureKind::Conflict);
        assert_eq!(e.server_item.as_ref().and_then(|s| s.get("n").cloned()), Some(json!(1.0)));
        assert_eq!(e.item.as_ref().and_then(|s| s.get("n").cloned()), Some(json!(2.0)));
    }
    let op_of = |id: &str| errors.iter().find(|e| e.item_id == id).unwrap().operation_id;
    let mut merged = b.items.get(&ids[2]).await.unwrap().unwrap();
    merged.set("n", json!(7.0)).unwrap();
    b.ctx.resolve(op_of(&ids[0]), Resolution::KeepServer).await.unwrap();
    b.ctx.resolve(op_of(&ids[1]), Resolution::KeepLocal).await.unwrap();
    b.ctx.resolve(op_of(&ids[2]), Resolution::Merge(merged)).await.unwrap();
    b.ctx.resolve(op_of(&ids[3]), Resolution::Discard).await.unwrap();
    assert!(b.ctx.errors().await.unwrap().is_empty());
    assert!(matches!(
        b.ctx.resolve(op_of(&ids[0]), Resolution::KeepServer).await,
        Err(crate::SyncError::NoSuchError(_))
    ));
    b.ctx.push().await.unwrap();
    assert!(b.ctx.errors().await.unwrap().is_empty());
    assert_eq!(b.ctx.pending_count().await.unwrap(), 0);
    let server = server_rows(f.remote().await.as_ref(), &mark).await;
    assert_eq!(n_of(&server, &ids[0]).await, Some(json!(1.0)));
    assert_eq!(n_of(&server, &ids[1]).await, Some(json!(2.0)));
    assert_eq!(n_of(&server, &ids[2]).await, Some(json!(7.0)));
    assert_eq!(n_of(&server, &ids[3]).await, Some(json!(1.0)));
    let discarded = b.items.get(&ids[3]).await.unwrap().and_then(|r| r.get("n").cloned());
    assert_eq!(discarded, Some(json!(1.0)), "a discarded change leaves the server's item");
    b.pull(&mark).await;
    assert_eq!(view(&b.rows(&mark).await), view(&server));
}

/// A delete over a stale version conflicts too: keep-local deletes on the server, keep-server
/// brings the item back.
pub async fn delete_conflict_resolutions<F: ScenarioFactory>(f: &F) {
    let mark = marker("delconflict");
    let b = device_with(f, ClientWins).await;
    let gone = conflicting_edit(f, &mark, 1, &b).await;
    b.items.delete(&gone).await.unwrap();
    b.ctx.push().await.unwrap();
    assert!(server_rows(f.remote().await.as_ref(), &mark).await.iter().all(|r| r.id() != gone));

    let c = device_with(f, ServerWins).await;
    let back = conflicting_edit(f, &mark, 2, &c).await;
    c.items.delete(&back).await.unwrap();
    c.ctx.push().await.unwrap();
    assert_eq!(c.items.get(&back).await.unwrap().and_then(|r| r.get("n").cloned()), Some(json!(1.0)));
    assert_eq!(c.ctx.pending_count().await.unwrap(), 0);
}
