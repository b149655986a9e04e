//! The webhook receiver's refusals at their edges (a secret of another length, wrong paths
//! and methods, an oversize body sent without a length), and the merge's options and
//! filtering.

use std::net::SocketAddr;
use std::time::Duration;

use futures::StreamExt;
use hasdata_jobs::PollPolicy;
use hasdata_jobs::webhooks::{
    MergeOptions, ReceiverConfig, RowOrigin, WebhookReceiver, WebhookRouter,
};
use hasdata_model::bodies::GoogleSerpBody;
use hasdata_model::{JobId, WebhookEvent};
use hasdata_sim::SimConfig;
use hasdata_transport::{ReqwestTransport, Transport};
use http::HeaderName;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::Env;

const HEADER: &str = "x-hook-secret";
const SECRET: &str = "s3cret-f00d";

fn receiver_config() -> ReceiverConfig {
    ReceiverConfig::new(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        HeaderName::from_static(HEADER),
        SECRET,
    )
}

fn finished_event(job: u64) -> String {
    json!({"event": "scraper.job.finished", "jobId": job, "jobStatus": "finished"}).to_string()
}

async fn send(method: &str, url: &str, secret: Option<&str>, body: String) -> u16 {
    let http = ReqwestTransport::new().unwrap();
    let mut request = http::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json");
    if let Some(secret) = secret {
        request = request.header(HEADER, secret);
    }
    let request = request.body(bytes::Bytes::from(body)).unwrap();
    http.send(request).await.unwrap().status().as_u16()
}

#[tokio::test]
async fn only_the_exact_secret_is_accepted() {
    let receiver = WebhookReceiver::bind(receiver_config()).await.unwrap();
    let url = receiver.url();
    let wrong = ["", "s", "s3cret-f00", "s3cret-f00dd", "S3CRET-F00D"];
    for secret in wrong {
        assert_eq!(
            send("POST", &url, Some(secret), finished_event(1)).await,
            401,
            "secret {secret:?} was accepted"
        );
    }
    assert_eq!(
        send("POST", &url, Some(SECRET), finished_event(1)).await,
        200
    );
    let stats = receiver.stats();
    assert_eq!(
        (stats.unauthorized, stats.accepted),
        (wrong.len() as u64, 1)
    );
}

#[tokio::test]
async fn other_paths_and_methods_are_refused() {
    let receiver = WebhookReceiver::bind(receiver_config()).await.unwrap();
    let url = receiver.url();
    let other_path = format!("http://{}/elsewhere", receiver.local_addr());
    assert_eq!(
        send("POST", &other_path, Some(SECRET), finished_event(1)).await,
        404
    );
    for method in ["GET", "PUT", "DELETE"] {
        assert_eq!(
            send(method, &url, Some(SECRET), finished_event(1)).await,
            405,
            "{method}"
        );
    }
    let stats = receiver.stats();
    assert_eq!((stats.misrouted, stats.accepted), (4, 0));
}

#[tokio::test]
async fn an_oversize_chunked_body_without_a_length_is_refused() {
    let receiver = WebhookReceiver::bind(ReceiverConfig {
        max_body: 1024,
        ..receiver_config()
    })
    .await
    .unwrap();
    let path = receiver
        .url()
        .split_once(&receiver.local_addr().to_string())
        .unwrap()
        .1
        .to_owned();
    let mut stream = tokio::net::TcpStream::connect(receiver.local_addr())
        .await
        .unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
         {HEADER}: {SECRET}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // Three chunks of 600 bytes: no Content-Length, 1,800 bytes in all.
    for _ in 0..3 {
        let chunk = "x".repeat(600);
        let framed = format!("{:x}\r\n{chunk}\r\n", chunk.len());
        if stream.write_all(framed.as_bytes()).await.is_err() {
            break; // The receiver may answer and close before reading it all.
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert_eq!(receiver.stats().too_large, 1);
}

#[tokio::test]
async fn a_body_with_broken_framing_is_malformed_not_too_large() {
    // A chunked body whose second chunk's size is not hex: the body fails while read, for a
    // reason other than its size, so the answer is 400 (the sender's fault), never 413.
    let receiver = WebhookReceiver::bind(receiver_config()).await.unwrap();
    let path = receiver
        .url()
        .split_once(&receiver.local_addr().to_string())
        .unwrap()
        .1
        .to_owned();
    let mut stream = tokio::net::TcpStream::connect(receiver.local_addr())
        .await
        .unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
         {HEADER}: {SECRET}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n\
         2\r\n{{}}\r\nzz\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    let stats = receiver.stats();
    assert_eq!(
        (stats.malformed, stats.too_large, stats.accepted),
        (1, 0, 0)
    );
}

/// A simulator whose jobs finish at once, and one finished 60-row job on it.
async fn one_finished_job() -> (Env, JobId) {
    let env = Env::start(SimConfig {
        job_duration: Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    let id = env
        .client
        .submit(&GoogleSerpBody::new().keywords(["tea"]).limit(60))
        .await
        .unwrap()
        .id();
    (env, id)
}

fn event(value: Value) -> WebhookEvent {
    serde_json::from_value(value).unwrap()
}

fn options(early_rows: bool) -> MergeOptions {
    MergeOptions {
        quiet_after: Duration::from_secs(3600),
        poll: PollPolicy::fast(),
        early_rows,
    }
}

#[tokio::test]
async fn without_early_rows_every_row_comes_from_the_api() {
    let (env, id) = one_finished_job().await;
    let expected = env.sim.expected_rows(id.as_u64().unwrap()).unwrap();
    // The webhooks carry the first ten rows and say the job finished.
    let events = futures::stream::iter([
        event(
            json!({"event": "scraper.data.scraped", "jobId": id, "jobStatus": "in_progress",
                     "data": expected[..10]}),
        ),
        event(json!({"event": "scraper.job.finished", "jobId": id, "jobStatus": "finished"})),
    ])
    .chain(futures::stream::pending())
    .boxed();
    let rows: Vec<_> = env
        .client
        .merged_rows::<Value>(id, events, options(false))
        .map(|r| r.unwrap())
        .collect()
        .await;
    assert!(
        rows.iter().all(|r| r.origin == RowOrigin::Api),
        "webhook rows were yielded"
    );
    let rows: Vec<Value> = rows.into_iter().map(|r| r.row).collect();
    assert_eq!(rows, expected, "every row once, in order");
}

#[tokio::test]
async fn events_of_other_jobs_are_ignored() {
    let (env, id) = one_finished_job().await;
    let expected = env.sim.expected_rows(id.as_u64().unwrap()).unwrap();
    let other = id.as_u64().unwrap() + 1000;
    // Another job's rows and end, then this job's first rows and end.
    let events = futures::stream::iter([
        event(
            json!({"event": "scraper.data.scraped", "jobId": other, "jobStatus": "in_progress",
                     "data": [{"position": 999, "title": "not this job's"}]}),
        ),
        event(json!({"event": "scraper.job.finished", "jobId": other, "jobStatus": "finished"})),
        event(
            json!({"event": "scraper.data.scraped", "jobId": id, "jobStatus": "in_progress",
                     "data": expected[..5]}),
        ),
        event(json!({"event": "scraper.job.finished", "jobId": id, "jobStatus": "finished"})),
    ])
    .chain(futures::stream::pending())
    .boxed();
    let rows: Vec<_> = env
        .client
        .merged_rows::<Value>(id, events, options(true))
        .map(|r| r.unwrap())
        .collect()
        .await;
    let origins: Vec<RowOrigin> = rows.iter().map(|r| r.origin).collect();
    assert_eq!(
        origins.iter().filter(|o| **o == RowOrigin::Webhook).count(),
        5,
        "only this job's webhook rows came early"
    );
    let mut got: Vec<String> = rows.iter().map(|r| r.row.to_string()).collect();
    let mut want: Vec<String> = expected.iter().map(Value::to_string).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want, "exactly this job's rows, once each");
}

/// A client of a finished job 9 whose results hold `rows` (one page), by a mock that answers
/// by path, however many times the status is asked.
fn finished_job_with_rows(rows: Vec<Value>) -> hasdata_jobs::Client {
    let mut mock = hasdata_transport::MockTransport::new();
    mock.expect_send().returning(move |request| {
        let body = match request.uri().path() {
            "/scrapers/jobs/9" => json!({"id": 9, "status": "finished",
                "dataRowsCount": rows.len()}),
            "/scrapers/jobs/9/results" => json!({
                "meta": {"total": rows.len(), "lastPage": 1},
                "data": rows.iter().enumerate()
                    .map(|(n, row)| json!({"id": n, "jobId": 9, "data": row}))
                    .collect::<Vec<_>>()}),
            other => panic!("unexpected request for {other}"),
        };
        Ok(http::Response::new(hasdata_transport::Body::from_bytes(
            body.to_string(),
        )))
    });
    hasdata_jobs::Client::builder()
        .api_key("hd-merge-test")
        .base_url("https://api.test")
        .transport(std::sync::Arc::new(mock))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_row_twice_in_the_results_but_once_by_webhook_comes_out_twice() {
    // The results hold the same row twice; the webhook carried it once. The webhook's copy
    // stands for one of the two, so the API adds the other: as a multiset, the results.
    let client = finished_job_with_rows(vec![
        json!({"title": "same"}),
        json!({"title": "same"}),
        json!({"title": "other"}),
    ]);
    let events = futures::stream::iter([
        event(
            json!({"event": "scraper.data.scraped", "jobId": 9, "jobStatus": "in_progress",
                     "data": [{"title": "same"}]}),
        ),
        event(json!({"event": "scraper.job.finished", "jobId": 9, "jobStatus": "finished"})),
    ])
    .chain(futures::stream::pending())
    .boxed();
    let rows: Vec<(RowOrigin, Value)> = client
        .merged_rows::<Value>(JobId::from(9), events, options(true))
        .map(|r| r.unwrap())
        .map(|r| (r.origin, r.row))
        .collect()
        .await;
    assert_eq!(
        rows,
        [
            (RowOrigin::Webhook, json!({"title": "same"})),
            (RowOrigin::Api, json!({"title": "same"})),
            (RowOrigin::Api, json!({"title": "other"})),
        ]
    );
}

#[tokio::test]
async fn a_router_shows_no_secret_and_stops_its_receiver_when_dropped() {
    let receiver = WebhookReceiver::bind(receiver_config()).await.unwrap();
    let addr = receiver.local_addr();
    let url = receiver.url();
    let router = WebhookRouter::new(receiver);
    assert_eq!(format!("{router:?}"), "WebhookRouter");
    let mut events = router.subscribe(JobId::from(4));
    assert_eq!(
        send("POST", &url, Some(SECRET), finished_event(4)).await,
        200
    );
    assert_eq!(
        events.next().await.and_then(|e| e.job()),
        Some(JobId::from(4))
    );
    drop(router);
    // The routing task owned the receiver: ending it ends the receiver's server, so HasData's
    // next call fails to connect and is retried later rather than accepted and lost.
    crate::until("the receiver to stop listening", || async {
        tokio::net::TcpStream::connect(addr)
            .await
            .is_err()
            .then_some(())
    })
    .await;
    assert!(
        events.next().await.is_none(),
        "the subscription ends with it"
    );
}

#[tokio::test(start_paused = true)]
async fn a_quiet_merge_polls_through_a_503_and_ends_on_a_refusal() {
    // No webhook ever comes, so the merge asks the API after each quiet minute: a 503 is
    // waited out, a 401 (a key that will not work next time either) ends the merge with it.
    let polls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = polls.clone();
    let mut mock = hasdata_transport::MockTransport::new();
    mock.expect_send().returning(move |request| {
        assert_eq!(request.uri().path(), "/scrapers/jobs/9");
        let (status, body) = match counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
            0 => (503, r#"{"message": "busy"}"#),
            _ => (401, r#"{"message": "Invalid API key"}"#),
        };
        let mut response = http::Response::new(hasdata_transport::Body::from_bytes(body));
        *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
        Ok(response)
    });
    let client = hasdata_jobs::Client::builder()
        .api_key("hd-merge-test")
        .base_url("https://api.test")
        .transport(std::sync::Arc::new(mock))
        .retry_policy(hasdata_transport::RetryPolicy::never())
        .build()
        .unwrap();
    let options = MergeOptions {
        quiet_after: Duration::from_secs(60),
        ..options(true)
    };
    let mut rows =
        client.merged_rows::<Value>(JobId::from(9), futures::stream::pending().boxed(), options);
    // The paused clock runs the quiet minutes at once; an hour bounds a merge that never ends.
    let first = tokio::time::timeout(Duration::from_secs(3600), rows.next())
        .await
        .expect("the merge ended");
    let error = first.expect("an item").unwrap_err();
    assert!(error.is_auth(), "{error}");
    assert_eq!(error.job_id(), Some(JobId::from(9)));
    assert_eq!(polls.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert!(rows.next().await.is_none(), "nothing after the error");
}
