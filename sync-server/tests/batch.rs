//! The `$batch` extension, on SQLite and PostgreSQL: it is advertised; one batch gets, operation
//! by operation, the statuses and items that the same operations sent as single requests get from
//! a second server; malformed batches are a 400 and run nothing.

mod common;

use common::{comparable, send_full, Db, TestServer};
use reqwest::{Client, Method};
use serde_json::{json, Value};

/// [`common::send`], checking that every answer advertises the extension.
async fn send(
    client: &Client,
    base: &str,
    method: Method,
    path: &str,
    if_match: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let (status, headers, body) = send_full(client, base, method, path, if_match, body).await;
    assert_eq!(headers.get("x-sync-extensions").and_then(|v| v.to_str().ok()), Some("batch, exact-timestamps"));
    (status, body)
}

/// Sends the operations as one batch; the results, and the last version they name.
async fn flush(client: &Client, base: &str, pending: Vec<Value>, version: &mut Option<String>) -> Vec<(u16, Value)> {
    if pending.is_empty() {
        return Vec::new();
    }
    let doc = json!({ "operations": pending });
    let (status, v) = send(client, base, Method::POST, "/tables/Item/$batch", None, Some(&doc)).await;
    assert_eq!(status, 200, "{v}");
    let mut out = Vec::new();
    for r in v["results"].as_array().expect("results") {
        let body = if r.get("item").is_some() { r["item"].clone() } else { json!({"error": r["error"]}) };
        if let Some(v) = body["version"].as_str() {
            *version = Some(v.to_owned());
        }
        out.push((r["status"].as_u64().expect("a status") as u16, body));
    }
    out
}

async fn batch_matches_single_requests(db: Db) {
    let batched = TestServer::start_on(db);
    let single = TestServer::start_on(db);
    let client = Client::new();
    // Operations; `ifMatch` "CURRENT" means the version the previous answer for the id gave.
    let ops = vec![
        json!({"op": "insert", "item": {"id": "a", "name": "one", "n": 1}}),
        json!({"op": "insert", "item": {"id": "a", "name": "again"}}),
        json!({"op": "update", "id": "a", "item": {"n": 2}, "ifMatch": "CURRENT"}),
        json!({"op": "update", "id": "a", "item": {"n": 3}, "ifMatch": "\"stale\""}),
        json!({"op": "update", "id": "a", "item": {"n": "three"}}),
        json!({"op": "update", "id": "missing", "item": {"n": 3}}),
        json!({"op": "insert", "item": {"id": "b", "nope": 1}}),
        json!({"op": "insert", "item": {"id": "b/c"}}),
        json!({"op": "delete", "id": "a", "ifMatch": "\"stale\""}),
        json!({"op": "delete", "id": "a", "ifMatch": "CURRENT"}),
        json!({"op": "delete", "id": "a"}),
        json!({"op": "undelete", "id": "a"}),
        json!({"op": "undelete", "id": "a"}),
        json!({"op": "insert", "item": {"id": "c", "flag": true}}),
    ];
    // The batch: one request, with CURRENT resolved as the single requests would (from the
    // answers so far) — so send it in pieces at each CURRENT.
    let mut from_batch = Vec::new();
    let mut from_single = Vec::new();
    let mut batch_version: Option<String> = None;
    let mut single_version: Option<String> = None;
    let mut pending: Vec<Value> = Vec::new();
    for original in &ops {
        let current = original["ifMatch"] == json!("CURRENT");
        let mut op = original.clone();
        if current {
            from_batch.extend(flush(&client, &batched.url, std::mem::take(&mut pending), &mut batch_version).await);
            op["ifMatch"] = json!(format!("\"{}\"", batch_version.clone().unwrap_or_default()));
        }
        pending.push(op.clone());
        // The same operation as a single request to the other server.
        let if_match = if current {
            Some(format!("\"{}\"", single_version.clone().unwrap_or_default()))
        } else {
            op["ifMatch"].as_str().map(str::to_owned)
        };
        let id = op["id"].as_str().unwrap_or_default().to_owned();
        let (method, path, body) = match op["op"].as_str().unwrap() {
            "insert" => (Method::POST, "/tables/Item".to_owned(), Some(op["item"].clone())),
            "update" => (Method::PATCH, format!("/tables/Item/{id}"), Some(op["item"].clone())),
            "delete" => (Method::DELETE, format!("/tables/Item/{id}"), None),
            _ => (Method::POST, format!("/tables/Item/{id}"), None),
        };
        let (status, v) = send(&client, &single.url, method, &path, if_match.as_deref(), body.as_ref()).await;
        if let Some(version) = v["version"].as_str() {
            single_version = Some(version.to_owned());
        }
        from_single.push((status, v));
    }
    from_batch.extend(flush(&client, &batched.url, std::mem::take(&mut pending), &mut batch_version).await);
    assert_eq!(from_batch.len(), ops.len());
    for ((op, (bs, bv)), (ss, sv)) in ops.iter().zip(&from_batch).zip(&from_single) {
        assert_eq!((bs, comparable(bv.clone())), (ss, comparable(sv.clone())), "{op}");
    }
    let statuses: Vec<u16> = from_batch.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, [201, 409, 200, 412, 400, 404, 400, 400, 412, 200, 404, 201, 201, 201]);
}

#[tokio::test]
async fn batch_matches_single_requests_on_sqlite() {
    batch_matches_single_requests(Db::Sqlite).await;
}

#[tokio::test]
async fn batch_matches_single_requests_on_postgres() {
    batch_matches_single_requests(Db::Postgres).await;
}

/// A batch of inserts only is written without reading its rows first: an id that turns out to
/// be stored (live or soft-deleted) is still a 409 with the stored row, which stays as it was,
/// and the others are inserted, in order.
async fn inserts_of_stored_ids_are_409s(db: Db) {
    let server = TestServer::start_on(db);
    let client = Client::new();
    let base = &server.url;
    for id in ["live", "gone"] {
        let (status, v) = send(&client, base, Method::POST, "/tables/Item", None, Some(&json!({"id": id}))).await;
        assert_eq!(status, 201, "{v}");
    }
    let (status, _) = send(&client, base, Method::DELETE, "/tables/Item/gone", None, None).await;
    assert_eq!(status, 200);
    let stored = |id: &'static str| {
        let client = client.clone();
        async move {
            let path = format!("/tables/Item?$filter=id%20eq%20'{id}'&__includeDeleted=true");
            send(&client, base, Method::GET, &path, None, None).await.1[0].clone()
        }
    };
    let (live, gone) = (stored("live").await, stored("gone").await);
    let ops = json!({"operations": [
        {"op": "insert", "item": {"id": "new1", "n": 1}},
        {"op": "insert", "item": {"id": "live", "name": "overwrite?"}},
        {"op": "insert", "item": {"id": "gone", "name": "overwrite?"}},
        {"op": "insert", "item": {"id": "new2", "n": 2}},
        {"op": "insert", "item": {"id": "new3", "n": "not a number"}},
    ]});
    let (status, v) = send(&client, base, Method::POST, "/tables/Item/$batch", None, Some(&ops)).await;
    assert_eq!(status, 200, "{v}");
    let results = v["results"].as_array().expect("results");
    let statuses: Vec<u64> = results.iter().map(|r| r["status"].as_u64().unwrap_or_default()).collect();
    assert_eq!(statuses, [201, 409, 409, 201, 400], "{v}");
    assert_eq!((&results[1]["item"], &results[2]["item"]), (&live, &gone), "409s carry the stored rows");
    assert_eq!((stored("live").await, stored("gone").await), (live, gone), "and leave them as they were");
    let at = |r: &Value| r["item"]["updatedAt"].as_str().unwrap_or_default().to_owned();
    assert!(at(&results[0]) < at(&results[3]), "in order: {v}");
    assert_eq!(stored("new1").await["n"], json!(1));
    assert_eq!(stored("new3").await, Value::Null, "the bad insert wrote nothing");
    // The same batch again, as after an answer lost on its way: every insert finds its row.
    let (status, again) = send(&client, base, Method::POST, "/tables/Item/$batch", None, Some(&ops)).await;
    assert_eq!(status, 200, "{again}");
    let again = again["results"].as_array().expect("results").clone();
    let statuses: Vec<u64> = again.iter().map(|r| r["status"].as_u64().unwrap_or_default()).collect();
    assert_eq!(statuses, [409, 409, 409, 409, 400], "{again:?}");
    let items: Vec<&Value> = again.iter().take(4).map(|r| &r["item"]).collect();
    let first: Vec<&Value> = vec![&results[0]["item"], &results[1]["item"], &results[2]["item"], &results[3]["item"]];
    assert_eq!(items, first, "each 409 carries the row as the first batch left it");
}

#[tokio::test]
async fn inserts_of_stored_ids_are_409s_on_sqlite() {
    inserts_of_stored_ids_are_409s(Db::Sqlite).await;
}

#[tokio::test]
async fn inserts_of_stored_ids_are_409s_on_postgres() {
    inserts_of_stored_ids_are_409s(Db::Postgres).await;
}

#[tokio::test]
async fn malformed_batches_run_nothing() {
    let server = TestServer::start();
    let client = Client::new();
    let too_many: Vec<Value> = (0..1001).map(|i| json!({"op": "insert", "item": {"id": format!("m{i}")}})).collect();
    for body in [
        json!([]),
        json!({}),
        json!({"operations": {}}),
        json!({"operations": [], "extra": 1}),
        json!({"operations": [{"op": "insert", "item": {"id": "ok"}}, 5]}),
        json!({"operations": [{"op": "insert", "item": {"id": "ok"}}, {"op": "upsert", "id": "x"}]}),
        json!({"operations": [{"op": "insert", "item": {"id": "ok"}}, {"op": "delete"}]}),
        json!({"operations": [{"op": "insert", "item": {"id": "ok"}}, {"op": "update", "id": "x"}]}),
        json!({"operations": [{"op": "insert", "item": {"id": "ok"}}, {"op": "insert", "id": "x", "item": {}}]}),
        json!({"operations": [{"op": "insert", "item": {"id": "ok"}}, {"op": "delete", "id": "x", "ifMatch": 5}]}),
        json!({"operations": [{"op": "insert", "item": {"id": "ok"}}, {"op": "delete", "id": "x", "more": 1}]}),
        json!({"operations": too_many}),
    ] {
        let (status, v) = send(&client, &server.url, Method::POST, "/tables/Item/$batch", None, Some(&body)).await;
        assert_eq!(status, 400, "{body}: {v}");
    }
    let (status, v) =
        send(&client, &server.url, Method::POST, "/tables/Nope/$batch", None, Some(&json!({"operations": []}))).await;
    assert_eq!(status, 404, "{v}");
    let (status, v) = send(&client, &server.url, Method::GET, "/tables/Item/ok", None, None).await;
    assert_eq!(status, 404, "nothing ran: {v}");
}
