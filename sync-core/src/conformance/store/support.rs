//! Fixtures shared by the store cases: schemas, record builders, and helpers that run one step and
//! fail with a message naming the step.

use std::collections::BTreeMap;
use std::fmt::Debug;

use serde_json::{json, Value};

use super::StoreFactory;
use crate::error::StoreError;
use crate::operation::{NewOperation, Operation, OperationError, OperationFilter, OperationKind, OperationState};
use crate::query::eval::{run_query, QueryResult};
use crate::query::expr::Query;
use crate::query::resolve::resolve_query;
use crate::queue::{apply_local_change, apply_pull_page, LocalChange, LocalChangeOutcome};
use crate::record::Record;
use crate::schema::{Column, ColumnType, TableSchema};
use crate::store::{Store, StoreExt};

/// Unwraps a store result or fails the case with what was being done.
pub(crate) fn ok<T, E: Debug>(result: Result<T, E>, doing: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("{doing}: the store failed: {e:?}"),
    }
}

/// A record from JSON (fixtures are always valid).
pub(crate) fn rec(value: Value) -> Record {
    match Record::from_json(value) {
        Ok(r) => r,
        Err(e) => panic!("bad fixture record: {e}"),
    }
}

/// A schema from a name and columns (fixtures are always valid).
pub(crate) fn schema(name: &str, columns: Vec<Column>) -> TableSchema {
    match TableSchema::new(name, columns) {
        Ok(s) => s,
        Err(e) => panic!("bad fixture schema {name}: {e}"),
    }
}

/// `Todo`: a small table for queue cases: `text` (string), `n` (nullable integer).
pub(crate) fn todo_schema() -> TableSchema {
    schema("Todo", vec![Column::new("text", ColumnType::String), Column::nullable("n", ColumnType::Integer)])
}

/// `Things`: one nullable column of every type, and a non-null string `name`.
pub(crate) fn things_schema() -> TableSchema {
    schema(
        "Things",
        vec![
            Column::new("name", ColumnType::String),
            Column::nullable("s", ColumnType::String),
            Column::nullable("n", ColumnType::Integer),
            Column::nullable("x", ColumnType::Real),
            Column::nullable("b", ColumnType::Bool),
            Column::nullable("t", ColumnType::DateTime),
            Column::nullable("j", ColumnType::Json),
        ],
    )
}

/// A record conformed as the engine does before writing a local change (panics if the fixture
/// does not fit).
pub(crate) fn conformed(schema: &TableSchema, value: Value) -> Record {
    match schema.conform_local(rec(value)) {
        Ok(r) => r,
        Err(e) => panic!("fixture does not fit {}: {e}", schema.name()),
    }
}

/// A `Todo` row as the app writes it.
pub(crate) fn todo(id: &str, text: &str) -> Record {
    conformed(&todo_schema(), json!({"id": id, "text": text}))
}

/// A `Todo` row as the server sends it (system columns set).
pub(crate) fn server_todo(id: &str, text: &str, version: &str) -> Record {
    conformed(
        &todo_schema(),
        json!({"id": id, "text": text, "version": version,
               "createdAt": "2024-01-01T00:00:00.000Z", "updatedAt": "2024-01-02T00:00:00.000Z"}),
    )
}

/// A fresh store with the given tables.
pub(crate) async fn fresh<F: StoreFactory>(factory: &F, schemas: &[TableSchema]) -> F::Store {
    let store = factory.create().await;
    for s in schemas {
        ok(store.ensure_table(s).await, &format!("ensure_table({}) on a fresh store", s.name()));
    }
    store
}

/// Writes rows in one transaction.
pub(crate) async fn put(store: &dyn Store, table: &str, rows: &[Record]) {
    let (t, rows, n) = (table.to_owned(), rows.to_vec(), rows.len());
    let done = store.transact(move |tx| rows.iter().try_for_each(|r| tx.upsert(&t, r))).await;
    ok(done, &format!("upserting {n} row(s) into {table}"));
}

/// Stores rows as a pulled page would (no operations queued).
pub(crate) async fn pull(store: &dyn Store, table: &str, rows: &[Record]) {
    let (t, rows) = (table.to_owned(), rows.to_vec());
    ok(store.transact(move |tx| apply_pull_page(tx, &t, &rows, None)).await, "applying a pulled page");
}

/// Applies one local change in its own transaction.
pub(crate) async fn local(
    store: &dyn Store,
    schema: &TableSchema,
    change: LocalChange,
) -> Result<LocalChangeOutcome, StoreError> {
    let schema = schema.clone();
    store.transact(move |tx| apply_local_change(tx, &schema, change)).await
}

/// Applies one local change that must succeed.
pub(crate) async fn local_ok(store: &dyn Store, schema: &TableSchema, change: LocalChange) -> LocalChangeOutcome {
    let what = format!("local change {change:?}");
    ok(local(store, schema, change).await, &what)
}

/// Every queued operation, lowest id first.
pub(crate) async fn all_ops(store: &dyn Store) -> Vec<Operation> {
    ok(store.transact(|tx| tx.operations(&OperationFilter::all())).await, "listing operations")
}

/// The queued operations of one item.
pub(crate) async fn item_ops(store: &dyn Store, table: &str, id: &str) -> Vec<Operation> {
    let filter = OperationFilter::item(table, id);
    ok(store.transact(move |tx| tx.operations(&filter)).await, "listing an item's operations")
}

/// Enqueues a bare operation.
pub(crate) async fn enqueue(store: &dyn Store, kind: OperationKind, table: &str, id: &str) -> Operation {
    let op = NewOperation { kind, table: table.to_owned(), item_id: id.to_owned(), item: None };
    ok(store.transact(move |tx| tx.enqueue(op)).await, "enqueueing an operation")
}

/// Sets the state of a queued operation.
pub(crate) async fn set_state(store: &dyn Store, op_id: u64, state: OperationState) {
    let done = store
        .transact(move |tx| {
            let Some(mut op) = tx.operation(op_id)? else { return Ok(false) };
            op.state = state;
            tx.update_operation(&op)?;
            Ok(true)
        })
        .await;
    assert!(ok(done, "updating an operation's state"), "operation {op_id} vanished before its state was set");
}

/// Every row of a table, soft-deleted ones included, by id.
pub(crate) async fn all_rows(store: &dyn Store, table: &str) -> Vec<Record> {
    let q = Query::new().include_deleted();
    ok(store.query(table, &q).await, &format!("querying every row of {table}")).items
}

/// Reads one row.
pub(crate) async fn get(store: &dyn Store, table: &str, id: &str) -> Option<Record> {
    ok(store.get(table, id).await, &format!("get({table}, {id:?})"))
}

/// Reads a config value.
pub(crate) async fn config(store: &dyn Store, key: &str) -> Option<String> {
    let key = key.to_owned();
    ok(store.transact(move |tx| tx.config(&key)).await, "reading config")
}

/// Every error row.
pub(crate) async fn errors(store: &dyn Store, table: Option<&str>) -> Vec<OperationError> {
    let table = table.map(str::to_owned);
    ok(store.transact(move |tx| tx.errors(table.as_deref())).await, "listing errors")
}

/// What a store holds in the given tables and its system tables (config aside: it cannot be listed).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Snapshot {
    pub(crate) rows: BTreeMap<String, Vec<Record>>,
    pub(crate) ops: Vec<Operation>,
    pub(crate) errors: Vec<OperationError>,
}

/// Takes a [`Snapshot`].
pub(crate) async fn snapshot(store: &dyn Store, tables: &[&str]) -> Snapshot {
    let mut rows = BTreeMap::new();
    for t in tables {
        rows.insert((*t).to_owned(), all_rows(store, t).await);
    }
    Snapshot { rows, ops: all_ops(store).await, errors: errors(store, None).await }
}

/// The ids of a result, in order.
pub(crate) fn ids(result: &QueryResult) -> Vec<&str> {
    result.items.iter().map(Record::id).collect()
}

/// Runs `query` on the store and checks the answer against the reference evaluator over `rows`
/// (the rows the store holds); returns the store's answer.
pub(crate) async fn check_query(
    store: &dyn Store,
    schema: &TableSchema,
    rows: &[Record],
    query: &Query,
) -> QueryResult {
    let resolved = match resolve_query(query, schema) {
        Ok(q) => q,
        Err(e) => panic!("fixture query {query:?} does not resolve: {e}"),
    };
    let expected = run_query(rows, &resolved);
    let actual = ok(store.query(schema.name(), query).await, &format!("query {query:?}"));
    assert_eq!(
        ids(&actual),
        ids(&expected),
        "query {query:?} on {}: the store returned other rows (or another order) than the reference evaluator",
        schema.name()
    );
    assert_eq!(actual, expected, "query {query:?}: same rows, but their contents or the total count differ");
    actual
}

/// Runs `query`, checks it against the reference evaluator, and checks the ids returned.
pub(crate) async fn expect_ids(
    store: &dyn Store,
    schema: &TableSchema,
    rows: &[Record],
    query: &Query,
    expected: &[&str],
) {
    let actual = check_query(store, schema, rows, query).await;
    assert_eq!(ids(&actual), expected, "query {query:?} returned the wrong rows");
}
