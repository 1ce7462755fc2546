//! [`AzureRestRemoteBuilder`]: where the server is, how to reach it, and the limits.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, IF_MATCH};
use url::Url;

use crate::auth::{AuthScheme, StaticToken, TokenProvider, X_ZUMO_AUTH};
use crate::batch::{Batching, Negotiated, MAX_BATCH};
use crate::error::BuildError;
use crate::remote::{AzureRestRemote, Config};
use crate::urls::Endpoint;

/// The default largest response body: 32 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// The default page size, used when `query_page` is asked for 0 rows: the Node server's `maxTop`.
pub const DEFAULT_PAGE_SIZE: u64 = 1000;
/// The default per-request timeout (sending the request and reading the whole response).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// The connect timeout of the default HTTP client.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The protocol headers the remote sets itself; extra headers may not replace them.
const RESERVED: [&str; 7] =
    ["zumo-api-version", "accept", "content-type", "if-match", "x-zumo-auth", "authorization", "host"];

/// Extra headers whose values are secret whether added with [`AzureRestRemoteBuilder::header`]
/// or [`AzureRestRemoteBuilder::secret_header`]: the usual names of API keys and credentials.
const SECRET_HEADERS: [&str; 6] =
    ["cookie", "proxy-authorization", "x-api-key", "api-key", "x-functions-key", "ocp-apim-subscription-key"];

/// Builds an [`AzureRestRemote`].
///
/// ```
/// use std::time::Duration;
/// use backend_azure_rest::{AuthScheme, AzureRestRemote, StaticToken};
///
/// let remote = AzureRestRemote::builder("https://myapp.azurewebsites.net")
///     .token_provider(StaticToken::new("token"))
///     .auth_scheme(AuthScheme::Bearer)
///     .header("X-ZUMO-INSTALLATION-ID", "4a5b…")
///     .timeout(Duration::from_secs(30))
///     .build()
///     .unwrap();
/// assert!(!format!("{remote:?}").contains("token\""));
/// ```
pub struct AzureRestRemoteBuilder {
    base_url: Result<Url, BuildError>,
    client: Option<reqwest::Client>,
    auth: Option<Arc<dyn TokenProvider>>,
    auth_scheme: AuthScheme,
    /// Name, value, and whether the value is a secret to scrub from errors.
    headers: Vec<(String, String, bool)>,
    timeout: Option<Duration>,
    connect_timeout: Duration,
    max_body_bytes: usize,
    default_page_size: u64,
    exact_timestamps: bool,
    fetch_on_insert_conflict: bool,
    batching: Batching,
    batch_size: usize,
}

impl AzureRestRemoteBuilder {
    pub(crate) fn new(base_url: impl AsRef<str>) -> Self {
        let base_url = Url::parse(base_url.as_ref()).map_err(|_| BuildError::InvalidBaseUrl("not a URL"));
        AzureRestRemoteBuilder {
            base_url,
            client: None,
            auth: None,
            auth_scheme: AuthScheme::default(),
            headers: Vec::new(),
            timeout: Some(DEFAULT_TIMEOUT),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            default_page_size: DEFAULT_PAGE_SIZE,
            exact_timestamps: false,
            fetch_on_insert_conflict: true,
            batching: Batching::default(),
            batch_size: MAX_BATCH,
        }
    }

    /// Replaces the base URL: the app's root (`https://host/` or `https://host/prefix/`); tables
    /// are under `tables/{table}` below it. It may not hold credentials, a query or a fragment.
    pub fn base_url(mut self, url: Url) -> Self {
        self.base_url = Ok(url);
        self
    }

    /// Uses this HTTP client (shared connection pool, proxies, TLS roots, …). Its own timeouts and
    /// redirect policy apply; the per-request [`timeout`](Self::timeout) is added on top.
    /// Beware: a client that follows redirects may send the auth header to the redirect target.
    /// Without this, a client with a connect timeout, no redirects and the TLS of the crate's
    /// features is built: rustls (`rustls-tls`, the default) or the platform's TLS (`native-tls`,
    /// which wins when both are on, as in reqwest).
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Asks `provider` for a token before every request.
    pub fn token_provider(mut self, provider: impl TokenProvider + 'static) -> Self {
        self.auth = Some(Arc::new(provider));
        self
    }

    /// Like [`token_provider`](Self::token_provider) for a shared provider.
    pub fn token_provider_arc(mut self, provider: Arc<dyn TokenProvider>) -> Self {
        self.auth = Some(provider);
        self
    }

    /// Sends this fixed token (shorthand for a [`StaticToken`]).
    pub fn token(self, token: impl Into<crate::AuthToken>) -> Self {
        self.token_provider(StaticToken::new(token))
    }

    /// The header that carries the token (default `X-ZUMO-AUTH`).
    pub fn auth_scheme(mut self, scheme: AuthScheme) -> Self {
        self.auth_scheme = scheme;
        self
    }

    /// Adds a header sent with every request (e.g. `X-ZUMO-INSTALLATION-ID`). Its value is never
    /// printed by this crate (`Debug` shows only names, the header is marked sensitive). The
    /// protocol's own headers cannot be replaced.
    ///
    /// A server may still echo the value in an error body. For API keys and other credentials
    /// use [`secret_header`](Self::secret_header), which also scrubs the value from every error;
    /// the values of `Cookie`, `Proxy-Authorization`, `X-Api-Key`, `Api-Key`, `X-Functions-Key`
    /// and `Ocp-Apim-Subscription-Key` are scrubbed whichever method adds them.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        let secret = SECRET_HEADERS.contains(&name.to_ascii_lowercase().as_str());
        self.headers.push((name, value.into(), secret));
        self
    }

    /// Adds a header sent with every request whose value is a secret (an API key, a gateway
    /// subscription key, a cookie): like [`header`](Self::header), and in addition the value is
    /// replaced by `[redacted]` in every error the remote returns, as the auth token is, however
    /// a server echoes it (as sent, percent-encoded, JSON- or HTML-escaped).
    ///
    /// ```
    /// use backend_azure_rest::AzureRestRemote;
    /// let remote = AzureRestRemote::builder("https://myapp.azurewebsites.net")
    ///     .secret_header("X-Gateway-Key", "k-123")
    ///     .build()
    ///     .unwrap();
    /// assert!(!format!("{remote:?}").contains("k-123"));
    /// ```
    pub fn secret_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into(), true));
        self
    }

    /// The limit for one request, from sending it to the end of the response body
    /// (default [`DEFAULT_TIMEOUT`]); `None` leaves only the client's own timeouts.
    pub fn timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.timeout = timeout.into();
        self
    }

    /// The connect timeout of the default client (ignored with [`client`](Self::client)).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The largest response body accepted (default [`DEFAULT_MAX_BODY_BYTES`]), enforced while
    /// reading: a larger response fails with a protocol error without being buffered.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// The page size used when `query_page` is called with `page_size == 0`
    /// (default [`DEFAULT_PAGE_SIZE`]). Larger sizes are sent as asked, never clamped: the Node
    /// server answers 400 above 1000.
    pub fn default_page_size(mut self, rows: u64) -> Self {
        self.default_page_size = rows.max(1);
        self
    }

    /// Declares that the server stores `updatedAt` exactly as it sends it (default `false`).
    ///
    /// By default the remote answers [`Remote::exact_timestamps`](sync_core::Remote::exact_timestamps)
    /// with `false`, so a pull reads the rows around the last timestamp of every full page by id
    /// before it goes on: one more (usually small) request per full page, and no row skipped
    /// on servers that keep more digits than they send (the .NET server; the Node server with
    /// rows another tool wrote into its database). Set `true` only for a server whose every
    /// row's `updatedAt` was written by the server itself in milliseconds, such as a Node server
    /// no other tool writes to. `sync-server` says so itself (`x-sync-extensions:
    /// exact-timestamps` on its answers): the remote then answers `true` from that answer on,
    /// whatever this is set to, and `false` again if a later successful answer stops saying it.
    pub fn exact_timestamps(mut self, exact: bool) -> Self {
        self.exact_timestamps = exact;
        self
    }

    /// On a 409 to an insert, read the existing item with a GET and attach it as the conflict's
    /// server item (default `true`). The Node server's 409 body is the *request* item, never the
    /// server's, so without this the conflict carries no item. A soft-deleted item reads as 404,
    /// and then, as on any failure of that GET, the conflict carries no item.
    pub fn fetch_server_item_on_insert_conflict(mut self, fetch: bool) -> Self {
        self.fetch_on_insert_conflict = fetch;
        self
    }

    /// Whether to send many writes of one table in one `$batch` request, an extension of
    /// sync-server (default [`Batching::Negotiate`]: once the server says it takes them).
    /// [`Batching::Off`] sends one request per write whatever the server says.
    ///
    /// ```
    /// use backend_azure_rest::{AzureRestRemote, Batching};
    /// use sync_core::Remote;
    /// let remote = AzureRestRemote::builder("https://myapp.azurewebsites.net").batching(Batching::Off).build().unwrap();
    /// assert_eq!(remote.max_batch(), 0);
    /// ```
    pub fn batching(mut self, batching: Batching) -> Self {
        self.batching = batching;
        self
    }

    /// The most writes one `$batch` request carries (default and most [`MAX_BATCH`], the
    /// limit of sync-server); 0 or 1 turns batching off.
    pub fn batch_size(mut self, writes: usize) -> Self {
        self.batch_size = writes.min(MAX_BATCH);
        self
    }

    /// Builds the remote.
    pub fn build(self) -> Result<AzureRestRemote, BuildError> {
        let endpoint = Endpoint::new(self.base_url?).map_err(BuildError::InvalidBaseUrl)?;
        let mut headers = HeaderMap::new();
        let mut secrets = Vec::new();
        for (name, value, secret) in self.headers {
            let lower = name.to_ascii_lowercase();
            if RESERVED.contains(&lower.as_str()) {
                return Err(BuildError::ReservedHeader(name));
            }
            let invalid = || BuildError::InvalidHeader { name: name.clone() };
            let header_name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
            let mut header_value = HeaderValue::from_str(&value).map_err(|_| invalid())?;
            header_value.set_sensitive(true);
            headers.append(header_name, header_value);
            if secret {
                secrets.push(value);
            }
        }
        debug_assert!([ACCEPT, CONTENT_TYPE, IF_MATCH, AUTHORIZATION, X_ZUMO_AUTH]
            .iter()
            .all(|h| RESERVED.contains(&h.as_str())));
        let client = match self.client {
            Some(c) => c,
            None if endpoint.base().scheme() == "https" && TLS_BACKEND.is_none() => return Err(BuildError::NoTls),
            None => default_client(self.connect_timeout)?,
        };
        Ok(AzureRestRemote::from_config(Config {
            client,
            endpoint,
            auth: self.auth,
            auth_scheme: self.auth_scheme,
            headers,
            secrets,
            timeout: self.timeout,
            max_body_bytes: self.max_body_bytes,
            default_page_size: self.default_page_size,
            exact_timestamps: self.exact_timestamps,
            fetch_on_insert_conflict: self.fetch_on_insert_conflict,
            batching: if self.batch_size < 2 { Batching::Off } else { self.batching },
            batch_size: self.batch_size,
            negotiated: Negotiated::default(),
        }))
    }
}

impl fmt::Debug for AzureRestRemoteBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureRestRemoteBuilder")
            .field("base_url", &self.base_url.as_ref().map(|u| u.origin().ascii_serialization()).ok())
            .field("auth", &self.auth.as_ref().map(|_| "***"))
            .field("auth_scheme", &self.auth_scheme)
            .field("headers", &self.headers.iter().map(|(n, _, _)| n.as_str()).collect::<Vec<_>>())
            .field("timeout", &self.timeout)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish_non_exhaustive()
    }
}

/// The TLS the default client uses, by the crate's features (`None`: plain http only).
const TLS_BACKEND: Option<&str> = if cfg!(feature = "native-tls") {
    Some("native-tls")
} else if cfg!(feature = "rustls-tls") {
    Some("rustls")
} else {
    None
};

/// The client built when the app brings none: a connect timeout, no redirects, and the TLS of
/// [`TLS_BACKEND`].
fn default_client(connect_timeout: Duration) -> Result<reqwest::Client, BuildError> {
    let builder =
        reqwest::Client::builder().connect_timeout(connect_timeout).redirect(reqwest::redirect::Policy::none());
    #[cfg(feature = "native-tls")]
    let builder = builder.use_native_tls();
    #[cfg(all(feature = "rustls-tls", not(feature = "native-tls")))]
    let builder = builder.use_rustls_tls();
    builder.build().map_err(BuildError::Client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_client_follows_the_tls_features() {
        let https = AzureRestRemote::builder("https://example.invalid").build();
        let http = AzureRestRemote::builder("http://127.0.0.1:1").build();
        assert!(http.is_ok(), "plain http needs no TLS: {:?}", http.err());
        if cfg!(any(feature = "rustls-tls", feature = "native-tls")) {
            assert!(https.is_ok(), "{:?}", https.err());
        } else {
            let e = https.expect_err("https without TLS");
            assert!(matches!(e, BuildError::NoTls), "{e:?}");
            assert!(e.to_string().contains("`rustls-tls`"), "{e}");
            let injected = AzureRestRemote::builder("https://example.invalid").client(reqwest::Client::new()).build();
            assert!(injected.is_ok(), "an injected client brings its own TLS");
        }
    }
}
