use async_trait::async_trait;

use crate::error::TransportError;
use crate::transport::{Request, Response, Transport};

/// Never answers: every `send` waits forever. For timeout and cancellation tests.
#[derive(Clone, Copy, Debug, Default)]
pub struct NeverTransport;

#[async_trait]
impl Transport for NeverTransport {
    async fn send(&self, _request: Request) -> Result<Response, TransportError> {
        std::future::pending().await
    }
}
