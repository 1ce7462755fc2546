//! The whole wiring of an app: a durable [`DieselStore`], an [`AzureRestRemote`] with a token,
//! and the [`SyncContext`] over both; then a local write, a push and an incremental pull.
//!
//! Run it against the official Node server (which, with `AUTH_TOKEN` set, answers 401 to any
//! request without that token):
//!
//! ```sh
//! AUTH_TOKEN=s3cret tests/server/start.sh 3000 /tmp/wiring-server.db     # terminal 1
//! SYNC_URL=http://127.0.0.1:3000 SYNC_TOKEN=s3cret \
//!     cargo run -p backend-azure-rest --example wiring -- "buy milk"      # terminal 2
//! ```
//!
//! `SYNC_URL` is the backend's root (default `http://127.0.0.1:3000`), `SYNC_TOKEN` its token
//! (none if unset), `SYNC_DB` the local file (default `wiring.db`). The token is read from the
//! environment, not the command line, so it stays out of the process list, and it is never
//! printed (nor logged, nor put into errors).

use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use backend_azure_rest::{AuthScheme, AuthToken, AzureRestRemote, TokenProvider};
use store_diesel::{DieselStore, OpenOptions};
use sync_core::backend::RemoteError;
use sync_core::{PullOptions, Query, SyncContext, SyncEntity};

/// One row of the server's `TodoItem` table; the derive maps the fields to columns.
#[derive(SyncEntity, Debug, Clone)]
#[sync(table = "TodoItem")]
struct TodoItem {
    id: String,
    text: String,
    complete: bool,
}

/// The signed-in user's token. An app replaces it after signing in again; a provider is asked
/// before every request, so the next request carries the new one. (For a token that never
/// changes, `AzureRestRemote::builder(url).token(token)` is enough.)
#[derive(Debug, Default)]
struct Session {
    token: RwLock<Option<AuthToken>>,
}

#[async_trait]
impl TokenProvider for Session {
    async fn token(&self) -> Result<Option<AuthToken>, RemoteError> {
        Ok(self.token.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone())
    }

    /// A 401: here is where an app would refresh the token and return `true` to have the
    /// request repeated once. This one has no way to refresh, so the push or pull fails with
    /// an error whose `is_unauthorized()` is true.
    async fn token_rejected(&self, _rejected: &AuthToken) -> bool {
        false
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("SYNC_URL").unwrap_or_else(|_| "http://127.0.0.1:3000".to_owned());
    let db = std::env::var("SYNC_DB").unwrap_or_else(|_| "wiring.db".to_owned());
    let text = std::env::args().nth(1).unwrap_or_else(|| "from the wiring example".to_owned());

    // The local database: every change lands here first, with its queued operation.
    let store = DieselStore::open_with(&db, OpenOptions::new()).await?;

    // The remote, with the token sent as `X-ZUMO-AUTH` (App Service authentication); use
    // `AuthScheme::Bearer` for a backend that expects `Authorization: Bearer`.
    let session = Arc::new(Session::default());
    *session.token.write().unwrap_or_else(|poisoned| poisoned.into_inner()) =
        std::env::var("SYNC_TOKEN").ok().map(AuthToken::new);
    let remote =
        AzureRestRemote::builder(&url).token_provider_arc(session.clone()).auth_scheme(AuthScheme::ZumoAuth).build()?;

    let ctx = SyncContext::builder(store).remote(remote).build().await?;
    let todos = ctx.table::<TodoItem>().await?;

    // Works offline: the item and its queued insert commit in one transaction.
    let added = todos.insert(TodoItem { id: String::new(), text, complete: false }).await?;
    println!("added {} locally; {} change(s) to push", added.id, ctx.pending_count().await?);

    // Online: push the queue, then pull what changed on the server since the last pull.
    match ctx.push().await {
        Ok(pushed) => println!("pushed {} of {}", pushed.succeeded, pushed.total),
        Err(e) if e.is_offline() => {
            println!("{url} cannot be reached: the change stays queued for the next run");
            return Ok(());
        }
        Err(e) if e.is_unauthorized() => return Err(format!("{url} rejected the token (SYNC_TOKEN): {e}").into()),
        Err(e) => return Err(e.into()),
    }
    let pulled = todos.pull(&Query::new(), PullOptions::incremental("all-todo-items")).await?;
    println!("pulled {} row(s) in {} request(s)", pulled.rows, pulled.requests);

    let open = todos.query(&Query::new().filter(TodoItem::COMPLETE.eq(false))).await?;
    println!("{} open item(s) in {db}:", open.len());
    for item in open {
        println!("  {}  {}", item.id, item.text);
    }
    Ok(())
}
