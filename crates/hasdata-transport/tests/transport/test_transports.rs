//! The test transports other crates rely on behave as documented.

use std::sync::Arc;
use std::time::Duration;

use hasdata_transport::test_util::{
    CannedResponse, CaptureTransport, ExpectedRequest, NeverTransport, ReplayTransport,
};
use hasdata_transport::{Body, MockTransport, RetryPolicy, RetryTransport, Transport};
use http::Method;

use crate::request;

#[tokio::test]
async fn replay_plays_in_order_and_checks_requests() {
    let replay = ReplayTransport::new([
        (
            ExpectedRequest::new(Method::POST, "https://api.test/scrapers/contacts/jobs")
                .body(r#"{"urls": ["https://a.example"]}"#),
            CannedResponse::json(r#"{"id": 7, "status": "pending"}"#),
        ),
        (
            ExpectedRequest::new(Method::GET, "https://api.test/scrapers/jobs/7")
                .without_header("x-api-key"),
            CannedResponse::new(503, "").header("retry-after", "1"),
        ),
    ]);
    let mut post = request("POST", "https://api.test/scrapers/contacts/jobs");
    *post.body_mut() = bytes::Bytes::from_static(br#"{ "urls":["https://a.example"] }"#);
    let first = replay.send(post).await.unwrap();
    assert_eq!(
        first.into_body().bytes().await.unwrap(),
        r#"{"id": 7, "status": "pending"}"#
    );
    let second = replay
        .send(request("GET", "https://api.test/scrapers/jobs/7"))
        .await
        .unwrap();
    assert_eq!(second.status(), 503);
    assert_eq!(second.headers()["retry-after"], "1");
    replay.assert_requests_match();
    assert!(
        replay
            .send(request("GET", "https://api.test/extra"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn replay_reports_every_mismatch() {
    let replay = ReplayTransport::new([
        (
            ExpectedRequest::new(Method::GET, "https://api.test/a"),
            CannedResponse::json("{}"),
        ),
        (
            ExpectedRequest::new(Method::GET, "https://api.test/b"),
            CannedResponse::json("{}"),
        ),
    ]);
    replay
        .send(request("DELETE", "https://api.test/a"))
        .await
        .unwrap();
    let panic = std::panic::catch_unwind(|| replay.assert_requests_match()).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(
        message.contains("method: expected GET, got DELETE"),
        "{message}"
    );
    assert!(
        message.contains("1 expected request(s) never sent"),
        "{message}"
    );
}

#[tokio::test]
async fn capture_records_every_request() {
    let capture = CaptureTransport::answering(201, "created");
    capture
        .send(request("GET", "https://api.test/1"))
        .await
        .unwrap();
    let response = capture
        .send(request("DELETE", "https://api.test/2"))
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let methods: Vec<String> = capture
        .requests()
        .iter()
        .map(|r| r.method().to_string())
        .collect();
    assert_eq!(methods, ["GET", "DELETE"]);
    assert_eq!(capture.expect_request().uri().path(), "/2");
}

#[tokio::test(start_paused = true)]
async fn never_answers_so_timeouts_fire() {
    let pending = tokio::time::timeout(
        Duration::from_secs(3600),
        NeverTransport.send(request("GET", "https://api.test/1")),
    )
    .await;
    assert!(pending.is_err(), "NeverTransport answered");
}

#[tokio::test(start_paused = true)]
async fn a_mock_under_the_retry_layer_sees_each_attempt() {
    let mut mock = MockTransport::new();
    let mut calls = 0;
    mock.expect_send()
        .withf(|request| request.uri().path() == "/scrapers/jobs/9")
        .times(3)
        .returning(move |_| {
            calls += 1;
            let mut response =
                http::Response::new(Body::from_bytes(if calls < 3 { "" } else { "{\"id\": 9}" }));
            *response.status_mut() = if calls < 3 {
                http::StatusCode::BAD_GATEWAY
            } else {
                http::StatusCode::OK
            };
            Ok(response)
        });
    let retrying = RetryTransport::new(Arc::new(mock), RetryPolicy::default());
    let response = retrying
        .send(request("GET", "https://api.test/scrapers/jobs/9"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}
