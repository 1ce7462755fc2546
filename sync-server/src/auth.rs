//! Authentication: JSON Web Tokens from `X-ZUMO-AUTH: <token>` (what the official clients send)
//! or `Authorization: Bearer <token>`, checked with an HS256 secret or the RS256 keys of a JWKS
//! file (the `jsonwebtoken` crate).
//!
//! When the server has an [`Auth`], every `/tables` request needs a valid token: missing,
//! malformed, badly signed, expired (`exp`, required, 60 s leeway), not yet valid (`nbf`) or with
//! the wrong issuer or audience (when configured) is a 401 with `{"error": "…"}` and
//! `WWW-Authenticate: Bearer`. The token's `sub` is the user of `per_user` tables (see [`crate`]).

use std::path::Path;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::error::{Error, ServerError};

/// How tokens are checked.
#[derive(Clone)]
pub struct Auth {
    keys: Keys,
    validation: Validation,
}

#[derive(Clone)]
enum Keys {
    /// One HS256 secret.
    Secret(DecodingKey),
    /// RS256 keys by `kid` (a key without `kid` matches a token without one).
    Jwks(Vec<(Option<String>, DecodingKey)>),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        let kind = match &self.keys {
            Keys::Secret(_) => "HS256 secret".to_owned(),
            Keys::Jwks(keys) => format!("RS256, {} keys", keys.len()),
        };
        f.debug_struct("Auth").field("keys", &kind).finish_non_exhaustive()
    }
}

/// The user a valid token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct User {
    /// The `sub` claim.
    pub id: String,
}

#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
}

impl Auth {
    /// Tokens signed with HS256 and this secret.
    pub fn hs256(secret: impl AsRef<[u8]>) -> Auth {
        Auth::with(Keys::Secret(DecodingKey::from_secret(secret.as_ref())), Algorithm::HS256)
    }

    /// Tokens signed with RS256 by one of the RSA keys of a JWKS document (`{"keys": [...]}`).
    pub fn rs256_jwks(jwks_json: &str) -> Result<Auth, ServerError> {
        let set: JwkSet = serde_json::from_str(jwks_json).map_err(|e| ServerError::Config(format!("JWKS: {e}")))?;
        let mut keys = Vec::new();
        for jwk in &set.keys {
            let key = DecodingKey::from_jwk(jwk).map_err(|e| ServerError::Config(format!("JWKS key: {e}")))?;
            keys.push((jwk.common.key_id.clone(), key));
        }
        if keys.is_empty() {
            return Err(ServerError::Config("the JWKS has no keys".to_owned()));
        }
        Ok(Auth::with(Keys::Jwks(keys), Algorithm::RS256))
    }

    /// [`rs256_jwks`](Self::rs256_jwks) from a file.
    pub fn rs256_jwks_file(path: impl AsRef<Path>) -> Result<Auth, ServerError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ServerError::Config(format!("cannot read the JWKS {}: {e}", path.display())))?;
        Auth::rs256_jwks(&text)
    }

    /// Also requires this `iss`.
    pub fn issuer(mut self, issuer: &str) -> Auth {
        self.validation.set_issuer(&[issuer]);
        self
    }

    /// Also requires this `aud`.
    pub fn audience(mut self, audience: &str) -> Auth {
        self.validation.set_audience(&[audience]);
        self
    }

    fn with(keys: Keys, alg: Algorithm) -> Auth {
        let mut validation = Validation::new(alg);
        validation.validate_nbf = true;
        // No audience unless configured (the library otherwise refuses tokens that have one).
        validation.validate_aud = false;
        Auth { keys, validation }
    }

    /// Checks a token; the error is the 401's message.
    pub(crate) fn check(&self, token: &str) -> Result<User, String> {
        let key = match &self.keys {
            Keys::Secret(key) => key,
            Keys::Jwks(keys) => {
                let header = jsonwebtoken::decode_header(token).map_err(|e| format!("the token is malformed: {e}"))?;
                keys.iter()
                    .find(|(kid, _)| kid.is_none() || *kid == header.kid)
                    .map(|(_, k)| k)
                    .ok_or_else(|| "no key of the JWKS matches the token's kid".to_owned())?
            }
        };
        let data = jsonwebtoken::decode::<Claims>(token, key, &self.validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::ExpiredSignature => "the token has expired".to_owned(),
                ErrorKind::InvalidSignature => "the token's signature is not valid".to_owned(),
                _ => format!("the token is not valid: {e}"),
            }
        })?;
        match data.claims.sub {
            Some(sub) if !sub.is_empty() => Ok(User { id: sub }),
            _ => Err("the token has no sub claim".to_owned()),
        }
    }

    /// Also requires the issuer and audience of a config file, when set.
    pub(crate) fn configured(self, issuer: Option<&str>, audience: Option<&str>) -> Auth {
        let auth = match issuer {
            Some(i) => self.issuer(i),
            None => self,
        };
        match audience {
            Some(a) => auth.audience(a),
            None => auth,
        }
    }
}

/// The token of a request: `X-ZUMO-AUTH`, else `Authorization: Bearer`.
fn token(headers: &HeaderMap) -> Option<&str> {
    if let Some(t) = headers.get("x-zumo-auth").and_then(|v| v.to_str().ok()) {
        return Some(t.trim());
    }
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

/// The middleware: a request without a valid token is a 401; with one, the [`User`] goes into the
/// request's extensions.
pub(crate) async fn require(State(auth): State<std::sync::Arc<Auth>>, mut request: Request, next: Next) -> Response {
    let checked = match token(request.headers()) {
        None | Some("") => {
            Err("authentication required: send a token in X-ZUMO-AUTH or Authorization: Bearer".to_owned())
        }
        Some(t) => auth.check(t),
    };
    match checked {
        Ok(user) => {
            request.extensions_mut().insert(user);
            next.run(request).await
        }
        Err(message) => {
            let mut response = Error::with_status(401, message).into_response();
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            response
        }
    }
}
