//! Sync progress from [`SyncEvent`]s: a progress bar on a terminal, plain lines otherwise.

use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use sync_core::SyncEvent;

/// Shows sync progress on stderr.
pub struct Progress {
    bar: Mutex<Option<ProgressBar>>,
    terminal: bool,
}

impl Progress {
    /// A bar when stderr is a terminal, plain lines otherwise.
    pub fn new() -> Self {
        Progress { bar: Mutex::new(None), terminal: std::io::stderr().is_terminal() }
    }

    /// Reports one event.
    pub fn on_event(&self, event: &SyncEvent) {
        let Ok(mut bar) = self.bar.lock() else { return };
        match event {
            SyncEvent::PushStarted { total } if *total > 0 => {
                if self.terminal {
                    let pb = ProgressBar::new(*total);
                    pb.set_style(
                        ProgressStyle::with_template("pushing {bar:30} {pos}/{len} {msg}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    *bar = Some(pb);
                } else {
                    eprintln!("pushing {total} change(s)");
                }
            }
            SyncEvent::ItemPushed { item_id, outcome, done, total, .. } => match bar.as_ref() {
                Some(pb) => {
                    pb.set_position(*done);
                    pb.set_message(item_id.clone());
                }
                None => eprintln!("pushed {done}/{total}: {item_id} ({outcome:?})"),
            },
            SyncEvent::RowRejected(row) => {
                let warning = format!("todo: warning: server item {} was not stored: {}", row.id, row.reason);
                match bar.as_ref() {
                    Some(pb) => pb.suspend(|| eprintln!("{warning}")),
                    None => eprintln!("{warning}"),
                }
            }
            SyncEvent::PushFinished(_) | SyncEvent::PullFinished(_) => {
                if let Some(pb) = bar.take() {
                    pb.finish_and_clear();
                }
            }
            SyncEvent::PullStarted { .. } if self.terminal => {
                let pb = ProgressBar::new_spinner();
                pb.set_message("pulling");
                *bar = Some(pb);
            }
            SyncEvent::PagePulled { total_rows, pages, .. } => match bar.as_ref() {
                Some(pb) => pb.set_message(format!("pulled {total_rows} row(s) in {pages} page(s)")),
                None => eprintln!("pulled {total_rows} row(s) in {pages} page(s)"),
            },
            _ => {}
        }
    }
}
