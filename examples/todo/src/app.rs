//! The commands, over a [`SyncContext`] with store-diesel and (when given) the REST remote.

use std::sync::Arc;
use std::time::Duration;

use backend_azure_rest::AzureRestRemote;
use store_diesel::DieselStore;
use sync_core::{
    OperationKind, PullOptions, PurgeOptions, Query, Resolution, SyncContext, SyncEntity, SyncOptions, SyncTable,
};

use crate::cli::{Cli, Command, ListArgs, ResolveArgs, SyncArgs};
use crate::failure::{exit, Failure};
use crate::item::TodoItem;
use crate::progress::Progress;

/// The incremental pull's query id.
pub const QUERY_ID: &str = "all-todo-items";
/// How long a connection to the server may take (an interactive tool should not hang on one).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one request may take, from sending it to the end of the answer (a page of 1000
/// rows is well under a second on the Node server); the engine retries a timed-out request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// The open app: the context and the todo table.
pub struct App {
    ctx: SyncContext,
    todos: SyncTable<TodoItem>,
    remote_url: Option<String>,
}

impl App {
    /// Opens the database (creating it) and, if given, the remote; sync progress goes to
    /// `progress`.
    pub async fn open(cli: &Cli, progress: Option<Arc<Progress>>) -> Result<App, Failure> {
        let store = DieselStore::open(&cli.db).await.map_err(|e| Failure::store(&cli.db, &e))?;
        // The app pushes explicitly before pulling, so the pull itself never pushes.
        let options = SyncOptions::default().push_before_pull(false);
        let mut builder = SyncContext::builder(store).options(options);
        if let Some(progress) = progress {
            builder = builder.on_event(move |e| progress.on_event(e));
        }
        if let Some(url) = &cli.remote {
            let builder_for_url =
                AzureRestRemote::builder(url).connect_timeout(CONNECT_TIMEOUT).timeout(REQUEST_TIMEOUT);
            let with_token = match &cli.token {
                Some(token) => builder_for_url.token(token.as_str()),
                None => builder_for_url,
            };
            let remote = with_token.build().map_err(|e| Failure::usage(format!("invalid --remote {url:?}: {e}")))?;
            builder = builder.remote(remote);
        }
        let ctx = builder.build().await?;
        let todos = ctx.table::<TodoItem>().await?;
        Ok(App { ctx, todos, remote_url: cli.remote.clone() })
    }

    /// Runs one command; returns the process exit code.
    pub async fn run(&self, command: &Command) -> Result<i32, Failure> {
        match command {
            Command::Add { text, priority } => {
                let item = TodoItem { priority: *priority, ..TodoItem::new(non_empty(text)?) };
                let item = self.todos.insert(item).await?;
                println!("{}", item.id);
            }
            Command::List(args) => self.list(args).await?,
            Command::Done { id } => self.modify(id, |item| item.complete = true).await?,
            Command::Undone { id } => self.modify(id, |item| item.complete = false).await?,
            Command::Prio { id, priority } => self.modify(id, |item| item.priority = *priority).await?,
            Command::Edit { id, text } => {
                let text = non_empty(text)?.to_owned();
                self.modify(id, move |item| item.text = text).await?
            }
            Command::Rm { id } => {
                let item = self.existing(id).await?;
                self.todos.delete(&item.id).await?;
            }
            Command::Sync(args) => return self.sync(args).await,
            Command::Watch(args) => {
                let pull_interval = std::time::Duration::from_millis(args.interval_ms);
                crate::live::run(&self.ctx, &self.todos, self.remote_url.is_some(), pull_interval).await?
            }
            Command::Status => {
                println!("pending operations: {}", self.ctx.pending_count().await?);
                println!("errors: {}", self.ctx.errors().await?.len());
            }
            Command::Conflicts => self.conflicts().await?,
            Command::Resolve(args) => self.resolve(args).await?,
            Command::Purge { force } => {
                let purged =
                    self.todos.purge(&Query::new(), PurgeOptions::default().query_id(QUERY_ID).force(*force)).await?;
                println!("purged {purged} item(s)");
            }
        }
        Ok(exit::OK)
    }

    async fn list(&self, args: &ListArgs) -> Result<(), Failure> {
        let mut query = list_order();
        if args.filter.done {
            query = query.filter(TodoItem::COMPLETE.eq(true));
        } else if args.filter.open {
            query = query.filter(TodoItem::COMPLETE.eq(false));
        }
        let items = self.todos.query(&query).await?;
        if args.json {
            let array: Vec<_> = items.iter().map(TodoItem::to_json).collect();
            println!("{}", serde_json::Value::Array(array));
        } else if items.is_empty() {
            println!("no items");
        } else {
            for item in items {
                println!("{}", item.line());
            }
        }
        Ok(())
    }

    /// The item an id or a unique id prefix (git style, at least 4 characters) names.
    async fn existing(&self, id: &str) -> Result<TodoItem, Failure> {
        if sync_core::backend::validate_id(id).is_ok() {
            if let Some(item) = self.todos.get(id).await? {
                return Ok(item);
            }
        }
        let candidates = if id.chars().count() >= MIN_PREFIX {
            self.todos.query(&Query::new().filter(TodoItem::ID.starts_with(id)).top(MAX_LISTED + 1)).await?
        } else {
            Vec::new()
        };
        let ids: Vec<&str> = candidates.iter().map(|t| t.id.as_str()).collect();
        let picked = pick_by_prefix(id, &ids)?.to_owned();
        let mut candidates = candidates;
        candidates.retain(|t| t.id == picked);
        candidates
            .pop()
            .ok_or_else(|| Failure::usage(format!("no item with id {id:?}: run `todo list` to see the ids")))
    }

    async fn modify(&self, id: &str, change: impl FnOnce(&mut TodoItem)) -> Result<(), Failure> {
        let mut item = self.existing(id).await?;
        change(&mut item);
        self.todos.update(&item).await?;
        Ok(())
    }

    async fn sync(&self, args: &SyncArgs) -> Result<i32, Failure> {
        let url = self.remote_url.clone().unwrap_or_default();
        let mut pushed = None;
        if !args.pull_only {
            pushed = Some(self.ctx.push().await.map_err(|e| Failure::sync(&url, e))?);
        }
        let mut pulled = None;
        if !args.push_only {
            let pull = self.todos.pull(&Query::new(), PullOptions::incremental(QUERY_ID)).await;
            pulled = Some(pull.map_err(|e| Failure::sync(&url, e))?);
        }
        if args.push_only && pushed.as_ref().is_some_and(|p| p.total == 0) {
            println!("nothing to push: no local changes are waiting");
            return Ok(exit::OK);
        }
        let mut line = String::from("synced:");
        if let Some(p) = pushed {
            line.push_str(&format!(" pushed {}", p.succeeded + p.resolved));
        }
        if let Some(p) = pulled {
            line.push_str(&format!(" pulled {} ({} changed, {} deleted)", p.rows, p.upserted, p.deleted));
        }
        println!("{line}");
        let errors = self.ctx.errors().await?;
        if !errors.is_empty() {
            eprintln!(
                "{} change(s) need a decision: run `todo conflicts`, then `todo resolve <id> --keep-mine|--keep-server|--discard`",
                errors.len()
            );
            return Ok(exit::DECISIONS);
        }
        Ok(exit::OK)
    }

    async fn conflicts(&self) -> Result<(), Failure> {
        let errors = self.ctx.errors().await?;
        if errors.is_empty() {
            println!("no conflicts");
        }
        let describe = |r: Option<&sync_core::Record>| match r {
            Some(r) => match TodoItem::from_record(r) {
                Ok(t) => format!("{:?} ({})", t.text, if t.complete { "done" } else { "open" }),
                Err(_) => "unreadable".to_owned(),
            },
            None => "none".to_owned(),
        };
        for e in errors {
            let status = e.status.map(|s| format!(" HTTP {s}")).unwrap_or_default();
            let mine = if e.kind == OperationKind::Delete { "deleted".to_owned() } else { describe(e.item.as_ref()) };
            println!(
                "{}  {} {:?}{status}: mine {mine}, server {}",
                e.item_id,
                e.kind,
                e.failure,
                describe(e.server_item.as_ref())
            );
        }
        Ok(())
    }

    async fn resolve(&self, args: &ResolveArgs) -> Result<(), Failure> {
        let errors = self.ctx.errors().await?;
        let waiting: Vec<&str> = errors.iter().map(|e| e.item_id.as_str()).collect();
        let id = match waiting.iter().find(|id| **id == args.id) {
            Some(id) => *id,
            None if args.id.chars().count() >= MIN_PREFIX => {
                let matching: Vec<&str> = waiting.iter().copied().filter(|id| id.starts_with(&args.id)).collect();
                pick_by_prefix(&args.id, &matching)?
            }
            None => "",
        };
        let error = errors.iter().find(|e| e.item_id == id).ok_or_else(|| {
            Failure::usage(format!("no conflict or failed change for item {:?}: run `todo conflicts`", args.id))
        })?;
        let resolution = if args.choice.keep_mine {
            Resolution::KeepLocal
        } else if args.choice.keep_server {
            Resolution::KeepServer
        } else {
            Resolution::Discard
        };
        let item_id = error.item_id.clone();
        let sends = resolution == Resolution::KeepLocal;
        self.ctx.resolve(error.operation_id, resolution).await?;
        if sends {
            println!("resolved {item_id}: your version is kept; run `todo sync` to send it");
        } else {
            println!("resolved {item_id}: the server's version is kept, nothing is left to send");
        }
        Ok(())
    }
}

/// Ids may be shortened to a unique prefix of at least this many characters.
const MIN_PREFIX: usize = 4;
/// How many candidates an ambiguous prefix lists.
const MAX_LISTED: u64 = 10;

/// The one id of `candidates` (the ids starting with `prefix`), or a usage error that says why
/// there is not exactly one.
fn pick_by_prefix<'a>(prefix: &str, candidates: &[&'a str]) -> Result<&'a str, Failure> {
    match candidates {
        [one] => Ok(one),
        [] if prefix.chars().count() < MIN_PREFIX => Err(Failure::usage(format!(
            "no item with id {prefix:?}: give the whole id or at least {MIN_PREFIX} of its first characters (`todo list` shows them)"
        ))),
        [] => Err(Failure::usage(format!("no item with id {prefix:?}: run `todo list` to see the ids"))),
        many => {
            let shown: Vec<&str> = many.iter().copied().take(MAX_LISTED as usize).collect();
            let more = if many.len() > shown.len() { ", …" } else { "" };
            Err(Failure::usage(format!(
                "{prefix:?} is the start of several ids ({}{more}): give more characters",
                shown.join(", ")
            )))
        }
    }
}

/// Every item, in the order `list` and `watch` show them.
pub fn list_order() -> Query {
    Query::new().order_by(TodoItem::TEXT.asc())
}

fn non_empty(text: &str) -> Result<&str, Failure> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(Failure::usage("the text is empty: write what the item is about"));
    }
    Ok(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_names_one_item_or_says_why_not() {
        assert_eq!(pick_by_prefix("51ec", &["51ecf034-aaaa"]).unwrap(), "51ecf034-aaaa");
        let many = pick_by_prefix("51ec", &["51ecf034-aaaa", "51ec0000-bbbb"]).unwrap_err();
        assert!(many.to_string().contains("51ecf034-aaaa, 51ec0000-bbbb"), "{many}");
        assert_eq!(many.code(), exit::USAGE);
        let short = pick_by_prefix("51e", &[]).unwrap_err();
        assert!(short.to_string().contains("at least 4"), "{short}");
        let none = pick_by_prefix("zzzz", &[]).unwrap_err();
        assert!(none.to_string().contains("todo list"), "{none}");
    }
}
