//! [`NameOrder`]: a schema's columns in the order a record's fields iterate, so that checking
//! or converting a record is one pass over both instead of a map lookup per column.
//!
//! A [`Record`](crate::Record) is a `serde_json::Map`, a `BTreeMap` that iterates its keys in
//! byte order, unless some crate of the build turns on serde_json's `preserve_order` feature
//! (then it keeps insertion order). [`fields_iterate_sorted`] finds out once which it is; callers
//! walk in step only when it answers `true` and look fields up otherwise.

use std::sync::{LazyLock, OnceLock};

use serde_json::{Map, Value};

use crate::schema::Column;

/// Whether a `serde_json::Map` iterates its keys in byte order (true unless `preserve_order`).
pub(crate) fn fields_iterate_sorted() -> bool {
    static SORTED: LazyLock<bool> = LazyLock::new(|| {
        let mut probe = Map::new();
        probe.insert("b".to_owned(), Value::Null);
        probe.insert("a".to_owned(), Value::Null);
        probe.keys().next().map(String::as_str) == Some("a")
    });
    *SORTED
}

/// The positions of a schema's columns sorted by name, computed on first use (schemas are
/// immutable once built, and a deserialized one computes its own).
#[derive(Debug, Clone, Default)]
pub(crate) struct NameOrder(OnceLock<Box<[usize]>>);

impl NameOrder {
    /// `columns` in name order.
    pub(crate) fn of<'c>(&'c self, columns: &'c [Column]) -> impl Iterator<Item = &'c Column> + Clone {
        let order = self.0.get_or_init(|| {
            let mut order: Vec<usize> = (0..columns.len()).collect();
            order.sort_by(|&a, &b| columns[a].name.cmp(&columns[b].name));
            order.into_boxed_slice()
        });
        order.iter().map(move |&i| &columns[i])
    }

    /// The positions (in declaration order) of `columns` in name order.
    pub(crate) fn positions<'s>(&'s self, columns: &[Column]) -> &'s [usize] {
        let _ = self.of(columns);
        self.0.get().map(AsRef::as_ref).unwrap_or_default()
    }
}

/// Derived data, not part of a schema's identity.
impl PartialEq for NameOrder {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for NameOrder {}
