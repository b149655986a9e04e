//! hasdata-transport's integration tests: the real reqwest transport against a real hyper
//! server on 127.0.0.1. One binary, one link step.

#![allow(clippy::unwrap_used)]

mod keys;
mod retries;
mod server;
mod streaming;
mod test_transports;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hasdata_transport::{ReqwestTransport, RetryPolicy, SharedTransport};

/// A reqwest transport with short timeouts, fit for loopback.
pub fn reqwest_transport(timeout: Duration) -> SharedTransport {
    Arc::new(
        ReqwestTransport::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(2))
            .read_timeout(timeout)
            .build()
            .unwrap(),
    )
}

/// Retries fast: loopback tests need no real backoff.
pub fn fast_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_total_delay: Duration::from_secs(5),
        max_retry_after: Duration::from_millis(50),
    }
}

/// A request with an empty body.
pub fn request(method: &str, url: &str) -> http::Request<Bytes> {
    http::Request::builder()
        .method(method)
        .uri(url)
        .body(Bytes::new())
        .unwrap()
}
