//! Scrubbing the secrets a call sent (the auth token, secret extra headers) out of everything that
//! leaves the remote. Servers, proxies and firewalls often echo request headers in an error body;
//! without this the token would travel on into error messages, the errors table of the store, the
//! engine's logs and the app's error reports.
//!
//! A [`Redactor`] is made per call with the builder's secret header values, learns each token the
//! call sends, scrubs the body of every error response before anything reads it, and finally
//! scrubs the error the call returns (its message, its source and its conflict item). Each secret
//! is replaced in the forms a server is likely to echo: as sent (so also after `Bearer `),
//! percent-encoded, JSON-escaped and HTML-escaped; and a secret cut short by a message's length
//! limit (`abcdefgh…`) is replaced too.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;
use sync_core::backend::{BoxError, RemoteError};
use sync_core::Record;

use crate::urls::COMPONENT;

/// What a secret is replaced with.
pub(crate) const REDACTED: &str = "[redacted]";

/// What JavaScript's `encodeURIComponent` leaves unencoded besides letters and digits.
const URI_COMPONENT: &AsciiSet = &COMPONENT.remove(b'!').remove(b'*').remove(b'\'').remove(b'(').remove(b')');

/// A cut-off secret is recognised from this many characters on.
const MIN_CUT_PREFIX: usize = 8;

/// The secrets of one call, and the forms they are replaced in.
#[derive(Clone, Debug, Default)]
pub(crate) struct Redactor {
    /// The secrets as sent.
    secrets: Vec<String>,
    /// Every form to replace, longest first.
    patterns: Vec<String>,
}

impl Redactor {
    /// A redactor that knows `secrets` (empty ones are ignored).
    pub(crate) fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut r = Redactor::default();
        for s in secrets {
            r.add(s);
        }
        r
    }

    /// Learns one more secret (e.g. the token of a request about to be sent).
    pub(crate) fn add(&mut self, secret: &str) {
        if secret.is_empty() || self.secrets.iter().any(|s| s == secret) {
            return;
        }
        self.secrets.push(secret.to_owned());
        for form in encodings(secret) {
            if !self.patterns.contains(&form) {
                self.patterns.push(form);
            }
        }
        self.patterns.sort_by_key(|p| std::cmp::Reverse(p.len()));
    }

    /// Whether `text` holds a secret in any of its forms.
    pub(crate) fn found_in(&self, text: &str) -> bool {
        self.patterns.iter().any(|p| text.contains(p.as_str()))
    }

    /// `text` with every secret replaced, cut-off ones included.
    pub(crate) fn text(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for p in &self.patterns {
            if out.contains(p.as_str()) {
                out = out.replace(p.as_str(), REDACTED);
            }
        }
        if out.contains('…') {
            for secret in &self.secrets {
                // Longest prefix first, so the whole visible part goes.
                let cuts: Vec<usize> = secret.char_indices().map(|(i, _)| i).filter(|&i| i > 0).collect();
                for &end in cuts.iter().rev() {
                    if secret[..end].chars().count() < MIN_CUT_PREFIX {
                        break;
                    }
                    let cut = format!("{}…", &secret[..end]);
                    if out.contains(&cut) {
                        out = out.replace(&cut, &format!("{REDACTED}…"));
                    }
                }
            }
        }
        out
    }

    /// `body` with every secret replaced (bytes, since a body need not be UTF-8).
    pub(crate) fn bytes(&self, body: Vec<u8>) -> Vec<u8> {
        let mut out = body;
        for p in &self.patterns {
            out = replace_bytes(out, p.as_bytes(), REDACTED.as_bytes());
        }
        out
    }

    /// The error with every secret scrubbed from its message, its conflict item, and its source
    /// (which is dropped if it shows a secret: it cannot be rewritten).
    pub(crate) fn error(&self, err: RemoteError) -> RemoteError {
        if self.patterns.is_empty() {
            return err;
        }
        match err {
            RemoteError::NotFound { message } => RemoteError::NotFound { message: self.text(&message) },
            RemoteError::Unauthorized { message } => RemoteError::Unauthorized { message: self.text(&message) },
            RemoteError::BadRequest { status, message } => {
                RemoteError::BadRequest { status, message: self.text(&message) }
            }
            RemoteError::Transient { status, message } => {
                RemoteError::Transient { status, message: self.text(&message) }
            }
            RemoteError::Offline { message, source } => {
                RemoteError::Offline { message: self.text(&message), source: self.source(source) }
            }
            RemoteError::Protocol { message, source } => {
                RemoteError::Protocol { message: self.text(&message), source: self.source(source) }
            }
            RemoteError::Conflict { status, server_item } => {
                RemoteError::Conflict { status, server_item: server_item.and_then(|r| self.record(*r)).map(Box::new) }
            }
            other => other,
        }
    }

    fn source(&self, source: Option<BoxError>) -> Option<BoxError> {
        source.filter(|s| !self.found_in(&s.to_string()) && !self.found_in(&format!("{s:?}")))
    }

    /// The record with secrets replaced in its keys and strings; `None` if that breaks it.
    fn record(&self, record: Record) -> Option<Record> {
        let text = serde_json::to_string(record.as_map()).unwrap_or_default();
        if !self.found_in(&text) {
            return Some(record);
        }
        match self.value(Value::Object(record.into_map())) {
            Value::Object(map) => Record::new(map).ok(),
            _ => None,
        }
    }

    fn value(&self, value: Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.text(&s)),
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.value(v)).collect()),
            Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (self.text(&k), self.value(v))).collect()),
            other => other,
        }
    }
}

/// The forms in which a server may echo `secret`: as sent; percent-encoded with the RFC 3986
/// unreserved set, JavaScript's `encodeURIComponent` set or everything but letters and digits,
/// each with upper- and lower-case hex; JSON-escaped, with and without `\/`; HTML-escaped.
fn encodings(secret: &str) -> Vec<String> {
    let mut forms = vec![secret.to_owned()];
    for set in [COMPONENT, URI_COMPONENT, NON_ALPHANUMERIC] {
        let percent = utf8_percent_encode(secret, set).to_string();
        forms.push(lower_hex(&percent));
        forms.push(percent);
    }
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json.get(1..json.len().saturating_sub(1)).unwrap_or_default().to_owned();
    let html = secret
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    forms.extend([json.replace('/', "\\/"), json, html, secret.replace('\'', "&#x27;").replace('"', "&#34;")]);
    forms.retain(|f| !f.is_empty());
    forms
}

/// `s` with the hex digits of its `%XX` escapes in lower case (the rest unchanged).
fn lower_hex(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut hex_left = 0;
    for c in s.chars() {
        if hex_left > 0 {
            out.push(c.to_ascii_lowercase());
            hex_left -= 1;
        } else {
            if c == '%' {
                hex_left = 2;
            }
            out.push(c);
        }
    }
    out
}

fn replace_bytes(haystack: Vec<u8>, needle: &[u8], with: &[u8]) -> Vec<u8> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return haystack;
    }
    let Some(first) = haystack.windows(needle.len()).position(|w| w == needle) else { return haystack };
    let mut out = Vec::with_capacity(haystack.len());
    out.extend_from_slice(&haystack[..first]);
    out.extend_from_slice(with);
    let mut i = first + needle.len();
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TOKEN: &str = "eyJhbGci.s3cr3t/TOKEN+x==";

    #[test]
    fn every_form_is_replaced() {
        let r = Redactor::new([TOKEN]);
        let percent = utf8_percent_encode(TOKEN, COMPONENT).to_string();
        for echoed in [
            format!("x-zumo-auth: {TOKEN}"),
            format!("authorization: Bearer {TOKEN}"),
            format!("url ?token={percent}"),
            format!("url ?token={}", lower_hex(&percent)),
            format!("url ?token={}", utf8_percent_encode(TOKEN, NON_ALPHANUMERIC)),
            format!("{{\"h\":\"{}\"}}", TOKEN.replace('/', "\\/")),
            format!("{}{TOKEN}{TOKEN}", "x".repeat(3)),
        ] {
            let out = r.text(&echoed);
            assert!(!out.contains("s3cr3t") && out.contains(REDACTED), "{echoed} -> {out}");
            let out = String::from_utf8(r.bytes(echoed.clone().into_bytes())).unwrap();
            assert!(!out.contains("s3cr3t") && out.contains(REDACTED), "{echoed} -> {out}");
        }
        assert_eq!(r.text("authorization: Bearer eyJhbGci.s3cr3t/TOKEN+x=="), "authorization: Bearer [redacted]");
        assert_eq!(r.text("nothing here"), "nothing here");
    }

    #[test]
    fn cut_off_secrets_are_replaced() {
        let r = Redactor::new([TOKEN]);
        assert_eq!(r.text("invalid id \"eyJhbGci.s3cr…\""), "invalid id \"[redacted]…\"");
        // Short prefixes are left: they are no secret, and would hit ordinary words.
        assert_eq!(r.text("eyJh…"), "eyJh…");
    }

    #[test]
    fn errors_are_scrubbed_whole() {
        let r = Redactor::new(["k3y-value-1", "", "tok-2"]);
        let e = r.error(RemoteError::BadRequest { status: 403, message: "denied k3y-value-1 tok-2".into() });
        assert_eq!(e.to_string(), "request rejected (HTTP 403): denied [redacted] [redacted]");
        let source: BoxError = "echo tok-2".into();
        let e = r.error(RemoteError::Protocol { message: "m".into(), source: Some(source) });
        assert!(std::error::Error::source(&e).is_none());
        let item = Record::from_json(json!({"id": "a", "note": "tok-2", "tok-2": ["x tok-2"]})).unwrap();
        let e = r.error(RemoteError::Conflict { status: 412, server_item: Some(Box::new(item)) });
        assert_eq!(
            serde_json::to_value(e.server_item().unwrap().as_map()).unwrap(),
            json!({"id": "a", "note": REDACTED, REDACTED: ["x [redacted]"]})
        );
        let nothing = Redactor::new([]);
        assert_eq!(nothing.text("tok-2"), "tok-2");
    }

    #[test]
    fn bytes_need_not_be_text() {
        let r = Redactor::new(["tok"]);
        assert_eq!(r.bytes(b"\xff tok \xfe tok".to_vec()), b"\xff [redacted] \xfe [redacted]".to_vec());
        assert_eq!(r.bytes(b"to".to_vec()), b"to".to_vec());
    }
}
