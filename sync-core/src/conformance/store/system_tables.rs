//! Cases about the system tables and the atomic units built on them: the errors and config
//! tables, pulled pages ([`apply_pull_page`]) and completed pushes ([`complete_operation`],
//! [`complete_operations`]).

use std::sync::Arc;

use serde_json::json;

use super::records::error_row;
use super::support::{
    all_ops, config, conformed, errors, fresh, get, item_ops, local_ok, ok, pull, rec, server_todo, set_state,
    snapshot, todo, todo_schema,
};
use super::StoreFactory;
use crate::cursor::Cursor;
use crate::error::StoreError;
use crate::operation::{FailureKind, OperationError, OperationKind, OperationState};
use crate::queue::{apply_pull_page, complete_operation, complete_operations, Completion, LocalChange, PageOutcome};
use crate::record::Record;
use crate::remote::Page;
use crate::row_page::RowPage;
use crate::schema::TableSchema;
use crate::store::{Store, StoreExt};

/// Error rows are stored whole, listed oldest operation first (optionally by table), replaced
/// by operation id, and removed.
pub async fn errors_table_round_trip<F: StoreFactory>(factory: &F) {
    let store = fresh(factory, &[todo_schema()]).await;
    let failures = [
        FailureKind::Conflict,
        FailureKind::NotFound,
        FailureKind::Rejected,
        FailureKind::Transient,
        FailureKind::Protocol,
        FailureKind::MissingLocalItem,
    ];
    let kinds = [OperationKind::Insert, OperationKind::Update, OperationKind::Delete];
    let mut rows: Vec<OperationError> = failures
        .iter()
        .enumerate()
        .map(|(i, failure)| OperationError {
            operation_id: 100 - i as u64 * 10,
            operation_version: i as u64 + 1,
            kind: kinds[i % 3],
            table: if i % 2 == 0 { "Todo".into() } else { "Other".into() },
            item_id: format!("item-{i}-'; DROP TABLE x; --"),
            failure: *failure,
            status: if i % 3 == 0 { None } else { Some(400 + i as u16) },
            message: format!("it's \"bad\" 🦀 #{i}"),
            item: (i % 2 == 0).then(|| todo("1", "local 'quoted'")),
            server_item: (i % 3 == 1).then(|| server_todo("1", "server", "v\"9\"")),
        })
        .collect();
    let put = rows.clone();
    ok(store.transact(move |tx| put.iter().try_for_each(|e| tx.put_error(e))).await, "put_error");
    rows.sort_by_key(|e| e.operation_id);
    assert_eq!(errors(&store, None).await, rows, "errors() lists every row whole, oldest operation first");
    for table in ["Todo", "Other", "Nope"] {
        let expected: Vec<_> = rows.iter().filter(|e| e.table == table).cloned().collect();
        assert_eq!(errors(&store, Some(table)).await, expected, "errors(Some({table:?}))");
    }

    let mut replaced = rows[2].clone();
    replaced.message = "replaced".into();
    replaced.operation_version = 42;
    replaced.failure = FailureKind::Rejected;
    replaced.status = Some(422);
    replaced.server_item = None;
    replaced.item = Some(todo("2", "other"));
    let r = replaced.clone();
    ok(store.transact(move |tx| tx.put_error(&r)).await, "replacing an error row");
    rows[2] = replaced;
    assert_eq!(errors(&store, None).await, rows, "put_error with the same operation id replaces the row");

    let id = rows[0].operation_id;
    let removed = ok(store.transact(move |tx| Ok((tx.remove_error(id)?, tx.remove_error(id)?))).await, "remove_error");
    assert_eq!(removed, (true, false), "remove_error reports whether the row existed");
    rows.remove(0);
    assert_eq!(errors(&store, None).await, rows, "a removed error row is gone, the others stay");
    let err = error_row(7, "Todo", "7");
    ok(store.transact(move |tx| tx.put_error(&err)).await, "putting another error row");
    assert_eq!(errors(&store, None).await.first().map(|e| e.operation_id), Some(7), "order is by operation id");
}

/// Config values round trip (empty and hostile ones too); `remove_config` removes exactly the
/// keys starting with the prefix, literally and case-sensitively, and counts them.
pub async fn config_round_trip_and_prefix_removal<F: StoreFactory>(factory: &F) {
    let store = fresh(factory, &[]).await;
    assert_eq!(config(&store, "missing").await, None, "an unset key has no value");
    let big = "cursor 'value' 🦀 ".repeat(6_000);
    let pairs = [
        ("cursor|T|q1", "{\"updatedAt\":\"2024-01-01T00:00:00.000Z\",\"id\":\"it's\"}"),
        ("cursor|T|q2", "2"),
        ("cursor|T2|q1", "3"),
        ("cursor|U|q1", "4"),
        ("cursorX", "5"),
        ("a%", "6"),
        ("ab", "7"),
        ("a_b", "8"),
        ("aXb", "9"),
        ("A%", "10"),
        ("k'; DROP TABLE config; --", "'; DROP TABLE config; --"),
        ("empty", ""),
        ("big", big.as_str()),
        ("ünï 🦀", "ünï 🦀"),
    ];
    let owned: Vec<(String, String)> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    ok(store.transact(move |tx| owned.iter().try_for_each(|(k, v)| tx.set_config(k, v))).await, "set_config");
    for (k, v) in pairs {
        assert_eq!(config(&store, k).await.as_deref(), Some(v), "config {k:?} did not read back");
    }
    ok(store.transact(|tx| tx.set_config("cursor|T|q2", "22")).await, "overwriting a value");
    assert_eq!(config(&store, "cursor|T|q2").await.as_deref(), Some("22"), "set_config overwrites");

    let removals: [(&str, u64, &[&str]); 7] = [
        ("cursor|T|", 2, &["cursor|T|q1", "cursor|T|q2"]),
        ("a%", 1, &["a%"]),
        ("a_", 1, &["a_b"]),
        ("A", 1, &["A%"]),
        ("nope", 0, &[]),
        ("k'", 1, &["k'; DROP TABLE config; --"]),
        ("cursor", 3, &["cursor|T2|q1", "cursor|U|q1", "cursorX"]),
    ];
    let mut left: Vec<&str> = pairs.iter().map(|(k, _)| *k).collect();
    for (prefix, count, gone) in removals {
        let p = prefix.to_owned();
        let n = ok(store.transact(move |tx| tx.remove_config(&p)).await, "remove_config");
        assert_eq!(n, count, "remove_config({prefix:?}) removes {count} key(s)");
        left.retain(|k| !gone.contains(k));
        for k in &left {
            assert!(config(&store, k).await.is_some(), "remove_config({prefix:?}) removed {k:?} too");
        }
        for k in gone {
            assert_eq!(config(&store, k).await, None, "remove_config({prefix:?}) left {k:?}");
        }
    }
    let n = ok(store.transact(|tx| tx.remove_config("")).await, "remove_config(\"\")");
    assert_eq!(n, left.len() as u64, "remove_config(\"\") removes every key");
    assert_eq!(config(&store, "ab").await, None, "nothing is left");
}

/// A pulled page upserts its rows, deletes the rows the server deleted, skips items with a queued
/// local operation, and saves the cursor — all in the transaction it runs in, so a transaction
/// that fails after writing rows leaves neither rows nor cursor.
pub async fn pull_page_is_atomic<F: StoreFactory>(factory: &F) {
    let schema = todo_schema();
    let store = fresh(factory, std::slice::from_ref(&schema)).await;
    pull(
        &store,
        "Todo",
        &[server_todo("p1", "old", "v1"), server_todo("p2", "old", "v1"), server_todo("p3", "old", "v1")],
    )
    .await;
    local_ok(&store, &schema, LocalChange::Update(todo("p1", "local edit"))).await;
    let local_p1 = get(&store, "Todo", "p1").await;
    let ops = all_ops(&store).await;

    let deleted = |id: &str| conformed(&schema, json!({"id": id, "text": "gone", "deleted": true, "version": "v2"}));
    let page = vec![
        server_todo("p1", "server", "v2"),
        server_todo("p2", "server", "v2"),
        deleted("p3"),
        server_todo("p4", "new", "v1"),
        deleted("p5"),
    ];
    let cursor = Cursor { updated_at: "2024-01-02T00:00:00.000Z".into(), id: "p5".into() };
    let saved = cursor.clone();
    let rows = page.clone();
    let out = store.transact(move |tx| apply_pull_page(tx, "Todo", &rows, Some(("q", &saved)))).await;
    let out = ok(out, "apply_pull_page");
    assert_eq!(out, PageOutcome { upserted: 2, deleted: 2, skipped: 1 }, "the page's outcome");
    assert_eq!(get(&store, "Todo", "p1").await, local_p1, "an item with a queued operation is not overwritten");
    assert_eq!(get(&store, "Todo", "p2").await.as_ref(), Some(&page[1]), "a pulled row replaces the stored one");
    assert_eq!(get(&store, "Todo", "p3").await, None, "a row the server deleted is deleted");
    assert_eq!(get(&store, "Todo", "p4").await.as_ref(), Some(&page[3]), "a new pulled row is stored");
    assert_eq!(get(&store, "Todo", "p5").await, None, "a deleted row that was never stored stays absent");
    assert_eq!(saved_cursor(&store, "Todo", "q").await.as_ref(), Some(&cursor), "the cursor is saved");
    assert_eq!(all_ops(&store).await, ops, "a pulled page queues nothing");

    let before = snapshot(&store, &["Todo"]).await;
    let rows = vec![server_todo("p6", "new", "v1"), deleted("p2")];
    let res = store
        .transact(move |tx| {
            apply_pull_page(tx, "Todo", &rows, Some(("q", &next_cursor())))?;
            Err::<(), _>(StoreError::Backend { message: "the connection dropped".into(), source: None })
        })
        .await;
    assert!(matches!(res, Err(StoreError::Backend { .. })), "the failing work's error comes back, got {res:?}");
    assert_eq!(snapshot(&store, &["Todo"]).await, before, "a failed page transaction left rows behind");
    assert_eq!(
        saved_cursor(&store, "Todo", "q").await.as_ref(),
        Some(&cursor),
        "a failed page transaction saved its cursor"
    );

    let bad: Record = rec(json!({"id": "p9", "text": 5}));
    let rows = vec![server_todo("p8", "new", "v1"), bad];
    let res = store.transact(move |tx| apply_pull_page(tx, "Todo", &rows, Some(("q", &next_cursor()))).map(drop)).await;
    assert!(matches!(res, Err(StoreError::Record { .. })), "a page with a wrong-typed row fails, got {res:?}");
    assert_eq!(snapshot(&store, &["Todo"]).await, before, "a page that failed half-way left rows behind");
    assert_eq!(saved_cursor(&store, "Todo", "q").await.as_ref(), Some(&cursor), "a page that failed saved its cursor");

    let rows = vec![deleted("p1"), server_todo("p7", "full pull", "v1")];
    let out = ok(store.transact(move |tx| apply_pull_page(tx, "Todo", &rows, None)).await, "a page without cursor");
    assert_eq!(
        out,
        PageOutcome { upserted: 1, deleted: 0, skipped: 1 },
        "a deleted row with a queued operation is skipped"
    );
    assert_eq!(get(&store, "Todo", "p1").await, local_p1, "the locally edited item survives its server delete");
    assert_eq!(saved_cursor(&store, "Todo", "q").await.as_ref(), Some(&cursor), "a page without cursor saves none");
}

/// Pulled pages of any size store every row with its values (stores write them many at a time,
/// `Transaction::upsert_many`, and, for the engine's pulls, `Transaction::upsert_rows` of a
/// `RowPage`), a second page replaces them, and a page that names one id twice, or deletes it
/// after an upsert, ends as the rows one by one would. Both ways on a store of their own.
pub async fn pulled_pages_of_any_size_store_every_row<F: StoreFactory>(factory: &F) {
    for as_row_page in [false, true] {
        pulled_pages_store_every_row(factory, as_row_page).await;
    }
}

/// Applies `rows` as a pulled page: through `apply_pull_page`, or as a conformed `RowPage`
/// through the engine's `apply_pull_rows`.
async fn apply_page(store: &impl Store, schema: &TableSchema, rows: Vec<Record>, as_row_page: bool) -> PageOutcome {
    let schema = Arc::new(schema.clone());
    let what = if as_row_page { "a RowPage" } else { "a page of records" };
    ok(
        store
            .transact(move |tx| {
                if !as_row_page {
                    return apply_pull_page(tx, "Todo", &rows, None);
                }
                let items = Page { items: rows, has_next_link: false, total: None };
                let mut page = RowPage::from_page(&schema, items);
                assert!(page.conform().is_empty(), "conformed rows stay conformed");
                let all: Vec<usize> = (0..page.len()).collect();
                crate::queue::apply_pull_rows(tx, "Todo", &page, &all)
            })
            .await,
        what,
    )
}

async fn pulled_pages_store_every_row<F: StoreFactory>(factory: &F, as_row_page: bool) {
    let schema = todo_schema();
    let store = fresh(factory, std::slice::from_ref(&schema)).await;
    let row = |id: String, text: &str, n: i64| {
        conformed(
            &schema,
            json!({"id": id, "text": text, "n": n, "version": "v1",
                   "createdAt": "2024-01-01T00:00:00.000Z", "updatedAt": "2024-01-02T00:00:00.000Z"}),
        )
    };
    let mut total = 0;
    for size in [1usize, 2, 3, 255, 256, 257, 700] {
        let page: Vec<Record> = (0..size).map(|i| row(format!("s{size}-{i:04}"), "first", i as i64)).collect();
        let out = apply_page(&store, &schema, page.clone(), as_row_page).await;
        assert_eq!(out.upserted, size as u64, "a page of {size} rows");
        total += size;
        for probe in [0, size / 2, size - 1] {
            assert_eq!(
                get(&store, "Todo", page[probe].id()).await.as_ref(),
                Some(&page[probe]),
                "row {probe} of {size}"
            );
        }
        let again: Vec<Record> = (0..size).map(|i| row(format!("s{size}-{i:04}"), "second", -(i as i64))).collect();
        apply_page(&store, &schema, again.clone(), as_row_page).await;
        assert_eq!(get(&store, "Todo", again[size - 1].id()).await.as_ref(), Some(&again[size - 1]), "replaced");
    }
    let page = ok(crate::Store::query(&store, "Todo", &crate::Query::new()).await, "every row");
    assert_eq!(page.items.len(), total, "no row lost or doubled");
    let rows = vec![row("twice".into(), "one", 1), row("other".into(), "x", 0), row("twice".into(), "two", 2)];
    let out = apply_page(&store, &schema, rows, as_row_page).await;
    assert_eq!(out.upserted, 3, "an id twice");
    let stored = get(&store, "Todo", "twice").await.expect("stored");
    assert_eq!(stored.get("text"), Some(&json!("two")), "the later row wins, as one by one");
    let gone = conformed(&schema, json!({"id": "gone", "text": "x", "deleted": true, "version": "v4"}));
    let rows = vec![row("gone".into(), "here", 1), row("after".into(), "x", 0), gone];
    apply_page(&store, &schema, rows, as_row_page).await;
    assert_eq!(get(&store, "Todo", "gone").await, None, "a delete after an upsert of the same id wins");
    assert!(get(&store, "Todo", "after").await.is_some());
}

/// A completed push removes the operation and its error row and stores the server's item (for
/// inserts and updates); a completed delete stores nothing; an unknown id is a no-op.
pub async fn complete_operation_stores_the_server_item<F: StoreFactory>(factory: &F) {
    let schema = todo_schema();
    let store = fresh(factory, std::slice::from_ref(&schema)).await;
    pull(&store, "Todo", &[server_todo("s1", "old", "v1"), server_todo("s2", "old", "v1")]).await;
    let ins = local_ok(&store, &schema, LocalChange::Insert(todo("1", "milk"))).await.operation;
    let upd = local_ok(&store, &schema, LocalChange::Update(todo("s1", "edited"))).await.operation;
    let del = local_ok(&store, &schema, LocalChange::Delete("s2".into())).await.operation;
    let (Some(ins), Some(upd), Some(del)) = (ins, upd, del) else { panic!("a local change queued nothing") };
    let err = error_row(ins.id, "Todo", "1");
    ok(store.transact(move |tx| tx.put_error(&err)).await, "putting an error row");

    let complete = |op: &crate::Operation, server: Option<Record>| {
        let (id, version) = (op.id, op.version);
        store.transact(move |tx| complete_operation(tx, id, version, server.as_ref()))
    };
    let server1 = server_todo("1", "milk", "v1");
    ok(complete(&ins, Some(server1.clone())).await, "completing the insert");
    assert_eq!(get(&store, "Todo", "1").await, Some(server1), "the server's item is stored after an insert");
    assert!(errors(&store, None).await.is_empty(), "completing an operation removes its error row");
    let server_s1 = server_todo("s1", "edited", "v2");
    ok(complete(&upd, Some(server_s1.clone())).await, "completing the update");
    assert_eq!(get(&store, "Todo", "s1").await, Some(server_s1), "the server's item is stored after an update");
    ok(complete(&del, Some(server_todo("s2", "ghost", "v9"))).await, "completing the delete");
    assert_eq!(get(&store, "Todo", "s2").await, None, "a completed delete stores nothing");
    assert!(all_ops(&store).await.is_empty(), "completed operations are removed");

    let before = snapshot(&store, &["Todo"]).await;
    let unknown = crate::Operation { id: u64::MAX, ..ins.clone() };
    ok(complete(&unknown, Some(server_todo("1", "other", "v5"))).await, "completing an unknown operation");
    assert_eq!(snapshot(&store, &["Todo"]).await, before, "completing an unknown operation changes nothing");
}

/// When a newer local change was queued while an operation was being pushed, completing it keeps
/// the local fields and takes only the server's `createdAt`/`updatedAt`/`version`; a queued
/// delete's snapshot takes the new version too (so its `If-Match` is right).
pub async fn complete_operation_keeps_newer_local_changes<F: StoreFactory>(factory: &F) {
    let schema = todo_schema();
    let store = fresh(factory, std::slice::from_ref(&schema)).await;
    let ins = local_ok(&store, &schema, LocalChange::Insert(todo("1", "milk"))).await.operation;
    let ins = ins.unwrap_or_else(|| panic!("the insert queued nothing"));
    set_state(&store, ins.id, OperationState::InFlight).await;
    let newer = local_ok(&store, &schema, LocalChange::Update(todo("1", "local edit"))).await.operation;
    let server = conformed(
        &schema,
        json!({"id": "1", "text": "milk", "n": 5, "version": "v1",
               "createdAt": "2024-01-01T00:00:00.000Z", "updatedAt": "2024-01-02T00:00:00.000Z"}),
    );
    let s = server.clone();
    let sent = ins.version;
    ok(
        store.transact(move |tx| complete_operation(tx, ins.id, sent, Some(&s))).await,
        "completing the in-flight insert",
    );
    let mut expected = todo("1", "local edit");
    for col in ["version", "createdAt", "updatedAt"] {
        ok(expected.set(col, server.get(col).cloned().unwrap_or_default()), "building the expected row");
    }
    assert_eq!(get(&store, "Todo", "1").await, Some(expected), "local fields stay; server columns are adopted");
    assert_eq!(item_ops(&store, "Todo", "1").await, newer.into_iter().collect::<Vec<_>>(), "the newer operation stays");

    pull(&store, "Todo", &[server_todo("s1", "server", "v0")]).await;
    let upd = local_ok(&store, &schema, LocalChange::Update(todo("s1", "edited"))).await.operation;
    let upd = upd.unwrap_or_else(|| panic!("the update queued nothing"));
    set_state(&store, upd.id, OperationState::InFlight).await;
    local_ok(&store, &schema, LocalChange::Delete("s1".into())).await;
    let server = server_todo("s1", "edited", "v1");
    let s = server.clone();
    let sent = upd.version;
    ok(
        store.transact(move |tx| complete_operation(tx, upd.id, sent, Some(&s))).await,
        "completing the in-flight update",
    );
    let left = item_ops(&store, "Todo", "s1").await;
    assert_eq!(left.len(), 1, "only the queued delete is left");
    let snapshot = left[0].item.as_ref().unwrap_or_else(|| panic!("the queued delete lost its snapshot"));
    assert_eq!(snapshot.version(), Some("v1"), "the queued delete's snapshot takes the server's new version");
    assert_eq!(snapshot.get("text"), Some(&json!("edited")), "the snapshot keeps the local fields");
    assert_eq!(get(&store, "Todo", "s1").await, None, "the locally deleted item stays deleted");
}

/// Completing an operation whose own edit counter moved on after it was sent (a change that
/// collapsed into it) removes nothing and overwrites no local field: the operation stays queued,
/// pending, as an update over the server's version, so the newer edit is sent next.
pub async fn complete_operation_never_drops_a_change_made_after_the_send<F: StoreFactory>(factory: &F) {
    let schema = todo_schema();
    let store = fresh(factory, std::slice::from_ref(&schema)).await;
    let ins = local_ok(&store, &schema, LocalChange::Insert(todo("1", "sent"))).await.operation;
    let ins = ins.unwrap_or_else(|| panic!("the insert queued nothing"));
    let sent = ins.version;
    set_state(&store, ins.id, OperationState::InFlight).await;
    // A change lands in the operation itself after it was sent.
    let mut changed = ins.clone();
    changed.version += 1;
    ok(store.transact(move |tx| tx.update_operation(&changed)).await, "bumping the in-flight operation");
    let newer = todo("1", "newer");
    let written = newer.clone();
    ok(store.transact(move |tx| tx.upsert("Todo", &written)).await, "writing the newer local item");

    let server = conformed(
        &schema,
        json!({"id": "1", "text": "sent", "version": "v1",
        "createdAt": "2024-01-01T00:00:00.000Z", "updatedAt": "2024-01-02T00:00:00.000Z"}),
    );
    let s = server.clone();
    ok(store.transact(move |tx| complete_operation(tx, ins.id, sent, Some(&s))).await, "completing the stale send");
    let left = item_ops(&store, "Todo", "1").await;
    assert_eq!(left.len(), 1, "the operation that changed after its send stays queued");
    assert_eq!(left[0].state, OperationState::Pending, "it is sent again");
    assert_eq!(left[0].kind, crate::OperationKind::Update, "the server has the item now: an update is left");
    let local = get(&store, "Todo", "1").await.unwrap_or_else(|| panic!("the local item vanished"));
    assert_eq!(local.get("text"), Some(&json!("newer")), "the newer local field is kept");
    assert_eq!(local.version(), Some("v1"), "the server's version is adopted for the next If-Match");
}

/// Completing a push's answers together ([`complete_operations`], how a push finishes a batch)
/// leaves the store exactly as completing each in turn does: inserts, updates and deletes
/// answered, an item with a newer local change queued behind its push, an operation changed
/// after its send, two completions of one item, an item with one completion removed and one
/// changed since its send (either way round), an error row, an unknown operation.
pub async fn complete_operations_equals_completing_each<F: StoreFactory>(factory: &F) {
    let schema = todo_schema();
    let one_by_one = fresh(factory, std::slice::from_ref(&schema)).await;
    let together = fresh(factory, std::slice::from_ref(&schema)).await;
    let mut completions = Vec::new();
    for store in [&one_by_one, &together] {
        completions = completion_scenario(store, &schema).await;
    }
    let answers = completions.clone();
    ok(
        one_by_one
            .transact(move |tx| {
                answers
                    .iter()
                    .try_for_each(|(id, version, server)| complete_operation(tx, *id, *version, server.as_ref()))
            })
            .await,
        "completing each in turn",
    );
    let answers = completions;
    ok(
        together
            .transact(move |tx| {
                let all: Vec<Completion<'_>> = answers
                    .iter()
                    .map(|(op_id, sent_version, server)| Completion {
                        op_id: *op_id,
                        sent_version: *sent_version,
                        server_item: server.as_ref(),
                    })
                    .collect();
                complete_operations(tx, &all)
            })
            .await,
        "completing them together",
    );
    let expected = snapshot(&one_by_one, &["Todo"]).await;
    assert_eq!(snapshot(&together, &["Todo"]).await, expected, "completed together = completed one by one");
    assert!(
        expected.ops.iter().any(|op| op.item_id == "queued"),
        "the newer change queued behind a push is still queued"
    );
    assert!(expected.rows["Todo"].iter().any(|r| r.id() == "plain-0"), "an answered insert is stored");
}

/// The same pushes in flight on a store, answered: `(operation id, sent version, server item)`.
async fn completion_scenario(store: &dyn Store, schema: &TableSchema) -> Vec<(u64, u64, Option<Record>)> {
    pull(store, "Todo", &[server_todo("s1", "old", "v1"), server_todo("s2", "old", "v1")]).await;
    let mut out = Vec::new();
    let queue =
        |change| async { local_ok(store, schema, change).await.operation.unwrap_or_else(|| panic!("queued nothing")) };
    for i in 0..5 {
        let op = queue(LocalChange::Insert(todo(&format!("plain-{i}"), "milk"))).await;
        out.push((op.id, op.version, Some(server_todo(&format!("plain-{i}"), "milk", "v1"))));
    }
    let upd = queue(LocalChange::Update(todo("s1", "edited"))).await;
    out.push((upd.id, upd.version, Some(server_todo("s1", "edited", "v2"))));
    let del = queue(LocalChange::Delete("s2".into())).await;
    out.push((del.id, del.version, Some(server_todo("s2", "ghost", "v9"))));
    let err = error_row(upd.id, "Todo", "s1");
    ok(store.transact(move |tx| tx.put_error(&err)).await, "putting an error row");
    // In flight, with a newer local change queued behind it.
    let sent = queue(LocalChange::Insert(todo("queued", "sent"))).await;
    set_state(store, sent.id, OperationState::InFlight).await;
    queue(LocalChange::Update(todo("queued", "newer"))).await;
    out.push((sent.id, sent.version, Some(server_todo("queued", "sent", "v1"))));
    // Changed after its send.
    let stale = queue(LocalChange::Insert(todo("stale", "sent"))).await;
    let mut bumped = stale.clone();
    bumped.version += 1;
    ok(store.transact(move |tx| tx.update_operation(&bumped)).await, "bumping an operation after its send");
    out.push((stale.id, stale.version, Some(server_todo("stale", "sent", "v1"))));
    // Two completions of one item: the insert in flight and the update queued behind it.
    let first = queue(LocalChange::Insert(todo("twice", "one"))).await;
    set_state(store, first.id, OperationState::InFlight).await;
    let second = queue(LocalChange::Update(todo("twice", "two"))).await;
    out.push((first.id, first.version, Some(server_todo("twice", "one", "v1"))));
    out.push((second.id, second.version, Some(server_todo("twice", "two", "v2"))));
    // One item with an operation removed, then one changed since its send; and one item the
    // other way round.
    for (id, changed_first) in [("mixed", false), ("mixed-reversed", true)] {
        let first = queue(LocalChange::Insert(todo(id, "one"))).await;
        set_state(store, first.id, OperationState::InFlight).await;
        let second = queue(LocalChange::Update(todo(id, "two"))).await;
        out.push((first.id, first.version, Some(server_todo(id, "one", "v1"))));
        out.push((second.id, second.version, Some(server_todo(id, "two", "v2"))));
        let mut bumped = if changed_first { first } else { second };
        bumped.version += 1;
        ok(store.transact(move |tx| tx.update_operation(&bumped)).await, "bumping an operation after its send");
    }
    out.push((u64::MAX, 1, Some(server_todo("nobody", "x", "v1"))));
    out
}

fn next_cursor() -> Cursor {
    Cursor { updated_at: "2024-01-03T00:00:00.000Z".into(), id: "next".into() }
}

async fn saved_cursor(store: &dyn crate::Store, table: &str, query_id: &str) -> Option<Cursor> {
    let (table, query_id) = (table.to_owned(), query_id.to_owned());
    ok(store.transact(move |tx| Cursor::load(tx, &table, &query_id)).await, "loading a saved cursor")
}
