use std::time::Duration;

use http::StatusCode;

use crate::error::{TransportError, TransportErrorKind};

/// How hard to retry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = never retry).
    pub max_attempts: u32,
    /// The backoff ceiling of the first retry; it doubles each attempt.
    pub base_delay: Duration,
    /// The largest backoff ceiling.
    pub max_delay: Duration,
    /// The most time spent waiting between attempts, in all; a retry that would pass it is
    /// not made.
    pub max_total_delay: Duration,
    /// The longest `Retry-After` honoured; a longer one is waited out only this long.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_total_delay: Duration::from_secs(120),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// What an attempt ended with.
#[derive(Clone, Copy, Debug)]
pub enum Outcome<'a> {
    /// The server answered.
    Status {
        /// The answer's status.
        status: StatusCode,
        /// The answer's `Retry-After`, when it had one.
        retry_after: Option<Duration>,
    },
    /// No answer.
    Error(&'a TransportError),
}

/// Whether to try again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Return this outcome to the caller.
    Stop,
    /// Send the request again after this delay.
    RetryAfter(Duration),
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn never() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// Decides whether to retry after attempt number `attempt` (1 for the first).
    ///
    /// - 429, 500, 502, 503 and 504 answers, timeouts and broken connections are retried
    ///   for idempotent requests (GET, HEAD, DELETE, or a request marked
    ///   [`crate::Idempotent`]).
    /// - Any request, a POST included, is retried when the error proves it never left this
    ///   machine (connection refused, DNS failure).
    /// - Everything else stops: 401, 403, 404, 422 and every other status, TLS failures and
    ///   requests that cannot be built.
    ///
    /// `jitter` is a number in `[0, 1)`: the delay is `jitter` times the backoff ceiling
    /// ("full jitter"), unless the server sent `Retry-After`, which is honoured (up to
    /// [`RetryPolicy::max_retry_after`]).
    pub fn decide(
        &self,
        idempotent: bool,
        outcome: Outcome<'_>,
        attempt: u32,
        delayed_so_far: Duration,
        jitter: f64,
    ) -> Decision {
        if attempt >= self.max_attempts {
            return Decision::Stop;
        }
        let (retryable, retry_after) = match outcome {
            Outcome::Status {
                status,
                retry_after,
            } => {
                let transient = matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504);
                (transient && idempotent, retry_after)
            }
            Outcome::Error(error) => {
                let permanent = matches!(
                    error.kind(),
                    TransportErrorKind::Tls | TransportErrorKind::Request
                );
                (
                    !permanent && (idempotent || !error.may_have_reached_server()),
                    None,
                )
            }
        };
        if !retryable {
            return Decision::Stop;
        }
        let delay = match retry_after {
            Some(asked) => asked.min(self.max_retry_after),
            None => self
                .backoff_ceiling(attempt)
                .mul_f64(jitter.clamp(0.0, 1.0)),
        };
        if delayed_so_far.saturating_add(delay) > self.max_total_delay {
            return Decision::Stop;
        }
        Decision::RetryAfter(delay)
    }

    /// The most a retry after attempt `attempt` waits without `Retry-After`.
    pub fn backoff_ceiling(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(30);
        self.base_delay
            .saturating_mul(1u32 << doublings)
            .min(self.max_delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NO_JITTER: f64 = 1.0;

    fn status(code: u16) -> Outcome<'static> {
        Outcome::Status {
            status: StatusCode::from_u16(code).expect("status"),
            retry_after: None,
        }
    }

    #[test]
    fn a_delay_that_exactly_fills_the_total_budget_is_still_taken() {
        let policy = RetryPolicy {
            max_total_delay: Duration::from_secs(10),
            ..RetryPolicy::default()
        };
        let asked = Outcome::Status {
            status: StatusCode::TOO_MANY_REQUESTS,
            retry_after: Some(Duration::from_secs(4)),
        };
        assert_eq!(
            policy.decide(true, asked, 1, Duration::from_secs(6), NO_JITTER),
            Decision::RetryAfter(Duration::from_secs(4))
        );
        assert_eq!(
            policy.decide(true, asked, 1, Duration::from_millis(6_001), NO_JITTER),
            Decision::Stop
        );
    }

    #[test]
    fn never_stops_after_the_first_attempt_whatever_happened() {
        let never = RetryPolicy::never();
        assert_eq!(never.max_attempts, 1);
        for code in [429, 500, 503] {
            assert_eq!(
                never.decide(true, status(code), 1, Duration::ZERO, NO_JITTER),
                Decision::Stop,
                "{code}"
            );
        }
    }

    #[test]
    fn table() {
        let policy = RetryPolicy::default();
        let refused = TransportError::connect("connection refused");
        let timed_out = TransportError::timeout("no response");
        let tls = TransportError::new(TransportErrorKind::Tls, false, "bad certificate");
        let cases: &[(&str, bool, Outcome<'_>, bool)] = &[
            ("GET 503", true, status(503), true),
            ("GET 500", true, status(500), true),
            ("GET 502", true, status(502), true),
            ("GET 504", true, status(504), true),
            ("GET 429", true, status(429), true),
            ("GET 501", true, status(501), false),
            ("GET 401", true, status(401), false),
            ("GET 403", true, status(403), false),
            ("GET 404", true, status(404), false),
            ("GET 422", true, status(422), false),
            ("GET 200", true, status(200), false),
            ("POST 503", false, status(503), false),
            ("POST 429", false, status(429), false),
            ("GET timeout", true, Outcome::Error(&timed_out), true),
            ("POST timeout", false, Outcome::Error(&timed_out), false),
            ("POST refused", false, Outcome::Error(&refused), true),
            ("GET tls", true, Outcome::Error(&tls), false),
        ];
        for (name, idempotent, outcome, retried) in cases {
            let decision = policy.decide(*idempotent, *outcome, 1, Duration::ZERO, NO_JITTER);
            assert_eq!(
                matches!(decision, Decision::RetryAfter(_)),
                *retried,
                "{name}"
            );
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy::default();
        let ceilings: Vec<u64> = (1..=8)
            .map(|a| policy.backoff_ceiling(a).as_millis() as u64)
            .collect();
        assert_eq!(ceilings, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
        assert_eq!(policy.backoff_ceiling(u32::MAX), policy.max_delay);
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let policy = RetryPolicy::default();
        let asked = |secs| Outcome::Status {
            status: StatusCode::TOO_MANY_REQUESTS,
            retry_after: Some(Duration::from_secs(secs)),
        };
        assert_eq!(
            policy.decide(true, asked(7), 1, Duration::ZERO, 0.0),
            Decision::RetryAfter(Duration::from_secs(7))
        );
        assert_eq!(
            policy.decide(true, asked(3600), 1, Duration::ZERO, 0.0),
            Decision::RetryAfter(Duration::from_secs(60))
        );
        assert_eq!(
            policy.decide(true, asked(30), 1, Duration::from_secs(100), 0.0),
            Decision::Stop
        );
    }
}
