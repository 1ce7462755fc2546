//! Where an incremental pull stands, for servers whose `updatedAt` is finer than they send it.
//!
//! The keyset cursor `(updatedAt, id)` is exact only when the server compares and sorts the
//! timestamps it sends. The .NET server stores 7 digits and sends 3; the Node server on SQLite
//! holds as text whatever another tool wrote (`…00.1234567Z` sorts *before* `…00.123Z` there)
//! and sends it as milliseconds. With such a server a page cut inside one timestamp `T` can
//! skip the rest of `T`'s rows, or stall. So, for a remote that says its timestamps are not
//! exact ([`Remote::exact_timestamps`](crate::Remote::exact_timestamps)), every full page is
//! followed by a *window*: the rows with `updatedAt gt T-1 and updatedAt lt T+1` (one unit of
//! the last digit the server sends, 1 ms for `.123Z`), read by `id`, which orders them stably
//! whatever the server stores. After the window the pull goes on with `updatedAt ge T+1`.
//!
//! Why these bounds hold for both kinds of server: a row sent as `T` is stored at or after `T`
//! and before `T+1` by value (truncating servers; a rounding one stores within half a unit),
//! and by text it sorts between `T-1`'s text and `T+1`'s text. So the window holds every row
//! sent as `T`; everything before the window was in earlier pages, and `ge T+1` holds
//! everything after it. The window may also hold some neighbours of `T-1` and `T+1`: read
//! twice, stored twice, harmless.
//!
//! The position is saved with each stored page, under the cursor's config key, so a pull cut
//! short resumes where it stood; a plain keyset position is saved exactly as a [`Cursor`] is.

use std::cmp::Ordering;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::cursor::{config_key, Cursor};
use crate::error::{RemoteError, StoreError};
use crate::query::expr::{CompareOp, Expr};
use crate::query::value::QueryValue;
use crate::row_page::RowKeys;
use crate::schema::system;
use crate::store::Transaction;

/// What the next page of a pull asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Position {
    /// The first page: every row of the filter.
    Start,
    /// The rows after a keyset cursor, by `(updatedAt, id)`.
    Keyset(Cursor),
    /// The window around the sent timestamp `around`, by id, after `after_id`.
    Window { around: String, after_id: Option<String> },
    /// The rows past the window around `around`, by `(updatedAt, id)`.
    Past { around: String },
}

/// How a position is saved: a cursor's fields, plus the stage when it is not a keyset cursor.
#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    #[serde(rename = "updatedAt")]
    updated_at: String,
    #[serde(default)]
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stage: Option<Stage>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Stage {
    Window,
    Past,
}

impl Position {
    /// The saved position of `(table, query_id)` (see [`Cursor::load`] for what counts as
    /// none).
    pub(crate) fn load(tx: &mut dyn Transaction, table: &str, query_id: &str) -> Result<Position, StoreError> {
        Ok(tx.config(&config_key(table, query_id))?.map(|text| Position::decode(&text)).unwrap_or(Position::Start))
    }

    /// A saved position; an unreadable one is the start (a full re-download is safe).
    fn decode(text: &str) -> Position {
        match serde_json::from_str::<Saved>(text) {
            Err(_) => Position::Start,
            Ok(Saved { updated_at, id, stage: None }) => Position::Keyset(Cursor { updated_at, id }),
            Ok(Saved { updated_at, id, stage: Some(Stage::Window) }) => {
                Position::Window { around: updated_at, after_id: Some(id).filter(|id| !id.is_empty()) }
            }
            Ok(Saved { updated_at, stage: Some(Stage::Past), .. }) => Position::Past { around: updated_at },
        }
    }

    /// The text to save; none for the start.
    fn encode(&self) -> Option<String> {
        let saved = match self {
            Position::Start => return None,
            Position::Keyset(c) => Saved { updated_at: c.updated_at.clone(), id: c.id.clone(), stage: None },
            Position::Window { around, after_id } => Saved {
                updated_at: around.clone(),
                id: after_id.clone().unwrap_or_default(),
                stage: Some(Stage::Window),
            },
            Position::Past { around } => {
                Saved { updated_at: around.clone(), id: String::new(), stage: Some(Stage::Past) }
            }
        };
        // Three strings: serialising cannot fail.
        serde_json::to_string(&saved).ok()
    }

    /// The saved position of `(table, query_id)` if pulls with this filter saved it, else the
    /// start (see [`Cursor::keep_for_filter`]).
    pub(crate) fn load_for_filter(
        tx: &mut dyn Transaction,
        table: &str,
        query_id: &str,
        filter_key: &str,
    ) -> Result<Position, StoreError> {
        if Cursor::keep_for_filter(tx, table, query_id, filter_key)? {
            Position::load(tx, table, query_id)
        } else {
            Ok(Position::Start)
        }
    }

    /// Saves this position for `(table, query_id)`; the start is never saved.
    pub(crate) fn save(&self, tx: &mut dyn Transaction, table: &str, query_id: &str) -> Result<(), StoreError> {
        match self.encode() {
            Some(text) => tx.set_config(&config_key(table, query_id), &text),
            None => Ok(()),
        }
    }

    /// The same position for a remote with exact timestamps, which pages by keyset alone: a
    /// window read by id is the keyset order within its timestamp there.
    pub(crate) fn for_exact_remote(self) -> Position {
        match self {
            Position::Window { around, after_id } => {
                Position::Keyset(Cursor { updated_at: around, id: after_id.unwrap_or_default() })
            }
            other => other,
        }
    }

    /// The position after a page of `rows` asked for at this position, and whether the pull
    /// goes on. `full` is whether the page was full (or announced a next page).
    pub(crate) fn after_page<R: RowKeys>(
        &self,
        rows: &[R],
        full: bool,
        exact: bool,
    ) -> Result<Option<Position>, RemoteError> {
        let last = match rows.last() {
            Some(last) => last,
            // Nothing (more) in the window: go past it. Nothing past a keyset: done.
            None => {
                return Ok(match self {
                    Position::Window { around, .. } => Some(Position::Past { around: around.clone() }),
                    _ => None,
                })
            }
        };
        let sent = last.updated_at().ok_or_else(|| missing_updated_at(last))?.to_owned();
        Ok(match self {
            Position::Window { around, .. } if full => {
                Some(Position::Window { around: around.clone(), after_id: Some(last.id().to_owned()) })
            }
            Position::Window { around, .. } => Some(Position::Past { around: around.clone() }),
            _ if !full => None,
            _ if exact => Some(Position::Keyset(Cursor { updated_at: sent, id: last.id().to_owned() })),
            _ => Some(Position::Window { around: sent, after_id: None }),
        })
    }

    /// What to save after the last page when the pull ends there (`after_page` gave `None`):
    /// the keyset cursor after its last row, or this position when the page was empty.
    ///
    /// For a remote without exact timestamps, the position past the last row's timestamp
    /// instead: a keyset cursor there would read that timestamp's finer rows again at every
    /// pull (a `.NET` server sends them all for `updatedAt gt T`). The page held every row
    /// there was, so nothing is skipped; a row the server stamps later *within that same
    /// timestamp* is the blind spot a keyset cursor has too (`docs/architecture.md`).
    pub(crate) fn final_after<R: RowKeys>(&self, rows: &[R], exact: bool) -> Position {
        match rows.last().and_then(|row| Cursor::after_keys(row)) {
            Some(cursor) if exact => Position::Keyset(cursor),
            Some(cursor) => Position::Past { around: cursor.updated_at },
            None => self.clone(),
        }
    }

    /// The filter this position adds to the pull's own (`None` for the start and for a keyset
    /// cursor, which the remote takes as it is).
    pub(crate) fn filter(&self) -> Result<Option<Expr>, RemoteError> {
        Ok(match self {
            Position::Start | Position::Keyset(_) => None,
            Position::Window { around, .. } => {
                let (before, after) = neighbours(around)?;
                Some(compare(CompareOp::Gt, before).and(compare(CompareOp::Lt, after)))
            }
            Position::Past { around } => Some(compare(CompareOp::Ge, neighbours(around)?.1)),
        })
    }

    /// Checks a page against what was asked: rows in order, and where they should be. A
    /// server that ignores the filter or the order would make the pull loop or skip rows; this
    /// turns that into a protocol error that says what the server did.
    pub(crate) fn check_page<R: RowKeys>(&self, rows: &[R], exact: bool) -> Result<(), RemoteError> {
        match self {
            Position::Keyset(cursor) if exact => crate::cursor::check_page_order(Some(cursor), rows),
            Position::Start | Position::Past { .. } if exact => {
                crate::cursor::check_page_order(None, rows).and_then(|()| self.check_lower_bound(rows))
            }
            Position::Window { around, after_id } => check_window(around, after_id.as_deref(), rows),
            _ => {
                check_sent_order(rows)?;
                self.check_lower_bound(rows)
            }
        }
    }

    /// The first row of a page past a cursor or a window comes after it.
    fn check_lower_bound<R: RowKeys>(&self, rows: &[R]) -> Result<(), RemoteError> {
        let (Some(first), Some(bound)) = (rows.first(), self.lower_bound()?) else { return Ok(()) };
        let sent = first.updated_at().ok_or_else(|| missing_updated_at(first))?;
        match instant(sent).map(|t| t.cmp(&bound)) {
            Some(Ordering::Less) => Err(RemoteError::protocol(format!(
                "the server ignores the $filter: row {:?} at {sent:?} came before {}",
                first.id(),
                bound.to_rfc3339_opts(SecondsFormat::AutoSi, true)
            ))),
            _ => Ok(()),
        }
    }

    fn lower_bound(&self) -> Result<Option<DateTime<Utc>>, RemoteError> {
        Ok(match self {
            Position::Keyset(cursor) => instant(&cursor.updated_at),
            Position::Past { around } => {
                let (t, step, _) = step_of(around)?;
                t.checked_add_signed(step)
            }
            Position::Start | Position::Window { .. } => None,
        })
    }
}

/// Rows sorted by `(updatedAt, id)` on the server have non-decreasing sent timestamps, whatever
/// the server stores.
fn check_sent_order<R: RowKeys>(rows: &[R]) -> Result<(), RemoteError> {
    let mut before: Option<(DateTime<Utc>, &str)> = None;
    for row in rows {
        let Some(t) = row.updated_at().and_then(instant) else { continue };
        if let Some((prev, prev_id)) = before {
            if t < prev {
                return Err(RemoteError::protocol(format!(
                    "the server sends rows out of (updatedAt, id) order (it ignores $orderby=updatedAt,id): row {:?} \
                     came after {prev_id:?}, which is newer",
                    row.id()
                )));
            }
        }
        before = Some((t, row.id()));
    }
    Ok(())
}

/// A window page holds rows within one unit of `around`, in id order after the id it was asked
/// after. The order is bytes (SQLite, PostgreSQL's `C` collation) or, for servers whose
/// collation ignores case (SQL Server's default), ASCII case folded; a server that ignores
/// `$orderby=id` would make the next page skip rows.
fn check_window<R: RowKeys>(around: &str, after_id: Option<&str>, rows: &[R]) -> Result<(), RemoteError> {
    let window = Around::of(around)?;
    let ids = after_id.into_iter().chain(rows.iter().map(RowKeys::id));
    let by_bytes = ids.clone().zip(ids.clone().skip(1)).all(|(a, b)| a < b);
    let folded = || ids.clone().zip(ids.clone().skip(1)).all(|(a, b)| a.to_ascii_lowercase() < b.to_ascii_lowercase());
    if !by_bytes && !folded() {
        return Err(RemoteError::protocol(format!(
            "the server ignores the id filter or $orderby=id: the rows after {after_id:?} came as {:?}",
            rows.iter().map(RowKeys::id).take(8).collect::<Vec<_>>()
        )));
    }
    for row in rows {
        let sent = row.updated_at().ok_or_else(|| missing_updated_at(row))?;
        if !window.holds(sent) {
            return Err(RemoteError::protocol(format!(
                "the server ignores the $filter: row {:?} at {sent:?} is outside the window around {around:?}",
                row.id()
            )));
        }
    }
    Ok(())
}

/// A sent timestamp and the unit of its last digit: a window around it holds the rows sent
/// within one unit of it.
pub(crate) struct Around {
    at: DateTime<Utc>,
    step: TimeDelta,
}

impl Around {
    /// The window around `sent`; a protocol error when it is not a date-time.
    pub(crate) fn of(sent: &str) -> Result<Around, RemoteError> {
        let (at, step, _) = step_of(sent)?;
        Ok(Around { at, step })
    }

    /// Whether a row sent at `sent` is within one unit of this timestamp.
    pub(crate) fn holds(&self, sent: &str) -> bool {
        instant(sent).is_some_and(|s| (s - self.at).abs() <= self.step)
    }
}

/// The timestamps one unit of `sent`'s last digit before and after it, written like it.
fn neighbours(sent: &str) -> Result<(QueryValue, QueryValue), RemoteError> {
    let (t, step, format) = step_of(sent)?;
    let shift = |t: Option<DateTime<Utc>>| {
        t.map(|t| QueryValue::DateTime(t.to_rfc3339_opts(format, true)))
            .ok_or_else(|| RemoteError::protocol(format!("the server sent updatedAt {sent:?}, at the end of time")))
    };
    Ok((shift(t.checked_sub_signed(step))?, shift(t.checked_add_signed(step))?))
}

/// `sent` as an instant, the unit of its last digit, and the format that writes that digit.
fn step_of(sent: &str) -> Result<(DateTime<Utc>, TimeDelta, SecondsFormat), RemoteError> {
    let t = instant(sent).ok_or_else(|| {
        let shown: String = sent.chars().take(64).collect();
        RemoteError::protocol(format!("the server sent updatedAt {shown:?}, which is not a date-time"))
    })?;
    let digits = sent.find('.').map(|dot| sent[dot + 1..].bytes().take_while(u8::is_ascii_digit).count()).unwrap_or(0);
    let (step, format) = match digits {
        0 => (TimeDelta::seconds(1), SecondsFormat::Secs),
        1..=3 => (TimeDelta::milliseconds(10i64.pow(3 - digits as u32)), SecondsFormat::Millis),
        4..=6 => (TimeDelta::microseconds(10i64.pow(6 - digits as u32)), SecondsFormat::Micros),
        _ => (TimeDelta::nanoseconds(10i64.pow(9 - digits.min(9) as u32)), SecondsFormat::Nanos),
    };
    Ok((t, step, format))
}

fn instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

fn compare(op: CompareOp, value: QueryValue) -> Expr {
    Expr::Compare { column: system::UPDATED_AT.to_owned(), op, value }
}

fn missing_updated_at(row: &impl RowKeys) -> RemoteError {
    RemoteError::protocol(format!("the server sent row {:?} without updatedAt", row.id()))
}

#[cfg(test)]
mod tests;
