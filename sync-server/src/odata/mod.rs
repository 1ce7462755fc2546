//! The OData v2/v3 query options of the Mobile Apps table protocol: the `$filter` grammar
//! ([`parse_filter`]) and the other options of a query request ([`QueryOptions`]).
//!
//! The parser produces an [`Expr`] tree that holds literals as values; the storage backend turns it
//! into SQL with every literal bound as a parameter. Nothing of the request text is ever pasted into
//! SQL: identifiers are checked against the table's columns and emitted quoted, functions and
//! operators map to fixed SQL text.

mod lexer;
mod options;
mod parser;

pub use options::{OrderBy, QueryOptions};
pub use parser::{parse_filter, BinaryOp, Expr, Func, Literal, UnaryOp, MAX_DEPTH, MAX_FILTER_BYTES, MAX_NODES};
