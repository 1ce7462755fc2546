//! Evaluates a resolved [`Query`] over records in memory. Used by the in-memory store and remote;
//! every other store must give the same answers (the conformance suite checks it).

use std::cmp::Ordering;
use std::collections::HashSet;

use serde_json::Value;

use super::expr::{CompareOp, Expr, OrderBy, Query};
use super::value::QueryValue;
use crate::record::Record;
use crate::schema::system;

/// The rows a query returned, and the total count when it was asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryResult {
    /// The rows, in order.
    pub items: Vec<Record>,
    /// Matching rows ignoring skip/top, when `include_total_count` was set.
    pub total_count: Option<u64>,
}

/// Whether a record matches a resolved filter (see [`resolve_query`](crate::backend::resolve_query)).
pub fn matches(expr: &Expr, record: &Record) -> bool {
    let field = |c: &str| record.get(c).unwrap_or(&Value::Null);
    match expr {
        Expr::Compare { column, op, value } => compare(field(column), *op, value),
        Expr::In { column, values } => values.iter().any(|v| compare(field(column), CompareOp::Eq, v)),
        Expr::StartsWith { column, prefix } => field(column).as_str().is_some_and(|s| s.starts_with(prefix.as_str())),
        Expr::Contains { column, needle } => field(column).as_str().is_some_and(|s| s.contains(needle.as_str())),
        Expr::IsNull { column } => field(column).is_null(),
        Expr::And(v) => v.iter().all(|e| matches(e, record)),
        Expr::Or(v) => v.iter().any(|e| matches(e, record)),
        Expr::Not(e) => !matches(e, record),
    }
}

fn compare(field: &Value, op: CompareOp, literal: &QueryValue) -> bool {
    let ord = match (field, literal) {
        (Value::Null, QueryValue::Null) => Some(Ordering::Equal),
        (Value::Null, _) | (_, QueryValue::Null) => None,
        (Value::Bool(a), QueryValue::Bool(b)) => Some(a.cmp(b)),
        (Value::Number(a), QueryValue::Integer(b)) => match a.as_i64() {
            Some(a) => Some(a.cmp(b)),
            None => a.as_f64().and_then(|a| a.partial_cmp(&(*b as f64))),
        },
        (Value::Number(a), QueryValue::Real(b)) => a.as_f64().and_then(|a| a.partial_cmp(b)),
        (Value::String(a), QueryValue::String(b) | QueryValue::DateTime(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
        _ => None,
    };
    match (op, ord) {
        (CompareOp::Eq, o) => o == Some(Ordering::Equal),
        (CompareOp::Ne, o) => o != Some(Ordering::Equal),
        (_, None) => false,
        (CompareOp::Gt, Some(o)) => o == Ordering::Greater,
        (CompareOp::Ge, Some(o)) => o != Ordering::Less,
        (CompareOp::Lt, Some(o)) => o == Ordering::Less,
        (CompareOp::Le, Some(o)) => o != Ordering::Greater,
    }
}

/// Orders two values of one column: null first, then booleans (`false` < `true`), numbers
/// numerically, strings by bytes (SQLite's `BINARY` collation).
pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => a.as_f64().unwrap_or(f64::NAN).total_cmp(&b.as_f64().unwrap_or(f64::NAN)),
        },
        (Value::String(a), Value::String(b)) => a.as_bytes().cmp(b.as_bytes()),
        // Mixed or JSON values: fall back to their text so the order is still total.
        _ => a.to_string().cmp(&b.to_string()),
    }
}

/// Orders two records by the keys, then by `id` ascending.
pub fn compare_records(order_by: &[OrderBy], a: &Record, b: &Record) -> Ordering {
    let null = Value::Null;
    for key in order_by {
        let ord = compare_values(a.get(&key.column).unwrap_or(&null), b.get(&key.column).unwrap_or(&null));
        let ord = if key.descending { ord.reverse() } else { ord };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    a.id().as_bytes().cmp(b.id().as_bytes())
}

/// Runs a resolved query over rows: filter (and hide soft-deleted rows unless asked), order,
/// count, skip/top, select.
///
/// The cost grows with the rows, not with rows × filter size nor with a sort of every hit: the
/// filter is prepared once (an `in` list of more than a few values becomes a hash set); with
/// `top`, only the first `skip + top` hits in the order are kept — in a small sorted buffer while
/// the rows stream by when that is a few, else picked with `select_nth_unstable_by` — and only
/// those are sorted. The answer is exactly that of filtering with [`matches`](fn@matches) and
/// stably sorting every hit with [`compare_records`].
pub fn run_query<'a>(rows: impl IntoIterator<Item = &'a Record>, query: &Query) -> QueryResult {
    let filter = query.filter.as_ref().map(Prepared::new);
    let first_key = query.order_by.first();
    let hits = rows
        .into_iter()
        .filter(|r| query.include_deleted || !r.is_deleted())
        .filter(|r| filter.as_ref().is_none_or(|f| f.matches(r)))
        .enumerate()
        .map(|(position, record)| Hit {
            position,
            record,
            first: first_key.map_or(&NULL, |key| record.get(&key.column).unwrap_or(&NULL)),
        });
    let skip = usize::try_from(query.skip.unwrap_or(0)).unwrap_or(usize::MAX);
    let top = usize::try_from(query.top.unwrap_or(u64::MAX)).unwrap_or(usize::MAX);
    let end = skip.saturating_add(top);
    let order = |a: &Hit<'_>, b: &Hit<'_>| a.order(b, &query.order_by);
    let (kept, total) = if end <= FEW {
        first_few(hits, end, order)
    } else {
        let mut all: Vec<Hit<'_>> = hits.collect();
        let total = all.len();
        if end < total {
            all.select_nth_unstable_by(end - 1, order);
            all.truncate(end);
        }
        all.sort_unstable_by(order);
        (all, total)
    };
    let total_count = query.include_total_count.then_some(total as u64);
    let items = kept.into_iter().skip(skip).map(|hit| project(hit.record, query.select.as_deref())).collect();
    QueryResult { items, total_count }
}

/// Up to this many rows (`skip + top`) are kept in a sorted buffer while the hits stream by.
const FEW: usize = 64;

static NULL: Value = Value::Null;

/// A row that passed the filter: its position among the hits, and its first ordering value
/// (looked up once, not at every comparison).
struct Hit<'a> {
    position: usize,
    record: &'a Record,
    first: &'a Value,
}

impl Hit<'_> {
    /// [`compare_records`], then the position: a strict order, so any way of picking and sorting
    /// the first rows gives exactly the first rows of a stable sort (ties — only possible between
    /// rows sharing an id — keep the rows' order).
    fn order(&self, other: &Hit<'_>, order_by: &[OrderBy]) -> Ordering {
        if let Some(key) = order_by.first() {
            let ord = compare_values(self.first, other.first);
            let ord = if key.descending { ord.reverse() } else { ord };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        compare_records(order_by, self.record, other.record).then_with(|| self.position.cmp(&other.position))
    }
}

/// The first `n` hits in `order`, sorted, and how many hits there were.
fn first_few<'a>(
    hits: impl Iterator<Item = Hit<'a>>,
    n: usize,
    order: impl Fn(&Hit<'_>, &Hit<'_>) -> Ordering,
) -> (Vec<Hit<'a>>, usize) {
    let mut kept: Vec<Hit<'a>> = Vec::with_capacity(n + 1);
    let mut total = 0;
    for hit in hits {
        total += 1;
        if n == 0 || (kept.len() == n && kept.last().is_some_and(|last| order(&hit, last) != Ordering::Less)) {
            continue;
        }
        let at = kept.partition_point(|k| order(k, &hit) == Ordering::Less);
        kept.insert(at, hit);
        kept.truncate(n);
    }
    (kept, total)
}

/// `in` lists longer than this are looked up in a hash set; shorter ones are compared one by one.
const SET_LOOKUP_FROM: usize = 8;

/// A filter prepared for many rows: gives exactly what [`matches`](fn@matches) gives, with long `in` lists
/// turned into [`ValueSet`]s.
enum Prepared<'q> {
    /// Evaluated by [`matches`](fn@matches).
    Plain(&'q Expr),
    /// `column in (…)` as a set.
    In {
        column: &'q str,
        set: ValueSet<'q>,
    },
    And(Vec<Prepared<'q>>),
    Or(Vec<Prepared<'q>>),
    Not(Box<Prepared<'q>>),
}

impl<'q> Prepared<'q> {
    fn new(expr: &'q Expr) -> Self {
        match expr {
            Expr::In { column, values } if values.len() > SET_LOOKUP_FROM => {
                Prepared::In { column, set: ValueSet::new(values) }
            }
            Expr::And(v) => Prepared::And(v.iter().map(Prepared::new).collect()),
            Expr::Or(v) => Prepared::Or(v.iter().map(Prepared::new).collect()),
            Expr::Not(e) => Prepared::Not(Box::new(Prepared::new(e))),
            other => Prepared::Plain(other),
        }
    }

    fn matches(&self, record: &Record) -> bool {
        match self {
            Prepared::Plain(expr) => matches(expr, record),
            Prepared::In { column, set } => set.contains(record.get(column).unwrap_or(&Value::Null)),
            Prepared::And(v) => v.iter().all(|p| p.matches(record)),
            Prepared::Or(v) => v.iter().any(|p| p.matches(record)),
            Prepared::Not(p) => !p.matches(record),
        }
    }
}

/// The literals of an `in` list, by what each can equal under `compare(…, Eq, …)`: a null
/// field equals `Null`; a boolean a `Bool`; a string a `String` or `DateTime` with the same
/// bytes; a number that fits an `i64` an `Integer` of that value or a `Real` equal to it as a
/// float; any other number (a float, or beyond `i64`) a `Real` or an `Integer` equal to it as
/// floats. Arrays and objects equal nothing.
struct ValueSet<'q> {
    null: bool,
    bools: [bool; 2],
    strings: HashSet<&'q str>,
    integers: HashSet<i64>,
    /// `Real` literals, by [`float_key`].
    reals: HashSet<u64>,
    /// `Integer` literals as floats, by [`float_key`].
    integers_as_floats: HashSet<u64>,
}

impl<'q> ValueSet<'q> {
    fn new(values: &'q [QueryValue]) -> Self {
        let mut set = ValueSet {
            null: false,
            bools: [false; 2],
            strings: HashSet::new(),
            integers: HashSet::new(),
            reals: HashSet::new(),
            integers_as_floats: HashSet::new(),
        };
        for value in values {
            match value {
                QueryValue::Null => set.null = true,
                QueryValue::Bool(b) => set.bools[usize::from(*b)] = true,
                QueryValue::String(s) | QueryValue::DateTime(s) => {
                    set.strings.insert(s.as_str());
                }
                QueryValue::Integer(i) => {
                    set.integers.insert(*i);
                    set.integers_as_floats.extend(float_key(*i as f64));
                }
                QueryValue::Real(r) => set.reals.extend(float_key(*r)),
            }
        }
        set
    }

    fn contains(&self, field: &Value) -> bool {
        match field {
            Value::Null => self.null,
            Value::Bool(b) => self.bools[usize::from(*b)],
            Value::String(s) => self.strings.contains(s.as_str()),
            Value::Number(n) => match n.as_i64() {
                Some(i) => self.integers.contains(&i) || float_key(i as f64).is_some_and(|k| self.reals.contains(&k)),
                None => n
                    .as_f64()
                    .and_then(float_key)
                    .is_some_and(|k| self.reals.contains(&k) || self.integers_as_floats.contains(&k)),
            },
            Value::Array(_) | Value::Object(_) => false,
        }
    }
}

/// A key under which two floats are equal exactly when `==` says so: `-0.0` and `0.0` share one,
/// NaN (equal to nothing) has none.
fn float_key(f: f64) -> Option<u64> {
    if f.is_nan() {
        None
    } else if f == 0.0 {
        Some(0)
    } else {
        Some(f.to_bits())
    }
}

/// Keeps only the selected columns (and `id`).
pub fn project(record: &Record, select: Option<&[String]>) -> Record {
    match select {
        None => record.clone(),
        Some(cols) => {
            let mut out = Record::with_id(record.id()).unwrap_or_else(|_| record.clone());
            for c in cols.iter().filter(|c| c.as_str() != system::ID) {
                if let Some(v) = record.get(c) {
                    // Only non-id keys are set here, which cannot fail.
                    let _ = out.set(c.clone(), v.clone());
                }
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::query::expr::{column, OrderBy};

    /// Field values of every JSON type, and numbers at the edges of `i64` and `f64`.
    fn fields() -> Vec<Value> {
        let mut out = vec![
            json!(null),
            json!(true),
            json!(false),
            json!(""),
            json!("a"),
            json!("2024-01-01T00:00:00.000Z"),
            json!([1]),
            json!({"a": 1}),
        ];
        for n in [0i64, 1, -1, 2, 42, i64::MAX, i64::MIN, 1 << 53, (1 << 53) + 1] {
            out.push(json!(n));
        }
        out.push(json!(u64::MAX));
        out.push(json!((1u64 << 63) + 2048));
        for f in [0.0f64, -0.0, 0.5, 1.0, 2.0, -1.0, 9.223_372_036_854_776e18, 1e300, (1u64 << 53) as f64] {
            out.push(json!(f));
        }
        out
    }

    /// Literals of every kind, many enough to be looked up in a set.
    fn literals() -> Vec<QueryValue> {
        let mut out = vec![
            QueryValue::Null,
            QueryValue::Bool(true),
            QueryValue::String("a".into()),
            QueryValue::DateTime("2024-01-01T00:00:00.000Z".into()),
            QueryValue::Real(-0.0),
            QueryValue::Real(0.5),
            QueryValue::Real(2.0),
            QueryValue::Real(f64::NAN),
            QueryValue::Real(9.223_372_036_854_776e18),
        ];
        out.extend([1i64, -1, i64::MAX, i64::MIN, (1 << 53) + 1].map(QueryValue::Integer));
        out
    }

    #[test]
    fn a_set_lookup_matches_exactly_what_comparing_each_literal_matches() {
        let all = literals();
        let n = all.len();
        // Every window of the smallest set size (wrapping around), and the whole list without each literal.
        let windows = (0..n).map(|start| (0..=SET_LOOKUP_FROM).map(|i| all[(start + i) % n].clone()).collect());
        let all_but_one =
            (0..n).map(|skip| all.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, v)| v.clone()).collect());
        for values in windows.chain(all_but_one) {
            let expr = Expr::In { column: "c".into(), values };
            let prepared = Prepared::new(&expr);
            assert!(matches!(prepared, Prepared::In { .. }), "looked up in a set");
            for field in fields() {
                let record = Record::from_json(json!({"id": "x", "c": field})).expect("record");
                assert_eq!(prepared.matches(&record), matches(&expr, &record), "{field} in {expr:?}");
            }
        }
    }

    fn rows(n: usize) -> Vec<Record> {
        (0..n)
            .map(|i| {
                let v = json!({"id": format!("r{i:03}"), "k": (i * 7) % 5, "t": format!("{}", (i * 13) % 17),
                               "deleted": i % 9 == 0});
                Record::from_json(v).expect("record")
            })
            .collect()
    }

    /// The reference: filter with `matches`, stably sort every hit, then skip and take.
    fn reference(rows: &[Record], query: &Query) -> QueryResult {
        let mut hits: Vec<&Record> = rows
            .iter()
            .filter(|r| query.include_deleted || !r.is_deleted())
            .filter(|r| query.filter.as_ref().is_none_or(|f| matches(f, r)))
            .collect();
        hits.sort_by(|a, b| compare_records(&query.order_by, a, b));
        let total_count = query.include_total_count.then_some(hits.len() as u64);
        let skip = query.skip.unwrap_or(0) as usize;
        let top = query.top.map_or(usize::MAX, |t| t as usize);
        let items = hits.into_iter().skip(skip).take(top).map(|r| project(r, query.select.as_deref())).collect();
        QueryResult { items, total_count }
    }

    #[test]
    fn selecting_the_top_rows_gives_what_sorting_everything_gives() {
        let mut data = rows(200);
        // Two rows sharing an id (a store never has them): their order is kept, as by a stable sort.
        data.push(Record::from_json(json!({"id": "r001", "k": 9, "t": "dup"})).expect("record"));
        let orders: [Vec<OrderBy>; 4] =
            [vec![], vec![column("k").asc()], vec![column("t").desc(), column("k").asc()], vec![column("id").desc()]];
        for order_by in orders {
            for (skip, top) in [
                (None, None),
                (None, Some(0)),
                (None, Some(1)),
                (Some(3), Some(10)),
                (Some(60), Some(4)),
                (Some(60), Some(10)),
                (None, Some(150)),
                (Some(190), Some(5)),
                (Some(300), Some(5)),
                (Some(10), None),
                (None, Some(1000)),
            ] {
                for filter in [None, Some(column("k").ne(3)), Some(column("t").is_in((0..12).map(|i| i.to_string())))] {
                    let query = Query {
                        order_by: order_by.clone(),
                        skip,
                        top,
                        filter,
                        include_total_count: true,
                        ..Query::default()
                    };
                    assert_eq!(run_query(&data, &query), reference(&data, &query), "{query:?}");
                }
            }
        }
    }
}
