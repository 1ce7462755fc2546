//! Scenarios of the never-lose promise: edits from another context while a push is on the wire,
//! deletes of claimed items, progress totals, resolutions after a skipped pull, answers that went
//! missing, and answers about the wrong item.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use super::wrappers::{Fault, FlakyRemote, RecordingRemote};
use super::{item, marker, new_id, server_rows, test_options, view, Device, ScenarioFactory};
use crate::{DeferConflicts, FailureKind, Resolution, RetryPolicy, SyncEvent, SyncOptions};

/// How long each request of the slow remote takes: long enough to act while it is on the wire.
const SLOW: Duration = Duration::from_millis(250);

fn no_retry() -> SyncOptions {
    SyncOptions { retry: RetryPolicy::none(), ..test_options() }
}

/// Device A's edit (`n` = 2) of a synced item is on the wire through a slow server, and a second
/// context is built on A's store meanwhile (as a second process opens the file). Returns the
/// item's id, the second context and A's push.
async fn edit_on_the_wire_and_a_second_context<F: ScenarioFactory>(
    f: &F,
    mark: &str,
) -> (String, Device, tokio::task::JoinHandle<Result<crate::PushSummary, crate::SyncError>>) {
    let slow = Arc::new(RecordingRemote::new(f.remote().await, SLOW));
    let a = Device::new(f.store().await, slow, DeferConflicts, test_options()).await;
    let id = new_id(mark, 1);
    a.items.insert(item(&id, mark, 1.0)).await.unwrap();
    a.ctx.push().await.unwrap();
    let mut v2 = a.items.get(&id).await.unwrap().unwrap();
    v2.set("n", json!(2.0)).unwrap();
    a.items.update(v2).await.unwrap();
    let ctx = a.ctx.clone();
    let pushing = tokio::spawn(async move { ctx.push().await });
    tokio::time::sleep(SLOW / 3).await;
    let b = Device::new(Arc::clone(&a.store), f.remote().await, DeferConflicts, test_options()).await;
    (id, b, pushing)
}

/// Device A pushes an edit through a slow server; meanwhile a second context is built on the
/// same store (as a second process would open the file) and edits the item again. The newer
/// edit queues behind the one on the wire, survives its answer, and reaches the server.
pub async fn edit_from_another_context_during_a_push_is_kept<F: ScenarioFactory>(f: &F) {
    let mark = marker("ctxedit");
    let (id, b, pushing) = edit_on_the_wire_and_a_second_context(f, &mark).await;
    let mut v3 = b.items.get(&id).await.unwrap().unwrap();
    v3.set("n", json!(3.0)).unwrap();
    b.items.update(v3).await.unwrap();
    pushing.await.unwrap().unwrap();

    let local = b.items.get(&id).await.unwrap().unwrap();
    assert_eq!(local.get("n"), Some(&json!(3.0)), "the answer to v2 overwrote the newer local edit");
    b.ctx.push().await.unwrap();
    let server = server_rows(f.remote().await.as_ref(), &mark).await;
    assert_eq!(server[0].get("n"), Some(&json!(3.0)), "the newer edit reached the server");
    assert!(b.ctx.errors().await.unwrap().is_empty(), "no conflict that nobody caused");
    assert_eq!(view(&b.rows(&mark).await), view(&server));
}

/// Like the edit, a delete from a second context during a push reaches the server.
pub async fn delete_from_another_context_during_a_push_reaches_the_server<F: ScenarioFactory>(f: &F) {
    let mark = marker("ctxdel");
    let (id, b, pushing) = edit_on_the_wire_and_a_second_context(f, &mark).await;
    b.items.delete(&id).await.unwrap();
    pushing.await.unwrap().unwrap();
    assert_eq!(b.items.get(&id).await.unwrap(), None, "the answer to the update brought the deleted item back");
    b.ctx.push().await.unwrap();
    assert!(server_rows(f.remote().await.as_ref(), &mark).await.is_empty(), "the delete reached the server");
    assert_eq!(b.ctx.pending_count().await.unwrap(), 0);
    assert!(b.ctx.errors().await.unwrap().is_empty());
}

/// An item deleted after its operation was claimed, but before it was sent: the delete reaches
/// the server and nothing is left for the user to decide.
pub async fn delete_of_a_claimed_item_leaves_nothing_to_decide<F: ScenarioFactory>(f: &F) {
    let mark = marker("claimdel");
    let slow = Arc::new(RecordingRemote::new(f.remote().await, SLOW));
    let d = Device::new(f.store().await, slow, DeferConflicts, test_options()).await;
    let (first, second) = (new_id(&mark, 1), new_id(&mark, 2));
    d.items.insert(item(&first, &mark, 1.0)).await.unwrap();
    d.items.insert(item(&second, &mark, 2.0)).await.unwrap();
    let ctx = d.ctx.clone();
    // One request at a time: the second insert is claimed with the first, and waits.
    let pushing = tokio::spawn(async move { ctx.push().await });
    tokio::time::sleep(SLOW / 3).await;
    d.items.delete(&second).await.unwrap();
    pushing.await.unwrap().unwrap();
    d.ctx.push().await.unwrap();
    assert!(d.ctx.errors().await.unwrap().is_empty(), "a stuck error was left: {:?}", d.ctx.errors().await);
    assert_eq!(d.ctx.pending_count().await.unwrap(), 0);
    let server = server_rows(f.remote().await.as_ref(), &mark).await;
    assert_eq!(server.iter().map(|r| r.id().to_owned()).collect::<Vec<_>>(), vec![first]);
    assert_eq!(view(&d.rows(&mark).await), view(&server));
}

/// Operations queued while a push runs wait for the next push: a push's counts never pass the
/// total it announced.
pub async fn push_counts_never_pass_their_total<F: ScenarioFactory>(f: &F) {
    let mark = marker("total");
    let slow = Arc::new(RecordingRemote::new(f.remote().await, Duration::from_millis(60)));
    let d = Device::new(f.store().await, slow, DeferConflicts, test_options()).await;
    let events: Arc<Mutex<Vec<SyncEvent>>> = Arc::default();
    let sink = Arc::clone(&events);
    d.ctx.subscribe(move |e| sink.lock().unwrap().push(e.clone()));
    for i in 0..3 {
        d.items.insert(item(&new_id(&mark, i), &mark, 0.0)).await.unwrap();
    }
    let ctx = d.ctx.clone();
    let pushing = tokio::spawn(async move { ctx.push().await });
    for i in 3..6 {
        tokio::time::sleep(Duration::from_millis(30)).await;
        d.items.insert(item(&new_id(&mark, i), &mark, 0.0)).await.unwrap();
    }
    let summary = pushing.await.unwrap().unwrap();
    // The total is what was queued when the push started (at least the first three; on a slow
    // machine the push may start after some of the later inserts).
    assert!((3..=6).contains(&summary.total), "{summary:?}");
    assert_eq!(summary.succeeded + summary.resolved + summary.failed, summary.total, "{summary:?}");
    for e in events.lock().unwrap().iter() {
        if let SyncEvent::ItemPushed { done, total, .. } = e {
            assert!(done <= total, "progress {done}/{total} passed its total");
        }
    }
    let left = 6 - summary.total;
    assert_eq!(d.ctx.pending_count().await.unwrap(), left, "the later inserts wait for the next push");
    assert_eq!(d.ctx.push().await.unwrap().succeeded, left);
}

/// With push-before-pull off: a deferred conflict, another device edits the item again, a pull
/// skips the row (its operation is pending) and moves on; resolving with keep-server then takes
/// the server's **current** item, not the old copy recorded with the error.
pub async fn keep_server_after_a_skipped_pull_takes_the_current_item<F: ScenarioFactory>(f: &F) {
    let mark = marker("stale");
    let options = SyncOptions { push_before_pull: false, ..test_options() };
    let a = Device::new(f.store().await, f.remote().await, DeferConflicts, options.clone()).await;
    let b = Device::new(f.store().await, f.remote().await, DeferConflicts, options).await;
    let id = new_id(&mark, 1);
    a.items.insert(item(&id, &mark, 1.0)).await.unwrap();
    a.ctx.push().await.unwrap();
    b.pull(&mark).await;
    let edit = |d: &Device, n: f64| {
        let (items, id) = (d.items.clone(), id.clone());
        async move {
            let mut r = items.get(&id).await.unwrap().unwrap();
            r.set("n", json!(n)).unwrap();
            items.update(r).await.unwrap();
        }
    };
    edit(&a, 2.0).await;
    a.ctx.push().await.unwrap();
    edit(&b, 20.0).await;
    assert_eq!(b.ctx.push().await.unwrap().failed, 1, "b's edit conflicts and is deferred");
    edit(&a, 3.0).await;
    a.ctx.push().await.unwrap();
    b.pull(&mark).await;
    let error = b.ctx.errors().await.unwrap().pop().unwrap();
    b.ctx.resolve(error.operation_id, Resolution::KeepServer).await.unwrap();
    let server = server_rows(f.remote().await.as_ref(), &mark).await;
    assert_eq!(server[0].get("n"), Some(&json!(3.0)));
    assert_eq!(view(&b.rows(&mark).await), view(&server), "keep-server left a stale copy");
    b.pull(&mark).await;
    assert_eq!(view(&b.rows(&mark).await), view(&server));
}

/// The server applied an insert (and, later, an update) but the answers were lost; the user then
/// edited the item. The next push recognises the server's item as the device's own earlier
/// write and sends the edit over its version: no conflict reaches the user.
pub async fn edit_after_a_lost_answer_is_not_a_conflict<F: ScenarioFactory>(f: &F) {
    let mark = marker("lostedit");
    let flaky = Arc::new(FlakyRemote::new(f.remote().await));
    let d = Device::new(f.store().await, flaky.clone(), DeferConflicts, no_retry()).await;
    let id = new_id(&mark, 1);
    let set_n = |n: f64| {
        let (items, id) = (d.items.clone(), id.clone());
        async move {
            let mut r = items.get(&id).await.unwrap().unwrap();
            r.set("n", json!(n)).unwrap();
            items.update(r).await.unwrap();
        }
    };
    d.items.insert(item(&id, &mark, 1.0)).await.unwrap();
    flaky.fail_writes([Fault::LostResponse]);
    assert!(d.ctx.push().await.unwrap_err().is_offline());
    set_n(2.0).await;
    let summary = d.ctx.push().await.unwrap();
    assert_eq!((summary.succeeded, summary.failed), (1, 0), "the insert's 409 was taken for a conflict");

    set_n(3.0).await;
    flaky.fail_writes([Fault::LostResponse]);
    assert!(d.ctx.push().await.unwrap_err().is_offline());
    set_n(4.0).await;
    let summary = d.ctx.push().await.unwrap();
    assert_eq!((summary.succeeded, summary.failed), (1, 0), "the update's 412 was taken for a conflict");
    assert!(d.ctx.errors().await.unwrap().is_empty());
    let server = server_rows(f.remote().await.as_ref(), &mark).await;
    assert_eq!(server[0].get("n"), Some(&json!(4.0)), "the server ends with the newest edit");
    assert_eq!(view(&d.rows(&mark).await), view(&server));
}

/// A server that answers an insert with another item's id: the answer is a protocol failure,
/// and the other item's unsynced local edit is untouched (and reaches the server).
pub async fn an_answer_about_another_item_is_not_stored<F: ScenarioFactory>(f: &F) {
    let mark = marker("foreign");
    let flaky = Arc::new(FlakyRemote::new(f.remote().await));
    let d = Device::new(f.store().await, flaky.clone(), DeferConflicts, no_retry()).await;
    let (victim, sent) = (new_id(&mark, 1), new_id(&mark, 2));
    d.items.insert(item(&victim, &mark, 1.0)).await.unwrap();
    d.ctx.push().await.unwrap();
    // Queued in this order: the insert (answered about the victim), then the victim's edit.
    d.items.insert(item(&sent, &mark, 2.0)).await.unwrap();
    let mut edited = d.items.get(&victim).await.unwrap().unwrap();
    edited.set("n", json!(42.0)).unwrap();
    d.items.update(edited).await.unwrap();
    flaky.fail_writes([Fault::AnswerWithId(victim.clone())]);
    d.ctx.push().await.unwrap();
    let local = d.items.get(&victim).await.unwrap().unwrap();
    assert_eq!(local.get("n"), Some(&json!(42.0)), "the foreign answer overwrote another item");
    let errors = d.ctx.errors().await.unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!((errors[0].item_id.as_str(), errors[0].failure), (sent.as_str(), FailureKind::Protocol));
    let server = server_rows(f.remote().await.as_ref(), &mark).await;
    let on_server = server.iter().find(|r| r.id() == victim).unwrap();
    assert_eq!(on_server.get("n"), Some(&json!(42.0)), "the victim's edit reached the server");
}
