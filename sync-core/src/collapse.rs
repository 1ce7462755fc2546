//! The collapse rule: what a new local change does to the operation already queued for its item
//! (the table is in `docs/architecture.md`, "The collapse table"; the official iOS and .NET
//! clients' rules, plus the in-flight rule).

use crate::operation::{OperationKind, OperationState};

/// What a new local change does to the newest queued operation of its item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collapse {
    /// Append a new operation (nothing queued, or the queued one is being pushed right now).
    Enqueue,
    /// Keep the queued operation and bump its edit counter (insert+update, update+update).
    Bump,
    /// Remove the queued operation; nothing is sent (insert+delete of a never-sent insert).
    Cancel,
    /// Turn the queued operation into a delete in place, keeping its queue position
    /// (update+delete, or insert+delete when the insert may already have reached the server).
    BecomeDelete,
}

/// The collapse table. `existing` is the newest queued operation of the item.
///
/// ```
/// use sync_core::backend::{collapse_rule, Collapse};
/// use sync_core::OperationKind::*;
/// assert_eq!(collapse_rule(None, Insert), Ok(Collapse::Enqueue));
/// ```
pub fn collapse_rule(
    existing: Option<(OperationKind, OperationState)>,
    new: OperationKind,
) -> Result<Collapse, OperationKind> {
    use OperationKind::*;
    let Some((kind, state)) = existing else { return Ok(Collapse::Enqueue) };
    // Combinations that are wrong whatever the state: the local table already rejects most of them.
    match (kind, new) {
        (Delete, _) | (Insert, Insert) | (Update, Insert) => return Err(kind),
        _ => {}
    }
    if state == OperationState::InFlight {
        return Ok(Collapse::Enqueue);
    }
    Ok(match (kind, new) {
        (Insert, Update) | (Update, Update) => Collapse::Bump,
        (Insert, Delete) if state == OperationState::Pending => Collapse::Cancel,
        (Insert | Update, Delete) => Collapse::BecomeDelete,
        _ => return Err(kind),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use OperationKind::*;
    use OperationState::*;

    #[test]
    fn the_collapse_table() {
        let r = |k, s, n| collapse_rule(Some((k, s)), n);
        assert_eq!(r(Insert, Pending, Update), Ok(Collapse::Bump));
        assert_eq!(r(Insert, Pending, Delete), Ok(Collapse::Cancel));
        assert_eq!(r(Insert, Attempted, Delete), Ok(Collapse::BecomeDelete));
        assert_eq!(r(Update, Pending, Update), Ok(Collapse::Bump));
        assert_eq!(r(Update, Attempted, Delete), Ok(Collapse::BecomeDelete));
        assert_eq!(r(Insert, Pending, Insert), Err(Insert));
        assert_eq!(r(Update, Pending, Insert), Err(Update));
        for n in [Insert, Update, Delete] {
            assert_eq!(r(Delete, Pending, n), Err(Delete));
            assert_eq!(r(Delete, InFlight, n), Err(Delete));
        }
        assert_eq!(r(Insert, InFlight, Update), Ok(Collapse::Enqueue));
        assert_eq!(r(Update, InFlight, Delete), Ok(Collapse::Enqueue));
        assert_eq!(r(Insert, InFlight, Insert), Err(Insert));
    }
}
