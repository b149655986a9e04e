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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_names_itself_in_the_message() {
        let kinds = [
            (TransportErrorKind::Connect, "connect"),
            (TransportErrorKind::Tls, "tls"),
            (TransportErrorKind::Timeout, "timeout"),
            (TransportErrorKind::Body, "body"),
            (TransportErrorKind::Request, "request"),
            (TransportErrorKind::Other, "other"),
        ];
        for (kind, name) in kinds {
            assert_eq!(kind.to_string(), name);
            let error = TransportError::new(kind, true, "it broke");
            assert_eq!(error.to_string(), format!("{name} error: it broke"));
            assert_eq!(error.kind(), kind);
            assert_eq!(error.message(), "it broke");
            assert_eq!(error.is_timeout(), kind == TransportErrorKind::Timeout);
        }
    }

    #[test]
    fn the_constructors_say_whether_the_request_may_have_left() {
        let connect = TransportError::connect("refused");
        assert_eq!(connect.kind(), TransportErrorKind::Connect);
        assert!(!connect.may_have_reached_server());
        assert_eq!(
            connect.to_string(),
            "connect error: refused (the request did not leave this machine)"
        );
        let timeout = TransportError::timeout("slow");
        assert!(timeout.is_timeout() && timeout.may_have_reached_server());
        let body = TransportError::body("cut");
        assert_eq!(body.kind(), TransportErrorKind::Body);
        assert!(body.may_have_reached_server() && !body.is_timeout());
        let large = TransportError::body_too_large(10, 12);
        assert_eq!(large.kind(), TransportErrorKind::Body);
        assert_eq!(
            large.message(),
            "body larger than the 10-byte limit (at least 12 bytes)"
        );
    }

    /// An error whose `Display` may or may not repeat its source, as foreign errors do.
    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl fmt::Display for Layer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl StdError for Layer {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            self.1.as_deref().map(|l| l as &(dyn StdError + 'static))
        }
    }

    #[test]
    fn a_chain_is_joined_once_per_distinct_cause() {
        let root = Layer("connection refused", None);
        assert_eq!(chain_message(&root), "connection refused");
        let chain = Layer(
            "error sending request",
            Some(Box::new(Layer(
                "client error (Connect): connection refused",
                Some(Box::new(Layer("connection refused", None))),
            ))),
        );
        // The innermost cause is already in the middle one's text: it is not repeated.
        assert_eq!(
            chain_message(&chain),
            "error sending request: client error (Connect): connection refused"
        );
    }
}
