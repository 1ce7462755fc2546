//! Request URLs and headers: table and item URLs, the keyset query string, `If-Match`.
//!
//! Every value is percent-encoded with a strict set (everything but the RFC 3986 unreserved
//! characters `A-Z a-z 0-9 - . _ ~`), so `+` goes out as `%2B`, a space as `%20`, `'` as `%27`,
//! and ids holding `#`, `%`, `?`, spaces or non-ASCII text stay one path segment.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::header::HeaderValue;
use sync_core::backend::{odata_orderby, system, try_odata_filter, validate_id, Cursor, RemoteError};
use sync_core::{CompareOp, Expr, OrderBy, QueryValue, TableSchema};
use url::Url;

/// What is left unencoded in a path segment or a query value.
pub(crate) const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
/// Query keys additionally keep `$` (`$filter`), as every official client sends it.
const KEY: &AsciiSet = &COMPONENT.remove(b'$');

/// The query parameter that makes queries return soft-deleted rows (case-sensitive on NODE).
pub(crate) const INCLUDE_DELETED: &str = "__includeDeleted";

/// An error for a request that is wrong before it is sent (bad table name, id or version).
///
/// `RemoteError` has no kind for "rejected locally", so this is a `BadRequest` with status 400,
/// the status the server would answer, and a message that says nothing was sent.
pub(crate) fn invalid_request(message: impl Into<String>) -> RemoteError {
    RemoteError::BadRequest { status: 400, message: format!("request not sent: {}", message.into()) }
}

/// Checks a table name with the same rules as [`TableSchema`] names.
pub(crate) fn validate_table(table: &str) -> Result<(), RemoteError> {
    TableSchema::new(table, Vec::new()).map(drop).map_err(|e| invalid_request(e.to_string()))
}

/// The base URL, normalised so that its path ends with `/`.
#[derive(Clone)]
pub(crate) struct Endpoint {
    base: Url,
}

impl Endpoint {
    /// Wraps the app's root URL: http(s), no credentials, query or fragment.
    pub(crate) fn new(mut base: Url) -> Result<Self, &'static str> {
        if !matches!(base.scheme(), "http" | "https") {
            return Err("the base URL must be http or https");
        }
        if base.cannot_be_a_base() || base.host().is_none() {
            return Err("the base URL must have a host");
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err("the base URL must not hold credentials; use a TokenProvider");
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err("the base URL must not have a query or fragment");
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(Endpoint { base })
    }

    /// The base URL (no secrets: credentials and queries are refused by [`Endpoint::new`]).
    pub(crate) fn base(&self) -> &Url {
        &self.base
    }

    /// `…/tables/{table}`.
    pub(crate) fn table_url(&self, table: &str) -> Result<Url, RemoteError> {
        validate_table(table)?;
        Ok(self.with_path(&format!("tables/{table}")))
    }

    /// `…/tables/{table}/$batch` (sync-server's extension, see `batch`).
    pub(crate) fn batch_url(&self, table: &str) -> Result<Url, RemoteError> {
        validate_table(table)?;
        Ok(self.with_path(&format!("tables/{table}/$batch")))
    }

    /// `…/tables/{table}/{id}` with the id percent-encoded as one segment.
    pub(crate) fn item_url(&self, table: &str, id: &str) -> Result<Url, RemoteError> {
        validate_table(table)?;
        validate_id(id).map_err(|e| invalid_request(e.to_string()))?;
        Ok(self.with_path(&format!("tables/{table}/{}", utf8_percent_encode(id, COMPONENT))))
    }

    /// The keyset query (`docs/architecture.md`, "Pull with the keyset cursor") for one page;
    /// `with_total` adds `$inlinecount=allpages` (the count of rows on all pages).
    ///
    /// Nothing unchecked goes into `$filter` (`sync_core::backend::try_odata_filter`): a filter
    /// with an invalid column name or literal is refused as a request not sent, and a cursor
    /// whose `updatedAt` is not a date-time is a protocol error, since that text came from the
    /// server (a hostile one could otherwise inject filter text into this request).
    pub(crate) fn query_url(
        &self,
        table: &str,
        filter: Option<&Expr>,
        cursor: Option<&Cursor>,
        top: u64,
        with_total: bool,
    ) -> Result<Url, RemoteError> {
        let url = self.table_url(table)?;
        let keyset = cursor.map(keyset_filter).transpose()?;
        let filter = filter.map(|f| try_odata_filter(f).map_err(|e| invalid_request(e.to_string()))).transpose()?;
        let filter = match (filter, keyset) {
            (Some(f), Some(k)) => Some(format!("{f} and {k}")),
            (f, k) => f.or(k),
        };
        let asc = |c: &str| OrderBy { column: c.to_owned(), descending: false };
        let mut url = paged(url, filter, &odata_orderby(&[asc(system::UPDATED_AT), asc(system::ID)]), top);
        if with_total {
            let query =
                format!("{}&{}", url.query().unwrap_or_default(), encode_query(&[("$inlinecount", "allpages")]));
            url.set_query(Some(&query));
        }
        Ok(url)
    }

    /// The query by id for one page: rows of `filter` after `after_id`, `$orderby=id`. Checked
    /// like [`query_url`](Self::query_url); the id is a literal like any other.
    pub(crate) fn id_query_url(
        &self,
        table: &str,
        filter: Option<&Expr>,
        after_id: Option<&str>,
        top: u64,
    ) -> Result<Url, RemoteError> {
        let url = self.table_url(table)?;
        let after = after_id.map(|id| Expr::Compare {
            column: system::ID.to_owned(),
            op: CompareOp::Gt,
            value: QueryValue::String(id.to_owned()),
        });
        let filter = match (filter, after) {
            (Some(f), Some(a)) => Some(f.clone().and(a)),
            (f, a) => a.or_else(|| f.cloned()),
        };
        let filter = filter.map(|f| try_odata_filter(&f).map_err(|e| invalid_request(e.to_string()))).transpose()?;
        let order = odata_orderby(&[OrderBy { column: system::ID.to_owned(), descending: false }]);
        Ok(paged(url, filter, &order, top))
    }

    fn with_path(&self, rest: &str) -> Url {
        let mut url = self.base.clone();
        let path = format!("{}{rest}", self.base.path());
        url.set_path(&path);
        url
    }
}

/// The `$filter` text of the cursor's keyset condition. The cursor holds the server's own
/// `updatedAt`, so one that is not a date-time is the server's fault: a protocol error.
fn keyset_filter(cursor: &Cursor) -> Result<String, RemoteError> {
    try_odata_filter(&cursor.filter()).map_err(|_| {
        let shown: String = cursor.updated_at.chars().take(64).map(|c| if c.is_control() { '?' } else { c }).collect();
        let more = if cursor.updated_at.chars().count() > 64 { "…" } else { "" };
        RemoteError::protocol(format!(
            "the server sent updatedAt {shown:?}{more}, which is not a date-time; the next page was not asked for"
        ))
    })
}

/// `url` with the query of one page: `$filter`, `$orderby`, `$top` and deleted rows included.
fn paged(mut url: Url, filter: Option<String>, order: &str, top: u64) -> Url {
    let top = top.to_string();
    let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(4);
    if let Some(f) = &filter {
        pairs.push(("$filter", f));
    }
    pairs.push(("$orderby", order));
    pairs.push(("$top", &top));
    pairs.push((INCLUDE_DELETED, "true"));
    url.set_query(Some(&encode_query(&pairs)));
    url
}

/// `k=v&k=v` with keys and values percent-encoded (see the module docs).
pub(crate) fn encode_query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", utf8_percent_encode(k, KEY), utf8_percent_encode(v, COMPONENT)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `If-Match: "<version>"` with inner `"` escaped as `\"`, as the JS client does
/// (`getEtagFromVersion`); `None` if the version cannot be a header value.
pub(crate) fn if_match(version: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("\"{}\"", version.replace('"', "\\\""))).ok()
}

/// The version in a strong `ETag` (quotes removed, `\"` unescaped); `None` for weak tags.
pub(crate) fn version_from_etag(etag: &str) -> Option<String> {
    let etag = etag.trim();
    if etag.starts_with("W/") {
        return None;
    }
    let inner = etag.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(etag);
    if inner.is_empty() {
        return None;
    }
    Some(inner.replace("\\\"", "\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(s: &str) -> Endpoint {
        Endpoint::new(Url::parse(s).unwrap()).unwrap()
    }

    #[test]
    fn base_urls_are_normalised_and_checked() {
        assert_eq!(endpoint("http://h:1/app").table_url("T").unwrap().as_str(), "http://h:1/app/tables/T");
        assert_eq!(endpoint("http://h/").table_url("T").unwrap().as_str(), "http://h/tables/T");
        for bad in ["ftp://h/", "http://u:p@h/", "http://h/?code=x", "http://h/#f", "mailto:x@y"] {
            assert!(Endpoint::new(Url::parse(bad).unwrap()).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_are_one_segment() {
        let e = endpoint("http://h/");
        let url = e.item_url("T", "a b#c%d;e&f=g'h é🦀").unwrap();
        assert_eq!(url.as_str(), "http://h/tables/T/a%20b%23c%25d%3Be%26f%3Dg%27h%20%C3%A9%F0%9F%A6%80");
        assert!(url.query().is_none() && url.fragment().is_none());
        assert!(e.item_url("T", "a/b").is_err());
        assert!(e.item_url("T", "..").is_err());
        assert!(e.item_url("bad table", "a").is_err());
        assert!(e.table_url("__ops").is_err());
    }

    #[test]
    fn if_match_quotes_and_escapes() {
        assert_eq!(if_match("MQ==").unwrap(), "\"MQ==\"");
        assert_eq!(if_match("a\"b").unwrap(), "\"a\\\"b\"");
        assert!(if_match("a\nb").is_none());
        assert_eq!(version_from_etag("\"MQ==\"").as_deref(), Some("MQ=="));
        assert_eq!(version_from_etag("\"a\\\"b\"").as_deref(), Some("a\"b"));
        assert_eq!(version_from_etag("W/\"x\""), None);
    }
}
