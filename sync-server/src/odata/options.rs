//! The query options of `GET /tables/{t}`: `$filter`, `$orderby`, `$top`, `$skip`, `$select`,
//! `$inlinecount`, `__includeDeleted`.

use super::parser::{parse_filter, Expr};
use crate::error::{short, Error};

/// One `$orderby` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBy {
    /// The column.
    pub column: String,
    /// `desc`.
    pub descending: bool,
}

/// The parsed options of a query request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryOptions {
    /// `$filter`.
    pub filter: Option<Expr>,
    /// `$orderby`, in order.
    pub order_by: Vec<OrderBy>,
    /// `$top`; `None` when absent or 0 (the table's page size applies, as on the Node server).
    pub top: Option<u64>,
    /// `$skip`.
    pub skip: u64,
    /// `$select`; `None` for all columns.
    pub select: Option<Vec<String>>,
    /// `$inlinecount=allpages`.
    pub inline_count: bool,
    /// `__includeDeleted=true`.
    pub include_deleted: bool,
}

/// The query parameter that shows soft-deleted rows (its name is case-sensitive, as on the Node
/// server).
pub const INCLUDE_DELETED: &str = "__includeDeleted";

impl QueryOptions {
    /// Parses decoded query pairs. `$`-options other than the ones above, repeated options and
    /// malformed values are 400s; other parameters (the API version, custom parameters) are ignored.
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<QueryOptions, Error> {
        let mut q = QueryOptions::default();
        let mut seen: Vec<&str> = Vec::new();
        for (key, value) in pairs {
            let key = key.as_str();
            if key.starts_with('$') || key == INCLUDE_DELETED {
                if seen.contains(&key) {
                    return Err(Error::bad_request(format!("the query option {} is given twice", short(key))));
                }
                seen.push(key);
            }
            match key {
                "$filter" => q.filter = Some(parse_filter(value)?),
                "$orderby" => q.order_by = parse_order_by(value)?,
                "$top" => {
                    let top = parse_count("$top", value)?;
                    q.top = (top > 0).then_some(top);
                }
                "$skip" => q.skip = parse_count("$skip", value)?,
                "$select" => q.select = parse_select(value)?,
                "$inlinecount" => {
                    q.inline_count = match value.as_str() {
                        "allpages" => true,
                        "none" => false,
                        _ => return Err(Error::bad_request("$inlinecount must be allpages or none")),
                    }
                }
                "$format" if value == "json" => {}
                "$format" => return Err(Error::bad_request("$format must be json")),
                INCLUDE_DELETED => {
                    q.include_deleted = match value.to_ascii_lowercase().as_str() {
                        "true" => true,
                        "false" => false,
                        _ => return Err(Error::bad_request("__includeDeleted must be true or false")),
                    }
                }
                "$count" => {
                    return Err(Error::bad_request(
                        "$count is OData v4; this protocol (ZUMO-API-VERSION 2.0.0) counts with $inlinecount=allpages",
                    ))
                }
                k if k.starts_with('$') => {
                    return Err(Error::bad_request(format!("unknown query option {}", short(k))));
                }
                _ => {}
            }
        }
        Ok(q)
    }
}

fn parse_count(name: &str, value: &str) -> Result<u64, Error> {
    value
        .trim()
        .parse::<u64>()
        .map_err(|_| Error::bad_request(format!("{name} must be a non-negative integer, not {:?}", short(value))))
}

fn name(part: &str, option: &str) -> Result<String, Error> {
    let ok = part.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(part.to_owned())
    } else {
        Err(Error::bad_request(format!("{option}: {:?} is not a column name", short(part))))
    }
}

fn parse_order_by(value: &str) -> Result<Vec<OrderBy>, Error> {
    let mut out = Vec::new();
    for part in value.split(',') {
        let mut words = part.split_whitespace();
        let Some(column) = words.next() else {
            return Err(Error::bad_request("$orderby has an empty key"));
        };
        let descending = match words.next() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(Error::bad_request(format!("$orderby: expected asc or desc, not {:?}", short(other))))
            }
        };
        if words.next().is_some() {
            return Err(Error::bad_request(format!("$orderby: cannot parse {:?}", short(part))));
        }
        out.push(OrderBy { column: name(column, "$orderby")?, descending });
    }
    Ok(out)
}

fn parse_select(value: &str) -> Result<Option<Vec<String>>, Error> {
    if value.trim() == "*" {
        return Ok(None);
    }
    value.split(',').map(|p| name(p.trim(), "$select")).collect::<Result<Vec<_>, _>>().map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn options() {
        let q = QueryOptions::from_pairs(&pairs(&[
            ("$filter", "n gt 1"),
            ("$orderby", "updatedAt, id desc"),
            ("$top", "10"),
            ("$skip", "5"),
            ("$select", "id,n"),
            ("$inlinecount", "allpages"),
            ("__includeDeleted", "true"),
            ("ZUMO-API-VERSION", "2.0.0"),
            ("custom", "x"),
        ]))
        .unwrap();
        assert!(q.filter.is_some());
        assert_eq!(q.order_by.len(), 2);
        assert!(q.order_by[1].descending);
        assert_eq!((q.top, q.skip), (Some(10), 5));
        assert_eq!(q.select.as_deref(), Some(&["id".to_owned(), "n".to_owned()][..]));
        assert!(q.inline_count && q.include_deleted);
        assert_eq!(QueryOptions::from_pairs(&pairs(&[("$top", "0")])).unwrap().top, None);
    }

    #[test]
    fn bad_options() {
        for bad in [
            [("$top", "-1")],
            [("$top", "abc")],
            [("$skip", "1.5")],
            [("$orderby", "a sideways")],
            [("$orderby", "a,")],
            [("$select", "a b")],
            [("$inlinecount", "yes")],
            [("$expand", "x")],
            [("$count", "true")],
            [("__includeDeleted", "maybe")],
        ] {
            assert_eq!(QueryOptions::from_pairs(&pairs(&bad)).unwrap_err().status(), 400, "{bad:?}");
        }
        let twice = pairs(&[("$top", "1"), ("$top", "2")]);
        assert_eq!(QueryOptions::from_pairs(&twice).unwrap_err().status(), 400);
    }
}
