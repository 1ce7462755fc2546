//! The raw baselines: plain reqwest requests, built the way `AzureRestRemote` builds them (same
//! client settings, headers, URLs and bodies), whose responses are parsed into
//! `serde_json::Value` and dropped. No records, no store, no engine.

use std::time::Duration;

use futures::stream::{self, StreamExt};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE, LINK};
use reqwest::Url;
use serde_json::Value;
use sync_core::backend::{odata_filter, odata_orderby, Cursor};
use sync_core::OrderBy;

use crate::BenchError;

/// Percent-encoding of query values: everything but the RFC 3986 unreserved characters, as the
/// REST remote does (`backend-azure-rest/src/urls.rs`).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
/// Query keys keep `$` too.
const KEY: &AsciiSet = &COMPONENT.remove(b'$');
/// The per-request timeout of the REST remote's default (`DEFAULT_TIMEOUT`).
const TIMEOUT: Duration = Duration::from_secs(60);

/// A plain HTTP client with the REST remote's default settings: rustls, a 10 s connect timeout,
/// no redirects, reqwest's keep-alive pool.
#[derive(Clone)]
pub struct RawClient {
    client: reqwest::Client,
    base: Url,
    headers: HeaderMap,
}

impl RawClient {
    /// A client for the server at `base` (`http://127.0.0.1:port`).
    pub fn new(base: &str) -> Result<Self, BenchError> {
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(backend_azure_rest::DEFAULT_CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let mut base = Url::parse(base).map_err(|e| BenchError::new(format!("bad URL {base}: {e}")))?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let mut headers = HeaderMap::new();
        headers.insert(HeaderName::from_static("zumo-api-version"), HeaderValue::from_static("2.0.0"));
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(
            HeaderName::from_static("x-zumo-version"),
            HeaderValue::from_static("ZUMO/2.0 (lang=Rust; backend-azure-rest/0.1.0)"),
        );
        Ok(RawClient { client, base, headers })
    }

    fn table_url(&self, table: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(&format!("{}tables/{table}", self.base.path()));
        url
    }

    /// The keyset page URL the REST remote sends (`docs/architecture.md`, "Pull with the keyset cursor"): `$filter` = the cursor's keyset
    /// filter, `$orderby=updatedAt,id`, `$top`, `__includeDeleted=true`, and with `with_total`
    /// (a pull's first page) `$inlinecount=allpages`.
    pub fn keyset_url(&self, table: &str, cursor: Option<&Cursor>, top: u64, with_total: bool) -> Url {
        let mut url = self.table_url(table);
        let filter = cursor.map(|c| odata_filter(&c.filter()));
        let asc = |c: &str| OrderBy { column: c.to_owned(), descending: false };
        let order = odata_orderby(&[asc("updatedAt"), asc("id")]);
        let top = top.to_string();
        let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(4);
        if let Some(f) = &filter {
            pairs.push(("$filter", f));
        }
        pairs.push(("$orderby", &order));
        pairs.push(("$top", &top));
        pairs.push(("__includeDeleted", "true"));
        if with_total {
            pairs.push(("$inlinecount", "allpages"));
        }
        let query = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", utf8_percent_encode(k, KEY), utf8_percent_encode(v, COMPONENT)))
            .collect::<Vec<_>>()
            .join("&");
        url.set_query(Some(&query));
        url
    }

    /// One keyset page: GET, read the body, parse it (an array, or `{"results": […], "count": N}`
    /// with `with_total`). Returns the rows and whether a `Link: …; rel=next` header came with them.
    pub async fn page(
        &self,
        table: &str,
        cursor: Option<&Cursor>,
        top: u64,
        with_total: bool,
    ) -> Result<(Vec<Value>, bool), BenchError> {
        let response = self
            .client
            .get(self.keyset_url(table, cursor, top, with_total))
            .headers(self.headers.clone())
            .timeout(TIMEOUT)
            .send()
            .await?;
        let status = response.status();
        let next = response.headers().get_all(LINK).iter().any(|v| v.to_str().is_ok_and(|s| s.contains("rel=next")));
        let body = response.bytes().await?;
        if !status.is_success() {
            return Err(BenchError::new(format!("GET page: HTTP {status}: {}", String::from_utf8_lossy(&body))));
        }
        match serde_json::from_slice::<Value>(&body)? {
            Value::Array(rows) => Ok((rows, next)),
            Value::Object(mut map) if with_total => match map.remove("results") {
                Some(Value::Array(rows)) => Ok((rows, next)),
                _ => Err(BenchError::new("GET page: an object without a \"results\" array")),
            },
            other => Err(BenchError::new(format!("GET page: not an array: {other}"))),
        }
    }

    /// One keyset page's body as it came, unparsed.
    pub async fn page_body(&self, table: &str, cursor: Option<&Cursor>, top: u64) -> Result<Vec<u8>, BenchError> {
        let response = self
            .client
            .get(self.keyset_url(table, cursor, top, false))
            .headers(self.headers.clone())
            .timeout(TIMEOUT)
            .send()
            .await?;
        let status = response.status();
        let body = response.bytes().await?;
        if !status.is_success() {
            return Err(BenchError::new(format!("GET page: HTTP {status}: {}", String::from_utf8_lossy(&body))));
        }
        Ok(body.to_vec())
    }

    /// A whole keyset pull, the way the engine pages (ends on an empty page, or a short page
    /// without a next link); returns (rows, requests).
    pub async fn pull(&self, table: &str, top: u64) -> Result<(u64, u64), BenchError> {
        let mut cursor: Option<Cursor> = None;
        let (mut rows, mut requests) = (0u64, 0u64);
        loop {
            // The engine asks for the total with the first page, as this does.
            let (page, next) = self.page(table, cursor.as_ref(), top, requests == 0).await?;
            requests += 1;
            rows += page.len() as u64;
            let Some(last) = page.last() else { break };
            let field = |name: &str| last.get(name).and_then(Value::as_str).map(str::to_owned);
            let (Some(updated_at), Some(id)) = (field("updatedAt"), field("id")) else {
                return Err(BenchError::new("a row without updatedAt or id"));
            };
            cursor = Some(Cursor { updated_at, id });
            if (page.len() as u64) < top && !next {
                break;
            }
        }
        Ok((rows, requests))
    }

    /// `POST /tables/{table}` with `body`; parses the created item.
    pub async fn post(&self, table: &str, body: &Value) -> Result<Value, BenchError> {
        let bytes = serde_json::to_vec(body)?;
        let response = self
            .client
            .post(self.table_url(table))
            .headers(self.headers.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(bytes)
            .timeout(TIMEOUT)
            .send()
            .await?;
        let status = response.status();
        let body = response.bytes().await?;
        if !status.is_success() {
            return Err(BenchError::new(format!("POST: HTTP {status}: {}", String::from_utf8_lossy(&body))));
        }
        Ok(serde_json::from_slice(&body)?)
    }

    /// POSTs every body with at most `in_flight` requests at a time.
    pub async fn post_all(&self, table: &str, bodies: Vec<Value>, in_flight: usize) -> Result<u64, BenchError> {
        let mut results =
            stream::iter(bodies).map(|b| async move { self.post(table, &b).await }).buffer_unordered(in_flight);
        let mut done = 0;
        while let Some(r) = results.next().await {
            r?;
            done += 1;
        }
        Ok(done)
    }
}
