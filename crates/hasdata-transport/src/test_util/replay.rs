use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};

use crate::body::Body;
use crate::error::{TransportError, TransportErrorKind};
use crate::transport::{Request, Response, Transport, clone_request};

/// A request a [`ReplayTransport`] expects.
#[derive(Clone, Debug)]
pub struct ExpectedRequest {
    method: Method,
    uri: String,
    body: Option<Bytes>,
    headers: Vec<(HeaderName, Option<HeaderValue>)>,
}

impl ExpectedRequest {
    /// A request with this method and URI (compared as text, query included).
    pub fn new(method: Method, uri: impl Into<String>) -> Self {
        ExpectedRequest {
            method,
            uri: uri.into(),
            body: None,
            headers: Vec::new(),
        }
    }

    /// The body must equal this; JSON bodies are compared as JSON values.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// The header must have this value.
    pub fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.push((
            HeaderName::from_static(name),
            Some(HeaderValue::from_static(value)),
        ));
        self
    }

    /// The header must be absent.
    pub fn without_header(mut self, name: &'static str) -> Self {
        self.headers.push((HeaderName::from_static(name), None));
        self
    }

    fn mismatches(&self, request: &Request) -> Vec<String> {
        let mut problems = Vec::new();
        if request.method() != self.method {
            problems.push(format!(
                "method: expected {}, got {}",
                self.method,
                request.method()
            ));
        }
        if request.uri().to_string() != self.uri {
            problems.push(format!("uri: expected {}, got {}", self.uri, request.uri()));
        }
        if let Some(expected) = &self.body
            && !bodies_equal(expected, request.body())
        {
            problems.push(format!(
                "body: expected {}, got {}",
                String::from_utf8_lossy(expected),
                String::from_utf8_lossy(request.body())
            ));
        }
        for (name, value) in &self.headers {
            let actual = request.headers().get(name);
            if actual != value.as_ref() {
                // Header values may be secrets: name the header, never print its value.
                problems.push(format!(
                    "header {name}: expected {}, got {}",
                    if value.is_some() {
                        "a given value"
                    } else {
                        "absent"
                    },
                    if actual.is_some() {
                        "a different or present value"
                    } else {
                        "absent"
                    }
                ));
            }
        }
        problems
    }
}

fn bodies_equal(expected: &[u8], actual: &[u8]) -> bool {
    match (
        serde_json::from_slice::<serde_json::Value>(expected),
        serde_json::from_slice::<serde_json::Value>(actual),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => expected == actual,
    }
}

/// A response a [`ReplayTransport`] plays back.
#[derive(Clone, Debug)]
pub struct CannedResponse {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl CannedResponse {
    /// A response with this status and body.
    pub fn new(status: u16, body: impl Into<Bytes>) -> Self {
        CannedResponse {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers: HeaderMap::new(),
            body: body.into(),
        }
    }

    /// A 200 with a JSON body.
    pub fn json(body: impl Into<Bytes>) -> Self {
        CannedResponse::new(200, body).header("content-type", "application/json")
    }

    /// Adds a header.
    pub fn header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.append(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
        self
    }

    fn to_response(&self) -> Response {
        let mut response = http::Response::new(Body::from_bytes(self.body.clone()));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        response
    }
}

/// Plays ordered request/response pairs, records what it was sent, and checks that the
/// requests matched ([`ReplayTransport::assert_requests_match`]).
#[derive(Debug)]
pub struct ReplayTransport {
    pending: Mutex<VecDeque<(ExpectedRequest, CannedResponse)>>,
    played: Mutex<Vec<(ExpectedRequest, Request)>>,
}

impl ReplayTransport {
    /// A transport that answers the pairs in order.
    pub fn new(pairs: impl IntoIterator<Item = (ExpectedRequest, CannedResponse)>) -> Self {
        ReplayTransport {
            pending: Mutex::new(pairs.into_iter().collect()),
            played: Mutex::new(Vec::new()),
        }
    }

    /// Panics, listing every difference, unless each request matched its expectation and every
    /// pair was used.
    pub fn assert_requests_match(&self) {
        let played = self.played.lock().unwrap_or_else(|e| e.into_inner());
        let mut problems = Vec::new();
        for (i, (expected, actual)) in played.iter().enumerate() {
            for problem in expected.mismatches(actual) {
                problems.push(format!("request {}: {problem}", i + 1));
            }
        }
        let left = self.pending.lock().unwrap_or_else(|e| e.into_inner()).len();
        if left > 0 {
            problems.push(format!("{left} expected request(s) never sent"));
        }
        assert!(
            problems.is_empty(),
            "replay mismatch:\n  {}",
            problems.join("\n  ")
        );
    }

    /// The requests sent so far.
    pub fn requests(&self) -> Vec<Request> {
        let played = self.played.lock().unwrap_or_else(|e| e.into_inner());
        played.iter().map(|(_, r)| clone_request(r)).collect()
    }
}

#[async_trait]
impl Transport for ReplayTransport {
    async fn send(&self, request: Request) -> Result<Response, TransportError> {
        let next = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front();
        let Some((expected, canned)) = next else {
            return Err(TransportError::new(
                TransportErrorKind::Other,
                false,
                format!(
                    "replay: unexpected extra request {} {}",
                    request.method(),
                    request.uri().path()
                ),
            ));
        };
        let response = canned.to_response();
        self.played
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((expected, request));
        Ok(response)
    }
}
