//! Cases about the queue as a whole: one order across tables, the operation filters, ids never
//! reused, and concurrent local changes.

use std::sync::{Arc, Mutex};

use super::records::error_row;
use super::support::{
    all_ops, all_rows, enqueue, errors, fresh, get, item_ops, local_ok, ok, pull, schema, server_todo, todo,
    todo_schema,
};
use super::StoreFactory;
use crate::error::StoreError;
use crate::operation::{Operation, OperationFilter, OperationKind, OperationState};
use crate::queue::{apply_local_change, apply_local_changes, LocalChange};
use crate::record::Record;
use crate::schema::{Column, ColumnType};
use crate::store::StoreExt;

use OperationKind as K;

/// One queue for all tables: ids strictly increase in enqueue order, and every filter (tables,
/// item, after, limit; combined) and `count_operations` agree with [`OperationFilter::accepts`].
pub async fn queue_order_and_filters<F: StoreFactory>(factory: &F) {
    let other = schema("Other", vec![Column::new("text", ColumnType::String)]);
    let store = fresh(factory, &[todo_schema(), other]).await;
    let plan = [
        (K::Insert, "Todo", "1"),
        (K::Insert, "Other", "1"),
        (K::Update, "Todo", "2"),
        (K::Update, "Other", "1"),
        (K::Delete, "Todo", "1"),
        (K::Insert, "Other", "3"),
        (K::Insert, "Todo", "a%"),
        (K::Insert, "Todo", "ab"),
        (K::Insert, "Todo", "a_"),
        (K::Insert, "Todo", "'; DROP TABLE x; --"),
    ];
    let mut ops = Vec::new();
    for (kind, table, id) in plan {
        ops.push(enqueue(&store, kind, table, id).await);
    }
    assert!(ops.windows(2).all(|w| w[0].id < w[1].id), "ids must strictly increase in enqueue order: {ops:?}");
    assert_eq!(all_ops(&store).await, ops, "operations() lists every operation, lowest id first");

    let f = |tables: Option<&[&str]>, item: Option<&str>, after: Option<usize>, limit: Option<usize>| OperationFilter {
        tables: tables.map(|t| t.iter().map(|s| (*s).to_owned()).collect()),
        item_id: item.map(str::to_owned),
        after: after.map(|i| ops[i].id),
        limit,
    };
    let filters = vec![
        (f(Some(&["Todo"]), None, None, None), 7),
        (f(Some(&["Other", "Todo"]), None, None, None), 10),
        (f(Some(&[]), None, None, None), 0),
        (f(Some(&["Nope"]), None, None, None), 0),
        (f(Some(&["Todo"]), Some("1"), None, None), 2),
        (f(Some(&["Other"]), Some("1"), None, None), 2),
        (f(Some(&["Todo", "Other"]), Some("1"), None, None), 4),
        (f(None, Some("1"), None, None), 4),
        (f(Some(&["Todo"]), Some("a%"), None, None), 1),
        (f(Some(&["Todo"]), Some("a_"), None, None), 1),
        (f(Some(&["Todo"]), Some("'; DROP TABLE x; --"), None, None), 1),
        (f(Some(&["Todo"]), Some("missing"), None, None), 0),
        (f(None, None, Some(2), None), 7),
        (f(None, None, Some(9), None), 0),
        (f(None, None, None, Some(2)), 2),
        (f(None, None, None, Some(0)), 0),
        (f(Some(&["Todo"]), None, None, Some(2)), 2),
        (f(Some(&["Other"]), None, Some(0), Some(2)), 2),
        (f(Some(&["Todo"]), Some("1"), Some(0), Some(5)), 1),
        (f(Some(&["Todo"]), None, Some(3), Some(3)), 3),
    ];
    let mut after_zero = OperationFilter::all();
    after_zero.after = Some(0);
    for (filter, len) in filters.into_iter().chain([(after_zero, 10)]) {
        let expected: Vec<Operation> =
            ops.iter().filter(|op| filter.accepts(op)).take(filter.limit.unwrap_or(usize::MAX)).cloned().collect();
        assert_eq!(expected.len(), len, "fixture check for {filter:?}");
        let flt = filter.clone();
        let (got, count) = ok(
            store.transact(move |tx| Ok((tx.operations(&flt)?, tx.count_operations(&flt)?))).await,
            "listing and counting operations",
        );
        assert_eq!(got, expected, "operations({filter:?})");
        let unlimited = ops.iter().filter(|op| filter.accepts(op)).count() as u64;
        assert_eq!(count, unlimited, "count_operations({filter:?}) counts every match, ignoring limit");
    }
}

/// `update_operation` replaces an operation in place (its queue position unchanged) and is
/// `NotFound` once it is gone; `remove_operation` reports whether it existed.
pub async fn update_and_remove_operation<F: StoreFactory>(factory: &F) {
    let store = fresh(factory, &[todo_schema()]).await;
    let first = enqueue(&store, K::Insert, "Todo", "1").await;
    let second = enqueue(&store, K::Insert, "Todo", "2").await;
    let mut changed = first.clone();
    changed.state = OperationState::Attempted;
    changed.version = 7;
    changed.kind = K::Delete;
    changed.item = Some(todo("1", "snapshot 'quoted' 🦀"));
    let c = changed.clone();
    ok(store.transact(move |tx| tx.update_operation(&c)).await, "update_operation");
    let id = first.id;
    let read = ok(store.transact(move |tx| tx.operation(id)).await, "operation(id)");
    assert_eq!(read.as_ref(), Some(&changed), "update_operation replaces every field");
    assert_eq!(all_ops(&store).await, vec![changed.clone(), second.clone()], "update_operation keeps the position");
    assert_eq!(item_ops(&store, "Todo", "1").await, vec![changed.clone()], "the item filter sees the update");

    let removed =
        ok(store.transact(move |tx| Ok((tx.remove_operation(id)?, tx.remove_operation(id)?))).await, "remove");
    assert_eq!(removed, (true, false), "remove_operation returns whether the operation existed");
    let read = ok(store.transact(move |tx| tx.operation(id)).await, "operation(id) after remove");
    assert_eq!(read, None, "a removed operation is gone");
    assert!(item_ops(&store, "Todo", "1").await.is_empty(), "the item filter no longer sees a removed operation");
    match store.transact(move |tx| tx.update_operation(&changed)).await {
        Err(StoreError::NotFound { .. }) => {}
        other => panic!("update_operation of a removed operation: expected NotFound, got {other:?}"),
    }
    let missing = ok(store.transact(|tx| tx.operation(u64::MAX)).await, "operation(u64::MAX)");
    assert_eq!(missing, None, "an unknown id has no operation");
    assert_eq!(all_ops(&store).await, vec![second], "only the other operation is left");
}

/// [`set_operation_states`](crate::store::Transaction::set_operation_states) changes the state of
/// the operations named, and nothing else of them or of the others: across more operations than
/// one statement takes, with a delete's snapshot kept, and ids that name none (skipped, not
/// counted).
pub async fn set_operation_states_changes_only_the_state<F: StoreFactory>(factory: &F) {
    let store = fresh(factory, &[todo_schema()]).await;
    let mut before = Vec::new();
    for i in 0..600 {
        before.push(enqueue(&store, K::Insert, "Todo", &format!("i{i}")).await);
    }
    let mut delete = enqueue(&store, K::Delete, "Todo", "gone").await;
    delete.item = Some(todo("gone", "snapshot"));
    delete.version = 3;
    let d = delete.clone();
    ok(store.transact(move |tx| tx.update_operation(&d)).await, "giving the delete a snapshot");
    before.push(delete);
    // Every other operation (the delete, the last, among them), and two that name none.
    let mut named: Vec<u64> = before.iter().step_by(2).map(|op| op.id).collect();
    let removed = before[1].id;
    ok(store.transact(move |tx| tx.remove_operation(removed)).await, "removing one");
    named.extend([removed, u64::MAX]);
    let ids = named.clone();
    let found =
        ok(store.transact(move |tx| tx.set_operation_states(&ids, OperationState::InFlight)).await, "setting states");
    assert_eq!(found, 301, "the count is of the operations there were (300 of the inserts and the delete)");
    let expected: Vec<Operation> = before
        .into_iter()
        .filter(|op| op.id != removed)
        .map(|mut op| {
            if named.contains(&op.id) {
                op.state = OperationState::InFlight;
            }
            op
        })
        .collect();
    assert_eq!(all_ops(&store).await, expected, "only the named operations' state changed");
    let ids: Vec<u64> = expected.iter().map(|op| op.id).collect();
    ok(store.transact(move |tx| tx.set_operation_states(&ids, OperationState::Attempted)).await, "setting again");
    assert!(
        all_ops(&store).await.iter().all(|op| op.state == OperationState::Attempted),
        "every operation named is set, whatever its state was"
    );
    let none = ok(store.transact(|tx| tx.set_operation_states(&[], OperationState::Pending)).await, "naming none");
    assert_eq!(none, 0, "naming no operation changes none");
}

/// [`remove_sent_operations`](crate::store::Transaction::remove_sent_operations) removes the
/// operations still at the edit counter they were sent at, with their error rows, and reports
/// each one's kind, table and item; an operation changed since its send stays, with its error
/// row, and so does every operation not named. Across more operations than one statement takes,
/// with ids that name none.
pub async fn remove_sent_operations_removes_only_unchanged_ones<F: StoreFactory>(factory: &F) {
    let other = schema("Other", vec![Column::new("text", ColumnType::String)]);
    let store = fresh(factory, &[todo_schema(), other]).await;
    let mut sent = Vec::new();
    let mut expected_removed = Vec::new();
    for i in 0..600 {
        let (kind, table) = if i % 3 == 0 { (K::Update, "Other") } else { (K::Insert, "Todo") };
        let op = enqueue(&store, kind, table, &format!("i{i}")).await;
        sent.push((op.id, op.version));
        expected_removed.push((op.id, kind, table.to_owned(), format!("i{i}")));
    }
    let mut changed = enqueue(&store, K::Insert, "Todo", "changed").await;
    sent.push((changed.id, changed.version));
    changed.version += 1;
    let c = changed.clone();
    ok(store.transact(move |tx| tx.update_operation(&c)).await, "changing one after its send");
    let unnamed = enqueue(&store, K::Delete, "Todo", "unnamed").await;
    let with_error = sent[7].0;
    let (e1, e2, e3) = (
        error_row(with_error, "Todo", "i7"),
        error_row(changed.id, "Todo", "changed"),
        error_row(unnamed.id, "Todo", "unnamed"),
    );
    ok(
        store
            .transact(move |tx| {
                tx.put_error(&e1)?;
                tx.put_error(&e2)?;
                tx.put_error(&e3)
            })
            .await,
        "putting error rows",
    );
    sent.extend([(u64::MAX, 1), (unnamed.id + 1_000, 1)]);
    let pairs = sent.clone();
    let removed = ok(store.transact(move |tx| tx.remove_sent_operations(&pairs)).await, "removing sent operations");
    let mut got: Vec<(u64, OperationKind, String, String)> =
        removed.into_iter().map(|op| (op.id, op.kind, op.table, op.item_id)).collect();
    got.sort_by_key(|(id, ..)| *id);
    assert_eq!(got, expected_removed, "every unchanged operation is removed and reported as it was");
    assert_eq!(all_ops(&store).await, vec![changed.clone(), unnamed.clone()], "the changed and the unnamed stay");
    let left: Vec<u64> = errors(&store, None).await.iter().map(|e| e.operation_id).collect();
    assert_eq!(left, vec![changed.id, unnamed.id], "the removed operation's error row went with it, only");
    let pairs = sent;
    let again = ok(store.transact(move |tx| tx.remove_sent_operations(&pairs)).await, "removing them again");
    assert!(again.is_empty(), "removed operations are not removed twice");
}

/// Ids are never handed out twice: not after removing the newest operation, not after emptying
/// the queue (after a reopen: [`reopen_keeps_everything`](super::reopen_keeps_everything)).
pub async fn operation_ids_are_never_reused<F: StoreFactory>(factory: &F) {
    let store = fresh(factory, &[todo_schema()]).await;
    let a = enqueue(&store, K::Insert, "Todo", "1").await;
    let b = enqueue(&store, K::Insert, "Todo", "2").await;
    let (bid, aid) = (b.id, a.id);
    ok(store.transact(move |tx| tx.remove_operation(bid)).await, "removing the newest operation");
    let cid = enqueue(&store, K::Insert, "Todo", "3").await.id;
    assert!(cid > bid, "id {cid} was handed out after removing {bid}");
    ok(
        store.transact(move |tx| Ok((tx.remove_operation(aid)?, tx.remove_operation(cid)?))).await,
        "emptying the queue",
    );
    let did = enqueue(&store, K::Insert, "Todo", "4").await.id;
    assert!(did > cid, "id {did} was handed out after emptying a queue that had {cid}");
    ok(store.transact(move |tx| tx.remove_operation(did)).await, "emptying the queue again");
    let e = enqueue(&store, K::Insert, "Todo", "5").await;
    assert!(e.id > did, "id {} was handed out after emptying the queue twice, but {did} was used before", e.id);
}

/// A batch of new items (`apply_local_changes`, which stores may speed up with
/// `Transaction::existing_ids`, `upsert_many` and `enqueue_many`) stores every item and queues
/// one insert each, in the batch's order, with fresh increasing ids; a batch naming an item that
/// exists fails whole with `DuplicateId`, and a batch into a table with queued operations keeps
/// the collapse rules.
pub async fn batch_inserts_queue_one_operation_each_in_order<F: StoreFactory>(factory: &F) {
    let schema = todo_schema();
    let store = fresh(factory, std::slice::from_ref(&schema)).await;
    let before = enqueue(&store, K::Insert, "Other", "x").await.id;
    let ids: Vec<String> = (0..700).map(|i| format!("b{:04}", (i * 7919) % 700)).collect();
    let changes: Vec<LocalChange> = ids.iter().map(|id| LocalChange::Insert(todo(id, "batch"))).collect();
    let s = schema.clone();
    let outcomes = ok(store.transact(move |tx| apply_local_changes(tx, &s, changes)).await, "a batch of 700");
    assert_eq!(outcomes.len(), 700);
    let mut last = before;
    for (outcome, id) in outcomes.iter().zip(&ids) {
        let op = outcome.operation.as_ref().expect("each insert is queued");
        assert_eq!((&op.item_id, op.kind, op.version), (id, K::Insert, 1), "the batch's order");
        assert!(op.id > last, "ids increase in the batch's order: {} after {last}", op.id);
        last = op.id;
        assert_eq!(outcome.record.as_ref().map(Record::id), Some(id.as_str()));
    }
    let queued = all_ops(&store).await;
    assert_eq!(queued.len(), 701);
    assert_eq!(
        queued.iter().skip(1).map(|op| op.id).collect::<Vec<_>>(),
        outcomes.iter().map(|o| o.operation.as_ref().map_or(0, |op| op.id)).collect::<Vec<_>>(),
        "the queue holds exactly the returned operations"
    );
    let stored = get(&store, "Todo", &ids[350]).await.expect("stored");
    assert_eq!(stored.get("text").and_then(serde_json::Value::as_str), Some("batch"));
    assert!(stored.version().is_none(), "a new item has no server version");

    let dup = vec![LocalChange::Insert(todo("fresh", "x")), LocalChange::Insert(todo(&ids[3], "again"))];
    let s = schema.clone();
    let res = store.transact(move |tx| apply_local_changes(tx, &s, dup)).await;
    assert!(matches!(res, Err(StoreError::DuplicateId { ref id, .. }) if *id == ids[3]), "{res:?}");
    assert!(get(&store, "Todo", "fresh").await.is_none(), "a failed batch writes nothing");
    assert_eq!(all_ops(&store).await.len(), 701, "and queues nothing");

    // With the table's operations queued, each change collapses as it would alone.
    let mixed = vec![LocalChange::Insert(todo("m1", "x")), LocalChange::Insert(todo("m2", "y"))];
    let s = schema.clone();
    ok(store.transact(move |tx| apply_local_changes(tx, &s, mixed)).await, "a batch over a queue");
    let edit = vec![LocalChange::Update(todo("m1", "edited")), LocalChange::Delete("m2".into())];
    let s = schema.clone();
    let out = ok(store.transact(move |tx| apply_local_changes(tx, &s, edit)).await, "edits in a batch");
    assert_eq!(out[0].operation.as_ref().map(|op| op.kind), Some(K::Insert), "insert then update is an insert");
    assert!(out[1].operation.is_none(), "insert then delete cancels out");
}

/// 8 tasks × 50 local changes on overlapping items: every change either commits whole or fails
/// with a collapse, duplicate or not-found error; the final store equals a serial replay of the
/// committed changes and keeps the queue invariants (at most one operation per item, of the kind
/// the collapse rules imply; no orphan operations; counts match).
pub async fn concurrent_local_changes_keep_the_queue_consistent<F: StoreFactory>(factory: &F) {
    let schema = todo_schema();
    let seeds: Vec<Record> = (0..4).map(|i| server_todo(&format!("s{i}"), "seed", "v0")).collect();
    let store = Arc::new(fresh(factory, std::slice::from_ref(&schema)).await);
    pull(&*store, "Todo", &seeds).await;
    let pool: Vec<String> = (0..4).map(|i| format!("s{i}")).chain((0..12).map(|i| format!("c{i}"))).collect();
    let log: Arc<Mutex<Vec<LocalChange>>> = Arc::default();

    let mut tasks = Vec::new();
    for t in 0..8usize {
        let (store, schema, log, pool) = (Arc::clone(&store), schema.clone(), Arc::clone(&log), pool.clone());
        tasks.push(tokio::spawn(async move {
            let mut rejected = 0u32;
            for i in 0..50usize {
                let id = &pool[(t * 5 + i * 7) % pool.len()];
                let change = match (t * 3 + i * 7 + i / 5) % 8 {
                    0..=2 => LocalChange::Insert(todo(id, &format!("task {t} step {i}"))),
                    3..=5 => LocalChange::Update(todo(id, &format!("task {t} step {i}"))),
                    _ => LocalChange::Delete(id.clone()),
                };
                let (schema, log) = (schema.clone(), Arc::clone(&log));
                let res = store
                    .transact(move |tx| {
                        let out = apply_local_change(tx, &schema, change.clone())?;
                        let mut log =
                            log.lock().map_err(|_| StoreError::Backend { message: "log".into(), source: None })?;
                        log.push(change);
                        Ok(out)
                    })
                    .await;
                match res {
                    Ok(_) => {}
                    Err(StoreError::DuplicateId { .. } | StoreError::NotFound { .. } | StoreError::Collapse(_)) => {
                        rejected += 1
                    }
                    Err(e) => panic!("task {t} step {i}: a local change failed with an unexpected error: {e:?}"),
                }
                if i % 3 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            rejected
        }));
    }
    let mut rejected = 0;
    for task in tasks {
        rejected += task.await.unwrap_or_else(|e| panic!("a task of local changes panicked: {e}"));
    }
    let log = log.lock().map(|l| l.clone()).unwrap_or_else(|_| panic!("the change log is poisoned"));
    assert_eq!(log.len() + rejected as usize, 400, "every change either committed or was rejected");
    assert!(!log.is_empty(), "no local change committed");

    // Invariants of the final state.
    let ops = all_ops(&*store).await;
    assert!(ops.windows(2).all(|w| w[0].id < w[1].id), "the queue is ordered by strictly increasing ids");
    let count = ok(store.transact(|tx| tx.count_operations(&OperationFilter::all())).await, "count_operations");
    assert_eq!(count, ops.len() as u64, "count_operations agrees with operations()");
    for op in &ops {
        assert!(op.table == "Todo" && pool.contains(&op.item_id), "orphan operation {op:?}");
    }
    for id in &pool {
        let row = get(&*store, "Todo", id).await;
        let item_ops: Vec<&Operation> = ops.iter().filter(|op| &op.item_id == id).collect();
        assert!(item_ops.len() <= 1, "item {id} has {} operations; changes must collapse", item_ops.len());
        let kind = item_ops.first().map(|op| op.kind);
        let seeded = id.starts_with('s');
        match (seeded, row.is_some(), kind) {
            (false, true, Some(K::Insert)) | (false, false, None) => {}
            (true, true, Some(K::Update)) | (true, false, Some(K::Delete)) => {}
            (true, true, None) => {
                assert_eq!(row.as_ref(), seeds.iter().find(|s| s.id() == id), "untouched item {id} changed")
            }
            other => panic!("item {id}: (seeded, exists, queued kind) = {other:?} breaks the collapse rules"),
        }
    }

    // A serial replay of the committed changes gives the same store.
    let replay = fresh(factory, std::slice::from_ref(&schema)).await;
    pull(&replay, "Todo", &seeds).await;
    for change in &log {
        local_ok(&replay, &schema, change.clone()).await;
    }
    assert_eq!(all_rows(&*store, "Todo").await, all_rows(&replay, "Todo").await, "rows differ from a serial replay");
    let strip = |ops: Vec<Operation>| {
        ops.into_iter().map(|op| (op.kind, op.table, op.item_id, op.state, op.version, op.item)).collect::<Vec<_>>()
    };
    assert_eq!(strip(ops), strip(all_ops(&replay).await), "the queue differs from a serial replay");
}
