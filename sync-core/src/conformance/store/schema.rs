//! Cases about tables: creating, re-opening and upgrading them, unknown tables, awkward names.

use serde_json::json;

use super::support::{all_ops, all_rows, conformed, enqueue, fresh, get, ok, put, schema, todo, todo_schema};
use super::StoreFactory;
use crate::error::StoreError;
use crate::operation::OperationKind;
use crate::query::expr::{column, Query};
use crate::queue::{apply_local_change, LocalChange};
use crate::schema::{Column, ColumnType};
use crate::store::{Store, StoreExt};

/// A new table is empty and can be read, queried and written.
pub async fn ensure_table_creates_an_empty_table<F: StoreFactory>(factory: &F) {
    let store = fresh(factory, &[todo_schema()]).await;
    let all = ok(store.query("Todo", &Query::new().with_total_count()).await, "querying a new table");
    assert!(all.items.is_empty(), "a new table must be empty, found {:?}", all.items);
    assert_eq!(all.total_count, Some(0), "a new table counts 0 rows");
    assert_eq!(get(&store, "Todo", "1").await, None, "a new table has no item 1");
    put(&store, "Todo", &[todo("1", "milk")]).await;
    assert_eq!(get(&store, "Todo", "1").await, Some(todo("1", "milk")), "a row written to a new table reads back");
}

/// `ensure_table` on an existing table with the same schema changes nothing.
pub async fn ensure_table_twice_keeps_the_rows<F: StoreFactory>(factory: &F) {
    let store = fresh(factory, &[todo_schema()]).await;
    put(&store, "Todo", &[todo("1", "milk"), todo("2", "eggs")]).await;
    let op = enqueue(&store, OperationKind::Update, "Todo", "1").await;
    ok(store.ensure_table(&todo_schema()).await, "ensure_table with the same schema again");
    ok(store.ensure_table(&todo_schema()).await, "ensure_table with the same schema a third time");
    assert_eq!(all_rows(&store, "Todo").await, vec![todo("1", "milk"), todo("2", "eggs")], "rows survive ensure_table");
    assert_eq!(all_ops(&store).await, vec![op], "the queue survives ensure_table");
}

/// A schema that adds nullable columns upgrades the table: existing rows read `null` there and
/// the new columns can be written and queried.
pub async fn ensure_table_adds_nullable_columns<F: StoreFactory>(factory: &F) {
    let store = fresh(factory, &[todo_schema()]).await;
    put(&store, "Todo", &[todo("1", "milk"), todo("2", "eggs")]).await;
    let v2 = schema(
        "Todo",
        vec![
            Column::new("text", ColumnType::String),
            Column::nullable("due", ColumnType::DateTime),
            Column::nullable("n", ColumnType::Integer),
            Column::nullable("tags", ColumnType::Json),
        ],
    );
    ok(store.ensure_table(&v2).await, "ensure_table with two new nullable columns");
    let upgraded = conformed(&v2, json!({"id": "1", "text": "milk"}));
    assert_eq!(get(&store, "Todo", "1").await, Some(upgraded), "an existing row must gain the new columns as null");
    let due = Query::new().filter(column("due").is_null()).with_total_count();
    let res = ok(store.query("Todo", &due).await, "querying a new column");
    assert_eq!(res.total_count, Some(2), "every existing row has a null in the new column");

    let new_row = conformed(&v2, json!({"id": "3", "text": "jam", "due": "2024-05-01T10:00:00Z", "tags": {"a": [1]}}));
    put(&store, "Todo", std::slice::from_ref(&new_row)).await;
    assert_eq!(get(&store, "Todo", "3").await, Some(new_row), "a row using the new columns reads back");
    let later = Query::new().filter(column("due").gt("2024-01-01T00:00:00Z"));
    let res = ok(store.query("Todo", &later).await, "filtering on a new column");
    assert_eq!(res.items.len(), 1, "filtering on the new date-time column finds the new row");

    ok(store.ensure_table(&v2).await, "ensure_table with the upgraded schema again");
    assert_eq!(all_rows(&store, "Todo").await.len(), 3, "re-opening the upgraded table keeps its rows");
}

/// Changes no declaration covers (a type change, a new non-null column, a column becoming
/// non-null, all without a default or `converted`) are [`StoreError::IncompatibleSchema`] and
/// leave the table as it was. (What declarations allow is in [`super::evolution`].)
pub async fn ensure_table_rejects_incompatible_changes<F: StoreFactory>(factory: &F) {
    let store = fresh(factory, &[todo_schema()]).await;
    put(&store, "Todo", &[todo("1", "milk")]).await;
    let variants = [
        (
            "a column changes type",
            vec![Column::new("text", ColumnType::String), Column::nullable("n", ColumnType::Real)],
        ),
        (
            "a non-null column is added",
            vec![
                Column::new("text", ColumnType::String),
                Column::nullable("n", ColumnType::Integer),
                Column::new("must", ColumnType::Bool),
            ],
        ),
        (
            "a nullable column becomes non-null",
            vec![Column::new("text", ColumnType::String), Column::new("n", ColumnType::Integer)],
        ),
    ];
    for (what, columns) in variants {
        match store.ensure_table(&schema("Todo", columns)).await {
            Err(StoreError::IncompatibleSchema { table, .. }) => {
                assert_eq!(table, "Todo", "IncompatibleSchema names the table ({what})")
            }
            other => panic!("ensure_table when {what}: expected IncompatibleSchema, got {other:?}"),
        }
    }
    ok(store.ensure_table(&todo_schema()).await, "ensure_table with the original schema after rejected changes");
    assert_eq!(get(&store, "Todo", "1").await, Some(todo("1", "milk")), "rejected changes leave the rows alone");
    put(&store, "Todo", &[todo("2", "eggs")]).await;
}

/// Every call on a table that was never created is [`StoreError::UnknownTable`] and changes nothing.
pub async fn unknown_table_is_an_error<F: StoreFactory>(factory: &F) {
    let store = fresh(factory, &[todo_schema()]).await;
    let is_unknown = |what: &str, r: Result<(), StoreError>| match r {
        Err(StoreError::UnknownTable(t)) => assert_eq!(t, "Nope", "UnknownTable names the table ({what})"),
        other => panic!("{what} on an unknown table: expected UnknownTable, got {other:?}"),
    };
    is_unknown("get", store.get("Nope", "1").await.map(drop));
    is_unknown("query", store.query("Nope", &Query::new()).await.map(drop));
    is_unknown("tx.get", store.transact(|tx| tx.get("Nope", "1").map(drop)).await);
    is_unknown("tx.upsert", store.transact(|tx| tx.upsert("Nope", &todo("1", "x"))).await);
    is_unknown("tx.delete", store.transact(|tx| tx.delete("Nope", "1").map(drop)).await);
    is_unknown("tx.delete_matching", store.transact(|tx| tx.delete_matching("Nope", None).map(drop)).await);
    let nope = schema("Nope", vec![Column::new("text", ColumnType::String)]);
    let change = LocalChange::Insert(todo("1", "x"));
    is_unknown("apply_local_change", store.transact(move |tx| apply_local_change(tx, &nope, change).map(drop)).await);
    assert!(all_ops(&store).await.is_empty(), "a failed change on an unknown table queues nothing");
    assert!(all_rows(&store, "Todo").await.is_empty(), "a failed change on an unknown table writes nothing");
}

/// Table and column names are identifiers of the protocol, not of the backend: SQL keywords,
/// table names differing only in case, and names a database reserves for itself all work.
/// (Column names differing only in case are refused by `TableSchema::new`.)
pub async fn awkward_names_work<F: StoreFactory>(factory: &F) {
    let keywords = schema(
        "order",
        vec![
            Column::new("select", ColumnType::String),
            Column::nullable("from", ColumnType::Integer),
            Column::nullable("where", ColumnType::Bool),
            Column::nullable("group", ColumnType::DateTime),
            Column::nullable("a", ColumnType::Integer),
        ],
    );
    let upper = schema("Todo", vec![Column::new("text", ColumnType::String)]);
    let lower = schema("todo", vec![Column::nullable("n", ColumnType::Integer)]);
    let reserved = schema("sqlite_items", vec![Column::new("text", ColumnType::String)]);
    let store = factory.create().await;
    for s in [&keywords, &upper, &lower, &reserved] {
        ok(store.ensure_table(s).await, &format!("ensure_table({:?})", s.name()));
    }

    let rows = [
        conformed(&keywords, json!({"id": "k1", "select": "x", "from": 2, "where": true, "a": 1})),
        conformed(&keywords, json!({"id": "k2", "select": "y", "from": 1, "group": "2024-01-01T00:00:00Z"})),
    ];
    put(&store, "order", &rows).await;
    let q = Query::new().filter(column("from").ge(1) & column("where").ne(false)).order_by(column("from").desc());
    let res = ok(store.query("order", &q).await, "querying keyword columns");
    assert_eq!(res.items, rows.to_vec(), "filter and order on keyword-named columns");
    let q = Query::new().filter(column("a").eq(1)).select(["a"]);
    let res = ok(store.query("order", &q).await, "querying column a");
    assert_eq!(res.items.len(), 1);
    assert_eq!(res.items[0].get("a"), Some(&json!(1)), "column `a` keeps its own value");

    let u = conformed(&upper, json!({"id": "1", "text": "upper"}));
    let l = conformed(&lower, json!({"id": "1", "n": 7}));
    put(&store, "Todo", std::slice::from_ref(&u)).await;
    put(&store, "todo", std::slice::from_ref(&l)).await;
    assert_eq!(get(&store, "Todo", "1").await, Some(u), "tables `Todo` and `todo` are distinct");
    assert_eq!(get(&store, "todo", "1").await, Some(l), "tables `todo` and `Todo` are distinct");

    let r = conformed(&reserved, json!({"id": "1", "text": "reserved"}));
    put(&store, "sqlite_items", std::slice::from_ref(&r)).await;
    assert_eq!(get(&store, "sqlite_items", "1").await, Some(r), "a table named like a database's own tables works");
}
