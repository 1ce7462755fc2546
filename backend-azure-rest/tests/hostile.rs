//! A hostile or careless server, on loopback (`support`): one that echoes the request headers in
//! its error bodies, answers a write with another item, or sends an `updatedAt` that is filter
//! text. Nothing secret may come back out of the remote, no other item may be taken for the one
//! written, and nothing unchecked may go into a request (issue 18).

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use backend_azure_rest::{AuthScheme, AzureRestRemote};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde_json::json;
use store_diesel::DieselStore;
use sync_core::backend::{Cursor, RemoteError, RemoteErrorKind as K};
use sync_core::conformance::scenarios::item_schema;
use sync_core::{column, QueryValue, Record, Remote, RetryPolicy, SyncContext, SyncOptions};

use support::{http, reply, response, serve, Answer};

/// The auth token: `/`, `+` and `=` make its percent-, JSON- and HTML-encodings differ from it.
const TOKEN: &str = "zumo.s3cr3t-TOKEN/4f9a+b==";
/// A secret extra header's value.
const KEY: &str = "gw-K3Y-7c1e/d+e==";
/// A well-known API key header's value, added with the plain `header`.
const API_KEY: &str = "api-A1B2C3-key";

/// Text that may show in nothing the remote hands out: each secret's distinctive middle (it
/// survives every encoding), and the start of the token (a secret cut short by a length limit).
const NEEDLES: [&str; 7] = ["s3cr3t", "TOKEN", "4f9a", "K3Y", "7c1e", "A1B2C3", "zumo.s3c"];

fn assert_clean(what: &str, text: &str) {
    for needle in NEEDLES {
        assert!(!text.contains(needle), "{what} shows {needle:?}:\n{text}");
    }
}

fn assert_clean_bytes(what: &str, bytes: &[u8]) {
    for needle in NEEDLES {
        let found = bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
        assert!(!found, "{what} holds {needle:?}");
    }
}

/// The error's text, its `Debug`, and its source chain.
fn everything_shown(e: &dyn std::error::Error) -> String {
    let mut out = format!("{e}\n{e:?}");
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(&format!("\n{s}\n{s:?}"));
        source = s.source();
    }
    out
}

/// The request's head (request line and headers), on one line, `" | "` between headers.
fn head_line(request: &str) -> String {
    request.split("\r\n\r\n").next().unwrap_or_default().replace("\r\n", " | ")
}

/// The ways a server, proxy or firewall echoes the request in an error body.
#[derive(Debug, Clone, Copy)]
enum Echo {
    /// `{"error": "…the headers…"}`.
    JsonError,
    /// `{"message": "…"}` with `/` escaped as `\/`, as some JSON encoders do.
    JsonSlashes,
    /// The headers percent-encoded, as in a logged URL.
    Percent,
    /// Plain text, padded so the token straddles the 300-character limit of a message.
    TextCut,
    /// An HTML error page, the headers HTML-escaped inside.
    Html,
    /// A record whose string field holds the headers (a 409/412 body becomes the server item).
    Record,
}

const ECHOES: [Echo; 6] = [Echo::JsonError, Echo::JsonSlashes, Echo::Percent, Echo::TextCut, Echo::Html, Echo::Record];

/// The body and content type of an echo of `request`, for item `id`.
fn echo_body(echo: Echo, request: &str, id: &str) -> (String, &'static str) {
    let head = head_line(request);
    match echo {
        Echo::JsonError => (json!({"error": format!("rejected: {head}")}).to_string(), "application/json"),
        Echo::JsonSlashes => {
            let escaped = head.replace('\\', "\\\\").replace('"', "\\\"").replace('/', "\\/");
            (format!("{{\"message\":\"rejected: {escaped}\"}}"), "application/json; charset=utf-8")
        }
        Echo::Percent => {
            let encoded = utf8_percent_encode(&head, NON_ALPHANUMERIC).to_string();
            (json!({"error": format!("bad request to /login?next={encoded}")}).to_string(), "application/json")
        }
        Echo::TextCut => {
            let at = head.find(TOKEN).expect("the request carries the token");
            // The token starts 13 characters before the 300th, where a message is cut short.
            let pad = "-".repeat(300 - TOKEN.len() / 2);
            (format!("{pad}{}\nsecond line: {head}", &head[at..]), "text/plain")
        }
        Echo::Html => {
            let escaped = head.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
            let page = format!(
                "<!DOCTYPE html><html><head><title>Request blocked</title></head><body><h1>Blocked</h1>\
                 <pre>{escaped}</pre></body></html>"
            );
            (page, "text/html")
        }
        Echo::Record => (json!({"id": id, "version": "MQ==", "name": head}).to_string(), "application/json"),
    }
}

/// A server that answers every request with `status` and an echo of it.
fn echoing(status: &'static str, echo: Echo, id: &'static str) -> Answer {
    reply(move |request| {
        let (body, content_type) = echo_body(echo, request, id);
        response(status, &[("Content-Type", content_type)], &body)
    })
}

fn remote(url: &str, scheme: AuthScheme) -> AzureRestRemote {
    AzureRestRemote::builder(url)
        .token(TOKEN)
        .auth_scheme(scheme)
        .secret_header("X-Gateway-Key", KEY)
        .header("X-Api-Key", API_KEY)
        .header("X-ZUMO-INSTALLATION-ID", "inst-1")
        .build()
        .unwrap()
}

fn rec(v: serde_json::Value) -> Record {
    Record::from_json(v).unwrap()
}

const STATUSES: [(&str, K); 5] = [
    ("400 Bad Request", K::BadRequest),
    ("401 Unauthorized", K::Unauthorized),
    ("403 Forbidden", K::BadRequest),
    ("412 Precondition Failed", K::Conflict),
    ("500 Internal Server Error", K::Transient),
];

#[tokio::test]
async fn echoed_secrets_never_leave_the_remote() {
    for scheme in [AuthScheme::ZumoAuth, AuthScheme::Bearer] {
        for (status, kind) in STATUSES {
            for echo in ECHOES {
                let (url, seen) = serve(vec![echoing(status, echo, "a")]).await;
                let r = remote(&url, scheme);
                let item = rec(json!({"id": "a", "name": "x"}));
                let calls: [(&str, Result<(), RemoteError>); 5] = [
                    ("update", r.update("Item", &item, Some("MQ==")).await.map(drop)),
                    ("insert", r.insert("Item", &item).await.map(drop)),
                    ("delete", r.delete("Item", "a", Some("MQ==")).await),
                    ("read", r.read("Item", "a").await.map(drop)),
                    ("query", r.query_page("Item", None, None, 10).await.map(drop)),
                ];
                // The server did see the secrets: it is their echo that must not come back.
                let requests = seen.lock().unwrap().clone();
                assert!(requests[0].contains(TOKEN) && requests[0].contains(KEY) && requests[0].contains(API_KEY));
                for (call, result) in calls {
                    let case = format!("{scheme:?} {status} {echo:?} {call}");
                    let e = result.expect_err(&case);
                    // Insert 409s only are special; 412 stays a conflict on every call.
                    assert_eq!((e.kind(), e.status()), (kind, Some(status[..3].parse().unwrap())), "{case}");
                    let shown = everything_shown(&e);
                    assert_clean(&case, &shown);
                    if let Some(server_item) = e.server_item() {
                        assert_clean(&case, &serde_json::to_string(server_item.as_map()).unwrap());
                    }
                    if kind != K::Conflict {
                        assert!(!shown.contains("<pre>") && !shown.contains("<html"), "{case}: no HTML in {shown}");
                    }
                    if matches!(echo, Echo::Html) && kind != K::Conflict {
                        assert!(e.to_string().ends_with("(text/html): Request blocked"), "{case}: {e}");
                    }
                    if matches!(echo, Echo::JsonError) && kind != K::Conflict {
                        assert!(
                            e.to_string().contains("rejected: ") && e.to_string().contains("[redacted]"),
                            "{case}: {e}"
                        );
                    }
                }
            }
        }
    }
}

/// A `Write` into a shared buffer, for the tracing subscriber.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything logged by this test binary, at every level, from the first call on.
fn captured_log() -> Log {
    static LOG: OnceLock<Log> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Log::default();
        let writer = log.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        log
    })
    .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoed_secrets_reach_neither_the_store_nor_the_log() {
    let log = captured_log();
    // The item's id picks the status; its echo is an error body, a text page, an HTML page or a
    // record, in turn.
    let answer = reply(|request| {
        let id = ["s400", "s401", "s403", "s412", "s500"].into_iter().find(|id| request.contains(id)).unwrap_or("s400");
        let (status, echo) = match id {
            "s401" => ("401 Unauthorized", Echo::TextCut),
            "s403" => ("403 Forbidden", Echo::Html),
            "s412" => ("412 Precondition Failed", Echo::Record),
            "s500" => ("500 Internal Server Error", Echo::JsonSlashes),
            _ => ("400 Bad Request", Echo::JsonError),
        };
        let (body, content_type) = echo_body(echo, request, id);
        response(status, &[("Content-Type", content_type)], &body)
    });
    let (url, seen) = serve(vec![answer]).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let retry = RetryPolicy::default()
        .max_retries(1)
        .initial_backoff(Duration::from_millis(5))
        .max_backoff(Duration::from_millis(10));
    let ctx = SyncContext::builder(DieselStore::open(&path).await.unwrap())
        .remote(remote(&url, AuthScheme::Bearer))
        .options(SyncOptions::default().retry(retry))
        .build()
        .await
        .unwrap();
    let items = ctx.json_table(item_schema()).await.unwrap();
    for id in ["s400", "s403", "s412", "s500"] {
        items.insert(rec(json!({"id": id, "name": "x"}))).await.unwrap();
    }
    let summary = ctx.push().await.unwrap();
    assert_clean("the push summary", &format!("{summary:?}"));
    let errors = ctx.errors().await.unwrap();
    let mut statuses: Vec<Option<u16>> = errors.iter().map(|e| e.status).collect();
    statuses.sort();
    assert_eq!(statuses, [Some(400), Some(403), Some(412), Some(500)], "every failure is recorded: {errors:?}");
    assert_clean("ctx.errors()", &format!("{errors:?}"));
    let conflict = errors.iter().find(|e| e.status == Some(412)).unwrap();
    let name = conflict.server_item.as_ref().and_then(|s| s.get("name")).and_then(|v| v.as_str()).unwrap();
    assert!(
        name.to_ascii_lowercase().contains("authorization: bearer [redacted]"),
        "the server item is kept, scrubbed: {name}"
    );

    // A 401 stops the push with an error for the app.
    items.insert(rec(json!({"id": "s401", "name": "x"}))).await.unwrap();
    let err = ctx.push().await.expect_err("a 401 stops the push");
    assert_eq!(err.kind(), sync_core::ErrorKind::Unauthorized, "{err:?}");
    assert_clean("the push's SyncError", &everything_shown(&err));

    assert!(seen.lock().unwrap().iter().all(|r| r.contains(TOKEN)), "every request carried the token");
    for file in [path.clone(), dir.path().join("device.db-wal")] {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert_clean_bytes(&file.display().to_string(), &bytes);
    }
    let wal = std::fs::read(dir.path().join("device.db-wal")).unwrap();
    let db = std::fs::read(&path).unwrap();
    let stored = |needle: &str| [&wal, &db].iter().any(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()));
    assert!(stored("[redacted]"), "the scrubbed messages are what is stored");
    drop(items);
    drop(ctx);
    let text = String::from_utf8_lossy(&log.0.lock().unwrap()).to_string();
    assert!(text.contains("push failed"), "the log was captured: {text}");
    assert_clean("the log", &text);
}

#[tokio::test]
async fn a_write_answered_with_another_item_is_a_protocol_error() {
    let victim = r#"{"id":"victim","name":"overwritten","version":"Mg==","updatedAt":"2024-01-01T00:00:00.000Z"}"#;
    let item = rec(json!({"id": "a", "name": "mine"}));
    let (url, seen) = serve(vec![http("201 Created", &[], victim), http("200 OK", &[], victim)]).await;
    let r = AzureRestRemote::builder(&url).build().unwrap();
    for (call, result) in
        [("insert", r.insert("Item", &item).await), ("update", r.update("Item", &item, Some("MQ==")).await)]
    {
        let e = result.expect_err(call);
        assert_eq!(e.kind(), K::Protocol, "{call}: {e}");
        let text = e.to_string();
        assert!(text.contains(&format!("{call} of item \"a\" with item \"victim\"")), "{text}");
    }
    let requests = seen.lock().unwrap().clone();
    assert!(requests[0].starts_with("POST /tables/Item HTTP/1.1") && requests[1].starts_with("PATCH /tables/Item/a "));
    // The same answer for the item that was written is fine.
    let mine = r#"{"id":"a","name":"mine","version":"Mg==","updatedAt":"2024-01-01T00:00:00.000Z"}"#;
    let (url, _) = serve(vec![http("200 OK", &[], mine)]).await;
    let r = AzureRestRemote::builder(&url).build().unwrap();
    assert_eq!(r.insert("Item", &item).await.unwrap().version(), Some("Mg=="));
    assert_eq!(r.update("Item", &item, None).await.unwrap().get("name"), Some(&json!("mine")));
}

#[tokio::test]
async fn unchecked_filter_text_is_refused_before_sending() {
    let (url, seen) = serve(vec![http("200 OK", &[], "[]")]).await;
    let r = AzureRestRemote::builder(&url).build().unwrap();
    let hostile = Cursor { updated_at: "2024-01-01T00:00:00.000Z') or (1 eq 1".into(), id: "a".into() };
    let e = r.query_page("Item", None, Some(&hostile), 10).await.expect_err("a hostile cursor");
    assert_eq!(e.kind(), K::Protocol, "{e}");
    assert!(e.to_string().contains("the server sent updatedAt \"2024-01-01T00:00:00.000Z') or (1 eq 1\""), "{e}");
    let filter = column("name").eq("x");
    assert_eq!(r.query_page("Item", Some(&filter), Some(&hostile), 10).await.unwrap_err().kind(), K::Protocol);

    let bad_filters = [
        column("name) or (1 eq 1").eq("x"),
        column("name").eq("x") & column("n eq 1 or name").is_null(),
        column("due").gt(QueryValue::DateTime("2024-01-01T00:00:00Z') or (1 eq 1".into())),
        column("n").gt(f64::NAN),
    ];
    for f in &bad_filters {
        match r.query_page("Item", Some(f), None, 10).await {
            Err(RemoteError::BadRequest { status: 400, message }) => {
                assert!(message.starts_with("request not sent: "), "{message}");
            }
            other => panic!("{f:?}: expected a request not sent, got {other:?}"),
        }
    }
    assert!(seen.lock().unwrap().is_empty(), "nothing reached the server");

    // Valid input still goes out.
    let cursor = Cursor { updated_at: "2024-01-01T00:00:00.000Z".into(), id: "a".into() };
    r.query_page("Item", Some(&filter), Some(&cursor), 10).await.unwrap();
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_page_with_a_hostile_updated_at_is_a_protocol_error() {
    let row = json!([{"id": "a", "updatedAt": "2024-01-01T00:00:00.000Z') or (1 eq 1"}]).to_string();
    let (url, _) = serve(vec![http("200 OK", &[], &row)]).await;
    let e = AzureRestRemote::builder(&url).build().unwrap().query_page("Item", None, None, 10).await.unwrap_err();
    assert_eq!(e.kind(), K::Protocol, "{e}");
    assert!(e.to_string().contains("\"updatedAt\" must be an ISO-8601 date-time"), "{e}");
}
