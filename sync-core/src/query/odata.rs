//! Serialises queries to OData v3 query options as the Mobile Apps v2 servers parse them.

use std::fmt::Write;

use super::expr::{Expr, OrderBy};
use super::value::QueryValue;

/// The `$filter` text of an expression.
///
/// ```
/// use sync_core::backend::odata_filter;
/// use sync_core::column;
/// let e = column("text").eq("it's") & column("n").gt(2);
/// assert_eq!(odata_filter(&e), "((text eq 'it''s') and (n gt 2))");
/// ```
pub fn odata_filter(expr: &Expr) -> String {
    let mut out = String::new();
    write_expr(&mut out, expr);
    out
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
pub fn odata_literal(value: &QueryValue) -> String {
    match value {
        QueryValue::Null => "null".to_owned(),
        QueryValue::Bool(b) => b.to_string(),
        QueryValue::Integer(i) => i.to_string(),
        QueryValue::Real(f) => real_literal(*f),
        QueryValue::String(s) => format!("'{}'", s.replace('\'', "''")),
        QueryValue::DateTime(s) => format!("datetimeoffset'{s}'"),
    }
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

fn write_expr(out: &mut String, expr: &Expr) {
    match expr {
        Expr::Compare { column, op, value } => {
            let _ = write!(out, "({column} {} {})", op.odata(), odata_literal(value));
        }
        Expr::In { column, values } if values.is_empty() => {
            let _ = column;
            // The Node server rejects the literal `false` as a filter; this is false everywhere.
            out.push_str("(1 eq 0)");
        }
        Expr::In { column, values } => {
            out.push('(');
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    out.push_str(" or ");
                }
                let _ = write!(out, "{column} eq {}", odata_literal(v));
            }
            out.push(')');
        }
        Expr::StartsWith { column, prefix } => {
            let _ = write!(out, "startswith({column},{})", odata_literal(&QueryValue::String(prefix.clone())));
        }
        Expr::Contains { column, needle } => {
            let _ = write!(out, "substringof({},{column})", odata_literal(&QueryValue::String(needle.clone())));
        }
        Expr::IsNull { column } => {
            let _ = write!(out, "({column} eq null)");
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
                write_expr(out, e);
            }
            out.push(')');
        }
        Expr::Not(e) => {
            out.push_str("not ");
            write_expr(out, e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::expr::column;

    #[test]
    fn literals() {
        assert_eq!(odata_literal(&QueryValue::Real(2.0)), "2.0");
        assert_eq!(odata_literal(&QueryValue::Real(0.5)), "0.5");
        assert_eq!(odata_literal(&QueryValue::String("a''b".into())), "'a''''b'");
        assert_eq!(
            odata_literal(&QueryValue::DateTime("2024-01-01T00:00:00.000Z".into())),
            "datetimeoffset'2024-01-01T00:00:00.000Z'"
        );
    }

    #[test]
    fn expressions() {
        let e = !(column("a").is_in([1, 2]) | column("s").starts_with("x"));
        assert_eq!(odata_filter(&e), "not ((a eq 1 or a eq 2) or startswith(s,'x'))");
        assert_eq!(odata_filter(&column("s").contains("o'k")), "substringof('o''k',s)");
        assert_eq!(odata_filter(&column("a").is_in(Vec::<i32>::new())), "(1 eq 0)");
    }
}
