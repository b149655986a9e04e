//! The trait every HTTP backend implements.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use crate::body::Body;
use crate::error::TransportError;

/// A request: its body is `Bytes`, so it can be sent again by a retry.
pub type Request = http::Request<Bytes>;

/// A response: its body can be collected or streamed.
pub type Response = http::Response<Body>;

/// Sends one HTTP request and returns the response, whatever its status.
///
/// A transport reports an HTTP error status as `Ok(response)`: deciding what a 429 or a 503
/// means is the caller's job (or [`crate::RetryTransport`]'s). `Err` is for requests that got
/// no response. Transports stack: [`crate::ApiKeyTransport`] and [`crate::RetryTransport`]
/// wrap any other one, so tests swap the bottom layer for a mock or a replay.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Transport: Send + Sync + std::fmt::Debug {
    /// Sends `request`.
    async fn send(&self, request: Request) -> Result<Response, TransportError>;
}

/// A transport shared between clients and tasks.
pub type SharedTransport = Arc<dyn Transport>;

/// A shared transport sends through the one it points to. Written out rather than through
/// `#[async_trait]`, so that it hands back the inner transport's future as it is: an `async`
/// body here would box a second future around it on every request (one per `Arc` in a stack).
impl<T: Transport + ?Sized> Transport for Arc<T> {
    fn send<'a, 'f>(&'a self, request: Request) -> SendFuture<'f>
    where
        'a: 'f,
        Self: 'f,
    {
        (**self).send(request)
    }
}

/// The future [`Transport::send`] returns, as `#[async_trait]` spells it.
type SendFuture<'f> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Response, TransportError>> + Send + 'f>,
>;

/// Marks a request as safe to send twice, so that a retry may repeat it even when it is a
/// POST that may have reached the server. Insert it into the request's extensions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Idempotent;

/// Whether a request may be repeated without changing the outcome: by its method (GET, HEAD,
/// OPTIONS, PUT, DELETE), or because the caller marked it [`Idempotent`].
pub fn is_idempotent(request: &Request) -> bool {
    request.method().is_idempotent() || request.extensions().get::<Idempotent>().is_some()
}

/// Copies a request so it can be sent again; extensions this crate knows are carried over.
pub fn clone_request(request: &Request) -> Request {
    let mut copy = http::Request::new(request.body().clone());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    if let Some(marker) = request.extensions().get::<Idempotent>() {
        copy.extensions_mut().insert(*marker);
    }
    copy
}
