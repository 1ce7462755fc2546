//! Cases for `query_page`: order, page sizes and the keyset cursor of incremental pull
//! (`docs/architecture.md`, "Pull with the keyset cursor"; `docs/protocol.md`, "Paging" and
//! "Known problems of timestamp paging").

use std::time::Duration;

use serde_json::json;

use super::support::{assert_keyset_order, expect_err, ok, patch, Case, PAGE};
use super::RemoteFactory;
use crate::cursor::Cursor;
use crate::error::{RemoteError, RemoteErrorKind};
use crate::query::expr::column;
use crate::record::Record;
use crate::remote::Remote;

const ITEM: &str = "Item";

fn ids(rows: &[Record]) -> Vec<String> {
    rows.iter().map(|r| r.id().to_owned()).collect()
}

/// Rows matching the filter come ordered by `(updatedAt, id)`, whatever the insertion order.
pub async fn query_page_filters_and_orders_by_updated_at_then_id(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    for (suffix, n) in [("e", 5), ("c", 3), ("a", 1), ("d", 4), ("b", 2)] {
        c.insert(ITEM, &c.item(suffix, json!({"n": n}))).await;
    }
    let page = c.page(ITEM, &c.mine("name"), None, PAGE).await;
    assert_eq!(page.items.len(), 5, "query_page must return the case's 5 rows: {:?}", ids(&page.items));
    assert_keyset_order(&page.items, "query_page");
    let filtered = c.page(ITEM, &c.mine("name").and(column("n").ge(2)), None, PAGE).await;
    let mut got = ids(&filtered.items);
    assert_keyset_order(&filtered.items, "query_page with a filter");
    got.sort();
    assert_eq!(got, c.ids(&["b", "c", "d", "e"]), "the filter n ge 2 must apply");
}

/// `updatedAt` orders before `id`: later rows with smaller ids come after earlier rows.
pub async fn query_page_orders_by_updated_at_before_id(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    let early = "2002-02-02T02:02:02.002Z";
    let late = "2002-02-02T02:02:02.003Z";
    factory.seed(ITEM, vec![c.item("b1", json!({})), c.item("b2", json!({})), c.item("b3", json!({}))], early).await;
    factory.seed(ITEM, vec![c.item("a1", json!({})), c.item("a2", json!({})), c.item("a3", json!({}))], late).await;
    let first = c.page(ITEM, &c.mine("name"), None, 4).await;
    assert_eq!(ids(&first.items), c.ids(&["b1", "b2", "b3"]).into_iter().chain([c.id("a1")]).collect::<Vec<_>>());
    let cursor = Cursor::after(&first.items[3]);
    let second = c.page(ITEM, &c.mine("name"), cursor.as_ref(), 4).await;
    assert_eq!(ids(&second.items), c.ids(&["a2", "a3"]), "the page after the cursor");
}

/// `has_next_link` is set on a full page (the Node server adds `Link: rel=next` when the page
/// holds `$top` rows) and never on a short one; `page_size` caps the page.
pub async fn query_page_announces_a_next_page_only_when_full(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    for i in 0..5 {
        c.insert(ITEM, &c.item(&format!("{i}"), json!({"n": i}))).await;
    }
    let mut cursor = None;
    for (expected, next) in [(2, true), (2, true), (1, false)] {
        let page = c.page(ITEM, &c.mine("name"), cursor.as_ref(), 2).await;
        assert_eq!(page.items.len(), expected, "page_size 2 over 5 rows: {:?}", ids(&page.items));
        assert_eq!(page.has_next_link, next, "has_next_link of a page of {expected} with page_size 2");
        cursor = page.items.last().and_then(Cursor::after);
    }
}

/// The Node server rejects `$top` over 1000 with a 400; 1000 itself is fine.
pub async fn query_page_size_over_1000_is_bad_request(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    c.insert(ITEM, &c.item("a", json!({}))).await;
    let filter = c.mine("name");
    expect_err(
        c.remote.query_page(ITEM, Some(&filter), None, 1001).await,
        RemoteErrorKind::BadRequest,
        Some(400),
        "query_page with page_size 1001",
    );
    let page = ok(c.remote.query_page(ITEM, Some(&filter), None, 1000).await, "query_page with page_size 1000");
    assert_eq!(page.items.len(), 1);
    assert!(!page.has_next_link);
}

/// 250 rows on ONE `updatedAt`, paged by 100 with the keyset cursor: every row exactly once, in
/// id order, pages of 100, 100, 50, then an empty page. (`$skip` paging on `updatedAt` alone
/// loops or skips rows here, `docs/protocol.md`, "Known problems of timestamp paging".)
pub async fn keyset_paging_over_rows_sharing_one_updated_at(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    let shared = "2003-03-03T03:03:03.303Z";
    let rows: Vec<Record> = (0..250).map(|i| c.item(&format!("{i:04}"), json!({"n": i}))).collect();
    let mut expected = ids(&rows);
    expected.sort();
    factory.seed(ITEM, rows, shared).await;

    let filter = c.mine("name");
    let mut seen: Vec<Record> = Vec::new();
    let mut cursor: Option<Cursor> = None;
    for (i, size) in [100, 100, 50, 0].into_iter().enumerate() {
        let page = c.page(ITEM, &filter, cursor.as_ref(), 100).await;
        assert_eq!(page.items.len(), size, "page {i} of 250 rows by 100 from cursor {cursor:?}");
        if size == 0 {
            break;
        }
        seen.extend(page.items);
        cursor = seen.last().and_then(Cursor::after);
    }
    assert_eq!(ids(&seen), expected, "every row exactly once, in id order");
    let first = seen[0].updated_at();
    assert!(seen.iter().all(|r| r.updated_at() == first), "the seeded rows must share one updatedAt");
}

/// The cursor is exclusive: at the last row the page is empty; at a middle row it starts after it.
pub async fn cursor_is_strictly_after(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    let at = "2004-04-04T04:04:04.404Z";
    factory.seed(ITEM, vec![c.item("a", json!({})), c.item("b", json!({})), c.item("c", json!({}))], at).await;
    let filter = c.mine("name");
    let all = c.page(ITEM, &filter, None, PAGE).await.items;
    assert_eq!(ids(&all), c.ids(&["a", "b", "c"]));
    let after = |r: &Record| Cursor::after(r).unwrap_or_else(|| panic!("row without updatedAt: {r:?}"));
    let page = c.page(ITEM, &filter, Some(&after(&all[2])), PAGE).await;
    assert!(page.items.is_empty(), "a cursor at the last row must give an empty page: {:?}", ids(&page.items));
    assert!(!page.has_next_link);
    let page = c.page(ITEM, &filter, Some(&after(&all[1])), PAGE).await;
    assert_eq!(ids(&page.items), [c.id("c")], "a cursor at the middle row");
    let before_all = Cursor { updated_at: all[0].updated_at().unwrap_or_default().to_owned(), id: c.marker.clone() };
    let page = c.page(ITEM, &filter, Some(&before_all), PAGE).await;
    assert_eq!(page.items.len(), 3, "a cursor on the same updatedAt before every id");
}

/// Incremental pull: after the cursor reached the end, an update and a delete show up as the
/// rows after that cursor (the delete with `deleted: true`).
pub async fn cursor_sees_later_updates_and_deletes(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    let a = c.insert(ITEM, &c.item("a", json!({"n": 1}))).await;
    let b = c.insert(ITEM, &c.item("b", json!({"n": 2}))).await;
    let filter = c.mine("name");
    let all = c.all(ITEM, &filter).await;
    assert_eq!(all.len(), 2);
    let end = all.last().and_then(Cursor::after);
    assert!(c.page(ITEM, &filter, end.as_ref(), PAGE).await.items.is_empty(), "nothing after the end");

    // Let the server clock move past the cursor's timestamp.
    tokio::time::sleep(Duration::from_millis(10)).await;
    let a2 = ok(c.remote.update(ITEM, &patch(a.id(), json!({"n": 10})), a.version()).await, "update");
    let page = c.page(ITEM, &filter, end.as_ref(), PAGE).await;
    assert_eq!(ids(&page.items), [a.id().to_owned()], "the updated row comes after the old cursor");
    assert_eq!(page.items[0].version(), a2.version());

    let end = page.items.last().and_then(Cursor::after);
    tokio::time::sleep(Duration::from_millis(10)).await;
    ok(c.remote.delete(ITEM, b.id(), b.version()).await, "delete");
    let page = c.page(ITEM, &filter, end.as_ref(), PAGE).await;
    assert_eq!(ids(&page.items), [b.id().to_owned()], "the deleted row comes after the cursor");
    assert!(page.items[0].is_deleted(), "with deleted: true");
    let end = page.items.last().and_then(Cursor::after);
    assert!(c.page(ITEM, &filter, end.as_ref(), PAGE).await.items.is_empty(), "and then nothing");
}

/// `query_by_id` pages by `id` alone, soft-deleted rows included, whatever the timestamps; the
/// filter applies, `updatedAt` windows too. A remote with exact timestamps may answer 501 (it
/// never needs this query).
pub async fn query_by_id_pages_in_id_order(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    let early = "2003-03-03T03:03:03.003Z";
    let late = "2003-03-03T03:03:03.004Z";
    factory.seed(ITEM, vec![c.item("d", json!({})), c.item("b", json!({}))], late).await;
    factory.seed(ITEM, vec![c.item("e", json!({})), c.item("a", json!({})), c.item("c", json!({}))], early).await;
    let first = c.remote.query_by_id(ITEM, Some(&c.mine("name")), None, 2).await;
    if c.remote.exact_timestamps() && matches!(first, Err(RemoteError::BadRequest { status: 501, .. })) {
        return;
    }
    let first = ok(first, "query_by_id from the start");
    assert_eq!(ids(&first.items), c.ids(&["a", "b"]), "by id, not by updatedAt");
    assert!(first.has_next_link, "a full page announces the next");
    ok(c.remote.delete(ITEM, &c.id("b"), None).await, "delete b");
    let second = ok(c.remote.query_by_id(ITEM, Some(&c.mine("name")), Some(&c.id("b")), 2).await, "after b");
    assert_eq!(ids(&second.items), c.ids(&["c", "d"]), "the page after b");
    let third = ok(c.remote.query_by_id(ITEM, Some(&c.mine("name")), Some(&c.id("d")), 2).await, "after d");
    assert_eq!(ids(&third.items), c.ids(&["e"]));
    assert!(!third.has_next_link, "a short page is the last");
    let all = ok(c.remote.query_by_id(ITEM, Some(&c.mine("name")), None, PAGE).await, "every row");
    assert!(all.items.iter().any(|r| r.id() == c.id("b") && r.is_deleted()), "soft-deleted rows are included");
    let window = c.mine("name").and(column("updatedAt").lt(crate::QueryValue::DateTime(late.to_owned())));
    let early_rows = ok(c.remote.query_by_id(ITEM, Some(&window), None, PAGE).await, "an updatedAt window");
    assert_eq!(ids(&early_rows.items), c.ids(&["a", "c", "e"]), "only the rows before {late}");
}

/// `query_rows` answers what the call it stands for answers (`query_page` with and without the
/// total, `query_by_id`), each row's fields placed by column: a remote that parses pages
/// itself must read them as its records read, since the engine pulls through it.
pub async fn query_rows_reads_pages_as_the_calls_they_stand_for(factory: &dyn RemoteFactory) {
    use crate::remote::PageRequest;
    use crate::row_page::RowPage;
    use crate::schema::{Column, ColumnType, TableSchema};

    let c = Case::start(factory).await;
    for (suffix, n, flag) in [("a", json!(1), true), ("b", json!(2.5), false), ("c", json!(-3), true)] {
        c.insert(ITEM, &c.item(suffix, json!({"n": n, "flag": flag}))).await;
    }
    ok(c.remote.delete(ITEM, &c.id("b"), None).await, "delete b");
    let columns = vec![
        Column::nullable("name", ColumnType::String),
        Column::nullable("n", ColumnType::Real),
        Column::nullable("flag", ColumnType::Bool),
    ];
    let schema = std::sync::Arc::new(TableSchema::new(ITEM, columns).unwrap());
    let filter = c.mine("name");
    let first = c.page(ITEM, &filter, None, 2).await;
    let cursor = first.items.first().and_then(Cursor::after);
    let by_id = c.remote.query_by_id(ITEM, Some(&filter), None, PAGE).await;
    let mut requests = vec![
        PageRequest::Keyset { filter: Some(&filter), cursor: None, page_size: 2, with_total: false },
        PageRequest::Keyset { filter: Some(&filter), cursor: None, page_size: PAGE, with_total: true },
        PageRequest::Keyset { filter: Some(&filter), cursor: cursor.as_ref(), page_size: PAGE, with_total: false },
    ];
    if !matches!(by_id, Err(RemoteError::BadRequest { status: 501, .. })) {
        requests.push(PageRequest::ById { filter: Some(&filter), after_id: None, page_size: PAGE });
    }
    for request in requests {
        let page = match request {
            PageRequest::Keyset { filter, cursor, page_size, with_total: false } => {
                c.remote.query_page(ITEM, filter, cursor, page_size).await
            }
            PageRequest::Keyset { filter, cursor, page_size, with_total: true } => {
                c.remote.query_page_with_total(ITEM, filter, cursor, page_size).await
            }
            PageRequest::ById { filter, after_id, page_size } => {
                c.remote.query_by_id(ITEM, filter, after_id, page_size).await
            }
        };
        let mut expected = RowPage::from_page(&schema, ok(page, &format!("{request:?}")));
        let mut rows = ok(c.remote.query_rows(&schema, request).await, &format!("query_rows {request:?}"));
        assert_eq!(
            (rows.len(), rows.has_next_link, rows.total),
            (expected.len(), expected.has_next_link, expected.total),
            "query_rows({request:?}): rows, next link and total as the call it stands for"
        );
        assert_eq!(rows.conform(), expected.conform(), "query_rows({request:?}): the same rows rejected");
        for i in 0..rows.len() {
            assert_eq!(rows.record(i).ok(), expected.record(i).ok(), "query_rows({request:?}), row {i}");
            assert_eq!(rows.is_deleted(i), expected.is_deleted(i), "query_rows({request:?}), row {i} deleted");
        }
    }
}
