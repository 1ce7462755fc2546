//! What the user sees when a command fails: one line saying what happened and what to do, and
//! an exit status ([`exit`]). Every engine error is mapped here, by its [`ErrorKind`], and printed
//! with its whole source chain (SQLite's "file is not a database" is in the chain, not in the top
//! message).

use std::error::Error;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use sync_core::backend::RemoteError;
use sync_core::error::StoreError;
use sync_core::{ErrorKind, SyncError};

use crate::cli::{Cli, Command};

/// The exit statuses, one meaning each (also in `todo --help` and the README).
pub mod exit {
    /// The command did what was asked.
    pub const OK: i32 = 0;
    /// It failed: the server, the network or the database (the message says which).
    pub const ERROR: i32 = 1;
    /// The command line was wrong: a bad flag, an id that names no item (clap's own status for
    /// its errors, too).
    pub const USAGE: i32 = 2;
    /// `sync` finished, and changes wait for a decision (`todo conflicts`, `todo resolve`).
    pub const DECISIONS: i32 = 3;
}

/// A failed command.
#[derive(Debug)]
pub struct Failure {
    message: String,
    code: i32,
}

impl Failure {
    /// Wrong input.
    pub fn usage(message: impl Into<String>) -> Self {
        Failure { message: message.into(), code: exit::USAGE }
    }

    /// The database could not be opened.
    pub fn store(path: &Path, e: &StoreError) -> Self {
        Failure::error(format!("cannot open the database {}: {}", path.display(), chain(e)))
    }

    /// A command failed; `server` is the server's URL, for sync commands.
    pub fn sync(server: &str, e: SyncError) -> Self {
        Failure { message: describe(&e, Some(server)), code: code_of(&e) }
    }

    /// The command did not finish within `--timeout`.
    pub fn timed_out(cli: &Cli, limit: Duration) -> Self {
        let secs = limit.as_secs();
        let message = match (&cli.command, &cli.remote) {
            (Command::Sync(_), Some(url)) => format!(
                "the sync with {url} did not finish within {secs} s (--timeout): the server is not answering or \
                 is too slow; your changes are kept on this device and what was already synced is saved: run \
                 `todo sync` again, or allow more time with --timeout SECS (0: no limit)"
            ),
            _ => format!(
                "the command did not finish within {secs} s (--timeout): the database did not answer in time \
                 (another program may hold it); nothing was half-written: try again, or allow more time with \
                 --timeout SECS (0: no limit)"
            ),
        };
        Failure::error(message)
    }

    fn error(message: String) -> Self {
        Failure { message, code: exit::ERROR }
    }

    /// The exit status for this failure.
    pub fn code(&self) -> i32 {
        self.code
    }
}

impl From<SyncError> for Failure {
    fn from(e: SyncError) -> Self {
        Failure { message: describe(&e, None), code: code_of(&e) }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A misused API (no server configured) is the command line's fault; anything else failed.
fn code_of(e: &SyncError) -> i32 {
    if e.kind() == ErrorKind::Usage {
        exit::USAGE
    } else {
        exit::ERROR
    }
}

/// The one mapping from an engine error to what the user reads.
fn describe(e: &SyncError, server: Option<&str>) -> String {
    let kept = "your changes are kept on this device";
    let at = server.map(|url| format!(" at {url}")).unwrap_or_default();
    let why = chain(e);
    if let SyncError::PurgeBlocked { pending, .. } = e {
        return format!(
            "{pending} change(s) are not on the server yet: run `todo sync` first, or `todo purge --force` to drop them"
        );
    }
    match e.kind() {
        ErrorKind::Offline => {
            let why = why.strip_prefix("the server could not be reached: ").unwrap_or(&why);
            format!("cannot reach the server{at} ({why}); {kept}: run `todo sync` again when online")
        }
        ErrorKind::Unauthorized => format!("the server{at} rejected the credentials ({why}); {kept}"),
        ErrorKind::Temporary => {
            // The remote's message already says `HTTP 502 Bad Gateway (text/html): …` when the
            // body was not JSON; a JSON message gets its status in front.
            let detail = match e.remote_error() {
                Some(RemoteError::Transient { message, .. }) if message.starts_with("HTTP ") => message.clone(),
                Some(RemoteError::Transient { status, message }) => format!("HTTP {status}: {message}"),
                _ => why,
            };
            format!("the server{at} failed: {detail}; {kept}: try again later")
        }
        ErrorKind::NotFound | ErrorKind::Rejected | ErrorKind::Protocol if e.remote_error().is_some() => format!(
            "the server{at} does not answer like an Azure Mobile Apps backend with a TodoItem table ({why}); check --remote"
        ),
        ErrorKind::Protocol => format!("the server{at} sent data this app cannot use ({why}); {kept}"),
        ErrorKind::Usage if matches!(e, SyncError::NoRemote) => {
            "no server configured: pass --remote URL or set TODO_REMOTE".to_owned()
        }
        ErrorKind::LocalState => format!("{why}: run `todo sync` first"),
        ErrorKind::Storage => format!("the database failed: {why}"),
        _ => why,
    }
}

/// The error's message followed by each source's, skipping a source whose text the message
/// already holds (many errors print their source themselves).
fn chain(e: &(dyn Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}
