//! The restart case: everything a store holds survives closing and opening it again.

use serde_json::json;

use super::query::dataset;
use super::records::error_row;
use super::support::{
    check_query, config, conformed, enqueue, fresh, local_ok, ok, pull, put, schema, server_todo, set_state, snapshot,
    things_schema, todo, todo_schema, Snapshot,
};
use super::StoreFactory;
use crate::error::StoreError;
use crate::operation::{OperationKind, OperationState};
use crate::query::expr::{column, Query};
use crate::queue::LocalChange;
use crate::schema::{Column, ColumnType, TableSchema};
use crate::store::{Store, StoreExt};

const CONFIG: [(&str, &str); 4] = [
    ("cursor|Todo|q1", "{\"updatedAt\":\"2024-01-02T00:00:00.000Z\",\"id\":\"it's\"}"),
    ("empty", ""),
    ("ünï", "🦀"),
    ("x'; --", "'"),
];

fn other_v1() -> TableSchema {
    schema("Other", vec![Column::new("text", ColumnType::String)])
}

fn other_v2() -> TableSchema {
    schema("Other", vec![Column::new("text", ColumnType::String), Column::nullable("extra", ColumnType::Integer)])
}

async fn check_everything(store: &dyn Store, expected: &Snapshot, what: &str) {
    for s in [todo_schema(), things_schema(), other_v2()] {
        ok(store.ensure_table(&s).await, &format!("ensure_table({}) {what}", s.name()));
    }
    let now = snapshot(store, &["Todo", "Things", "Other"]).await;
    assert_eq!(now.rows, expected.rows, "rows {what}");
    assert_eq!(now.ops, expected.ops, "the operation queue {what}");
    assert_eq!(now.errors, expected.errors, "the errors table {what}");
    for (k, v) in CONFIG {
        assert_eq!(config(store, k).await.as_deref(), Some(v), "config {k:?} {what}");
    }
    // The stored schema is known after the reopen: an undeclared type change is still refused.
    match store.ensure_table(&schema("Other", vec![Column::new("text", ColumnType::Integer)])).await {
        Err(StoreError::IncompatibleSchema { .. }) => {}
        other => panic!("ensure_table with a changed column type {what}: expected IncompatibleSchema, got {other:?}"),
    }
}

/// Closing and opening the store keeps tables and their schemas (upgrades included), rows
/// (hostile values included), the queue (order, states, counters, snapshots), the errors table,
/// config, and the operation id counter (ids are never reused across a reopen).
///
/// Needs the `persistent` capability: the suite skips it, by name, for stores that do not
/// declare it.
pub async fn reopen_keeps_everything<F: StoreFactory>(factory: &F) {
    let todo_s = todo_schema();
    let things = things_schema();
    let store = fresh(factory, &[todo_s.clone(), things.clone(), other_v1()]).await;
    put(&store, "Other", &[conformed(&other_v1(), json!({"id": "o1", "text": "before upgrade"}))]).await;
    ok(store.ensure_table(&other_v2()).await, "upgrading Other");
    put(&store, "Other", &[conformed(&other_v2(), json!({"id": "o2", "text": "after", "extra": 7}))]).await;
    let rows = dataset(&things);
    put(&store, "Things", &rows).await;
    let hostile = conformed(
        &things,
        json!({"id": "'; DROP TABLE x; --", "name": "🦀 'q' \"qq\" \u{0}", "j": {"a": [1, {"b": null}]}}),
    );
    put(&store, "Things", std::slice::from_ref(&hostile)).await;

    pull(&store, "Todo", &[server_todo("s1", "server", "v1"), server_todo("s2", "server", "v2")]).await;
    local_ok(&store, &todo_s, LocalChange::Insert(todo("1", "new"))).await;
    local_ok(&store, &todo_s, LocalChange::Update(todo("1", "new, edited"))).await;
    let upd = local_ok(&store, &todo_s, LocalChange::Update(todo("s1", "edited"))).await.operation;
    if let Some(op) = upd {
        set_state(&store, op.id, OperationState::InFlight).await;
    }
    local_ok(&store, &todo_s, LocalChange::Update(todo("s1", "edited again"))).await;
    let del = local_ok(&store, &todo_s, LocalChange::Delete("s2".into())).await.operation;
    if let Some(op) = &del {
        set_state(&store, op.id, OperationState::Attempted).await;
        let err = error_row(op.id, "Todo", "s2");
        ok(store.transact(move |tx| tx.put_error(&err)).await, "putting an error row");
    }
    ok(store.transact(|tx| CONFIG.iter().try_for_each(|(k, v)| tx.set_config(k, v))).await, "setting config");
    let newest = enqueue(&store, OperationKind::Update, "Other", "o1").await;
    let newest_id = newest.id;
    ok(store.transact(move |tx| tx.remove_operation(newest_id)).await, "removing the newest operation");
    let before = snapshot(&store, &["Todo", "Things", "Other"]).await;

    let Some(store) = factory.reopen(store).await else {
        panic!("reopen_keeps_everything needs a store that persists, but StoreFactory::reopen returned None");
    };
    check_everything(&store, &before, "after a reopen").await;
    let mut all_things = rows.clone();
    all_things.push(hostile);
    check_query(&store, &things, &all_things, &Query::new().filter(column("n").gt(1)).order_by(column("s").desc()))
        .await;
    let next = enqueue(&store, OperationKind::Update, "Other", "o2").await;
    assert!(next.id > newest_id, "id {} was handed out after a reopen, but {newest_id} was used before", next.id);

    // Writes made after a reopen persist too.
    let mut expected = before;
    expected.ops.push(next);
    let Some(store) = factory.reopen(store).await else { panic!("the store reopened once but not twice") };
    check_everything(&store, &expected, "after a second reopen").await;
}
