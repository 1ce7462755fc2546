//! `$filter` trees to SQL, for SQLite or PostgreSQL ([`Dialect`]). The SQL text holds only
//! quoted, checked column names, fixed keywords, `NULL` and placeholders (`?` or `$n`): every
//! literal of the filter is a bound parameter.
//!
//! SQLite has no `floor`/`ceiling` in its default build and `endswith` needs its argument twice;
//! those use a one-row subquery (`(SELECT … FROM (SELECT <x> AS __a) AS __t)`) so that no
//! sub-expression is repeated, and the rendered SQL grows linearly with the filter.
//!
//! PostgreSQL is strictly typed, so its SQL differs where SQLite is lenient: `strpos` for
//! `instr`, `right` for a negative `substr`, integer casts for `substring`'s positions,
//! `EXTRACT(… AT TIME ZONE 'UTC')` for `year`…`second`, `mod` and `round` on `numeric` (SQLite
//! rounds halves away from zero), and a division or
//! `mod` by zero gives NULL (as on SQLite) instead of an error. A filter that is still ill-typed
//! for PostgreSQL (`name eq 1`) fails in the database, which the backend answers with a 400.

use sync_core::{Column, ColumnType};

use crate::error::{short, Error};
use crate::odata::{BinaryOp, Expr, Func, Literal, UnaryOp};
use crate::storage::SqlValue;

/// The longest SQL a filter may render to.
pub(crate) const MAX_SQL_BYTES: usize = 512 * 1024;
/// The most parameters a filter may bind (SQLite allows 32 766).
pub(crate) const MAX_PARAMS: usize = 10_000;

/// SQL text and its parameters, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Sql {
    /// The text.
    pub text: String,
    /// The parameters for its `?`s.
    pub params: Vec<SqlValue>,
}

/// The SQL dialect to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// SQLite: `?` placeholders.
    Sqlite,
    /// PostgreSQL: `$n` placeholders, numbered from [`render_filter`]'s `first`.
    Postgres,
}

/// What an expression yields, as far as the renderer can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Number,
    Text,
    Date,
    Null,
    /// A JSON column: anything.
    Any,
}

impl Kind {
    fn of(ty: ColumnType) -> Kind {
        match ty {
            ColumnType::String => Kind::Text,
            ColumnType::Bool => Kind::Bool,
            ColumnType::Integer | ColumnType::Real => Kind::Number,
            ColumnType::DateTime => Kind::Date,
            ColumnType::Json => Kind::Any,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Bool => "a boolean",
            Kind::Number => "a number",
            Kind::Text => "a string",
            Kind::Date => "a date-time",
            Kind::Null => "null",
            Kind::Any => "a value",
        }
    }
}

/// A column name as SQL: validated names hold only `[A-Za-z0-9_]`, quoted anyway.
pub(crate) fn ident(name: &str) -> String {
    debug_assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    format!("\"{name}\"")
}

/// Renders a filter against a table's columns (system columns included). PostgreSQL's
/// placeholders start at `$first` (the statement binds `first - 1` parameters before these).
pub(crate) fn render_filter(expr: &Expr, columns: &[Column], dialect: Dialect, first: usize) -> Result<Sql, Error> {
    let mut r = Renderer { columns, dialect, first, sql: Sql::default() };
    let kind = r.expr(expr)?;
    if !matches!(kind, Kind::Bool | Kind::Any | Kind::Null) {
        return Err(Error::bad_request(format!("$filter must be a condition, not {}", kind.name())));
    }
    Ok(r.sql)
}

/// The keyset condition a pull pages with, `(a gt x) or ((a eq x) and (b gt y))` for two
/// columns and two literals that are not `null`: its parts `(a, x, b, y)`.
///
/// It is rendered as the row-value comparison `(a, b) > (x, y)`, which SQL defines as that
/// condition (also with NULLs: left to right, a NULL pair makes it NULL, as the `or`/`and` of
/// the comparisons does). Both databases read a row value as one range of the `(updatedAt, id)`
/// index, while for the `or` SQLite scans the index from its start, testing every row before
/// the page: a pull of n rows did O(n²) work.
fn keyset(items: &[Expr]) -> Option<(&str, &Literal, &str, &Literal)> {
    fn compare(e: &Expr, want: BinaryOp) -> Option<(&str, &Literal)> {
        match e {
            Expr::Binary(op, l, r) if *op == want => match (l.as_ref(), r.as_ref()) {
                (Expr::Column(c), Expr::Literal(v)) if *v != Literal::Null => Some((c, v)),
                _ => None,
            },
            _ => None,
        }
    }
    let [first, Expr::And(rest)] = items else { return None };
    let [eq, second] = rest.as_slice() else { return None };
    let (a, x) = compare(first, BinaryOp::Gt)?;
    let (a2, x2) = compare(eq, BinaryOp::Eq)?;
    let (b, y) = compare(second, BinaryOp::Gt)?;
    (a == a2 && x == x2 && a != b).then_some((a, x, b, y))
}

struct Renderer<'a> {
    columns: &'a [Column],
    dialect: Dialect,
    first: usize,
    sql: Sql,
}

impl Renderer<'_> {
    fn push(&mut self, text: &str) -> Result<(), Error> {
        self.sql.text.push_str(text);
        if self.sql.text.len() > MAX_SQL_BYTES {
            return Err(Error::bad_request("$filter is too complex"));
        }
        Ok(())
    }

    fn bind(&mut self, value: SqlValue) -> Result<(), Error> {
        // PostgreSQL: the placeholder names the type its value is bound as. sqlx prepares a
        // statement once per connection for its text, with the parameter types of that first
        // use, and sends later values in binary: `n eq 2.5` then `n eq -3`, the same text
        // without the cast, would have the bigint's bytes read as a double (no row found).
        let cast = match value {
            SqlValue::Null | SqlValue::Text(_) => "text",
            SqlValue::Bool(_) => "boolean",
            SqlValue::Int(_) => "bigint",
            SqlValue::Real(_) => "double precision",
        };
        self.sql.params.push(value);
        if self.sql.params.len() > MAX_PARAMS {
            return Err(Error::bad_request(format!("$filter has too many literals (at most {MAX_PARAMS})")));
        }
        match self.dialect {
            Dialect::Sqlite => self.push("?"),
            Dialect::Postgres => {
                let n = self.first + self.sql.params.len() - 1;
                self.push(&format!("${n}::{cast}"))
            }
        }
    }

    fn pg(&self) -> bool {
        self.dialect == Dialect::Postgres
    }

    fn expect(&self, kind: Kind, allowed: &[Kind], what: &str) -> Result<(), Error> {
        if kind == Kind::Null || kind == Kind::Any || allowed.contains(&kind) {
            Ok(())
        } else {
            Err(Error::bad_request(format!("$filter: {what} needs {}, not {}", allowed[0].name(), kind.name())))
        }
    }

    fn expr(&mut self, expr: &Expr) -> Result<Kind, Error> {
        match expr {
            Expr::Literal(lit) => self.literal(lit),
            Expr::Column(name) => {
                let Some(col) = self.columns.iter().find(|c| &c.name == name) else {
                    return Err(Error::bad_request(format!("$filter: the table has no column '{}'", short(name))));
                };
                let kind = Kind::of(col.ty);
                self.push(&ident(&col.name))?;
                Ok(kind)
            }
            Expr::Unary(UnaryOp::Not, inner) => {
                self.push("(NOT ")?;
                let k = self.expr(inner)?;
                self.expect(k, &[Kind::Bool], "not")?;
                self.push(")")?;
                Ok(Kind::Bool)
            }
            Expr::Unary(UnaryOp::Neg, inner) => {
                self.push("(- ")?;
                let k = self.expr(inner)?;
                self.expect(k, &[Kind::Number], "unary -")?;
                self.push(")")?;
                Ok(Kind::Number)
            }
            Expr::Or(items) if let Some((a, x, b, y)) = keyset(items) => {
                self.push("((")?;
                self.expr(&Expr::Column(a.to_owned()))?;
                self.push(", ")?;
                self.expr(&Expr::Column(b.to_owned()))?;
                self.push(") > (")?;
                self.literal(x)?;
                self.push(", ")?;
                self.literal(y)?;
                self.push("))")?;
                Ok(Kind::Bool)
            }
            Expr::And(items) | Expr::Or(items) => {
                let (joiner, word) = if matches!(expr, Expr::And(_)) { (" AND ", "and") } else { (" OR ", "or") };
                self.push("(")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.push(joiner)?;
                    }
                    let k = self.expr(item)?;
                    self.expect(k, &[Kind::Bool], word)?;
                }
                self.push(")")?;
                Ok(Kind::Bool)
            }
            Expr::Binary(op, left, right) if op.is_comparison() => self.comparison(*op, left, right),
            Expr::Binary(op, left, right) if self.pg() && matches!(op, BinaryOp::Div | BinaryOp::Mod) => {
                // PostgreSQL: no `%` on floats, and a zero divisor is an error; SQLite gives NULL.
                let (open, mid) = if *op == BinaryOp::Mod {
                    ("mod(CAST(", " AS numeric), NULLIF(CAST(")
                } else {
                    ("(", " / NULLIF(")
                };
                self.push(open)?;
                let l = self.expr(left)?;
                self.expect(l, &[Kind::Number], "arithmetic")?;
                self.push(mid)?;
                let r = self.expr(right)?;
                self.expect(r, &[Kind::Number], "arithmetic")?;
                self.push(if *op == BinaryOp::Mod { " AS numeric), 0))" } else { ", 0))" })?;
                Ok(Kind::Number)
            }
            Expr::Binary(op, left, right) => {
                let sql_op = match op {
                    BinaryOp::Add => " + ",
                    BinaryOp::Sub => " - ",
                    BinaryOp::Mul => " * ",
                    BinaryOp::Div => " / ",
                    _ => " % ",
                };
                self.push("(")?;
                let l = self.expr(left)?;
                self.expect(l, &[Kind::Number], "arithmetic")?;
                self.push(sql_op)?;
                let r = self.expr(right)?;
                self.expect(r, &[Kind::Number], "arithmetic")?;
                self.push(")")?;
                Ok(Kind::Number)
            }
            Expr::Call(func, args) => self.call(*func, args),
        }
    }

    fn literal(&mut self, lit: &Literal) -> Result<Kind, Error> {
        let (value, kind) = match lit {
            // The keyword, not a parameter: an untyped NULL fits any PostgreSQL type.
            Literal::Null => {
                self.push("NULL")?;
                return Ok(Kind::Null);
            }
            Literal::Bool(b) => (SqlValue::Bool(*b), Kind::Bool),
            Literal::Int(n) => (SqlValue::Int(*n), Kind::Number),
            Literal::Real(f) => (SqlValue::Real(*f), Kind::Number),
            Literal::Str(s) => (SqlValue::Text(s.clone()), Kind::Text),
            Literal::DateTime(s) => (SqlValue::Text(s.clone()), Kind::Date),
        };
        self.bind(value)?;
        Ok(kind)
    }

    fn comparison(&mut self, op: BinaryOp, left: &Expr, right: &Expr) -> Result<Kind, Error> {
        let is_null = |e: &Expr| matches!(e, Expr::Literal(Literal::Null));
        // `x eq null` / `x ne null` are IS [NOT] NULL (SQL's `= NULL` is never true).
        if matches!(op, BinaryOp::Eq | BinaryOp::Ne) && (is_null(left) || is_null(right)) {
            let other = if is_null(left) { right } else { left };
            self.push("(")?;
            if is_null(other) {
                self.push("NULL")?;
            } else {
                self.expr(other)?;
            }
            self.push(if op == BinaryOp::Eq { " IS NULL)" } else { " IS NOT NULL)" })?;
            return Ok(Kind::Bool);
        }
        let sql_op = match op {
            BinaryOp::Eq => " = ",
            BinaryOp::Ne => " <> ",
            BinaryOp::Gt => " > ",
            BinaryOp::Ge => " >= ",
            BinaryOp::Lt => " < ",
            _ => " <= ",
        };
        self.push("(")?;
        self.expr(left)?;
        self.push(sql_op)?;
        self.expr(right)?;
        self.push(")")?;
        Ok(Kind::Bool)
    }

    fn arg(&mut self, e: &Expr, allowed: &[Kind], what: &str) -> Result<(), Error> {
        let k = self.expr(e)?;
        self.expect(k, allowed, what)
    }

    fn call(&mut self, func: Func, args: &[Expr]) -> Result<Kind, Error> {
        const TEXT: &[Kind] = &[Kind::Text];
        const NUM: &[Kind] = &[Kind::Number];
        const DATE: &[Kind] = &[Kind::Date, Kind::Text];
        let name = format!("{func:?}").to_ascii_lowercase();
        let a = |i: usize| &args[i];
        let instr = if self.pg() { "(strpos(" } else { "(instr(" };
        match func {
            Func::SubstringOf => {
                self.push(instr)?;
                self.arg(a(1), TEXT, &name)?;
                self.push(", ")?;
                self.arg(a(0), TEXT, &name)?;
                self.push(") > 0)")?;
                Ok(Kind::Bool)
            }
            Func::StartsWith => {
                self.push(instr)?;
                self.arg(a(0), TEXT, &name)?;
                self.push(", ")?;
                self.arg(a(1), TEXT, &name)?;
                self.push(") = 1)")?;
                Ok(Kind::Bool)
            }
            Func::EndsWith => {
                self.push(if self.pg() {
                    "(SELECT CASE WHEN length(__b) = 0 THEN true ELSE right(__a, length(__b)) = __b END FROM (SELECT "
                } else {
                    "(SELECT CASE WHEN length(__b) = 0 THEN 1 ELSE substr(__a, -length(__b)) = __b END FROM (SELECT "
                })?;
                self.arg(a(0), TEXT, &name)?;
                self.push(" AS __a, ")?;
                self.arg(a(1), TEXT, &name)?;
                self.push(" AS __b) AS __t)")?;
                Ok(Kind::Bool)
            }
            Func::IndexOf => {
                self.push(instr)?;
                self.arg(a(0), TEXT, &name)?;
                self.push(", ")?;
                self.arg(a(1), TEXT, &name)?;
                self.push(") - 1)")?;
                Ok(Kind::Number)
            }
            Func::Concat => {
                self.push("(")?;
                self.arg(a(0), TEXT, &name)?;
                self.push(" || ")?;
                self.arg(a(1), TEXT, &name)?;
                self.push(")")?;
                Ok(Kind::Text)
            }
            Func::Substring => {
                // PostgreSQL's substr takes `integer` positions (not `bigint` or `float`).
                let (open, close) = if self.pg() { ("CAST(", " AS integer)") } else { ("", "") };
                self.push("substr(")?;
                self.arg(a(0), TEXT, &name)?;
                self.push(&format!(", {open}("))?;
                self.arg(a(1), NUM, &name)?;
                self.push(&format!(") + 1{close}"))?;
                if let Some(len) = args.get(2) {
                    self.push(&format!(", {open}"))?;
                    self.arg(len, NUM, &name)?;
                    self.push(close)?;
                }
                self.push(")")?;
                Ok(Kind::Text)
            }
            Func::Replace => {
                self.push("replace(")?;
                for i in 0..3 {
                    if i > 0 {
                        self.push(", ")?;
                    }
                    self.arg(a(i), TEXT, &name)?;
                }
                self.push(")")?;
                Ok(Kind::Text)
            }
            Func::ToLower | Func::ToUpper | Func::Trim | Func::Length => {
                let sql = match func {
                    Func::ToLower => "lower(",
                    Func::ToUpper => "upper(",
                    Func::Trim => "trim(",
                    _ => "length(",
                };
                self.push(sql)?;
                self.arg(a(0), TEXT, &name)?;
                self.push(")")?;
                Ok(if func == Func::Length { Kind::Number } else { Kind::Text })
            }
            Func::Year | Func::Month | Func::Day | Func::Hour | Func::Minute | Func::Second if self.pg() => {
                let field = format!("{func:?}").to_ascii_uppercase();
                self.push(&format!("CAST(floor(EXTRACT({field} FROM CAST("))?;
                self.arg(a(0), DATE, &name)?;
                self.push(" AS timestamptz) AT TIME ZONE 'UTC')) AS bigint)")?;
                Ok(Kind::Number)
            }
            Func::Year | Func::Month | Func::Day | Func::Hour | Func::Minute | Func::Second => {
                let format = match func {
                    Func::Year => "%Y",
                    Func::Month => "%m",
                    Func::Day => "%d",
                    Func::Hour => "%H",
                    Func::Minute => "%M",
                    _ => "%S",
                };
                self.push(&format!("CAST(strftime('{format}', "))?;
                self.arg(a(0), DATE, &name)?;
                self.push(") AS INTEGER)")?;
                Ok(Kind::Number)
            }
            Func::Round => {
                // Halves away from zero, as SQLite (PostgreSQL's float round goes to even).
                self.push(if self.pg() { "round(CAST(" } else { "round(" })?;
                self.arg(a(0), NUM, &name)?;
                self.push(if self.pg() { " AS numeric))" } else { ")" })?;
                Ok(Kind::Number)
            }
            Func::Floor | Func::Ceiling if self.pg() => {
                self.push(if func == Func::Floor { "floor(" } else { "ceiling(" })?;
                self.arg(a(0), NUM, &name)?;
                self.push(")")?;
                Ok(Kind::Number)
            }
            Func::Floor | Func::Ceiling => {
                let (cmp, sign) = if func == Func::Floor { ("<", "-") } else { (">", "+") };
                self.push(&format!(
                    "(SELECT CAST(__a AS INTEGER) {sign} (__a {cmp} CAST(__a AS INTEGER)) FROM (SELECT "
                ))?;
                self.arg(a(0), NUM, &name)?;
                self.push(" AS __a) AS __t)")?;
                Ok(Kind::Number)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::odata::parse_filter;
    use sync_core::ColumnType;

    pub(crate) fn columns() -> Vec<Column> {
        let mut c = crate::table::system_columns();
        c.push(Column::nullable("name", ColumnType::String));
        c.push(Column::nullable("n", ColumnType::Real));
        c.push(Column::nullable("flag", ColumnType::Bool));
        c.push(Column::nullable("d", ColumnType::DateTime));
        c
    }

    fn sql(filter: &str) -> Sql {
        render_filter(&parse_filter(filter).unwrap(), &columns(), Dialect::Sqlite, 1).unwrap()
    }

    #[test]
    fn literals_are_parameters() {
        let s = sql("name eq 'x'') OR 1=1 --' and n gt 2.5 and flag eq true");
        assert_eq!(s.text, "((\"name\" = ?) AND (\"n\" > ?) AND (\"flag\" = ?))");
        assert_eq!(s.params, vec![SqlValue::Text("x') OR 1=1 --".into()), SqlValue::Real(2.5), SqlValue::Bool(true)]);
    }

    #[test]
    fn null_comparisons() {
        assert_eq!(sql("d eq null").text, "(\"d\" IS NULL)");
        assert_eq!(sql("null ne d").text, "(\"d\" IS NOT NULL)");
        assert!(sql("d eq null").params.is_empty());
    }

    #[test]
    fn postgres_numbers_its_placeholders_from_first() {
        let f = parse_filter("name eq 'a' and n gt 1 and substring(name, 1) eq 'b'").unwrap();
        let s = render_filter(&f, &columns(), Dialect::Postgres, 3).unwrap();
        assert_eq!(
            s.text,
            "((\"name\" = $3::text) AND (\"n\" > $4::bigint) AND \
             (substr(\"name\", CAST(($5::bigint) + 1 AS integer)) = $6::text))"
        );
        assert_eq!(s.params.len(), 4);
    }

    /// The same filter with literals of other types is other SQL text on PostgreSQL, where a
    /// statement is prepared once per text with the types of its first parameters.
    #[test]
    fn postgres_placeholders_name_their_types() {
        let render = |f: &str| render_filter(&parse_filter(f).unwrap(), &columns(), Dialect::Postgres, 1).unwrap().text;
        assert_eq!(render("n eq 2.5"), "(\"n\" = $1::double precision)");
        assert_eq!(render("n eq -3"), "(\"n\" = $1::bigint)");
        assert_ne!(render("n eq 2.5"), render("n eq 3"));
    }

    #[test]
    fn dates_bind_canonical_text() {
        let s = sql("updatedAt ge datetimeoffset'2024-01-01T01:00:00.0000000+01:00'");
        assert_eq!(s.params, vec![SqlValue::Text("2024-01-01T00:00:00.000Z".into())]);
    }

    #[test]
    fn errors() {
        let cols = columns();
        for (filter, msg) in [
            ("nope eq 1", "no column 'nope'"),
            ("n", "must be a condition"),
            ("name add 1 eq 2", "arithmetic needs a number"),
            ("not n", "not needs a boolean"),
            ("length(n) eq 1", "length needs a string"),
        ] {
            let err = render_filter(&parse_filter(filter).unwrap(), &cols, Dialect::Sqlite, 1).unwrap_err();
            assert!(err.message().contains(msg), "{filter}: {err}");
            assert_eq!(err.status(), 400);
        }
    }

    #[test]
    fn the_keyset_condition_is_a_row_value_comparison() {
        let keyset = "(updatedAt gt datetimeoffset'2024-01-01T00:00:00Z') or \
                      ((updatedAt eq datetimeoffset'2024-01-01T00:00:00Z') and (id gt 'b'))";
        let s = sql(keyset);
        assert_eq!(s.text, "((\"updatedAt\", \"id\") > (?, ?))");
        assert_eq!(s.params, vec![SqlValue::Text("2024-01-01T00:00:00.000Z".into()), SqlValue::Text("b".into())]);
        let pg = render_filter(&parse_filter(keyset).unwrap(), &columns(), Dialect::Postgres, 2).unwrap();
        assert_eq!(pg.text, "((\"updatedAt\", \"id\") > ($2::text, $3::text))");
        // Inside other conditions too (a per_user table ANDs its owner filter in front).
        assert_eq!(
            sql(&format!("name eq 'x' and ({keyset})")).text,
            "((\"name\" = ?) AND ((\"updatedAt\", \"id\") > (?, ?)))"
        );
        // Anything else is rendered as written.
        for other in [
            "(updatedAt gt datetimeoffset'2024-01-01T00:00:00Z') or ((updatedAt eq datetimeoffset'2024-01-02T00:00:00Z') and (id gt 'b'))",
            "(updatedAt gt datetimeoffset'2024-01-01T00:00:00Z') or ((id gt 'b') and (updatedAt eq datetimeoffset'2024-01-01T00:00:00Z'))",
            "(updatedAt ge datetimeoffset'2024-01-01T00:00:00Z') or ((updatedAt eq datetimeoffset'2024-01-01T00:00:00Z') and (id gt 'b'))",
            "(name gt null) or ((name eq null) and (id gt 'b'))",
            "(id gt 'a') or ((id eq 'a') and (id gt 'b'))",
            "(n gt 1) or ((n eq 1) and (name gt 'b')) or (flag eq true)",
        ] {
            assert!(!sql(other).text.contains(") > ("), "{other}: {}", sql(other).text);
        }
        let err = render_filter(
            &parse_filter("(nope gt 1) or ((nope eq 1) and (id gt 'b'))").unwrap(),
            &columns(),
            Dialect::Sqlite,
            1,
        )
        .unwrap_err();
        assert_eq!(err.status(), 400);
    }

    #[test]
    fn floor_repeats_nothing() {
        let s = sql("floor(floor(floor(n))) eq 1");
        assert_eq!(s.params.len(), 1);
        assert_eq!(s.text.matches("\"n\"").count(), 1);
    }
}
