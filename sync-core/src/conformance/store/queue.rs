//! Cases about local changes: every row of the collapse table (`docs/architecture.md`) run through
//! [`apply_local_change`], in-flight operations, and the atomicity of a local change.

use serde_json::json;

use super::records::error_row;
use super::support::{
    all_ops, conformed, errors, fresh, get, item_ops, local, local_ok, ok, pull, server_todo, set_state, snapshot,
    todo, todo_schema,
};
use super::StoreFactory;
use crate::error::{CollapseError, StoreError};
use crate::operation::{OperationKind, OperationState};
use crate::queue::{apply_local_change, LocalChange};
use crate::record::Record;
use crate::store::StoreExt;

use LocalChange::{Delete, Insert, Update};
use OperationKind as K;

fn with_text(mut r: Record, text: &str) -> Record {
    ok(r.set("text", json!(text)), "building a fixture");
    r
}

/// With nothing queued for the item, each change queues its own operation: an insert (server
/// columns reset), an update (server columns kept), a delete (carrying the item as it was).
pub async fn local_change_without_queued_operation<F: StoreFactory>(factory: &F) {
    let schema = todo_schema();
    let store = fresh(factory, std::slice::from_ref(&schema)).await;
    let (s1, s2) = (server_todo("s1", "server", "v1"), server_todo("s2", "server", "v2"));
    pull(&store, "Todo", &[s1.clone(), s2.clone()]).await;

    let sneaky = conformed(
        &schema,
        json!({"id": "1", "text": "milk", "version": "forged", "deleted": true,
                                           "createdAt": "2020-01-01T00:00:00Z", "updatedAt": "2020-01-01T00:00:00Z"}),
    );
    let out = local_ok(&store, &schema, Insert(sneaky)).await;
    assert_eq!(
        get(&store, "Todo", "1").await,
        Some(todo("1", "milk")),
        "an insert stores the item with server columns reset"
    );
    assert_eq!(out.record, Some(todo("1", "milk")), "the outcome holds the stored item");
    let ins = out.operation.unwrap_or_else(|| panic!("an insert must queue an operation"));
    assert_eq!(
        (ins.kind, ins.table.as_str(), ins.item_id.as_str(), ins.state, ins.version, ins.item.clone()),
        (K::Insert, "Todo", "1", OperationState::Pending, 1, None),
        "the queued insert"
    );

    let edited = todo("s1", "local");
    let out = local_ok(&store, &schema, Update(edited)).await;
    let expected = with_text(s1.clone(), "local");
    assert_eq!(get(&store, "Todo", "s1").await, Some(expected.clone()), "an update keeps the stored server columns");
    assert_eq!(out.record, Some(expected), "the outcome holds the updated item");
    let upd = out.operation.unwrap_or_else(|| panic!("an update must queue an operation"));
    assert_eq!((upd.kind, upd.version, upd.item.clone()), (K::Update, 1, None), "the queued update");

    let out = local_ok(&store, &schema, Delete("s2".into())).await;
    assert_eq!(get(&store, "Todo", "s2").await, None, "a delete removes the item");
    assert_eq!(out.record, None, "a delete leaves no record");
    let del = out.operation.unwrap_or_else(|| panic!("a delete must queue an operation"));
    assert_eq!((del.kind, del.item.clone()), (K::Delete, Some(s2)), "a delete carries the item (and its version)");

    assert_eq!(
        all_ops(&store).await,
        vec![ins.clone(), upd.clone(), del.clone()],
        "the queue holds the three operations in order"
    );
    assert!(ins.id < upd.id && upd.id < del.id, "operation ids strictly increase");
}

/// insert + update → one insert (edit counter bumped, error row cleared), holding the latest item.
pub async fn collapse_insert_then_update_is_insert<F: StoreFactory>(factory: &F) {
    let schema = todo_schema();
    let store = fresh(factory, std::slice::from_ref(&schema)).await;
    let ins = local_ok(&store, &schema, Insert(todo("1", "milk"))).await.operation;
    let ins = ins.unwrap_or_else(|| panic!("the insert queued nothing"));
    let err = error_row(ins.id, "Todo", "1");
    ok(store.transact(move |tx| tx.put_error(&err)).await, "putting an error row");
    local_ok(&store, &schema, Update(todo("1", "oat milk"))).await;
    let out = local_ok(&store, &schema, Update(todo("1", "soy milk"))).await;
    let mut expected = ins.clone();
    expected.version = 3;
    assert_eq!(out.operation.as_ref(), Some(&expected), "insert+update keeps the insert with its counter bumped");
    assert_eq!(all_ops(&store).await, vec![expected], "insert+update leaves exactly one operation");
    assert_eq!(get(&store, "Todo", "1").await, Some(todo("1", "soy milk")), "the item holds the latest update");
    assert!(errors(&store, None).await.is_empty(), "collapsing into an operation clears its error row");
}

/// insert + delete of a never-sent insert → both vanish (and the error row with them); the id
/// can be inserted again.
pub async fn collapse_insert_then_delete_cancels_both<F: StoreFactory>(factory: &F) {
    let schema = todo_schema();
    let store = fresh(factory, std::slice::from_ref(&schema)).await;
    let first = local_ok(&store, &schema, Insert(todo("1", "milk"))).await.operation;
    let first = first.unwrap_or_else(|| panic!("the insert queued nothing"));
    let other = local_ok(&store, &schema, Insert(todo("2", "eggs"))).await.operation;
    let err = error_row(first.id, "Todo", "1");
    ok(store.transact(move |tx| tx.put_error(&err)).await, "putting an error row");
    let out = local_ok(&store, &schema, Delete("1".into())).await;
    assert_eq!((out.record, out.operation), (None, None), "insert+delete leaves neither item nor operation");
    assert_eq!(get(&store, "Todo", "1").await, None, "the item is gone");
    assert_eq!(all_ops(&store).await, other.into_iter().collect::<Vec<_>>(), "only the other item's operation is left");
    assert!(errors(&store, None).await.is_empty(), "the cancelled operation's error row is gone");
    let again = local_ok(&store, &schema, Insert(todo("1", "milk again"))).await.operation;
    let again = again.unwrap_or_else(|| panic!("the second insert queued nothing"));
    assert!(again.id > first.id, "a new insert gets a new id");
}

/// insert (attempted: it may have reached the server) + delete → the insert becomes a delete in
/// place, carrying the item.
pub async fn collapse_attempted_insert_then_delete_becomes_delete<F: StoreFactory>(factory: &F) {
    let schema = todo_schema();
    let store = fresh(factory, std::slice::from_ref(&schema)).await;
    let ins = local_ok(&store, &schema, Insert(todo("1", "milk"))).await.operation;
    let ins = ins.unwrap_or_else(|| panic!("the insert queued nothing"));
    set_state(&store, ins.id, OperationState::Attempted).await;
    let other = local_ok(&store, &schema, Insert(todo("2", "eggs"))).await.operation;
    let other = other.unwrap_or_else(|| panic!("the insert queued nothing"));
    let out = local_ok(&store, &schema, Delete("1".into())).await;
    let del = out.operation.unwrap_or_else(|| panic!("attempted insert + delete must leave a delete"));
    assert_eq!((del.id, del.kind, del.version), (ins.id, K::Delete, 2), "the insert turns into a delete in place");
    assert_eq!(del.item, Some(todo("1", "milk")), "the delete carries the item");
    assert_eq!(all_ops(&store).await, vec![del, other], "the delete keeps the insert's place in the queue");
    assert_eq!(get(&store, "Todo", "1").await, None, "the item is gone");
}

/// update + update → one update with the latest item and the server's columns kept.
pub async fn collapse_update_then_update_is_update<F: StoreFactory>(factory: &F) {
    let schema = todo_schema();
    let store = fresh(factory, std::slice::from_ref(&schema)).await;
    let s1 = server_todo("s1", "server", "v1");
    pull(&store, "Todo", std::slice::from_ref(&s1)).await;
    let first = local_ok(&store, &schema, Update(todo("s1", "one"))).await.operation;
    let first = first.unwrap_or_else(|| panic!("the update queued nothing"));
    let out = local_ok(&store, &schema, Update(todo("s1", "two"))).await;
    let mut expected = first.clone();
    expected.version = 2;
    assert_eq!(out.operation.as_ref(), Some(&expected), "update+update keeps the update with its counter bumped");
    assert_eq!(all_ops(&store).await, vec![expected], "update+update leaves one operation");
    assert_eq!(get(&store, "Todo", "s1").await, Some(with_text(s1, "two")), "the item holds the latest update");
}

/// update + delete → a delete that keeps the update's place (pending or attempted alike).
pub async fn collapse_update_then_delete_keeps_its_place<F: StoreFactory>(factory: &F) {
    let schema = todo_schema();
    let store = fresh(factory, std::slice::from_ref(&schema)).await;
    let (s1, s2) = (server_todo("s1", "server", "v1"), server_todo("s2", "server", "v2"));
    pull(&store, "Todo", &[s1.clone(), s2.clone()]).await;
    let u1 = local_ok(&store, &schema, Update(todo("s1", "edited"))).await.operation;
    let u1 = u1.unwrap_or_else(|| panic!("the update queued nothing"));
    let u2 = local_ok(&store, &schema, Update(todo("s2", "edited"))).await.operation;
    let u2 = u2.unwrap_or_else(|| panic!("the update queued nothing"));
    set_state(&store, u2.id, OperationState::Attempted).await;
    let between = local_ok(&store, &schema, Insert(todo("3", "new"))).await.operation;
    let between = between.unwrap_or_else(|| panic!("the insert queued nothing"));

    let d1 = local_ok(&store, &schema, Delete("s1".into())).await.operation;
    let d2 = local_ok(&store, &schema, Delete("s2".into())).await.operation;
    let (d1, d2) =
        (d1.unwrap_or_else(|| panic!("update+delete left nothing")), d2.unwrap_or_else(|| panic!("left nothing")));
    assert_eq!(
        (d1.id, d1.kind, d1.version),
        (u1.id, K::Delete, 2),
        "a pending update + delete becomes a delete in place"
    );
    assert_eq!(
        (d2.id, d2.kind, d2.version),
        (u2.id, K::Delete, 2),
        "an attempted update + delete becomes a delete in place"
    );
    assert_eq!(
        d1.item,
        Some(with_text(s1, "edited")),
        "the delete carries the item as it was, server version included"
    );
    assert_eq!(d2.item, Some(with_text(s2, "edited")), "the delete carries the item as it was");
    assert_eq!(all_ops(&store).await, vec![d1, d2, between], "the deletes keep the updates' places");
}

/// delete + anything, insert + insert, update + insert are [`StoreError::Collapse`] errors, in any
/// state, and leave item, queue and errors untouched.
pub async fn collapse_rejects_impossible_combinations<F: StoreFactory>(factory: &F) {
    let schema = todo_schema();
    let store = fresh(factory, std::slice::from_ref(&schema)).await;
    pull(&store, "Todo", &[server_todo("s1", "a", "v1"), server_todo("s2", "b", "v2"), server_todo("s3", "c", "v3")])
        .await;
    local_ok(&store, &schema, Delete("s1".into())).await;
    let in_flight_delete = local_ok(&store, &schema, Delete("s2".into())).await.operation;
    if let Some(op) = in_flight_delete {
        set_state(&store, op.id, OperationState::InFlight).await;
    }
    local_ok(&store, &schema, Update(todo("s3", "edited"))).await;
    local_ok(&store, &schema, Insert(todo("4", "new"))).await;
    let in_flight_insert = local_ok(&store, &schema, Insert(todo("5", "new"))).await.operation;
    if let Some(op) = in_flight_insert {
        set_state(&store, op.id, OperationState::InFlight).await;
    }
    let before = snapshot(&store, &["Todo"]).await;
    // After a queued delete the item is gone locally: an update or delete of it is NotFound (the
    // item's own state explains it best); an insert of it meets the queued delete.
    for id in ["s1", "s2"] {
        for change in [Update(todo(id, "again")), Delete(id.into())] {
            let kind = change.kind();
            let got = local(&store, &schema, change).await;
            assert!(matches!(got, Err(StoreError::NotFound { .. })), "{kind} after a queued delete of {id}: {got:?}");
            assert_eq!(snapshot(&store, &["Todo"]).await, before, "a rejected {kind} after delete changed the store");
        }
    }
    // An insert of an item that exists locally (queued insert, in flight or not, or update) is a
    // duplicate id before it is a queue question.
    for id in ["4", "5", "s3"] {
        let got = local(&store, &schema, Insert(todo(id, "again"))).await;
        assert!(matches!(got, Err(StoreError::DuplicateId { .. })), "insert of existing {id}: {got:?}");
        assert_eq!(snapshot(&store, &["Todo"]).await, before, "a rejected insert of {id} changed the store");
    }
    let cases = [(Insert(todo("s1", "again")), K::Delete), (Insert(todo("s2", "again")), K::Delete)];
    for (change, existing) in cases {
        let (id, new) = (change_id(&change), change.kind());
        match local(&store, &schema, change).await {
            Err(StoreError::Collapse(e)) => assert_eq!(
                e,
                CollapseError { table: "Todo".into(), item_id: id.clone(), existing, new },
                "the collapse error names the table, item and kinds"
            ),
            other => panic!("{new} after a queued {existing} of {id}: expected a Collapse error, got {other:?}"),
        }
        assert_eq!(snapshot(&store, &["Todo"]).await, before, "a rejected {new} after {existing} changed the store");
    }
}

fn change_id(change: &LocalChange) -> String {
    match change {
        Insert(r) | Update(r) => r.id().to_owned(),
        Delete(id) => id.clone(),
    }
}

/// An operation being pushed right now (`InFlight`) is never collapsed: a new change queues a new
/// operation behind it, which later changes collapse into.
pub async fn in_flight_operation_is_never_collapsed<F: StoreFactory>(factory: &F) {
    let schema = todo_schema();
    let store = fresh(factory, std::slice::from_ref(&schema)).await;
    let s1 = server_todo("s1", "server", "v1");
    pull(&store, "Todo", std::slice::from_ref(&s1)).await;
    let queued = |op: Option<crate::operation::Operation>| op.unwrap_or_else(|| panic!("the change queued nothing"));

    let ins = queued(local_ok(&store, &schema, Insert(todo("1", "milk"))).await.operation);
    set_state(&store, ins.id, OperationState::InFlight).await;
    let behind = queued(local_ok(&store, &schema, Update(todo("1", "oat"))).await.operation);
    assert!(
        behind.id > ins.id && behind.kind == K::Update,
        "an update after an in-flight insert queues an update behind it"
    );
    let bumped = queued(local_ok(&store, &schema, Update(todo("1", "soy"))).await.operation);
    assert_eq!(
        (bumped.id, bumped.version),
        (behind.id, 2),
        "the next update collapses into the queued one, not the in-flight one"
    );

    let upd = queued(local_ok(&store, &schema, Update(todo("s1", "edited"))).await.operation);
    set_state(&store, upd.id, OperationState::InFlight).await;
    let del = queued(local_ok(&store, &schema, Delete("s1".into())).await.operation);
    assert!(del.id > upd.id && del.kind == K::Delete, "a delete after an in-flight update queues a delete behind it");
    assert_eq!(del.item, Some(with_text(s1, "edited")), "the queued delete carries the item");

    let ins5 = queued(local_ok(&store, &schema, Insert(todo("5", "x"))).await.operation);
    set_state(&store, ins5.id, OperationState::InFlight).await;
    let del5 = queued(local_ok(&store, &schema, Delete("5".into())).await.operation);
    assert!(del5.id > ins5.id && del5.kind == K::Delete, "a delete after an in-flight insert is queued, not cancelled");
    assert_eq!(get(&store, "Todo", "5").await, None, "the item is deleted locally");

    let mut ins_now = ins.clone();
    ins_now.state = OperationState::InFlight;
    assert_eq!(item_ops(&store, "Todo", "1").await, vec![ins_now, bumped], "the in-flight insert is untouched");
    let mut upd_now = upd.clone();
    upd_now.state = OperationState::InFlight;
    assert_eq!(item_ops(&store, "Todo", "s1").await, vec![upd_now, del], "the in-flight update is untouched");
    assert_eq!(item_ops(&store, "Todo", "5").await.len(), 2, "in-flight insert and queued delete both stay");
}

/// A local change that fails leaves the item and the queue as they were, also when it runs in a
/// transaction with other changes that succeeded, or after collapsing into a queued operation.
pub async fn local_change_is_atomic<F: StoreFactory>(factory: &F) {
    let schema = todo_schema();
    let store = fresh(factory, std::slice::from_ref(&schema)).await;
    pull(&store, "Todo", &[server_todo("s1", "server", "v1")]).await;
    local_ok(&store, &schema, Insert(todo("9", "queued"))).await;
    let before = snapshot(&store, &["Todo"]).await;

    let failing = [
        (Insert(todo("s1", "dup")), "an insert of an existing id", "DuplicateId"),
        (Update(todo("missing", "x")), "an update of a missing item", "NotFound"),
        (Delete("missing".into()), "a delete of a missing item", "NotFound"),
    ];
    for (change, what, kind) in failing {
        let res = local(&store, &schema, change).await;
        let matched = match (&res, kind) {
            (Err(StoreError::DuplicateId { table, id }), "DuplicateId") => table == "Todo" && id == "s1",
            (Err(StoreError::NotFound { table, id }), "NotFound") => table == "Todo" && id == "missing",
            _ => false,
        };
        assert!(matched, "{what}: expected {kind}, got {res:?}");
        assert_eq!(snapshot(&store, &["Todo"]).await, before, "{what} changed the store");
    }

    let s = schema.clone();
    let res = store
        .transact(move |tx| {
            apply_local_change(tx, &s, Insert(todo("7", "new")))?;
            apply_local_change(tx, &s, Update(todo("9", "bumped")))?;
            apply_local_change(tx, &s, Delete("s1".into()))?;
            apply_local_change(tx, &s, Update(todo("missing", "x")))
        })
        .await;
    assert!(matches!(res, Err(StoreError::NotFound { .. })), "the last change fails, got {res:?}");
    assert_eq!(
        snapshot(&store, &["Todo"]).await,
        before,
        "a transaction of changes whose last one fails left some behind"
    );

    let s = schema.clone();
    let res = store
        .transact(move |tx| {
            apply_local_change(tx, &s, Delete("9".into()))?;
            tx.upsert(
                "Todo",
                &Record::from_json(json!({"id": "8", "text": 5})).map_err(|e| StoreError::record("Todo", e))?,
            )
        })
        .await;
    assert!(matches!(res, Err(StoreError::Record { .. })), "a wrong-typed write fails, got {res:?}");
    assert_eq!(snapshot(&store, &["Todo"]).await, before, "a cancelled insert came back only in part after a rollback");
}
