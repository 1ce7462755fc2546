//! Which rows a filter can match at all, found through the rows' id order instead of a scan.
//!
//! A filter **pins ids** when every row it matches has one of a known set of ids: `id eq 'x'`,
//! `id in (…)`, an `and` with such a part, an `or` of such parts. Those rows are looked up by id
//! (O(k log n) for k ids); the query still runs its whole filter over them, so the answer is the
//! same as scanning every row. Any other filter scans.

use std::collections::BTreeSet;

use sync_core::backend::system;
use sync_core::{CompareOp, Expr, QueryValue, Record};

use super::state::Table;

/// The ids a row must have to match `expr`, if the filter pins them (see the module docs).
pub(super) fn pinned_ids(expr: &Expr) -> Option<BTreeSet<&str>> {
    match expr {
        Expr::Compare { column, op: CompareOp::Eq, value } if column == system::ID => {
            Some(text(value).into_iter().collect())
        }
        Expr::In { column, values } if column == system::ID => Some(values.iter().filter_map(text).collect()),
        // Every part must hold: any pinned part bounds the rows; take the smallest.
        Expr::And(parts) => parts.iter().filter_map(pinned_ids).min_by_key(BTreeSet::len),
        // One part must hold: the rows are bounded only if every part is.
        Expr::Or(parts) => parts.iter().try_fold(BTreeSet::new(), |mut all, part| {
            all.extend(pinned_ids(part)?);
            Some(all)
        }),
        _ => None,
    }
}

/// The string an id can equal: ids are strings, and a string equals only a `String` or
/// `DateTime` literal with the same bytes (any other literal matches no id).
fn text(value: &QueryValue) -> Option<&str> {
    match value {
        QueryValue::String(s) | QueryValue::DateTime(s) => Some(s),
        _ => None,
    }
}

/// The rows of `table` that `filter` can match, in id order (the order a scan gives).
pub(super) fn candidates<'t>(table: &'t Table, filter: Option<&Expr>) -> Box<dyn Iterator<Item = &'t Record> + 't> {
    match filter.and_then(pinned_ids) {
        Some(ids) => {
            let found: Vec<&Record> = ids.into_iter().filter_map(|id| table.rows.get(id)).collect();
            Box::new(found.into_iter())
        }
        None => Box::new(table.rows.values()),
    }
}

#[cfg(test)]
mod tests {
    use sync_core::column;

    use super::*;

    fn ids(expr: &Expr) -> Option<Vec<&str>> {
        pinned_ids(expr).map(|s| s.into_iter().collect())
    }

    #[test]
    fn filters_on_id_pin_their_rows() {
        assert_eq!(ids(&column("id").eq("a")), Some(vec!["a"]));
        assert_eq!(ids(&column("id").is_in(["b", "a", "b"])), Some(vec!["a", "b"]));
        assert_eq!(ids(&column("id").eq("a").and(column("n").gt(1))), Some(vec!["a"]));
        let narrow = Expr::And(vec![column("id").is_in(["a", "b", "c"]), column("id").eq("c")]);
        assert_eq!(ids(&narrow), Some(vec!["c"]), "the smallest pinned part of an and");
        assert_eq!(ids(&column("id").eq("a").or(column("id").is_in(["z"]))), Some(vec!["a", "z"]));
        assert_eq!(ids(&Expr::Or(vec![])), Some(vec![]), "an empty or matches nothing");
        assert_eq!(ids(&column("id").eq(1)), Some(vec![]), "a number equals no id");
    }

    #[test]
    fn other_filters_scan() {
        assert_eq!(ids(&column("id").ne("a")), None);
        assert_eq!(ids(&column("id").gt("a")), None);
        assert_eq!(ids(&!column("id").eq("a")), None);
        assert_eq!(ids(&column("id").eq("a").or(column("n").eq(1))), None, "an or with an unpinned part");
        assert_eq!(ids(&column("text").eq("a")), None);
        assert_eq!(ids(&Expr::And(vec![])), None);
    }
}
