//! Cases about schema evolution: opening a stored table with a schema that declares how it
//! changed (defaults, former names, conversions), and with an older schema (retained columns).
//! The rules are in [`SchemaUpgrade`](crate::backend::SchemaUpgrade).

use serde_json::json;

use super::support::{all_ops, all_rows, config, conformed, errors, fresh, get, local_ok, ok, put, schema};
use super::StoreFactory;
use crate::cursor::Cursor;
use crate::error::StoreError;
use crate::operation::{FailureKind, OperationError, OperationKind};
use crate::query::expr::{column, Query};
use crate::queue::LocalChange;
use crate::schema::{Column, ColumnType, TableSchema};
use crate::store::{Store, StoreExt};

fn v1() -> TableSchema {
    schema("Todo", vec![Column::new("text", ColumnType::String), Column::nullable("notes", ColumnType::String)])
}

fn cursor() -> Cursor {
    Cursor { updated_at: "2024-01-02T00:00:00.000Z".into(), id: "9".into() }
}

/// A v1 store: rows 1 and 2, an insert queued for 1, an update queued for 2 with an error row,
/// a cursor for `Todo` and one for `Other`.
async fn v1_store<F: StoreFactory>(factory: &F) -> F::Store {
    let other = schema("Other", vec![Column::nullable("x", ColumnType::Integer)]);
    let store = fresh(factory, &[v1(), other]).await;
    put(&store, "Todo", &[conformed(&v1(), json!({"id": "2", "text": "eggs", "notes": "brown"}))]).await;
    local_ok(&store, &v1(), LocalChange::Insert(conformed(&v1(), json!({"id": "1", "text": "milk"})))).await;
    let updated = conformed(&v1(), json!({"id": "2", "text": "eggs!", "notes": "brown"}));
    local_ok(&store, &v1(), LocalChange::Update(updated.clone())).await;
    let ops = all_ops(&store).await;
    let error = OperationError {
        operation_id: ops[1].id,
        operation_version: ops[1].version,
        kind: OperationKind::Update,
        table: "Todo".into(),
        item_id: "2".into(),
        failure: FailureKind::Conflict,
        status: Some(412),
        message: "conflict".into(),
        item: Some(updated),
        server_item: Some(conformed(&v1(), json!({"id": "2", "text": "server", "notes": "white", "version": "v"}))),
    };
    let done = store
        .transact(move |tx| {
            tx.put_error(&error)?;
            cursor().save(tx, "Todo", "all")?;
            cursor().save(tx, "Other", "all")
        })
        .await;
    ok(done, "writing the v1 error row and cursors");
    store
}

async fn cursor_of(store: &dyn Store, table: &str) -> Option<Cursor> {
    let table = table.to_owned();
    ok(store.transact(move |tx| Cursor::load(tx, &table, "all")).await, "loading a cursor")
}

fn incompatible(what: &str, result: Result<(), StoreError>) -> String {
    match result {
        Err(StoreError::IncompatibleSchema { table, message }) => {
            assert_eq!(table, "Todo", "IncompatibleSchema names the table ({what})");
            message
        }
        other => panic!("{what}: expected IncompatibleSchema, got {other:?}"),
    }
}

/// A new non-null column with a default: every stored row gets the default, queued snapshots
/// take the new shape, and the table's cursors (only its own) are forgotten so the next pull
/// brings the server's values; `keep_cursors_on_new_columns` keeps them.
pub async fn evolution_fills_defaults_and_resets_cursors<F: StoreFactory>(factory: &F) {
    let store = v1_store(factory).await;
    let mut columns = v1().user_columns().cloned().collect::<Vec<_>>();
    columns.push(Column::new("priority", ColumnType::Integer).with_default(3));
    let v2 = schema("Todo", columns);
    ok(store.ensure_table(&v2).await, "ensure_table with a new non-null column that has a default");
    for row in all_rows(&store, "Todo").await {
        assert_eq!(row.get("priority"), Some(&json!(3)), "stored row {} gets the default", row.id());
    }
    let high = Query::new().filter(column("priority").eq(3)).with_total_count();
    assert_eq!(ok(store.query("Todo", &high).await, "querying the new column").total_count, Some(2));
    let ops = all_ops(&store).await;
    let update = ops.iter().find(|op| op.kind == OperationKind::Update).map(|op| op.item.clone());
    let Some(Some(known)) = update else { panic!("the queued update lists the columns it knows: {ops:?}") };
    assert!(
        known.as_map().contains_key("text") && !known.as_map().contains_key("priority"),
        "an update queued before the upgrade does not know the new column: {known:?}"
    );
    assert_eq!(cursor_of(&store, "Todo").await, None, "adding a column forgets the table's cursors");
    assert_eq!(cursor_of(&store, "Other").await, Some(cursor()), "other tables keep their cursors");

    let store = v1_store(factory).await;
    ok(store.ensure_table(&v2.clone().keep_cursors_on_new_columns()).await, "upgrading with keep_cursors");
    assert_eq!(cursor_of(&store, "Todo").await, Some(cursor()), "keep_cursors_on_new_columns keeps the cursors");
}

/// A renamed column keeps its values, in rows, queued snapshots and error rows.
pub async fn evolution_renames_columns<F: StoreFactory>(factory: &F) {
    let store = v1_store(factory).await;
    let v2 = schema(
        "Todo",
        vec![
            Column::new("title", ColumnType::String).renamed_from("text"),
            Column::nullable("notes", ColumnType::String),
        ],
    );
    ok(store.ensure_table(&v2).await, "ensure_table renaming text to title");
    let row = get(&store, "Todo", "2").await;
    assert_eq!(row, Some(conformed(&v2, json!({"id": "2", "title": "eggs!", "notes": "brown"}))), "values move");
    let q = Query::new().filter(column("title").eq("milk"));
    assert_eq!(ok(store.query("Todo", &q).await, "querying the renamed column").items.len(), 1);
    let ops = all_ops(&store).await;
    assert_eq!(ops.len(), 2, "the queue keeps its operations");
    for op in &ops {
        let item = op.item.as_ref().map(|i| i.as_map().contains_key("title") && !i.as_map().contains_key("text"));
        assert_ne!(item, Some(false), "a snapshot uses the new name: {:?}", op.item);
    }
    let errs = errors(&store, Some("Todo")).await;
    assert_eq!(errs[0].server_item.as_ref().and_then(|i| i.get("title")), Some(&json!("server")), "errors too");
    assert_eq!(cursor_of(&store, "Todo").await, Some(cursor()), "a rename keeps the cursors");
    ok(store.ensure_table(&v2).await, "ensure_table with the renamed schema again");
    assert_eq!(all_rows(&store, "Todo").await.len(), 2, "opening again changes nothing");
}

/// A renamed table keeps its rows, queue, errors, cursors and rejected rows; the old name is
/// gone.
pub async fn evolution_renames_tables<F: StoreFactory>(factory: &F) {
    let store = v1_store(factory).await;
    ok(store.transact(|tx| tx.set_config("rejected|Todo", "[]")).await, "writing rejected rows");
    let v2 = match schema("Task", v1().user_columns().cloned().collect()).renamed_from("Todo") {
        Ok(s) => s,
        Err(e) => panic!("renamed_from: {e}"),
    };
    ok(store.ensure_table(&v2).await, "ensure_table renaming Todo to Task");
    assert_eq!(all_rows(&store, "Task").await.len(), 2, "the rows move to the new name");
    assert!(matches!(store.get("Todo", "1").await, Err(StoreError::UnknownTable(_))), "the old name is gone");
    let ops = all_ops(&store).await;
    assert!(ops.len() == 2 && ops.iter().all(|op| op.table == "Task"), "the queue moves: {ops:?}");
    assert_eq!(errors(&store, Some("Task")).await.len(), 1, "the error row moves");
    assert!(errors(&store, Some("Todo")).await.is_empty(), "no error row stays behind");
    assert_eq!(cursor_of(&store, "Task").await, Some(cursor()), "the cursor moves");
    assert_eq!(cursor_of(&store, "Todo").await, None, "no cursor stays behind");
    assert_eq!(config(&store, "rejected|Task").await.as_deref(), Some("[]"), "rejected rows move");
    ok(store.ensure_table(&v2).await, "ensure_table with the renamed schema again");
    assert_eq!(all_rows(&store, "Task").await.len(), 2);
}

/// A column the schema no longer has is retained: reads leave it out, updates of the row keep
/// its value, and a schema that has it again gets the values back (and re-pulls).
pub async fn evolution_retains_removed_columns<F: StoreFactory>(factory: &F) {
    let store = fresh(factory, &[v1()]).await;
    put(&store, "Todo", &[conformed(&v1(), json!({"id": "2", "text": "eggs", "notes": "brown"}))]).await;
    ok(store.transact(|tx| cursor().save(tx, "Todo", "all")).await, "saving a cursor");
    let old = schema("Todo", vec![Column::new("text", ColumnType::String)]);
    ok(store.ensure_table(&old).await, "ensure_table without the notes column (an older app)");
    let row = get(&store, "Todo", "2").await;
    assert_eq!(row, Some(conformed(&old, json!({"id": "2", "text": "eggs"}))), "reads leave retained columns out");
    assert_eq!(cursor_of(&store, "Todo").await, Some(cursor()), "removing a column keeps the cursors");
    put(
        &store,
        "Todo",
        &[conformed(&old, json!({"id": "2", "text": "eggs!"})), conformed(&old, json!({"id": "3", "text": "jam"}))],
    )
    .await;
    let back = schema(
        "Todo",
        vec![Column::new("text", ColumnType::String), Column::new("notes", ColumnType::String).with_default("none")],
    );
    ok(store.ensure_table(&back).await, "ensure_table with the notes column again");
    let row = get(&store, "Todo", "2").await;
    assert_eq!(
        row,
        Some(conformed(&back, json!({"id": "2", "text": "eggs!", "notes": "brown"}))),
        "the value survived"
    );
    let row = get(&store, "Todo", "3").await;
    assert_eq!(
        row.and_then(|r| r.get("notes").cloned()),
        Some(json!("none")),
        "rows written meanwhile get the default"
    );
    assert_eq!(cursor_of(&store, "Todo").await, None, "a column coming back forgets the cursors");
}

/// A column cannot be retained while queued changes would have pushed its values; the table is
/// left as it was.
pub async fn evolution_refuses_to_retain_unpushed_values<F: StoreFactory>(factory: &F) {
    let store = v1_store(factory).await;
    let before = all_rows(&store, "Todo").await;
    let without = schema("Todo", vec![Column::new("text", ColumnType::String)]);
    let m = incompatible("removing a column with unpushed values", store.ensure_table(&without).await);
    assert!(m.contains("\"notes\"") && m.contains("migration"), "the message names the column and the fix: {m}");
    assert_eq!(all_rows(&store, "Todo").await, before, "a refused upgrade changes nothing");
    ok(store.ensure_table(&v1()).await, "ensure_table with the stored schema after the refusal");
}

/// A declared type change converts every stored value; a value that does not convert fails the
/// upgrade with its row named, and nothing changes. An undeclared one names the attribute.
pub async fn evolution_converts_declared_type_changes<F: StoreFactory>(factory: &F) {
    let v1 = schema("Todo", vec![Column::new("text", ColumnType::String), Column::nullable("n", ColumnType::Integer)]);
    let store = fresh(factory, std::slice::from_ref(&v1)).await;
    let rows: Vec<_> =
        (1..=3).map(|i| conformed(&v1, json!({"id": i.to_string(), "text": format!("{i}"), "n": i}))).collect();
    put(&store, "Todo", &rows).await;
    let real = schema("Todo", vec![Column::new("text", ColumnType::String), Column::nullable("n", ColumnType::Real)]);
    let m = incompatible("an undeclared type change", store.ensure_table(&real).await);
    assert!(
        m.contains("\"n\"") && m.contains("#[sync(convert)]"),
        "the message names the column and the attribute: {m}"
    );
    let real = schema(
        "Todo",
        vec![Column::new("text", ColumnType::Integer).converted(), Column::nullable("n", ColumnType::Real).converted()],
    );
    ok(store.ensure_table(&real).await, "ensure_table converting text to integers and n to reals");
    assert_eq!(get(&store, "Todo", "2").await, Some(conformed(&real, json!({"id": "2", "text": 2, "n": 2.0}))));
    let q = Query::new().filter(column("n").gt(1.5));
    assert_eq!(ok(store.query("Todo", &q).await, "querying a converted column").items.len(), 2);

    let bools = schema(
        "Todo",
        vec![Column::new("text", ColumnType::Bool).converted(), Column::nullable("n", ColumnType::Real)],
    );
    let m = incompatible("a value that does not convert", store.ensure_table(&bools).await);
    assert!(m.contains("\"text\"") && m.contains("\"2\"") && m.contains("migration"), "names the row: {m}");
    assert_eq!(get(&store, "Todo", "2").await, Some(conformed(&real, json!({"id": "2", "text": 2, "n": 2.0}))));
}

/// The changes nothing declares are refused with a message naming the column and the fix.
pub async fn evolution_errors_name_the_fix<F: StoreFactory>(factory: &F) {
    let store = v1_store(factory).await;
    let mut columns = v1().user_columns().cloned().collect::<Vec<_>>();
    columns.push(Column::new("priority", ColumnType::Integer));
    let m = incompatible("a new non-null column without a default", store.ensure_table(&schema("Todo", columns)).await);
    assert!(m.contains("\"priority\"") && m.contains("#[sync(default"), "{m}");
    let tightened =
        schema("Todo", vec![Column::new("text", ColumnType::String), Column::new("notes", ColumnType::String)]);
    let m = incompatible("a nullable column becoming non-null", store.ensure_table(&tightened).await);
    assert!(m.contains("\"notes\"") && m.contains("default"), "{m}");
    let filled = schema(
        "Todo",
        vec![Column::new("text", ColumnType::String), Column::new("notes", ColumnType::String).with_default("")],
    );
    ok(store.ensure_table(&filled).await, "a nullable column becoming non-null with a default");
    assert_eq!(get(&store, "Todo", "1").await.and_then(|r| r.get("notes").cloned()), Some(json!("")));
}

/// An upgrade, a retained column and the former names survive a reopen.
pub async fn evolution_survives_a_reopen<F: StoreFactory>(factory: &F) {
    let store = fresh(factory, &[v1()]).await;
    put(&store, "Todo", &[conformed(&v1(), json!({"id": "2", "text": "eggs", "notes": "brown"}))]).await;
    let v2 = schema("Todo", vec![Column::new("title", ColumnType::String).renamed_from("text")]);
    ok(store.ensure_table(&v2).await, "renaming text and retaining notes");
    let Some(store) = factory.reopen(store).await else { panic!("a persistent store must reopen") };
    assert_eq!(
        get(&store, "Todo", "2").await,
        Some(conformed(&v2, json!({"id": "2", "title": "eggs"}))),
        "before ensure_table"
    );
    ok(store.ensure_table(&v2).await, "ensure_table after the reopen");
    let v3 = schema(
        "Todo",
        vec![
            Column::new("title", ColumnType::String).renamed_from("text"),
            Column::nullable("notes", ColumnType::String),
        ],
    );
    ok(store.ensure_table(&v3).await, "taking notes back after the reopen");
    assert_eq!(get(&store, "Todo", "2").await.and_then(|r| r.get("notes").cloned()), Some(json!("brown")));
}

/// [`Transaction::rows`](crate::backend::Transaction::rows) pages through a table in id order
/// (by bytes), soft-deleted rows included, and sees the transaction's own writes.
pub async fn transaction_rows_page_in_id_order<F: StoreFactory>(factory: &F) {
    let store = fresh(factory, &[v1()]).await;
    let ids = ["b", "a", "B", "é", "a1", "z"];
    let rows: Vec<_> = ids.iter().map(|id| conformed(&v1(), json!({"id": id, "text": id}))).collect();
    put(&store, "Todo", &rows).await;
    let paged = store
        .transact(|tx| {
            let deleted = conformed(&v1(), json!({"id": "c", "text": "gone", "deleted": true}));
            tx.upsert("Todo", &deleted)?;
            let mut seen = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let page = tx.rows("Todo", after.as_deref(), 2)?;
                assert!(page.len() <= 2, "rows returns at most `limit` rows");
                let Some(last) = page.last().map(|r| r.id().to_owned()) else { break };
                seen.extend(page.iter().map(|r| r.id().to_owned()));
                after = Some(last);
            }
            Ok(seen)
        })
        .await;
    let mut expected: Vec<String> = ids.iter().map(|s| (*s).to_owned()).chain(["c".to_owned()]).collect();
    expected.sort();
    assert_eq!(ok(paged, "paging with rows"), expected, "every row once, in byte order of the ids");
    let none = store.transact(|tx| tx.rows("Nope", None, 10).map(drop)).await;
    assert!(matches!(none, Err(StoreError::UnknownTable(_))), "rows of an unknown table: {none:?}");
}
