//! Cases about the shape of query results: ordering, paging, total counts, soft-deleted rows,
//! projection, typed errors, and a differential check of many generated queries against
//! [`run_query`](crate::backend::run_query).

use serde_json::{json, Value};

use super::query::with_dataset;
use super::support::{check_query, conformed, expect_ids, fresh, ids, ok, put, things_schema};
use super::StoreFactory;
use crate::error::{QueryError, StoreError};
use crate::query::expr::{column, CompareOp, Expr, OrderBy, Query};
use crate::query::value::QueryValue;
use crate::store::Store;

/// Several ordering keys, ascending and descending: nulls sort first ascending (last descending),
/// ties fall back to the next key and finally to `id` ascending.
pub async fn query_orders_by_several_keys_with_ties_and_nulls<F: StoreFactory>(factory: &F) {
    let (store, schema, rows) = with_dataset(factory).await;
    let by = |keys: &[(&str, bool)]| {
        keys.iter()
            .fold(Query::new(), |q, (c, desc)| q.order_by(OrderBy { column: (*c).to_owned(), descending: *desc }))
    };
    let cases: Vec<(Query, Vec<&str>)> = vec![
        (by(&[("n", false)]), vec!["d", "e", "h", "a", "b", "f", "c", "g"]),
        (by(&[("n", true)]), vec!["g", "c", "b", "f", "a", "h", "e", "d"]),
        (by(&[("b", false), ("n", true)]), vec!["c", "d", "b", "f", "h", "g", "a", "e"]),
        (by(&[("x", true), ("s", false)]), vec!["e", "g", "f", "a", "c", "b", "d", "h"]),
        (by(&[("t", false), ("id", true)]), vec!["h", "e", "d", "c", "f", "a", "g", "b"]),
        (by(&[("s", true)]), vec!["h", "c", "a", "g", "f", "b", "e", "d"]),
        (by(&[("id", true)]), vec!["h", "g", "f", "e", "d", "c", "b", "a"]),
        (by(&[("n", false)]).include_deleted(), vec!["d", "e", "h", "a", "i", "b", "f", "c", "g"]),
        (by(&[("b", true), ("t", true), ("x", false)]), vec!["g", "a", "e", "b", "f", "h", "c", "d"]),
    ];
    for (query, expected) in cases {
        expect_ids(&store, &schema, &rows, &query, &expected).await;
    }
    let more: [&[(&str, bool)]; 3] =
        [&[("name", true)], &[("deleted", false), ("s", true)], &[("updatedAt", false), ("n", true), ("x", false)]];
    for keys in more {
        check_query(&store, &schema, &rows, &by(keys).include_deleted()).await;
    }
}

/// `skip`/`top` page the ordered rows; the total count counts every matching row, ignoring
/// them, and is only given when asked for.
pub async fn query_skip_top_and_total_count<F: StoreFactory>(factory: &F) {
    let (store, schema, rows) = with_dataset(factory).await;
    let n_asc = || Query::new().order_by(column("n").asc());
    expect_ids(&store, &schema, &rows, &n_asc().skip(2).top(3), &["h", "a", "b"]).await;
    let cases: Vec<(Query, Vec<&str>, Option<u64>)> = vec![
        (n_asc().skip(2).top(3).with_total_count(), vec!["h", "a", "b"], Some(8)),
        (n_asc().top(0).with_total_count(), vec![], Some(8)),
        (n_asc().skip(100).with_total_count(), vec![], Some(8)),
        (n_asc().skip(7).with_total_count(), vec!["g"], Some(8)),
        (n_asc().top(100), vec!["d", "e", "h", "a", "b", "f", "c", "g"], None),
        (Query::new().filter(column("n").gt(1)).skip(1).top(2).with_total_count(), vec!["c", "f"], Some(4)),
        (Query::new().filter(column("n").gt(1000)).with_total_count(), vec![], Some(0)),
        (Query::new().skip(6).include_deleted().with_total_count(), vec!["g", "h", "i"], Some(9)),
        (Query::new().select(["s"]).top(1).with_total_count(), vec!["a"], Some(8)),
    ];
    for (query, expected, count) in cases {
        let res = check_query(&store, &schema, &rows, &query).await;
        assert_eq!(ids(&res), expected, "query {query:?} returned the wrong page");
        assert_eq!(res.total_count, count, "query {query:?} returned the wrong total count");
    }
    // Paging through rows with many ties neither repeats nor misses a row.
    let by_b = || Query::new().order_by(column("b").desc());
    let mut paged = Vec::new();
    for page in 0..4 {
        let res = check_query(&store, &schema, &rows, &by_b().skip(page * 3).top(3)).await;
        paged.extend(res.items.into_iter().map(|r| r.id().to_owned()));
    }
    let whole = ok(store.query("Things", &by_b()).await, "querying every row");
    assert_eq!(paged, ids(&whole), "pages of three, concatenated, differ from the whole result");
}

/// Soft-deleted rows (`deleted: true`) are hidden from queries unless `include_deleted`, even
/// when the filter asks for them, and are not counted.
pub async fn query_hides_soft_deleted_rows_unless_asked<F: StoreFactory>(factory: &F) {
    let (store, schema, rows) = with_dataset(factory).await;
    let all = ["a", "b", "c", "d", "e", "f", "g", "h"];
    expect_ids(&store, &schema, &rows, &Query::new(), &all).await;
    let with_deleted = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    expect_ids(&store, &schema, &rows, &Query::new().include_deleted(), &with_deleted).await;
    let deleted = || Query::new().filter(column("deleted").eq(true)).with_total_count();
    let res = check_query(&store, &schema, &rows, &deleted()).await;
    assert_eq!((ids(&res), res.total_count), (vec![], Some(0)), "`deleted eq true` without include_deleted");
    let res = check_query(&store, &schema, &rows, &deleted().include_deleted()).await;
    assert_eq!((ids(&res), res.total_count), (vec!["i"], Some(1)), "`deleted eq true` with include_deleted");
    let res =
        check_query(&store, &schema, &rows, &Query::new().filter(column("s").eq("apple")).with_total_count()).await;
    assert_eq!(res.total_count, Some(1), "a soft-deleted row matching the filter is not counted");
}

/// `select` returns only the chosen columns, plus `id` always; filters and ordering may use
/// columns that are not selected.
pub async fn query_select_keeps_id<F: StoreFactory>(factory: &F) {
    let (store, schema, rows) = with_dataset(factory).await;
    let cases: Vec<(Query, Vec<&str>)> = vec![
        (Query::new().select(["s"]), vec!["id", "s"]),
        (Query::new().select(["id"]), vec!["id"]),
        (Query::new().select(Vec::<String>::new()), vec!["id"]),
        (
            Query::new().select(["j", "n", "s"]).filter(column("x").gt(0)).order_by(column("x").desc()),
            vec!["id", "j", "n", "s"],
        ),
        (Query::new().select(["deleted", "id", "t"]).include_deleted(), vec!["deleted", "id", "t"]),
    ];
    for (query, mut expected) in cases {
        expected.sort_unstable();
        let res = check_query(&store, &schema, &rows, &query).await;
        assert!(!res.items.is_empty(), "query {query:?} should return rows");
        for item in &res.items {
            let mut got: Vec<&str> = item.as_map().keys().map(String::as_str).collect();
            got.sort_unstable();
            assert_eq!(got, expected, "query {query:?}: row {} has the wrong columns", item.id());
        }
    }
    let nulls = check_query(&store, &schema, &rows, &Query::new().select(["x"]).filter(column("id").eq("d"))).await;
    assert_eq!(nulls.items[0].get("x"), Some(&Value::Null), "a selected null column is present as null");
}

/// A query that does not fit the table is a typed [`QueryError`] (unknown column anywhere in
/// filter, ordering or selection; a literal of the wrong type; an operator the column's type does
/// not support), and an unknown table is [`StoreError::UnknownTable`].
pub async fn query_errors_are_typed<F: StoreFactory>(factory: &F) {
    let (store, _, _) = with_dataset(factory).await;
    let unknown = [
        ("a filter", Query::new().filter(column("nope").eq(1))),
        (
            "a nested filter",
            Query::new()
                .filter(!(column("n").gt(1) | Expr::And(vec![column("s").is_null(), column("nope").is_null()]))),
        ),
        ("ordering", Query::new().order_by(column("nope").asc())),
        ("a selection", Query::new().select(["s", "nope"])),
        ("an in list", Query::new().filter(column("nope").is_in([1]))),
        ("contains", Query::new().filter(column("nope").contains("x"))),
    ];
    for (what, query) in unknown {
        match store.query("Things", &query).await {
            Err(StoreError::Query(QueryError::UnknownColumn { table, column })) => {
                assert_eq!(
                    (table.as_str(), column.as_str()),
                    ("Things", "nope"),
                    "UnknownColumn names the table and column"
                );
            }
            other => panic!("an unknown column in {what}: expected QueryError::UnknownColumn, got {other:?}"),
        }
    }
    let cmp = |c: &str, op, v: QueryValue| Query::new().filter(Expr::Compare { column: c.into(), op, value: v });
    let mismatched = [
        ("an integer column compared with a string", cmp("n", CompareOp::Eq, "x".into()), "n"),
        ("a string column compared with a number", cmp("s", CompareOp::Gt, 5.into()), "s"),
        ("a boolean column compared with a number", cmp("b", CompareOp::Eq, 1.into()), "b"),
        ("a date-time compared with a non-date", cmp("t", CompareOp::Lt, "yesterday".into()), "t"),
        ("a JSON column compared", cmp("j", CompareOp::Eq, 1.into()), "j"),
        ("ordering on a JSON column", Query::new().order_by(column("j").asc()), "j"),
        ("starts_with on an integer column", Query::new().filter(column("n").starts_with("1")), "n"),
        ("gt null", cmp("n", CompareOp::Gt, QueryValue::Null), "n"),
        ("null in an in list", Query::new().filter(column("n").is_in([QueryValue::Null])), "n"),
        ("a NaN literal", cmp("x", CompareOp::Eq, QueryValue::Real(f64::NAN)), "x"),
        ("an infinite literal", cmp("x", CompareOp::Lt, QueryValue::Real(f64::INFINITY)), "x"),
    ];
    for (what, query, col) in mismatched {
        match store.query("Things", &query).await {
            Err(StoreError::Query(QueryError::TypeMismatch { column, .. })) => {
                assert_eq!(column, col, "TypeMismatch names the column ({what})")
            }
            other => panic!("{what}: expected QueryError::TypeMismatch, got {other:?}"),
        }
    }
    match store.query("Nope", &Query::new()).await {
        Err(StoreError::UnknownTable(t)) => assert_eq!(t, "Nope"),
        other => panic!("a query on an unknown table: expected UnknownTable, got {other:?}"),
    }
}

/// Many generated queries (filters of every kind nested three deep, several ordering keys,
/// skip/top, counts, selections, soft-deleted rows) over rows full of ties and nulls give exactly
/// the results of the reference evaluator.
pub async fn query_matches_the_reference_evaluator<F: StoreFactory>(factory: &F) {
    let schema = things_schema();
    let store = fresh(factory, std::slice::from_ref(&schema)).await;
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let rows: Vec<_> = (0..80)
        .map(|i| {
            let id = format!("{}{:02}", ["a", "B", "c_", "%", "ü"][i % 5], i);
            let mut r = json!({"id": id, "name": format!("n{}", i % 9), "deleted": rng.below(7) == 0});
            for (col, pool) in value_pools() {
                r[col] = pool[rng.below(pool.len())].clone();
            }
            conformed(&schema, r)
        })
        .collect();
    put(&store, "Things", &rows).await;
    for _ in 0..400 {
        let query = random_query(&mut rng);
        check_query(&store, &schema, &rows, &query).await;
    }
}

/// A small deterministic generator (xorshift64*), so every store sees the same queries.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

fn value_pools() -> Vec<(&'static str, Vec<Value>)> {
    vec![
        (
            "s",
            vec![
                Value::Null,
                json!(""),
                json!("a"),
                json!("A"),
                json!("ab"),
                json!("a_b"),
                json!("a%b"),
                json!("b"),
                json!("ü"),
                json!("'q'"),
            ],
        ),
        ("n", vec![Value::Null, json!(-3), json!(0), json!(1), json!(2), json!(2), json!(7), json!(1000)]),
        ("x", vec![Value::Null, json!(-1.5), json!(0.0), json!(0.5), json!(2.0), json!(2.5)]),
        ("b", vec![Value::Null, json!(true), json!(false)]),
        (
            "t",
            vec![
                Value::Null,
                json!("2024-01-01T00:00:00.000Z"),
                json!("2024-01-01T00:00:00.001Z"),
                json!("2023-06-15T12:30:00.000Z"),
                json!("2025-02-28T23:59:59.999Z"),
            ],
        ),
        ("j", vec![Value::Null, json!({"a": 1}), json!([1]), json!("x")]),
    ]
}

fn literal(rng: &mut Rng, col: &str) -> QueryValue {
    match col {
        "s" | "name" | "id" => {
            QueryValue::String(rng.pick(&["", "a", "A", "ab", "a_b", "b", "ü", "n3", "c_05", "%03"]).to_string())
        }
        "n" | "x" => rng
            .pick(&[
                QueryValue::Integer(2),
                QueryValue::Integer(0),
                QueryValue::Real(0.5),
                QueryValue::Real(2.0),
                QueryValue::Integer(-3),
                QueryValue::Real(-1.5),
                QueryValue::Integer(1000),
            ])
            .clone(),
        "b" => QueryValue::Bool(rng.below(2) == 0),
        _ => QueryValue::DateTime(
            rng.pick(&[
                "2024-01-01T00:00:00.000Z",
                "2024-01-01T00:00:00.001Z",
                "2023-06-15T12:30:00.000Z",
                "2030-01-01T00:00:00.000Z",
            ])
            .to_string(),
        ),
    }
}

const COMPARABLE: [&str; 7] = ["s", "n", "x", "b", "t", "id", "name"];
const OPS: [CompareOp; 6] = [CompareOp::Eq, CompareOp::Ne, CompareOp::Gt, CompareOp::Ge, CompareOp::Lt, CompareOp::Le];

fn random_expr(rng: &mut Rng, depth: u32) -> Expr {
    let choice = rng.below(if depth == 0 { 6 } else { 10 });
    match choice {
        0 | 4 | 5 => {
            let col = *rng.pick(&COMPARABLE);
            let op = *rng.pick(&OPS);
            let value = if rng.below(8) == 0 && matches!(op, CompareOp::Eq | CompareOp::Ne) {
                QueryValue::Null
            } else {
                literal(rng, col)
            };
            Expr::Compare { column: col.to_owned(), op, value }
        }
        1 => {
            let col = *rng.pick(&COMPARABLE);
            let values = (0..rng.below(4)).map(|_| literal(rng, col)).collect();
            Expr::In { column: col.to_owned(), values }
        }
        2 => {
            let col = rng.pick(&["s", "name", "id"]).to_string();
            let text = rng.pick(&["", "a", "A", "_", "%", "b", "ü", "'", "n", "0"]).to_string();
            if rng.below(2) == 0 {
                Expr::StartsWith { column: col, prefix: text }
            } else {
                Expr::Contains { column: col, needle: text }
            }
        }
        3 => Expr::IsNull { column: rng.pick(&["s", "n", "x", "b", "t", "j"]).to_string() },
        6 => Expr::And((0..rng.below(4)).map(|_| random_expr(rng, depth - 1)).collect()),
        7 => Expr::Or((0..rng.below(4)).map(|_| random_expr(rng, depth - 1)).collect()),
        _ => Expr::Not(Box::new(random_expr(rng, depth - 1))),
    }
}

fn random_query(rng: &mut Rng) -> Query {
    let mut q = Query::new();
    if rng.below(5) != 0 {
        q.filter = Some(random_expr(rng, 3));
    }
    for _ in 0..rng.below(4) {
        let col = rng.pick(&["s", "n", "x", "b", "t", "name", "deleted", "updatedAt"]).to_string();
        q.order_by.push(OrderBy { column: col, descending: rng.below(2) == 0 });
    }
    if rng.below(3) == 0 {
        q.skip = Some(rng.below(20) as u64);
    }
    if rng.below(3) == 0 {
        q.top = Some(rng.below(20) as u64);
    }
    if rng.below(5) == 0 {
        let cols = ["s", "n", "x", "b", "t", "j", "deleted"];
        q.select = Some(cols.iter().filter(|_| rng.below(2) == 0).map(|c| c.to_string()).collect());
    }
    q.include_deleted = rng.below(3) == 0;
    q.include_total_count = rng.below(2) == 0;
    q
}
