//! Bounded fuzzing of the `$filter` path: any input parses or fails with a 400, never panics;
//! generated filters render to SQL that holds none of their literals (every literal is a bound
//! parameter) and that SQLite accepts.

use std::sync::OnceLock;

use proptest::prelude::*;
use sqlx::{AssertSqlSafe, Connection, SqliteConnection};

use super::{bind_all, sql_type};
use crate::odata::parse_filter;
use crate::storage::filter::{render_filter, Dialect, Sql};
use crate::storage::fuzz::{columns, filter, token_soup};
use crate::storage::SqlValue;

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

/// The keyset condition is rendered as a row value (`filter::keyset`): on rows with NULLs and
/// equal values, also under `not`, it selects what the `or` of the comparisons selects (written
/// in an order that is rendered as written).
#[test]
fn the_keyset_row_value_selects_what_the_or_of_comparisons_selects() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let mut conn = SqliteConnection::connect("sqlite::memory:").await.expect("a database");
        let cols = columns();
        let defs: Vec<String> = cols.iter().map(|c| format!("\"{}\" {}", c.name, sql_type(c.ty))).collect();
        sqlx::query(AssertSqlSafe(format!("CREATE TABLE t ({})", defs.join(", ")))).execute(&mut conn).await.unwrap();
        let (names, ns) = (["NULL", "'a'", "'b'"], ["NULL", "1", "2"]);
        let dates = ["NULL", "'2024-01-01T00:00:00.000Z'", "'2024-01-02T00:00:00.000Z'"];
        let mut k = 0;
        for at in &dates[1..] {
            for name in names {
                for n in ns {
                    for d in dates {
                        k += 1;
                        let sql = format!(
                            "INSERT INTO t (id, createdAt, updatedAt, version, deleted, name, n, d) \
                             VALUES ('r{k:03}', {at}, {at}, 'v', 0, {name}, {n}, {d})"
                        );
                        sqlx::query(AssertSqlSafe(sql)).execute(&mut conn).await.unwrap();
                    }
                }
            }
        }
        let literals = |c: &str| -> Vec<&str> {
            match c {
                "id" => vec!["'r010'", "'r100'"],
                "name" => vec!["'a'", "'b'"],
                "n" => vec!["1", "2"],
                _ => vec!["datetimeoffset'2024-01-01T00:00:00Z'", "datetimeoffset'2024-01-02T00:00:00Z'"],
            }
        };
        let pairs = [("updatedAt", "id"), ("name", "n"), ("n", "name"), ("d", "name"), ("name", "d"), ("d", "n")];
        let mut checked = 0;
        for (a, b) in pairs {
            for x in literals(a) {
                for y in literals(b) {
                    let row_value = format!("({a} gt {x}) or (({a} eq {x}) and ({b} gt {y}))");
                    let plain = format!("({a} gt {x}) or (({b} gt {y}) and ({a} eq {x}))");
                    for wrap in ["{}", "not ({})", "({}) eq false"] {
                        let rendered = parse_and_render(&wrap.replace("{}", &row_value)).expect("renders");
                        assert!(rendered.text.contains(") > ("), "{}", rendered.text);
                        let expanded = parse_and_render(&wrap.replace("{}", &plain)).expect("renders");
                        let (got, want) =
                            (execute_on(&mut conn, &rendered).await, execute_on(&mut conn, &expanded).await);
                        assert_eq!(got, want, "{wrap} with {row_value}");
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 6 * 4 * 3);
    });
}

async fn execute_on(conn: &mut SqliteConnection, sql: &Sql) -> i64 {
    let text = format!("SELECT count(*) FROM t WHERE {}", sql.text);
    let row = bind_all(sqlx::query(AssertSqlSafe(text)), &sql.params).fetch_one(&mut *conn).await.expect("runs");
    sqlx::Row::try_get::<i64, _>(&row, 0).expect("a count")
}
