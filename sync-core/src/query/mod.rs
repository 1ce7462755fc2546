//! Queries: the filter tree and typed columns ([`expr`]), literals ([`value`]), checking against a
//! schema ([`resolve`]), in-memory evaluation ([`eval`]) and OData serialisation ([`odata`]).

pub mod eval;
pub mod expr;
pub mod odata;
pub mod resolve;
pub mod value;
