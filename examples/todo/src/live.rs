//! `todo watch`: the list, live. It redraws whenever the list changes — an edit in this
//! database by any process, a pull — and, with `--remote`, syncs by itself
//! ([`SyncContext::start_sync`]). A status line says whether the server is reachable, how many
//! changes wait to be pushed, how many wait for a decision (`todo conflicts`), and when the last
//! sync succeeded. On a terminal the view is redrawn in place; otherwise each change prints one
//! block, ending with an empty line. Ctrl-C stops the sync between transactions and exits 0.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use futures::StreamExt;
use sync_core::{AutoSync, Query, SyncContext, SyncEntity, SyncHandle, SyncState, SyncStatus, SyncTable};

use crate::app::{list_order, QUERY_ID};
use crate::failure::Failure;
use crate::item::TodoItem;

/// Runs the live view until Ctrl-C.
pub async fn run(
    ctx: &SyncContext,
    todos: &SyncTable<TodoItem>,
    remote: bool,
    pull_interval: Duration,
) -> Result<(), Failure> {
    let sync = if remote {
        let auto = AutoSync::new()
            .pull(TodoItem::TABLE, Query::new(), QUERY_ID)
            .pull_interval(pull_interval)
            .push_debounce(Duration::from_millis(200))
            .backoff(Duration::from_millis(500), Duration::from_secs(10));
        Some(ctx.start_sync(auto)?)
    } else {
        None
    };
    let mut status = sync.as_ref().map(SyncHandle::watch_status);
    let mut list = todos.watch(&list_order());
    let terminal = std::io::stdout().is_terminal();
    let mut screen = Screen { terminal, shown: String::new() };
    let mut items: Result<Vec<TodoItem>, String> = Ok(Vec::new());
    // On a terminal, "retrying in 4 s" counts down.
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => break,
            next = list.next() => match next {
                Some(Ok(now)) => items = Ok(now),
                Some(Err(e)) => items = Err(Failure::from(e).to_string()),
                None => break,
            },
            changed = changed(&mut status) => if !changed { break },
            _ = tick.tick(), if terminal => {}
        }
        let current = status.as_ref().map(|s| s.borrow().clone());
        let line = status_line(ctx, current.as_ref()).await?;
        screen.show(&render(&items, &line));
    }
    if let Some(sync) = sync {
        sync.stop().await;
    }
    Ok(())
}

/// Waits for the next status change; `false` once the sync has gone (never without one).
async fn changed(status: &mut Option<tokio::sync::watch::Receiver<SyncStatus>>) -> bool {
    match status {
        Some(s) => s.changed().await.is_ok(),
        None => std::future::pending().await,
    }
}

/// `online · 2 pending · 1 conflict waiting · last sync 12:04:31`.
async fn status_line(ctx: &SyncContext, status: Option<&SyncStatus>) -> Result<String, Failure> {
    let pending = ctx.pending_count().await?;
    let waiting = ctx.errors().await?.len();
    let connection = match status {
        None => "local only (no --remote)".to_owned(),
        Some(s) => match &s.state {
            SyncState::Offline { .. } => format!("offline, retrying in {}", seconds(s.retry_in())),
            SyncState::Error { message, .. } => format!("error: {message}; retrying in {}", seconds(s.retry_in())),
            SyncState::Syncing => "online, syncing".to_owned(),
            SyncState::Stopped => "stopped".to_owned(),
            _ if s.last_sync.is_none() => "connecting".to_owned(),
            _ => "online".to_owned(),
        },
    };
    let last = status
        .and_then(|s| s.last_sync)
        .map(|t| t.with_timezone(&chrono::Local).format("%H:%M:%S").to_string())
        .unwrap_or_else(|| "never".to_owned());
    let conflicts = if waiting == 1 { "1 conflict waiting".to_owned() } else { format!("{waiting} conflicts waiting") };
    Ok(format!("{connection} · {pending} pending · {conflicts} · last sync {last}"))
}

fn seconds(d: Option<Duration>) -> String {
    format!("{} s", d.unwrap_or_default().as_secs_f64().ceil() as u64)
}

fn render(items: &Result<Vec<TodoItem>, String>, status: &str) -> String {
    let mut text = format!("{status}\n");
    match items {
        Ok(items) if items.is_empty() => text.push_str("no items\n"),
        Ok(items) => items.iter().for_each(|i| {
            text.push_str(&i.line());
            text.push('\n');
        }),
        Err(e) => text.push_str(&format!("cannot read the list: {e}\n")),
    }
    text
}

/// What is on the screen, so that only changes are drawn.
struct Screen {
    terminal: bool,
    shown: String,
}

impl Screen {
    fn show(&mut self, text: &str) {
        if text == self.shown {
            return;
        }
        let mut out = std::io::stdout().lock();
        // A failed write (a closed pipe) has nowhere to be reported; the next change retries.
        let _ = if self.terminal {
            // Home the cursor, clear the screen, draw.
            write!(out, "\x1b[H\x1b[2J{text}")
        } else {
            writeln!(out, "{text}")
        };
        let _ = out.flush();
        self.shown = text.to_owned();
    }
}
