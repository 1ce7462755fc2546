//! Every operation and error kind against the REAL official Node server (tests/server), started
//! per test by `NodeServer`. If the server cannot be installed or started these tests fail.

use std::time::Duration;

use backend_azure_rest::test_server::NodeServer;
use backend_azure_rest::{is_connect, AuthScheme, AzureRestRemote};
use serde_json::{json, Value};
use sync_core::backend::{Cursor, RemoteError, RemoteErrorKind as K};
use sync_core::{column, Record, Remote};

async fn server() -> NodeServer {
    match NodeServer::start().await {
        Ok(s) => s,
        Err(e) => panic!("the Node test server must be installable and start: {e}"),
    }
}

fn rec(v: Value) -> Record {
    Record::from_json(v).unwrap()
}

fn kind<T: std::fmt::Debug>(r: Result<T, RemoteError>) -> RemoteError {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e,
    }
}

/// Pages the whole table with the keyset cursor; returns all rows in order.
async fn pull_all(remote: &AzureRestRemote, table: &str, filter: Option<&sync_core::Expr>, top: u64) -> Vec<Record> {
    let mut cursor: Option<Cursor> = None;
    let mut out = Vec::new();
    for _ in 0..10_000 {
        let page = remote.query_page(table, filter, cursor.as_ref(), top).await.unwrap();
        let n = page.items.len() as u64;
        if n == 0 {
            break;
        }
        assert_eq!(page.has_next_link, n == top, "Link rel=next iff the page is full");
        cursor = Cursor::after(page.items.last().unwrap());
        out.extend(page.items);
        if n < top && !page.has_next_link {
            break;
        }
    }
    out
}

#[tokio::test]
async fn insert_read_update_delete_roundtrip() {
    let s = server().await;
    let r = s.remote();
    // System columns in the local row are stripped (the server would answer 400 "reserved").
    let local = rec(json!({"id": "a1", "name": "alpha", "n": 5, "flag": true,
        "createdAt": "2000-01-01T00:00:00.000Z", "updatedAt": "2000-01-01T00:00:00.000Z",
        "version": "AAAA", "deleted": false}));
    let created = r.insert("Item", &local).await.unwrap();
    assert_eq!(created.id(), "a1");
    assert_eq!(created.version(), Some("MQ=="));
    assert_eq!(created.get("name"), Some(&json!("alpha")));
    assert!(!created.is_deleted());
    assert_ne!(created.updated_at(), Some("2000-01-01T00:00:00.000Z"));

    let read = r.read("Item", "a1").await.unwrap();
    assert_eq!(read, created);

    let mut changed = read.clone();
    changed.set("name", json!("beta")).unwrap();
    let updated = r.update("Item", &changed, read.version()).await.unwrap();
    assert_eq!(updated.get("name"), Some(&json!("beta")));
    assert_eq!(updated.version(), Some("Mg=="));
    assert!(updated.updated_at() >= created.updated_at());

    // Update without a version: last writer wins.
    let mut again = updated.clone();
    again.set("n", json!(6)).unwrap();
    assert_eq!(r.update("Item", &again, None).await.unwrap().version(), Some("Mw=="));

    r.delete("Item", "a1", Some("Mw==")).await.unwrap();
    assert_eq!(kind(r.read("Item", "a1").await).kind(), K::NotFound);
    // The soft-deleted row shows up in queries.
    let rows = pull_all(&r, "Item", None, 10).await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0].is_deleted());
    assert_eq!(rows[0].version(), Some("NA=="));
}

#[tokio::test]
async fn insert_without_user_columns_and_delete_without_version() {
    let s = server().await;
    let r = s.remote();
    let created = r.insert("TodoItem", &Record::with_id("t1").unwrap()).await.unwrap();
    assert_eq!(created.get("text"), Some(&Value::Null));
    r.delete("TodoItem", "t1", None).await.unwrap();
    assert_eq!(kind(r.delete("TodoItem", "t1", None).await).kind(), K::NotFound);
}

#[tokio::test]
async fn insert_conflict_carries_the_servers_item_not_the_echo() {
    let s = server().await;
    let r = s.remote();
    let first = r.insert("Item", &rec(json!({"id": "dup", "name": "server"}))).await.unwrap();
    let e = kind(r.insert("Item", &rec(json!({"id": "dup", "name": "client"}))).await);
    assert_eq!((e.kind(), e.status()), (K::Conflict, Some(409)));
    let item = e.server_item().expect("the server's item is read after a 409 on insert");
    assert_eq!(item.get("name"), Some(&json!("server")));
    assert_eq!(item.version(), first.version());

    // Without the extra GET the echo is not mistaken for the server's item.
    let plain = s.remote_builder().fetch_server_item_on_insert_conflict(false).build().unwrap();
    let e = kind(plain.insert("Item", &rec(json!({"id": "dup", "name": "client"}))).await);
    assert_eq!(e.kind(), K::Conflict);
    assert!(e.server_item().is_none());

    // A soft-deleted id still conflicts, and its GET is a 404: no item.
    r.delete("Item", "dup", None).await.unwrap();
    let e = kind(r.insert("Item", &rec(json!({"id": "dup", "name": "client"}))).await);
    assert_eq!((e.kind(), e.status()), (K::Conflict, Some(409)));
    assert!(e.server_item().is_none());
}

#[tokio::test]
async fn stale_versions_are_412_with_the_server_item() {
    let s = server().await;
    let r = s.remote();
    let v1 = r.insert("Item", &rec(json!({"id": "c1", "name": "one"}))).await.unwrap();
    let mut two = v1.clone();
    two.set("name", json!("two")).unwrap();
    let v2 = r.update("Item", &two, v1.version()).await.unwrap();

    let mut stale = v1.clone();
    stale.set("name", json!("stale")).unwrap();
    let e = kind(r.update("Item", &stale, v1.version()).await);
    assert_eq!((e.kind(), e.status()), (K::Conflict, Some(412)));
    assert_eq!(e.server_item(), Some(&v2));

    let e = kind(r.delete("Item", "c1", v1.version()).await);
    assert_eq!((e.kind(), e.status()), (K::Conflict, Some(412)));
    assert_eq!(e.server_item().and_then(Record::version), Some("Mg=="));

    // `*` and odd versions are literal on NODE, and quoting survives the trip.
    for v in ["*", "W/\"Mg==\"", "a\"b", "MQ=="] {
        let e = kind(r.update("Item", &two, Some(v)).await);
        assert_eq!(e.status(), Some(412), "{v:?}");
    }
    // Keep-local: re-send with the server's version.
    let v3 = r.update("Item", &stale, e.server_item().and_then(Record::version)).await.unwrap();
    assert_eq!(v3.get("name"), Some(&json!("stale")));
}

#[tokio::test]
async fn unknown_and_deleted_items_are_not_found() {
    let s = server().await;
    let r = s.remote();
    assert_eq!(kind(r.read("Item", "nope").await).kind(), K::NotFound);
    // (A PATCH body with no column but the id is a 500 on NODE-SQLite: `UPDATE … SET WHERE`.)
    let nope = rec(json!({"id": "nope", "name": "x"}));
    assert_eq!(kind(r.update("Item", &nope, None).await).kind(), K::NotFound);
    assert_eq!(kind(r.update("Item", &nope, Some("MQ==")).await).kind(), K::NotFound);
    assert_eq!(kind(r.delete("Item", "nope", Some("MQ==")).await).kind(), K::NotFound);
    let e = kind(r.read("NoSuchTable", "x").await);
    assert_eq!(e.kind(), K::NotFound);
    r.insert("Item", &Record::with_id("gone").unwrap()).await.unwrap();
    r.delete("Item", "gone", None).await.unwrap();
    let gone = rec(json!({"id": "gone", "name": "x"}));
    assert_eq!(kind(r.update("Item", &gone, None).await).kind(), K::NotFound);
}

#[tokio::test]
async fn auth_tokens_are_required_and_never_shown() {
    let s = match NodeServer::builder().auth_token("s3cr3t-token").start().await {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let ok = s.remote();
    ok.insert("Item", &Record::with_id("x").unwrap()).await.unwrap();
    let bearer = s.remote_builder().auth_scheme(AuthScheme::Bearer).build().unwrap();
    assert_eq!(bearer.read("Item", "x").await.unwrap().id(), "x");

    let none = AzureRestRemote::builder(s.url()).build().unwrap();
    let e = kind(none.read("Item", "x").await);
    assert_eq!((e.kind(), e.status()), (K::Unauthorized, Some(401)));
    let wrong = AzureRestRemote::builder(s.url()).token("wrong-token").build().unwrap();
    for e in [
        kind(wrong.read("Item", "x").await),
        kind(wrong.insert("Item", &Record::with_id("y").unwrap()).await),
        kind(wrong.query_page("Item", None, None, 10).await),
        kind(wrong.delete("Item", "x", None).await),
    ] {
        assert_eq!(e.kind(), K::Unauthorized);
        assert!(!format!("{e} {e:?}").contains("wrong-token"));
    }
    assert!(!format!("{ok:?} {wrong:?}").contains("token\""));
    assert!(!format!("{ok:?}").contains("s3cr3t"));
}

#[tokio::test]
async fn top_above_1000_is_a_bad_request() {
    let s = server().await;
    let r = s.remote();
    let e = kind(r.query_page("Item", None, None, 1001).await);
    assert_eq!((e.kind(), e.status()), (K::BadRequest, Some(400)));
    assert!(e.to_string().contains("1000"), "{e}");
    assert!(r.query_page("Item", None, None, 1000).await.unwrap().items.is_empty());
    // `$top=0` would mean the server's page size of 50: the remote sends its default instead.
    assert!(r.query_page("Item", None, None, 0).await.unwrap().items.is_empty());
}

#[tokio::test]
async fn server_errors_are_transient_with_status() {
    let s = server().await;
    let r = s.remote();
    // NODE answers 500 for an unknown column (SQLITE_ERROR), and for filter syntax it cannot parse.
    let e = kind(r.insert("Item", &rec(json!({"id": "u1", "nosuchcolumn": 1}))).await);
    assert_eq!((e.kind(), e.status()), (K::Transient, Some(500)));
    let e = kind(r.query_page("Item", Some(&column("nosuchcolumn").eq(1)), None, 10).await);
    assert_eq!((e.kind(), e.status()), (K::Transient, Some(500)));
}

const HOSTILE_IDS: &[&str] = &[
    "a b",
    "hash#frag",
    "per%cent",
    "%2F",
    "%2e%2e",
    "semi;colon&amp=eq",
    "quote'single",
    "it''s",
    "é-unicode-ü",
    "emoji-🦀-🎉",
    "中文",
    "tab-less~tilde",
    "<angle>",
    "{brace}|pipe^caret",
    "[bracket]@at:colon!",
    "$dollar,comma*star(paren)",
    " leading-and-trailing ",
];

#[tokio::test]
async fn hostile_ids_survive_every_operation() {
    let s = server().await;
    let r = s.remote();
    for id in HOSTILE_IDS {
        let created = r.insert("Item", &rec(json!({"id": id, "name": id}))).await.unwrap();
        assert_eq!(created.id(), *id);
        let read = r.read("Item", id).await.unwrap();
        assert_eq!(read.get("name"), Some(&json!(id)));
        let mut changed = read.clone();
        changed.set("n", json!(1)).unwrap();
        let updated = r.update("Item", &changed, read.version()).await.unwrap();
        assert_eq!(updated.id(), *id);
        let page = r.query_page("Item", Some(&column("id").eq(*id)), None, 10).await.unwrap();
        assert_eq!(page.items.len(), 1, "{id:?}");
        assert_eq!(page.items[0].id(), *id);
    }
    // Ids the protocol forbids are refused before sending.
    for id in ["a/b", "a?b", "a+b", "..", "a\"b", "a\\b", "back`tick", "", "a\nb"] {
        let e = kind(r.read("Item", id).await);
        assert_eq!(e.kind(), K::BadRequest, "{id:?}");
        assert!(e.to_string().contains("not sent"), "{e}");
    }
    assert_eq!(kind(r.read("bad table", "a").await).kind(), K::BadRequest);
    assert_eq!(kind(r.query_page("__operations", None, None, 1).await).kind(), K::BadRequest);
    let all = pull_all(&r, "Item", None, 7).await;
    assert_eq!(all.len(), HOSTILE_IDS.len());
    for id in HOSTILE_IDS {
        r.delete("Item", id, None).await.unwrap();
    }
}

#[tokio::test]
async fn hostile_values_are_encoded_in_filters() {
    let s = server().await;
    let r = s.remote();
    let values = [
        "it's",
        "''",
        "a+b",
        "a b",
        "a&b=c",
        "100%",
        "#hash",
        "?q",
        "é🦀",
        "slash/back\\",
        "\"dq\"",
        "+%2B",
        "x%20y",
        " ",
        "(paren) and 1 eq 1",
        "' or 1 eq 1 or name eq '",
    ];
    for (i, v) in values.iter().enumerate() {
        let created = r.insert("Item", &rec(json!({"id": format!("v{i}"), "name": v, "n": i}))).await.unwrap();
        assert_eq!(created.get("name"), Some(&json!(v)));
    }
    for (i, v) in values.iter().enumerate() {
        let page = r.query_page("Item", Some(&column("name").eq(*v)), None, 100).await.unwrap();
        let ids: Vec<&str> = page.items.iter().map(Record::id).collect();
        assert_eq!(ids, vec![format!("v{i}").as_str()], "value {v:?}");
    }
    let page = r.query_page("Item", Some(&(column("n").ge(3) & column("n").lt(5))), None, 100).await.unwrap();
    assert_eq!(page.items.len(), 2);
}

#[tokio::test]
async fn keyset_pages_cover_shared_timestamps_exactly_once() {
    let s = server().await;
    let r = s.remote();
    let t = "2024-01-01T00:00:00.000Z";
    s.seed("Item", 120, t, "k-").await.unwrap();
    // A few rows just before and after, some deleted, from the rows script.
    let before: Vec<Value> = (0..3).map(|i| json!({"id": format!("b{i}"), "name": "before"})).collect();
    s.seed_rows("Item", &before, "2023-12-31T23:59:59.999Z").await.unwrap();
    let after: Vec<Value> =
        (0..5).map(|i| json!({"id": format!("z{i}"), "name": "after", "deleted": i % 2 == 0})).collect();
    s.seed_rows("Item", &after, "2024-01-01T00:00:00.001Z").await.unwrap();

    for top in [1, 7, 50, 1000] {
        let rows = pull_all(&r, "Item", None, top).await;
        assert_eq!(rows.len(), 128, "top {top}");
        let keys: Vec<(String, String)> =
            rows.iter().map(|x| (x.updated_at().unwrap().to_owned(), x.id().to_owned())).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(keys, sorted, "ordered by (updatedAt, id), no duplicates, top {top}");
        assert_eq!(rows.iter().filter(|x| x.is_deleted()).count(), 3);
    }
    // A user filter combines with the cursor.
    let f = column("name").eq("after");
    let rows = pull_all(&r, "Item", Some(&f), 2).await;
    assert_eq!(rows.iter().map(Record::id).collect::<Vec<_>>(), ["z0", "z1", "z2", "z3", "z4"]);
    // A cursor in the middle of the shared timestamp.
    let c = Cursor { updated_at: t.to_owned(), id: "k-000099".to_owned() };
    let page = r.query_page("Item", None, Some(&c), 1000).await.unwrap();
    assert_eq!(page.items.len(), 20 + 5);
    assert_eq!(page.items[0].id(), "k-000100");
    assert!(!page.has_next_link);
    // page_size 0 means the default page size.
    assert_eq!(r.query_page("Item", None, None, 0).await.unwrap().items.len(), 128);
}

#[tokio::test]
async fn the_total_counts_every_page_after_the_cursor_with_deleted_rows() {
    let s = server().await;
    let r = s.remote();
    let t = "2024-01-01T00:00:00.000Z";
    s.seed("Item", 30, t, "n-").await.unwrap();
    let gone: Vec<Value> = (0..4).map(|i| json!({"id": format!("z{i}"), "name": "gone", "deleted": true})).collect();
    s.seed_rows("Item", &gone, "2024-01-01T00:00:00.001Z").await.unwrap();

    let first = r.query_page_with_total("Item", None, None, 10).await.unwrap();
    assert_eq!((first.items.len(), first.total), (10, Some(34)), "deleted rows count: they are pulled too");
    assert!(first.has_next_link, "the inline count keeps the next link");
    let c = Cursor::after(first.items.last().unwrap()).unwrap();
    assert_eq!(r.query_page_with_total("Item", None, Some(&c), 10).await.unwrap().total, Some(24), "after the cursor");
    let f = column("name").eq("gone");
    assert_eq!(r.query_page_with_total("Item", Some(&f), None, 2).await.unwrap().total, Some(4), "the filter counts");
    assert_eq!(r.query_page("Item", None, None, 10).await.unwrap().total, None, "only asked for, never by default");
}

#[tokio::test]
async fn oversized_bodies_are_protocol_errors() {
    let s = server().await;
    s.seed("Item", 50, "2024-01-01T00:00:00.000Z", "big-").await.unwrap();
    let tiny = s.remote_builder().max_body_bytes(100).build().unwrap();
    let e = kind(tiny.query_page("Item", None, None, 50).await);
    assert_eq!(e.kind(), K::Protocol);
    assert!(e.to_string().contains("limit"), "{e}");
    assert_eq!(kind(tiny.read("Item", "big-000001").await).kind(), K::Protocol);
    assert_eq!(s.remote().query_page("Item", None, None, 50).await.unwrap().items.len(), 50);
}

#[tokio::test]
async fn a_closed_port_is_transient() {
    let s = server().await;
    let url = s.url();
    drop(s);
    let r = AzureRestRemote::builder(url).build().unwrap();
    let e = kind(r.read("Item", "x").await);
    assert_eq!((e.kind(), e.status()), (K::Offline, None));
    assert!(is_connect(&e), "{e:?}");
    assert!(e.is_retryable());
}

#[tokio::test]
async fn a_server_killed_mid_request_is_transient_and_restarts_with_its_data() {
    let mut s = server().await;
    let r = s.remote();
    r.insert("Item", &rec(json!({"id": "keep", "name": "kept"}))).await.unwrap();
    let port = s.port();

    // Mid-pull: the server is frozen while the query is in flight, then killed.
    s.suspend().await.unwrap();
    let pull = tokio::spawn({
        let r = r.clone();
        async move { r.query_page("Item", None, None, 100).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!pull.is_finished());
    s.kill().await.unwrap();
    let e = kind(pull.await.unwrap());
    assert_eq!((e.kind(), e.status()), (K::Offline, None), "{e:?}");

    // Down: connection refused.
    assert_eq!(kind(r.read("Item", "keep").await).kind(), K::Offline);

    s.restart().await.unwrap();
    assert_eq!(s.port(), port);
    assert_eq!(r.read("Item", "keep").await.unwrap().get("name"), Some(&json!("kept")));

    // Mid-push: same with an update in flight.
    s.suspend().await.unwrap();
    let push = tokio::spawn({
        let r = r.clone();
        async move { r.update("Item", &rec(json!({"id": "keep", "name": "lost?"})), None).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.kill().await.unwrap();
    assert_eq!(kind(push.await.unwrap()).kind(), K::Offline);
    s.restart().await.unwrap();
    // The request never reached the SDK (the process was frozen): the old value is there.
    assert_eq!(r.read("Item", "keep").await.unwrap().get("name"), Some(&json!("kept")));
}

#[tokio::test]
async fn a_frozen_server_times_out() {
    let mut s = server().await;
    let r = s.remote_builder().timeout(Duration::from_millis(300)).build().unwrap();
    s.suspend().await.unwrap();
    let e = kind(r.read("Item", "x").await);
    assert_eq!(e.kind(), K::Offline);
    assert!(backend_azure_rest::is_timeout(&e), "{e:?}");
    s.resume().await.unwrap();
    // Answering again; asked with the default timeout, since a loaded machine can take more
    // than 300 ms to wake a resumed process.
    assert_eq!(kind(s.remote().read("Item", "x").await).kind(), K::NotFound);
}

#[tokio::test]
async fn all_types_round_trip() {
    let s = server().await;
    let r = s.remote();
    let item = rec(json!({"id": "t", "s": "text", "i": 9007199254740991i64, "r": 1.5, "b": false,
        "d": "2024-05-06T07:08:09.123Z"}));
    let created = r.insert("AllTypes", &item).await.unwrap();
    for k in ["s", "i", "r", "b", "d"] {
        assert_eq!(created.get(k), item.get(k), "{k}");
    }
    let page = r
        .query_page(
            "AllTypes",
            Some(&column("d").eq(sync_core::QueryValue::DateTime("2024-05-06T07:08:09.123Z".into()))),
            None,
            5,
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
}

#[tokio::test]
async fn undelete_brings_a_deleted_item_back() {
    let s = server().await;
    let r = s.remote();
    let stored = r.insert("Item", &rec(json!({"id": "undel", "name": "back", "n": 1}))).await.unwrap();
    r.delete("Item", "undel", stored.version()).await.unwrap();
    assert_eq!(kind(r.read("Item", "undel").await).kind(), K::NotFound);
    // The deleted row keeps its id taken: inserting it again is a conflict.
    assert_eq!(kind(r.insert("Item", &rec(json!({"id": "undel", "name": "again"}))).await).kind(), K::Conflict);
    let back = r.undelete("Item", "undel", None).await.unwrap();
    assert!(!back.is_deleted());
    assert_ne!(back.version(), stored.version(), "the undelete is a write");
    assert_eq!(r.read("Item", "undel").await.unwrap().get("name"), Some(&json!("back")));
    assert_eq!(kind(r.undelete("Item", "never-was", None).await).kind(), K::NotFound);
}

/// The Node server does not advertise the `$batch` extension, so it never gets one: asked for a
/// batch, the remote sends each write alone (a `POST /tables/Item/$batch` would be an undelete
/// of an item `$batch` there, a 404), and the engine's push of many operations in parallel goes
/// as single requests.
#[tokio::test]
async fn the_node_server_never_gets_a_batch() {
    use sync_core::backend::BatchOp;
    let s = server().await;
    let r = s.remote();
    assert_eq!(kind(r.read("Item", "nope").await).kind(), K::NotFound);
    assert_eq!(r.max_batch(), 0, "no x-sync-extensions from the Node server");
    let ops: Vec<BatchOp> = (0..3)
        .map(|i| BatchOp::Insert { item: rec(json!({"id": format!("b{i}"), "name": "batched", "n": i})) })
        .collect();
    let results = r.batch("Item", &ops).await.unwrap();
    assert_eq!(results.len(), 3);
    for (i, result) in results.iter().enumerate() {
        let item = result.as_ref().unwrap().as_ref().unwrap();
        assert_eq!((item.id(), item.version()), (format!("b{i}").as_str(), Some("MQ==")));
    }
    let delete =
        [BatchOp::Delete { id: "b0".into(), version: None }, BatchOp::Delete { id: "b9".into(), version: None }];
    let results = r.batch("Item", &delete).await.unwrap();
    assert!(results[0].is_ok());
    assert_eq!(results[1].as_ref().unwrap_err().kind(), K::NotFound);

    let dir = tempfile::tempdir().unwrap();
    let store = store_diesel::DieselStore::open(dir.path().join("device.db")).await.unwrap();
    let options = sync_core::SyncOptions::default().push_parallelism(4);
    let ctx = sync_core::SyncContext::builder(store).remote(r.clone()).options(options).build().await.unwrap();
    let items = ctx.json_table(sync_core::conformance::scenarios::item_schema()).await.unwrap();
    for i in 0..40 {
        items.insert(rec(json!({"id": format!("p{i:02}"), "name": "pushed", "n": i, "flag": false}))).await.unwrap();
    }
    let summary = ctx.push().await.unwrap();
    assert_eq!((summary.succeeded, summary.failed), (40, 0));
    assert_eq!(r.max_batch(), 0);
    let pushed = pull_all(&r, "Item", Some(&column("name").eq("pushed")), 100).await;
    assert_eq!(pushed.len(), 40);
}
