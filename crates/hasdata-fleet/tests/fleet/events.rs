//! Workers and replicated receivers: a wait ends on the terminal webhook event a receiver
//! recorded in the queue's database, with one status call instead of the next poll.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hasdata_fleet::{EventSignals, ItemState, JsonlSink, Queue, Worker, WorkerConfig};
use hasdata_jobs::webhooks::{ReceiverConfig, WebhookReceiver};
use hasdata_jobs::{Client, JobLedger, MemoryLedger, PollPolicy};
use hasdata_sim::{Hold, SimConfig, Simulator};
use hasdata_transport::{ReqwestTransport, Transport};
use serde_json::json;
use tokio::sync::watch;

use crate::{contacts_items, fresh_queue};

const SECRET: &str = "fleet-hook-s3cret";

/// A receiver on loopback recording every event in the queue's database, acknowledging it
/// only once stored (as `hasdata webhook listen --ledger postgres://...` does).
async fn receiver(queue: &Queue) -> (String, tokio::task::JoinHandle<()>) {
    let mut receiver = WebhookReceiver::bind(ReceiverConfig {
        confirm: true,
        ..ReceiverConfig::new(
            ([127, 0, 0, 1], 0).into(),
            http::HeaderName::from_static("x-hook-secret"),
            SECRET,
        )
    })
    .await
    .unwrap();
    let url = receiver.url();
    let events = queue.events();
    let task = tokio::spawn(async move {
        while let Some(received) = receiver.next().await {
            if events.record(&received, "test-receiver").await.is_ok() {
                received.delivered();
            }
        }
    });
    (url, task)
}

async fn until<T, Fut: std::future::Future<Output = Option<T>>>(
    what: &str,
    mut check: impl FnMut() -> Fut,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_terminal_event_ends_the_wait_without_the_next_poll() {
    let Some((queue, url)) = fresh_queue().await else {
        return;
    };
    let sim = Simulator::start(SimConfig {
        // Done at once, but held in progress until released: once released, the API says
        // finished, as it does when HasData sends `scraper.job.finished`.
        job_duration: Duration::ZERO,
        max_running: 10,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    // Jobs run until released: the first poll of each wait sees them in progress.
    sim.hold(Hold::InProgress);
    const JOBS: usize = 3;
    queue.add(&contacts_items(JOBS)).await.unwrap();
    let (hook, _receiving) = receiver(&queue).await;
    let ledger: Arc<dyn JobLedger> = Arc::new(MemoryLedger::new());
    let client = Client::builder()
        .api_key(sim.api_key())
        .base_url(sim.base_url())
        .ledger(ledger)
        .build()
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    // After its first poll a wait's next one is an hour away: only the webhook can end it
    // within the test's deadline.
    let config = WorkerConfig {
        concurrency: JOBS,
        idle_poll: Duration::from_millis(50),
        poll: PollPolicy {
            initial: Duration::from_secs(3600),
            cap: Duration::from_secs(3600),
            jitter: 0.0,
            ..PollPolicy::default()
        }
        .deadline(Duration::from_secs(7200)),
        exit_when_idle: true,
        ..WorkerConfig::new()
    };
    let worker = Worker::new(
        queue.clone(),
        client,
        Arc::new(JsonlSink::new(out.path()).unwrap()),
        config,
    )
    .with_webhook_events(EventSignals::listen(&url).unwrap());
    let (_stop, stopped) = watch::channel(false);
    let running = tokio::spawn(async move { worker.run(stopped).await });

    until("every job polled once", || async {
        (sim.requests().get("status").copied().unwrap_or(0) == JOBS as u64).then_some(())
    })
    .await;
    sim.release();
    // HasData's calls, as its webhook delivery makes them (the first one repeated, as a
    // retry would be).
    let http = ReqwestTransport::new().unwrap();
    let items = queue.list(Some(ItemState::Running), 10).await.unwrap();
    assert_eq!(items.len(), JOBS);
    for (n, item) in items.iter().enumerate() {
        let event = json!({
            "event": "scraper.job.finished",
            "jobId": item.job_id.as_deref().unwrap().parse::<u64>().unwrap(),
            "jobStatus": "finished",
            "timestamp": "2026-11-30T01:00:00Z",
        });
        for _ in 0..if n == 0 { 2 } else { 1 } {
            let request = http::Request::post(hook.as_str())
                .header("x-hook-secret", SECRET)
                .body(bytes::Bytes::from(event.to_string()))
                .unwrap();
            assert_eq!(http.send(request).await.unwrap().status().as_u16(), 200);
        }
    }

    let report = tokio::time::timeout(Duration::from_secs(120), running)
        .await
        .expect("the webhook ends the waits (the next poll is an hour away)")
        .unwrap()
        .unwrap();
    assert_eq!(report.done, JOBS as u64);
    for item in queue.list(None, 10).await.unwrap() {
        assert_eq!(item.state, ItemState::Done);
        let job_id: u64 = item.job_id.as_deref().unwrap().parse().unwrap();
        let written = std::fs::read_to_string(item.output.unwrap()).unwrap();
        let rows: Vec<serde_json::Value> = written
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            rows,
            sim.expected_rows(job_id).unwrap(),
            "rows from the API, checked"
        );
    }
    // Per job: the wait's first poll, and the one call confirming the webhook (whose record
    // the collection reuses for its row count).
    assert_eq!(
        sim.requests()["status"],
        2 * JOBS as u64,
        "{:?}",
        sim.requests()
    );
}

/// Status calls per job with and without receivers, on HasData's documented schedule (10 s,
/// x1.5, at most 60 s, jitter 10%) scaled down 20 times (0.5 s, x1.5, 3 s) against 15 s jobs
/// (5-minute jobs at full scale), and on a sparse safety-net schedule (every 30 s: every
/// 10 minutes at full scale). With receivers, the simulator's own
/// `scraper.job.finished` webhooks reach a receiver that records them. Figures for
/// docs/scale-out.md:
/// `cargo test -p hasdata-fleet --test fleet status_calls -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run by hand for docs/scale-out.md"]
async fn status_calls_per_job_with_and_without_receivers() {
    const JOBS: usize = 20;
    let hasdata = PollPolicy {
        initial: Duration::from_millis(500),
        factor: 1.5,
        cap: Duration::from_secs(3),
        jitter: 0.1,
        ..PollPolicy::default()
    };
    let sparse = PollPolicy {
        initial: Duration::from_secs(30),
        cap: Duration::from_secs(30),
        ..hasdata.clone()
    };
    for (with_receivers, schedule, poll) in [
        (false, "HasData's", hasdata.clone()),
        (true, "HasData's", hasdata.clone()),
        (false, "sparse", sparse.clone()),
        (true, "sparse", sparse.clone()),
    ] {
        let Some((queue, url)) = fresh_queue().await else {
            return;
        };
        let sim = Simulator::start(SimConfig {
            job_duration: Duration::from_secs(15),
            max_running: JOBS,
            allow_http_webhooks: true,
            ..SimConfig::default()
        })
        .await
        .unwrap();
        let hook = if with_receivers {
            Some(receiver(&queue).await)
        } else {
            None
        };
        let items: Vec<_> = contacts_items(JOBS)
            .into_iter()
            .map(|mut item| {
                if let Some((hook, _)) = &hook {
                    item.body["webhook"] = json!({
                        "url": hook,
                        "events": ["scraper.job.finished"],
                        "headers": {"x-hook-secret": SECRET},
                    });
                }
                item
            })
            .collect();
        queue.add(&items).await.unwrap();
        queue.set_max_running(JOBS as u32).await.unwrap();
        let client = Client::builder()
            .api_key(sim.api_key())
            .base_url(sim.base_url())
            .ledger(Arc::new(MemoryLedger::new()))
            .allow_http_webhooks(true)
            .build()
            .unwrap();
        let out = tempfile::tempdir().unwrap();
        let config = WorkerConfig {
            concurrency: JOBS,
            idle_poll: Duration::from_millis(50),
            poll,
            exit_when_idle: true,
            ..WorkerConfig::new()
        };
        let mut worker = Worker::new(
            queue.clone(),
            client,
            Arc::new(JsonlSink::new(out.path()).unwrap()),
            config,
        );
        if with_receivers {
            worker = worker.with_webhook_events(EventSignals::listen(&url).unwrap());
        }
        let started = Instant::now();
        let (_stop, stopped) = watch::channel(false);
        let report = worker.run(stopped).await.unwrap();
        let took = started.elapsed();
        assert_eq!(
            report.done,
            JOBS as u64,
            "{report:?} {:?}",
            queue.list(None, 1).await.unwrap()
        );
        let status = sim.requests()["status"];
        println!(
            "{} ({schedule} schedule): {JOBS} jobs of 15 s, {status} status calls ({:.2} per job), drained in {:.1} s",
            if with_receivers {
                "with receivers"
            } else {
                "polling only"
            },
            status as f64 / JOBS as f64,
            took.as_secs_f64()
        );
    }
}
