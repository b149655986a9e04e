//! The HTTP layer of hasdata-rs.
//!
//! - [`Transport`]: one async method, `send(http::Request<Bytes>) -> http::Response<Body>`,
//!   object-safe and shared as `Arc<dyn Transport>`. Only `http` and `bytes` types cross it.
//! - [`ReqwestTransport`]: the real one (rustls, pooling, gzip, timeouts).
//! - [`ApiKeyTransport`]: adds the secret `x-api-key` to requests for the API's origin only.
//! - [`RetryTransport`]: retries transient failures without ever repeating a POST that may
//!   have reached the server.
//! - [`ApiError`]: reads every known shape of HasData's error bodies.
//! - `test-util` feature: `test_util::ReplayTransport`, `test_util::CaptureTransport`,
//!   `test_util::NeverTransport`; `mock` feature: `MockTransport` (mockall).
//!
//! A stack for the real API, bottom up:
//!
//! ```
//! use std::sync::Arc;
//! use hasdata_transport::{ApiKey, ApiKeyTransport, ReqwestTransport, RetryPolicy, RetryTransport, SharedTransport};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # // SAFETY: a doctest is its own single-threaded process at this point.
//! # unsafe { std::env::set_var("HASDATA_API_KEY", "doc-key") };
//! let http: SharedTransport = Arc::new(ReqwestTransport::new()?);
//! let authed: SharedTransport = Arc::new(ApiKeyTransport::new(
//!     http,
//!     ApiKey::new(std::env::var("HASDATA_API_KEY")?)?,
//!     "https://api.hasdata.com",
//! )?);
//! let transport: SharedTransport = Arc::new(RetryTransport::new(authed, RetryPolicy::default()));
//! # let _ = transport;
//! # Ok(())
//! # }
//! ```

mod api_error;
mod auth;
mod body;
mod error;
mod reqwest_transport;
mod retry;
mod transport;
mod urls;

#[cfg(feature = "test-util")]
pub mod test_util;

pub use api_error::{ApiError, BODY_SNIPPET_LIMIT, parse_retry_after, snippet};
pub use auth::{API_KEY_HEADER, ApiKey, ApiKeyTransport, InvalidApiKey, InvalidBaseUrl, Origin};
pub use body::{Body, MAX_PRESIZE};
pub use error::{TransportError, TransportErrorKind};
pub use reqwest_transport::{
    BuildError, DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, DEFAULT_TIMEOUT, ReqwestTransport,
    ReqwestTransportBuilder, USER_AGENT,
};
pub use retry::{Decision, Outcome, RetryPolicy, RetryTransport};
#[cfg(any(test, feature = "mock"))]
pub use transport::MockTransport;
pub use transport::{
    Idempotent, Request, Response, SharedTransport, Transport, clone_request, is_idempotent,
};
