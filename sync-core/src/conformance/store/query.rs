//! Cases about filters: every operator on every column type, null semantics (two-valued logic),
//! `in` lists, string functions, and boolean nesting. Each query is checked twice: against the ids
//! the rule implies, and against [`run_query`](crate::backend::run_query) over the same rows.

use serde_json::json;

use super::support::{check_query, conformed, expect_ids, fresh, put, things_schema};
use super::StoreFactory;
use crate::query::expr::{column, CompareOp, Expr, Query};
use crate::query::value::QueryValue;
use crate::record::Record;
use crate::schema::TableSchema;

/// The rows of `Things` the query cases share. Ids `a`…`h` are live, `i` is soft-deleted.
///
/// | id | s          | n    | x     | b     | t                        | j       |
/// |----|------------|------|-------|-------|--------------------------|---------|
/// | a  | apple      | 1    | 1.5   | true  | 2024-01-01T00:00:00.000Z | {"k":1} |
/// | b  | Apple      | 2    | -2.25 | false | 2024-06-01T12:00:00.000Z |         |
/// | c  | banana     | 3    | 0.0   |       | 2023-12-31T23:59:59.999Z |         |
/// | d  |            |      |       |       |                          |         |
/// | e  | 100%_off   | -5   | 1e10  | true  |                          |         |
/// | f  | a_c        | 2    | 1.5   | false | 2024-01-01T00:00:00.000Z |         |
/// | g  | abc        | 100  | 3.25  | true  | 2024-01-01T00:00:00.001Z |         |
/// | h  | ü-ñ 🦀     | 0    |       | false |                          |         |
/// | i  | apple      | 1    |       | true  | (deleted)                |         |
pub(crate) fn dataset(schema: &TableSchema) -> Vec<Record> {
    let rows = [
        json!({"id": "a", "s": "apple", "n": 1, "x": 1.5, "b": true, "t": "2024-01-01T00:00:00.000Z", "j": {"k": 1}}),
        json!({"id": "b", "s": "Apple", "n": 2, "x": -2.25, "b": false, "t": "2024-06-01T12:00:00.000Z"}),
        json!({"id": "c", "s": "banana", "n": 3, "x": 0.0, "t": "2023-12-31T23:59:59.999Z"}),
        json!({"id": "d"}),
        json!({"id": "e", "s": "100%_off", "n": -5, "x": 1e10, "b": true}),
        json!({"id": "f", "s": "a_c", "n": 2, "x": 1.5, "b": false, "t": "2024-01-01T00:00:00.000Z"}),
        json!({"id": "g", "s": "abc", "n": 100, "x": 3.25, "b": true, "t": "2024-01-01T00:00:00.001Z"}),
        json!({"id": "h", "s": "ü-ñ 🦀", "n": 0, "b": false}),
        json!({"id": "i", "s": "apple", "n": 1, "b": true, "deleted": true}),
    ];
    rows.into_iter()
        .map(|mut r| {
            let name = format!("row {}", r["id"].as_str().unwrap_or_default());
            r["name"] = json!(name);
            conformed(schema, r)
        })
        .collect()
}

/// A store holding [`dataset`], with the schema and the rows.
pub(crate) async fn with_dataset<F: StoreFactory>(factory: &F) -> (F::Store, TableSchema, Vec<Record>) {
    let schema = things_schema();
    let store = fresh(factory, std::slice::from_ref(&schema)).await;
    let rows = dataset(&schema);
    put(&store, "Things", &rows).await;
    (store, schema, rows)
}

fn q(e: Expr) -> Query {
    Query::new().filter(e)
}

fn cmp(col: &str, op: CompareOp, value: impl Into<QueryValue>) -> Expr {
    Expr::Compare { column: col.to_owned(), op, value: value.into() }
}

const OPS: [CompareOp; 6] = [CompareOp::Eq, CompareOp::Ne, CompareOp::Gt, CompareOp::Ge, CompareOp::Lt, CompareOp::Le];

/// `eq ne gt ge lt le` on string, integer, real, boolean and date-time columns (integer and real
/// literals on both numeric types, date-times given in another offset), plus their negations.
pub async fn query_compares_every_column_type<F: StoreFactory>(factory: &F) {
    let (store, schema, rows) = with_dataset(factory).await;
    let dt = |s: &str| QueryValue::DateTime(s.to_owned());
    let literals: Vec<(&str, Vec<QueryValue>)> = vec![
        ("s", vec!["apple".into(), "Apple".into(), "a".into(), "b".into(), "zzz".into(), "".into()]),
        ("n", vec![2.into(), (-5).into(), 1.5.into(), 0.into(), 100.into()]),
        ("x", vec![1.5.into(), 0.into(), (-2.25).into(), 1e10.into(), 2.into()]),
        ("b", vec![true.into(), false.into()]),
        ("t", vec![dt("2024-01-01T00:00:00.000Z"), "2024-01-01T01:00:00+01:00".into(), dt("2023-12-31T23:59:59.999Z")]),
        ("id", vec!["a".into(), "e".into(), "zz".into()]),
        ("name", vec!["row c".into()]),
    ];
    for (col, values) in &literals {
        for value in values {
            for op in OPS {
                let e = cmp(col, op, value.clone());
                check_query(&store, &schema, &rows, &q(e.clone())).await;
                check_query(&store, &schema, &rows, &q(!e.clone())).await;
                check_query(&store, &schema, &rows, &q(e).include_deleted()).await;
            }
        }
    }
    let cases: Vec<(Expr, Vec<&str>)> = vec![
        (column("s").eq("apple"), vec!["a"]),
        (column("s").ge("b"), vec!["c", "h"]),
        (column("s").lt("a"), vec!["b", "e"]),
        (column("n").eq(2), vec!["b", "f"]),
        (column("n").gt(2), vec!["c", "g"]),
        (column("n").gt(1.5), vec!["b", "c", "f", "g"]),
        (column("n").le(0), vec!["e", "h"]),
        (column("x").eq(1.5), vec!["a", "f"]),
        (column("x").eq(0), vec!["c"]),
        (column("x").le(0), vec!["b", "c"]),
        (column("x").gt(2), vec!["e", "g"]),
        (column("b").eq(true), vec!["a", "e", "g"]),
        (column("b").gt(false), vec!["a", "e", "g"]),
        (column("b").lt(true), vec!["b", "f", "h"]),
        (column("t").eq("2024-01-01T01:00:00+01:00"), vec!["a", "f"]),
        (column("t").lt("2024-01-01T00:00:00Z"), vec!["c"]),
        (column("t").gt("2024-01-01T00:00:00Z"), vec!["b", "g"]),
        (column("t").ge(dt("2024-01-01T00:00:00.001Z")), vec!["b", "g"]),
        (column("id").gt("f"), vec!["g", "h"]),
    ];
    for (e, expected) in cases {
        expect_ids(&store, &schema, &rows, &q(e), &expected).await;
    }
}

/// `eq`/`ne` are null-safe, ordering operators are false on null, and `not` is plain negation
/// (two-valued logic: `not (n gt 2)` holds for a null `n`, unlike SQL).
pub async fn query_null_semantics_are_two_valued<F: StoreFactory>(factory: &F) {
    let (store, schema, rows) = with_dataset(factory).await;
    let cases: Vec<(Expr, Vec<&str>)> = vec![
        (column("n").eq(QueryValue::Null), vec!["d"]),
        (column("n").eq(Option::<i64>::None), vec!["d"]),
        (column("n").ne(QueryValue::Null), vec!["a", "b", "c", "e", "f", "g", "h"]),
        (column("s").eq(QueryValue::Null), vec!["d"]),
        (column("x").is_null(), vec!["d", "h"]),
        (column("x").is_not_null(), vec!["a", "b", "c", "e", "f", "g"]),
        (column("j").is_null(), vec!["b", "c", "d", "e", "f", "g", "h"]),
        (column("j").is_not_null(), vec!["a"]),
        (column("n").ne(2), vec!["a", "c", "d", "e", "g", "h"]),
        (column("b").ne(true), vec!["b", "c", "d", "f", "h"]),
        (column("n").gt(-1000), vec!["a", "b", "c", "e", "f", "g", "h"]),
        (column("n").lt(1000), vec!["a", "b", "c", "e", "f", "g", "h"]),
        (column("n").ge(-1000) | column("n").le(1000), vec!["a", "b", "c", "e", "f", "g", "h"]),
        (!column("n").gt(2), vec!["a", "b", "d", "e", "f", "h"]),
        (!column("n").eq(2), vec!["a", "c", "d", "e", "g", "h"]),
        (!!column("n").gt(2), vec!["c", "g"]),
        (!!!column("n").gt(2), vec!["a", "b", "d", "e", "f", "h"]),
        (!column("b").eq(true), vec!["b", "c", "d", "f", "h"]),
        (!column("s").starts_with("a"), vec!["b", "c", "d", "e", "h"]),
        (!(column("x").ge(0) & column("x").le(2)), vec!["b", "d", "e", "g", "h"]),
        (!column("t").gt("2024-01-01T00:00:00Z"), vec!["a", "c", "d", "e", "f", "h"]),
        (!column("x").is_null() & !column("x").gt(1), vec!["b", "c"]),
        (!column("n").is_in([1, 3]), vec!["b", "d", "e", "f", "g", "h"]),
    ];
    for (e, expected) in cases {
        expect_ids(&store, &schema, &rows, &q(e), &expected).await;
    }
}

/// `in` matches any listed value (never a null column); an empty list matches nothing, and its
/// negation everything.
pub async fn query_in_lists<F: StoreFactory>(factory: &F) {
    let (store, schema, rows) = with_dataset(factory).await;
    let all = vec!["a", "b", "c", "d", "e", "f", "g", "h"];
    let empty = || Expr::In { column: "n".into(), values: vec![] };
    let cases: Vec<(Query, Vec<&str>)> = vec![
        (q(column("n").is_in([1, 3])), vec!["a", "c"]),
        (q(column("n").is_in([2.0])), vec!["b", "f"]),
        (q(column("n").is_in([1]).and(column("s").eq("apple"))).include_deleted(), vec!["a", "i"]),
        (q(empty()), vec![]),
        (q(!empty()), all.clone()),
        (q(Expr::In { column: "s".into(), values: vec![] }), vec![]),
        (q(column("s").is_in(["apple", "Apple", "nope"])), vec!["a", "b"]),
        (q(column("x").is_in([1.5, 0.0])), vec!["a", "c", "f"]),
        (q(column("b").is_in([false])), vec!["b", "f", "h"]),
        (q(column("b").is_in([true, false])), vec!["a", "b", "e", "f", "g", "h"]),
        (q(column("t").is_in(["2024-01-01T01:00:00+01:00", "2023-12-31T23:59:59.999Z"])), vec!["a", "c", "f"]),
        (q(column("id").is_in(["h", "a", "zz", "i"])), vec!["a", "h"]),
        (q(!column("b").is_in([true])), vec!["b", "c", "d", "f", "h"]),
    ];
    for (query, expected) in cases {
        expect_ids(&store, &schema, &rows, &query, &expected).await;
    }
}

/// `starts_with` and `contains` are case-sensitive and take every character literally: `%`, `_`,
/// `*`, `?`, `[`, `\` and quotes mean nothing special (as they would in SQL `LIKE` or `GLOB`).
/// They are false on null; the empty string is a prefix of every string.
pub async fn query_string_functions_are_literal_and_case_sensitive<F: StoreFactory>(factory: &F) {
    let (store, schema, mut rows) = with_dataset(factory).await;
    let extra = [
        conformed(&schema, json!({"id": "k", "name": "row k", "s": "glob*[a]?"})),
        conformed(&schema, json!({"id": "l", "name": "row l", "s": "back\\slash 'q'"})),
        conformed(&schema, json!({"id": "m", "name": "row m", "s": "ABC"})),
    ];
    put(&store, "Things", &extra).await;
    rows.extend(extra);
    let s = || column("s");
    let cases: Vec<(Expr, Vec<&str>)> = vec![
        (s().starts_with("a"), vec!["a", "f", "g"]),
        (s().starts_with("A"), vec!["b", "m"]),
        (s().starts_with("ab"), vec!["g"]),
        (s().starts_with("AB"), vec!["m"]),
        (s().contains("pp"), vec!["a", "b"]),
        (s().contains("PP"), vec![]),
        (s().contains("bc"), vec!["g"]),
        (s().starts_with("a_"), vec!["f"]),
        (s().contains("_"), vec!["e", "f"]),
        (s().contains("%"), vec!["e"]),
        (s().starts_with("%"), vec![]),
        (s().starts_with("100%"), vec!["e"]),
        (s().contains("0%_o"), vec!["e"]),
        (s().contains("%_"), vec!["e"]),
        (s().starts_with("_"), vec![]),
        (s().starts_with("glob*"), vec!["k"]),
        (s().starts_with("glob?"), vec![]),
        (s().contains("[a]"), vec!["k"]),
        (s().contains("?"), vec!["k"]),
        (s().contains("*"), vec!["k"]),
        (s().contains("[b]"), vec![]),
        (s().contains("\\"), vec!["l"]),
        (s().contains("\\s"), vec!["l"]),
        (s().contains("'q'"), vec!["l"]),
        (s().contains("ñ 🦀"), vec!["h"]),
        (s().starts_with("ü"), vec!["h"]),
        (s().contains("Ü"), vec![]),
        (s().starts_with(""), vec!["a", "b", "c", "e", "f", "g", "h", "k", "l", "m"]),
        (s().contains(""), vec!["a", "b", "c", "e", "f", "g", "h", "k", "l", "m"]),
        (!s().contains("a"), vec!["b", "d", "e", "h", "m"]),
        (s().contains("an"), vec!["c"]),
        (s().contains("apple"), vec!["a"]),
        (column("name").starts_with("row "), vec!["a", "b", "c", "d", "e", "f", "g", "h", "k", "l", "m"]),
        (column("id").starts_with("k"), vec!["k"]),
    ];
    for (e, expected) in cases {
        expect_ids(&store, &schema, &rows, &q(e), &expected).await;
    }
    expect_ids(&store, &schema, &rows, &q(s().contains("apple")).include_deleted(), &["a", "i"]).await;
}

/// `and`/`or`/`not` nest to any depth; an empty `and` is true and an empty `or` is false.
pub async fn query_boolean_nesting<F: StoreFactory>(factory: &F) {
    let (store, schema, rows) = with_dataset(factory).await;
    let all = vec!["a", "b", "c", "d", "e", "f", "g", "h"];
    let t = || Expr::And(vec![]);
    let f = || Expr::Or(vec![]);
    let cases: Vec<(Expr, Vec<&str>)> = vec![
        (t(), all.clone()),
        (f(), vec![]),
        (!t(), vec![]),
        (!f(), all.clone()),
        (Expr::And(vec![f(), column("n").gt(0)]), vec![]),
        (Expr::Or(vec![t(), column("n").gt(0)]), all.clone()),
        (Expr::And(vec![column("n").gt(0)]), vec!["a", "b", "c", "f", "g"]),
        (Expr::Or(vec![column("n").gt(0)]), vec!["a", "b", "c", "f", "g"]),
        ((column("n").gt(1) & column("b").eq(true)) | column("s").eq("banana"), vec!["c", "g"]),
        (!((column("n").gt(1) & column("b").eq(true)) | column("s").eq("banana")), vec!["a", "b", "d", "e", "f", "h"]),
        (
            column("n").ge(1) & (column("b").eq(false) | column("b").is_null()) & !column("s").contains("_"),
            vec!["b", "c"],
        ),
        (
            Expr::Or(vec![
                Expr::And(vec![column("x").gt(1), !Expr::Or(vec![column("s").starts_with("a"), column("n").eq(100)])]),
                Expr::Not(Box::new(Expr::And(vec![column("t").is_not_null(), t(), !f()]))),
            ]),
            vec!["d", "e", "h"],
        ),
        (!(column("s").is_null() | !(column("n").lt(3) & !column("x").is_null())), vec!["a", "b", "e", "f"]),
    ];
    for (e, expected) in cases {
        expect_ids(&store, &schema, &rows, &q(e), &expected).await;
    }
}
