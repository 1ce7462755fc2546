//! What goes over the wire and how odd responses are classified, without the Node server: a raw
//! TCP listener on 127.0.0.1 records each request and answers with a canned response (the real
//! server cannot be made to send malformed bodies, cut connections or redirects).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use backend_azure_rest::{is_timeout, AuthScheme, AuthToken, AzureRestRemote, BuildError, TokenProvider};
use serde_json::json;
use sync_core::backend::{odata_filter, Cursor, RemoteError, RemoteErrorKind as K};
use sync_core::{column, Record, Remote};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A canned answer: raw bytes written after the request is read; `None` = close without answering;
/// `Hang` = never answer.
#[derive(Clone)]
enum Answer {
    Raw(Vec<u8>),
    Close,
    Hang,
}

fn http(status: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let mut s = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (k, v) in headers {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s.push_str("\r\n");
    s.push_str(body);
    Answer::Raw(s.into_bytes())
}

/// Serves `answers` in turn (the last one repeats); returns the base URL and the recorded requests.
async fn serve(answers: Vec<Answer>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        let mut i = 0;
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let answer = answers[i.min(answers.len() - 1)].clone();
            i += 1;
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head, then Content-Length bytes of body.
                loop {
                    let Ok(n) = sock.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned())
                            })
                            .and_then(|v| v.parse::<usize>().ok())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                log.lock().unwrap().push(String::from_utf8_lossy(&buf).to_string());
                match answer {
                    Answer::Raw(bytes) => {
                        let _ = sock.write_all(&bytes).await;
                        let _ = sock.shutdown().await;
                    }
                    Answer::Close => drop(sock),
                    Answer::Hang => tokio::time::sleep(Duration::from_secs(30)).await,
                }
            });
        }
    });
    (url, seen)
}

fn remote(url: &str) -> AzureRestRemote {
    AzureRestRemote::builder(url).build().unwrap()
}

fn err<T: std::fmt::Debug>(r: Result<T, RemoteError>) -> RemoteError {
    r.expect_err("expected an error")
}

fn rec(v: serde_json::Value) -> Record {
    Record::from_json(v).unwrap()
}

#[tokio::test]
async fn query_string_is_fully_encoded() {
    let (url, seen) = serve(vec![http("200 OK", &[], "[]")]).await;
    let r = remote(&url);
    let filter = column("name").eq("it's a+b&c=d #1 é") & column("n").gt(2);
    let cursor = Cursor { updated_at: "2024-01-01T00:00:00.000Z".into(), id: "x'y z".into() };
    r.query_page("Item", Some(&filter), Some(&cursor), 50).await.unwrap();
    let req = seen.lock().unwrap()[0].clone();
    let line = req.lines().next().unwrap();
    let target = line.strip_prefix("GET /tables/Item?").and_then(|l| l.strip_suffix(" HTTP/1.1")).unwrap();
    // Nothing but unreserved characters, `$`, `=`, `&` and escapes goes out raw.
    assert!(target.chars().all(|c| c.is_ascii_alphanumeric() || "-._~$=&%".contains(c)), "{target}");
    assert!(target.contains("it%27%27s%20a%2Bb%26c%3Dd%20%231%20%C3%A9"), "{target}");
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(target.as_bytes()).into_owned().collect();
    let expected_filter = format!("{} and {}", odata_filter(&filter), odata_filter(&cursor.filter()));
    assert_eq!(
        pairs,
        [
            ("$filter".to_owned(), expected_filter),
            ("$orderby".to_owned(), "updatedAt,id".to_owned()),
            ("$top".to_owned(), "50".to_owned()),
            ("__includeDeleted".to_owned(), "true".to_owned()),
        ]
    );
    let lower = req.to_ascii_lowercase();
    assert!(lower.contains("\r\nzumo-api-version: 2.0.0\r\n"), "{req}");
    assert!(lower.contains("\r\naccept: application/json\r\n"), "{req}");
    assert!(lower.contains("\r\nx-zumo-version: zumo/2.0 (lang=rust;"), "{req}");
    assert!(!lower.contains("x-zumo-auth"));
}

#[tokio::test]
async fn query_without_filter_or_cursor() {
    let (url, seen) = serve(vec![http("200 OK", &[], r#"{"results":[{"id":"a"}],"count":1}"#)]).await;
    let page = remote(&format!("{url}/prefix")).query_page("Item", None, None, 0).await.unwrap();
    assert_eq!(page.items.len(), 1);
    let req = seen.lock().unwrap()[0].clone();
    assert!(
        req.starts_with("GET /prefix/tables/Item?$orderby=updatedAt%2Cid&$top=1000&__includeDeleted=true "),
        "{req}"
    );
}

#[tokio::test]
async fn writes_send_stripped_bodies_ids_in_one_segment_and_if_match() {
    let item = r#"{"id":"a b#c%d é","name":"x","version":"MQ==","updatedAt":"2024-01-01T00:00:00.000Z"}"#;
    let (url, seen) = serve(vec![http("200 OK", &[("ETag", "\"Mg==\"")], item)]).await;
    let r = AzureRestRemote::builder(&url)
        .token("tok-123")
        .auth_scheme(AuthScheme::Bearer)
        .header("X-ZUMO-INSTALLATION-ID", "inst-1")
        .build()
        .unwrap();
    let local = rec(json!({"id": "a b#c%d é", "name": "x", "version": "MQ==", "createdAt": null,
        "updatedAt": "2024-01-01T00:00:00.000Z", "deleted": false}));
    let updated = r.update("Item", &local, Some("ver\"sion")).await.unwrap();
    assert_eq!(updated.version(), Some("MQ=="), "the body's version wins over the ETag");
    r.delete("Item", "a b#c%d é", Some("MQ==")).await.unwrap();
    r.insert("Item", &local).await.unwrap();
    let reqs = seen.lock().unwrap().clone();
    assert!(reqs[0].starts_with("PATCH /tables/Item/a%20b%23c%25d%20%C3%A9 HTTP/1.1\r\n"), "{}", reqs[0]);
    let lower = reqs[0].to_ascii_lowercase();
    assert!(lower.contains("\r\nif-match: \"ver\\\"sion\"\r\n"), "{}", reqs[0]);
    assert!(lower.contains("\r\nauthorization: bearer tok-123\r\n"));
    assert!(lower.contains("\r\nx-zumo-installation-id: inst-1\r\n"));
    assert!(lower.contains("\r\ncontent-type: application/json\r\n"));
    let body = reqs[0].split("\r\n\r\n").nth(1).unwrap();
    assert_eq!(serde_json::from_str::<serde_json::Value>(body).unwrap(), json!({"id": "a b#c%d é", "name": "x"}));
    assert!(reqs[1].starts_with("DELETE /tables/Item/a%20b%23c%25d%20%C3%A9 HTTP/1.1\r\n"));
    assert!(reqs[1].to_ascii_lowercase().contains("\r\nif-match: \"mq==\"\r\n"));
    assert!(reqs[2].starts_with("POST /tables/Item HTTP/1.1\r\n"));
    assert!(!reqs[2].to_ascii_lowercase().contains("if-match"));
}

#[tokio::test]
async fn the_etag_fills_a_missing_version() {
    let (url, _) = serve(vec![http("201 Created", &[("ETag", "\"Mg==\"")], r#"{"id":"a"}"#)]).await;
    assert_eq!(remote(&url).insert("Item", &rec(json!({"id": "a"}))).await.unwrap().version(), Some("Mg=="));
}

#[tokio::test]
async fn malformed_responses_are_protocol_errors() {
    let cases = [
        http("200 OK", &[], "not json"),
        http("200 OK", &[], "[1]"),
        http("200 OK", &[], r#"[{"id":7}]"#),
        http("200 OK", &[], r#"[{"id":"a/b"}]"#),
        http("200 OK", &[], r#"[{"id":"a","updatedAt":5}]"#),
        http("200 OK", &[], r#"{"id":"a"}"#),
        http("200 OK", &[], ""),
        http("302 Found", &[("Location", "http://example.invalid/")], ""),
        http("200 OK", &[], &format!("[{}]", [r#"{"id":"a"}"#; 3].join(","))),
    ];
    for (i, answer) in cases.into_iter().enumerate() {
        let (url, _) = serve(vec![answer]).await;
        let e = err(remote(&url).query_page("Item", None, None, 2).await);
        assert_eq!(e.kind(), K::Protocol, "case {i}: {e}");
    }
    for body in ["[]", "{}", r#"{"id":""}"#, "null", r#"{"id":"b"}"#] {
        let (url, _) = serve(vec![http("200 OK", &[], body)]).await;
        assert_eq!(err(remote(&url).read("Item", "a").await).kind(), K::Protocol, "{body}");
    }
}

#[tokio::test]
async fn body_limit_is_enforced_while_streaming() {
    // Announced too large: refused before reading.
    let big = format!("[{}]", [r#"{"id":"a"}"#; 1000].join(","));
    let (url, _) = serve(vec![http("200 OK", &[], &big)]).await;
    let r = AzureRestRemote::builder(&url).max_body_bytes(1000).build().unwrap();
    assert_eq!(err(r.query_page("Item", None, None, 2000).await).kind(), K::Protocol);
    // Chunked without a length: cut off once the limit is passed, though the body never ends.
    let mut raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..200 {
        raw.extend_from_slice(b"10\r\n[{\"id\":\"a\"}     \r\n");
    }
    let (url, _) = serve(vec![Answer::Raw(raw)]).await;
    let r = AzureRestRemote::builder(&url).max_body_bytes(1000).timeout(Duration::from_secs(20)).build().unwrap();
    let e = err(r.query_page("Item", None, None, 10).await);
    assert_eq!(e.kind(), K::Protocol, "{e}");
    assert!(e.to_string().contains("limit"));
}

#[tokio::test]
async fn broken_connections_are_offline() {
    // Body shorter than announced.
    let (url, _) = serve(vec![Answer::Raw(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n[{\"id\":".to_vec())]).await;
    let e = err(remote(&url).query_page("Item", None, None, 10).await);
    assert_eq!((e.kind(), e.status()), (K::Offline, None), "{e:?}");
    // Closed without an answer.
    let (url, _) = serve(vec![Answer::Close]).await;
    assert_eq!(err(remote(&url).read("Item", "a").await).kind(), K::Offline);
    // Garbage instead of HTTP.
    let (url, _) = serve(vec![Answer::Raw(b"SSH-2.0-OpenSSH\r\n".to_vec())]).await;
    assert_eq!(err(remote(&url).read("Item", "a").await).kind(), K::Offline);
    // No answer within the timeout.
    let (url, _) = serve(vec![Answer::Hang]).await;
    let r = AzureRestRemote::builder(&url).timeout(Duration::from_millis(200)).build().unwrap();
    let e = err(r.read("Item", "a").await);
    assert!(e.is_retryable() && is_timeout(&e), "{e:?}");
    assert!(!e.to_string().contains(&url), "no URL in errors: {e}");
}

#[tokio::test]
async fn statuses_map_to_kinds() {
    let cases = [
        ("503 Service Unavailable", "", K::Transient, Some(503)),
        ("429 Too Many Requests", "", K::Transient, Some(429)),
        ("500 Internal Server Error", r#"{"error":"boom"}"#, K::Transient, Some(500)),
        ("400 Bad Request", r#"{"error":"reserved"}"#, K::BadRequest, Some(400)),
        ("405 Method Not Allowed", "", K::BadRequest, Some(405)),
        ("404 Not Found", "<html>", K::NotFound, Some(404)),
        ("401 Unauthorized", "", K::Unauthorized, Some(401)),
        ("412 Precondition Failed", r#"{"error":"no item"}"#, K::Conflict, Some(412)),
        ("409 Conflict", r#"{"id":"a","version":"Mw=="}"#, K::Conflict, Some(409)),
    ];
    for (status, body, kind, code) in cases {
        let (url, _) = serve(vec![http(status, &[], body)]).await;
        let e = err(remote(&url).update("Item", &rec(json!({"id": "a", "n": 1})), Some("MQ==")).await);
        assert_eq!((e.kind(), e.status()), (kind, code), "{status}");
        if code == Some(409) {
            assert_eq!(e.server_item().and_then(Record::version), Some("Mw=="));
        }
        if code == Some(412) {
            assert!(e.server_item().is_none());
        }
        if code == Some(400) {
            assert!(e.to_string().contains("reserved"));
        }
    }
}

#[tokio::test]
async fn insert_409_ignores_the_echoed_body_and_reads_the_item() {
    let (url, seen) = serve(vec![
        http("409 Conflict", &[], r#"{"id":"a","name":"mine"}"#),
        http("200 OK", &[("ETag", "\"NQ==\"")], r#"{"id":"a","name":"theirs"}"#),
    ])
    .await;
    let e = err(remote(&url).insert("Item", &rec(json!({"id": "a", "name": "mine"}))).await);
    let item = e.server_item().unwrap();
    assert_eq!((item.get("name"), item.version()), (Some(&json!("theirs")), Some("NQ==")));
    assert!(seen.lock().unwrap()[1].starts_with("GET /tables/Item/a HTTP/1.1"));
}

#[tokio::test]
async fn link_next_is_reported_never_followed() {
    let link = "<http://127.0.0.1/?%24top=1&%24skip=1>; rel=next";
    let (url, seen) = serve(vec![http("200 OK", &[("Link", link)], r#"[{"id":"a"}]"#)]).await;
    let page = remote(&url).query_page("Item", None, None, 1).await.unwrap();
    assert!(page.has_next_link);
    assert_eq!(seen.lock().unwrap().len(), 1);
}

struct Refreshing {
    calls: AtomicUsize,
    rejected: AtomicUsize,
}

#[async_trait]
impl TokenProvider for Refreshing {
    async fn token(&self) -> Result<Option<AuthToken>, RemoteError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(Some(AuthToken::new(format!("token-{n}"))))
    }
    async fn token_rejected(&self, _rejected: &AuthToken) -> bool {
        self.rejected.fetch_add(1, Ordering::SeqCst);
        true
    }
}

#[tokio::test]
async fn a_rejected_token_is_refreshed_once() {
    let (url, seen) = serve(vec![http("401 Unauthorized", &[], "{}"), http("200 OK", &[], r#"{"id":"a"}"#)]).await;
    let provider = Arc::new(Refreshing { calls: AtomicUsize::new(0), rejected: AtomicUsize::new(0) });
    let r = AzureRestRemote::builder(&url).token_provider_arc(provider.clone()).build().unwrap();
    assert_eq!(r.read("Item", "a").await.unwrap().id(), "a");
    let reqs = seen.lock().unwrap().clone();
    assert!(reqs[0].to_ascii_lowercase().contains("x-zumo-auth: token-0"));
    assert!(reqs[1].to_ascii_lowercase().contains("x-zumo-auth: token-1"));
    // Always 401: one repeat only, then Unauthorized.
    let (url, seen) = serve(vec![http("401 Unauthorized", &[], "{}")]).await;
    let r = AzureRestRemote::builder(&url).token_provider_arc(provider.clone()).build().unwrap();
    assert_eq!(err(r.read("Item", "a").await).kind(), K::Unauthorized);
    assert_eq!(seen.lock().unwrap().len(), 2);
}

struct Failing;

#[async_trait]
impl TokenProvider for Failing {
    async fn token(&self) -> Result<Option<AuthToken>, RemoteError> {
        Err(RemoteError::Unauthorized { message: "sign in again".into() })
    }
}

#[tokio::test]
async fn provider_errors_abort_before_sending() {
    let (url, seen) = serve(vec![http("200 OK", &[], "{}")]).await;
    let r = AzureRestRemote::builder(&url).token_provider(Failing).build().unwrap();
    assert_eq!(err(r.read("Item", "a").await).kind(), K::Unauthorized);
    assert!(seen.lock().unwrap().is_empty());
}

#[test]
fn builder_rejects_bad_input_and_hides_secrets() {
    assert!(matches!(AzureRestRemote::builder("not a url").build(), Err(BuildError::InvalidBaseUrl(_))));
    assert!(matches!(AzureRestRemote::builder("http://u:p@h/").build(), Err(BuildError::InvalidBaseUrl(_))));
    assert!(matches!(
        AzureRestRemote::builder("http://h/").header("ZUMO-API-VERSION", "3.0.0").build(),
        Err(BuildError::ReservedHeader(_))
    ));
    assert!(matches!(
        AzureRestRemote::builder("http://h/").header("X-Key", "bad\nvalue").build(),
        Err(BuildError::InvalidHeader { .. })
    ));
    let r = AzureRestRemote::builder("http://h/app")
        .token("very-secret")
        .header("X-Api-Key", "also-secret")
        .build()
        .unwrap();
    let debug = format!("{r:?}");
    assert!(!debug.contains("very-secret") && !debug.contains("also-secret"), "{debug}");
    assert!(debug.contains("x-api-key"));
    assert_eq!(r.base_url().as_str(), "http://h/app/");
    let b = format!("{:?}", AzureRestRemote::builder("http://h/").token("very-secret"));
    assert!(!b.contains("very-secret"));
}

#[tokio::test]
async fn invalid_inputs_are_refused_before_sending() {
    let (url, seen) = serve(vec![http("200 OK", &[], "{}")]).await;
    let r = remote(&url);
    assert_eq!(err(r.update("Item", &rec(json!({"id": "a"})), Some("bad\nversion")).await).kind(), K::BadRequest);
    assert_eq!(err(r.read("It em", "a").await).kind(), K::BadRequest);
    assert_eq!(err(r.delete("Item", "a/b", None).await).kind(), K::BadRequest);
    let bad_token = AzureRestRemote::builder(&url).token("a\r\nb").build().unwrap();
    assert_eq!(err(bad_token.read("Item", "a").await).kind(), K::BadRequest);
    assert!(seen.lock().unwrap().is_empty());
}
