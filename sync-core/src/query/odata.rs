//! Serialises queries to OData v3 query options as the Mobile Apps v2 servers parse them.
//!
//! Three things in an [`Expr`] are written without quoting: column names, date-time literals
//! (inside `datetimeoffset'…'`, whose quotes OData cannot escape) and reals. A pull cursor's
//! `updatedAt` comes verbatim from the server and ends up in a date-time literal, so a hostile
//! server could otherwise inject filter text into the next request. [`try_odata_filter`] therefore
//! checks them before writing: column names follow the [`TableSchema`](crate::TableSchema)
//! naming rules, date-times have the ISO-8601 shape (see [`is_odata_datetime`]) and reals are
//! finite. [`odata_filter`] never fails: it neutralises what `try_odata_filter` refuses.

use std::fmt::Write;

use super::expr::{Expr, OrderBy};
use super::value::QueryValue;
use crate::error::QueryError;
use crate::schema::TableSchema;

/// The `$filter` text of an expression whose column names and literals are known to be valid
/// (e.g. a query checked by [`resolve_query`](crate::backend::resolve_query), or one the code
/// builds from constants). For anything else use [`try_odata_filter`].
///
/// Gives the same text as [`try_odata_filter`] whenever that succeeds. What `try_odata_filter`
/// refuses is neutralised rather than written: a column name has every character other than
/// ASCII letters, digits and `_` replaced by `_`, and a date-time literal has its `'` doubled, so
/// no input can add filter text (the server will refuse the result instead).
///
/// ```
/// use sync_core::backend::odata_filter;
/// use sync_core::column;
/// let e = column("text").eq("it's") & column("n").gt(2);
/// assert_eq!(odata_filter(&e), "((text eq 'it''s') and (n gt 2))");
/// assert_eq!(odata_filter(&column("a) or (1 eq 1").eq(1)), "(a__or__1_eq_1 eq 1)");
/// ```
pub fn odata_filter(expr: &Expr) -> String {
    let mut out = String::new();
    let _ = write_expr(&mut out, expr, Mode::Neutralise);
    out
}

/// The `$filter` text of an expression, after checking everything that goes out unquoted:
/// column names (the [`TableSchema`](crate::TableSchema) naming rules), date-time literals (the
/// ISO-8601 shape of [`is_odata_datetime`]) and reals (finite). Use it for any expression that
/// holds text from outside the program, such as a cursor built from the server's `updatedAt`.
///
/// # Errors
///
/// - [`QueryError::NotAllowed`] for a column name that breaks the naming rules;
/// - [`QueryError::TypeMismatch`] for a date-time literal that is not an ISO-8601 date-time, or
///   a real that is NaN or infinite.
///
/// ```
/// use sync_core::backend::{try_odata_filter, Cursor, QueryError};
/// use sync_core::column;
/// assert_eq!(try_odata_filter(&column("n").gt(2)).unwrap(), "(n gt 2)");
/// let hostile = Cursor { updated_at: "2024-01-01T00:00:00.000Z') or (1 eq 1".into(), id: "a".into() };
/// assert!(matches!(try_odata_filter(&hostile.filter()), Err(QueryError::TypeMismatch { column, .. }) if column == "updatedAt"));
/// assert!(matches!(try_odata_filter(&column("a b").eq(1)), Err(QueryError::NotAllowed(_))));
/// ```
pub fn try_odata_filter(expr: &Expr) -> Result<String, QueryError> {
    let mut out = String::new();
    write_expr(&mut out, expr, Mode::Check)?;
    Ok(out)
}

/// The `$orderby` text (`a,b desc`).
pub fn odata_orderby(order: &[OrderBy]) -> String {
    order
        .iter()
        .map(|o| if o.descending { format!("{} desc", o.column) } else { o.column.clone() })
        .collect::<Vec<_>>()
        .join(",")
}

/// An OData literal: strings quoted with `'` doubled, date-times as `datetimeoffset'…'`.
///
/// Like [`odata_filter`], this does not check: a date-time that is not
/// [`is_odata_datetime`] has its `'` doubled, so it cannot end the literal early.
pub fn odata_literal(value: &QueryValue) -> String {
    match value {
        QueryValue::DateTime(s) if !is_odata_datetime(s) => format!("datetimeoffset'{}'", s.replace('\'', "''")),
        _ => literal(value),
    }
}

/// Whether `s` has the shape of an ISO-8601 date-time as servers send `updatedAt`:
/// `YYYY-MM-DDTHH:MM`, then only digits, `:`, `.`, `+`, `-` and `Z` (seconds, fraction, zone),
/// at most 64 bytes. The shape is all that is checked (not that the date exists); it is what
/// makes the text safe inside `datetimeoffset'…'`.
///
/// ```
/// use sync_core::backend::is_odata_datetime;
/// assert!(is_odata_datetime("2024-01-02T03:04:05.678Z"));
/// assert!(is_odata_datetime("2024-01-02T03:04:05.6780000+01:00"));
/// assert!(!is_odata_datetime("2024-01-02T03:04:05.678Z') or (1 eq 1"));
/// assert!(!is_odata_datetime("yesterday"));
/// ```
pub fn is_odata_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    b.len() >= 16
        && b.len() <= 64
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16..].iter().all(|c| c.is_ascii_digit() || b":.+-Z".contains(c))
}

/// What to do with text that cannot be written safely.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Refuse it with a [`QueryError`].
    Check,
    /// Write a harmless replacement.
    Neutralise,
}

fn literal(value: &QueryValue) -> String {
    match value {
        QueryValue::Null => "null".to_owned(),
        QueryValue::Bool(b) => b.to_string(),
        QueryValue::Integer(i) => i.to_string(),
        QueryValue::Real(f) => real_literal(*f),
        QueryValue::String(s) => format!("'{}'", s.replace('\'', "''")),
        QueryValue::DateTime(s) => format!("datetimeoffset'{s}'"),
    }
}

/// The literal compared with `column`, checked in [`Mode::Check`].
fn checked_literal(column: &str, value: &QueryValue, mode: Mode) -> Result<String, QueryError> {
    let refuse = |message: String| Err(QueryError::TypeMismatch { column: column.to_owned(), message });
    match (mode, value) {
        (Mode::Check, QueryValue::DateTime(s)) if !is_odata_datetime(s) => {
            refuse(format!("{:?} is not an ISO-8601 date-time", shorten(s)))
        }
        (Mode::Check, QueryValue::Real(f)) if !f.is_finite() => refuse(format!("{f} is not a finite number")),
        _ => Ok(odata_literal(value)),
    }
}

/// The column name, checked with the schema's naming rules in [`Mode::Check`].
fn checked_column(column: &str, mode: Mode) -> Result<String, QueryError> {
    // A table name and a column name follow the same rules (`TableSchema::new` checks both).
    match TableSchema::new(column, Vec::new()) {
        Ok(_) => Ok(column.to_owned()),
        Err(_) if mode == Mode::Check => Err(QueryError::NotAllowed(format!(
            "the column name {:?} cannot be written into an OData filter: names are ASCII letters, digits \
                 and '_', start with a letter or '_', not with '__', and are at most 128 bytes",
            shorten(column)
        ))),
        Err(_) => {
            let safe: String =
                column.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
            Ok(if safe.is_empty() { "_".to_owned() } else { safe })
        }
    }
}

/// At most 64 characters of untrusted text for an error message, control characters replaced.
fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(64).map(|c| if c.is_control() { '?' } else { c }).collect();
    if s.chars().count() > 64 {
        out.push('…');
    }
    out
}

fn real_literal(f: f64) -> String {
    // Always a decimal point or exponent, so the server parses a real, not an integer overflow.
    let s = format!("{f:?}");
    if s.contains(['.', 'e', 'E']) || !f.is_finite() {
        s
    } else {
        format!("{s}.0")
    }
}

fn write_expr(out: &mut String, expr: &Expr, mode: Mode) -> Result<(), QueryError> {
    match expr {
        Expr::Compare { column, op, value } => {
            let (column, value) = (checked_column(column, mode)?, checked_literal(column, value, mode)?);
            let _ = write!(out, "({column} {} {value})", op.odata());
        }
        Expr::In { column, values } if values.is_empty() => {
            checked_column(column, mode)?;
            // The Node server rejects the literal `false` as a filter; this is false everywhere.
            out.push_str("(1 eq 0)");
        }
        Expr::In { column, values } => {
            let name = checked_column(column, mode)?;
            out.push('(');
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.push_str(" or ");
                }
                let _ = write!(out, "{name} eq {}", checked_literal(column, v, mode)?);
            }
            out.push(')');
        }
        Expr::StartsWith { column, prefix } => {
            let column = checked_column(column, mode)?;
            let _ = write!(out, "startswith({column},{})", literal(&QueryValue::String(prefix.clone())));
        }
        Expr::Contains { column, needle } => {
            let column = checked_column(column, mode)?;
            let _ = write!(out, "substringof({},{column})", literal(&QueryValue::String(needle.clone())));
        }
        Expr::IsNull { column } => {
            let _ = write!(out, "({} eq null)", checked_column(column, mode)?);
        }
        Expr::And(v) if v.is_empty() => out.push_str("(1 eq 1)"),
        Expr::Or(v) if v.is_empty() => out.push_str("(1 eq 0)"),
        Expr::And(v) | Expr::Or(v) => {
            let joiner = if matches!(expr, Expr::And(_)) { " and " } else { " or " };
            out.push('(');
            for (i, e) in v.iter().enumerate() {
                if i > 0 {
                    out.push_str(joiner);
                }
                write_expr(out, e, mode)?;
            }
            out.push(')');
        }
        Expr::Not(e) => {
            out.push_str("not ");
            write_expr(out, e, mode)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cursor::Cursor;
    use crate::query::expr::column;

    fn datetime(s: &str) -> QueryValue {
        QueryValue::DateTime(s.to_owned())
    }

    #[test]
    fn literals() {
        assert_eq!(odata_literal(&QueryValue::Real(2.0)), "2.0");
        assert_eq!(odata_literal(&QueryValue::Real(0.5)), "0.5");
        assert_eq!(odata_literal(&QueryValue::String("a''b".into())), "'a''''b'");
        assert_eq!(odata_literal(&datetime("2024-01-01T00:00:00.000Z")), "datetimeoffset'2024-01-01T00:00:00.000Z'");
        assert_eq!(odata_literal(&datetime("x') or ('1")), "datetimeoffset'x'') or (''1'");
    }

    #[test]
    fn expressions() {
        let e = !(column("a").is_in([1, 2]) | column("s").starts_with("x"));
        assert_eq!(odata_filter(&e), "not ((a eq 1 or a eq 2) or startswith(s,'x'))");
        assert_eq!(odata_filter(&column("s").contains("o'k")), "substringof('o''k',s)");
        assert_eq!(odata_filter(&column("a").is_in(Vec::<i32>::new())), "(1 eq 0)");
    }

    #[test]
    fn datetime_shapes() {
        for ok in [
            "2024-01-02T03:04",
            "2024-01-02T03:04:05Z",
            "2024-01-02T03:04:05.678Z",
            "2024-01-02T03:04:05.6789999Z",
            "2024-01-02T03:04:05+01:00",
            "2024-01-02T03:04:05.000-05:30",
        ] {
            assert!(is_odata_datetime(ok), "{ok}");
        }
        for bad in [
            "",
            "2024-01-02",
            "2024-01-02 03:04:05Z",
            "2024-01-02t03:04:05z",
            "2024-01-02T03:04:05.000Z'",
            "2024-01-01T00:00:00.000Z') or (1 eq 1",
            "2024-01-02T03:04:05Z or",
            "24-01-02T03:04:05Z",
            "２０２４-01-02T03:04:05Z",
            "2024-01-02T03:04:05%27",
            &format!("2024-01-02T03:04:05.{}Z", "0".repeat(60)),
        ] {
            assert!(!is_odata_datetime(bad), "{bad}");
        }
    }

    #[test]
    fn try_odata_filter_matches_odata_filter_on_valid_input() {
        let cursor = Cursor { updated_at: "2024-01-02T03:04:05.678Z".into(), id: "x'y".into() };
        let e = (column("a").is_in([1, 2]) | column("s").starts_with("x") | column("n").is_null())
            & column("d").ge(datetime("2024-01-01T00:00:00.000Z"))
            & !column("r").lt(0.5)
            & cursor.filter()
            & Expr::And(Vec::new())
            & Expr::Or(Vec::new());
        assert_eq!(try_odata_filter(&e).unwrap(), odata_filter(&e));
    }

    #[test]
    fn hostile_datetimes_are_refused() {
        let cursor = Cursor { updated_at: "2024-01-01T00:00:00.000Z') or (1 eq 1".into(), id: "a".into() };
        match try_odata_filter(&cursor.filter()) {
            Err(QueryError::TypeMismatch { column, message }) => {
                assert_eq!(column, "updatedAt");
                assert!(message.contains("not an ISO-8601 date-time"), "{message}");
            }
            other => panic!("expected a type mismatch on updatedAt, got {other:?}"),
        }
        // The same value inside a list and under not/or is found too.
        let in_list = column("d").is_in([datetime("2024-01-01T00:00:00Z"), datetime("nope')")]);
        assert!(
            matches!(try_odata_filter(&!(column("n").eq(1) | in_list)), Err(QueryError::TypeMismatch { column, .. }) if column == "d")
        );
        // Unchecked, it is neutralised: the quote is doubled, so the literal never ends early.
        let text = odata_filter(&cursor.filter());
        assert!(text.contains("datetimeoffset'2024-01-01T00:00:00.000Z'') or (1 eq 1'"), "{text}");
        assert!(!text.contains("Z') or (1 eq 1"), "{text}");
    }

    #[test]
    fn non_finite_reals_are_refused() {
        for f in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(
                matches!(try_odata_filter(&column("r").gt(f)), Err(QueryError::TypeMismatch { column, .. }) if column == "r")
            );
        }
    }

    #[test]
    fn bad_column_names_are_refused() {
        let bad = ["", "a b", "a) or (1 eq 1", "n eq 1 or x", "__ops", "1a", "é", "a'b", &"a".repeat(129)];
        let shapes = |name: &str| {
            [
                column(name).eq(1),
                column(name).is_in([1]),
                column(name).is_in(Vec::<i32>::new()),
                column(name).starts_with("p"),
                column(name).contains("p"),
                column(name).is_null(),
            ]
        };
        for name in bad {
            let neutral: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
            let neutral = if neutral.is_empty() { "_".to_owned() } else { neutral };
            for (e, same_with_x) in shapes(name).into_iter().zip(shapes("x")) {
                match try_odata_filter(&(column("ok").eq(1) & !e.clone())) {
                    Err(QueryError::NotAllowed(m)) => assert!(m.contains("column name"), "{m}"),
                    other => panic!("{e:?}: expected NotAllowed, got {other:?}"),
                }
                // Unchecked, the name is one identifier: the text has the shape it has with `x`.
                assert_eq!(odata_filter(&e).replace(&neutral, "x"), odata_filter(&same_with_x), "{name}");
            }
        }
        assert_eq!(odata_filter(&column("a) or (1 eq 1").eq(1)), "(a__or__1_eq_1 eq 1)");
        assert_eq!(odata_filter(&column("").is_null()), "(_ eq null)");
        for good in ["id", "updatedAt", "_x", "a1_B"] {
            assert_eq!(try_odata_filter(&column(good).eq(1)).unwrap(), format!("({good} eq 1)"));
        }
    }
}
