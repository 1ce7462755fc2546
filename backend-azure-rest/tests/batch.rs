//! The `$batch` extension from the client's side, on loopback (`support`): it is used only after
//! a server said `x-sync-extensions: batch`, never with `Batching::Off`, and dropped after a
//! `$batch` 404; the request body is what sync-server reads; each result is classified as its
//! single request's answer; a malformed or lost answer is an error for the batch as a whole.
//! (Against the real servers: `node_server.rs` for the Node server, which never sees a batch, and
//! sync-server's `tests/push_batch.rs`.)

mod support;

use backend_azure_rest::{AzureRestRemote, Batching};
use serde_json::{json, Value};
use sync_core::backend::{BatchOp, RemoteErrorKind as K};
use sync_core::{Record, Remote};

use support::{http, reply, response, serve, Answer};

const ADVERTISED: (&str, &str) = ("x-sync-extensions", "batch");
const JSON: (&str, &str) = ("Content-Type", "application/json");

fn rec(v: Value) -> Record {
    Record::from_json(v).unwrap()
}

fn inserts(ids: &[&str]) -> Vec<BatchOp> {
    ids.iter().map(|id| BatchOp::Insert { item: rec(json!({"id": id, "n": 1})) }).collect()
}

/// The first answer of a server with the extension: an item, and the header.
fn advertising_read() -> Answer {
    http("200 OK", &[JSON, ADVERTISED], r#"{"id": "x", "version": "v0"}"#)
}

/// The request line of each request seen.
fn lines(seen: &support::Seen) -> Vec<String> {
    seen.lock().unwrap().iter().map(|r| r.lines().next().unwrap_or_default().to_owned()).collect()
}

/// The JSON body of a request.
fn body(request: &str) -> Value {
    serde_json::from_str(request.split("\r\n\r\n").nth(1).unwrap_or_default()).unwrap()
}

#[tokio::test]
async fn batches_start_once_the_server_says_it_takes_them() {
    let answer = r#"{"results": [
        {"status": 201, "item": {"id": "a", "n": 1, "version": "v1"}},
        {"status": 409, "item": {"id": "b", "n": 2, "version": "v7"}},
        {"status": 412, "item": {"id": "c", "version": "v9"}},
        {"status": 404, "error": "The item does not exist"},
        {"status": 200, "item": {"id": "e", "deleted": true}}
    ]}"#;
    let (url, seen) = serve(vec![advertising_read(), http("200 OK", &[JSON, ADVERTISED], answer)]).await;
    let remote = AzureRestRemote::builder(&url).build().unwrap();
    assert_eq!(remote.max_batch(), 0, "nothing is known before the first answer");
    remote.read("Item", "x").await.unwrap();
    assert_eq!(remote.max_batch(), backend_azure_rest::MAX_BATCH);
    assert_eq!(remote.clone().max_batch(), backend_azure_rest::MAX_BATCH, "clones share what was learnt");
    let ops = vec![
        BatchOp::Insert {
            item: rec(json!({"id": "a", "n": 1, "version": "old", "updatedAt": "2024-01-01T00:00:00Z"})),
        },
        BatchOp::Insert { item: rec(json!({"id": "b", "n": 1})) },
        BatchOp::Update { item: rec(json!({"id": "c", "n": 3})), version: Some("v8".into()) },
        BatchOp::Update { item: rec(json!({"id": "d", "n": 4})), version: None },
        BatchOp::Delete { id: "e".into(), version: Some("v2".into()) },
    ];
    let results = remote.batch("Item", &ops).await.unwrap();
    assert_eq!(lines(&seen), ["GET /tables/Item/x HTTP/1.1", "POST /tables/Item/$batch HTTP/1.1"]);
    let sent = body(&seen.lock().unwrap()[1]);
    assert_eq!(
        sent,
        json!({"operations": [
            {"op": "insert", "item": {"id": "a", "n": 1}},
            {"op": "insert", "item": {"id": "b", "n": 1}},
            {"op": "update", "id": "c", "item": {"id": "c", "n": 3}, "ifMatch": "\"v8\""},
            {"op": "update", "id": "d", "item": {"id": "d", "n": 4}},
            {"op": "delete", "id": "e", "ifMatch": "\"v2\""}
        ]})
    );
    assert_eq!(results[0].as_ref().unwrap().as_ref().unwrap().version(), Some("v1"));
    let conflict = results[1].as_ref().unwrap_err();
    assert_eq!((conflict.kind(), conflict.status()), (K::Conflict, Some(409)));
    assert_eq!(conflict.server_item().unwrap().version(), Some("v7"), "sync-server's 409 carries its item");
    let stale = results[2].as_ref().unwrap_err();
    assert_eq!((stale.status(), stale.server_item().and_then(Record::version)), (Some(412), Some("v9")));
    assert_eq!(results[3].as_ref().unwrap_err().kind(), K::NotFound);
    assert_eq!(results[4].as_ref().unwrap(), &None);
}

#[tokio::test]
async fn a_server_that_does_not_advertise_batches_never_gets_one() {
    let item = |id: &str| response("201 Created", &[JSON], &json!({"id": id, "version": "v"}).to_string());
    let (url, seen) = serve(vec![reply(move |req| {
        let id = body(req)["id"].as_str().unwrap_or_default().to_owned();
        item(&id)
    })])
    .await;
    let remote = AzureRestRemote::builder(&url).build().unwrap();
    remote.insert("Item", &rec(json!({"id": "first"}))).await.unwrap();
    assert_eq!(remote.max_batch(), 0);
    // Asked for a batch anyway, the remote sends each write alone.
    let results = remote.batch("Item", &inserts(&["a", "b"])).await.unwrap();
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(lines(&seen), ["POST /tables/Item HTTP/1.1"; 3]);
}

#[tokio::test]
async fn batching_off_ignores_the_advertisement() {
    let (url, seen) = serve(vec![advertising_read()]).await;
    let remote = AzureRestRemote::builder(&url).batching(Batching::Off).build().unwrap();
    remote.read("Item", "x").await.unwrap();
    assert_eq!(remote.max_batch(), 0);
    let small = AzureRestRemote::builder(&url).batch_size(1).build().unwrap();
    small.read("Item", "x").await.unwrap();
    assert_eq!(small.max_batch(), 0, "a batch size of 1 is no batching");
    let sized = AzureRestRemote::builder(&url).batch_size(50).build().unwrap();
    sized.read("Item", "x").await.unwrap();
    assert_eq!(sized.max_batch(), 50);
    assert!(lines(&seen).iter().all(|l| !l.contains("$batch")));
}

#[tokio::test]
async fn a_success_without_the_header_or_a_batch_404_stops_batching() {
    let plain_read = http("200 OK", &[JSON], r#"{"id": "x"}"#);
    let not_found = http("404 Not Found", &[JSON, ADVERTISED], r#"{"error": "no such route"}"#);
    let (url, _) = serve(vec![advertising_read(), plain_read, advertising_read(), not_found]).await;
    let remote = AzureRestRemote::builder(&url).build().unwrap();
    remote.read("Item", "x").await.unwrap();
    assert!(remote.max_batch() > 1);
    remote.read("Item", "x").await.unwrap();
    assert_eq!(remote.max_batch(), 0, "the server at this URL changed");
    remote.read("Item", "x").await.unwrap();
    let err = remote.batch("Item", &inserts(&["a", "b"])).await.unwrap_err();
    assert_eq!(err.kind(), K::NotFound);
    assert_eq!(remote.max_batch(), 0, "a batch 404 means no batches here");
}

#[tokio::test]
async fn malformed_or_lost_answers_fail_the_whole_batch() {
    let cases: Vec<(Answer, K)> = vec![
        (http("200 OK", &[JSON, ADVERTISED], "not json"), K::Protocol),
        (http("200 OK", &[JSON, ADVERTISED], r#"{"results": [{"status": 201, "item": {"id": "a"}}]}"#), K::Protocol),
        (http("200 OK", &[JSON, ADVERTISED], r#"{"results": [{"status": 201}, "x"]}"#), K::Protocol),
        (http("200 OK", &[JSON, ADVERTISED], r#"[{"status": 201}, {"status": 201}]"#), K::Protocol),
        (http("503 Service Unavailable", &[JSON], r#"{"error": "busy"}"#), K::Transient),
        (http("401 Unauthorized", &[JSON], r#"{"error": "expired"}"#), K::Unauthorized),
        (Answer::Close, K::Offline),
    ];
    for (answer, kind) in cases {
        let (url, _) = serve(vec![advertising_read(), answer]).await;
        let remote = AzureRestRemote::builder(&url).build().unwrap();
        remote.read("Item", "x").await.unwrap();
        let err = remote.batch("Item", &inserts(&["a", "b"])).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{err}");
    }
}

#[tokio::test]
async fn results_about_other_items_and_bad_ids_are_each_operations_error() {
    let answer = r#"{"results": [{"status": 201, "item": {"id": "zzz"}}, {"status": 201, "item": {"id": "b"}}]}"#;
    let (url, seen) = serve(vec![advertising_read(), http("200 OK", &[JSON, ADVERTISED], answer)]).await;
    let remote = AzureRestRemote::builder(&url).build().unwrap();
    remote.read("Item", "x").await.unwrap();
    let mut ops = inserts(&["a", "b"]);
    ops.insert(1, BatchOp::Delete { id: "bad/id".into(), version: None });
    let results = remote.batch("Item", &ops).await.unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].as_ref().unwrap_err().kind(), K::Protocol, "an answer about another item is not used");
    let bad = results[1].as_ref().unwrap_err();
    assert!(bad.to_string().contains("request not sent"), "{bad}");
    assert_eq!(results[2].as_ref().unwrap().as_ref().unwrap().id(), "b");
    assert_eq!(body(&seen.lock().unwrap()[1])["operations"].as_array().unwrap().len(), 2, "the bad id is not sent");
}

#[tokio::test]
async fn secrets_echoed_in_results_are_redacted() {
    const TOKEN: &str = "zumo.s3cr3t-TOKEN/4f9a+b==";
    let answer = reply(|req| {
        let head = req.split("\r\n\r\n").next().unwrap_or_default().replace("\r\n", " | ");
        let results = json!({"results": [
            {"status": 400, "error": format!("rejected: {head}")},
            {"status": 412, "item": {"id": "b", "version": "v", "name": head}}
        ]});
        response("200 OK", &[JSON, ADVERTISED], &results.to_string())
    });
    let (url, _) = serve(vec![advertising_read(), answer]).await;
    let remote = AzureRestRemote::builder(&url).token(TOKEN).build().unwrap();
    remote.read("Item", "x").await.unwrap();
    let results = remote.batch("Item", &inserts(&["a", "b"])).await.unwrap();
    for r in &results {
        let e = r.as_ref().unwrap_err();
        let shown = format!("{e} {e:?} {:?}", e.server_item());
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }
    assert!(results[0].as_ref().unwrap_err().to_string().contains("[redacted]"));
}
