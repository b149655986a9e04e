//! Webhook delivery: subscribed events, headers on every call, three attempts, https only
//! unless allowed.

use std::time::Duration;

use hasdata_sim::{SimConfig, WEBHOOK_ATTEMPTS};
use serde_json::{Value, json};

use crate::receiver::{Answer, Receiver};
use crate::{Api, until};

fn config() -> SimConfig {
    SimConfig {
        job_duration: Duration::from_millis(200),
        allow_http_webhooks: true,
        webhook_batch: 10,
        webhook_retry_delay: Duration::from_millis(5),
        webhook_timeout: Duration::from_secs(2),
        ..SimConfig::default()
    }
}

fn body_with_hook(url: &str, events: &[&str], limit: u64) -> Value {
    json!({
        "keywords": ["coffee"],
        "limit": limit,
        "webhook": {"url": url, "events": events, "headers": {"x-shared-secret": "s3cret"}}
    })
}

/// Waits until the simulator has nothing more to send: the job's follower ended (the job is
/// over) and every delivery, retries and delays included, is logged.
async fn wait_for_finish(api: &Api, _job: u64) {
    until("every webhook delivered", || async move {
        (api.sim.webhooks_in_flight() == 0).then_some(())
    })
    .await;
}

/// Submits one google-serp job of `limit` rows whose webhook subscribes to `events`, with a
/// receiver answering as `answer`, and waits until its finished event was delivered.
async fn one_hooked_job(answer: Answer, events: &[&str], limit: u64) -> (Api, Receiver, u64) {
    let receiver = Receiver::start(answer).await;
    let api = Api::start(config()).await;
    let job = api
        .submit_ok(
            "google-serp",
            body_with_hook(&receiver.url(), events, limit),
        )
        .await;
    wait_for_finish(&api, job).await;
    (api, receiver, job)
}

#[tokio::test]
async fn subscribed_events_arrive_with_the_headers_and_every_row() {
    let receiver = Receiver::start(Answer::Ok).await;
    let api = Api::start(config()).await;
    let events = [
        "scraper.job.started",
        "scraper.data.scraped",
        "scraper.job.finished",
    ];
    let job = api
        .submit_ok("google-serp", body_with_hook(&receiver.url(), &events, 95))
        .await;
    wait_for_finish(&api, job).await;

    let calls = receiver.calls();
    assert!(calls.iter().all(|c| {
        c.headers
            .get("x-shared-secret")
            .is_some_and(|v| v == "s3cret")
    }));
    assert!(calls.iter().all(|c| {
        c.headers
            .get("content-type")
            .is_some_and(|v| v == "application/json")
    }));
    let names: Vec<&str> = calls
        .iter()
        .map(|c| c.body["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        names
            .iter()
            .filter(|n| **n == "scraper.job.started")
            .count(),
        1
    );
    assert_eq!(
        names
            .iter()
            .filter(|n| **n == "scraper.job.finished")
            .count(),
        1
    );
    let mut rows: Vec<Value> = calls
        .iter()
        .filter(|c| c.body["event"] == "scraper.data.scraped")
        .flat_map(|c| c.body["data"].as_array().unwrap().clone())
        .collect();
    rows.sort_by_key(|r| r["position"].as_u64());
    assert_eq!(
        Some(rows),
        api.sim.expected_rows(job),
        "the batches carry every row once"
    );
    let finished = calls
        .iter()
        .find(|c| c.body["event"] == "scraper.job.finished")
        .unwrap();
    assert_eq!(finished.body["jobId"], job);
    assert_eq!(finished.body["jobStatus"], "finished");
    assert!(finished.body["timestamp"].is_string());
}

#[tokio::test]
async fn only_subscribed_events_are_sent() {
    let (_api, receiver, _job) = one_hooked_job(Answer::Ok, &["scraper.job.finished"], 30).await;
    let names: Vec<Value> = receiver
        .calls()
        .iter()
        .map(|c| c.body["event"].clone())
        .collect();
    assert_eq!(names, [json!("scraper.job.finished")]);
}

#[tokio::test]
async fn a_failing_receiver_gets_three_attempts_per_event() {
    let (api, receiver, _job) =
        one_hooked_job(Answer::AlwaysFail, &["scraper.job.finished"], 5).await;
    let attempts: Vec<u32> = api.sim.webhook_log().iter().map(|d| d.attempt).collect();
    assert_eq!(attempts, [1, 2, 3]);
    assert_eq!(receiver.calls().len(), WEBHOOK_ATTEMPTS as usize);
}

#[tokio::test]
async fn a_retry_after_a_failure_delivers() {
    let (_api, receiver, _job) =
        one_hooked_job(Answer::FailFirst(2), &["scraper.job.finished"], 5).await;
    let answers: Vec<u16> = receiver.calls().iter().map(|c| c.answered).collect();
    assert_eq!(answers, [500, 500, 200]);
}

#[tokio::test]
async fn http_webhooks_are_refused_unless_allowed() {
    let api = Api::start(SimConfig {
        job_duration: Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    let (status, body) = api
        .submit(
            "google-serp",
            body_with_hook("http://127.0.0.1:9/hook", &["scraper.job.finished"], 5),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "webhook.url");
}

#[tokio::test]
async fn dropped_and_duplicated_events_are_counted_and_visible() {
    let receiver = Receiver::start(Answer::Ok).await;
    let api = Api::start(SimConfig {
        faults: "webhook-drop=0.3,webhook-duplicate=0.3,webhook-reorder=0.5"
            .parse()
            .unwrap(),
        seed: 11,
        // Finished at once: all 400 rows go out as exactly 40 full batches.
        job_duration: Duration::ZERO,
        ..config()
    })
    .await;
    let job = api
        .submit_ok(
            "google-serp",
            body_with_hook(
                &receiver.url(),
                &["scraper.data.scraped", "scraper.job.finished"],
                400,
            ),
        )
        .await;
    // The finished event itself may be dropped: wait until nothing more will be sent.
    wait_for_finish(&api, job).await;
    assert_eq!(api.status(job).await["status"], "finished");
    let counts = api.sim.fault_counts();
    let (dropped, duplicated) = (
        counts.get("webhook:drop").copied().unwrap_or(0),
        counts.get("webhook:duplicate").copied().unwrap_or(0),
    );
    assert!(dropped > 0 && duplicated > 0, "{counts:?}");
    let batches = receiver
        .calls()
        .iter()
        .filter(|c| c.body["event"] == "scraper.data.scraped")
        .count() as u64;
    // 40 batches (+1 finished) are sent: each is dropped, sent once, or sent twice.
    let sent_events = 41 - dropped + duplicated;
    let finished_calls = receiver
        .calls()
        .iter()
        .filter(|c| c.body["event"] == "scraper.job.finished")
        .count() as u64;
    assert_eq!(batches + finished_calls, sent_events, "{counts:?}");
}
