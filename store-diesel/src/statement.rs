//! [`Stmt`]: one SQL statement with bound parameters that Diesel's prepared-statement cache keeps.
//!
//! Diesel never caches [`diesel::sql_query`]: `SqlQuery` marks itself unsafe to cache, so each call
//! prepares its statement again. `Stmt` is a query fragment that *is* safe to cache: Diesel keys
//! it by its SQL text and bind types. Every statement this crate runs has a stable text per table
//! and shape (values only ever go through `?` parameters), so the cache hits on every repeat.
//!
//! Rows come back as [`SqlRow`]s of dynamically typed [`Cell`]s, read with SQLite's own type of
//! each value; [`crate::rows`] turns them into records by schema.

use std::borrow::Cow;
use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::deserialize::{self, QueryableByName};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::row::{Field, NamedRow, Row};
use diesel::sql_types::{BigInt, Double, Nullable, Text, Untyped};
use diesel::sqlite::{Sqlite, SqliteType};
use diesel::{QueryResult, RunQueryDsl};

/// A parameter value. Nulls keep the kind of their column so the bind types (part of the cache
/// key) do not depend on whether a value is null.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param<'a> {
    /// `NULL` bound as an integer.
    NullInteger,
    /// `NULL` bound as a real.
    NullReal,
    /// `NULL` bound as text.
    NullText,
    /// A 64-bit integer.
    Integer(i64),
    /// A double.
    Real(f64),
    /// UTF-8 text.
    Text(Cow<'a, str>),
}

impl<'a> Param<'a> {
    /// Borrowed text.
    pub(crate) fn text(s: &'a str) -> Self {
        Param::Text(Cow::Borrowed(s))
    }

    /// Text or a text-typed null.
    pub(crate) fn opt_text(s: Option<&'a str>) -> Self {
        s.map_or(Param::NullText, Param::text)
    }
}

/// `?, ?, …`: `n` parameter placeholders, comma-separated.
pub(crate) fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// SQLite's bound on parameters per statement (since 3.32).
pub(crate) const MAX_PARAMS: usize = 32_766;
/// Rows per many-row statement: past this the statement text costs more than it saves.
pub(crate) const MAX_ROWS_PER_STATEMENT: usize = 256;

/// How to split `len` rows into many-row statements of at most `most` rows (`most` ≥ 1): sizes
/// that are powers of two, largest first. Diesel keeps every distinct statement text it has
/// prepared, so a page of any length reuses a handful of statements per table instead of
/// preparing one per length.
///
/// `1000` rows with `most = 256` are `[256, 256, 256, 128, 64, 32, 8]`.
pub(crate) fn statement_sizes(len: usize, most: usize) -> Vec<usize> {
    let most = 1usize << most.max(1).ilog2();
    let mut sizes = Vec::new();
    let mut left = len;
    while left > 0 {
        let n = if left >= most { most } else { 1 << left.ilog2() };
        sizes.push(n);
        left -= n;
    }
    sizes
}

/// `items` cut into the slices of [`statement_sizes`], in order: one many-row statement each.
pub(crate) fn statement_chunks<T>(items: &[T], most: usize) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    statement_sizes(items.len(), most).into_iter().map(move |n| {
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        chunk
    })
}

static NULL_I64: Option<i64> = None;
static NULL_F64: Option<f64> = None;
static NULL_TEXT: Option<&'static str> = None;

/// What identifies a statement in Diesel's cache. [`Dynamic`] statements (SQL built at run time,
/// e.g. per table or per query shape) are keyed by their SQL text and bind types, which Diesel
/// rebuilds and hashes on every execution; statements declared with [`fixed_sql!`] have constant
/// SQL and are keyed by their marker type, so a repeat costs no SQL building at all.
pub(crate) trait Key: 'static {
    /// The constant SQL, or `None` for dynamic statements.
    const SQL: Option<&'static str>;
}

/// The key of statements whose SQL is built at run time.
#[derive(Debug)]
pub(crate) enum Dynamic {}

impl Key for Dynamic {
    const SQL: Option<&'static str> = None;
}

/// Declares marker types for statements with constant SQL.
macro_rules! fixed_sql {
    ($($(#[$meta:meta])* $name:ident = $sql:expr;)*) => {$(
        $(#[$meta])*
        #[derive(Debug)]
        pub(crate) enum $name {}
        impl $crate::statement::Key for $name {
            const SQL: Option<&'static str> = Some($sql);
        }
    )*};
}
pub(crate) use fixed_sql;

/// One statement: SQL text with `?` placeholders and the values for them, in order.
///
/// The SQL text must hold exactly one `?` per parameter and no other `?` (identifiers are validated
/// names, and this crate writes no string literals containing `?`).
#[derive(Debug, Clone)]
pub(crate) struct Stmt<'a, K: Key = Dynamic> {
    sql: Cow<'a, str>,
    /// For a many-row `VALUES` list: its shape, so that Diesel's passes over the statement
    /// (cache key, cacheability, binds) do not scan thousands of placeholders in `sql` each.
    rows: Option<RowsShape<'a>>,
    params: Vec<Param<'a>>,
    _key: PhantomData<fn() -> K>,
}

/// `head (?, …, ?), (?, …, ?), … tail`, with `columns` placeholders per row.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowsShape<'a> {
    /// Everything before the first row's `(`.
    pub(crate) head: &'a str,
    /// Placeholders per row (at least one).
    pub(crate) columns: usize,
    /// Everything after the last row's `)`.
    pub(crate) tail: &'a str,
}

impl RowsShape<'_> {
    /// The SQL text of `rows` rows (what walking the statement writes).
    pub(crate) fn sql(&self, rows: usize) -> String {
        let row = format!("({})", placeholders(self.columns));
        let mut sql = String::with_capacity(self.head.len() + rows * (row.len() + 2) + self.tail.len());
        sql.push_str(self.head);
        for i in 0..rows {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&row);
        }
        sql.push_str(self.tail);
        sql
    }
}

impl<'a> Stmt<'a> {
    /// A statement whose SQL is built at run time.
    pub(crate) fn new(sql: impl Into<Cow<'a, str>>, params: Vec<Param<'a>>) -> Self {
        Stmt { sql: sql.into(), rows: None, params, _key: PhantomData }
    }

    /// A many-row statement of `shape` with `params.len() / shape.columns` rows (its text, from
    /// [`RowsShape::sql`], is kept for the cache's bookkeeping and messages).
    pub(crate) fn rows(shape: RowsShape<'a>, params: Vec<Param<'a>>) -> Self {
        let sql = shape.sql(params.len() / shape.columns.max(1));
        Stmt { sql: Cow::Owned(sql), rows: Some(shape), params, _key: PhantomData }
    }
}

impl<'a, K: Key> Stmt<'a, K> {
    /// A statement with the constant SQL of `K` (declared with [`fixed_sql!`]).
    pub(crate) fn fixed(params: Vec<Param<'a>>) -> Self {
        Stmt { sql: Cow::Borrowed(K::SQL.unwrap_or_default()), rows: None, params, _key: PhantomData }
    }

    /// The SQL text.
    pub(crate) fn sql(&self) -> &str {
        &self.sql
    }

    /// Whether the SQL is built at run time (and so counts against the cache bound).
    pub(crate) fn is_dynamic(&self) -> bool {
        K::SQL.is_none()
    }
}

impl<K: Key> QueryId for Stmt<'_, K> {
    type QueryId = K;
    // Constant SQL: keyed by the marker type. Dynamic SQL: keyed by SQL text + bind types.
    const HAS_STATIC_QUERY_ID: bool = K::SQL.is_some();
}

impl<K: Key> Query for Stmt<'_, K> {
    type SqlType = Untyped;
}

impl<Conn, K: Key> RunQueryDsl<Conn> for Stmt<'_, K> {}

impl<K: Key> QueryFragment<Sqlite> for Stmt<'_, K> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        if let Some(shape) = &self.rows {
            return walk_rows(shape, &self.params, out);
        }
        let mut pieces = self.sql.split('?');
        let mut params = self.params.iter();
        if let Some(first) = pieces.next() {
            out.push_sql(first);
        }
        for piece in pieces {
            let Some(param) = params.next() else {
                return Err(diesel::result::Error::QueryBuilderError(
                    format!("statement has more placeholders than parameters: {}", self.sql).into(),
                ));
            };
            bind(&mut out, param)?;
            out.push_sql(piece);
        }
        if params.next().is_some() {
            return Err(diesel::result::Error::QueryBuilderError(
                format!("statement has more parameters than placeholders: {}", self.sql).into(),
            ));
        }
        Ok(())
    }
}

/// Binds one parameter where its placeholder goes.
fn bind<'b>(out: &mut AstPass<'_, 'b, Sqlite>, param: &'b Param<'_>) -> QueryResult<()> {
    match param {
        Param::NullInteger => out.push_bind_param::<Nullable<BigInt>, _>(&NULL_I64),
        Param::NullReal => out.push_bind_param::<Nullable<Double>, _>(&NULL_F64),
        Param::NullText => out.push_bind_param::<Nullable<Text>, _>(&NULL_TEXT),
        Param::Integer(i) => out.push_bind_param::<BigInt, _>(i),
        Param::Real(f) => out.push_bind_param::<Double, _>(f),
        Param::Text(s) => out.push_bind_param::<Text, str>(s.as_ref()),
    }
}

/// Writes a many-row statement of `shape` (the text [`RowsShape::sql`] gives) with `params`.
fn walk_rows<'b>(shape: &RowsShape<'_>, params: &'b [Param<'_>], mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
    if shape.columns == 0 || params.is_empty() || !params.len().is_multiple_of(shape.columns) {
        return Err(diesel::result::Error::QueryBuilderError(
            format!("{} parameters do not make rows of {}", params.len(), shape.columns).into(),
        ));
    }
    out.push_sql(shape.head);
    for (i, row) in params.chunks(shape.columns).enumerate() {
        out.push_sql(if i == 0 { "(" } else { ", (" });
        for (j, param) in row.iter().enumerate() {
            if j > 0 {
                out.push_sql(", ");
            }
            bind(&mut out, param)?;
        }
        out.push_sql(")");
    }
    out.push_sql(shape.tail);
    Ok(())
}

/// One value read back, with the type SQLite reports for it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// `NULL`.
    Null,
    /// An integer.
    Integer(i64),
    /// A real.
    Real(f64),
    /// Text.
    Text(String),
    /// A blob (never written by this crate; reported as corrupt data).
    Blob(Vec<u8>),
}

impl Cell {
    /// The integer, if this is one.
    pub(crate) fn as_i64(&self) -> Option<i64> {
        match self {
            Cell::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The text, if this is text.
    pub(crate) fn into_text(self) -> Option<String> {
        match self {
            Cell::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The text, `None` for `NULL`, an error description for anything else.
    pub(crate) fn into_opt_text(self) -> Result<Option<String>, &'static str> {
        match self {
            Cell::Null => Ok(None),
            Cell::Text(s) => Ok(Some(s)),
            _ => Err("expected text"),
        }
    }

    /// The name of its type, for messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Cell::Null => "NULL",
            Cell::Integer(_) => "INTEGER",
            Cell::Real(_) => "REAL",
            Cell::Text(_) => "TEXT",
            Cell::Blob(_) => "BLOB",
        }
    }
}

/// A row of any width, its cells in the order of the `SELECT` list.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SqlRow(pub(crate) Vec<Cell>);

impl QueryableByName<Sqlite> for SqlRow {
    fn build<'a>(row: &impl NamedRow<'a, Sqlite>) -> deserialize::Result<Self> {
        let count = Row::<Sqlite>::field_count(row);
        let mut cells = Vec::with_capacity(count);
        for i in 0..count {
            let field = Row::<Sqlite>::get(row, i).ok_or("row is shorter than its field count")?;
            cells.push(read_cell(field.value()));
        }
        Ok(SqlRow(cells))
    }
}

fn read_cell(value: Option<<Sqlite as Backend>::RawValue<'_>>) -> Cell {
    let Some(mut value) = value else { return Cell::Null };
    match value.value_type() {
        None => Cell::Null,
        Some(SqliteType::Double | SqliteType::Float) => Cell::Real(value.read_double()),
        Some(SqliteType::Long | SqliteType::Integer | SqliteType::SmallInt) => Cell::Integer(value.read_long()),
        Some(SqliteType::Binary) => Cell::Blob(value.read_blob().to_vec()),
        // Text (and anything SQLite may add): read as text.
        Some(_) => Cell::Text(value.read_text().to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use diesel::{Connection, SqliteConnection};

    use super::*;

    #[test]
    fn many_row_statements_write_the_text_of_their_shape() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        diesel::sql_query("CREATE TABLE t (a INTEGER, b TEXT)").execute(&mut conn).unwrap();
        let shape = RowsShape { head: "INSERT INTO t (a, b) VALUES ", columns: 2, tail: " RETURNING a, b" };
        assert_eq!(shape.sql(2), "INSERT INTO t (a, b) VALUES (?, ?), (?, ?) RETURNING a, b");
        let params = vec![Param::Integer(1), Param::text("x?"), Param::NullInteger, Param::NullText];
        let stmt = Stmt::rows(shape, params);
        let walked = diesel::debug_query::<Sqlite, _>(&stmt).to_string();
        assert!(walked.starts_with(&shape.sql(2)), "{walked}");
        let rows: Vec<SqlRow> = stmt.load(&mut conn).unwrap();
        assert_eq!(
            rows,
            vec![SqlRow(vec![Cell::Integer(1), Cell::Text("x?".into())]), SqlRow(vec![Cell::Null, Cell::Null])]
        );
        // Parameters that do not fill whole rows are refused, not bound off by one.
        let odd = Stmt::rows(shape, vec![Param::Integer(1)]);
        assert!(odd.load::<SqlRow>(&mut conn).is_err());
    }

    #[test]
    fn binds_and_reads_every_type() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        let stmt = Stmt::new(
            "SELECT ?, ?, ?, ?, ?, ?",
            vec![
                Param::Integer(-7),
                Param::Real(5.0),
                Param::text("a'b?"),
                Param::NullText,
                Param::NullInteger,
                Param::NullReal,
            ],
        );
        let rows: Vec<SqlRow> = stmt.load(&mut conn).unwrap();
        assert_eq!(
            rows,
            vec![SqlRow(vec![
                Cell::Integer(-7),
                Cell::Real(5.0),
                Cell::Text("a'b?".into()),
                Cell::Null,
                Cell::Null,
                Cell::Null
            ])]
        );
    }

    #[test]
    fn placeholder_mismatch_is_an_error_not_a_panic() {
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        assert!(Stmt::new("SELECT ?, ?", vec![Param::Integer(1)]).load::<SqlRow>(&mut conn).is_err());
        assert!(Stmt::new("SELECT 1", vec![Param::Integer(1)]).load::<SqlRow>(&mut conn).is_err());
    }

    #[test]
    fn statement_sizes_are_powers_of_two_that_add_up() {
        assert_eq!(statement_sizes(1000, 256), [256, 256, 256, 128, 64, 32, 8]);
        assert_eq!(statement_sizes(0, 256), Vec::<usize>::new());
        assert_eq!(statement_sizes(5, 300), [4, 1], "the most is rounded down to a power of two");
        assert_eq!(statement_sizes(3, 0), [1, 1, 1]);
        for len in 0..600 {
            let sizes = statement_sizes(len, 100);
            assert_eq!(sizes.iter().sum::<usize>(), len);
            assert!(sizes.iter().all(|n| n.is_power_of_two() && *n <= 64));
        }
        let items: Vec<u32> = (0..11).collect();
        let chunks: Vec<&[u32]> = statement_chunks(&items, 4).collect();
        assert_eq!(chunks, [&[0, 1, 2, 3][..], &[4, 5, 6, 7], &[8, 9], &[10]]);
    }
}
