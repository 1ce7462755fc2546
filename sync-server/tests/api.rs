//! The HTTP API over real sockets: bad input, API versions, paging and `Link`, the `updatedAt`
//! guarantee under concurrent writers, dynamic and hard-delete tables, seeding, and the binary.

mod common;

use std::collections::HashSet;
use std::io::BufRead;

use common::{Db, TestServer, CONFORMANCE_TABLES};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

struct Api {
    client: Client,
    url: String,
}

impl Api {
    fn new(server: &TestServer) -> Api {
        Api { client: Client::new(), url: server.url.clone() }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        self.send_with(method, path, body, &[("ZUMO-API-VERSION", "2.0.0")]).await
    }

    async fn send_with(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.url));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_owned());
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, headers, value)
    }

    async fn post(&self, table: &str, body: Value) -> Value {
        let (status, _, v) = self.send(Method::POST, &format!("/tables/{table}"), Some(&body.to_string())).await;
        assert_eq!(status, 201, "insert {body}: {v}");
        v
    }

    async fn rows(&self, table: &str, query: &str) -> Vec<Value> {
        let (status, _, v) = self.send(Method::GET, &format!("/tables/{table}?{query}"), None).await;
        assert_eq!(status, 200, "query {query}: {v}");
        v.as_array().cloned().unwrap_or_default()
    }
}

/// Runs `async fn $name(db: Db)` as two tests, `$name::sqlite` and `$name::postgres`.
macro_rules! on_both {
    ($name:ident $(, $flavor:tt)?) => {
        mod $name {
            use super::*;
            #[tokio::test$($flavor)?]
            async fn sqlite() {
                super::$name(Db::Sqlite).await;
            }
            #[tokio::test$($flavor)?]
            async fn postgres() {
                super::$name(Db::Postgres).await;
            }
        }
    };
}

fn error_of(v: &Value) -> &str {
    v.get("error").and_then(Value::as_str).unwrap_or_else(|| panic!("no {{\"error\"}} in {v}"))
}

on_both!(bad_input_is_a_4xx_with_a_message_and_changes_nothing);
async fn bad_input_is_a_4xx_with_a_message_and_changes_nothing(db: Db) {
    let server = TestServer::with_config_on(db, CONFORMANCE_TABLES, |b| b.max_body_bytes(2048));
    let api = Api::new(&server);
    api.post("Item", json!({"id": "keep", "name": "k", "n": 1})).await;
    let long_id = "x".repeat(256);
    let big = format!("{{\"name\":\"{}\"}}", "x".repeat(4096));
    let cases: Vec<(Method, String, Option<String>, u16, &str)> = vec![
        (Method::POST, "/tables/Item".into(), Some("{\"name\":".into()), 400, "not valid JSON"),
        (Method::POST, "/tables/Item".into(), Some("[1,2]".into()), 400, "JSON object"),
        (Method::POST, "/tables/Item".into(), Some("\"text\"".into()), 400, "JSON object"),
        (Method::POST, "/tables/Item".into(), Some(r#"{"n":"five"}"#.into()), 400, "holds a number"),
        (Method::POST, "/tables/Item".into(), Some(r#"{"flag":"yes"}"#.into()), 400, "holds a boolean"),
        (Method::POST, "/tables/AllTypes".into(), Some(r#"{"d":"tomorrow"}"#.into()), 400, "date-time"),
        (Method::POST, "/tables/Item".into(), Some(r#"{"extra":1}"#.into()), 400, "no column 'extra'"),
        (Method::POST, "/tables/Item".into(), Some(format!(r#"{{"id":"{long_id}"}}"#)), 400, "longer than 255"),
        (Method::POST, "/tables/Item".into(), Some(r#"{"id":"a/b"}"#.into()), 400, "contains one of"),
        (Method::POST, "/tables/Item".into(), Some(r#"{"id":7}"#.into()), 400, "must be a string"),
        (Method::POST, "/tables/Item".into(), Some(r#"{"createdAt":"2024-01-01T00:00:00Z"}"#.into()), 400, "reserved"),
        (Method::POST, "/tables/Item".into(), Some(r#"{"Deleted":false}"#.into()), 400, "reserved"),
        (Method::POST, "/tables/Item".into(), Some(big), 413, "larger than 2048"),
        (Method::PATCH, "/tables/Item/keep".into(), Some(r#"{"n":"x"}"#.into()), 400, "holds a number"),
        (Method::PATCH, "/tables/Item/keep".into(), Some(r#"{"id":"other"}"#.into()), 400, "did not match"),
        (Method::PATCH, "/tables/Item/keep".into(), Some(r#"{"updatedAt":"x"}"#.into()), 400, "reserved"),
        (Method::PATCH, "/tables/Item/keep".into(), Some("nope".into()), 400, "not valid JSON"),
        (Method::GET, format!("/tables/Item/{long_id}"), None, 400, "longer than 255"),
        (Method::GET, "/tables/Nope".into(), None, 404, "no table"),
        (Method::POST, "/tables/Nope".into(), Some("{}".into()), 404, "no table"),
        (Method::GET, "/tables/Item?$filter=name%20eq".into(), None, 400, "invalid $filter"),
        (Method::GET, "/tables/Item?$filter=nope%20eq%201".into(), None, 400, "no column 'nope'"),
        (Method::GET, "/tables/Item?$filter=name%20eq%20%22x%22".into(), None, 400, "quoted with '"),
        (Method::GET, "/tables/Item?$orderby=nope".into(), None, 400, "no column 'nope'"),
        (Method::GET, "/tables/Item?$select=nope".into(), None, 400, "no column 'nope'"),
        (Method::GET, "/tables/Item?$expand=x".into(), None, 400, "unknown query option"),
        (Method::GET, "/tables/Item?$top=1001".into(), None, 400, "more than 1000"),
        (Method::GET, "/tables/Item?$top=-1".into(), None, 400, "non-negative"),
        (Method::GET, format!("/tables/Item?$filter={}", "(".repeat(100)), None, 400, "nested too deeply"),
        (Method::GET, format!("/tables/Item?$filter=name%20eq%20'{}'", "x".repeat(40_000)), None, 400, "too long"),
        (Method::PUT, "/tables/Item/keep".into(), Some("{}".into()), 405, "method not allowed"),
    ];
    for (method, path, body, status, message) in cases {
        let (got, _, v) = api.send(method.clone(), &path, body.as_deref()).await;
        assert_eq!(got.as_u16(), status, "{method} {path}: {v}");
        assert!(error_of(&v).contains(message), "{method} {path}: {v} should say {message:?}");
    }
    if db == Db::Postgres {
        // What PostgreSQL refuses and SQLite takes: text with NUL, filters comparing other types.
        for (method, path, body) in [
            (Method::POST, "/tables/Item", Some(r#"{"id":"nul","name":"a\u0000b"}"#)),
            (Method::PATCH, "/tables/Item/keep", Some(r#"{"name":"a\u0000b"}"#)),
            (Method::GET, "/tables/Item?$filter=name%20eq%201", None),
            (Method::GET, "/tables/Item?$filter=year(name)%20eq%202024", None),
            (Method::GET, "/tables/Item?$filter=flag%20eq%201", None),
        ] {
            let (got, _, v) = api.send(method.clone(), path, body).await;
            assert_eq!(got.as_u16(), 400, "{method} {path}: {v}");
            error_of(&v);
        }
    }
    let rows = api.rows("Item", "__includeDeleted=true").await;
    assert_eq!(rows.len(), 1, "bad requests must leave nothing: {rows:?}");
    assert_eq!(rows[0]["n"], json!(1));
    let (status, _, v) = api.send(Method::GET, "/tables/Item/keep", None).await;
    assert_eq!((status.as_u16(), &v["n"]), (200, &json!(1)));
}

#[tokio::test]
async fn api_version_is_checked_like_the_node_server() {
    let server = TestServer::start();
    let api = Api::new(&server);
    for (headers, path, ok) in [
        (vec![], "/tables/Item", false),
        (vec![("ZUMO-API-VERSION", "3.0.0")], "/tables/Item", false),
        (vec![("ZUMO-API-VERSION", "2.0")], "/tables/Item", false),
        (vec![("zumo-api-version", "2.0.1")], "/tables/Item", true),
        (vec![], "/tables/Item?ZUMO-API-VERSION=2.0.0", true),
        (vec![], "/tables/Item?zumo-api-version=2.0.0", true),
    ] {
        let (status, _, v) = api.send_with(Method::GET, path, None, &headers).await;
        assert_eq!(status == 200, ok, "{headers:?} {path}: {status} {v}");
        if !ok {
            assert_eq!(status, 400);
            assert!(error_of(&v).contains("ZUMO-API-VERSION"));
        }
    }
}

on_both!(paging_link_is_absolute_and_only_when_more_rows_exist);
async fn paging_link_is_absolute_and_only_when_more_rows_exist(db: Db) {
    let server = TestServer::start_on(db);
    let api = Api::new(&server);
    for i in 0..5 {
        api.post("Item", json!({"id": format!("p{i}"), "name": "paging", "n": i})).await;
    }
    let mut path = "/tables/Item?$filter=name%20eq%20'paging'&$orderby=n&$top=2".to_owned();
    let mut seen = Vec::new();
    for expected_link in [true, true, false] {
        let (status, headers, v) = api.send(Method::GET, &path, None).await;
        assert_eq!(status, 200, "{v}");
        seen.extend(v.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()));
        let link = headers.get("link").map(|l| l.to_str().unwrap().to_owned());
        assert_eq!(link.is_some(), expected_link, "after {seen:?}: {link:?}");
        if let Some(link) = link {
            let url = link.strip_prefix('<').and_then(|l| l.split_once(">; rel=next")).map(|(u, _)| u).unwrap();
            assert!(url.starts_with(&format!("{}/tables/Item?", server.url)), "absolute URL with port: {url}");
            path = url.strip_prefix(&server.url).unwrap().to_owned();
        }
    }
    assert_eq!(seen, ["p0", "p1", "p2", "p3", "p4"]);
    let (_, _, v) =
        api.send(Method::GET, "/tables/Item?$filter=name%20eq%20'paging'&$inlinecount=allpages&$top=1", None).await;
    assert_eq!(v["count"], json!(5));
    assert_eq!(v["results"].as_array().unwrap().len(), 1);
    // No $top: the page size (50).
    for i in 5..60 {
        api.post("Item", json!({"id": format!("p{i}"), "name": "paging", "n": i})).await;
    }
    assert_eq!(api.rows("Item", "$filter=name%20eq%20'paging'").await.len(), 50);
    assert_eq!(api.rows("Item", "$filter=name%20eq%20'paging'&$top=0").await.len(), 50);
    assert_eq!(api.rows("Item", "$filter=name%20eq%20'paging'&$skip=55").await.len(), 5);
}

/// Collects `updatedAt` from many concurrent inserts (through `apis`, several servers possibly on
/// one file) and checks each is unique and each writer's sequence strictly increases.
async fn concurrent_inserts(apis: Vec<Api>, writers: usize, per_writer: usize) -> usize {
    let apis: Vec<std::sync::Arc<Api>> = apis.into_iter().map(std::sync::Arc::new).collect();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let api = std::sync::Arc::clone(&apis[w % apis.len()]);
        tasks.push(tokio::spawn(async move {
            let mut stamps = Vec::new();
            for i in 0..per_writer {
                let v = api.post("Item", json!({"id": format!("w{w}-{i}"), "name": "burst"})).await;
                stamps.push(v["updatedAt"].as_str().unwrap().to_owned());
            }
            stamps
        }));
    }
    let mut all = HashSet::new();
    for t in tasks {
        let stamps = t.await.expect("writer");
        assert!(stamps.windows(2).all(|w| w[0] < w[1]), "one writer's updatedAt must increase: {stamps:?}");
        for s in stamps {
            assert!(all.insert(s.clone()), "updatedAt {s} handed out twice");
        }
    }
    let rows = apis[0].rows("Item", "$filter=name%20eq%20'burst'&$top=1000&$orderby=updatedAt").await;
    let stored: HashSet<String> = rows.iter().map(|r| r["updatedAt"].as_str().unwrap().to_owned()).collect();
    assert_eq!(stored.len(), writers * per_writer, "every stored row has its own updatedAt");
    all.len()
}

on_both!(updated_at_is_unique_and_increasing_under_concurrent_writers, (flavor = "multi_thread", worker_threads = 4));
async fn updated_at_is_unique_and_increasing_under_concurrent_writers(db: Db) {
    let server = TestServer::start_on(db);
    assert_eq!(concurrent_inserts(vec![Api::new(&server)], 16, 25).await, 400);
}

on_both!(updated_at_is_unique_with_two_servers_on_one_database, (flavor = "multi_thread", worker_threads = 4));
async fn updated_at_is_unique_with_two_servers_on_one_database(db: Db) {
    let first = TestServer::start_on(db);
    let second = TestServer::on(CONFORMANCE_TABLES, first.db.clone(), |b| b);
    assert_eq!(concurrent_inserts(vec![Api::new(&first), Api::new(&second)], 8, 25).await, 200);
}

on_both!(racing_inserts_of_one_id_through_two_servers_store_one, (flavor = "multi_thread", worker_threads = 4));
/// Eight clients, four on each of two servers sharing a database, insert the same ids at once
/// (as devices replaying one change would): each id is stored once, one insert gets the 201, and
/// every other gets a 409 carrying that very row.
async fn racing_inserts_of_one_id_through_two_servers_store_one(db: Db) {
    let first = TestServer::start_on(db);
    let second = TestServer::on(CONFORMANCE_TABLES, first.db.clone(), |b| b);
    let apis = [std::sync::Arc::new(Api::new(&first)), std::sync::Arc::new(Api::new(&second))];
    let mut tasks = Vec::new();
    for writer in 0..8 {
        let api = std::sync::Arc::clone(&apis[writer % 2]);
        tasks.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for i in 0..20 {
                let body = json!({"id": format!("race-{i}"), "name": format!("writer {writer}")}).to_string();
                let (status, _, v) = api.send(Method::POST, "/tables/Item", Some(&body)).await;
                answers.push((status.as_u16(), v));
            }
            answers
        }));
    }
    let mut by_id: std::collections::HashMap<String, Vec<(u16, Value)>> = std::collections::HashMap::new();
    for t in tasks {
        for (status, v) in t.await.expect("writer") {
            let id = v["id"].as_str().unwrap_or_else(|| panic!("{status} {v}")).to_owned();
            by_id.entry(id).or_default().push((status, v));
        }
    }
    assert_eq!(by_id.len(), 20);
    for (id, answers) in by_id {
        let created: Vec<&Value> = answers.iter().filter(|(s, _)| *s == 201).map(|(_, v)| v).collect();
        assert_eq!(created.len(), 1, "{id}: one insert wins: {answers:?}");
        for (status, v) in &answers {
            assert!(*status == 201 || (*status == 409 && v == created[0]), "{id}: {status} {v}, winner {}", created[0]);
        }
        let (status, _, stored) = Api::new(&first).send(Method::GET, &format!("/tables/Item/{id}"), None).await;
        assert_eq!((status.as_u16(), &stored), (200, created[0]), "{id}: the stored row is the winner's");
    }
}

on_both!(updates_and_deletes_get_later_updated_at_than_seeded_rows);
async fn updates_and_deletes_get_later_updated_at_than_seeded_rows(db: Db) {
    let server = TestServer::start_on(db);
    let future = "2999-01-01T00:00:00.000Z";
    let row = sync_core::Record::from_json(json!({"id": "seeded", "name": "s", "n": 1})).unwrap();
    server.seed("Item", vec![row], future).await;
    let api = Api::new(&server);
    let (status, _, v) = api.send(Method::PATCH, "/tables/Item/seeded", Some(r#"{"n":2}"#)).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["updatedAt"].as_str().unwrap() > future, "{v}");
    let other = api.post("Item", json!({"id": "after-seed"})).await;
    assert!(other["updatedAt"].as_str().unwrap() > v["updatedAt"].as_str().unwrap());
}

on_both!(conflicts_carry_the_server_item);
async fn conflicts_carry_the_server_item(db: Db) {
    let server = TestServer::start_on(db);
    let api = Api::new(&server);
    let v1 = api.post("Item", json!({"id": "c1", "name": "one", "n": 1, "version": "AAAA"})).await;
    assert_ne!(v1["version"], json!("AAAA"), "a version sent on insert is ignored");
    let (status, _, dup) = api.send(Method::POST, "/tables/Item", Some(r#"{"id":"c1","name":"dup"}"#)).await;
    assert_eq!((status.as_u16(), &dup["name"]), (409, &json!("one")), "409 with the stored item");
    let version = v1["version"].as_str().unwrap();
    let quoted = format!("\"{version}\"");
    let (status, headers, v2) = api
        .send_with(
            Method::PATCH,
            "/tables/Item/c1",
            Some(r#"{"n":2}"#),
            &[("ZUMO-API-VERSION", "2.0.0"), ("If-Match", &quoted)],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers["etag"].to_str().unwrap(), format!("\"{}\"", v2["version"].as_str().unwrap()));
    let (status, headers, current) = api
        .send_with(Method::DELETE, "/tables/Item/c1", None, &[("ZUMO-API-VERSION", "2.0.0"), ("If-Match", &quoted)])
        .await;
    assert_eq!(status, 412);
    assert_eq!(current["n"], json!(2));
    assert_eq!(headers["etag"].to_str().unwrap(), format!("\"{}\"", v2["version"].as_str().unwrap()));
    let body = json!({"n": 3, "version": version}).to_string();
    let (status, _, current) = api.send(Method::PATCH, "/tables/Item/c1", Some(&body)).await;
    assert_eq!((status.as_u16(), &current["n"]), (409, &json!(2)), "a stale body version is a 409");
    let (status, _, v3) = api
        .send_with(
            Method::PATCH,
            "/tables/Item/c1",
            Some(r#"{"n":4}"#),
            &[("ZUMO-API-VERSION", "2.0.0"), ("If-Match", "*")],
        )
        .await;
    assert_eq!((status.as_u16(), &v3["n"]), (200, &json!(4)), "If-Match: * matches any version");
}

on_both!(dynamic_tables_add_columns_from_writes);
async fn dynamic_tables_add_columns_from_writes(db: Db) {
    let server = TestServer::with_config_on(db, "", |b| b.dynamic_table("Notes"));
    let api = Api::new(&server);
    let v = api
        .post("Notes", json!({"id": "a", "text": "hi", "n": 2, "done": false, "tags": ["x"], "nothing": null}))
        .await;
    assert_eq!(v["text"], json!("hi"));
    assert_eq!(v["tags"], json!(["x"]));
    assert!(v.get("nothing").is_none(), "a null does not make a column: {v}");
    let (status, _, err) = api.send(Method::POST, "/tables/Notes", Some(r#"{"n":"two"}"#)).await;
    assert_eq!(status, 400, "{err}");
    let (status, _, err) = api.send(Method::POST, "/tables/Notes", Some(r#"{"Text":"clash"}"#)).await;
    assert_eq!(status, 400, "{err}");
    let (status, _, v) = api.send(Method::PATCH, "/tables/Notes/a", Some(r#"{"extra":"new"}"#)).await;
    assert_eq!((status.as_u16(), &v["extra"], &v["text"]), (200, &json!("new"), &json!("hi")));
    let rows = api.rows("Notes", "$filter=extra%20eq%20'new'%20and%20done%20eq%20false%20and%20n%20ge%202").await;
    assert_eq!(rows.len(), 1);
    let (status, _, v) = api.send(Method::GET, "/tables/Notes?$filter=unknown%20eq%201", None).await;
    assert_eq!(status, 400, "{v}");
    let (status, _, _) = api.send(Method::DELETE, "/tables/Notes/a", None).await;
    assert_eq!(status, 200);
    assert_eq!(api.rows("Notes", "__includeDeleted=true").await.len(), 1, "soft delete");
}

on_both!(two_servers_add_one_new_column_at_once, (flavor = "multi_thread", worker_threads = 4));
/// Writes through two servers on one database bring the same new column at the same moment:
/// each column is added once, by whichever write comes first, and its type is that write's.
/// Writes of that type all succeed; writes of the other type are 400s, never a 500.
async fn two_servers_add_one_new_column_at_once(db: Db) {
    let first = TestServer::with_config_on(db, "", |b| b.dynamic_table("Notes"));
    let second = TestServer::on("", first.db.clone(), |b| b.dynamic_table("Notes"));
    let apis = [std::sync::Arc::new(Api::new(&first)), std::sync::Arc::new(Api::new(&second))];
    for round in 0..6 {
        let column = format!("c{round}");
        let mut tasks = Vec::new();
        for i in 0..8 {
            let api = std::sync::Arc::clone(&apis[i % 2]);
            // Half the writers send a string, half a number: only one type can win.
            let value = if i < 4 { json!(format!("s{i}")) } else { json!(i) };
            let body = json!({"id": format!("r{round}-{i}"), column.clone(): value}).to_string();
            tasks.push(tokio::spawn(async move {
                let (status, _, v) = api.send(Method::POST, "/tables/Notes", Some(&body)).await;
                (i, status.as_u16(), v)
            }));
        }
        let mut created = Vec::new();
        for t in tasks {
            let (i, status, v) = t.await.expect("writer");
            match status {
                201 => created.push(i),
                400 => assert!(error_of(&v).contains(&column), "the 400 names the column: {v}"),
                other => panic!("round {round}, writer {i}: {other} {v}"),
            }
        }
        let strings_won = created.first().is_some_and(|&i| i < 4);
        let want: Vec<usize> = if strings_won { (0..4).collect() } else { (4..8).collect() };
        created.sort_unstable();
        assert_eq!(created, want, "round {round}: every write of the winning type succeeds, no other");
        for api in &apis {
            let rows = api.rows("Notes", &format!("$filter=startswith(id,'r{round}-')&$top=50")).await;
            assert_eq!(rows.len(), 4, "round {round}: each server sees the four rows");
            for row in &rows {
                assert_eq!(row[&column].is_string(), strings_won, "round {round}: {row}");
            }
        }
    }
}

/// The database drops every connection of the server (a restart, a proxy's idle timeout, an
/// administrator): a request at once may get a 503; once the connections have been idle a
/// moment, requests get fresh ones and succeed.
#[tokio::test]
async fn connections_the_database_dropped_are_replaced() {
    use sqlx::Connection;
    let server = TestServer::start_on(Db::Postgres);
    let common::Target::Url(url) = &server.db else { unreachable!("a PostgreSQL server") };
    let api = Api::new(&server);
    for i in 0..4 {
        api.post("Item", json!({"id": format!("before-{i}")})).await;
    }
    let mut admin = sqlx::PgConnection::connect(url).await.expect("connect");
    let dropped: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut admin)
    .await
    .expect("terminate");
    assert!(!dropped.is_empty() && dropped.iter().all(|d| *d), "the server's connections were dropped: {dropped:?}");
    // At once, a request may still get a dropped connection (used too recently to be pinged):
    // a 503, which clients retry, never a 500.
    let (status, _, v) = api.send(Method::POST, "/tables/Item", Some(r#"{"id":"at-once"}"#)).await;
    assert!(matches!(status.as_u16(), 201 | 503), "{status} {v}");
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    for i in 0..4 {
        let (status, _, v) =
            api.send(Method::POST, "/tables/Item", Some(&json!({"id": format!("after-{i}")}).to_string())).await;
        assert_eq!(status, 201, "{v}");
        let (status, _, v) = api.send(Method::GET, "/tables/Item?$top=1", None).await;
        assert_eq!(status, 200, "{v}");
    }
}

on_both!(one_filter_with_literals_of_other_types_finds_each);
/// The same `$filter` with a number literal that is a float, then an integer, then a float
/// again, many times over (so on the same database connections): each finds its own row.
async fn one_filter_with_literals_of_other_types_finds_each(db: Db) {
    let server = TestServer::start_on(db);
    let api = Api::new(&server);
    for (id, n) in [("half", json!(2.5)), ("minus", json!(-3)), ("three", json!(3))] {
        api.post("Item", json!({"id": id, "n": n})).await;
    }
    for _ in 0..12 {
        for (literal, id) in [("2.5", "half"), ("-3", "minus"), ("3.0", "three"), ("3", "three"), ("-3.0", "minus")] {
            let rows = api.rows("Item", &format!("$filter=n%20eq%20{literal}")).await;
            let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
            assert_eq!(ids, [id], "n eq {literal}");
        }
    }
}

on_both!(tables_without_soft_delete_remove_rows);
async fn tables_without_soft_delete_remove_rows(db: Db) {
    let config = "[tables.Log]\nsoft_delete = false\npage_size = 2\nmax_top = 3\ncolumns = { line = \"string\" }\n";
    let server = TestServer::with_config_on(db, config, |b| b);
    let api = Api::new(&server);
    for i in 0..4 {
        api.post("Log", json!({"id": format!("l{i}"), "line": "x"})).await;
    }
    assert_eq!(api.rows("Log", "").await.len(), 2, "page size 2");
    let (status, _, _) = api.send(Method::GET, "/tables/Log?$top=4", None).await;
    assert_eq!(status, 400, "maxTop 3");
    let (status, _, v) = api.send(Method::DELETE, "/tables/Log/l0", None).await;
    assert_eq!((status.as_u16(), &v["id"]), (200, &json!("l0")));
    assert_eq!(api.rows("Log", "__includeDeleted=true&$top=3").await.len(), 3, "the row is gone");
    let (status, _, _) = api.send(Method::POST, "/tables/Log", Some(r#"{"id":"l0"}"#)).await;
    assert_eq!(status, 201, "a removed id can be inserted again");
}

#[tokio::test]
async fn the_binary_prints_its_address_serves_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tables.toml");
    std::fs::write(&config, "[tables.Fixed]\nsoft_delete = false\ncolumns = { due = \"date\" }\n").unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sync-server"))
        .args(["--listen", "127.0.0.1:0", "--table", "Thing", "--config"])
        .arg(&config)
        .arg("--db")
        .arg(dir.path().join("bin.sqlite"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("{line:?}")).to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let api = Api { client: Client::new(), url };
    api.post("Thing", json!({"id": "t", "x": 1})).await;
    assert_eq!(api.rows("Thing", "").await.len(), 1);
    let fixed = api.post("Fixed", json!({"id": "f", "due": "2024-01-01T01:00:00+01:00"})).await;
    assert_eq!(fixed["due"], json!("2024-01-01T00:00:00.000Z"), "the config's date column");
    let (status, _, _) = api.send(Method::POST, "/tables/Fixed", Some(r#"{"x":1}"#)).await;
    assert_eq!(status, 400, "the config's table has fixed columns");
    let status = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "clean exit on SIGTERM: {:?}", out.status);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.lines().filter(|l| l.contains("finished processing request")).count() >= 4,
        "one line per request:\n{log}"
    );

    // Ctrl-C (SIGINT) on the same database: the rows are still there.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_sync-server"))
        .args(["--listen", "127.0.0.1:0", "--table", "Thing", "--db"])
        .arg(dir.path().join("bin.sqlite"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the binary starts again");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let api = Api { client: Client::new(), url: line.trim().trim_start_matches("listening on ").to_owned() };
    assert_eq!(api.rows("Thing", "").await.len(), 1, "the data survives a restart");
    std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(child.wait().unwrap().success(), "clean exit on SIGINT");
}

#[tokio::test]
async fn the_router_can_be_nested_under_a_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let config = sync_server::Config::from_toml(CONFORMANCE_TABLES).unwrap();
    let server =
        sync_server::Server::builder().sqlite_file(dir.path().join("n.sqlite")).config(&config).build().await.unwrap();
    let app = axum::Router::new().nest("/api", server.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    let api = Api { client: Client::new(), url: format!("{url}/api") };
    for i in 0..3 {
        api.post("Item", json!({"id": format!("n{i}")})).await;
    }
    let (status, headers, _) = api.send(Method::GET, "/tables/Item?$top=2", None).await;
    assert_eq!(status, 200);
    let link = headers["link"].to_str().unwrap();
    assert!(link.starts_with(&format!("<{url}/api/tables/Item?")), "the Link keeps the prefix: {link}");
    let _ = stop.send(());
    serving.await.unwrap().unwrap();
}

/// A table from the same `#[derive(SyncEntity)]` schema a client uses.
#[derive(sync_core::SyncEntity, Debug, Clone)]
#[sync(table = "Task")]
struct Task {
    id: String,
    title: String,
    #[sync(rename = "dueAt")]
    due_at: Option<sync_core::chrono::DateTime<sync_core::chrono::Utc>>,
    priority: i64,
    done: bool,
}

#[tokio::test]
async fn tables_come_from_derived_entities() {
    let server = TestServer::with_config("", |b| b.table::<Task>());
    let api = Api::new(&server);
    let v = api.post("Task", json!({"id": "t1", "title": "write", "priority": 2, "done": false})).await;
    assert_eq!((&v["title"], &v["priority"], &v["dueAt"]), (&json!("write"), &json!(2), &Value::Null));
    for bad in [json!({"title": null}), json!({"priority": 1.5}), json!({"done": "no"}), json!({"due_at": null})] {
        let (status, _, err) = api.send(Method::POST, "/tables/Task", Some(&bad.to_string())).await;
        assert_eq!(status, 400, "{bad}: {err}");
    }
    let rows = api.rows("Task", "$filter=priority%20ge%202%20and%20not%20done").await;
    assert_eq!(rows.len(), 1);
}
