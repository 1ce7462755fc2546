//! The command line: `todo [--db PATH] [--remote URL] [--token TOKEN] [--timeout SECS] <command>`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// An offline-first todo list that syncs with an Azure Mobile Apps backend.
#[derive(Debug, Parser)]
#[command(
    name = "todo",
    version,
    after_help = "Exit status: 0 done; 1 the server, the network or the database failed; 2 a wrong command line \
                  (a bad flag, an id that names no item); 3 `sync` left changes that wait for a decision \
                  (`todo conflicts`, `todo resolve`).\n\nIds may be shortened to a unique prefix of at least 4 \
                  characters, as in git."
)]
pub struct Cli {
    /// The local SQLite database.
    #[arg(long, env = "TODO_DB", default_value = "todo.db", global = true)]
    pub db: PathBuf,
    /// The Mobile Apps backend to sync with (e.g. http://127.0.0.1:3000). Without it every
    /// command works offline.
    #[arg(long, env = "TODO_REMOTE", global = true)]
    pub remote: Option<String>,
    /// The token for a backend that needs one, sent as `X-ZUMO-AUTH` (the App Service
    /// authentication token). Prefer the environment variable: a command line is visible to
    /// other users of the machine.
    #[arg(long, env = "TODO_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// Give up on the whole command after this many seconds and exit 1 (0: no limit; `watch`
    /// has none). Each request to the server also has its own limits: 5 s to connect, 20 s to
    /// answer (retried up to 3 times). What a stopped sync already saved is kept.
    #[arg(long, env = "TODO_TIMEOUT", value_name = "SECS", default_value_t = 60, global = true)]
    pub timeout: u64,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add an item; prints its id.
    Add {
        /// What to do.
        text: String,
        /// How urgent it is (higher first).
        #[arg(long, default_value_t = 0)]
        priority: i32,
    },
    /// List items.
    List(ListArgs),
    /// Mark an item done.
    Done {
        /// The item's id.
        id: String,
    },
    /// Mark an item not done.
    Undone {
        /// The item's id.
        id: String,
    },
    /// Change an item's priority (higher first).
    Prio {
        /// The item's id.
        id: String,
        /// The new priority.
        #[arg(allow_negative_numbers = true)]
        priority: i32,
    },
    /// Change an item's text.
    Edit {
        /// The item's id.
        id: String,
        /// The new text.
        text: String,
    },
    /// Remove an item.
    Rm {
        /// The item's id.
        id: String,
    },
    /// Push local changes, then pull the server's (incrementally).
    Sync(SyncArgs),
    /// Show the list live: it redraws whenever the list changes (edits here, in another
    /// process on the same database, or pulled from the server) and, with --remote, syncs by
    /// itself. Ctrl-C exits.
    Watch(WatchArgs),
    /// Count pending operations and errors.
    Status,
    /// List the conflicts and failed operations waiting for a decision.
    Conflicts,
    /// Settle a conflict or failed operation of an item.
    Resolve(ResolveArgs),
    /// Delete the local copy of the items (not on the server).
    Purge {
        /// Also drop local changes that were not pushed.
        #[arg(long)]
        force: bool,
    },
}

/// `list` options.
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct ListFilter {
    /// Every item (the default).
    #[arg(long)]
    pub all: bool,
    /// Only done items.
    #[arg(long)]
    pub done: bool,
    /// Only open items.
    #[arg(long)]
    pub open: bool,
}

/// `list` arguments.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Which items.
    #[command(flatten)]
    pub filter: ListFilter,
    /// Print a JSON array.
    #[arg(long)]
    pub json: bool,
}

/// `watch` arguments.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// How often to pull from the server, in milliseconds (local writes are pushed at once).
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(10..))]
    pub interval_ms: u64,
}

/// `sync` arguments.
#[derive(Debug, Args)]
#[group(multiple = false)]
pub struct SyncArgs {
    /// Only pull.
    #[arg(long)]
    pub pull_only: bool,
    /// Only push.
    #[arg(long)]
    pub push_only: bool,
}

/// `resolve` arguments.
#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// The item's id.
    pub id: String,
    /// How to settle it.
    #[command(flatten)]
    pub choice: ResolveChoice,
}

/// The resolution.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct ResolveChoice {
    /// Keep my version and send it over the server's.
    #[arg(long)]
    pub keep_mine: bool,
    /// Take the server's version and drop my change.
    #[arg(long)]
    pub keep_server: bool,
    /// Drop my change and my copy of the item.
    #[arg(long)]
    pub discard: bool,
}
