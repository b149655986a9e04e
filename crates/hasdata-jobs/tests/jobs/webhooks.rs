//! The webhook receiver's answers, its queue under a flood, and the exactly-once merge against
//! hasdata-sim with dropped, duplicated and reordered webhooks.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use hasdata_jobs::PollPolicy;
use hasdata_jobs::webhooks::{
    MergeOptions, ReceiverConfig, RowOrigin, WebhookReceiver, WebhookRouter,
};
use hasdata_model::bodies::GoogleSerpBody;
use hasdata_model::{JobId, Webhook, WebhookEventName};
use hasdata_sim::SimConfig;
use hasdata_transport::{ReqwestTransport, SharedTransport, Transport};
use http::HeaderName;
use serde_json::{Value, json};

use crate::Env;

const SECRET_HEADER: &str = "x-hook-secret";
const SECRET: &str = "s3cret-f00d";

fn config(queue: usize) -> ReceiverConfig {
    ReceiverConfig {
        queue,
        ..ReceiverConfig::new(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            HeaderName::from_static(SECRET_HEADER),
            SECRET,
        )
    }
}

fn http() -> SharedTransport {
    Arc::new(
        ReqwestTransport::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
    )
}

async fn post(
    http: &SharedTransport,
    url: &str,
    secret: Option<&str>,
    content_type: &str,
    body: impl Into<Bytes>,
) -> u16 {
    let mut request = http::Request::post(url).header("content-type", content_type);
    if let Some(secret) = secret {
        request = request.header(SECRET_HEADER, secret);
    }
    let response = http.send(request.body(body.into()).unwrap()).await.unwrap();
    response.status().as_u16()
}

fn event(job: u64, n: u64) -> String {
    json!({"event": "scraper.data.scraped", "jobId": job, "jobStatus": "in_progress", "timestamp": n,
           "data": [{"position": n}]})
    .to_string()
}

#[tokio::test]
async fn the_receiver_answers_each_kind_of_call() {
    let mut receiver = WebhookReceiver::bind(config(16)).await.unwrap();
    let (http, url) = (http(), receiver.url());
    assert_eq!(
        post(&http, &url, None, "application/json", event(1, 1)).await,
        401
    );
    assert_eq!(
        post(
            &http,
            &url,
            Some("s3cret-f00e"),
            "application/json",
            event(1, 1)
        )
        .await,
        401
    );
    assert_eq!(
        post(&http, &url, Some(SECRET), "text/plain", event(1, 7)).await,
        200,
        "JSON is read whatever the Content-Type says"
    );
    let no_type = http::Request::post(&url)
        .header(SECRET_HEADER, SECRET)
        .body(
            r#"{"event": "scraper.job.finished", "jobId": "abc123", "jobStatus": "finished"}"#
                .into(),
        )
        .unwrap();
    assert_eq!(
        http.send(no_type).await.unwrap().status().as_u16(),
        200,
        "the docs' text job id, and no Content-Type at all"
    );
    assert_eq!(
        post(&http, &url, Some(SECRET), "application/json", "{not json").await,
        400
    );
    assert_eq!(
        post(
            &http,
            &url,
            Some(SECRET),
            "application/json",
            r#"{"event": "x"}"#
        )
        .await,
        200,
        "not the event shape (no jobId): acknowledged and delivered raw"
    );
    let huge = json!({"event": "scraper.data.scraped", "jobId": 1, "data": ["x".repeat(11 * 1024 * 1024)]}).to_string();
    assert_eq!(
        post(&http, &url, Some(SECRET), "application/json", huge).await,
        413
    );
    assert_eq!(receiver.stats().accepted, 3);

    assert_eq!(
        post(
            &http,
            &url,
            Some(SECRET),
            "application/json; charset=utf-8",
            event(1, 1)
        )
        .await,
        200
    );
    assert_eq!(
        post(&http, &url, Some(SECRET), "application/json", event(1, 1)).await,
        200,
        "a retry"
    );
    let unknown = r#"{"event": "scraper.job.paused", "jobId": 1, "jobStatus": "paused"}"#;
    assert_eq!(
        post(&http, &url, Some(SECRET), "application/json", unknown).await,
        200
    );

    let plain = receiver.next().await.unwrap();
    assert_eq!(plain.event.job(), Some(JobId::from(1)));
    assert!(plain.raw.is_none());
    let text_id = receiver.next().await.unwrap();
    assert_eq!(text_id.event.job_id.as_deref(), Some("abc123"));
    assert_eq!(text_id.event.event, WebhookEventName::JobFinished);
    assert!(text_id.raw.is_none(), "the documented shape");
    let odd = receiver.next().await.unwrap();
    assert_eq!(odd.raw, Some(json!({"event": "x"})));
    let first = receiver.next().await.unwrap();
    assert_eq!(first.event.event, WebhookEventName::DataScraped);
    let second = receiver.next().await.unwrap();
    assert_eq!(
        second.event.event,
        WebhookEventName::Other("scraper.job.paused".into()),
        "the retry was yielded once"
    );
    let stats = receiver.stats();
    assert_eq!(
        (
            stats.accepted,
            stats.duplicates,
            stats.unauthorized,
            stats.too_large
        ),
        (5, 1, 2, 1)
    );
    assert_eq!((stats.malformed, stats.unrecognised), (1, 2));
}

#[tokio::test]
async fn a_full_queue_answers_503_so_the_sender_retries() {
    let mut receiver = WebhookReceiver::bind(config(1)).await.unwrap();
    let (http, url) = (http(), receiver.url());
    assert_eq!(
        post(&http, &url, Some(SECRET), "application/json", event(1, 1)).await,
        200
    );
    assert_eq!(
        post(&http, &url, Some(SECRET), "application/json", event(1, 2)).await,
        503
    );
    assert_eq!(
        receiver.next().await.unwrap().event.timestamp,
        Some(json!(1))
    );
    assert_eq!(
        post(&http, &url, Some(SECRET), "application/json", event(1, 2)).await,
        200,
        "the retry gets in"
    );
    assert_eq!(
        receiver.next().await.unwrap().event.timestamp,
        Some(json!(2))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_ten_thousand_events_is_fully_accounted_for() {
    let receiver = WebhookReceiver::bind(config(256)).await.unwrap();
    let url = receiver.url();
    let yielded = Arc::new(AtomicU64::new(0));
    let counted = yielded.clone();
    // The consumer does not read until a sender has been refused: the queue (256) fills
    // deliberately, so the 503 path is exercised on every run, however fast this machine is.
    let first_refusal = Arc::new(tokio::sync::Notify::new());
    let refusal_seen = first_refusal.clone();
    let consumer = tokio::spawn(async move {
        refusal_seen.notified().await;
        let mut events = receiver.into_stream();
        let mut seen = std::collections::HashSet::new();
        while let Some(received) = events.next().await {
            assert!(
                seen.insert(received.event.timestamp.clone().unwrap().to_string()),
                "yielded twice"
            );
            counted.fetch_add(1, Ordering::SeqCst);
        }
    });
    let senders = (0..32u64).map(|sender| {
        let (http, url, first_refusal) = (http(), url.clone(), first_refusal.clone());
        tokio::spawn(async move {
            let (mut ok, mut refused) = (0u64, 0u64);
            // Sender s sends events s, s + 32, s + 64, ...: 10,000 distinct events in all.
            for n in (sender..10_000).step_by(32) {
                match post(&http, &url, Some(SECRET), "application/json", event(7, n)).await {
                    200 => ok += 1,
                    503 => {
                        refused += 1;
                        // notify_one stores a permit, so a refusal before the consumer
                        // waits is not lost.
                        first_refusal.notify_one();
                    }
                    other => panic!("unexpected answer {other}"),
                }
            }
            (ok, refused)
        })
    });
    let (mut ok, mut refused) = (0, 0);
    for result in futures::future::join_all(senders).await {
        let (o, r) = result.unwrap();
        ok += o;
        refused += r;
    }
    assert_eq!(ok + refused, 10_000, "every event was answered");
    assert!(
        refused > 0,
        "10,000 events into a queue of 256 that nobody read, and none refused"
    );
    assert!(ok >= 256, "the queue took {ok} events before refusing");
    // A generous deadline: this waits for a condition, not for a time window.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while yielded.load(Ordering::SeqCst) < ok && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        yielded.load(Ordering::SeqCst),
        ok,
        "every 2xx was yielded, and only those"
    );
    consumer.abort();
}

/// Runs 20 jobs through a simulator with unreliable webhooks and checks each merged feed
/// against the job's results.
async fn merge_twenty_jobs(seed: u64, remember: usize) {
    let env = Env::start(SimConfig {
        job_duration: Duration::from_millis(400),
        max_running: 100,
        seed,
        allow_http_webhooks: true,
        webhook_batch: 7,
        webhook_retry_delay: Duration::from_millis(5),
        faults: "webhook-drop=0.3,webhook-duplicate=0.3,webhook-reorder=0.5"
            .parse()
            .unwrap(),
        ..SimConfig::default()
    })
    .await;
    let receiver = WebhookReceiver::bind(ReceiverConfig {
        remember,
        ..config(4096)
    })
    .await
    .unwrap();
    let hook = Webhook::new(receiver.url())
        .event(WebhookEventName::DataScraped)
        .event(WebhookEventName::JobFinished)
        .header(SECRET_HEADER, SECRET);
    let router = WebhookRouter::new(receiver);
    let mut ids = Vec::new();
    for n in 0..20u64 {
        let body = GoogleSerpBody::new()
            .keywords(["coffee", "tea"])
            .limit(20 + 3 * n)
            .webhook(hook.clone());
        ids.push(env.client.submit(&body).await.unwrap().id());
    }
    let options = MergeOptions {
        quiet_after: Duration::from_millis(250),
        poll: PollPolicy::fast(),
        early_rows: true,
    };
    let mut merged: HashMap<JobId, Vec<Value>> = HashMap::new();
    let mut origins: HashMap<RowOrigin, u64> = HashMap::new();
    let mut feed = env
        .client
        .merged_rows_of_jobs::<Value>(&router, &ids, options);
    while let Some((id, item)) = feed.next().await {
        let item = item.unwrap();
        *origins.entry(item.origin).or_default() += 1;
        merged.entry(id).or_default().push(item.row);
    }
    for id in &ids {
        let mut got: Vec<String> = merged
            .remove(id)
            .unwrap_or_default()
            .iter()
            .map(Value::to_string)
            .collect();
        let mut want: Vec<String> = env
            .sim
            .expected_rows(id.as_u64().unwrap())
            .unwrap()
            .iter()
            .map(Value::to_string)
            .collect();
        got.sort();
        want.sort();
        assert_eq!(
            got, want,
            "job {id} (seed {seed}): merged rows differ from its results"
        );
    }
    let faults = env.sim.fault_counts();
    assert!(
        faults.get("webhook:drop").copied().unwrap_or(0) > 0,
        "{faults:?}"
    );
    assert!(
        faults.get("webhook:duplicate").copied().unwrap_or(0) > 0,
        "{faults:?}"
    );
    assert!(
        origins.get(&RowOrigin::Webhook).copied().unwrap_or(0) > 0,
        "no early rows: {origins:?}"
    );
    assert!(
        origins.get(&RowOrigin::Api).copied().unwrap_or(0) > 0,
        "no rows filled in: {origins:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merged_rows_equal_the_results_despite_drops_duplicates_and_reordering() {
    for seed in [1, 2, 3] {
        merge_twenty_jobs(seed, 100_000).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merged_rows_stay_exact_when_the_receiver_forgets_retries() {
    // With a memory of one delivery, repeated batches reach the merge, which must skip them.
    merge_twenty_jobs(9, 1).await;
}

#[tokio::test]
async fn a_merge_without_any_webhook_falls_back_to_polling() {
    let env = Env::start(SimConfig {
        job_duration: Duration::from_millis(200),
        ..SimConfig::default()
    })
    .await;
    let job = env
        .client
        .submit(&GoogleSerpBody::new().keywords(["tea"]).limit(42))
        .await
        .unwrap();
    let options = MergeOptions {
        quiet_after: Duration::from_millis(100),
        poll: PollPolicy::fast(),
        early_rows: true,
    };
    let rows: Vec<_> = env
        .client
        .merged_rows::<Value>(job.id(), futures::stream::pending().boxed(), options)
        .map(|r| r.unwrap())
        .collect()
        .await;
    assert_eq!(rows.len(), 42);
    assert!(rows.iter().all(|r| r.origin == RowOrigin::Api));
}

/// The receiver mounted as a tower `Service` in the caller's own HTTP server, at a path of the
/// app's choosing beside the app's other routes: the simulator's webhook calls reach it over
/// loopback, a wrong secret is still refused, and other paths stay the app's.
#[tokio::test]
async fn the_receiver_mounted_in_an_app_gets_the_simulators_webhooks() {
    use tower_service::Service;
    let env = Env::start(SimConfig {
        job_duration: Duration::ZERO,
        allow_http_webhooks: true,
        ..SimConfig::default()
    })
    .await;
    let (service, mut receiver) = WebhookReceiver::service(config(1024));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = service.clone();
            tokio::spawn(async move {
                // The app routes: its hook at /app/hooks/hasdata, its own page elsewhere.
                let app = hyper::service::service_fn(
                    move |request: http::Request<hyper::body::Incoming>| {
                        let mut service = service.clone();
                        async move {
                            if request.uri().path() == "/app/hooks/hasdata" {
                                service.call(request).await
                            } else {
                                Ok(http::Response::new(http_body_util::Full::new(
                                    Bytes::from_static(b"the app"),
                                )))
                            }
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), app)
                    .await;
            });
        }
    });
    let hook = Webhook::new(format!("{app_url}/app/hooks/hasdata"))
        .event(WebhookEventName::JobFinished)
        .header(SECRET_HEADER, SECRET);
    let job = env
        .client
        .submit(
            &GoogleSerpBody::new()
                .keywords(["tea"])
                .limit(5)
                .webhook(hook),
        )
        .await
        .unwrap();
    let event = tokio::time::timeout(Duration::from_secs(60), receiver.next())
        .await
        .expect("a webhook call within a minute")
        .expect("the receiver is open");
    assert_eq!(event.event.job(), Some(job.id()));
    assert_eq!(event.event.event, WebhookEventName::JobFinished);
    assert_eq!(receiver.stats().accepted, 1);
    // A call without the secret is refused, and the app's other paths are its own.
    let transport = http();
    let unsigned = http::Request::post(format!("{app_url}/app/hooks/hasdata"))
        .body(Bytes::from_static(b"{}"))
        .unwrap();
    let answer = transport.send(unsigned).await.unwrap();
    assert_eq!(answer.status().as_u16(), 401);
    let page = transport
        .send(
            http::Request::get(format!("{app_url}/"))
                .body(Bytes::new())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert_eq!(receiver.stats().unauthorized, 1);
}
