//! Differential test: one recorded request sequence goes to the official Node server
//! (`tests/server`, npm `azure-mobile-apps` 4.0.2, started by `NodeServer`) and to sync-server.
//! Status codes, normalised bodies (`createdAt`, `updatedAt`, `version` and generated ids
//! replaced, numbers compared as numbers, error messages reduced to "an error"), the presence of
//! a strong `ETag` and of a `Link: rel=next` header are compared. Every difference must be listed
//! in `KNOWN` with its reason (the crate docs, "Differences from the Node server"), and every
//! listed difference must still occur, so the list stays true.

mod common;

use std::collections::{BTreeMap, HashMap};

use backend_azure_rest::test_server::NodeServer;
use common::{Db, TestServer};
use reqwest::Client;
use serde_json::{json, Value};

/// An `If-Match` header.
#[derive(Clone, Copy)]
enum IfMatch {
    /// The version this server last sent for the id.
    Current(&'static str),
    /// A literal header value.
    Raw(&'static str),
}

struct Step {
    label: String,
    method: &'static str,
    path: String,
    body: Option<String>,
    if_match: Option<IfMatch>,
    version_header: Option<&'static str>,
}

fn step(label: &str, method: &'static str, path: &str) -> Step {
    Step {
        label: label.to_owned(),
        method,
        path: path.to_owned(),
        body: None,
        if_match: None,
        version_header: Some("2.0.0"),
    }
}

impl Step {
    fn json(mut self, v: Value) -> Step {
        self.body = Some(v.to_string());
        self
    }
    fn raw(mut self, body: &str) -> Step {
        self.body = Some(body.to_owned());
        self
    }
    fn if_match(mut self, m: IfMatch) -> Step {
        self.if_match = Some(m);
        self
    }
    fn api_version(mut self, v: Option<&'static str>) -> Step {
        self.version_header = v;
        self
    }
}

fn get(label: &str, query: &str) -> Step {
    step(label, "GET", &format!("/tables/{query}"))
}

/// `$filter` with the value percent-encoded; on Item only the rows `fx1`…`fx5` made for filters.
fn filter(label: &str, table: &str, f: &str) -> Step {
    let f = if table == "Item" { format!("({f}) and id ge 'fx' and id lt 'fy'") } else { f.to_owned() };
    let enc: String = url_encode(&f);
    get(label, &format!("{table}?$filter={enc}&$orderby=id"))
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn sequence() -> Vec<Step> {
    use IfMatch::{Current, Raw};
    let mut s = vec![
        // CRUD
        step("insert", "POST", "/tables/Item").json(json!({"id": "a1", "name": "alpha", "n": 5, "flag": true})),
        step("insert without id", "POST", "/tables/Item").json(json!({"name": "noid", "n": 1.5})),
        step("insert with version", "POST", "/tables/Item").json(json!({"id": "v1", "version": "AAAA"})),
        step("insert empty object", "POST", "/tables/Item").json(json!({"id": "e1"})),
        get("read", "Item/a1"),
        get("read missing", "Item/missing"),
        step("update", "PATCH", "/tables/Item/a1").json(json!({"n": 6})),
        step("update with same id in body", "PATCH", "/tables/Item/a1").json(json!({"id": "a1", "name": "alpha2"})),
        step("update with other id in body", "PATCH", "/tables/Item/a1").json(json!({"id": "zz"})),
        step("update missing", "PATCH", "/tables/Item/missing").json(json!({"n": 1})),
        step("update with null", "PATCH", "/tables/Item/a1").json(json!({"flag": null})),
        step("insert existing id", "POST", "/tables/Item").json(json!({"id": "a1", "name": "dup"})),
        // Conflicts
        step("update with current If-Match", "PATCH", "/tables/Item/a1").json(json!({"n": 7})).if_match(Current("a1")),
        step("update with stale If-Match", "PATCH", "/tables/Item/a1").json(json!({"n": 8})).if_match(Raw("\"stale\"")),
        step("update with stale body version", "PATCH", "/tables/Item/a1").json(json!({"n": 8, "version": "stale"})),
        step("insert s1", "POST", "/tables/Item").json(json!({"id": "s1", "name": "star"})),
        step("update with If-Match *", "PATCH", "/tables/Item/s1").json(json!({"n": 9})).if_match(Raw("*")),
        step("update with weak If-Match", "PATCH", "/tables/Item/a1").json(json!({"n": 9})).if_match(Raw("W/\"x\"")),
        get("read after conflicts", "Item/a1"),
        step("delete with stale If-Match", "DELETE", "/tables/Item/a1").if_match(Raw("\"stale\"")),
        step("delete with current If-Match", "DELETE", "/tables/Item/a1").if_match(Current("a1")),
        get("read deleted", "Item/a1"),
        step("delete deleted", "DELETE", "/tables/Item/a1"),
        step("update deleted", "PATCH", "/tables/Item/a1").json(json!({"n": 1})),
        step("insert deleted id", "POST", "/tables/Item").json(json!({"id": "a1"})),
        filter("query hides deleted", "Item", "id eq 'a1'"),
        get("query includes deleted", "Item?$filter=id%20eq%20'a1'&__includeDeleted=true"),
        get("read deleted with __includeDeleted", "Item/a1?__includeDeleted=true"),
        step("undelete", "POST", "/tables/Item/a1"),
        get("read undeleted", "Item/a1"),
        step("undelete live row", "POST", "/tables/Item/a1"),
        step("undelete missing", "POST", "/tables/Item/missing"),
        step("delete without If-Match", "DELETE", "/tables/Item/e1"),
        // Reserved properties and bad input
        step("insert with createdAt", "POST", "/tables/Item")
            .json(json!({"id": "r1", "createdAt": "2024-01-01T00:00:00.000Z"})),
        step("insert with updatedAt", "POST", "/tables/Item")
            .json(json!({"id": "r2", "updatedAt": "2024-01-01T00:00:00.000Z"})),
        step("insert with deleted", "POST", "/tables/Item").json(json!({"id": "r3", "deleted": false})),
        step("update with deleted", "PATCH", "/tables/Item/v1").json(json!({"deleted": true})),
        step("malformed JSON", "POST", "/tables/Item").raw("{\"id\":"),
        step("array body", "POST", "/tables/Item").raw("[{\"id\":\"arr\"}]"),
        step("wrong type for number", "POST", "/tables/Item").json(json!({"id": "w1", "n": "five"})),
        step("numeric string for number", "POST", "/tables/Item").json(json!({"id": "w2", "n": "5"})),
        step("wrong type for boolean", "POST", "/tables/Item").json(json!({"id": "w3", "flag": "yes"})),
        step("boolean as 1", "POST", "/tables/Item").json(json!({"id": "w4", "flag": 1})),
        step("unknown column", "POST", "/tables/Item").json(json!({"id": "w5", "extra": 1})),
        step("id too long", "POST", "/tables/Item").json(json!({"id": "x".repeat(300)})),
        step("numeric id", "POST", "/tables/Item").json(json!({"id": 12})),
        step("body over the limit", "POST", "/tables/Item").json(json!({"id": "big", "name": "x".repeat(1_100_000)})),
        get("unknown table", "Nope"),
        get("no API version", "Item").api_version(None),
        get("API version 3.0.0", "Item").api_version(Some("3.0.0")),
        get("API version 2.0.1", "Item?$filter=id%20eq%20'v1'").api_version(Some("2.0.1")),
        get("API version in the query", "Item?$filter=id%20eq%20'v1'&ZUMO-API-VERSION=2.0.0").api_version(None),
    ];
    // Rows for filters.
    for (id, name, n, flag) in [
        ("fx1", "xylophone", 1.0, true),
        ("fx2", "axe", 2.5, false),
        ("fx3", "it's", 7.0, true),
        ("fx4", "Zed", -3.0, false),
    ] {
        s.push(
            step(&format!("insert {id}"), "POST", "/tables/Item")
                .json(json!({"id": id, "name": name, "n": n, "flag": flag})),
        );
    }
    s.push(step("insert f5 (nulls)", "POST", "/tables/Item").json(json!({"id": "fx5"})));
    for (id, s_, i, d) in [
        ("t1", "one", 1, "2024-01-01T00:00:00.000Z"),
        ("t2", "two", 2, "2024-06-15T12:30:45.678Z"),
        ("t3", "three", 3, "2024-12-31T23:59:59.999Z"),
    ] {
        s.push(
            step(&format!("insert {id}"), "POST", "/tables/AllTypes")
                .json(json!({"id": id, "s": s_, "i": i, "r": i as f64 / 2.0, "b": i % 2 == 1, "d": d})),
        );
    }
    for (label, f) in [
        ("eq string with quote", "name eq 'it''s'"),
        ("gt number", "n gt 2"),
        ("eq real", "n eq 2.5"),
        ("eq negative", "n eq -3"),
        ("arithmetic", "n add 1 eq 8"),
        ("sub mul div", "n mul 2 sub 1 div 1 eq 4"),
        ("eq true", "flag eq true"),
        ("eq false", "flag eq false"),
        ("bare boolean", "flag"),
        ("not boolean", "not flag"),
        ("ne true", "flag ne true"),
        ("eq null", "name eq null"),
        ("ne null", "name ne null"),
        ("and or", "(n gt 0 or n lt -1) and flag eq false"),
        ("not group", "not (n gt 2 or flag eq false)"),
        ("tolower", "tolower(name) eq 'zed'"),
        ("toupper", "toupper(name) eq 'AXE'"),
        ("concat", "concat(name, '!') eq 'axe!'"),
        ("substring 3 args", "substring(name, 1, 2) eq 'xe'"),
        ("round", "round(n) eq 3"),
        ("startswith", "startswith(name, 'x')"),
        ("endswith", "endswith(name, 'e')"),
        ("substringof", "substringof('lo', name)"),
        ("indexof", "indexof(name, 'x') eq 1"),
        ("length", "length(name) eq 3"),
        ("floor", "floor(n) eq 2"),
        ("ceiling", "ceiling(n) eq 3"),
        ("mod", "n mod 2 eq 1"),
        ("substring 2 args", "substring(name, 1) eq 'xe'"),
        ("id list as or", "id eq 'fx1' or id eq 'fx3'"),
        ("in list (v4)", "id in ('fx1', 'fx3')"),
        ("double quotes", "name eq \"axe\""),
        ("dangling operator", "name eq"),
        ("unknown column in filter", "nope eq 1"),
        ("guid literal", "id eq guid'0f8fad5b-d9cb-469f-a165-70867728950e'"),
    ] {
        s.push(filter(label, "Item", f));
    }
    for (label, f) in [
        ("datetimeoffset gt", "d gt datetimeoffset'2024-06-15T12:30:45.677Z'"),
        ("datetimeoffset 7 digits", "d ge datetimeoffset'2024-06-15T12:30:45.6780000+00:00'"),
        ("datetime with Z", "d eq datetime'2024-01-01T00:00:00.000Z'"),
        ("datetime without Z", "d eq datetime'2024-01-01T00:00:00'"),
        ("year", "year(d) eq 2024"),
        ("updatedAt ge epoch", "updatedAt ge datetimeoffset'1970-01-01T00:00:00.000Z'"),
        ("keyset cursor", "(updatedAt gt datetimeoffset'1970-01-01T00:00:00.000Z') or (updatedAt eq datetimeoffset'1970-01-01T00:00:00.000Z' and id gt '')"),
        ("integer vs real column", "i eq 2.0"),
        ("boolean column b", "b eq true"),
    ] {
        s.push(filter(label, "AllTypes", f));
    }
    s.extend([
        get("orderby desc", "Item?$filter=id%20ge%20'fx'%20and%20id%20lt%20'fy'&$orderby=n%20desc"),
        get("orderby two keys", "Item?$filter=id%20ge%20'fx'%20and%20id%20lt%20'fy'&$orderby=flag,id%20desc"),
        get("orderby asc suffix", "Item?$filter=id%20ge%20'fx'%20and%20id%20lt%20'fy'&$orderby=name%20asc"),
        get("select", "Item?$filter=id%20eq%20'fx2'&$select=id,name"),
        get(
            "inlinecount",
            "Item?$filter=id%20ge%20'fx'%20and%20id%20lt%20'fy'&$orderby=id&$top=2&$inlinecount=allpages",
        ),
        get("top 2 of 5 (Link)", "Item?$filter=id%20ge%20'fx'%20and%20id%20lt%20'fy'&$orderby=id&$top=2"),
        get("skip 2 top 2 (Link)", "Item?$filter=id%20ge%20'fx'%20and%20id%20lt%20'fy'&$orderby=id&$top=2&$skip=2"),
        get("last page, short", "Item?$filter=id%20ge%20'fx'%20and%20id%20lt%20'fy'&$orderby=id&$top=2&$skip=4"),
        get("last page, exactly full", "Item?$filter=id%20ge%20'fx'%20and%20id%20lt%20'fy'&$orderby=id&$top=5"),
        get("top 1000", "Item?$filter=id%20ge%20'fx'%20and%20id%20lt%20'fy'&$orderby=id&$top=1000"),
        get("top 1001", "Item?$top=1001"),
        get("top 0", "Item?$filter=id%20ge%20'fx'%20and%20id%20lt%20'fy'&$orderby=id&$top=0"),
        get("top not a number", "Item?$filter=id%20ge%20'fx'%20and%20id%20lt%20'fy'&$orderby=id&$top=abc"),
        get("top -1", "Item?$filter=id%20ge%20'fx'%20and%20id%20lt%20'fy'&$orderby=id&$top=-1"),
        get("skip without top", "Item?$filter=id%20ge%20'fx'%20and%20id%20lt%20'fy'&$orderby=id&$skip=3"),
        get("unknown $ option", "Item?$filter=id%20eq%20'fx1'&$expand=x"),
        get("$count (v4)", "Item?$filter=id%20eq%20'fx1'&$count=true"),
        get("__includeDeleted=false", "Item?$filter=id%20eq%20'e1'&__includeDeleted=false"),
        get("__includedeleted lower case", "Item?$filter=id%20eq%20'e1'&__includedeleted=true"),
        get("custom parameter", "Item?$filter=id%20eq%20'fx1'&custom=1"),
    ]);
    // 60 rows: no $top gives the page size.
    for i in 0..55 {
        s.push(
            step(&format!("bulk insert {i}"), "POST", "/tables/TodoItem")
                .json(json!({"id": format!("b{i:02}"), "text": "bulk", "complete": i % 2 == 0})),
        );
    }
    s.extend([
        get("page size 50", "TodoItem?$orderby=id"),
        get("page size with skip", "TodoItem?$orderby=id&$skip=50"),
        filter("bulk complete", "TodoItem", "complete eq true and text eq 'bulk'"),
    ]);
    s
}

/// What one server answered, normalised.
#[derive(Debug, Clone, PartialEq)]
struct Answer {
    status: u16,
    body: Value,
    etag: bool,
    link: bool,
}

fn normalise(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            if map.len() == 1 && map.contains_key("error") {
                return json!({"error": "…"});
            }
            Value::Object(
                map.into_iter()
                    .map(|(k, v)| {
                        let v = match k.as_str() {
                            "createdAt" | "updatedAt" | "version" if !v.is_null() => json!("…"),
                            "id" if v.as_str().is_some_and(|s| s.len() == 36 && s.matches('-').count() == 4) => {
                                json!("<uuid>")
                            }
                            _ => normalise(v),
                        };
                        (k, v)
                    })
                    .collect::<BTreeMap<_, _>>()
                    .into_iter()
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(normalise).collect()),
        Value::Number(n) => n.as_f64().map_or(Value::Null, |f| json!(f)),
        v => v,
    }
}

async fn run(client: &Client, base: &str, steps: &[Step]) -> Vec<Answer> {
    let mut versions: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    for s in steps {
        let method = reqwest::Method::from_bytes(s.method.as_bytes()).expect("method");
        let mut req = client.request(method, format!("{base}{}", s.path));
        if let Some(v) = s.version_header {
            req = req.header("ZUMO-API-VERSION", v);
        }
        match s.if_match {
            Some(IfMatch::Current(id)) => {
                let v = versions.get(id).cloned().unwrap_or_default();
                req = req.header("If-Match", format!("\"{v}\""));
            }
            Some(IfMatch::Raw(h)) => req = req.header("If-Match", h),
            None => {}
        }
        if let Some(b) = &s.body {
            req = req.header("content-type", "application/json").body(b.clone());
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{}: {e}", s.label));
        let status = resp.status().as_u16();
        let etag = resp.headers().get("etag").and_then(|e| e.to_str().ok()).is_some_and(|e| !e.starts_with("W/"));
        let link = resp.headers().get("link").is_some();
        let text = resp.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| json!("<not JSON>"));
        let mut record = |item: &Value| {
            if let (Some(id), Some(v)) = (item["id"].as_str(), item["version"].as_str()) {
                versions.insert(id.to_owned(), v.to_owned());
            }
        };
        match &body {
            Value::Array(items) => items.iter().for_each(&mut record),
            item => record(item),
        }
        out.push(Answer { status, body: normalise(body), etag, link });
    }
    out
}

/// The differences left, by step label, with their reason (see the crate docs).
const KNOWN: &[(&str, &str)] = &[
    ("insert existing id", "409 body: the stored item (Node echoes the request item) — docs §1"),
    ("insert deleted id", "409 body: the stored item (Node echoes the request item) — docs §1"),
    ("update with If-Match *", "If-Match: * matches any version (Node: 412) — docs §6"),
    ("array body", "a body that is not an object is 400 (Node: 500) — docs §3"),
    ("wrong type for number", "wrong types for fixed columns are 400 (Node stores the text) — docs §3"),
    ("numeric string for number", "wrong types for fixed columns are 400 (Node converts \"5\") — docs §3"),
    ("wrong type for boolean", "wrong types for fixed columns are 400 — docs §3"),
    ("unknown column", "unknown columns are 400 (Node: 500) — docs §3"),
    ("id too long", "ids follow sync_core::backend::validate_id: at most 255 bytes (Node stores any) — docs §3"),
    ("numeric id", "ids are strings (Node accepts numbers) — docs §3"),
    ("body over the limit", "413 (Node's body parser limit 100 kB answers 400) — docs §3"),
    ("unknown table", "JSON 404 (Node: HTML 404) — docs §3"),
    ("startswith", "works (Node's SQLite provider matches nothing) — docs §4"),
    ("endswith", "works (Node matches nothing) — docs §4"),
    ("substringof", "works (Node matches nothing) — docs §4"),
    ("indexof", "works (Node matches nothing) — docs §4"),
    ("length", "works (Node: 500 no such function LEN) — docs §4"),
    ("mod", "works (Node: 500) — docs §4"),
    ("substring 2 args", "works (Node: 500) — docs §4"),
    ("year", "works (Node: 500 no such function YEAR) — docs §4"),
    ("datetime without Z", "read as UTC (Node: 500) — docs §4"),
    ("guid literal", "compared as text (Node: 500) — docs §4"),
    ("in list (v4)", "400 (Node: 500) — docs §3"),
    ("double quotes", "400 (Node: 500) — docs §3"),
    ("dangling operator", "400 (Node: 500) — docs §3"),
    ("unknown column in filter", "400 (Node: 500) — docs §3"),
    ("last page, exactly full", "no Link when no rows follow (Node: Link on every full page) — docs §2"),
    ("top not a number", "400 (Node ignores it: 50 rows) — docs §5"),
    ("top -1", "400 (Node: every row) — docs §5"),
    ("unknown $ option", "400 (Node ignores it) — docs §5"),
    ("$count (v4)", "400 pointing to $inlinecount (Node ignores it) — docs §5"),
    ("__includeDeleted=false", "false shows no deleted rows (Node: any non-empty value includes them) — docs §5"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_server_answers_like_the_node_server() {
    compare_with_node(Db::Sqlite).await;
}

/// The same sequence and the same list of differences with PostgreSQL storage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_server_on_postgres_answers_like_the_node_server() {
    compare_with_node(Db::Postgres).await;
}

async fn compare_with_node(db: Db) {
    let node = NodeServer::start().await.expect("the Node server starts");
    let ours = TestServer::start_on(db);
    let steps = sequence();
    let client = Client::new();
    let from_node = run(&client, &node.url(), &steps).await;
    let from_ours = run(&client, &ours.url, &steps).await;
    let mut differences = Vec::new();
    for ((s, n), o) in steps.iter().zip(&from_node).zip(&from_ours) {
        if n != o {
            differences.push((s.label.clone(), n.clone(), o.clone()));
        }
    }
    eprintln!("differential ({db:?}): {} requests compared, {} differences", steps.len(), differences.len());
    for (label, n, o) in &differences {
        let short = |a: &Answer| {
            let body = a.body.to_string();
            let body: String = body.chars().take(160).collect();
            format!("{} etag={} link={} {body}", a.status, a.etag, a.link)
        };
        eprintln!("- {label}:\n    node: {}\n    ours: {}", short(n), short(o));
    }
    let unexplained: Vec<&String> =
        differences.iter().map(|(l, _, _)| l).filter(|l| !KNOWN.iter().any(|(k, _)| k == l)).collect();
    let stale: Vec<&str> =
        KNOWN.iter().map(|(k, _)| *k).filter(|k| !differences.iter().any(|(l, _, _)| l == k)).collect();
    assert!(unexplained.is_empty(), "differences not listed in KNOWN: {unexplained:?}");
    assert!(stale.is_empty(), "KNOWN lists differences that no longer occur: {stale:?}");
}
