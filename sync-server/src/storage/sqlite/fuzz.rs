//! Bounded fuzzing of the `$filter` path: any input parses or fails with a 400, never panics;
//! generated filters render to SQL that holds none of their literals (every literal is a bound
//! parameter) and that SQLite accepts.

use std::sync::OnceLock;

use proptest::prelude::*;
use sqlx::{AssertSqlSafe, Connection, SqliteConnection};

use super::{bind_all, sql_type};
use crate::odata::parse_filter;
use crate::storage::filter::{render_filter, Dialect, Sql};
use crate::storage::SqlValue;
use crate::table::system_columns;
use sync_core::{Column, ColumnType};

fn columns() -> Vec<Column> {
    let mut c = system_columns();
    c.push(Column::nullable("name", ColumnType::String));
    c.push(Column::nullable("n", ColumnType::Real));
    c.push(Column::nullable("i", ColumnType::Integer));
    c.push(Column::nullable("flag", ColumnType::Bool));
    c.push(Column::nullable("d", ColumnType::DateTime));
    c
}

/// Runs `SELECT count(*) … WHERE <sql>` on an in-memory table with a few rows.
fn execute(sql: &Sql) -> Result<i64, sqlx::Error> {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    let rt = RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime"));
    rt.block_on(async {
        let mut conn = SqliteConnection::connect("sqlite::memory:").await?;
        let cols = columns();
        let defs: Vec<String> = cols.iter().map(|c| format!("\"{}\" {}", c.name, sql_type(c.ty))).collect();
        sqlx::query(AssertSqlSafe(format!("CREATE TABLE t ({})", defs.join(", ")))).execute(&mut conn).await?;
        sqlx::query(
            "INSERT INTO t VALUES ('a', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z', 'v', 0, 'it''s', 1.5, 2, 1, '2024-06-15T12:30:45.678Z'), \
             ('b', '2024-01-01T00:00:00.000Z', '2024-01-02T00:00:00.000Z', 'v', 1, NULL, NULL, NULL, NULL, NULL)",
        )
        .execute(&mut conn)
        .await?;
        let text = format!("SELECT count(*) FROM t WHERE {}", sql.text);
        let row = bind_all(sqlx::query(AssertSqlSafe(text)), &sql.params).fetch_one(&mut conn).await?;
        sqlx::Row::try_get::<i64, _>(&row, 0)
    })
}

/// A generated filter: its text and the string literals it holds.
#[derive(Debug, Clone)]
struct Gen {
    text: String,
    markers: Vec<String>,
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

fn filter() -> impl Strategy<Value = Gen> {
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

fn token_soup() -> impl Strategy<Value = String> {
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

fn parse_and_render(input: &str) -> Result<Sql, u16> {
    let expr = parse_filter(input).map_err(|e| e.status())?;
    render_filter(&expr, &columns(), Dialect::Sqlite, 1).map_err(|e| e.status())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(input in any::<String>()) {
        if let Err(status) = parse_and_render(&input) {
            prop_assert_eq!(status, 400);
        }
    }

    #[test]
    fn token_soup_never_panics_and_valid_sql_runs(input in token_soup()) {
        match parse_and_render(&input) {
            Err(status) => prop_assert_eq!(status, 400),
            Ok(sql) => {
                prop_assert!(!sql.text.contains('\''.to_string().repeat(2).as_str()));
                prop_assert!(execute(&sql).is_ok(), "SQLite rejected {:?} from {:?}: {:?}", sql.text, input, execute(&sql));
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn literals_are_never_pasted_into_sql(g in filter()) {
        let sql = parse_and_render(&g.text).map_err(|s| TestCaseError::fail(format!("{s} for {:?}", g.text)))?;
        for m in &g.markers {
            prop_assert!(!sql.text.contains(m.as_str()), "literal {:?} pasted into {:?}", m, sql.text);
            prop_assert!(sql.params.contains(&SqlValue::Text(m.clone())), "literal {:?} not bound", m);
        }
        prop_assert!(!sql.text.contains("Zq"));
        prop_assert_eq!(sql.text.matches('?').count(), sql.params.len());
        if let Err(e) = execute(&sql) {
            return Err(TestCaseError::fail(format!("SQLite rejected {:?} from {:?}: {e}", sql.text, g.text)));
        }
    }
}
