//! Fault injection: errors the next calls return instead of (or after) doing their work.

use std::collections::VecDeque;

use sync_core::backend::{RemoteError, RemoteErrorKind};

use super::log::RequestKind;

/// An error a [`MemoryRemote`](crate::MemoryRemote) is told to return, see
/// [`fail_next`](crate::MemoryRemote::fail_next).
///
/// ```
/// use store_memory::Fault;
/// use sync_core::backend::RemoteErrorKind;
/// assert_eq!(Fault::unavailable().to_error().status(), Some(503));
/// assert_eq!(Fault::connection_reset().to_error().kind(), RemoteErrorKind::Offline);
/// assert_eq!(Fault::from(RemoteErrorKind::Unauthorized), Fault::Unauthorized);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// [`RemoteError::Transient`]: a 5xx or 429 answer.
    Transient {
        /// The HTTP status.
        status: u16,
    },
    /// [`RemoteError::Offline`]: no answer (a dropped connection).
    Offline,
    /// [`RemoteError::Unauthorized`] (401).
    Unauthorized,
    /// [`RemoteError::BadRequest`] with this status.
    BadRequest {
        /// The 4xx status.
        status: u16,
    },
    /// [`RemoteError::NotFound`] (404).
    NotFound,
    /// [`RemoteError::Conflict`] with this status (409 or 412) and no server item.
    Conflict {
        /// 409 or 412.
        status: u16,
    },
    /// [`RemoteError::Protocol`]: a response that does not parse.
    Protocol,
}

impl Fault {
    /// A `503 Service Unavailable`.
    ///
    /// ```
    /// assert_eq!(store_memory::Fault::unavailable().to_error().status(), Some(503));
    /// ```
    pub fn unavailable() -> Self {
        Fault::Transient { status: 503 }
    }

    /// A dropped connection (offline: no answer, no status).
    ///
    /// ```
    /// assert_eq!(store_memory::Fault::connection_reset().to_error().status(), None);
    /// ```
    pub fn connection_reset() -> Self {
        Fault::Offline
    }

    /// The error this fault produces.
    ///
    /// ```
    /// use store_memory::Fault;
    /// assert!(Fault::Conflict { status: 412 }.to_error().server_item().is_none());
    /// ```
    pub fn to_error(&self) -> RemoteError {
        let message = "injected by MemoryRemote".to_owned();
        match *self {
            Fault::Transient { status } => RemoteError::Transient { status, message },
            Fault::Offline => RemoteError::Offline { message, source: None },
            Fault::Unauthorized => RemoteError::Unauthorized { message },
            Fault::BadRequest { status } => RemoteError::BadRequest { status, message },
            Fault::NotFound => RemoteError::NotFound { message },
            Fault::Conflict { status } => RemoteError::Conflict { status, server_item: None },
            Fault::Protocol => RemoteError::Protocol { message, source: None },
        }
    }
}

impl From<RemoteErrorKind> for Fault {
    /// The usual fault of each kind: 503, a dropped connection, 401, 400, 404, 412, unparsable
    /// response.
    fn from(kind: RemoteErrorKind) -> Self {
        match kind {
            RemoteErrorKind::Conflict => Fault::Conflict { status: 412 },
            RemoteErrorKind::NotFound => Fault::NotFound,
            RemoteErrorKind::Unauthorized => Fault::Unauthorized,
            RemoteErrorKind::BadRequest => Fault::BadRequest { status: 400 },
            RemoteErrorKind::Protocol => Fault::Protocol,
            RemoteErrorKind::Offline => Fault::Offline,
            _ => Fault::unavailable(),
        }
    }
}

/// One "fail the next n calls" order.
#[derive(Debug)]
struct Rule {
    only: Option<RequestKind>,
    remaining: u64,
    fault: Fault,
}

/// The armed faults.
#[derive(Debug, Default)]
pub(super) struct Faults {
    rules: VecDeque<Rule>,
    lost_responses: u64,
    drop_after: Option<DropAfter>,
}

#[derive(Debug)]
struct DropAfter {
    limit: u64,
    delivered: u64,
}

impl Faults {
    pub(super) fn fail_next(&mut self, only: Option<RequestKind>, n: u64, fault: Fault) {
        if n > 0 {
            self.rules.push_back(Rule { only, remaining: n, fault });
        }
    }

    pub(super) fn lose_responses(&mut self, n: u64) {
        self.lost_responses = self.lost_responses.saturating_add(n);
    }

    pub(super) fn drop_after_rows(&mut self, k: u64) {
        self.drop_after = Some(DropAfter { limit: k, delivered: 0 });
    }

    pub(super) fn clear(&mut self) {
        *self = Faults::default();
    }

    /// The fault for a call of `kind`, consuming one use of the first rule that applies.
    pub(super) fn take(&mut self, kind: RequestKind) -> Option<RemoteError> {
        let pos = self.rules.iter().position(|r| r.only.is_none_or(|k| k == kind))?;
        let rule = &mut self.rules[pos];
        let error = rule.fault.to_error();
        rule.remaining -= 1;
        if rule.remaining == 0 {
            self.rules.remove(pos);
        }
        Some(error)
    }

    /// The fault for one operation of a batch, of `kind`: only rules made for that kind apply
    /// (a rule for any call is used by the batch request as a whole).
    pub(super) fn take_for_item(&mut self, kind: RequestKind) -> Option<RemoteError> {
        let pos = self.rules.iter().position(|r| r.only == Some(kind))?;
        let rule = &mut self.rules[pos];
        let error = rule.fault.to_error();
        rule.remaining -= 1;
        if rule.remaining == 0 {
            self.rules.remove(pos);
        }
        Some(error)
    }

    /// Whether the response to this write is lost (consumes one use).
    pub(super) fn take_lost_response(&mut self, kind: RequestKind) -> bool {
        if kind.is_write() && self.lost_responses > 0 {
            self.lost_responses -= 1;
            true
        } else {
            false
        }
    }

    /// Counts a page of `rows` rows; an error when it would deliver the row after the armed limit
    /// (the drop then disarms).
    pub(super) fn deliver_rows(&mut self, rows: usize) -> Result<(), RemoteError> {
        let Some(drop) = &mut self.drop_after else { return Ok(()) };
        let after = drop.delivered.saturating_add(rows as u64);
        if after > drop.limit {
            self.drop_after = None;
            return Err(RemoteError::offline("connection dropped while reading the page (injected by MemoryRemote)"));
        }
        drop.delivered = after;
        Ok(())
    }
}

/// The offline error of a write whose response was lost.
pub(super) fn lost_response() -> RemoteError {
    RemoteError::offline("connection reset after the server applied the request (injected by MemoryRemote)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_apply_in_order_and_by_kind() {
        let mut f = Faults::default();
        f.fail_next(Some(RequestKind::Update), 1, Fault::NotFound);
        f.fail_next(None, 2, Fault::unavailable());
        assert_eq!(f.take(RequestKind::Query).map(|e| e.status()), Some(Some(503)));
        assert_eq!(f.take(RequestKind::Update).map(|e| e.status()), Some(Some(404)));
        assert_eq!(f.take(RequestKind::Update).map(|e| e.status()), Some(Some(503)));
        assert!(f.take(RequestKind::Update).is_none());
        f.fail_next(None, 0, Fault::Protocol);
        assert!(f.take(RequestKind::Read).is_none());
    }

    #[test]
    fn drop_after_rows_fires_once() {
        let mut f = Faults::default();
        f.drop_after_rows(3);
        assert!(f.deliver_rows(2).is_ok());
        assert!(f.deliver_rows(1).is_ok());
        assert!(f.deliver_rows(1).is_err());
        assert!(f.deliver_rows(100).is_ok());
    }

    #[test]
    fn lost_responses_only_on_writes() {
        let mut f = Faults::default();
        f.lose_responses(1);
        assert!(!f.take_lost_response(RequestKind::Read));
        assert!(f.take_lost_response(RequestKind::Delete));
        assert!(!f.take_lost_response(RequestKind::Delete));
    }
}
