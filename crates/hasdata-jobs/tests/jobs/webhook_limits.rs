//! The receiver's limits: slow or endless requests cannot hold it, and with confirmation on
//! nothing is acknowledged that the consumer did not deliver. Raw TCP, so the test controls
//! every byte the caller sends.

use std::net::SocketAddr;
use std::time::Duration;

use hasdata_jobs::webhooks::{ReceiverConfig, WebhookReceiver};
use http::HeaderName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const EVENT: &str =
    r#"{"event": "scraper.job.finished", "jobId": 7, "jobStatus": "finished", "timestamp": 1}"#;

fn config() -> ReceiverConfig {
    ReceiverConfig::new(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        HeaderName::from_static("x-hook-secret"),
        "s3cret",
    )
}

/// Sends `head` (and `body`), then reads until the server closes; returns the status line's
/// code, or 0 when the connection closed without an answer. The deadline is generous: the
/// assertions are about what comes back, never about how fast.
async fn exchange(receiver: &WebhookReceiver, head: &str, body: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(receiver.local_addr()).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut answer))
        .await
        .expect("the receiver must end the exchange")
        .ok();
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

fn post(length: usize) -> String {
    format!(
        "POST /hasdata-hook HTTP/1.1\r\nhost: x\r\nx-hook-secret: s3cret\r\ncontent-type: application/json\r\ncontent-length: {length}\r\n\r\n"
    )
}

#[tokio::test]
async fn an_endless_chunked_body_gets_408_and_silence_is_cut_off() {
    let receiver = WebhookReceiver::bind(ReceiverConfig {
        header_timeout: Duration::from_millis(200),
        body_timeout: Duration::from_millis(200),
        ..config()
    })
    .await
    .unwrap();
    // A chunked body that never ends.
    let head = "POST /hasdata-hook HTTP/1.1\r\nhost: x\r\nx-hook-secret: s3cret\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
    assert_eq!(exchange(&receiver, head, b"5\r\n{\"a\":\r\n").await, 408);
    // Headers that never end: the connection is closed without an answer.
    assert_eq!(
        exchange(&receiver, "POST /hasdata-hook HTTP/1.1\r\nhost: x\r\n", b"").await,
        0
    );
    assert_eq!(receiver.stats().timed_out, 1);
    assert_eq!(receiver.stats().accepted, 0);
}

#[tokio::test]
async fn connections_past_the_cap_wait_for_a_place() {
    let receiver = WebhookReceiver::bind(ReceiverConfig {
        max_connections: 1,
        header_timeout: Duration::from_millis(300),
        ..config()
    })
    .await
    .unwrap();
    // One silent connection holds the only place until its header timeout...
    let _silent = TcpStream::connect(receiver.local_addr()).await.unwrap();
    // ...and then the next caller is served.
    assert_eq!(
        exchange(&receiver, &post(EVENT.len()), EVENT.as_bytes()).await,
        200
    );
}

#[tokio::test]
async fn with_confirmation_only_delivered_events_get_200() {
    let mut receiver = WebhookReceiver::bind(ReceiverConfig {
        confirm: true,
        ..config()
    })
    .await
    .unwrap();
    let addr = receiver.local_addr();
    let send = |body: &'static str| async move {
        let receiver_addr = addr;
        let mut stream = TcpStream::connect(receiver_addr).await.unwrap();
        stream
            .write_all(format!("{}{body}", post(body.len())).as_bytes())
            .await
            .unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.ok();
        String::from_utf8_lossy(&answer)
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse::<u16>().ok())
            .unwrap_or(0)
    };
    // Delivered: 200.
    let call = tokio::spawn(send(EVENT));
    let event = receiver.next().await.unwrap();
    event.delivered();
    assert_eq!(call.await.unwrap(), 200);
    // Dropped unconfirmed (the consumer could not deliver it): 503, and not remembered, so
    // HasData's retry is queued again instead of being taken for a duplicate.
    let other =
        r#"{"event": "scraper.job.finished", "jobId": 8, "jobStatus": "finished", "timestamp": 2}"#;
    let call = tokio::spawn(send(other));
    drop(receiver.next().await.unwrap());
    assert_eq!(call.await.unwrap(), 503);
    let retry = tokio::spawn(send(other));
    receiver.next().await.unwrap().delivered();
    assert_eq!(retry.await.unwrap(), 200);
    // Closed: every later delivery gets 503 and nothing is queued.
    receiver.close();
    let third =
        r#"{"event": "scraper.job.finished", "jobId": 9, "jobStatus": "finished", "timestamp": 3}"#;
    assert_eq!(send(third).await, 503);
    let stats = receiver.stats();
    assert_eq!((stats.accepted, stats.undelivered), (2, 2));
}
