//! Unit tests of the server rules and the test hooks. The behaviour every remote shares is also
//! checked by the conformance suite (`tests/remote_conformance.rs`).

use std::time::Duration;

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use sync_core::backend::{Cursor, RemoteErrorKind};
use sync_core::{column, Record, Remote};

use super::*;

fn rec(v: Value) -> Record {
    Record::from_json(v).unwrap()
}

fn body(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn frozen() -> MemoryRemote {
    let remote = MemoryRemote::new();
    remote.freeze_clock(Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap());
    remote
}

const T0: &str = "2024-01-02T03:04:05.000Z";

#[tokio::test]
async fn insert_stores_system_columns_like_node() {
    let remote = frozen();
    let stored = remote.insert("Item", &rec(json!({"id": "a", "name": "x", "n": 2.0}))).await.unwrap();
    assert_eq!(stored.get("createdAt"), Some(&json!(T0)));
    assert_eq!(stored.updated_at(), Some(T0));
    assert_eq!(stored.version(), Some("MQ=="));
    assert_eq!(stored.get("deleted"), Some(&json!(false)));
    assert_eq!(stored.get("n"), Some(&json!(2)), "whole numbers come back as integers");
    // A new column shows on every row of the table, null where unset.
    remote.insert("Item", &rec(json!({"id": "b", "flag": true}))).await.unwrap();
    let a = remote.read("Item", "a").await.unwrap();
    assert_eq!(a.get("flag"), Some(&Value::Null));
    let b = remote.read("Item", "b").await.unwrap();
    assert_eq!(b.get("name"), Some(&Value::Null));
}

#[tokio::test]
async fn the_remote_api_drops_server_columns_but_the_wire_rejects_them() {
    let remote = frozen();
    let local = rec(json!({
        "id": "a", "name": "x", "createdAt": null, "updatedAt": "2000-01-01T00:00:00.000Z",
        "version": "bogus", "deleted": false
    }));
    let stored = remote.insert("Item", &local).await.unwrap();
    assert_eq!(stored.updated_at(), Some(T0));
    assert_eq!(stored.version(), Some("MQ=="));
    for col in ["createdAt", "updatedAt", "deleted"] {
        let mut b = body(json!({"name": "y"}));
        b.insert(col.to_owned(), Value::Null);
        let err = remote.post("Item", b.clone()).await.unwrap_err();
        assert_eq!((err.kind(), err.status()), (RemoteErrorKind::BadRequest, Some(400)), "{col}");
        let err = remote.patch("Item", "a", b, None).await.unwrap_err();
        assert_eq!(err.status(), Some(400), "{col}");
    }
    assert_eq!(remote.rows("Item").len(), 1);
}

#[tokio::test]
async fn post_without_id_generates_one_and_keeps_a_posted_version() {
    let remote = frozen();
    let a = remote.post("Item", body(json!({"name": "x"}))).await.unwrap();
    let b = remote.post("Item", body(json!({"id": null, "name": "y"}))).await.unwrap();
    assert_ne!(a.id(), b.id());
    assert_eq!(a.id().len(), 36);
    assert_eq!(remote.requests()[0].id, None);
    // The Node SQLite quirk: a posted version is stored verbatim, and SQLite's `+ 1` on text is 1.
    let q = remote.post("Item", body(json!({"id": "q", "version": "AAAA"}))).await.unwrap();
    assert_eq!(q.version(), Some("QUFBQQ=="));
    let q2 = remote.update("Item", &q, Some("QUFBQQ==")).await.unwrap();
    assert_eq!(q2.version(), Some("MQ=="));
    // Invalid ids are a 400, not a panic.
    let err = remote.post("Item", body(json!({"id": "a/b"}))).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    let err = remote.post("Item", body(json!({"id": 5}))).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
}

#[tokio::test]
async fn insert_conflicts_with_existing_and_deleted_ids() {
    let remote = frozen();
    let item = rec(json!({"id": "a", "name": "x"}));
    let stored = remote.insert("Item", &item).await.unwrap();
    let err = remote.insert("Item", &item).await.unwrap_err();
    assert!(matches!(err, RemoteError::Conflict { status: 409, server_item: None }));
    remote.delete("Item", "a", stored.version()).await.unwrap();
    let err = remote.insert("Item", &item).await.unwrap_err();
    assert_eq!(err.status(), Some(409));
}

#[tokio::test]
async fn update_merges_bumps_and_checks_versions() {
    let remote = frozen();
    let v1 = remote.insert("Item", &rec(json!({"id": "a", "name": "x", "n": 1}))).await.unwrap();
    remote.advance(Duration::from_millis(7));
    let v2 = remote.update("Item", &rec(json!({"id": "a", "n": 2})), v1.version()).await.unwrap();
    assert_eq!(v2.get("name"), Some(&json!("x")));
    assert_eq!(v2.get("n"), Some(&json!(2)));
    assert_eq!(v2.version(), Some("Mg=="));
    assert_eq!(v2.updated_at(), Some("2024-01-02T03:04:05.007Z"));
    assert_eq!(v2.get("createdAt"), Some(&json!(T0)));

    let err = remote.update("Item", &rec(json!({"id": "a", "n": 3})), v1.version()).await.unwrap_err();
    assert_eq!(err.status(), Some(412));
    assert_eq!(err.server_item(), Some(&v2));
    // `*` is taken literally, as the Node server does.
    let err = remote.update("Item", &rec(json!({"id": "a"})), Some("*")).await.unwrap_err();
    assert_eq!(err.status(), Some(412));
    // Without a version the write wins.
    let v3 = remote.update("Item", &rec(json!({"id": "a", "n": 3})), None).await.unwrap();
    assert_eq!(v3.version(), Some("Mw=="));

    let err = remote.update("Item", &rec(json!({"id": "zz"})), None).await.unwrap_err();
    assert_eq!(err.kind(), RemoteErrorKind::NotFound);
    let err = remote.update("Nope", &rec(json!({"id": "zz"})), None).await.unwrap_err();
    assert_eq!(err.kind(), RemoteErrorKind::NotFound);
}

#[tokio::test]
async fn patch_checks_a_body_version_and_the_id() {
    let remote = frozen();
    remote.insert("Item", &rec(json!({"id": "a"}))).await.unwrap();
    let err = remote.patch("Item", "a", body(json!({"version": "nope"})), None).await.unwrap_err();
    assert_eq!(err.status(), Some(409));
    assert!(err.server_item().is_some());
    let ok = remote.patch("Item", "a", body(json!({"version": "MQ==", "n": 1})), None).await.unwrap();
    assert_eq!(ok.version(), Some("Mg=="));
    let err = remote.patch("Item", "a", body(json!({"id": "b"})), None).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
}

#[tokio::test]
async fn delete_is_soft_and_checked() {
    let remote = frozen();
    let v1 = remote.insert("Item", &rec(json!({"id": "a", "name": "x"}))).await.unwrap();
    let v2 = remote.update("Item", &v1, None).await.unwrap();
    let err = remote.delete("Item", "a", v1.version()).await.unwrap_err();
    assert_eq!(err.status(), Some(412));
    assert_eq!(err.server_item().and_then(Record::version), v2.version());
    remote.delete("Item", "a", v2.version()).await.unwrap();
    assert_eq!(remote.read("Item", "a").await.unwrap_err().kind(), RemoteErrorKind::NotFound);
    assert_eq!(remote.delete("Item", "a", None).await.unwrap_err().kind(), RemoteErrorKind::NotFound);
    assert_eq!(remote.update("Item", &v2, None).await.unwrap_err().kind(), RemoteErrorKind::NotFound);
    let row = remote.row("Item", "a").unwrap();
    assert!(row.is_deleted());
    assert_eq!(row.version(), Some("Mw=="));
    let page = remote.query_page("Item", None, None, 10).await.unwrap();
    assert_eq!(page.items, vec![row]);
}

#[tokio::test]
async fn query_pages_by_updated_at_then_id() {
    let remote = frozen();
    for id in ["c", "a", "b"] {
        remote.insert("Item", &rec(json!({"id": id}))).await.unwrap();
    }
    remote.advance(Duration::from_millis(1));
    remote.insert("Item", &rec(json!({"id": "0"}))).await.unwrap();
    let page = remote.query_page("Item", None, None, 3).await.unwrap();
    let ids: Vec<&str> = page.items.iter().map(Record::id).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    assert!(page.has_next_link);
    let cursor = Cursor::after(&page.items[2]).unwrap();
    let page = remote.query_page("Item", None, Some(&cursor), 3).await.unwrap();
    assert_eq!(page.items.iter().map(Record::id).collect::<Vec<_>>(), ["0"]);
    assert!(!page.has_next_link);
    assert!(remote.query_page("Empty", None, None, 3).await.unwrap().items.is_empty());
}

#[tokio::test]
async fn query_page_size_limits_are_the_servers() {
    let remote = MemoryRemote::new();
    let rows = (0..60).map(|i| Record::with_id(format!("r{i:02}")).unwrap());
    remote.seed("Item", rows, T0);
    let err = remote.query_page("Item", None, None, 1001).await.unwrap_err();
    assert!(matches!(&err, RemoteError::BadRequest { status: 400, message } if message.contains("1000")));
    assert_eq!(remote.query_page("Item", None, None, 1000).await.unwrap().items.len(), 60);
    let default = remote.query_page("Item", None, None, 0).await.unwrap();
    assert_eq!(default.items.len(), 50);
    assert!(default.has_next_link);
}

#[tokio::test]
async fn filters_use_sql_three_valued_logic() {
    let remote = frozen();
    remote.seed(
        "Item",
        [
            rec(json!({"id": "one", "n": 1, "name": "abc"})),
            rec(json!({"id": "two", "n": 2, "name": "abd"})),
            rec(json!({"id": "none", "n": null})),
        ],
        T0,
    );
    let ids = |f: sync_core::Expr| {
        let remote = remote.clone();
        async move {
            let page = remote.query_page("Item", Some(&f), None, 10).await.unwrap();
            page.items.iter().map(|r| r.id().to_owned()).collect::<Vec<_>>()
        }
    };
    assert_eq!(ids(column("n").ne(1)).await, ["two"]);
    assert_eq!(ids(!column("n").eq(1)).await, ["two"]);
    assert_eq!(ids(!column("n").gt(1)).await, ["one"]);
    assert_eq!(ids(column("n").eq(sync_core::QueryValue::Null)).await, ["none"]);
    assert_eq!(ids(column("n").ne(sync_core::QueryValue::Null)).await, ["one", "two"]);
    assert_eq!(ids(column("n").is_null()).await, ["none"]);
    assert_eq!(ids(column("n").is_in([1, 2])).await, ["one", "two"]);
    assert_eq!(ids(column("n").eq(1) | column("n").gt(5)).await, ["one"]);
    assert_eq!(ids(!(column("n").eq(1) | column("n").gt(5))).await, ["two"]);
    assert!(ids(column("name").starts_with("ab")).await.is_empty(), "as on Node + SQLite");
    assert_eq!(ids(!column("name").contains("ab")).await, ["one", "two"]);
}

#[tokio::test]
async fn datetime_literals_are_bound_as_iso_text() {
    let remote = MemoryRemote::new();
    remote.seed("AllTypes", [rec(json!({"id": "d", "d": "2024-01-01T00:00:00.000Z"}))], T0);
    let literal = sync_core::QueryValue::DateTime("2024-01-01T01:00:00+01:00".to_owned());
    let page = remote.query_page("AllTypes", Some(&column("d").eq(literal)), None, 10).await.unwrap();
    assert_eq!(page.items.len(), 1);
}

#[tokio::test]
async fn seeding_shares_one_timestamp_and_merges_existing_rows() {
    let remote = MemoryRemote::new();
    remote.seed("Item", (0..2500).map(|i| rec(json!({"id": format!("r{i:04}"), "n": i}))), T0);
    let rows = remote.rows("Item");
    assert_eq!(rows.len(), 2500);
    assert!(rows.iter().all(|r| r.updated_at() == Some(T0) && r.version() == Some("MQ==")));
    remote.seed("Item", [rec(json!({"id": "r0000", "name": "x", "deleted": true, "version": "zz"}))], "2025");
    let row = remote.row("Item", "r0000").unwrap();
    assert_eq!(row.get("n"), Some(&json!(0)));
    assert_eq!(row.get("name"), Some(&json!("x")));
    assert!(row.is_deleted());
    assert_eq!(row.version(), Some("Mg=="));
    assert_eq!(row.updated_at(), Some("2025"));
    assert_eq!(row.get("createdAt"), Some(&json!(T0)));
}

// --- the test hooks ------------------------------------------------------------------------

#[tokio::test]
async fn fail_next_fails_without_applying() {
    let remote = MemoryRemote::new();
    remote.fail_next(2, Fault::unavailable());
    let item = rec(json!({"id": "a"}));
    for _ in 0..2 {
        let err = remote.insert("Item", &item).await.unwrap_err();
        assert!(matches!(err, RemoteError::Transient { status: 503, .. }));
    }
    assert!(remote.rows("Item").is_empty());
    remote.insert("Item", &item).await.unwrap();
    assert_eq!(remote.request_count(), 3);

    for (fault, kind, status) in [
        (Fault::connection_reset(), RemoteErrorKind::Offline, None),
        (Fault::Unauthorized, RemoteErrorKind::Unauthorized, Some(401)),
        (Fault::Protocol, RemoteErrorKind::Protocol, None),
        (Fault::BadRequest { status: 422 }, RemoteErrorKind::BadRequest, Some(422)),
        (Fault::NotFound, RemoteErrorKind::NotFound, Some(404)),
        (Fault::Conflict { status: 409 }, RemoteErrorKind::Conflict, Some(409)),
        (Fault::from(RemoteErrorKind::Transient), RemoteErrorKind::Transient, Some(503)),
        (Fault::from(RemoteErrorKind::Offline), RemoteErrorKind::Offline, None),
    ] {
        remote.fail_next(1, fault);
        let err = remote.update("Item", &rec(json!({"id": "a", "n": 1})), None).await.unwrap_err();
        assert_eq!((err.kind(), err.status()), (kind, status));
    }
    assert_eq!(remote.row("Item", "a").unwrap().version(), Some("MQ=="), "no fault applied the update");
}

#[tokio::test]
async fn fail_next_of_targets_one_kind() {
    let remote = MemoryRemote::new();
    remote.fail_next_of(RequestKind::Delete, 1, Fault::Unauthorized);
    let item = remote.insert("Item", &rec(json!({"id": "a"}))).await.unwrap();
    remote.read("Item", "a").await.unwrap();
    remote.query_page("Item", None, None, 5).await.unwrap();
    assert_eq!(remote.delete("Item", "a", item.version()).await.unwrap_err().status(), Some(401));
    remote.delete("Item", "a", item.version()).await.unwrap();
}

#[tokio::test]
async fn fail_after_apply_applies_then_loses_the_response() {
    let remote = MemoryRemote::new();
    let v1 = remote.insert("Item", &rec(json!({"id": "a", "n": 1}))).await.unwrap();
    remote.fail_after_apply_next(1);
    // A read does not use it up.
    remote.read("Item", "a").await.unwrap();
    let err = remote.update("Item", &rec(json!({"id": "a", "n": 2})), v1.version()).await.unwrap_err();
    assert!(matches!(err, RemoteError::Offline { .. }));
    let row = remote.row("Item", "a").unwrap();
    assert_eq!(row.get("n"), Some(&json!(2)));
    assert_eq!(row.version(), Some("Mg=="));
    // The retry with the old version now conflicts: the server did the first one.
    let err = remote.update("Item", &rec(json!({"id": "a", "n": 2})), v1.version()).await.unwrap_err();
    assert_eq!(err.status(), Some(412));

    // A fault order wins over a lost response and does not use it up.
    remote.fail_after_apply_next(1);
    remote.fail_next(1, Fault::unavailable());
    assert_eq!(remote.delete("Item", "a", None).await.unwrap_err().status(), Some(503));
    assert!(!remote.row("Item", "a").unwrap().is_deleted());
    assert_eq!(remote.delete("Item", "a", None).await.unwrap_err().status(), None);
    assert!(remote.row("Item", "a").unwrap().is_deleted());
}

#[tokio::test]
async fn drop_after_rows_fails_the_page_that_crosses_the_limit() {
    let remote = MemoryRemote::new();
    remote.seed("Item", (0..10).map(|i| Record::with_id(format!("r{i}")).unwrap()), T0);
    remote.drop_after_rows(4);
    let p1 = remote.query_page("Item", None, None, 3).await.unwrap();
    let c1 = Cursor::after(p1.items.last().unwrap()).unwrap();
    // Rows 4..6 would include row 5: dropped.
    let err = remote.query_page("Item", None, Some(&c1), 3).await.unwrap_err();
    assert_eq!(err.kind(), RemoteErrorKind::Offline);
    // It fires once: the resumed pull goes through.
    let p2 = remote.query_page("Item", None, Some(&c1), 3).await.unwrap();
    assert_eq!(p2.items[0].id(), "r3");

    // Exactly k rows delivered, then the next non-empty page fails.
    remote.drop_after_rows(3);
    remote.query_page("Item", None, None, 3).await.unwrap();
    let err = remote.query_page("Item", None, Some(&c1), 3).await.unwrap_err();
    assert_eq!(err.kind(), RemoteErrorKind::Offline);

    // A limit of zero fails the first page with rows, but not an empty one.
    remote.drop_after_rows(0);
    let end = Cursor { updated_at: T0.to_owned(), id: "r9".to_owned() };
    assert!(remote.query_page("Item", None, Some(&end), 3).await.unwrap().items.is_empty());
    let err = remote.query_page("Item", None, None, 3).await.unwrap_err();
    assert_eq!(err.kind(), RemoteErrorKind::Offline);
}

#[tokio::test]
async fn clear_faults_disarms_everything() {
    let remote = MemoryRemote::new();
    remote.fail_next(5, Fault::Protocol);
    remote.fail_after_apply_next(5);
    remote.drop_after_rows(0);
    remote.clear_faults();
    remote.insert("Item", &rec(json!({"id": "a"}))).await.unwrap();
    assert_eq!(remote.query_page("Item", None, None, 5).await.unwrap().items.len(), 1);
}

#[tokio::test]
async fn the_log_records_every_call_in_order() {
    let remote = MemoryRemote::new();
    let clone = remote.clone();
    remote.fail_next(1, Fault::unavailable());
    let _ = clone.read("Item", "x").await;
    let a = remote.insert("Item", &rec(json!({"id": "a"}))).await.unwrap();
    remote.update("Item", &a, a.version()).await.unwrap();
    let cursor = Cursor { updated_at: T0.to_owned(), id: "a".to_owned() };
    remote.query_page("Item", None, Some(&cursor), 0).await.unwrap();
    remote.delete("Item", "a", None).await.unwrap();
    let log = remote.requests();
    let kinds: Vec<RequestKind> = log.iter().map(|r| r.kind).collect();
    use RequestKind::*;
    assert_eq!(kinds, [Read, Insert, Update, Query, Delete]);
    assert_eq!(log[2].version.as_deref(), Some("MQ=="));
    assert_eq!(log[3].cursor.as_ref(), Some(&cursor));
    assert_eq!(log[3].page_size, Some(0));
    assert_eq!(log[3].id, None);
    assert!(log.windows(2).all(|w| w[0].at <= w[1].at));
    assert_eq!(clone.request_count_of(Read), 1);
    clone.reset_log();
    assert_eq!(remote.request_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_delays_calls_and_concurrent_writes_are_serialised() {
    let remote = MemoryRemote::new();
    remote.set_latency(Duration::from_millis(30));
    let start = std::time::Instant::now();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let remote = remote.clone();
            tokio::spawn(async move { remote.insert("Item", &Record::with_id(format!("r{i}")).unwrap()).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(30), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(30 * 8), "calls wait concurrently: {elapsed:?}");
    assert_eq!(remote.rows("Item").len(), 8);
    assert_eq!(remote.request_count(), 8);
    remote.set_latency(Duration::ZERO);
}

#[test]
fn without_latency_no_runtime_is_needed() {
    let remote = MemoryRemote::new();
    let item = Record::with_id("a").unwrap();
    let stored = futures_lite_block_on(remote.insert("Item", &item)).unwrap();
    assert_eq!(stored.id(), "a");
}

/// A minimal executor: polls a future that never waits on I/O or timers.
fn futures_lite_block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

#[test]
fn a_poisoned_lock_keeps_serving() {
    let remote = MemoryRemote::new();
    let clone = remote.clone();
    let _ = std::thread::spawn(move || {
        let _guard = clone.inner.lock().unwrap();
        panic!("poison the lock");
    })
    .join();
    assert!(remote.inner.is_poisoned());
    remote.seed("Item", [Record::with_id("a").unwrap()], T0);
    assert_eq!(remote.rows("Item").len(), 1);
}
