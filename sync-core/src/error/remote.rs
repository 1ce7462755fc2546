//! Errors of a [`Remote`](crate::Remote) call.

use crate::record::Record;

use super::BoxError;

/// The kind of a [`RemoteError`], for matching without the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RemoteErrorKind {
    /// 409/412: the server holds another version.
    Conflict,
    /// 404: no such item (or it is soft-deleted).
    NotFound,
    /// 401: credentials missing, expired or rejected.
    Unauthorized,
    /// Another 4xx: the request is wrong and retrying will not help.
    BadRequest,
    /// No answer arrived: the server could not be reached, the connection dropped, or the request
    /// timed out. The server may or may not have applied the request. Retrying may help.
    Offline,
    /// The server answered 5xx or 429: a temporary failure. Retrying may help.
    Transient,
    /// The response does not follow the protocol (bad JSON, wrong types, too large, …).
    Protocol,
}

/// A [`Remote`](crate::Remote) call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// 409 or 412: the item changed on the server. The server's item is attached when the response
    /// held one (the Node server sends the request item on 409 for insert, so it may be `None`).
    #[error("conflict (HTTP {status}): the item changed on the server")]
    Conflict {
        /// 409 or 412.
        status: u16,
        /// The server's current item.
        server_item: Option<Box<Record>>,
    },
    /// 404.
    #[error("not found: {message}")]
    NotFound {
        /// The server's message.
        message: String,
    },
    /// 401.
    #[error("unauthorized: {message}")]
    Unauthorized {
        /// The server's message.
        message: String,
    },
    /// Any other 4xx.
    #[error("request rejected (HTTP {status}): {message}")]
    BadRequest {
        /// The status code.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// No answer: connection refused or reset, DNS failure, timeout, body cut short. The server
    /// may or may not have applied the request.
    #[error("the server could not be reached: {message}")]
    Offline {
        /// What failed.
        message: String,
        /// The transport's error.
        #[source]
        source: Option<BoxError>,
    },
    /// The server answered 5xx or 429.
    #[error("temporary server failure (HTTP {status}): {message}")]
    Transient {
        /// The status code.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The response's body was larger than the remote accepts (its body limit). A pull answers
    /// it by asking for smaller pages.
    #[error(
        "the response body ({size} bytes or more) exceeds the limit of {limit} bytes: raise the remote's body limit \
         (max_body_bytes) or pull smaller pages (page_size)"
    )]
    TooLarge {
        /// How many bytes had arrived (or were announced) when the limit was passed.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The response did not follow the protocol.
    #[error("protocol error: {message}")]
    Protocol {
        /// What was wrong with the response.
        message: String,
        /// The parser's error.
        #[source]
        source: Option<BoxError>,
    },
}

impl RemoteError {
    /// The error's kind.
    pub fn kind(&self) -> RemoteErrorKind {
        match self {
            RemoteError::Conflict { .. } => RemoteErrorKind::Conflict,
            RemoteError::NotFound { .. } => RemoteErrorKind::NotFound,
            RemoteError::Unauthorized { .. } => RemoteErrorKind::Unauthorized,
            RemoteError::BadRequest { .. } => RemoteErrorKind::BadRequest,
            RemoteError::Offline { .. } => RemoteErrorKind::Offline,
            RemoteError::Transient { .. } => RemoteErrorKind::Transient,
            RemoteError::Protocol { .. } | RemoteError::TooLarge { .. } => RemoteErrorKind::Protocol,
        }
    }

    /// The HTTP status, where one applies.
    pub fn status(&self) -> Option<u16> {
        match self {
            RemoteError::Conflict { status, .. }
            | RemoteError::BadRequest { status, .. }
            | RemoteError::Transient { status, .. } => Some(*status),
            RemoteError::NotFound { .. } => Some(404),
            RemoteError::Unauthorized { .. } => Some(401),
            RemoteError::Offline { .. } | RemoteError::Protocol { .. } | RemoteError::TooLarge { .. } => None,
        }
    }

    /// Whether retrying the same request may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind(), RemoteErrorKind::Transient | RemoteErrorKind::Offline)
    }

    /// Whether no answer arrived (see [`RemoteErrorKind::Offline`]).
    pub fn is_offline(&self) -> bool {
        self.kind() == RemoteErrorKind::Offline
    }

    /// The server's item attached to a conflict.
    pub fn server_item(&self) -> Option<&Record> {
        match self {
            RemoteError::Conflict { server_item, .. } => server_item.as_deref(),
            _ => None,
        }
    }

    /// No answer arrived (connection refused, reset, timeout), without a source.
    pub fn offline(message: impl Into<String>) -> Self {
        RemoteError::Offline { message: message.into(), source: None }
    }

    /// A protocol error without a source.
    pub fn protocol(message: impl Into<String>) -> Self {
        RemoteError::Protocol { message: message.into(), source: None }
    }
}
