//! Large bodies stream chunk by chunk; a body cut short is a body error.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use hasdata_transport::{ReqwestTransport, Transport, TransportErrorKind};

use crate::server::{Action, TestServer};
use crate::{request, reqwest_transport};

#[tokio::test]
async fn a_large_body_streams_in_chunks() {
    let (chunks, chunk_size) = (128, 64 * 1024);
    let server = TestServer::start(
        vec![],
        Action::Stream {
            chunks,
            chunk_size,
            fail_after: None,
        },
    )
    .await;
    let response = reqwest_transport(Duration::from_secs(10))
        .send(request("GET", &server.url("/file/data.json")))
        .await
        .unwrap();
    let mut stream = response.into_body().into_stream();
    let (mut total, mut pieces, mut largest) = (0usize, 0usize, 0usize);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        total += chunk.len();
        largest = largest.max(chunk.len());
        pieces += 1;
    }
    assert_eq!(total, chunks * chunk_size);
    assert!(pieces > 1, "the body arrived in one piece");
    assert!(largest < total, "the body was buffered whole");
}

/// A body's announced length comes with it (to size the buffer it is collected into); a
/// chunked one announces none. Both collect to their bytes.
#[tokio::test]
async fn a_body_carries_its_announced_length_and_a_chunked_one_none() {
    let page = "x".repeat(48 * 1024);
    let server = TestServer::start(
        vec![Action::ok(&page)],
        Action::Stream {
            chunks: 3,
            chunk_size: 1000,
            fail_after: None,
        },
    )
    .await;
    let transport = reqwest_transport(Duration::from_secs(10));
    let sized = transport
        .send(request("GET", &server.url("/scrapers/jobs/1/results")))
        .await
        .unwrap();
    assert_eq!(sized.body().length_hint(), Some(page.len() as u64));
    let bytes = sized.into_body().bytes_limited(1 << 20).await.unwrap();
    assert_eq!(bytes, Bytes::from(page));
    let chunked = transport
        .send(request("GET", &server.url("/file/data.json")))
        .await
        .unwrap();
    assert_eq!(chunked.body().length_hint(), None);
    assert_eq!(chunked.into_body().bytes().await.unwrap().len(), 3000);
}

#[tokio::test]
async fn a_body_cut_short_is_a_body_error() {
    let server = TestServer::start(
        vec![],
        Action::Stream {
            chunks: 10,
            chunk_size: 1024,
            fail_after: Some(3),
        },
    )
    .await;
    let response = reqwest_transport(Duration::from_secs(10))
        .send(request("GET", &server.url("/file/data.json")))
        .await
        .unwrap();
    let error = response.into_body().bytes().await.unwrap_err();
    assert_eq!(error.kind(), TransportErrorKind::Body, "{error}");
    assert!(error.may_have_reached_server());
}

#[tokio::test]
async fn collecting_stops_at_the_limit() {
    let server = TestServer::start(
        vec![],
        Action::Stream {
            chunks: 64,
            chunk_size: 1024,
            fail_after: None,
        },
    )
    .await;
    let response = reqwest_transport(Duration::from_secs(10))
        .send(request("GET", &server.url("/scrapers/jobs/1")))
        .await
        .unwrap();
    let error = response
        .into_body()
        .bytes_limited(10 * 1024)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("limit"), "{error}");
}

/// reqwest's own read timeout also runs before the headers; the transport applies its idle
/// limit to the body only, so a server slower than `read_timeout` to answer (but within
/// `timeout`, the API's 300 s) is waited for.
#[tokio::test]
async fn the_idle_limit_does_not_cut_the_wait_for_headers() {
    let server = TestServer::start(
        vec![Action::Slow(Duration::from_millis(400), "{}".into())],
        Action::status(404),
    )
    .await;
    let transport = ReqwestTransport::builder()
        .timeout(Duration::from_secs(60))
        .read_timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let response = transport
        .send(
            http::Request::get(server.url("/slow"))
                .body(Bytes::new())
                .unwrap(),
        )
        .await
        .expect("headers slower than the idle limit are still awaited");
    assert_eq!(response.status(), 200);
}

/// A body that stops coming ends in a timeout error once it has been silent for
/// `read_timeout`, whether it went silent after some chunks or before the first, rather than
/// holding the reader (and its connection) for ever. The outer deadline only keeps a
/// regression from hanging the test run.
#[tokio::test]
async fn a_body_that_goes_silent_ends_in_a_timeout_error() {
    for chunks in [2, 0] {
        let server = TestServer::start(
            vec![],
            Action::StreamThenHang {
                chunks,
                chunk_size: 1000,
            },
        )
        .await;
        let transport = ReqwestTransport::builder()
            .timeout(Duration::from_secs(60))
            .read_timeout(Duration::from_millis(100))
            .build()
            .unwrap();
        let response = transport
            .send(request("GET", &server.url("/file/data.json")))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let mut stream = response.into_body().into_stream();
        let read = tokio::time::timeout(Duration::from_secs(60), async {
            let mut bytes = 0;
            loop {
                match stream.next().await {
                    Some(Ok(chunk)) => bytes += chunk.len(),
                    Some(Err(error)) => return (bytes, Some(error)),
                    None => return (bytes, None),
                }
            }
        })
        .await
        .expect("the idle limit ended the body");
        let (bytes, error) = read;
        assert_eq!(bytes, chunks * 1000, "the chunks before the silence came");
        let error = error.expect("a silent body is an error, not an end");
        assert_eq!(error.kind(), TransportErrorKind::Timeout, "{error}");
        assert!(error.to_string().contains("silent"), "{error}");
        assert!(
            stream.next().await.is_none(),
            "the stream ends after the error"
        );
    }
}
