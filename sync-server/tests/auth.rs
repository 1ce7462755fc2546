//! Authentication: JWTs in `X-ZUMO-AUTH` or `Authorization: Bearer`, HS256 and RS256 (JWKS);
//! missing, expired, badly signed and malformed tokens are 401s; `per_user` tables keep users
//! apart (another user's row is a 404 and cannot be written), on SQLite and PostgreSQL.

mod common;

use common::{Db, TestServer};
use jsonwebtoken::{encode, EncodingKey, Header};
use reqwest::{Client, Method};
use serde_json::{json, Value};
use sync_server::Auth;

const SECRET: &str = "a test secret that is long enough for HS256";
const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys");

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs()
}

fn hs256(claims: Value, secret: &str) -> String {
    encode(&Header::default(), &claims, &EncodingKey::from_secret(secret.as_bytes())).expect("a token")
}

fn rs256(claims: Value, key_file: &str) -> String {
    let pem = std::fs::read(format!("{KEYS}/{key_file}")).expect("the test key");
    let mut header = Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some("test-key-1".to_owned());
    encode(&header, &claims, &EncodingKey::from_rsa_pem(&pem).expect("a PEM key")).expect("a token")
}

fn valid(sub: &str) -> Value {
    json!({ "sub": sub, "exp": now() + 3600 })
}

async fn send(
    server: &TestServer,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = Client::new().request(method, format!("{}{path}", server.url)).header("ZUMO-API-VERSION", "2.0.0");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    if status == 401 {
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    }
    (status, resp.json().await.unwrap_or(Value::Null))
}

const TABLES: &str = "[tables.Item]\ncolumns = { name = \"string\" }\n[tables.Mine]\nper_user = true\ncolumns = { text = \"string\" }\n[tables.Notes]\ndynamic_schema = true\nper_user = true\n";

#[tokio::test]
async fn hs256_tokens_are_checked() {
    let server = TestServer::with_config(TABLES, |b| b.auth(Auth::hs256(SECRET)));
    let good = hs256(valid("alice"), SECRET);
    for headers in [vec![("X-ZUMO-AUTH", good.as_str())], vec![("Authorization", &*format!("Bearer {good}"))]] {
        let (status, v) = send(&server, Method::GET, "/tables/Item", &headers, None).await;
        assert_eq!(status, 200, "{headers:?}: {v}");
    }
    let expired = hs256(json!({ "sub": "alice", "exp": now() - 3600 }), SECRET);
    let forged = hs256(valid("alice"), "another secret, not the server's one");
    let no_sub = hs256(json!({ "exp": now() + 3600 }), SECRET);
    let no_exp = hs256(json!({ "sub": "alice" }), SECRET);
    let basic = "Basic YWxpY2U6cGFzc3dvcmQ=";
    let bearer_forged = format!("Bearer {forged}");
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![], "authentication required"),
        (vec![("X-ZUMO-AUTH", "")], "authentication required"),
        (vec![("X-ZUMO-AUTH", &expired)], "expired"),
        (vec![("X-ZUMO-AUTH", &forged)], "signature"),
        (vec![("Authorization", &bearer_forged)], "signature"),
        (vec![("X-ZUMO-AUTH", "not.a.jwt")], "not valid"),
        (vec![("X-ZUMO-AUTH", &no_sub)], "no sub"),
        (vec![("X-ZUMO-AUTH", &no_exp)], "not valid"),
        (vec![("Authorization", basic)], "authentication required"),
    ];
    for (headers, message) in cases {
        for (method, path, body) in [
            (Method::GET, "/tables/Item", None),
            (Method::POST, "/tables/Item", Some(json!({ "id": "x", "name": "n" }))),
            (Method::GET, "/tables/Item/x", None),
        ] {
            let (status, v) = send(&server, method.clone(), path, &headers, body).await;
            assert_eq!(status, 401, "{method} {path} {headers:?}: {v}");
            let error = v["error"].as_str().unwrap_or_default();
            assert!(error.contains(message), "{headers:?}: {error:?} should say {message:?}");
        }
    }
    let (status, v) = send(&server, Method::GET, "/tables/Item/x", &[("X-ZUMO-AUTH", &good)], None).await;
    assert_eq!(status, 404, "nothing was written by the refused requests: {v}");
}

#[tokio::test]
async fn rs256_tokens_are_checked_against_the_jwks() {
    let auth = Auth::rs256_jwks_file(format!("{KEYS}/jwks.json")).expect("the JWKS loads");
    let server = TestServer::with_config(TABLES, move |b| b.auth(auth));
    let good = rs256(valid("alice"), "rs256-private.pem");
    let (status, v) = send(&server, Method::GET, "/tables/Item", &[("X-ZUMO-AUTH", &good)], None).await;
    assert_eq!(status, 200, "{v}");
    let expired = rs256(json!({ "sub": "alice", "exp": now() - 3600 }), "rs256-private.pem");
    let other_key = rs256(valid("alice"), "rs256-other-private.pem");
    let hs = hs256(valid("alice"), SECRET);
    for (token, message) in [(expired, "expired"), (other_key, "signature"), (hs, "no key of the JWKS")] {
        let (status, v) = send(&server, Method::GET, "/tables/Item", &[("X-ZUMO-AUTH", &token)], None).await;
        assert_eq!(status, 401, "{v}");
        assert!(v["error"].as_str().unwrap_or_default().contains(message), "{v} should say {message:?}");
    }
}

#[tokio::test]
async fn per_user_tables_need_auth() {
    let config = sync_server::Config::from_toml(TABLES).expect("config");
    let err = sync_server::Server::builder().sqlite_memory().config(&config).build().await.expect_err("no auth");
    assert!(err.to_string().contains("per_user"), "{err}");
}

async fn per_user_isolation(db: Db) {
    let server = TestServer::with_config_on(db, TABLES, |b| b.auth(Auth::hs256(SECRET)));
    let alice = hs256(valid("alice"), SECRET);
    let bob = hs256(valid("bob"), SECRET);
    let a = [("X-ZUMO-AUTH", alice.as_str())];
    let b = [("X-ZUMO-AUTH", bob.as_str())];
    for table in ["Mine", "Notes"] {
        let t = |rest: &str| format!("/tables/{table}{rest}");
        let (status, v) = send(&server, Method::POST, &t(""), &a, Some(json!({ "id": "a1", "text": "alice's" }))).await;
        assert_eq!(status, 201, "{v}");
        assert!(v.get("userId").is_none(), "the owner stays on the server: {v}");
        let version = v["version"].as_str().unwrap().to_owned();
        let (status, v) = send(&server, Method::POST, &t(""), &b, Some(json!({ "id": "b1", "text": "bob's" }))).await;
        assert_eq!(status, 201, "{v}");
        // Bob cannot see, change, delete or take over alice's row.
        let (status, _) = send(&server, Method::GET, &t("/a1"), &b, None).await;
        assert_eq!(status, 404);
        let (status, rows) = send(&server, Method::GET, &t("?__includeDeleted=true"), &b, None).await;
        assert_eq!((status, rows.as_array().map(Vec::len)), (200, Some(1)), "bob sees only his row: {rows}");
        assert_eq!(rows[0]["id"], json!("b1"));
        let (status, rows) = send(&server, Method::GET, &t("?$filter=id%20eq%20'a1'%20or%20true"), &b, None).await;
        assert_eq!((status, rows.as_array().map(Vec::len)), (200, Some(1)), "a filter cannot widen it: {rows}");
        let tag = format!("\"{version}\"");
        let (status, _) = send(
            &server,
            Method::PATCH,
            &t("/a1"),
            &[b[0], ("If-Match", &tag)],
            Some(json!({ "text": "bob was here" })),
        )
        .await;
        assert_eq!(status, 404);
        let (status, _) = send(&server, Method::PATCH, &t("/a1"), &b, Some(json!({ "text": "bob was here" }))).await;
        assert_eq!(status, 404);
        let (status, _) = send(&server, Method::DELETE, &t("/a1"), &b, None).await;
        assert_eq!(status, 404);
        let (status, _) = send(&server, Method::POST, &t("/a1"), &b, None).await;
        assert_eq!(status, 404, "undelete");
        let (status, v) =
            send(&server, Method::POST, &t(""), &b, Some(json!({ "id": "a1", "text": "mine now" }))).await;
        assert_eq!(status, 409, "{v}");
        assert!(v.get("text").is_none(), "the 409 does not show alice's row: {v}");
        let (status, v) =
            send(&server, Method::PATCH, &t("/b1"), &b, Some(json!({ "userId": "alice", "text": "give away" }))).await;
        assert_eq!(status, 400, "the owner cannot be set: {v}");
        let (status, v) = send(&server, Method::POST, &t(""), &b, Some(json!({ "id": "b2", "userId": "alice" }))).await;
        assert_eq!(status, 400, "{v}");
        // Alice's row is as she left it, and she sees only hers.
        let (status, v) = send(&server, Method::GET, &t("/a1"), &a, None).await;
        assert_eq!((status, &v["text"], &v["version"]), (200, &json!("alice's"), &json!(version)));
        let (status, rows) = send(&server, Method::GET, &t(""), &a, None).await;
        assert_eq!((status, rows.as_array().map(Vec::len)), (200, Some(1)), "{rows}");
        let (status, v) = send(&server, Method::DELETE, &t("/a1"), &a, None).await;
        assert_eq!(status, 200, "{v}");
    }
}

#[tokio::test]
async fn per_user_isolation_on_sqlite() {
    per_user_isolation(Db::Sqlite).await;
}

#[tokio::test]
async fn per_user_isolation_on_postgres() {
    per_user_isolation(Db::Postgres).await;
}
