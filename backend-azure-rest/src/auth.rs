//! Authentication: the [`AuthToken`] secret, the [`TokenProvider`] the app implements, and how the
//! token travels ([`AuthScheme`]).

use std::fmt;

use async_trait::async_trait;
use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION};
use sync_core::backend::RemoteError;

/// An authentication token (an App Service `X-ZUMO-AUTH` token or an OAuth bearer token).
///
/// The value is a secret: `Debug` prints `AuthToken(***)`, there is no `Display`, and the remote
/// marks the header it builds from it as sensitive so it never shows in logs or errors.
///
/// ```
/// use backend_azure_rest::AuthToken;
/// let t = AuthToken::new("s3cr3t");
/// assert_eq!(format!("{t:?}"), "AuthToken(***)");
/// assert_eq!(t.secret(), "s3cr3t");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AuthToken(String);

impl AuthToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        AuthToken(token.into())
    }

    /// The token itself. Handle with care: never log it.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AuthToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthToken(***)")
    }
}

impl From<String> for AuthToken {
    fn from(s: String) -> Self {
        AuthToken(s)
    }
}

impl From<&str> for AuthToken {
    fn from(s: &str) -> Self {
        AuthToken(s.to_owned())
    }
}

/// Supplies the token for each request. The remote asks before **every** request, so an
/// implementation can refresh an expiring token (and should cache it; this is on the hot path).
///
/// Returning `Ok(None)` sends the request without credentials. An `Err` aborts the request with
/// that error unchanged, so the provider chooses its kind: e.g. [`RemoteError::Unauthorized`] when
/// the user must sign in again, or [`RemoteError::Offline`] when the identity provider is
/// unreachable. Never put the token into such an error's message.
#[async_trait]
pub trait TokenProvider: Send + Sync {
    /// The token for the next request.
    async fn token(&self) -> Result<Option<AuthToken>, RemoteError>;

    /// Called when the server answered 401 to a request that carried `rejected`. Return `true` if
    /// a fresh token is now available: the remote then asks [`token`](Self::token) again and
    /// repeats the request once (safe: the server checks credentials before doing anything).
    /// The default returns `false` and the caller gets [`RemoteError::Unauthorized`].
    async fn token_rejected(&self, rejected: &AuthToken) -> bool {
        let _ = rejected;
        false
    }
}

/// A fixed token.
///
/// ```
/// use backend_azure_rest::StaticToken;
/// let p = StaticToken::new("abc");
/// assert_eq!(format!("{p:?}"), "StaticToken(AuthToken(***))");
/// ```
#[derive(Clone, Debug)]
pub struct StaticToken(AuthToken);

impl StaticToken {
    /// A provider that always returns `token`.
    pub fn new(token: impl Into<AuthToken>) -> Self {
        StaticToken(token.into())
    }
}

#[async_trait]
impl TokenProvider for StaticToken {
    async fn token(&self) -> Result<Option<AuthToken>, RemoteError> {
        Ok(Some(self.0.clone()))
    }
}

/// Which header carries the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AuthScheme {
    /// `X-ZUMO-AUTH: <token>`: App Service authentication (the official clients' choice).
    #[default]
    ZumoAuth,
    /// `Authorization: Bearer <token>`.
    Bearer,
}

/// The `X-ZUMO-AUTH` header name.
pub(crate) const X_ZUMO_AUTH: HeaderName = HeaderName::from_static("x-zumo-auth");

impl AuthScheme {
    /// The header for `token`, marked sensitive; `None` if the token cannot be a header value
    /// (control characters or non-visible bytes).
    pub(crate) fn header(self, token: &AuthToken) -> Option<(HeaderName, HeaderValue)> {
        let (name, text) = match self {
            AuthScheme::ZumoAuth => (X_ZUMO_AUTH, token.secret().to_owned()),
            AuthScheme::Bearer => (AUTHORIZATION, format!("Bearer {}", token.secret())),
        };
        let mut value = HeaderValue::from_str(&text).ok()?;
        value.set_sensitive(true);
        Some((name, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_sensitive_and_never_printed() {
        let t = AuthToken::new("tok");
        let (name, value) = AuthScheme::ZumoAuth.header(&t).unwrap();
        assert_eq!(name, "x-zumo-auth");
        assert!(value.is_sensitive());
        assert_eq!(format!("{value:?}"), "Sensitive");
        let (name, value) = AuthScheme::Bearer.header(&t).unwrap();
        assert_eq!(name, AUTHORIZATION);
        assert_eq!(value.to_str().unwrap(), "Bearer tok");
        assert!(AuthScheme::Bearer.header(&AuthToken::new("a\nb")).is_none());
    }
}
