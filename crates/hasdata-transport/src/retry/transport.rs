use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use http::header::RETRY_AFTER;

use super::policy::{Decision, Outcome, RetryPolicy};
use crate::api_error::parse_retry_after;
use crate::error::TransportError;
use crate::transport::{
    Request, Response, SharedTransport, Transport, clone_request, is_idempotent,
};

/// Retries transient failures according to a [`RetryPolicy`].
///
/// Each retry is a `tracing` info event with the attempt, the status or error, and the delay:
/// a retry is the layer doing its job, not a problem; the caller sees the final outcome (and a
/// program that wants every attempt shown turns on info, as `hasdata -v` does).
/// Waits use tokio's clock, so tests under a paused clock finish at once.
pub struct RetryTransport {
    inner: SharedTransport,
    policy: RetryPolicy,
}

impl RetryTransport {
    /// Wraps `inner`.
    pub fn new(inner: SharedTransport, policy: RetryPolicy) -> Self {
        RetryTransport { inner, policy }
    }

    /// The policy in force.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }
}

impl fmt::Debug for RetryTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetryTransport")
            .field("policy", &self.policy)
            .field("inner", &self.inner)
            .finish()
    }
}

#[async_trait]
impl Transport for RetryTransport {
    async fn send(&self, request: Request) -> Result<Response, TransportError> {
        let idempotent = is_idempotent(&request);
        let mut delayed = Duration::ZERO;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self.inner.send(clone_request(&request)).await;
            let outcome = match &result {
                Ok(response) if response.status().is_success() => return result,
                Ok(response) => Outcome::Status {
                    status: response.status(),
                    retry_after: response
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, std::time::SystemTime::now())),
                },
                Err(error) => Outcome::Error(error),
            };
            let decision =
                self.policy
                    .decide(idempotent, outcome, attempt, delayed, rand::random::<f64>());
            let Decision::RetryAfter(delay) = decision else {
                return result;
            };
            match &outcome {
                Outcome::Status { status, .. } => tracing::info!(
                    attempt,
                    status = status.as_u16(),
                    delay_ms = delay.as_millis() as u64,
                    method = %request.method(),
                    path = request.uri().path(),
                    "retrying after an error status"
                ),
                Outcome::Error(error) => tracing::info!(
                    attempt,
                    error = %error,
                    delay_ms = delay.as_millis() as u64,
                    method = %request.method(),
                    path = request.uri().path(),
                    "retrying after a transport error"
                ),
            }
            // Release the failed response's connection before waiting.
            drop(result);
            tokio::time::sleep(delay).await;
            delayed += delay;
        }
    }
}
