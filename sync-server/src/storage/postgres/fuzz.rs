//! Bounded fuzzing of the `$filter` path on a real PostgreSQL (`crate::test_postgres`): generated
//! filters render to SQL with every literal bound (`$n` placeholders only) that PostgreSQL runs,
//! and token soup either fails to parse or render with a 400, or runs, or fails in the database
//! with an error the backend answers with a 400 — never a 500.

use std::sync::OnceLock;

use proptest::prelude::*;
use sqlx::{Connection, PgConnection};

use super::rows::{bind_params, db_error, q};
use super::schema::sql_type;
use crate::odata::parse_filter;
use crate::storage::filter::{render_filter, Dialect, Sql};
use crate::storage::fuzz::{columns, filter, token_soup};
use crate::storage::SqlValue;
use crate::test_postgres::PgServer;

/// A runtime and a connection to a database with the fuzzed table, made once.
fn database() -> &'static (tokio::runtime::Runtime, String) {
    static DB: OnceLock<(tokio::runtime::Runtime, String)> = OnceLock::new();
    DB.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let url = rt.block_on(async {
            let url = PgServer::shared().fresh_database().await.unwrap_or_else(|e| panic!("{e}"));
            let mut conn = PgConnection::connect(&url).await.expect("connect");
            let pool = sqlx::PgPool::connect(&url).await.expect("pool");
            super::schema::migrate(&pool).await.expect("migrations");
            pool.close().await;
            let defs: Vec<String> = columns().iter().map(|c| format!("\"{}\" {}", c.name, sql_type(c.ty))).collect();
            q(format!("CREATE TABLE t ({})", defs.join(", "))).execute(&mut conn).await.expect("table");
            q("INSERT INTO t VALUES ('a', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z', 'v', false, 'it''s', 1.5, 2, true, '2024-06-15T12:30:45.678Z'), \
               ('b', '2024-01-01T00:00:00.000Z', '2024-01-02T00:00:00.000Z', 'v', true, NULL, NULL, NULL, NULL, NULL)".to_owned())
                .execute(&mut conn)
                .await
                .expect("rows");
            url
        });
        (rt, url)
    })
}

/// Runs `SELECT count(*) … WHERE <sql>`; the error is the status the server would answer.
fn execute(sql: &Sql) -> Result<i64, (u16, String)> {
    let (rt, url) = database();
    rt.block_on(async {
        let mut conn = PgConnection::connect(url).await.expect("connect");
        let text = format!("SELECT count(*) FROM t WHERE {}", sql.text);
        let result = bind_params(q(text), &sql.params).fetch_one(&mut conn).await;
        let _ = conn.close().await;
        match result {
            Ok(row) => Ok(sqlx::Row::try_get::<i64, _>(&row, 0).expect("a count")),
            Err(e) => {
                let message = e.to_string();
                Err((db_error(e, true).status(), message))
            }
        }
    })
}

fn parse_and_render(input: &str) -> Result<Sql, u16> {
    let expr = parse_filter(input).map_err(|e| e.status())?;
    render_filter(&expr, &columns(), Dialect::Postgres, 1).map_err(|e| e.status())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, .. ProptestConfig::default() })]

    #[test]
    fn token_soup_is_a_400_or_runs_on_postgres(input in token_soup()) {
        match parse_and_render(&input) {
            Err(status) => prop_assert_eq!(status, 400),
            Ok(sql) => {
                prop_assert!(!sql.text.contains('?'));
                if let Err((status, message)) = execute(&sql) {
                    prop_assert_eq!(status, 400, "PostgreSQL: {} for {:?} from {:?}", message, sql.text, input);
                }
            }
        }
    }

    #[test]
    fn generated_filters_bind_every_literal_and_run_on_postgres(g in filter()) {
        let sql = parse_and_render(&g.text).map_err(|s| TestCaseError::fail(format!("{s} for {:?}", g.text)))?;
        for m in &g.markers {
            prop_assert!(!sql.text.contains(m.as_str()), "literal {:?} pasted into {:?}", m, sql.text);
            prop_assert!(sql.params.contains(&SqlValue::Text(m.clone())), "literal {:?} not bound", m);
        }
        prop_assert!(!sql.text.contains("Zq"));
        prop_assert_eq!(sql.text.matches('$').count(), sql.params.len());
        if let Err((_, message)) = execute(&sql) {
            return Err(TestCaseError::fail(format!("PostgreSQL rejected {:?} from {:?}: {message}", sql.text, g.text)));
        }
    }
}
