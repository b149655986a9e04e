//! Failures below HTTP: the request got no response.

use std::error::Error as StdError;
use std::fmt;

/// What went wrong on the way to a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// No connection: refused, DNS failure, unreachable, connect timeout.
    Connect,
    /// The TLS handshake failed (bad certificate, protocol mismatch).
    Tls,
    /// The request or the wait for a response took too long.
    Timeout,
    /// The connection failed while the body was being sent or read.
    Body,
    /// The request could not be built (a bad URL or header).
    Request,
    /// Anything else.
    Other,
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportErrorKind::Connect => "connect",
            TransportErrorKind::Tls => "tls",
            TransportErrorKind::Timeout => "timeout",
            TransportErrorKind::Body => "body",
            TransportErrorKind::Request => "request",
            TransportErrorKind::Other => "other",
        })
    }
}

/// A request that got no (complete) response.
///
/// [`TransportError::may_have_reached_server`] is the fact retries hinge on: a POST that may
/// have reached the server may have created a job, so it must not be sent again blindly.
/// The message never includes request headers, so it never includes the API key.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{kind} error: {message}{}", if *.may_have_reached_server { "" } else { " (the request did not leave this machine)" })]
pub struct TransportError {
    kind: TransportErrorKind,
    may_have_reached_server: bool,
    message: String,
}

impl TransportError {
    /// An error of `kind`. `may_have_reached_server` must be `false` only when it is certain
    /// that no byte of the request reached the server.
    pub fn new(
        kind: TransportErrorKind,
        may_have_reached_server: bool,
        message: impl Into<String>,
    ) -> Self {
        TransportError {
            kind,
            may_have_reached_server,
            message: message.into(),
        }
    }

    /// A connection that was never made (refused, DNS): the request surely did not reach it.
    pub fn connect(message: impl Into<String>) -> Self {
        TransportError::new(TransportErrorKind::Connect, false, message)
    }

    /// A timeout after the request may have been sent.
    pub fn timeout(message: impl Into<String>) -> Self {
        TransportError::new(TransportErrorKind::Timeout, true, message)
    }

    /// A failure while reading or writing a body.
    pub fn body(message: impl Into<String>) -> Self {
        TransportError::new(TransportErrorKind::Body, true, message)
    }

    pub(crate) fn body_too_large(limit: usize, seen: usize) -> Self {
        TransportError::body(format!(
            "body larger than the {limit}-byte limit (at least {seen} bytes)"
        ))
    }

    /// What went wrong.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }

    /// Whether any part of the request may have reached the server.
    pub fn may_have_reached_server(&self) -> bool {
        self.may_have_reached_server
    }

    /// Whether this was a timeout.
    pub fn is_timeout(&self) -> bool {
        self.kind == TransportErrorKind::Timeout
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Joins an error and its sources into one line, for messages built from foreign errors.
pub(crate) fn chain_message(error: &dyn StdError) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}
