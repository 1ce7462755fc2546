//! Cases for filters sent with `query_page`: literals of every type, escaping, and the boolean
//! operators (`docs/protocol.md`, "Filter grammar"). Every filter is combined with the case's marker.

use serde_json::{json, Value};

use super::support::{num, patch, text, Case};
use super::RemoteFactory;
use crate::query::expr::{column, Expr};
use crate::query::value::QueryValue;
use crate::schema::{canonical_datetime, system};

const ALL_TYPES: &str = "AllTypes";

/// String values with characters that need escaping in OData or URLs, non-ASCII text and emoji
/// round-trip through insert and read, and match themselves — and only themselves — with `eq`.
pub async fn strings_needing_escapes_round_trip_and_match(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    let specials = [
        "'",
        "''",
        "it's",
        "'quoted'",
        "%",
        "100%",
        "%25",
        "&",
        "a&b=c",
        "#",
        "#x",
        "+",
        "a+b",
        "/",
        "a/b",
        "?",
        "?x=1",
        " ",
        "two  spaces",
        "é",
        "Ünïcödé",
        "中文",
        "🦀",
        "👍🏽",
        ";,:@$!*()",
    ];
    let values: Vec<String> = specials.iter().map(|s| format!("{}{s}", c.marker)).collect();
    for (i, value) in values.iter().enumerate() {
        let item = patch(&c.id(&format!("s{i:02}")), json!({"name": value}));
        let stored = c.insert("Item", &item).await;
        assert_eq!(text(&stored, "name"), Some(value.as_str()), "insert must keep the string {value:?}");
        let read = c.read("Item", item.id()).await;
        assert_eq!(text(&read, "name"), Some(value.as_str()), "read must return the string {value:?}");
    }
    for (i, value) in values.iter().enumerate() {
        let rows = c.all("Item", &column("name").eq(value.as_str())).await;
        let got: Vec<&str> = rows.iter().map(|r| r.id()).collect();
        assert_eq!(got, [c.id(&format!("s{i:02}"))], "name eq {value:?} must match exactly its row");
    }
    let rows = c.all("Item", &column("name").is_in([values[0].as_str(), values[2].as_str()])).await;
    assert_eq!(rows.len(), 2, "an in list of escaped strings: {rows:?}");
    assert!(c.all("Item", &column("name").eq(c.marker.as_str())).await.is_empty(), "no row holds the bare marker");
}

/// `eq`/`ne` on booleans; the server answers JSON booleans.
pub async fn filter_on_booleans(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    for (suffix, flag) in [("t1", true), ("t2", true), ("f1", false)] {
        c.insert("Item", &c.item(suffix, json!({"flag": flag}))).await;
        c.insert("TodoItem", &c.record(suffix, "text", json!({"complete": flag}))).await;
    }
    assert_eq!(c.ids_where("Item", "name", column("flag").eq(true)).await, c.ids(&["t1", "t2"]));
    assert_eq!(c.ids_where("Item", "name", column("flag").eq(false)).await, c.ids(&["f1"]));
    assert_eq!(c.ids_where("Item", "name", column("flag").ne(true)).await, c.ids(&["f1"]));
    assert_eq!(c.ids_where("TodoItem", "text", column("complete").eq(false)).await, c.ids(&["f1"]));
    let rows = c.all("TodoItem", &c.mine("text")).await;
    assert!(rows.iter().all(|r| r.get("complete").is_some_and(Value::is_boolean)), "booleans as JSON: {rows:?}");
}

/// Comparisons on integers and reals.
pub async fn filter_on_numbers(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    for (suffix, i, r) in [("a", 1, 0.5), ("b", 2, 2.25), ("c", 3, -1.5), ("d", -4, 1e10)] {
        let stored = c.insert(ALL_TYPES, &c.record(suffix, "s", json!({"i": i, "r": r}))).await;
        assert_eq!(num(&stored, "i"), Some(f64::from(i)), "insert must keep the number i");
        assert_eq!(num(&stored, "r"), Some(r), "insert must keep the number r");
    }
    let q = |e: Expr| c.ids_where(ALL_TYPES, "s", e);
    assert_eq!(q(column("i").gt(1)).await, c.ids(&["b", "c"]), "i gt 1");
    assert_eq!(q(column("i").ge(2)).await, c.ids(&["b", "c"]), "i ge 2");
    assert_eq!(q(column("i").lt(0)).await, c.ids(&["d"]), "i lt 0");
    assert_eq!(q(column("i").le(-4)).await, c.ids(&["d"]), "i le -4");
    assert_eq!(q(column("i").eq(2)).await, c.ids(&["b"]), "i eq 2");
    assert_eq!(q(column("i").ne(2)).await, c.ids(&["a", "c", "d"]), "i ne 2");
    assert_eq!(q(column("r").eq(2.25)).await, c.ids(&["b"]), "r eq 2.25");
    assert_eq!(q(column("r").lt(0.0)).await, c.ids(&["c"]), "r lt 0.0");
    assert_eq!(q(column("r").gt(1e9)).await, c.ids(&["d"]), "r gt 1e9");
    assert_eq!(q(column("r").ge(0.5) & column("r").le(2.25)).await, c.ids(&["a", "b"]), "0.5 <= r <= 2.25");
    assert_eq!(q(column("r").eq(2)).await, Vec::<String>::new(), "r eq 2 (an integer literal)");
}

/// Comparisons on a date column with `datetimeoffset` literals.
pub async fn filter_on_dates(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    let dates =
        [("a", "2024-01-01T00:00:00.000Z"), ("b", "2024-06-15T12:30:45.678Z"), ("c", "2024-12-31T23:59:59.999Z")];
    for (suffix, d) in dates {
        let stored = c.insert(ALL_TYPES, &c.record(suffix, "s", json!({"d": d}))).await;
        let back = text(&stored, "d").and_then(canonical_datetime);
        assert_eq!(back.as_deref(), Some(d), "a date must round-trip (to the millisecond): {stored:?}");
    }
    let at = |s: &str| QueryValue::DateTime(s.to_owned());
    let q = |e: Expr| c.ids_where(ALL_TYPES, "s", e);
    assert_eq!(q(column("d").eq(at("2024-06-15T12:30:45.678Z"))).await, c.ids(&["b"]), "d eq");
    assert_eq!(q(column("d").gt(at("2024-06-15T12:30:45.677Z"))).await, c.ids(&["b", "c"]), "d gt (1 ms before)");
    assert_eq!(q(column("d").gt(at("2024-06-15T12:30:45.678Z"))).await, c.ids(&["c"]), "d gt (exact)");
    assert_eq!(q(column("d").lt(at("2024-01-01T00:00:00.001Z"))).await, c.ids(&["a"]), "d lt");
    assert_eq!(
        q(column("d").ge(at("2024-01-01T00:00:00.000Z")) & column("d").le(at("2024-06-15T12:30:45.678Z"))).await,
        c.ids(&["a", "b"]),
        "d between"
    );
    assert_eq!(q(column("d").ne(at("2024-01-01T00:00:00.000Z"))).await, c.ids(&["b", "c"]), "d ne");
}

/// `eq null` and `ne null` (and `is_null`) on a column that is null, absent or set.
pub async fn filter_on_null(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    c.insert(ALL_TYPES, &c.record("null", "s", json!({"d": null, "i": 1}))).await;
    c.insert(ALL_TYPES, &c.record("absent", "s", json!({"i": 2}))).await;
    c.insert(ALL_TYPES, &c.record("set", "s", json!({"d": "2024-01-01T00:00:00.000Z", "i": 3}))).await;
    let absent = c.read(ALL_TYPES, &c.id("absent")).await;
    assert!(absent.get("d").is_none_or(Value::is_null), "an unset column reads as null or absent: {absent:?}");
    let q = |e: Expr| c.ids_where(ALL_TYPES, "s", e);
    assert_eq!(q(column("d").eq(QueryValue::Null)).await, c.ids(&["null", "absent"]), "d eq null");
    assert_eq!(q(column("d").is_null()).await, c.ids(&["null", "absent"]), "is_null");
    assert_eq!(q(column("d").ne(QueryValue::Null)).await, c.ids(&["set"]), "d ne null");
    assert_eq!(q(column("d").is_not_null()).await, c.ids(&["set"]), "is_not_null");
    assert_eq!(q(column("d").is_null() & column("i").gt(1)).await, c.ids(&["absent"]), "is_null and i gt 1");
}

/// `in` lists of numbers and of ids, and the empty list.
pub async fn filter_in_lists(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    for (suffix, i) in [("a", 1), ("b", 2), ("c", 3), ("d", 4)] {
        c.insert(ALL_TYPES, &c.record(suffix, "s", json!({"i": i}))).await;
    }
    let q = |e: Expr| c.ids_where(ALL_TYPES, "s", e);
    assert_eq!(q(column("i").is_in([1, 3])).await, c.ids(&["a", "c"]), "i in (1, 3)");
    assert_eq!(q(column("i").is_in([4])).await, c.ids(&["d"]), "i in (4)");
    assert_eq!(q(column("i").is_in([7, 8])).await, Vec::<String>::new(), "i in (7, 8)");
    assert_eq!(q(column("i").is_in(Vec::<i32>::new())).await, Vec::<String>::new(), "i in ()");
    let ids = [c.id("b"), c.id("d")];
    assert_eq!(q(column(system::ID).is_in(ids.iter().map(String::as_str))).await, c.ids(&["b", "d"]), "id in");
    assert_eq!(q(!column("i").is_in([1, 3])).await, c.ids(&["b", "d"]), "not (i in (1, 3))");
}

/// `not`, `and`, `or`, nested, and their empty forms (on columns that are never null).
pub async fn filter_not_and_or(factory: &dyn RemoteFactory) {
    let c = Case::start(factory).await;
    for (suffix, i, b) in [("a", 1, true), ("b", 2, false), ("c", 3, true), ("d", 4, false)] {
        let stored = c.insert(ALL_TYPES, &c.record(suffix, "s", json!({"i": i, "b": b}))).await;
        assert_eq!(stored.get("b"), Some(&json!(b)), "insert must keep the boolean b: {stored:?}");
    }
    let i = column("i");
    let b = column("b");
    let q = |e: Expr| c.ids_where(ALL_TYPES, "s", e);
    assert_eq!(q(!i.eq(1)).await, c.ids(&["b", "c", "d"]), "not (i eq 1)");
    assert_eq!(q((i.eq(1) | i.eq(2)) & b.eq(true)).await, c.ids(&["a"]), "(i eq 1 or i eq 2) and b");
    assert_eq!(q(i.eq(1) | (i.eq(4) & b.eq(false))).await, c.ids(&["a", "d"]), "i eq 1 or (i eq 4 and not b)");
    assert_eq!(q(!(i.eq(1) | b.eq(false))).await, c.ids(&["c"]), "not (i eq 1 or not b)");
    assert_eq!(q(!!i.eq(2)).await, c.ids(&["b"]), "not not");
    assert_eq!(q(!(i.gt(1) & i.lt(4))).await, c.ids(&["a", "d"]), "not (1 < i < 4)");
    assert_eq!(q(Expr::And(Vec::new())).await, c.ids(&["a", "b", "c", "d"]), "an empty and is true");
    assert_eq!(q(Expr::Or(Vec::new())).await, Vec::<String>::new(), "an empty or is false");
}
