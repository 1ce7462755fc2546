//! Tokens of a `$filter` expression.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::error::Error;

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    /// A name: a column, a function, an operator keyword or `true`/`false`/`null`.
    Ident(String),
    /// `'text'` with `''` unescaped.
    Str(String),
    /// An integer literal (optional `L` suffix).
    Int(i64),
    /// A real literal (decimal point, exponent, or `m`/`d`/`f` suffix).
    Real(f64),
    /// `datetime'…'` or `datetimeoffset'…'`, as a canonical UTC instant.
    DateTime(String),
    /// `guid'…'`, kept as its text.
    Guid(String),
    /// `(`.
    Open,
    /// `)`.
    Close,
    /// `,`.
    Comma,
    /// A leading `-` (unary minus).
    Minus,
}

/// Splits a filter into tokens.
pub(crate) fn tokenize(input: &str) -> Result<Vec<Token>, Error> {
    let bytes = input.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            b')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            b',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            b'-' => {
                tokens.push(Token::Minus);
                i += 1;
            }
            b'\'' => {
                let (s, next) = quoted(input, i)?;
                tokens.push(Token::Str(s));
                i = next;
            }
            b'0'..=b'9' | b'.' => {
                let (t, next) = number(input, i)?;
                tokens.push(t);
                i = next;
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b'$' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'$') {
                    i += 1;
                }
                let word = &input[start..i];
                if i < bytes.len() && bytes[i] == b'\'' {
                    let (text, next) = quoted(input, i)?;
                    i = next;
                    tokens.push(typed_literal(word, &text)?);
                } else if i < bytes.len() && bytes[i] == b'/' {
                    return Err(Error::bad_request(format!(
                        "invalid $filter: member paths like '{word}/…' are not supported"
                    )));
                } else {
                    tokens.push(Token::Ident(word.to_owned()));
                }
            }
            b'"' => {
                return Err(Error::bad_request(
                    "invalid $filter: strings are quoted with ' (an embedded ' is written '')",
                ))
            }
            _ => {
                let ch = input[i..].chars().next().unwrap_or('?');
                return Err(Error::bad_request(format!("invalid $filter: unexpected character {ch:?} at {i}")));
            }
        }
    }
    Ok(tokens)
}

/// A `'…'` string starting at `start`; returns the text and the index after the closing quote.
fn quoted(input: &str, start: usize) -> Result<(String, usize), Error> {
    let bytes = input.as_bytes();
    let mut out = String::new();
    let mut i = start + 1;
    let mut run = i;
    loop {
        match bytes.get(i) {
            None => return Err(Error::bad_request("invalid $filter: unterminated string literal")),
            Some(b'\'') if bytes.get(i + 1) == Some(&b'\'') => {
                out.push_str(&input[run..=i]);
                i += 2;
                run = i;
            }
            Some(b'\'') => {
                out.push_str(&input[run..i]);
                return Ok((out, i + 1));
            }
            Some(_) => i += 1,
        }
    }
}

fn number(input: &str, start: usize) -> Result<(Token, usize), Error> {
    let bytes = input.as_bytes();
    let mut i = start;
    let digits = |i: &mut usize| {
        while *i < bytes.len() && bytes[*i].is_ascii_digit() {
            *i += 1;
        }
    };
    digits(&mut i);
    let mut real = false;
    if i < bytes.len() && bytes[i] == b'.' {
        real = true;
        i += 1;
        digits(&mut i);
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        let save = i;
        i += 1;
        if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
            i += 1;
        }
        let exp_start = i;
        digits(&mut i);
        if i == exp_start {
            i = save;
        } else {
            real = true;
        }
    }
    let text = &input[start..i];
    let end = input[start..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
        .map_or(input.len(), |e| start + e);
    let shown = crate::error::short(&input[start..end]);
    let bad = || Error::bad_request(format!("invalid $filter: bad number {shown:?}"));
    let mut suffix_real = false;
    let mut suffix_int = false;
    if i < bytes.len() {
        match bytes[i] {
            b'm' | b'M' | b'd' | b'D' | b'f' | b'F' => {
                suffix_real = true;
                i += 1;
            }
            b'l' | b'L' => {
                suffix_int = true;
                i += 1;
            }
            _ => {}
        }
    }
    if i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'.') {
        return Err(bad());
    }
    if text == "." || text.is_empty() {
        return Err(bad());
    }
    if real || suffix_real {
        if suffix_int {
            return Err(bad());
        }
        let f: f64 = text.parse().map_err(|_| bad())?;
        if !f.is_finite() {
            return Err(bad());
        }
        return Ok((Token::Real(f), i));
    }
    match text.parse::<i64>() {
        Ok(n) => Ok((Token::Int(n), i)),
        // Too large for an Int64: a real, as OData reads a decimal.
        Err(_) if !suffix_int => text.parse::<f64>().map(|f| (Token::Real(f), i)).map_err(|_| bad()),
        Err(_) => Err(bad()),
    }
}

fn typed_literal(kind: &str, text: &str) -> Result<Token, Error> {
    match kind {
        "datetime" | "datetimeoffset" => parse_datetime(text).map(Token::DateTime).ok_or_else(|| {
            Error::bad_request(format!("invalid $filter: {kind}'{}' is not a date-time", crate::error::short(text)))
        }),
        "guid" => {
            let ok = text.len() == 36
                && text
                    .char_indices()
                    .all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() });
            if ok {
                Ok(Token::Guid(text.to_owned()))
            } else {
                Err(Error::bad_request(format!("invalid $filter: guid'{}' is not a GUID", crate::error::short(text))))
            }
        }
        other => Err(Error::bad_request(format!("invalid $filter: {other}'…' literals are not supported"))),
    }
}

/// Parses the instant of a `datetime'…'`/`datetimeoffset'…'` literal into the canonical form
/// (`YYYY-MM-DDTHH:MM:SS.sssZ`, UTC, milliseconds truncated as JavaScript's `Date` does).
/// RFC 3339 with an offset or `Z`; without an offset (the OData v2 `datetime` form) the time is UTC.
/// A space before a trailing `HH:MM` offset is read as `+` (an unencoded `+` in a URL query
/// decodes to a space).
pub(crate) fn parse_datetime(text: &str) -> Option<String> {
    let text = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(sync_core::backend::format_datetime(dt.with_timezone(&Utc)));
    }
    if text.len() > 6 && text.as_bytes()[text.len() - 6] == b' ' {
        let fixed = format!("{}+{}", &text[..text.len() - 6], &text[text.len() - 5..]);
        if let Ok(dt) = DateTime::parse_from_rfc3339(&fixed) {
            return Some(sync_core::backend::format_datetime(dt.with_timezone(&Utc)));
        }
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Some(sync_core::backend::format_datetime(naive.and_utc()));
        }
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(sync_core::backend::format_datetime(date.and_hms_opt(0, 0, 0)?.and_utc()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_unescape_doubled_quotes() {
        assert_eq!(tokenize("'it''s'").unwrap(), vec![Token::Str("it's".into())]);
        assert_eq!(tokenize("''''").unwrap(), vec![Token::Str("'".into())]);
        assert!(tokenize("'open").is_err());
        assert!(tokenize("\"x\"").is_err());
    }

    #[test]
    fn numbers() {
        assert_eq!(tokenize("5").unwrap(), vec![Token::Int(5)]);
        assert_eq!(tokenize("5L").unwrap(), vec![Token::Int(5)]);
        assert_eq!(tokenize("1.5").unwrap(), vec![Token::Real(1.5)]);
        assert_eq!(tokenize("1e3").unwrap(), vec![Token::Real(1000.0)]);
        assert_eq!(tokenize("2.5m").unwrap(), vec![Token::Real(2.5)]);
        assert_eq!(tokenize("3f").unwrap(), vec![Token::Real(3.0)]);
        assert!(tokenize("1x").is_err());
        assert!(tokenize("1.2.3").is_err());
        assert!(tokenize("1e999").is_err());
    }

    #[test]
    fn datetimes() {
        let canon = "2024-01-01T00:00:00.000Z";
        for text in [
            "datetimeoffset'2024-01-01T00:00:00.000Z'",
            "datetimeoffset'2024-01-01T00:00:00.0000000+00:00'",
            "datetimeoffset'2024-01-01T01:00:00+01:00'",
            "datetimeoffset'2024-01-01T01:00:00 01:00'",
            "datetime'2024-01-01T00:00:00Z'",
            "datetime'2024-01-01T00:00:00'",
            "datetime'2024-01-01T00:00'",
        ] {
            assert_eq!(tokenize(text).unwrap(), vec![Token::DateTime(canon.into())], "{text}");
        }
        assert!(tokenize("datetime'yesterday'").is_err());
        assert!(tokenize("binary'00'").is_err());
        assert!(tokenize("guid'not-a-guid'").is_err());
        assert!(tokenize("guid'0f8fad5b-d9cb-469f-a165-70867728950e'").is_ok());
        assert!(tokenize("a/b").is_err());
    }
}
