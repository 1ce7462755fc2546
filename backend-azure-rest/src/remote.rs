//! [`AzureRestRemote`]: the [`Remote`] of the Mobile Apps REST table API (ZUMO-API-VERSION 2.0.0).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE, IF_MATCH};
use reqwest::Method;
use sync_core::backend::strip_server_columns;
use sync_core::backend::{Cursor, Page, RemoteError};
use sync_core::{Expr, Record, Remote};
use url::Url;

use crate::auth::{AuthScheme, AuthToken, TokenProvider};
use crate::builder::AzureRestRemoteBuilder;
use crate::error::{from_reqwest, from_status};
use crate::response::{conflict_item, has_next_link, parse_item, parse_rows, read_limited, RawResponse};
use crate::urls::{if_match, invalid_request, Endpoint};

/// The API version header and the only version spoken.
const ZUMO_API_VERSION: HeaderName = HeaderName::from_static("zumo-api-version");
/// Informational client version header, as the official clients send it.
const X_ZUMO_VERSION: HeaderName = HeaderName::from_static("x-zumo-version");

/// Everything the builder decided.
pub(crate) struct Config {
    pub client: reqwest::Client,
    pub endpoint: Endpoint,
    pub auth: Option<Arc<dyn TokenProvider>>,
    pub auth_scheme: AuthScheme,
    pub headers: HeaderMap,
    pub timeout: Option<Duration>,
    pub max_body_bytes: usize,
    pub default_page_size: u64,
    pub fetch_on_insert_conflict: bool,
}

/// A [`Remote`] that talks to an Azure Mobile Apps backend (Node or .NET server) over its REST
/// table API, version 2.0.0.
///
/// - insert: `POST /tables/{t}` with the system columns stripped;
/// - update: `PATCH /tables/{t}/{id}` with the system columns stripped and `If-Match: "<version>"`;
/// - delete: `DELETE /tables/{t}/{id}` with `If-Match`;
/// - read: `GET /tables/{t}/{id}`;
/// - query_page: `GET /tables/{t}?$filter=(F) and (<keyset>)&$orderby=updatedAt,id&$top=N&__includeDeleted=true`.
///
/// Every request carries `ZUMO-API-VERSION: 2.0.0`, `Accept: application/json`, the token of the
/// [`TokenProvider`] (asked per request), and the extra headers. Failures are classified by HTTP
/// status (see the crate docs for the table); nothing is retried here except one repeat after a
/// 401 when the provider says it refreshed the token, because the sync engine owns retries.
///
/// Cloning is cheap and clones share the connection pool.
#[derive(Clone)]
pub struct AzureRestRemote {
    inner: Arc<Config>,
}

/// Which call a response answers (decides how a 409 is read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Insert,
    Update,
    Delete,
    Read,
    Query,
}

impl AzureRestRemote {
    /// A builder for the app whose root is `base_url` (e.g. `https://myapp.azurewebsites.net`).
    pub fn builder(base_url: impl AsRef<str>) -> AzureRestRemoteBuilder {
        AzureRestRemoteBuilder::new(base_url)
    }

    pub(crate) fn from_config(config: Config) -> Self {
        AzureRestRemote { inner: Arc::new(config) }
    }

    /// The base URL, normalised to end with `/`.
    pub fn base_url(&self) -> &Url {
        self.inner.endpoint.base()
    }

    /// The page size used when `query_page` is asked for 0 rows.
    pub fn default_page_size(&self) -> u64 {
        self.inner.default_page_size
    }

    /// The largest response body accepted.
    pub fn max_body_bytes(&self) -> usize {
        self.inner.max_body_bytes
    }

    /// Sends one request and reads the whole response (any status). After a 401 to a request
    /// with a token, asks the provider once whether a fresh token exists and repeats if so.
    async fn send(
        &self,
        op: Op,
        method: Method,
        url: Url,
        body: Option<&Record>,
        version: Option<&str>,
    ) -> Result<RawResponse, RemoteError> {
        let body = body.map(serde_json::to_vec).transpose().map_err(|e| invalid_request(e.to_string()))?;
        let if_match = match version {
            Some(v) => Some(if_match(v).ok_or_else(|| invalid_request("the version cannot be sent as If-Match"))?),
            None => None,
        };
        let mut repeated = false;
        loop {
            let token = self.token().await?;
            let raw = self.send_once(op, &method, &url, body.as_deref(), if_match.as_ref(), token.as_ref()).await?;
            if raw.status.as_u16() == 401 && !repeated {
                if let (Some(auth), Some(token)) = (&self.inner.auth, &token) {
                    if auth.token_rejected(token).await {
                        repeated = true;
                        continue;
                    }
                }
            }
            return Ok(raw);
        }
    }

    async fn token(&self) -> Result<Option<AuthToken>, RemoteError> {
        match &self.inner.auth {
            Some(provider) => provider.token().await,
            None => Ok(None),
        }
    }

    async fn send_once(
        &self,
        op: Op,
        method: &Method,
        url: &Url,
        body: Option<&[u8]>,
        if_match: Option<&HeaderValue>,
        token: Option<&AuthToken>,
    ) -> Result<RawResponse, RemoteError> {
        let cfg = &*self.inner;
        let mut request = cfg
            .client
            .request(method.clone(), url.clone())
            .headers(cfg.headers.clone())
            .header(ZUMO_API_VERSION, HeaderValue::from_static("2.0.0"))
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .header(
                X_ZUMO_VERSION,
                HeaderValue::from_static(concat!(
                    "ZUMO/2.0 (lang=Rust; backend-azure-rest/",
                    env!("CARGO_PKG_VERSION"),
                    ")"
                )),
            );
        if let Some(token) = token {
            let (name, value) = cfg
                .auth_scheme
                .header(token)
                .ok_or_else(|| invalid_request("the auth token is not a valid header value"))?;
            request = request.header(name, value);
        }
        if let Some(v) = if_match {
            request = request.header(IF_MATCH, v.clone());
        }
        if let Some(b) = body {
            request = request.header(CONTENT_TYPE, HeaderValue::from_static("application/json")).body(b.to_vec());
        }
        if let Some(t) = cfg.timeout {
            request = request.timeout(t);
        }
        let started = Instant::now();
        let result = async {
            let response = request.send().await.map_err(from_reqwest)?;
            read_limited(response, cfg.max_body_bytes).await
        }
        .await;
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match &result {
            Ok(raw) => {
                let (status, bytes) = (raw.status.as_u16(), raw.body.len());
                tracing::debug!(?op, %method, status, bytes, elapsed_ms, "azure rest request");
            }
            Err(e) => tracing::debug!(?op, %method, kind = ?e.kind(), elapsed_ms, "azure rest request failed"),
        }
        result
    }

    /// The error for a non-2xx response; a 409/412 carries the body's record if it holds one.
    fn failure(raw: &RawResponse) -> RemoteError {
        let item = match raw.status.as_u16() {
            409 | 412 => conflict_item(raw),
            _ => None,
        };
        from_status(raw.status, &raw.body, item)
    }

    /// A 409 on insert: the body echoes the request, so the server's item is read separately
    /// (when enabled); a 404 (soft-deleted) or any failure of that read leaves it out.
    async fn insert_conflict(&self, table: &str, id: &str) -> RemoteError {
        let server_item = if self.inner.fetch_on_insert_conflict {
            match self.read(table, id).await {
                Ok(item) => Some(Box::new(item)),
                Err(e) => {
                    tracing::debug!(kind = ?e.kind(), "no server item for the insert conflict");
                    None
                }
            }
        } else {
            None
        };
        RemoteError::Conflict { status: 409, server_item }
    }
}

/// Whether the status is a success (2xx).
fn ok(raw: &RawResponse) -> bool {
    raw.status.is_success()
}

#[async_trait]
impl Remote for AzureRestRemote {
    async fn insert(&self, table: &str, item: &Record) -> Result<Record, RemoteError> {
        let url = self.inner.endpoint.table_url(table)?;
        let raw = self.send(Op::Insert, Method::POST, url, Some(&strip_server_columns(item)), None).await?;
        if ok(&raw) {
            return parse_item(&raw);
        }
        if raw.status.as_u16() == 409 {
            return Err(self.insert_conflict(table, item.id()).await);
        }
        Err(Self::failure(&raw))
    }

    async fn update(&self, table: &str, item: &Record, version: Option<&str>) -> Result<Record, RemoteError> {
        let url = self.inner.endpoint.item_url(table, item.id())?;
        let raw = self.send(Op::Update, Method::PATCH, url, Some(&strip_server_columns(item)), version).await?;
        if ok(&raw) {
            return parse_item(&raw);
        }
        Err(Self::failure(&raw))
    }

    async fn delete(&self, table: &str, id: &str, version: Option<&str>) -> Result<(), RemoteError> {
        let url = self.inner.endpoint.item_url(table, id)?;
        let raw = self.send(Op::Delete, Method::DELETE, url, None, version).await?;
        // NODE answers 200 with the deleted item, NETSRV 204: the body is not needed.
        if ok(&raw) {
            return Ok(());
        }
        Err(Self::failure(&raw))
    }

    async fn read(&self, table: &str, id: &str) -> Result<Record, RemoteError> {
        let url = self.inner.endpoint.item_url(table, id)?;
        let raw = self.send(Op::Read, Method::GET, url, None, None).await?;
        if !ok(&raw) {
            return Err(Self::failure(&raw));
        }
        let item = parse_item(&raw)?;
        if item.id() != id {
            return Err(RemoteError::protocol("the server returned another item than the one asked for"));
        }
        Ok(item)
    }

    async fn query_page(
        &self,
        table: &str,
        filter: Option<&Expr>,
        cursor: Option<&Cursor>,
        page_size: u64,
    ) -> Result<Page, RemoteError> {
        let top = if page_size == 0 { self.inner.default_page_size } else { page_size };
        let url = self.inner.endpoint.query_url(table, filter, cursor, top)?;
        let raw = self.send(Op::Query, Method::GET, url, None, None).await?;
        if !ok(&raw) {
            return Err(Self::failure(&raw));
        }
        let items = parse_rows(&raw)?;
        if items.len() as u64 > top {
            return Err(RemoteError::protocol(format!("asked for at most {top} rows, got {}", items.len())));
        }
        Ok(Page { items, has_next_link: has_next_link(&raw.headers) })
    }
}

impl fmt::Debug for AzureRestRemote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cfg = &*self.inner;
        f.debug_struct("AzureRestRemote")
            .field("base_url", &cfg.endpoint.base().as_str())
            .field("auth", &cfg.auth.as_ref().map(|_| "***"))
            .field("auth_scheme", &cfg.auth_scheme)
            .field("headers", &cfg.headers.keys().map(HeaderName::as_str).collect::<Vec<_>>())
            .field("timeout", &cfg.timeout)
            .field("max_body_bytes", &cfg.max_body_bytes)
            .field("default_page_size", &cfg.default_page_size)
            .finish_non_exhaustive()
    }
}

impl From<AzureRestRemote> for Arc<dyn Remote> {
    /// Lets [`SyncContextBuilder::remote`](sync_core::SyncContextBuilder::remote) take an
    /// `AzureRestRemote` as it is.
    fn from(remote: AzureRestRemote) -> Self {
        Arc::new(remote)
    }
}
