//! # backend-azure-rest
//!
//! The [`Remote`](sync_core::Remote) of sync-core for Azure Mobile Apps backends, spoken over
//! their REST table API (ZUMO-API-VERSION 2.0.0) with reqwest.
//!
//! Features: `rustls-tls` (default: HTTPS with rustls and the webpki roots) and `native-tls` (the
//! platform's TLS; OpenSSL on Linux), named as in reqwest; with both on, native-tls is used, and
//! with neither an `https` base URL is [`BuildError::NoTls`]. `test-server` starts the official
//! Node server for tests (module `test_server`).
//!
//! ```no_run
//! use backend_azure_rest::AzureRestRemote;
//! use store_diesel::DieselStore;
//! use sync_core::{PullOptions, Query, SyncContext, SyncEntity};
//!
//! #[derive(SyncEntity, Debug, Clone)]
//! #[sync(table = "TodoItem")]
//! struct TodoItem { id: String, text: String, complete: bool }
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let remote = AzureRestRemote::builder("https://myapp.azurewebsites.net").token("…").build()?;
//! let ctx = SyncContext::builder(DieselStore::open("app.db").await?).remote(remote).build().await?;
//! let todos = ctx.table::<TodoItem>().await?;
//! todos.insert(TodoItem { id: String::new(), text: "milk".into(), complete: false }).await?;
//! ctx.push().await?;
//! todos.pull(&Query::new(), PullOptions::incremental("all-todo-items")).await?;
//! # Ok(()) }
//! ```
//!
//! Map of the crate:
//! - [`AzureRestRemote`] and its [`AzureRestRemoteBuilder`] (`builder`): base URL, injectable
//!   `reqwest::Client`, auth, extra headers (secret ones too), timeouts, body limit;
//! - auth ([`TokenProvider`], [`StaticToken`], [`AuthToken`], [`AuthScheme`]): a token asked for
//!   before every request, sent as `X-ZUMO-AUTH` or `Authorization: Bearer`, never printed;
//! - request URLs (`urls`), response reading (`response`), error mapping ([`error`]), secrets
//!   scrubbed from errors (`redact`);
//! - sync-server's `$batch` extension (`batch`, [`Batching`]): negotiated from the
//!   `x-sync-extensions` header of the server's answers, never sent to a server without it;
//! - `test_server` (feature `test-server`): starts the official Node server for tests.
//!
//! ```no_run
//! use backend_azure_rest::AzureRestRemote;
//! use sync_core::{Remote, column};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let remote = AzureRestRemote::builder("https://myapp.azurewebsites.net").token("…").build()?;
//! let page = remote.query_page("TodoItem", Some(&column("complete").eq(false)), None, 100).await?;
//! println!("{} rows, more announced: {}", page.items.len(), page.has_next_link);
//! # Ok(()) }
//! ```
//!
//! ## Errors
//!
//! Every failure is a [`RemoteError`](sync_core::backend::RemoteError), classified by HTTP status, never
//! by message text (`docs/protocol.md`, "Routes and status codes"):
//!
//! | what happened | kind | notes |
//! |---|---|---|
//! | 409, 412 | `Conflict { status, server_item }` | `server_item` = the body when it is a valid record (its `version` from a strong `ETag` if absent); on an **insert** 409 the Node server echoes the request, so the body is ignored and the item is read with a GET (`None` if soft-deleted or that GET fails; see [`AzureRestRemoteBuilder::fetch_server_item_on_insert_conflict`]) |
//! | 404 | `NotFound` | also a soft-deleted item |
//! | 401 | `Unauthorized` | after one repeat if [`TokenProvider::token_rejected`] returns `true` |
//! | 429, 5xx but 501 | `Transient { status }` | |
//! | 501 | `BadRequest { status: 501 }` | not implemented: permanent |
//! | other 4xx | `BadRequest { status }` | message = the server's `{"error": …}` (see [Messages](#messages)) |
//! | connect failure, timeout, reset, body cut short | `Offline` | source: [`TransportError`]; see [`is_timeout`], [`is_connect`] |
//! | 1xx/3xx, not JSON, wrong types, invalid id, body over the limit, too many rows | `Protocol` | |
//! | an insert, update or read answered with another item than the one asked for | `Protocol` | the answer is not used |
//! | a `$batch` answer that is not `{"results": [...]}` with one `{"status": …}` per operation sent | `Protocol` | for the batch as a whole; each result is classified as the single request's answer |
//! | a row whose `createdAt`/`updatedAt` is not an ISO-8601 date-time, or a cursor whose `updatedAt` is not one (nothing sent) | `Protocol` | the cursor's `updatedAt` is the server's and goes into the next filter |
//! | invalid table name, id, version, token, filter column name or filter literal (nothing sent) | `BadRequest { status: 400 }` | message starts with `request not sent:` |
//!
//! ## Messages
//!
//! A message is one line of at most 300 characters: the `error` or `message` field of a JSON
//! body; for HTML or XML only the status, the content type and the page's title (never the
//! page); for other text its first line. JSON without such a field is not quoted.
//!
//! Servers, proxies and firewalls echo request headers in error bodies, so **no secret the
//! remote sent leaves it**: the token of every request, and the values of headers added with
//! [`AzureRestRemoteBuilder::secret_header`] (and of well-known credential headers such as
//! `X-Api-Key`), are replaced by `[redacted]` in the error body before it is read, and in every
//! error returned — its message, its source and its conflict item — whether echoed as sent,
//! after `Bearer `, percent-encoded, JSON- or HTML-escaped, or cut short.

mod auth;
mod batch;
mod builder;
pub mod error;
mod redact;
mod remote;
mod response;
mod urls;

#[cfg(feature = "test-server")]
pub mod test_server;

pub use auth::{AuthScheme, AuthToken, StaticToken, TokenProvider};
pub use batch::{Batching, MAX_BATCH};
pub use builder::{
    AzureRestRemoteBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY_BYTES, DEFAULT_PAGE_SIZE, DEFAULT_TIMEOUT,
};
pub use error::{is_connect, is_timeout, BuildError, TransportError, TransportErrorKind};
pub use remote::AzureRestRemote;
