//! The `$filter` parser: a recursive-descent parser for the OData v2/v3 subset that the official
//! clients send, with limits on length, nesting and size.
//!
//! Precedence, loosest first (OData v3 §5.1.1, as the Node server's `azure-odata-sql` parses it):
//! `or`; `and`; `eq ne gt ge lt le`; `add sub`; `mul div mod`; unary `not` and `-`; literals,
//! columns, function calls and parentheses. Chains of `and`/`or` become one n-ary node, so a long
//! `id eq 'a' or id eq 'b' or …` list stays shallow.

use super::lexer::{tokenize, Token};
use crate::error::Error;

/// The longest `$filter` accepted, in bytes.
pub const MAX_FILTER_BYTES: usize = 32 * 1024;
/// The deepest nesting accepted (parentheses, function arguments and operators).
pub const MAX_DEPTH: usize = 64;
/// The most nodes (literals, columns, operators, calls) a filter may have.
pub const MAX_NODES: usize = 10_000;

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A real number.
    Real(f64),
    /// A string (also `guid'…'` literals, compared as their text).
    Str(String),
    /// A `datetime'…'`/`datetimeoffset'…'` instant, canonical (`YYYY-MM-DDTHH:MM:SS.sssZ`).
    DateTime(String),
}

/// A unary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `not`.
    Not,
    /// `-`.
    Neg,
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `eq`.
    Eq,
    /// `ne`.
    Ne,
    /// `gt`.
    Gt,
    /// `ge`.
    Ge,
    /// `lt`.
    Lt,
    /// `le`.
    Le,
    /// `add`.
    Add,
    /// `sub`.
    Sub,
    /// `mul`.
    Mul,
    /// `div`.
    Div,
    /// `mod`.
    Mod,
}

impl BinaryOp {
    fn from_keyword(word: &str) -> Option<BinaryOp> {
        Some(match word {
            "eq" => BinaryOp::Eq,
            "ne" => BinaryOp::Ne,
            "gt" => BinaryOp::Gt,
            "ge" => BinaryOp::Ge,
            "lt" => BinaryOp::Lt,
            "le" => BinaryOp::Le,
            "add" => BinaryOp::Add,
            "sub" => BinaryOp::Sub,
            "mul" => BinaryOp::Mul,
            "div" => BinaryOp::Div,
            "mod" => BinaryOp::Mod,
            _ => return None,
        })
    }

    /// Whether it compares (rather than computes).
    pub fn is_comparison(self) -> bool {
        matches!(self, BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Gt | BinaryOp::Ge | BinaryOp::Lt | BinaryOp::Le)
    }
}

/// A function of the filter grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// `substringof(needle, haystack)`: whether `needle` occurs in `haystack`.
    SubstringOf,
    /// `startswith(s, prefix)`.
    StartsWith,
    /// `endswith(s, suffix)`.
    EndsWith,
    /// `indexof(s, t)`: 0-based position of `t` in `s`, -1 if absent.
    IndexOf,
    /// `concat(a, b)`.
    Concat,
    /// `substring(s, start[, length])`, 0-based.
    Substring,
    /// `replace(s, find, with)`.
    Replace,
    /// `tolower(s)` (ASCII letters).
    ToLower,
    /// `toupper(s)` (ASCII letters).
    ToUpper,
    /// `trim(s)`.
    Trim,
    /// `length(s)` in characters.
    Length,
    /// `year(d)`.
    Year,
    /// `month(d)`.
    Month,
    /// `day(d)`.
    Day,
    /// `hour(d)`.
    Hour,
    /// `minute(d)`.
    Minute,
    /// `second(d)`.
    Second,
    /// `round(x)`, half away from zero.
    Round,
    /// `floor(x)`.
    Floor,
    /// `ceiling(x)`.
    Ceiling,
}

impl Func {
    fn from_name(name: &str) -> Option<Func> {
        Some(match name {
            "substringof" => Func::SubstringOf,
            "startswith" => Func::StartsWith,
            "endswith" => Func::EndsWith,
            "indexof" => Func::IndexOf,
            "concat" => Func::Concat,
            "substring" => Func::Substring,
            "replace" => Func::Replace,
            "tolower" => Func::ToLower,
            "toupper" => Func::ToUpper,
            "trim" => Func::Trim,
            "length" => Func::Length,
            "year" => Func::Year,
            "month" => Func::Month,
            "day" => Func::Day,
            "hour" => Func::Hour,
            "minute" => Func::Minute,
            "second" => Func::Second,
            "round" => Func::Round,
            "floor" => Func::Floor,
            "ceiling" => Func::Ceiling,
            _ => return None,
        })
    }

    /// The accepted argument counts.
    fn arity(self) -> (usize, usize) {
        match self {
            Func::SubstringOf | Func::StartsWith | Func::EndsWith | Func::IndexOf | Func::Concat => (2, 2),
            Func::Substring => (2, 3),
            Func::Replace => (3, 3),
            _ => (1, 1),
        }
    }

    /// Whether the function yields a boolean.
    pub fn is_predicate(self) -> bool {
        matches!(self, Func::SubstringOf | Func::StartsWith | Func::EndsWith)
    }
}

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal.
    Literal(Literal),
    /// A column of the table (checked against the table when the filter is turned into SQL).
    Column(String),
    /// `not x`, `-x`.
    Unary(UnaryOp, Box<Expr>),
    /// `a op b`.
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `a and b and …` (two or more).
    And(Vec<Expr>),
    /// `a or b or …` (two or more).
    Or(Vec<Expr>),
    /// A function call with its arguments.
    Call(Func, Vec<Expr>),
}

/// Parses a `$filter` value. Errors are 400s with a message that says what is wrong.
pub fn parse_filter(input: &str) -> Result<Expr, Error> {
    if input.len() > MAX_FILTER_BYTES {
        return Err(Error::bad_request(format!(
            "$filter is too long ({} bytes; at most {MAX_FILTER_BYTES})",
            input.len()
        )));
    }
    let tokens = tokenize(input)?;
    if tokens.is_empty() {
        return Err(Error::bad_request("invalid $filter: the expression is empty"));
    }
    let mut p = Parser { tokens, pos: 0, level: 0, nodes: 0 };
    let (expr, _) = p.or()?;
    if p.pos < p.tokens.len() {
        return Err(Error::bad_request(format!("invalid $filter: unexpected {} after the expression", p.describe())));
    }
    Ok(expr)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Recursion depth of the descent (parentheses, unary operators, call arguments).
    level: usize,
    nodes: usize,
}

/// An expression and the depth of its tree.
type Parsed = (Expr, usize);

fn too_deep() -> Error {
    Error::bad_request(format!("$filter is nested too deeply (at most {MAX_DEPTH} levels)"))
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_word(&self) -> Option<&str> {
        match self.peek() {
            Some(Token::Ident(w)) => Some(w),
            _ => None,
        }
    }

    fn describe(&self) -> String {
        match self.peek() {
            None => "end of input".to_owned(),
            Some(Token::Ident(w)) => format!("'{}'", crate::error::short(w)),
            Some(Token::Str(_)) => "a string".to_owned(),
            Some(Token::Int(_) | Token::Real(_)) => "a number".to_owned(),
            Some(Token::DateTime(_)) => "a date-time".to_owned(),
            Some(Token::Guid(_)) => "a guid".to_owned(),
            Some(Token::Open) => "'('".to_owned(),
            Some(Token::Close) => "')'".to_owned(),
            Some(Token::Comma) => "','".to_owned(),
            Some(Token::Minus) => "'-'".to_owned(),
        }
    }

    fn node(&mut self, expr: Expr, depth: usize) -> Result<Parsed, Error> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(Error::bad_request(format!("$filter is too large (at most {MAX_NODES} terms)")));
        }
        if depth > MAX_DEPTH {
            return Err(too_deep());
        }
        Ok((expr, depth))
    }

    fn nested<T>(&mut self, f: impl FnOnce(&mut Parser) -> Result<T, Error>) -> Result<T, Error> {
        self.level += 1;
        if self.level > MAX_DEPTH {
            return Err(too_deep());
        }
        let out = f(self);
        self.level -= 1;
        out
    }

    fn or(&mut self) -> Result<Parsed, Error> {
        self.chain("or", Parser::and, Expr::Or)
    }

    fn and(&mut self) -> Result<Parsed, Error> {
        self.chain("and", Parser::comparison, Expr::And)
    }

    fn chain(
        &mut self,
        keyword: &str,
        next: fn(&mut Parser) -> Result<Parsed, Error>,
        make: fn(Vec<Expr>) -> Expr,
    ) -> Result<Parsed, Error> {
        let (first, mut depth) = next(self)?;
        if self.peek_word() != Some(keyword) {
            return Ok((first, depth));
        }
        let mut items = vec![first];
        while self.peek_word() == Some(keyword) {
            self.pos += 1;
            let (e, d) = next(self)?;
            depth = depth.max(d);
            items.push(e);
        }
        self.node(make(items), depth + 1)
    }

    fn binary(&mut self, ops: &[BinaryOp], next: fn(&mut Parser) -> Result<Parsed, Error>) -> Result<Parsed, Error> {
        let (mut left, mut depth) = next(self)?;
        while let Some(op) = self.peek_word().and_then(BinaryOp::from_keyword).filter(|op| ops.contains(op)) {
            self.pos += 1;
            let (right, d) = next(self)?;
            let parsed = self.node(Expr::Binary(op, Box::new(left), Box::new(right)), depth.max(d) + 1)?;
            left = parsed.0;
            depth = parsed.1;
        }
        Ok((left, depth))
    }

    fn comparison(&mut self) -> Result<Parsed, Error> {
        use BinaryOp::*;
        self.binary(&[Eq, Ne, Gt, Ge, Lt, Le], Parser::additive)
    }

    fn additive(&mut self) -> Result<Parsed, Error> {
        self.binary(&[BinaryOp::Add, BinaryOp::Sub], Parser::multiplicative)
    }

    fn multiplicative(&mut self) -> Result<Parsed, Error> {
        self.binary(&[BinaryOp::Mul, BinaryOp::Div, BinaryOp::Mod], Parser::unary)
    }

    fn unary(&mut self) -> Result<Parsed, Error> {
        let op = match self.peek() {
            Some(Token::Minus) => UnaryOp::Neg,
            Some(Token::Ident(w)) if w == "not" => UnaryOp::Not,
            _ => return self.primary(),
        };
        self.pos += 1;
        let (inner, depth) = self.nested(Parser::unary)?;
        match (op, inner) {
            // Fold `-5` into the literal, so it binds as -5.
            (UnaryOp::Neg, Expr::Literal(Literal::Int(n))) => Ok((Expr::Literal(Literal::Int(-n)), depth)),
            (UnaryOp::Neg, Expr::Literal(Literal::Real(f))) => Ok((Expr::Literal(Literal::Real(-f)), depth)),
            (op, inner) => self.node(Expr::Unary(op, Box::new(inner)), depth + 1),
        }
    }

    fn primary(&mut self) -> Result<Parsed, Error> {
        let Some(token) = self.tokens.get(self.pos).cloned() else {
            return Err(Error::bad_request("invalid $filter: the expression ends too early"));
        };
        self.pos += 1;
        let literal = match token {
            Token::Str(s) | Token::Guid(s) => Literal::Str(s),
            Token::Int(n) => Literal::Int(n),
            Token::Real(f) => Literal::Real(f),
            Token::DateTime(d) => Literal::DateTime(d),
            Token::Open => {
                let inner = self.nested(Parser::or)?;
                self.expect_close()?;
                return Ok(inner);
            }
            Token::Ident(word) => match word.as_str() {
                "true" => Literal::Bool(true),
                "false" => Literal::Bool(false),
                "null" => Literal::Null,
                _ if self.peek() == Some(&Token::Open) => return self.call(&word),
                _ if is_keyword(&word) => {
                    return Err(Error::bad_request(format!("invalid $filter: '{word}' needs an operand before it")))
                }
                _ => return self.node(Expr::Column(word), 1),
            },
            Token::Close | Token::Comma | Token::Minus => {
                self.pos -= 1;
                return Err(Error::bad_request(format!("invalid $filter: unexpected {}", self.describe())));
            }
        };
        self.node(Expr::Literal(literal), 1)
    }

    fn call(&mut self, name: &str) -> Result<Parsed, Error> {
        let Some(func) = Func::from_name(name) else {
            return Err(Error::bad_request(format!(
                "invalid $filter: unknown function '{}'",
                crate::error::short(name)
            )));
        };
        self.pos += 1; // '('
        let mut args = Vec::new();
        let mut depth = 0;
        if self.peek() != Some(&Token::Close) {
            loop {
                let (arg, d) = self.nested(Parser::or)?;
                depth = depth.max(d);
                args.push(arg);
                match self.peek() {
                    Some(Token::Comma) => self.pos += 1,
                    _ => break,
                }
            }
        }
        self.expect_close()?;
        let (min, max) = func.arity();
        if args.len() < min || args.len() > max {
            let want = if min == max { min.to_string() } else { format!("{min} or {max}") };
            return Err(Error::bad_request(format!(
                "invalid $filter: {name}() takes {want} argument(s), not {}",
                args.len()
            )));
        }
        self.node(Expr::Call(func, args), depth + 1)
    }

    fn expect_close(&mut self) -> Result<(), Error> {
        if self.peek() == Some(&Token::Close) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Error::bad_request(format!("invalid $filter: expected ')' but found {}", self.describe())))
        }
    }
}

fn is_keyword(word: &str) -> bool {
    matches!(word, "and" | "or") || BinaryOp::from_keyword(word).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(c: &str) -> Box<Expr> {
        Box::new(Expr::Column(c.into()))
    }
    fn lit(l: Literal) -> Box<Expr> {
        Box::new(Expr::Literal(l))
    }

    #[test]
    fn precedence() {
        let e = parse_filter("a eq 1 or b eq 2 and c eq 3").unwrap();
        let Expr::Or(items) = e else { panic!("or at the top: {e:?}") };
        assert!(matches!(items[1], Expr::And(_)));
        let e = parse_filter("n add 1 mul 2 eq 7").unwrap();
        assert_eq!(
            e,
            Expr::Binary(
                BinaryOp::Eq,
                Box::new(Expr::Binary(
                    BinaryOp::Add,
                    col("n"),
                    Box::new(Expr::Binary(BinaryOp::Mul, lit(Literal::Int(1)), lit(Literal::Int(2))))
                )),
                lit(Literal::Int(7))
            )
        );
        assert_eq!(parse_filter("n eq -3").unwrap(), Expr::Binary(BinaryOp::Eq, col("n"), lit(Literal::Int(-3))));
        assert!(matches!(parse_filter("not flag").unwrap(), Expr::Unary(UnaryOp::Not, _)));
    }

    #[test]
    fn chains_are_flat() {
        let ids: Vec<String> = (0..500).map(|i| format!("id eq 'x{i}'")).collect();
        let e = parse_filter(&ids.join(" or ")).unwrap();
        let Expr::Or(items) = e else { panic!("or") };
        assert_eq!(items.len(), 500);
    }

    #[test]
    fn functions() {
        assert!(matches!(parse_filter("substringof('a', name)").unwrap(), Expr::Call(Func::SubstringOf, _)));
        assert!(matches!(parse_filter("year(d) eq 2024").unwrap(), Expr::Binary(BinaryOp::Eq, _, _)));
        assert!(parse_filter("substring(name, 1)").is_ok());
        assert!(parse_filter("substring(name)").is_err());
        assert!(parse_filter("nosuch(name)").is_err());
        assert!(parse_filter("round()").is_err());
    }

    #[test]
    fn errors_are_bad_requests() {
        for bad in ["", "name eq", "eq 1", "(a eq 1", "a eq 1)", "a eq 1 b", "a eq 'x", "a in (1,2)", "a/b eq 1", ","] {
            let err = parse_filter(bad).unwrap_err();
            assert_eq!(err.status(), 400, "{bad:?}: {err}");
        }
    }

    #[test]
    fn limits() {
        let deep = format!("{}a eq 1{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
        assert!(parse_filter(&deep).unwrap_err().to_string().contains("nested too deeply"));
        let nots = format!("{}flag", "not ".repeat(MAX_DEPTH + 1));
        assert!(parse_filter(&nots).is_err());
        let sum = format!("n{} eq 1", " add 1".repeat(MAX_DEPTH + 1));
        assert!(parse_filter(&sum).unwrap_err().to_string().contains("nested too deeply"));
        let long = format!("name eq '{}'", "x".repeat(MAX_FILTER_BYTES));
        assert!(parse_filter(&long).unwrap_err().to_string().contains("too long"));
        let ok = format!("{}a eq 1{}", "(".repeat(MAX_DEPTH - 2), ")".repeat(MAX_DEPTH - 2));
        assert!(parse_filter(&ok).is_ok());
    }
}
