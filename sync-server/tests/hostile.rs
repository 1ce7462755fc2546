//! Hostile input on every endpoint, on SQLite and PostgreSQL: each request gets a 4xx with
//! `{"error": …}` (never a 5xx), and afterwards every table holds exactly what it held before.

mod common;

use common::{Db, TestServer};
use reqwest::{Client, Method};
use serde_json::{json, Value};

const TABLES: &str = r#"
[tables.Item]
columns = { name = "string", n = "number", i = "integer", flag = "boolean", d = "date", j = "json" }
[tables.Notes]
dynamic_schema = true
"#;

/// Every row of a table (deleted ones too), by id.
async fn snapshot(client: &Client, base: &str, table: &str) -> Vec<Value> {
    let resp = client
        .get(format!("{base}/tables/{table}?__includeDeleted=true&$orderby=id&$top=1000"))
        .header("ZUMO-API-VERSION", "2.0.0")
        .send()
        .await
        .expect("query");
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("rows")
}

fn hostile_bodies() -> Vec<String> {
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    vec![
        String::new(),
        "null".into(),
        "[]".into(),
        "\"x\"".into(),
        "{".into(),
        "{\"id\":\"a\",}".into(),
        "\u{feff}{}garbage".into(),
        r#"{"n":1e400}"#.into(),
        r#"{"i":123456789012345678901234567890}"#.into(),
        r#"{"i":1.5}"#.into(),
        r#"{"n":"1"}"#.into(),
        r#"{"flag":2}"#.into(),
        r#"{"d":"2024-13-45T99:99:99Z"}"#.into(),
        r#"{"d":12}"#.into(),
        r#"{"name":{"nested":true}}"#.into(),
        format!(r#"{{"j":{deep}}}"#),
        r#"{"nope":1}"#.into(),
        r#"{"id":".."}"#.into(),
        r#"{"id":"a\u0001b"}"#.into(),
        r#"{"id":null,"updatedAt":"2024-01-01T00:00:00Z"}"#.into(),
        r#"{"deleted":true}"#.into(),
        r#"{"id":"x","ID":"y"}"#.into(),
        "\u{0}".into(),
    ]
}

/// Bodies a dynamic table must refuse.
fn hostile_dynamic_bodies() -> Vec<String> {
    vec![
        format!(r#"{{"{}":1}}"#, "c".repeat(200)),
        r#"{"bad name":1}"#.into(),
        r#"{"__hidden":1}"#.into(),
        r#"{"Text":"clash with text"}"#.into(),
        r#"{"text":5}"#.into(),
        r#"{"CreatedAt":"x"}"#.into(),
    ]
}

fn hostile_queries() -> Vec<&'static str> {
    vec![
        "$top=99999999999999999999",
        "$top=1e3",
        "$skip=-1",
        "$skip=18446744073709551616",
        "$filter=",
        "$filter=%00",
        "$filter=name%20eq%20'%00",
        "$filter=n%20div%20",
        "$filter=((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((n",
        "$filter=substring(name)%20eq%20'a'",
        "$filter=unknownfn(name)",
        "$filter=name%20eq%20datetime'not-a-date'",
        "$filter=id%20eq%20guid'zz'",
        "$orderby=name%20sideways",
        "$orderby=%22name%22",
        "$orderby=name;DROP%20TABLE%20Item",
        "$select=name,",
        "$select=*,id",
        "$inlinecount=all",
        "__includeDeleted=1",
        "$filter=%ZZ",
        "$top=1&$top=2",
    ]
}

async fn every_endpoint_refuses_hostile_input(db: Db) {
    let server = TestServer::with_config_on(db, TABLES, |b| b);
    let base = server.url.clone();
    let client = Client::new();
    let send = |method: Method, path: String, body: Option<String>, if_match: Option<&'static str>| {
        let mut req = client.request(method, format!("{base}{path}")).header("ZUMO-API-VERSION", "2.0.0");
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        if let Some(m) = if_match {
            req = req.header("If-Match", m);
        }
        req.send()
    };
    for (table, body) in [
        (
            "Item",
            json!({"id": "keep", "name": "k", "n": 1.5, "i": 2, "flag": true, "d": "2024-01-01T00:00:00.000Z", "j": {"a": [1]}}),
        ),
        ("Notes", json!({"id": "keep", "text": "t", "n": 1})),
    ] {
        let resp = send(Method::POST, format!("/tables/{table}"), Some(body.to_string()), None).await.expect("seed");
        assert_eq!(resp.status(), 201);
    }
    let before_items = snapshot(&client, &server.url, "Item").await;
    let before_notes = snapshot(&client, &server.url, "Notes").await;
    let mut requests: Vec<(Method, String, Option<String>, Option<&'static str>)> = Vec::new();
    for body in hostile_bodies() {
        requests.push((Method::POST, "/tables/Item".into(), Some(body.clone()), None));
        requests.push((Method::PATCH, "/tables/Item/keep".into(), Some(body.clone()), None));
    }
    for body in hostile_dynamic_bodies() {
        requests.push((Method::POST, "/tables/Notes".into(), Some(body.clone()), None));
        requests.push((Method::PATCH, "/tables/Notes/keep".into(), Some(body), None));
    }
    for query in hostile_queries() {
        requests.push((Method::GET, format!("/tables/Item?{query}"), None, None));
    }
    for id in ["%00", "a%01b", "..", "a%2Fb", "%FF%FE", &"x".repeat(300), "a%22b", "a%5Cb"] {
        requests.push((Method::GET, format!("/tables/Item/{id}"), None, None));
        requests.push((Method::PATCH, format!("/tables/Item/{id}"), Some("{\"n\":1}".into()), None));
        requests.push((Method::DELETE, format!("/tables/Item/{id}"), None, None));
        requests.push((Method::POST, format!("/tables/Item/{id}"), None, None));
    }
    for if_match in ["\"stale\"", "W/\"weak\"", "", "\"unterminated", "a, b", "\"\""] {
        requests.push((Method::PATCH, "/tables/Item/keep".into(), Some("{\"n\":2}".into()), Some(if_match)));
        requests.push((Method::DELETE, "/tables/Item/keep".into(), None, Some(if_match)));
        requests.push((Method::POST, "/tables/Item/keep".into(), None, Some(if_match)));
    }
    for path in [
        "/tables/Nope",
        "/tables/Nope/x",
        "/tables/",
        "/tables/Item/keep/extra",
        "/tables/__sync_clock",
        "/tables/Item%00",
    ] {
        requests.push((Method::GET, path.into(), None, None));
        requests.push((Method::POST, path.into(), Some("{}".into()), None));
    }
    let mut statuses = std::collections::BTreeMap::new();
    for (method, path, body, if_match) in requests {
        let shown = format!(
            "{method} {} {:?} If-Match {if_match:?}",
            &path[..path.len().min(80)],
            body.as_deref().map(|b| &b[..b.len().min(60)])
        );
        let resp = send(method, path, body, if_match).await.unwrap_or_else(|e| panic!("{shown}: {e}"));
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        assert!((400..500).contains(&status), "{shown}: {status} {text}");
        if status != 412 && status != 409 {
            let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{shown}: not JSON: {text}"));
            assert!(v["error"].is_string(), "{shown}: {v}");
        }
        *statuses.entry(status).or_insert(0) += 1;
    }
    eprintln!("hostile ({db:?}): answers by status {statuses:?}");
    assert_eq!(snapshot(&client, &server.url, "Item").await, before_items, "Item changed");
    assert_eq!(snapshot(&client, &server.url, "Notes").await, before_notes, "Notes changed");
}

#[tokio::test]
async fn every_endpoint_refuses_hostile_input_on_sqlite() {
    every_endpoint_refuses_hostile_input(Db::Sqlite).await;
}

#[tokio::test]
async fn every_endpoint_refuses_hostile_input_on_postgres() {
    every_endpoint_refuses_hostile_input(Db::Postgres).await;
}
