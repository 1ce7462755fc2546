//! Cases about rows: reads and writes through transactions, rollback of every kind of write,
//! rejected records, and values that break naive SQL or encodings.

use serde_json::{json, Value};

use super::support::{
    all_ops, all_rows, check_query, config, conformed, enqueue, expect_ids, fresh, get, ok, put, rec, snapshot,
    things_schema, todo, todo_schema,
};
use super::StoreFactory;
use crate::error::{RecordError, StoreError};
use crate::operation::{FailureKind, NewOperation, OperationError, OperationKind, OperationState};
use crate::query::expr::{column, Expr, Query};
use crate::query::resolve::resolve_query;
use crate::record::Record;
use crate::store::StoreExt;

/// Writes inside a transaction are seen by later calls of the same transaction and by every
/// reader once it commits; updates replace, deletes report whether the row existed.
pub async fn crud_through_transactions<F: StoreFactory>(factory: &F) {
    let store = fresh(factory, &[todo_schema()]).await;
    let seen = store
        .transact(|tx| {
            tx.upsert("Todo", &todo("1", "milk"))?;
            tx.upsert("Todo", &todo("2", "eggs"))?;
            let first = tx.get("Todo", "1")?;
            tx.upsert("Todo", &todo("1", "oat milk"))?;
            let replaced = tx.get("Todo", "1")?;
            let deleted = tx.delete("Todo", "2")?;
            let deleted_again = tx.delete("Todo", "2")?;
            let gone = tx.get("Todo", "2")?;
            Ok((first, replaced, deleted, deleted_again, gone))
        })
        .await;
    let (first, replaced, deleted, deleted_again, gone) = ok(seen, "a transaction that writes and reads back");
    assert_eq!(first, Some(todo("1", "milk")), "a transaction sees its own insert");
    assert_eq!(replaced, Some(todo("1", "oat milk")), "a transaction sees its own replace");
    assert!(deleted, "delete of an existing row returns true");
    assert!(!deleted_again, "delete of a missing row returns false");
    assert_eq!(gone, None, "a transaction sees its own delete");
    assert_eq!(get(&store, "Todo", "1").await, Some(todo("1", "oat milk")), "committed replace is visible");
    assert_eq!(get(&store, "Todo", "2").await, None, "committed delete is visible");

    let mut full = todo("1", "soy milk");
    for (k, v) in [("n", json!(42)), ("version", json!("v3")), ("updatedAt", json!("2024-03-04T05:06:07.089Z"))] {
        ok(full.set(k, v), "building a fixture");
    }
    put(&store, "Todo", std::slice::from_ref(&full)).await;
    assert_eq!(get(&store, "Todo", "1").await, Some(full.clone()), "an update replaces every column");
    let out = ok(store.transact(|tx| tx.delete("Todo", "1")).await, "deleting in a transaction");
    assert!(out, "delete reports the row existed");
    assert!(all_rows(&store, "Todo").await.is_empty(), "the table is empty after deleting its rows");
    assert!(all_ops(&store).await.is_empty(), "plain writes queue nothing");
}

/// `delete_matching` deletes exactly the rows the filter matches (soft-deleted ones too, with the
/// query semantics of `run_query`) and returns how many; no filter deletes everything.
pub async fn delete_matching_filters_and_counts<F: StoreFactory>(factory: &F) {
    let schema = things_schema();
    let store = fresh(factory, std::slice::from_ref(&schema)).await;
    let rows: Vec<Record> = (0..12)
        .map(|i| {
            let n = if i % 4 == 3 { Value::Null } else { json!(i) };
            conformed(&schema, json!({"id": format!("r{i:02}"), "name": "x", "n": n, "deleted": i % 5 == 0}))
        })
        .collect();
    put(&store, "Things", &rows).await;
    let filter = !column("n").gt(5);
    let resolved = ok(resolve_query(&Query::new().filter(filter.clone()), &schema), "resolving a fixture filter");
    let doomed: Vec<&Record> =
        rows.iter().filter(|r| resolved.filter.as_ref().is_some_and(|f| crate::query::eval::matches(f, r))).collect();
    let f = filter.clone();
    let n = ok(store.transact(move |tx| tx.delete_matching("Things", Some(&f))).await, "delete_matching");
    assert_eq!(n, doomed.len() as u64, "delete_matching(not n gt 5) counts the rows it deleted (nulls included)");
    let left: Vec<Record> = rows.iter().filter(|r| !doomed.contains(r)).cloned().collect();
    assert_eq!(all_rows(&store, "Things").await, left, "delete_matching(not n gt 5) deletes exactly the matching rows");

    let bad = column("nope").eq(1);
    match store.transact(move |tx| tx.delete_matching("Things", Some(&bad))).await {
        Err(StoreError::Query(_)) => {}
        other => panic!("delete_matching with an unknown column: expected a Query error, got {other:?}"),
    }
    assert_eq!(all_rows(&store, "Things").await, left, "a rejected delete_matching deletes nothing");

    let n = ok(store.transact(|tx| tx.delete_matching("Things", None)).await, "delete_matching(None)");
    assert_eq!(n, left.len() as u64, "delete_matching(None) deletes every row, soft-deleted ones too");
    assert!(all_rows(&store, "Things").await.is_empty(), "nothing is left after delete_matching(None)");
}

/// When the work of a transaction fails, none of its writes stay: rows, operations, errors and
/// config are exactly as before, and the work's own error comes back.
pub async fn failed_transaction_rolls_back_every_write<F: StoreFactory>(factory: &F) {
    let store = fresh(factory, &[todo_schema()]).await;
    put(&store, "Todo", &[todo("1", "milk"), todo("2", "eggs")]).await;
    let a = enqueue(&store, OperationKind::Update, "Todo", "1").await;
    let b = enqueue(&store, OperationKind::Update, "Todo", "2").await;
    let err = error_row(a.id, "Todo", "1");
    let setup = store.transact(move |tx| {
        tx.put_error(&err)?;
        tx.set_config("k1", "v1")?;
        tx.set_config("k2", "v2")
    });
    ok(setup.await, "setting up errors and config");
    let before = snapshot(&store, &["Todo"]).await;

    let (a_id, b_id) = (a.id, b.id);
    let failed = store
        .transact(move |tx| {
            tx.upsert("Todo", &todo("3", "new"))?;
            tx.upsert("Todo", &todo("1", "replaced"))?;
            tx.delete("Todo", "2")?;
            tx.delete_matching("Todo", None)?;
            tx.enqueue(NewOperation {
                kind: OperationKind::Insert,
                table: "Todo".into(),
                item_id: "3".into(),
                item: None,
            })?;
            let mut op = a.clone();
            op.state = OperationState::Attempted;
            op.version = 9;
            tx.update_operation(&op)?;
            tx.remove_operation(b_id)?;
            tx.put_error(&error_row(b_id, "Todo", "2"))?;
            tx.remove_error(a_id)?;
            tx.set_config("k1", "changed")?;
            tx.set_config("k3", "new")?;
            tx.remove_config("k2")?;
            Err::<(), _>(StoreError::NotFound { table: "marker".into(), id: "work failed".into() })
        })
        .await;
    match failed {
        Err(StoreError::NotFound { table, .. }) if table == "marker" => {}
        other => panic!("a transaction whose work fails returns the work's error, got {other:?}"),
    }
    assert_eq!(snapshot(&store, &["Todo"]).await, before, "a failed transaction left some of its writes behind");
    for (key, value) in [("k1", Some("v1")), ("k2", Some("v2")), ("k3", None)] {
        assert_eq!(config(&store, key).await.as_deref(), value, "config {key} after a failed transaction");
    }
    let next = enqueue(&store, OperationKind::Delete, "Todo", "2").await;
    assert!(next.id > b_id, "ids keep increasing after a rollback ({} after {b_id})", next.id);
}

/// An error row for fixtures.
pub(crate) fn error_row(operation_id: u64, table: &str, item_id: &str) -> OperationError {
    OperationError {
        operation_id,
        operation_version: 1,
        kind: OperationKind::Update,
        table: table.into(),
        item_id: item_id.into(),
        failure: FailureKind::Conflict,
        status: Some(412),
        message: "precondition failed".into(),
        item: None,
        server_item: None,
    }
}

/// A record that does not fit the table's types is [`StoreError::Record`] (a null in a non-null
/// column is an error too), and the transaction writing it leaves nothing behind.
pub async fn wrong_typed_record_is_rejected_and_nothing_written<F: StoreFactory>(factory: &F) {
    let schema = things_schema();
    let store = fresh(factory, std::slice::from_ref(&schema)).await;
    let existing = conformed(&schema, json!({"id": "e", "name": "kept", "n": 1}));
    put(&store, "Things", std::slice::from_ref(&existing)).await;
    let wrong = [
        ("a number in a string column", json!({"s": 5})),
        ("a string in an integer column", json!({"n": "1"})),
        ("a fraction in an integer column", json!({"n": 1.5})),
        ("a string in a real column", json!({"x": "1.5"})),
        ("a number in a boolean column", json!({"b": 1})),
        ("a string in a boolean column", json!({"b": "true"})),
        ("a non-date string in a date-time column", json!({"t": "yesterday"})),
        ("a number in a date-time column", json!({"t": 5})),
        ("a string in `deleted`", json!({"deleted": "yes"})),
        ("an object in the non-null string column", json!({"name": {"a": 1}})),
    ];
    for (what, fields) in wrong {
        for id in ["new", "e"] {
            let mut bad = json!({"id": id, "name": "bad"});
            if let (Some(target), Value::Object(f)) = (bad.as_object_mut(), fields.clone()) {
                target.extend(f);
            }
            let bad = rec(bad);
            let ok_row = conformed(&schema, json!({"id": "ok", "name": "fine"}));
            let res = store
                .transact(move |tx| {
                    tx.upsert("Things", &ok_row)?;
                    tx.upsert("Things", &bad)
                })
                .await;
            match res {
                Err(StoreError::Record { table, .. }) => {
                    assert_eq!(table, "Things", "the Record error names the table")
                }
                other => panic!("upserting {what} (id {id}): expected StoreError::Record, got {other:?}"),
            }
            assert_eq!(get(&store, "Things", "ok").await, None, "{what}: the failed transaction's other write stayed");
            assert_eq!(get(&store, "Things", "new").await, None, "{what}: a rejected record was written");
            assert_eq!(
                get(&store, "Things", "e").await,
                Some(existing.clone()),
                "{what}: a rejected update changed the row"
            );
        }
    }
    let null_name = rec(json!({"id": "e", "name": null}));
    let res = store.transact(move |tx| tx.upsert("Things", &null_name)).await;
    assert!(
        matches!(res, Err(StoreError::Record { source: RecordError::NullValue { .. }, .. })),
        "a null in a non-null column must be rejected as a NullValue record error, got {res:?}"
    );
    assert_eq!(get(&store, "Things", "e").await, Some(existing), "a rejected null changed the row");
}

/// Values that break naive SQL, encodings or size assumptions are stored and read back exactly,
/// and filters on them match literally.
pub async fn hostile_values_round_trip<F: StoreFactory>(factory: &F) {
    let schema = things_schema();
    let store = fresh(factory, std::slice::from_ref(&schema)).await;
    let injection = "'; DROP TABLE x; --";
    let mut big = String::with_capacity(1 << 20);
    while big.len() < (1 << 20) {
        big.push_str("ab€🦀'\"%_\\");
    }
    big.push_str("THE END");
    let long_id: String = "é".repeat(127) + "x";
    let nested =
        json!({"a": {"b": [1, 2.5, {"c": null}], "s": injection}, "emoji": "🦀", "empty": {}, "arr": [], "t": true});
    let rows = vec![
        conformed(
            &schema,
            json!({"id": injection, "name": "Robert'); DROP TABLE Things;--", "s": "it's \"quoted\" `back` \\ slash"}),
        ),
        conformed(
            &schema,
            json!({"id": "ünïcødé-🦀-中文", "name": "family 👨‍👩‍👧‍👦 and مرحبا", "s": "tab\tnewline\ncr\r nul\u{0} end"}),
        ),
        conformed(&schema, json!({"id": "big", "name": big, "s": "%_%_"})),
        conformed(&schema, json!({"id": "json", "name": "j", "j": nested, "n": i64::MAX, "x": 1e-300})),
        conformed(
            &schema,
            json!({"id": "min", "name": "m", "n": i64::MIN, "x": -1.797_693_134_862_315_7e308, "b": false,
                                  "t": "0001-01-01T00:00:00.000Z", "j": "a string"}),
        ),
        conformed(&schema, json!({"id": "max", "name": "", "s": "", "t": "9999-12-31T23:59:59.999Z", "j": 0})),
        conformed(&schema, json!({"id": "jf", "name": "jf", "j": false})),
        conformed(&schema, json!({"id": "jnull-string", "name": "null", "s": "null", "j": "null"})),
        conformed(&schema, json!({"id": "a%b_c", "name": "NULL", "j": [1, "two", [3]]})),
        conformed(&schema, json!({"id": "it's an id", "name": "x", "x": -0.5})),
        conformed(&schema, json!({"id": long_id, "name": "long id"})),
    ];
    put(&store, "Things", &rows).await;
    for row in &rows {
        assert_eq!(
            get(&store, "Things", row.id()).await.as_ref(),
            Some(row),
            "row {:.40?} did not read back equal",
            row.id()
        );
    }
    let mut sorted = rows.clone();
    sorted.sort_by(|a, b| a.id().as_bytes().cmp(b.id().as_bytes()));
    assert_eq!(all_rows(&store, "Things").await, sorted, "querying every hostile row");

    let q = |e: Expr| Query::new().filter(e);
    expect_ids(&store, &schema, &rows, &q(column("id").eq(injection)), &[injection]).await;
    expect_ids(&store, &schema, &rows, &q(column("name").starts_with("Robert'); DROP")), &[injection]).await;
    expect_ids(&store, &schema, &rows, &q(column("name").contains("THE END")), &["big"]).await;
    expect_ids(&store, &schema, &rows, &q(column("s").eq("")), &["max"]).await;
    expect_ids(&store, &schema, &rows, &q(column("name").eq("NULL")), &["a%b_c"]).await;
    expect_ids(
        &store,
        &schema,
        &rows,
        &q(column("j").is_null()),
        &[injection, "big", "it's an id", &long_id, "ünïcødé-🦀-中文"],
    )
    .await;
    check_query(&store, &schema, &rows, &Query::new().order_by(column("name").desc()).order_by(column("n").asc()))
        .await;
    check_query(&store, &schema, &rows, &q(column("x").lt(0) | column("n").gt(0))).await;
    check_query(&store, &schema, &rows, &q(column("t").le("0001-01-01T00:00:00Z"))).await;

    let victim = injection.to_owned();
    let deleted = ok(store.transact(move |tx| tx.delete("Things", &victim)).await, "deleting a hostile id");
    assert!(deleted, "the hostile id existed");
    assert_eq!(all_rows(&store, "Things").await.len(), rows.len() - 1, "deleting a hostile id deletes only that row");
}
