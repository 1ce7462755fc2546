//! The server clock: real time by default, or moved and frozen by tests.

use chrono::{DateTime, TimeDelta, Utc};

/// Where the server's "now" comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Clock {
    /// Real time shifted by an offset (zero unless a test moved the clock).
    Running { offset: TimeDelta },
    /// Stopped at one instant until a test moves it.
    Frozen { at: DateTime<Utc> },
}

impl Default for Clock {
    fn default() -> Self {
        Clock::Running { offset: TimeDelta::zero() }
    }
}

impl Clock {
    /// The current server time.
    pub(super) fn now(&self) -> DateTime<Utc> {
        match *self {
            Clock::Running { offset } => Utc::now().checked_add_signed(offset).unwrap_or_else(Utc::now),
            Clock::Frozen { at } => at,
        }
    }

    /// Jumps to `at` and keeps running from there.
    pub(super) fn set(&mut self, at: DateTime<Utc>) {
        *self = Clock::Running { offset: at.signed_duration_since(Utc::now()) };
    }

    /// Stops at `at`.
    pub(super) fn freeze(&mut self, at: DateTime<Utc>) {
        *self = Clock::Frozen { at };
    }

    /// Moves forward by `by` (saturating at the end of chrono's range).
    pub(super) fn advance(&mut self, by: std::time::Duration) {
        let by = TimeDelta::from_std(by).unwrap_or(TimeDelta::MAX);
        match self {
            Clock::Running { offset } => *offset = offset.checked_add(&by).unwrap_or(TimeDelta::MAX),
            Clock::Frozen { at } => *at = at.checked_add_signed(by).unwrap_or(DateTime::<Utc>::MAX_UTC),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_clock_moves_only_when_told() {
        let t0 = DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        let mut c = Clock::default();
        c.freeze(t0);
        assert_eq!(c.now(), t0);
        c.advance(std::time::Duration::from_millis(5));
        assert_eq!(c.now(), t0 + TimeDelta::milliseconds(5));
        c.set(t0);
        let now = c.now();
        assert!(now >= t0 && now < t0 + TimeDelta::seconds(60));
        c.advance(std::time::Duration::MAX);
        let _ = c.now();
    }
}
