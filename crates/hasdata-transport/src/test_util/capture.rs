use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;

use crate::body::Body;
use crate::error::TransportError;
use crate::transport::{Request, Response, Transport, clone_request};

/// Records every request and answers each with the same status and body.
#[derive(Debug)]
pub struct CaptureTransport {
    status: http::StatusCode,
    body: Bytes,
    requests: Mutex<Vec<Request>>,
}

impl CaptureTransport {
    /// Answers `200 {}`.
    pub fn new() -> Self {
        CaptureTransport::answering(200, "{}")
    }

    /// Answers `status` with `body`.
    pub fn answering(status: u16, body: impl Into<Bytes>) -> Self {
        CaptureTransport {
            status: http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK),
            body: body.into(),
            requests: Mutex::new(Vec::new()),
        }
    }

    /// Every request sent so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        let requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        requests.iter().map(clone_request).collect()
    }

    /// The last request sent; panics when there was none.
    pub fn expect_request(&self) -> Request {
        self.requests()
            .pop()
            .expect("CaptureTransport: no request was sent")
    }
}

impl Default for CaptureTransport {
    fn default() -> Self {
        CaptureTransport::new()
    }
}

#[async_trait]
impl Transport for CaptureTransport {
    async fn send(&self, request: Request) -> Result<Response, TransportError> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(request);
        let mut response = http::Response::new(Body::from_bytes(self.body.clone()));
        *response.status_mut() = self.status;
        Ok(response)
    }
}
