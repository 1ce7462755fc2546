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
    #[cfg(test)]
    if tests::LOOKUPS_ONLY.with(std::cell::Cell::get) {
        return false;
    }
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
    /// The positions (in declaration order) of `columns` in name order.
    pub(crate) fn positions<'s>(&'s self, columns: &[Column]) -> &'s [usize] {
        self.0.get_or_init(|| {
            let mut order: Vec<usize> = (0..columns.len()).collect();
            order.sort_by(|&a, &b| columns[a].name.cmp(&columns[b].name));
            order.into_boxed_slice()
        })
    }

    /// `columns` in name order.
    pub(crate) fn of<'c>(&'c self, columns: &'c [Column]) -> impl Iterator<Item = &'c Column> + Clone {
        self.positions(columns).iter().map(move |&i| &columns[i])
    }
}

/// Derived data, not part of a schema's identity.
impl PartialEq for NameOrder {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for NameOrder {}

#[cfg(test)]
pub(crate) mod tests {
    use std::cell::Cell;

    use serde_json::{json, Value};

    use crate::schema::{Column, ColumnType, TableSchema};
    use crate::Record;

    thread_local! {
        /// Makes this thread take the lookup path, as a build with `preserve_order` would.
        pub(crate) static LOOKUPS_ONLY: Cell<bool> = const { Cell::new(false) };
    }

    /// Runs `f` on both paths: walking fields and columns in step, and looking fields up.
    fn both<T>(f: impl Fn() -> T) -> (T, T) {
        let walked = f();
        LOOKUPS_ONLY.with(|l| l.set(true));
        let looked_up = f();
        LOOKUPS_ONLY.with(|l| l.set(false));
        (walked, looked_up)
    }

    /// The one-pass walk decides exactly as the lookups do, for records with fields missing,
    /// unknown, null, of the wrong type and not canonical, in every position of the name order.
    #[test]
    fn walking_and_looking_up_agree() {
        let schema = TableSchema::new(
            "T",
            vec![
                Column::new("b", ColumnType::Bool),
                Column::nullable("m", ColumnType::Integer),
                Column::nullable("when", ColumnType::DateTime),
                Column::nullable("x", ColumnType::Real),
            ],
        )
        .unwrap();
        let values = [json!(null), json!(true), json!(1), json!(2.5), json!("s"), json!("2024-01-02T03:04:05Z")];
        let names = ["a", "b", "createdAt", "deleted", "m", "version", "when", "x", "zz"];
        let mut cases = 0;
        // Every field present or absent, each with a value chosen by the case number.
        for mask in 0u32..(1 << names.len()) {
            let mut map = serde_json::Map::new();
            map.insert("id".into(), Value::from("r1"));
            for (i, name) in names.iter().enumerate() {
                if mask & (1 << i) != 0 {
                    map.insert((*name).into(), values[(mask as usize + i) % values.len()].clone());
                }
            }
            let record = Record::new(map).unwrap();
            let conformed = |strict: bool| {
                let r = record.clone();
                if strict {
                    schema.conform_local(r)
                } else {
                    schema.conform_remote(r)
                }
            };
            for strict in [true, false] {
                let (walked, looked_up) = both(|| conformed(strict).map(Value::from).map_err(|e| e.to_string()));
                match (&walked, &looked_up) {
                    (Ok(a), Ok(b)) => assert_eq!(a, b, "{record:?}"),
                    // Which of two faults is named first may differ; that there is one may not.
                    (Err(_), Err(_)) => {}
                    _ => panic!("{record:?} strict={strict}: walked {walked:?}, looked up {looked_up:?}"),
                }
            }
            let (walked, looked_up) = both(|| schema.is_conformed(&record));
            assert_eq!(walked, looked_up, "{record:?}");
            if let Ok(c) = schema.conform_remote(record.clone()) {
                assert_eq!(both(|| schema.is_conformed(&c)), (true, true), "{c:?}");
            }
            cases += 1;
        }
        assert_eq!(cases, 512);
    }
}
