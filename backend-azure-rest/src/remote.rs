//! [`AzureRestRemote`]: the [`Remote`] of the Mobile Apps REST table API (ZUMO-API-VERSION 2.0.0).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE, IF_MATCH};
use reqwest::Method;
use sync_core::backend::strip_server_columns;
use sync_core::backend::{BatchOp, BatchResult, Cursor, Page, PageRequest, RemoteError, RowPage};
use sync_core::{Expr, Record, Remote, TableSchema};
use url::Url;

use crate::auth::{AuthScheme, AuthToken, TokenProvider};
use crate::batch::{self as batching, Batching, ItemAnswer, Negotiated};
use crate::builder::AzureRestRemoteBuilder;
use crate::error::{from_reqwest, from_status};
use crate::redact::Redactor;
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
    /// The values of the extra headers marked secret.
    pub secrets: Vec<String>,
    pub timeout: Option<Duration>,
    pub max_body_bytes: usize,
    pub default_page_size: u64,
    /// Whether the server is known to store `updatedAt` exactly as it sends it.
    pub exact_timestamps: bool,
    pub fetch_on_insert_conflict: bool,
    /// Whether to batch writes, and at most how many per request.
    pub batching: Batching,
    pub batch_size: usize,
    /// What the server's answers said of the batch extension.
    pub negotiated: Negotiated,
}

/// A [`Remote`] that talks to an Azure Mobile Apps backend (Node or .NET server) over its REST
/// table API, version 2.0.0.
///
/// - insert: `POST /tables/{t}` with the system columns stripped;
/// - update: `PATCH /tables/{t}/{id}` with the system columns stripped and `If-Match: "<version>"`;
/// - delete: `DELETE /tables/{t}/{id}` with `If-Match`;
/// - read: `GET /tables/{t}/{id}`;
/// - query_page: `GET /tables/{t}?$filter=(F) and (<keyset>)&$orderby=updatedAt,id&$top=N&__includeDeleted=true`
///   (`query_page_with_total` adds `$inlinecount=allpages`).
///
/// Every request carries `ZUMO-API-VERSION: 2.0.0`, `Accept: application/json`, the token of the
/// [`TokenProvider`] (asked per request), and the extra headers. Failures are classified by HTTP
/// status (see the crate docs for the table); nothing is retried here except one repeat after a
/// 401 when the provider says it refreshed the token, because the sync engine owns retries.
///
/// Secrets never leave in an error: the token of every request and the values of the secret
/// extra headers ([`AzureRestRemoteBuilder::secret_header`]) are replaced by `[redacted]` in each
/// error body before it is read, and in every error returned (message, source, conflict item),
/// since servers and proxies echo request headers in error pages. An insert or update answered
/// with another item than the one sent is a protocol error, as for read.
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
    Undelete,
    Query,
    Batch,
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
    /// Every token sent is added to `secrets`, and the body of a non-2xx response is scrubbed
    /// with them before it is returned.
    async fn send(
        &self,
        secrets: &mut Redactor,
        op: Op,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        version: Option<&str>,
    ) -> Result<RawResponse, RemoteError> {
        let if_match = match version {
            Some(v) => Some(if_match(v).ok_or_else(|| invalid_request("the version cannot be sent as If-Match"))?),
            None => None,
        };
        let mut repeated = false;
        loop {
            let token = self.token().await?;
            if let Some(t) = &token {
                secrets.add(t.secret());
            }
            let mut raw = self.send_once(op, &method, &url, body.as_deref(), if_match.as_ref(), token.as_ref()).await?;
            if raw.status.as_u16() == 401 && !repeated {
                if let (Some(auth), Some(token)) = (&self.inner.auth, &token) {
                    if auth.token_rejected(token).await {
                        repeated = true;
                        continue;
                    }
                }
            }
            if !raw.status.is_success() {
                // Nothing reads an error body before this: servers echo request headers in them.
                raw.body = secrets.bytes(std::mem::take(&mut raw.body));
            }
            return Ok(raw);
        }
    }

    /// A redactor for one call, knowing the secret extra headers.
    fn redactor(&self) -> Redactor {
        Redactor::new(self.inner.secrets.iter().map(String::as_str))
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
                if cfg.batching == Batching::Negotiate {
                    cfg.negotiated.learn(raw.status, &raw.headers);
                }
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
        let content_type = raw.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
        from_status(raw.status, content_type, &raw.body, item)
    }

    /// A 409 on insert: the body echoes the request, so the server's item is read separately
    /// (when enabled); a 404 (soft-deleted) or any failure of that read leaves it out.
    async fn insert_conflict(&self, secrets: &mut Redactor, table: &str, id: &str) -> RemoteError {
        let server_item = if self.inner.fetch_on_insert_conflict {
            match self.read_with(secrets, table, id).await {
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

/// A request body as JSON.
fn json_body(value: serde_json::Value) -> Result<Vec<u8>, RemoteError> {
    serde_json::to_vec(&value).map_err(|e| invalid_request(e.to_string()))
}

/// Whether the status is a success (2xx).
fn ok(raw: &RawResponse) -> bool {
    raw.status.is_success()
}

/// The answer's item must be the one the call was about: a server that answers the write of `a`
/// with item `b` would otherwise make the caller overwrite `b`.
fn same_item(op: Op, asked: &str, item: Record) -> Result<Record, RemoteError> {
    if item.id() == asked {
        return Ok(item);
    }
    let what = match op {
        Op::Insert => "insert",
        Op::Update => "update",
        Op::Delete => "delete",
        Op::Read => "read",
        Op::Undelete => "undelete",
        Op::Query => "query",
        Op::Batch => "batch",
    };
    Err(RemoteError::protocol(format!(
        "the server answered the {what} of item {:?} with item {:?}",
        short(asked),
        short(item.id())
    )))
}

/// At most 64 characters of an id for a message.
fn short(id: &str) -> String {
    let mut out: String = id.chars().take(64).map(|c| if c.is_control() { '?' } else { c }).collect();
    if id.chars().count() > 64 {
        out.push('…');
    }
    out
}

/// The calls, each with the [`Redactor`] that scrubs what it returns.
impl AzureRestRemote {
    async fn insert_with(&self, secrets: &mut Redactor, table: &str, item: &Record) -> Result<Record, RemoteError> {
        let url = self.inner.endpoint.table_url(table)?;
        let raw = self
            .send(
                secrets,
                Op::Insert,
                Method::POST,
                url,
                Some(json_body(strip_server_columns(item).into_map().into())?),
                None,
            )
            .await?;
        if ok(&raw) {
            return same_item(Op::Insert, item.id(), parse_item(&raw)?);
        }
        if raw.status.as_u16() == 409 {
            return Err(self.insert_conflict(secrets, table, item.id()).await);
        }
        Err(Self::failure(&raw))
    }

    async fn update_with(
        &self,
        secrets: &mut Redactor,
        table: &str,
        item: &Record,
        version: Option<&str>,
    ) -> Result<Record, RemoteError> {
        let url = self.inner.endpoint.item_url(table, item.id())?;
        let body = json_body(strip_server_columns(item).into_map().into())?;
        let raw = self.send(secrets, Op::Update, Method::PATCH, url, Some(body), version).await?;
        if ok(&raw) {
            return same_item(Op::Update, item.id(), parse_item(&raw)?);
        }
        Err(Self::failure(&raw))
    }

    async fn delete_with(
        &self,
        secrets: &mut Redactor,
        table: &str,
        id: &str,
        version: Option<&str>,
    ) -> Result<(), RemoteError> {
        let url = self.inner.endpoint.item_url(table, id)?;
        let raw = self.send(secrets, Op::Delete, Method::DELETE, url, None, version).await?;
        // NODE answers 200 with the deleted item, NETSRV 204: the body is not needed.
        if ok(&raw) {
            return Ok(());
        }
        Err(Self::failure(&raw))
    }

    async fn read_with(&self, secrets: &mut Redactor, table: &str, id: &str) -> Result<Record, RemoteError> {
        let url = self.inner.endpoint.item_url(table, id)?;
        let raw = self.send(secrets, Op::Read, Method::GET, url, None, None).await?;
        if !ok(&raw) {
            return Err(Self::failure(&raw));
        }
        same_item(Op::Read, id, parse_item(&raw)?)
    }

    async fn undelete_with(
        &self,
        secrets: &mut Redactor,
        table: &str,
        id: &str,
        version: Option<&str>,
    ) -> Result<Record, RemoteError> {
        let url = self.inner.endpoint.item_url(table, id)?;
        let raw = self.send(secrets, Op::Undelete, Method::POST, url, None, version).await?;
        if !ok(&raw) {
            return Err(Self::failure(&raw));
        }
        same_item(Op::Undelete, id, parse_item(&raw)?)
    }

    /// `POST /tables/{t}/$batch` with the operations whose single calls would be sent (the
    /// others get the error their single call fails with before sending); each result read as
    /// its single call's answer.
    async fn batch_with(
        &self,
        secrets: &mut Redactor,
        table: &str,
        ops: &[BatchOp],
    ) -> Result<Vec<BatchResult>, RemoteError> {
        let limit = self.inner.batch_size;
        if ops.len() > limit {
            return Err(invalid_request(format!("{} operations in one batch; at most {limit}", ops.len())));
        }
        let url = self.inner.endpoint.batch_url(table)?;
        let mut out: Vec<Option<BatchResult>> = Vec::with_capacity(ops.len());
        let mut sent = Vec::with_capacity(ops.len());
        for op in ops {
            match batching::operation(op) {
                Ok(json) => {
                    sent.push(json);
                    out.push(None);
                }
                Err(e) => out.push(Some(Err(e))),
            }
        }
        if !sent.is_empty() {
            let n = sent.len();
            let body = json_body(serde_json::json!({ "operations": sent }))?;
            let raw = self.send(secrets, Op::Batch, Method::POST, url, Some(body), None).await?;
            if !ok(&raw) {
                if matches!(raw.status.as_u16(), 404 | 405 | 501) {
                    // No batches at this URL (any more): the next pushes send writes alone.
                    self.inner.negotiated.refuse();
                }
                return Err(Self::failure(&raw));
            }
            let mut results = batching::results(&raw.body, n)?.into_iter();
            for (slot, op) in out.iter_mut().zip(ops) {
                if slot.is_some() {
                    continue;
                }
                let Some(result) = results.next() else { break };
                *slot = Some(match batching::item_answer(op, result) {
                    ItemAnswer::Done(item) => Ok(item),
                    ItemAnswer::Failed { insert_conflict: true, .. } => {
                        Err(self.insert_conflict(secrets, table, op.id()).await)
                    }
                    ItemAnswer::Failed { error, .. } => Err(error),
                });
            }
        }
        // Every slot is filled: one result per operation sent was checked above.
        Ok(out
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(RemoteError::protocol("no result for the operation"))))
            .map(|r| r.map_err(|e| secrets.error(e)))
            .collect())
    }

    /// The URL of a page request, and the most rows it may bring.
    fn rows_url(&self, table: &str, request: PageRequest<'_>) -> Result<(Url, u64), RemoteError> {
        let top = |page_size: u64| if page_size == 0 { self.inner.default_page_size } else { page_size };
        match request {
            PageRequest::Keyset { filter, cursor, page_size, with_total } => {
                let top = top(page_size);
                Ok((self.inner.endpoint.query_url(table, filter, cursor, top, with_total)?, top))
            }
            PageRequest::ById { filter, after_id, page_size } => {
                let top = top(page_size);
                Ok((self.inner.endpoint.id_query_url(table, filter, after_id, top)?, top))
            }
        }
    }

    /// The successful answer to a page request, and the most rows it may hold.
    async fn page_response(
        &self,
        secrets: &mut Redactor,
        table: &str,
        request: PageRequest<'_>,
    ) -> Result<(RawResponse, u64), RemoteError> {
        let (url, top) = self.rows_url(table, request)?;
        let raw = self.send(secrets, Op::Query, Method::GET, url, None, None).await?;
        if !ok(&raw) {
            return Err(Self::failure(&raw));
        }
        Ok((raw, top))
    }

    /// One page of rows as records.
    async fn fetch_page(
        &self,
        secrets: &mut Redactor,
        table: &str,
        request: PageRequest<'_>,
    ) -> Result<Page, RemoteError> {
        let (raw, top) = self.page_response(secrets, table, request).await?;
        let (items, total) = parse_rows(&raw)?;
        check_page_size(items.len(), top)?;
        Ok(Page { items, has_next_link: has_next_link(&raw.headers), total })
    }

    /// One page of rows parsed straight into a [`RowPage`] of `schema`'s table.
    async fn fetch_rows(
        &self,
        secrets: &mut Redactor,
        schema: &Arc<TableSchema>,
        request: PageRequest<'_>,
    ) -> Result<RowPage, RemoteError> {
        let (raw, top) = self.page_response(secrets, schema.name(), request).await?;
        let has_next_link = has_next_link(&raw.headers);
        let mut page = RowPage::parse_json(schema, raw.body)?;
        check_page_size(page.len(), top)?;
        page.has_next_link = has_next_link;
        Ok(page)
    }
}

/// A page may not hold more rows than it asked for.
fn check_page_size(rows: usize, top: u64) -> Result<(), RemoteError> {
    if rows as u64 > top {
        return Err(RemoteError::protocol(format!("asked for at most {top} rows, got {rows}")));
    }
    Ok(())
}

#[async_trait]
impl Remote for AzureRestRemote {
    async fn insert(&self, table: &str, item: &Record) -> Result<Record, RemoteError> {
        let mut secrets = self.redactor();
        self.insert_with(&mut secrets, table, item).await.map_err(|e| secrets.error(e))
    }

    async fn update(&self, table: &str, item: &Record, version: Option<&str>) -> Result<Record, RemoteError> {
        let mut secrets = self.redactor();
        self.update_with(&mut secrets, table, item, version).await.map_err(|e| secrets.error(e))
    }

    async fn delete(&self, table: &str, id: &str, version: Option<&str>) -> Result<(), RemoteError> {
        let mut secrets = self.redactor();
        self.delete_with(&mut secrets, table, id, version).await.map_err(|e| secrets.error(e))
    }

    async fn read(&self, table: &str, id: &str) -> Result<Record, RemoteError> {
        let mut secrets = self.redactor();
        self.read_with(&mut secrets, table, id).await.map_err(|e| secrets.error(e))
    }

    async fn undelete(&self, table: &str, id: &str, version: Option<&str>) -> Result<Record, RemoteError> {
        let mut secrets = self.redactor();
        self.undelete_with(&mut secrets, table, id, version).await.map_err(|e| secrets.error(e))
    }

    async fn query_page(
        &self,
        table: &str,
        filter: Option<&Expr>,
        cursor: Option<&Cursor>,
        page_size: u64,
    ) -> Result<Page, RemoteError> {
        let mut secrets = self.redactor();
        let request = PageRequest::Keyset { filter, cursor, page_size, with_total: false };
        self.fetch_page(&mut secrets, table, request).await.map_err(|e| secrets.error(e))
    }

    /// The keyset query with `$inlinecount=allpages`: the Node server answers
    /// `{"results": […], "count": N}` in the same response.
    async fn query_page_with_total(
        &self,
        table: &str,
        filter: Option<&Expr>,
        cursor: Option<&Cursor>,
        page_size: u64,
    ) -> Result<Page, RemoteError> {
        let mut secrets = self.redactor();
        let request = PageRequest::Keyset { filter, cursor, page_size, with_total: true };
        self.fetch_page(&mut secrets, table, request).await.map_err(|e| secrets.error(e))
    }

    /// The page's JSON parsed straight into the table's columns ([`RowPage::parse_json`]): no
    /// record is built per row.
    async fn query_rows(&self, schema: &Arc<TableSchema>, request: PageRequest<'_>) -> Result<RowPage, RemoteError> {
        let mut secrets = self.redactor();
        self.fetch_rows(&mut secrets, schema, request).await.map_err(|e| secrets.error(e))
    }

    /// What the builder was told ([`exact_timestamps`](crate::AzureRestRemoteBuilder::exact_timestamps)),
    /// or what the server's last successful answer said (`x-sync-extensions: exact-timestamps`,
    /// which sync-server sends).
    fn exact_timestamps(&self) -> bool {
        self.inner.exact_timestamps || self.inner.negotiated.has_exact_timestamps()
    }

    /// [`batch_size`](crate::AzureRestRemoteBuilder::batch_size) once the server has said it
    /// takes batches (with [`Batching::Negotiate`]), else 0.
    fn max_batch(&self) -> usize {
        match self.inner.batching {
            Batching::Negotiate if self.inner.negotiated.has_batch() => self.inner.batch_size,
            _ => 0,
        }
    }

    /// One `$batch` request when the server has said it takes batches; else each write alone,
    /// so that a server without the extension never sees one.
    async fn batch(&self, table: &str, ops: &[BatchOp]) -> Result<Vec<BatchResult>, RemoteError> {
        if self.max_batch() < 2 {
            let mut results = Vec::with_capacity(ops.len());
            for op in ops {
                results.push(op.send_alone(self, table).await);
            }
            return Ok(results);
        }
        let mut secrets = self.redactor();
        self.batch_with(&mut secrets, table, ops).await.map_err(|e| secrets.error(e))
    }

    async fn query_by_id(
        &self,
        table: &str,
        filter: Option<&Expr>,
        after_id: Option<&str>,
        page_size: u64,
    ) -> Result<Page, RemoteError> {
        let mut secrets = self.redactor();
        let request = PageRequest::ById { filter, after_id, page_size };
        self.fetch_page(&mut secrets, table, request).await.map_err(|e| secrets.error(e))
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
            .field("exact_timestamps", &cfg.exact_timestamps)
            .field("batching", &cfg.batching)
            .field("batch_size", &cfg.batch_size)
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
