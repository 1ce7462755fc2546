//! Sync progress from [`SyncEvent`]s on stderr: on a terminal one animated line that is redrawn
//! in place (the spinner turns while the app waits for the server, too); otherwise plain lines
//! without control characters, at most one a second (and the last).
//!
//! ```text
//! Pulling TodoItem: 1,000 of 12,345 (8%) · 4,100 rows/s · ETA 3 s
//! Pushing TodoItem: 40 of 120 (33%) · 12 changes/s · ETA 7 s
//! ```
//!
//! The line names the table, never an item.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use sync_core::SyncEvent;

/// How often the spinner turns on a terminal.
const TICK: Duration = Duration::from_millis(100);
/// The shortest gap between two plain lines (off a terminal) of one push or pull.
const PLAIN_EVERY: Duration = Duration::from_secs(1);

/// Shows sync progress on stderr.
pub struct Progress {
    state: Mutex<State>,
    terminal: bool,
}

#[derive(Default)]
struct State {
    /// The line on a terminal.
    bar: Option<ProgressBar>,
    /// The push or pull being shown.
    work: Option<Work>,
}

/// One push or pull.
struct Work {
    /// `Pushing` or `Pulling`.
    verb: &'static str,
    /// The table, once an event named it.
    table: Option<String>,
    /// What is counted: `changes` or `rows`.
    unit: &'static str,
    started: Instant,
    /// When the last plain line was printed.
    printed: Option<Instant>,
    /// The newest plain line not printed (it is printed when the work ends).
    unprinted: Option<String>,
}

impl Progress {
    /// An animated line when stderr is a terminal, plain lines otherwise.
    pub fn new() -> Self {
        Progress { state: Mutex::new(State::default()), terminal: std::io::stderr().is_terminal() }
    }

    /// Removes the line, if one is shown (before an error is printed, or when the command ends).
    pub fn clear(&self) {
        if let Ok(mut state) = self.state.lock() {
            state.finish();
        }
    }

    /// Reports one event.
    pub fn on_event(&self, event: &SyncEvent) {
        let Ok(mut state) = self.state.lock() else { return };
        match event {
            SyncEvent::PushStarted { total } if *total > 0 => {
                let line = format!("Pushing {} change(s)", grouped(*total));
                self.start(&mut state, "Pushing", "changes", line);
            }
            SyncEvent::ItemPushed { table, done, total, .. } => {
                let line = state.work.as_mut().map(|w| {
                    w.table.get_or_insert_with(|| table.clone());
                    w.line(*done, Some(*total))
                });
                if let Some(line) = line {
                    self.show(&mut state, line, done >= total);
                }
            }
            SyncEvent::PullStarted { table, .. } => {
                let line = format!("Pulling {table}: waiting for the server");
                self.start(&mut state, "Pulling", "rows", line);
                if let Some(w) = state.work.as_mut() {
                    w.table = Some(table.clone());
                }
            }
            SyncEvent::PagePulled { total_rows, total, .. } => {
                let line = state.work.as_ref().map(|w| w.line(*total_rows, *total));
                if let Some(line) = line {
                    self.show(&mut state, line, false);
                }
            }
            SyncEvent::RowRejected(row) => {
                let warning = format!("todo: warning: server item {} was not stored: {}", row.id, row.reason);
                match state.bar.as_ref() {
                    Some(pb) => pb.suspend(|| eprintln!("{warning}")),
                    None => eprintln!("{warning}"),
                }
            }
            SyncEvent::PushFinished(_) | SyncEvent::PullFinished(_) => state.finish(),
            _ => {}
        }
    }

    /// Begins showing a push or pull with its first line.
    fn start(&self, state: &mut State, verb: &'static str, unit: &'static str, line: String) {
        state.finish();
        state.work = Some(Work { verb, table: None, unit, started: Instant::now(), printed: None, unprinted: None });
        if self.terminal {
            let pb = ProgressBar::new_spinner();
            pb.set_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            pb.set_message(line);
            pb.enable_steady_tick(TICK);
            state.bar = Some(pb);
        } else {
            self.show(state, line, true);
        }
    }

    /// Shows a line: on the terminal at once; otherwise printed if `last` or a second has passed.
    fn show(&self, state: &mut State, line: String, last: bool) {
        if let Some(pb) = state.bar.as_ref() {
            pb.set_message(line);
            return;
        }
        let Some(work) = state.work.as_mut() else { return };
        if last || work.printed.is_none_or(|t| t.elapsed() >= PLAIN_EVERY) {
            eprintln!("{line}");
            work.printed = Some(Instant::now());
            work.unprinted = None;
        } else {
            work.unprinted = Some(line);
        }
    }
}

impl State {
    /// Ends the line: cleared on a terminal; otherwise the newest line is printed, if it was not.
    fn finish(&mut self) {
        if let Some(pb) = self.bar.take() {
            pb.finish_and_clear();
        }
        if let Some(line) = self.work.take().and_then(|w| w.unprinted) {
            eprintln!("{line}");
        }
    }
}

impl Work {
    /// `Pulling TodoItem: 1,000 of 12,345 (8%) · 4,100 rows/s · ETA 3 s`; without a total,
    /// `Pulling TodoItem: 1,000 rows · 4,100 rows/s`.
    fn line(&self, done: u64, total: Option<u64>) -> String {
        let elapsed = self.started.elapsed().as_secs_f64();
        progress_line(self.verb, self.table.as_deref(), self.unit, done, total, elapsed)
    }
}

/// The progress text for `done` of `total` after `elapsed` seconds.
fn progress_line(verb: &str, table: Option<&str>, unit: &str, done: u64, total: Option<u64>, elapsed: f64) -> String {
    let what = table.map(|t| format!("{verb} {t}")).unwrap_or_else(|| verb.to_owned());
    // Rows changed on the server while pulling can pass the first page's count.
    let total = total.map(|t| t.max(done));
    let mut line = match total {
        Some(total) => {
            let percent = done.saturating_mul(100).checked_div(total).unwrap_or(100);
            format!("{what}: {} of {} ({percent}%)", grouped(done), grouped(total))
        }
        None => format!("{what}: {} {unit}", grouped(done)),
    };
    if done > 0 && elapsed >= 0.05 {
        let rate = done as f64 / elapsed;
        // Slow pushes show a tenth: "0.7 changes/s", not "0 changes/s".
        let shown = if rate < 9.95 { format!("{rate:.1}") } else { grouped(rate.round() as u64) };
        line.push_str(&format!(" · {shown} {unit}/s"));
        if let Some(total) = total.filter(|t| *t > done) {
            line.push_str(&format!(" · ETA {}", duration(((total - done) as f64 / rate).ceil() as u64)));
        }
    }
    line
}

/// `12,345`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `3 s`, `2 min 5 s`, `1 h 4 min`.
fn duration(seconds: u64) -> String {
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 => format!("{} min {} s", seconds / 60, seconds % 60),
        _ => format!("{} h {} min", seconds / 3600, seconds % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_show_counts_percent_rate_and_eta() {
        assert_eq!(
            progress_line("Pulling", Some("TodoItem"), "rows", 1000, Some(12_345), 1000.0 / 4100.0),
            "Pulling TodoItem: 1,000 of 12,345 (8%) · 4,100 rows/s · ETA 3 s"
        );
        assert_eq!(
            progress_line("Pushing", Some("TodoItem"), "changes", 40, Some(120), 4.0),
            "Pushing TodoItem: 40 of 120 (33%) · 10 changes/s · ETA 8 s"
        );
        assert_eq!(
            progress_line("Pulling", Some("T"), "rows", 1500, None, 0.5),
            "Pulling T: 1,500 rows · 3,000 rows/s"
        );
        // Done: no ETA; more rows than counted: 100%, never above.
        assert_eq!(
            progress_line("Pulling", Some("T"), "rows", 7, Some(5), 1.0),
            "Pulling T: 7 of 7 (100%) · 7.0 rows/s"
        );
        assert_eq!(progress_line("Pushing", None, "changes", 0, Some(3), 0.0), "Pushing: 0 of 3 (0%)");
        assert_eq!(
            progress_line("Pushing", Some("T"), "changes", 1, Some(2), 1.4),
            "Pushing T: 1 of 2 (50%) · 0.7 changes/s · ETA 2 s"
        );
    }

    #[test]
    fn numbers_are_grouped_and_durations_short() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(duration(59), "59 s");
        assert_eq!(duration(125), "2 min 5 s");
        assert_eq!(duration(3840), "1 h 4 min");
    }
}
