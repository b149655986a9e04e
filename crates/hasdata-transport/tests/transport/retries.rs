//! Retries against a real server: GETs ride out faults, a POST is never repeated once it may
//! have reached the server, and the pure decision holds for all inputs.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use hasdata_transport::{
    Decision, Idempotent, Outcome, Request, Response, RetryPolicy, RetryTransport, SharedTransport,
    Transport, TransportError, TransportErrorKind,
};
use http::StatusCode;
use proptest::prelude::*;

use crate::server::{Action, TestServer};
use crate::{fast_retries, request, reqwest_transport};

/// Counts the attempts that go through it.
struct Counting {
    inner: SharedTransport,
    sends: AtomicUsize,
}

impl fmt::Debug for Counting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Counting")
    }
}

#[async_trait]
impl Transport for Counting {
    async fn send(&self, request: Request) -> Result<Response, TransportError> {
        self.sends.fetch_add(1, Ordering::SeqCst);
        self.inner.send(request).await
    }
}

fn retrying(max_attempts: u32, timeout: Duration) -> RetryTransport {
    RetryTransport::new(reqwest_transport(timeout), fast_retries(max_attempts))
}

#[tokio::test]
async fn a_get_succeeds_after_429_503_and_a_reset() {
    let server = TestServer::start(
        vec![
            Action::status(503),
            Action::Respond(
                429,
                vec![("retry-after", "0".into())],
                "{\"message\": \"slow down\"}".into(),
            ),
            Action::Reset,
            Action::status(500),
        ],
        Action::ok("{\"id\": 1}"),
    )
    .await;
    let response = retrying(6, Duration::from_secs(5))
        .send(request("GET", &server.url("/scrapers/jobs/1")))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.into_body().bytes().await.unwrap(), "{\"id\": 1}");
    assert_eq!(server.hit_count(), 5);
}

#[test]
fn the_transport_reports_the_policy_it_was_given() {
    let transport = retrying(7, Duration::from_secs(5));
    assert_eq!(transport.policy().max_attempts, 7);
    assert_eq!(
        transport.policy().max_retry_after,
        Duration::from_millis(50)
    );
    // Debug shows the policy and the layer below, for a reader of a log.
    let shown = format!("{transport:?}");
    assert!(
        shown.starts_with("RetryTransport") && shown.contains("max_attempts: 7"),
        "{shown}"
    );
    assert!(shown.contains("ReqwestTransport"), "{shown}");
}

#[tokio::test]
async fn retries_stop_at_the_maximum_attempts() {
    let server = TestServer::start(vec![], Action::status(503)).await;
    let response = retrying(3, Duration::from_secs(5))
        .send(request("GET", &server.url("/scrapers/jobs/1")))
        .await
        .unwrap();
    assert_eq!(response.status(), 503, "the last answer is returned");
    assert_eq!(server.hit_count(), 3);
}

#[tokio::test]
async fn a_post_that_got_an_answer_or_may_have_arrived_reaches_the_server_once() {
    for first in [Action::status(503), Action::status(429), Action::Reset] {
        let server = TestServer::start(vec![first.clone()], Action::ok("{}")).await;
        let result = retrying(5, Duration::from_secs(5))
            .send(request("POST", &server.url("/scrapers/contacts/jobs")))
            .await;
        match (&first, result) {
            (Action::Reset, Err(error)) => assert!(error.may_have_reached_server(), "{error}"),
            (Action::Respond(status, ..), Ok(response)) => {
                assert_eq!(response.status().as_u16(), *status)
            }
            (action, other) => panic!("{action:?} gave {other:?}"),
        }
        assert_eq!(server.hit_count(), 1, "POST after {first:?} was sent again");
        assert_eq!(server.hits()[0].method, "POST");
    }
}

#[tokio::test]
async fn a_post_that_times_out_is_not_sent_again() {
    let server = TestServer::start(vec![], Action::Hang).await;
    let error = retrying(5, Duration::from_millis(300))
        .send(request("POST", &server.url("/scrapers/contacts/jobs")))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), TransportErrorKind::Timeout);
    assert!(error.may_have_reached_server());
    // The server may see the request after the client gave up on it: wait for that, then
    // check nothing more came.
    hits_reach(&server, 1).await;
    assert_eq!(server.hit_count(), 1);
}

/// Waits until the server has seen `n` requests (a loaded machine may run it late), within a
/// generous deadline that only turns a hang into a failure.
async fn hits_reach(server: &TestServer, n: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while server.hit_count() < n {
        assert!(
            std::time::Instant::now() < deadline,
            "the server saw {} requests, not {n}",
            server.hit_count()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Retries that honour a Retry-After of a few seconds, the way the API sends it.
fn patient_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_retry_after: Duration::from_secs(10),
        max_total_delay: Duration::from_secs(30),
        ..fast_retries(max_attempts)
    }
}

#[tokio::test]
async fn a_retry_after_in_seconds_is_waited_out() {
    let server = TestServer::start(
        vec![Action::Respond(
            429,
            vec![("retry-after", "1".into())],
            "{}".into(),
        )],
        Action::ok("{}"),
    )
    .await;
    let started = std::time::Instant::now();
    let response = RetryTransport::new(
        reqwest_transport(Duration::from_secs(5)),
        patient_retries(3),
    )
    .send(request("GET", &server.url("/scrapers/jobs/1")))
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.hit_count(), 2);
    // A lower bound only: load can make the wait longer, never shorter. The backoff alone
    // would be at most 5 ms.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_retry_after_as_an_http_date_is_waited_out() {
    // Two seconds ahead, to the second: between one and two seconds from now.
    let at = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(2));
    let server = TestServer::start(
        vec![Action::Respond(503, vec![("retry-after", at)], "{}".into())],
        Action::ok("{}"),
    )
    .await;
    let started = std::time::Instant::now();
    let response = RetryTransport::new(
        reqwest_transport(Duration::from_secs(5)),
        patient_retries(3),
    )
    .send(request("GET", &server.url("/scrapers/jobs/1")))
    .await
    .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.hit_count(), 2);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "waited {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_get_that_hangs_times_out_on_every_attempt() {
    let server = TestServer::start(vec![], Action::Hang).await;
    let error = retrying(2, Duration::from_millis(200))
        .send(request("GET", &server.url("/scrapers/jobs/1")))
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error}");
    hits_reach(&server, 2).await;
    assert_eq!(server.hit_count(), 2);
}

#[tokio::test]
async fn a_post_marked_idempotent_is_retried() {
    let server = TestServer::start(vec![Action::status(503)], Action::ok("{}")).await;
    let mut post = request("POST", &server.url("/scrapers/contacts/jobs"));
    post.extensions_mut().insert(Idempotent);
    let response = retrying(3, Duration::from_secs(5))
        .send(post)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.hit_count(), 2);
}

#[tokio::test]
async fn a_post_to_a_closed_port_is_retried_because_it_never_left() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let counting = Arc::new(Counting {
        inner: reqwest_transport(Duration::from_secs(2)),
        sends: AtomicUsize::new(0),
    });
    let error = RetryTransport::new(counting.clone(), fast_retries(3))
        .send(request(
            "POST",
            &format!("http://127.0.0.1:{port}/scrapers/contacts/jobs"),
        ))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), TransportErrorKind::Connect, "{error}");
    assert!(!error.may_have_reached_server());
    assert_eq!(counting.sends.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn client_errors_are_never_retried() {
    for status in [401, 403, 404, 422] {
        let server = TestServer::start(vec![Action::status(status)], Action::ok("{}")).await;
        let response = retrying(5, Duration::from_secs(5))
            .send(request("GET", &server.url("/scrapers/jobs/1")))
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(server.hit_count(), 1, "{status} was retried");
    }
}

fn any_outcome_error() -> impl Strategy<Value = TransportError> {
    (
        prop::sample::select(vec![
            TransportErrorKind::Connect,
            TransportErrorKind::Tls,
            TransportErrorKind::Timeout,
            TransportErrorKind::Body,
            TransportErrorKind::Request,
            TransportErrorKind::Other,
        ]),
        any::<bool>(),
    )
        .prop_map(|(kind, reached)| TransportError::new(kind, reached, "generated"))
}

/// Statuses weighted towards the ones a GET would retry (429 and 5xx), where a POST being
/// retried is the bug to catch; any other status now and then.
fn retryable_mostly() -> impl Strategy<Value = u16> {
    prop_oneof![
        4 => prop::sample::select(vec![429u16, 500, 502, 503, 504]),
        1 => 100u16..600,
    ]
}

fn any_policy() -> impl Strategy<Value = RetryPolicy> {
    (
        1u32..8,
        0u64..2_000,
        0u64..60_000,
        0u64..300_000,
        0u64..120_000,
    )
        .prop_map(|(attempts, base, max, total, after)| RetryPolicy {
            max_attempts: attempts,
            base_delay: Duration::from_millis(base),
            max_delay: Duration::from_millis(max),
            max_total_delay: Duration::from_millis(total),
            max_retry_after: Duration::from_millis(after),
        })
}

proptest! {
    #[test]
    fn never_more_attempts_or_delay_than_allowed(
        policy in any_policy(),
        statuses in prop::collection::vec(retryable_mostly(), 1..20),
        retry_after in prop::option::of(0u64..200_000),
        jitters in prop::collection::vec(0.0f64..1.0, 20),
    ) {
        let mut attempts = 0u32;
        let mut delayed = Duration::ZERO;
        for (i, status) in statuses.iter().cycle().take(50).enumerate() {
            attempts += 1;
            let outcome = Outcome::Status {
                status: StatusCode::from_u16(*status).unwrap(),
                retry_after: retry_after.map(Duration::from_millis),
            };
            match policy.decide(true, outcome, attempts, delayed, jitters[i % jitters.len()]) {
                Decision::Stop => break,
                Decision::RetryAfter(delay) => delayed += delay,
            }
        }
        prop_assert!(attempts <= policy.max_attempts);
        prop_assert!(delayed <= policy.max_total_delay);
    }

    #[test]
    fn a_post_that_may_have_been_sent_is_never_retried(
        policy in any_policy(),
        status in retryable_mostly(),
        error in any_outcome_error(),
        attempt in 1u32..8,
        jitter in 0.0f64..1.0,
    ) {
        let answered = Outcome::Status { status: StatusCode::from_u16(status).unwrap(), retry_after: None };
        prop_assert_eq!(policy.decide(false, answered, attempt, Duration::ZERO, jitter), Decision::Stop);
        if error.may_have_reached_server() {
            prop_assert_eq!(policy.decide(false, Outcome::Error(&error), attempt, Duration::ZERO, jitter), Decision::Stop);
        }
    }

    #[test]
    fn retry_after_is_respected(policy in any_policy(), asked_ms in 0u64..600_000, jitter in 0.0f64..1.0) {
        let asked = Duration::from_millis(asked_ms);
        let outcome = Outcome::Status { status: StatusCode::TOO_MANY_REQUESTS, retry_after: Some(asked) };
        match policy.decide(true, outcome, 1, Duration::ZERO, jitter) {
            Decision::RetryAfter(delay) => prop_assert_eq!(delay, asked.min(policy.max_retry_after)),
            Decision::Stop => prop_assert!(policy.max_attempts <= 1 || asked.min(policy.max_retry_after) > policy.max_total_delay),
        }
    }

    #[test]
    fn backoff_without_retry_after_stays_under_the_ceiling(policy in any_policy(), attempt in 1u32..8, jitter in 0.0f64..1.0) {
        let outcome = Outcome::Status { status: StatusCode::SERVICE_UNAVAILABLE, retry_after: None };
        if let Decision::RetryAfter(delay) = policy.decide(true, outcome, attempt, Duration::ZERO, jitter) {
            prop_assert!(delay <= policy.backoff_ceiling(attempt));
            prop_assert!(delay <= policy.max_delay);
        }
    }
}

#[tokio::test]
async fn a_failed_tls_handshake_is_a_tls_error_that_never_sent_the_request() {
    // An https request to a plain-http server: the handshake fails before any HTTP is sent.
    let server = TestServer::start(vec![], Action::ok("{}")).await;
    let url = server
        .url("/scrapers/jobs/1")
        .replacen("http://", "https://", 1);
    let counting = Arc::new(Counting {
        inner: reqwest_transport(Duration::from_secs(5)),
        sends: AtomicUsize::new(0),
    });
    let error = RetryTransport::new(counting.clone(), fast_retries(4))
        .send(request("POST", &url))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), TransportErrorKind::Tls, "{error}");
    assert!(!error.may_have_reached_server());
    assert_eq!(
        counting.sends.load(Ordering::SeqCst),
        1,
        "a TLS failure is not retried"
    );
    assert_eq!(server.hit_count(), 0, "no HTTP request reached the server");
}
