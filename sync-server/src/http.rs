//! The HTTP layer: routes, the API version check, request bodies, `ETag`/`Link` headers.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Extension, OriginalUri, Path, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::auth::{self, User};
use crate::error::{etag_header, short, Error};
use crate::odata::{BinaryOp, Expr, Literal, QueryOptions};
use crate::ops::{self, scrub, Op};
use crate::protocol;
use crate::server::Inner;
use crate::storage::Item;
use crate::table::{TableDef, OWNER};

type Shared = State<Arc<Inner>>;
/// The authenticated user, when the server has authentication.
type Caller = Option<Extension<User>>;

/// The header that names the server, as the Node server sends `x-zumo-server-version`.
const SERVER_VERSION: &str = concat!("sync-server-", env!("CARGO_PKG_VERSION"));

/// The router: `/tables/{table}` and `/tables/{table}/{id}`, with the version check, the body
/// limit and one log line per request.
pub(crate) fn router(inner: Arc<Inner>) -> Router {
    let limit = inner.max_body_bytes;
    let mut routes = Router::new()
        .route("/tables/{table}", get(query).post(insert))
        .route("/tables/{table}/$batch", post(batch))
        .route("/tables/{table}/{id}", get(read).patch(update).delete(delete).post(undelete));
    if let Some(auth) = &inner.auth {
        routes = routes.route_layer(middleware::from_fn_with_state(Arc::clone(auth), auth::require));
    }
    // The version check runs first (outermost), as on the Node server.
    routes
        .route_layer(middleware::from_fn(api_version))
        .fallback(|| async { Error::not_found("no such route (tables are served at /tables/{name})") })
        .method_not_allowed_fallback(|| async { Error::with_status(405, "method not allowed") })
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn(server_header))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO))
                .on_failure(()),
        )
        .with_state(inner)
}

async fn server_header(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    response.headers_mut().insert("x-zumo-server-version", HeaderValue::from_static(SERVER_VERSION));
    response.headers_mut().insert(crate::batch::EXTENSIONS_HEADER, crate::batch::EXTENSIONS);
    response
}

/// `ZUMO-API-VERSION` (header, else a query parameter of any case) must be `2.0.x`.
async fn api_version(request: Request, next: Next) -> Response {
    let header = request.headers().get("zumo-api-version").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let version = header.or_else(|| {
        let query = request.uri().query()?;
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k.eq_ignore_ascii_case("zumo-api-version"))
            .map(|(_, v)| v.into_owned())
    });
    let ok = version
        .as_deref()
        .and_then(|v| v.strip_prefix("2.0."))
        .is_some_and(|patch| !patch.is_empty() && patch.bytes().all(|b| b.is_ascii_digit()));
    if ok || request.method() == axum::http::Method::OPTIONS {
        next.run(request).await
    } else {
        Error::bad_request(
            "An invalid API version was specified in the request, this request needs to specify a ZUMO-API-VERSION of 2.0.0.",
        )
        .into_response()
    }
}

fn table<'a>(inner: &'a Inner, name: &str) -> Result<&'a TableDef, Error> {
    inner.tables.get(name).ok_or_else(|| Error::not_found(format!("no table '{}'", short(name))))
}

fn body(limit: usize, body: Result<Bytes, BytesRejection>) -> Result<serde_json::Map<String, Value>, Error> {
    match body {
        Ok(bytes) => protocol::parse_body(&bytes),
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(Error::too_large(limit)),
        Err(e) => Err(Error::bad_request(format!("cannot read the request body: {e}"))),
    }
}

/// The owner a `per_user` table's request acts for (`None` for other tables).
fn owner<'a>(table: &TableDef, caller: &'a Caller) -> Result<Option<&'a str>, Error> {
    if !table.options.per_user {
        return Ok(None);
    }
    match caller {
        Some(Extension(user)) => Ok(Some(user.id.as_str())),
        None => Err(Error::with_status(401, "authentication required")),
    }
}

fn item_response(status: StatusCode, item: Item) -> Response {
    let etag = item.get("version").and_then(Value::as_str).and_then(etag_header);
    let mut response = (status, Json(Value::Object(item))).into_response();
    if let Some(etag) = etag {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

fn if_match(headers: &HeaderMap) -> Result<Option<&str>, Error> {
    match headers.get(header::IF_MATCH) {
        None => Ok(None),
        Some(v) => v.to_str().map(Some).map_err(|_| Error::bad_request("If-Match is not valid text")),
    }
}

fn path<T>(p: Result<Path<T>, PathRejection>) -> Result<T, Error> {
    p.map(|Path(t)| t).map_err(|e| Error::bad_request(format!("bad URL path: {e}")))
}

async fn query(
    State(inner): Shared,
    caller: Caller,
    p: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Result<Response, Error> {
    let name = path(p)?;
    let table = table(&inner, &name)?;
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(raw.as_deref().unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut options = QueryOptions::from_pairs(&pairs)?;
    if let Some(user) = owner(table, &caller)? {
        // The owner's rows only: one more bound parameter, ANDed with the client's filter.
        let mine = Expr::Binary(
            BinaryOp::Eq,
            Box::new(Expr::Column(OWNER.to_owned())),
            Box::new(Expr::Literal(Literal::Str(user.to_owned()))),
        );
        options.filter = Some(match options.filter.take() {
            Some(f) => Expr::And(vec![mine, f]),
            None => mine,
        });
    }
    if let Some(top) = options.top {
        if top > table.options.max_top {
            return Err(Error::bad_request(format!("You cannot request more than {} records", table.options.max_top)));
        }
    }
    let top = options.top.unwrap_or(table.options.page_size);
    // The rows come as JSON already, scrubbed and `$select`ed (`storage::page_json`).
    let page = inner.backend.query(table, &options, top).await?;
    let rows = page.rows;
    let body = match page.count {
        // As serde_json writes `{"results": …, "count": …}`: keys in byte order.
        Some(count) => {
            let mut body = Vec::with_capacity(page.rows_json.len() + 40);
            body.extend_from_slice(format!("{{\"count\":{count},\"results\":").as_bytes());
            body.extend_from_slice(&page.rows_json);
            body.push(b'}');
            body
        }
        None => page.rows_json,
    };
    let mut response = ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response();
    if page.more {
        let link = next_link(&inner, &headers, &uri, &pairs, top, options.skip + rows);
        if let Ok(value) = HeaderValue::from_str(&format!("<{link}>; rel=next")) {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}

/// The absolute URL of the next page: the same request (its path as the client sent it, so a
/// router nested under a prefix keeps the prefix) with `$top` and `$skip` advanced.
fn next_link(inner: &Inner, headers: &HeaderMap, uri: &Uri, pairs: &[(String, String)], top: u64, skip: u64) -> String {
    let base = match &inner.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
            format!("http://{host}")
        }
    };
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs.iter().filter(|(k, _)| k != "$top" && k != "$skip") {
        query.append_pair(k, v);
    }
    query.append_pair("$top", &top.to_string());
    query.append_pair("$skip", &skip.to_string());
    format!("{base}{}?{}", uri.path(), query.finish())
}

async fn read(
    State(inner): Shared,
    caller: Caller,
    p: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, Error> {
    let (name, id) = path(p)?;
    let table = table(&inner, &name)?;
    protocol::check_id(&id)?;
    let user = owner(table, &caller)?;
    let item = inner
        .backend
        .read(table, &id)
        .await?
        .filter(|i| user.is_none() || i.get(OWNER).and_then(Value::as_str) == user)
        .ok_or_else(Error::no_item)?;
    Ok(item_response(StatusCode::OK, scrub(table, item)))
}

async fn insert(
    State(inner): Shared,
    caller: Caller,
    p: Result<Path<String>, PathRejection>,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, Error> {
    let name = path(p)?;
    let table = table(&inner, &name)?;
    let user = owner(table, &caller)?;
    let body = body(inner.max_body_bytes, bytes)?;
    answer(ops::run(&inner, table, user, Op::Insert { body }).await)
}

async fn update(
    State(inner): Shared,
    caller: Caller,
    p: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, Error> {
    let (name, id) = path(p)?;
    let table = table(&inner, &name)?;
    protocol::check_id(&id)?;
    let user = owner(table, &caller)?;
    let body = body(inner.max_body_bytes, bytes)?;
    let if_match = if_match(&headers)?.map(str::to_owned);
    answer(ops::run(&inner, table, user, Op::Update { id, body, if_match }).await)
}

async fn delete(
    state: Shared,
    caller: Caller,
    p: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    bodyless_write(state, caller, p, headers, |id, if_match| Op::Delete { id, if_match }).await
}

async fn undelete(
    state: Shared,
    caller: Caller,
    p: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    bodyless_write(state, caller, p, headers, |id, if_match| Op::Undelete { id, if_match }).await
}

/// A write to one item that takes no body (delete, undelete): the same path, owner and
/// `If-Match` handling.
async fn bodyless_write(
    State(inner): Shared,
    caller: Caller,
    p: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    op: fn(String, Option<String>) -> Op,
) -> Result<Response, Error> {
    let (name, id) = path(p)?;
    let table = table(&inner, &name)?;
    let user = owner(table, &caller)?;
    let if_match = if_match(&headers)?.map(str::to_owned);
    answer(ops::run(&inner, table, user, op(id, if_match)).await)
}

/// `POST /tables/{t}/$batch` (see [`crate::batch`]).
async fn batch(
    State(inner): Shared,
    caller: Caller,
    p: Result<Path<String>, PathRejection>,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<Response, Error> {
    let name = path(p)?;
    let table = table(&inner, &name)?;
    let user = owner(table, &caller)?;
    let body = body(inner.max_body_bytes, bytes)?;
    let ops = crate::batch::parse(body)?;
    Ok(Json(crate::batch::run(&inner, table, user, ops).await?).into_response())
}

fn answer(result: Result<(StatusCode, Item), Error>) -> Result<Response, Error> {
    result.map(|(status, item)| item_response(status, item))
}
