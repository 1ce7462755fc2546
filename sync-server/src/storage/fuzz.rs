//! Generators for the bounded `$filter` fuzzing of both backends (`sqlite::fuzz`,
//! `postgres::fuzz`): well-typed filters whose string literals are markers to look for in the
//! SQL, and token soup.

use proptest::prelude::*;
use sync_core::{Column, ColumnType};

use crate::table::system_columns;

/// The columns of the fuzzed table.
pub(crate) fn columns() -> Vec<Column> {
    let mut c = system_columns();
    c.push(Column::nullable("name", ColumnType::String));
    c.push(Column::nullable("n", ColumnType::Real));
    c.push(Column::nullable("i", ColumnType::Integer));
    c.push(Column::nullable("flag", ColumnType::Bool));
    c.push(Column::nullable("d", ColumnType::DateTime));
    c
}

/// A generated filter: its text and the string literals it holds.
#[derive(Debug, Clone)]
pub(crate) struct Gen {
    /// The filter text.
    pub text: String,
    /// Its string literals.
    pub markers: Vec<String>,
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn marker() -> impl Strategy<Value = String> {
    // "Zq" never occurs in rendered SQL, so finding a marker there would mean pasted text.
    "[a-z'%_;\\-\" ()=]{0,10}".prop_map(|tail| format!("Zq{tail}"))
}

fn string_expr() -> impl Strategy<Value = Gen> {
    prop_oneof![
        Just(Gen { text: "name".into(), markers: vec![] }),
        marker().prop_map(|m| Gen { text: quote(&m), markers: vec![m] }),
        marker().prop_map(|m| Gen { text: format!("tolower({})", quote(&m)), markers: vec![m] }),
        Just(Gen { text: "toupper(trim(name))".into(), markers: vec![] }),
        marker().prop_map(|m| Gen { text: format!("concat(name, {})", quote(&m)), markers: vec![m] }),
        Just(Gen { text: "substring(name, 1, 2)".into(), markers: vec![] }),
        (marker(), marker()).prop_map(|(a, b)| Gen {
            text: format!("replace(name, {}, {})", quote(&a), quote(&b)),
            markers: vec![a, b]
        }),
    ]
}

fn number_expr() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("n".to_owned()),
        Just("i".to_owned()),
        (-1000i64..1000).prop_map(|v| v.to_string()),
        (-1.0e6f64..1.0e6).prop_map(|v| format!("{v:?}")),
        Just("length(name)".to_owned()),
        Just("year(d)".to_owned()),
        Just("month(updatedAt)".to_owned()),
        Just("floor(n)".to_owned()),
        Just("ceiling(n add 1)".to_owned()),
        Just("round(n mul 2)".to_owned()),
        Just("i mod 2".to_owned()),
        Just("indexof(name, 's')".to_owned()),
    ]
}

fn leaf() -> impl Strategy<Value = Gen> {
    let op = prop_oneof![Just("eq"), Just("ne"), Just("gt"), Just("ge"), Just("lt"), Just("le")];
    prop_oneof![
        (string_expr(), op.clone(), string_expr()).prop_map(|(a, op, b)| Gen {
            text: format!("{} {op} {}", a.text, b.text),
            markers: [a.markers, b.markers].concat()
        }),
        (number_expr(), op.clone(), number_expr())
            .prop_map(|(a, op, b)| Gen { text: format!("{a} {op} {b}"), markers: vec![] }),
        (string_expr(), string_expr()).prop_map(|(a, b)| Gen {
            text: format!("startswith({}, {})", a.text, b.text),
            markers: [a.markers, b.markers].concat()
        }),
        (string_expr(), string_expr()).prop_map(|(a, b)| Gen {
            text: format!("endswith({}, {})", a.text, b.text),
            markers: [a.markers, b.markers].concat()
        }),
        (string_expr(), string_expr()).prop_map(|(a, b)| Gen {
            text: format!("substringof({}, {})", a.text, b.text),
            markers: [a.markers, b.markers].concat()
        }),
        Just(Gen { text: "flag".into(), markers: vec![] }),
        Just(Gen { text: "flag eq true".into(), markers: vec![] }),
        Just(Gen { text: "d eq null".into(), markers: vec![] }),
        Just(Gen { text: "null ne name".into(), markers: vec![] }),
        Just(Gen { text: "updatedAt ge datetimeoffset'2024-01-01T00:00:00.0000000+00:00'".into(), markers: vec![] }),
        Just(Gen { text: "d lt datetime'2024-07-01T00:00:00Z'".into(), markers: vec![] }),
    ]
}

/// Well-typed filters with string literals to look for.
pub(crate) fn filter() -> impl Strategy<Value = Gen> {
    leaf().prop_recursive(5, 40, 4, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Gen {
                text: format!("({}) and ({})", a.text, b.text),
                markers: [a.markers, b.markers].concat()
            }),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Gen {
                text: format!("{} or {}", a.text, b.text),
                markers: [a.markers, b.markers].concat()
            }),
            inner.prop_map(|a| Gen { text: format!("not ({})", a.text), markers: a.markers }),
        ]
    })
}

/// Random sequences of the grammar's tokens, mostly invalid.
pub(crate) fn token_soup() -> impl Strategy<Value = String> {
    let tokens = prop_oneof![
        Just("name"),
        Just("n"),
        Just("flag"),
        Just("nope"),
        Just(" eq "),
        Just(" and "),
        Just(" or "),
        Just("not "),
        Just(" add "),
        Just("'"),
        Just("''"),
        Just("'x'"),
        Just("("),
        Just(")"),
        Just(","),
        Just("-"),
        Just("1"),
        Just("1.5e3"),
        Just("9999999999999999999999"),
        Just("datetime'"),
        Just("datetimeoffset'2024-01-01T00:00:00Z'"),
        Just("guid'"),
        Just("substringof("),
        Just("floor("),
        Just("year("),
        Just("null"),
        Just("true"),
        Just("\""),
        Just("/"),
        Just("é"),
    ];
    prop::collection::vec(tokens, 0..30).prop_map(|v| v.concat())
}
