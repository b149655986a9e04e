//! Every call against the replay, capture and mock transports: paths, headers, queries,
//! decoding the seed's examples, error classes, and the poll schedule under a paused clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use hasdata_jobs::{
    BodyDigest, Client, Error, IntentState, JobLedger, MemoryLedger, PollPolicy, RowJson, SentJobId,
};
use hasdata_model::bodies::ContactsBody;
use hasdata_model::rows::ContactsRow;
use hasdata_model::{JobId, JobStatus};
use hasdata_transport::test_util::{
    CannedResponse, CaptureTransport, ExpectedRequest, ReplayTransport,
};
use hasdata_transport::{Body, MockTransport, RetryPolicy, SharedTransport, TransportError};
use http::Method;
use serde_json::json;

const BASE: &str = "https://api.test";
const KEY: &str = "hd-offline-7c1e0f";

const SUBMIT_RECORD: &str = r#"{"id": 416349, "scraperId": 26, "status": "pending", "creditsSpent": 0, "dataRowsCount": 0,
  "input": {"urls": ["https://example.com/about"]}, "createdAt": "2026-11-01T10:00:00+03:00", "updatedAt": "2026-11-01T10:00:00+03:00",
  "scraper": {"slug": "contacts"}, "columns": ["url", "emails"]}"#;
const STATUS_FINISHED: &str = r#"{"id": 416349, "status": "finished", "creditsSpent": "5", "dataRowsCount": "1",
  "data": {"csv": "https://files.test/a.csv", "json": "https://files.test/a.json", "xlsx": "https://files.test/a.xlsx"}}"#;

fn client_over(transport: SharedTransport, ledger: Arc<MemoryLedger>) -> Client {
    Client::builder()
        .api_key(KEY)
        .base_url(BASE)
        .transport(transport)
        .retry_policy(RetryPolicy::never())
        .ledger(ledger)
        .page_concurrency(1)
        .build()
        .unwrap()
}

fn replay(
    pairs: Vec<(ExpectedRequest, CannedResponse)>,
) -> (Arc<ReplayTransport>, Client, Arc<MemoryLedger>) {
    let replay = Arc::new(ReplayTransport::new(pairs));
    let ledger = Arc::new(MemoryLedger::new());
    let client = client_over(replay.clone(), ledger.clone());
    (replay, client, ledger)
}

#[tokio::test]
async fn submit_posts_the_body_once_with_the_key_and_records_the_id() {
    let (replay, client, ledger) = replay(vec![(
        ExpectedRequest::new(Method::POST, "https://api.test/scrapers/contacts/jobs")
            .body(r#"{"urls": ["https://example.com/about"]}"#)
            .header("x-api-key", KEY)
            .header("content-type", "application/json"),
        CannedResponse::json(SUBMIT_RECORD),
    )]);
    let job = client
        .submit(&ContactsBody::new(["https://example.com/about"]))
        .await
        .unwrap();
    replay.assert_requests_match();
    assert_eq!(job.id(), JobId::from(416349));
    assert_eq!(job.record().unwrap().status, JobStatus::Pending);
    let sent = &replay.requests()[0];
    let key = sent.headers()["idempotency-key"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(key.len(), 36, "a UUID: {key}");
    let jobs = ledger.jobs().await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].id, 416349);
    assert_eq!(jobs[0].scraper, "contacts");
    assert_eq!(jobs[0].intent_key.as_deref(), Some(key.as_str()));
    let intent = ledger.intent(&key).await.unwrap().unwrap();
    assert_eq!(intent.state, IntentState::Submitted);
    assert_eq!(intent.job_id.unwrap().to_string(), "416349");
    assert_eq!(
        intent.intent.digest,
        BodyDigest::of(br#"{"urls":["https://example.com/about"]}"#),
        "the digest of the exact bytes sent"
    );
}

#[tokio::test]
async fn the_id_is_recorded_even_when_the_rest_of_the_record_does_not_decode() {
    let (_, client, ledger) = replay(vec![(
        ExpectedRequest::new(Method::POST, "https://api.test/scrapers/contacts/jobs"),
        CannedResponse::json(
            r#"{"id": "416350", "status": "pending", "creditsSpent": null, "dataRowsCount": {"odd": 1}}"#,
        ),
    )]);
    let job = client
        .submit(&ContactsBody::new(["https://a.example"]))
        .await
        .unwrap();
    assert_eq!(job.id(), JobId::from(416350));
    assert_eq!(job.record().unwrap().status, JobStatus::Pending);
    let intent = &ledger.intents().await.unwrap()[0];
    assert_eq!(intent.state, IntentState::Submitted);
    assert_eq!(
        intent.job_id,
        Some(SentJobId::Text("416350".into())),
        "kept as sent"
    );
    assert_eq!(ledger.jobs().await.unwrap()[0].id, 416350);
}

#[tokio::test]
async fn an_id_that_is_not_an_integer_is_kept_and_echoed() {
    let (replay, client, ledger) = replay(vec![
        (
            ExpectedRequest::new(Method::POST, "https://api.test/scrapers/contacts/jobs"),
            CannedResponse::json(r#"{"id": "j-7f3a", "status": "pending"}"#),
        ),
        (
            ExpectedRequest::new(Method::GET, "https://api.test/scrapers/jobs/j-7f3a"),
            CannedResponse::json(
                r#"{"id": "j-7f3a", "status": "in_progress", "dataRowsCount": null}"#,
            ),
        ),
    ]);
    let job = client
        .submit_raw("contacts", &json!({"urls": ["https://a.example"]}))
        .await
        .unwrap();
    assert_eq!(job.id.to_string(), "j-7f3a");
    let intent = &ledger.intents().await.unwrap()[0];
    assert_eq!(intent.state, IntentState::Submitted);
    assert_eq!(intent.job_id, Some(SentJobId::Text("j-7f3a".into())));
    let status = client.status(job.id).await.unwrap();
    assert_eq!(status.status, JobStatus::InProgress);
    assert_eq!(status.data_rows_count.get(), 0, "null: not yet populated");
    replay.assert_requests_match();
}

#[tokio::test]
async fn webhook_secrets_never_reach_the_ledger() {
    let (replay, client, ledger) = replay(vec![(
        ExpectedRequest::new(Method::POST, "https://api.test/scrapers/contacts/jobs"),
        CannedResponse::json(
            r#"{"id": 9, "status": "pending", "input": {"urls": ["https://a.example"], "webhook": {"url": "https://hook.example/h", "headers": {"x-hook-secret": "s3cr3t-value"}}}}"#,
        ),
    )]);
    let body = json!({"urls": ["https://a.example"], "webhook": {"url": "https://hook.example/h", "headers": {"x-hook-secret": "s3cr3t-value"}}});
    client.submit_raw("contacts", &body).await.unwrap();
    assert!(
        String::from_utf8_lossy(replay.requests()[0].body()).contains("s3cr3t-value"),
        "the secret is sent"
    );
    let intent = &ledger.intents().await.unwrap()[0];
    assert!(intent.intent.body_redacted);
    let stored = serde_json::to_string(intent).unwrap();
    assert!(!stored.contains("s3cr3t-value"), "{stored}");
    assert!(stored.contains("hook.example"), "{stored}");
}

#[tokio::test]
async fn invalid_bodies_and_unknown_slugs_send_nothing() {
    let capture = Arc::new(CaptureTransport::new());
    let client = client_over(capture.clone(), Arc::new(MemoryLedger::new()));
    let error = client
        .submit(&ContactsBody::new(["ftp://x", "not a url"]))
        .await
        .unwrap_err();
    match &error {
        Error::InvalidBody(errors) => {
            assert_eq!(errors.paths().collect::<Vec<_>>(), ["urls[0]", "urls[1]"])
        }
        other => panic!("{other:?}"),
    }
    let error = client
        .submit_raw("google-serps", &json!({}))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("google-serp, google-maps"),
        "{error}"
    );
    let error = client
        .submit_raw("crawler", &json!({"urls": "https://a.example"}))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("urls"), "{error}");
    assert!(capture.requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn submit_failures_say_whether_the_job_may_exist() {
    let cases: Vec<(CannedResponse, &str)> = vec![
        (
            CannedResponse::new(500, r#"{"message": "boom"}"#),
            "uncertain",
        ),
        (
            CannedResponse::new(502, "<html>bad gateway</html>"),
            "uncertain",
        ),
        (CannedResponse::json("<html>not json</html>"), "uncertain"),
        (
            CannedResponse::new(
                422,
                r#"{"status": "error", "message": "Validation failed", "errors": {"categories": ["unknown: cafes"]}}"#,
            ),
            "refused",
        ),
        (
            CannedResponse::new(429, r#"{"message": "Concurrency limit reached"}"#),
            "refused",
        ),
        (
            CannedResponse::new(401, r#"{"message": "Invalid API key"}"#),
            "refused",
        ),
    ];
    for (answer, expected) in cases {
        let (_, client, ledger) = replay(vec![(
            ExpectedRequest::new(Method::POST, "https://api.test/scrapers/contacts/jobs"),
            answer,
        )]);
        // Not waiting out the 429 (the concurrency cap), to see how it is recorded.
        let now = hasdata_jobs::SubmitOptions {
            concurrency_cap_wait: Some(std::time::Duration::ZERO),
            ..Default::default()
        };
        let error = client
            .submit_with(&ContactsBody::new(["https://a.example"]), &now)
            .await
            .unwrap_err();
        let state = match (expected, &error) {
            ("uncertain", Error::SubmitUncertain { slug, .. }) => {
                assert_eq!(slug, "contacts");
                IntentState::Uncertain
            }
            ("refused", Error::Api { job_id: None, .. }) => IntentState::Refused,
            _ => panic!("{expected}: {error:?}"),
        };
        assert!(ledger.jobs().await.unwrap().is_empty());
        let intents = ledger.intents().await.unwrap();
        assert_eq!(intents.len(), 1, "the intent was recorded before the POST");
        assert_eq!(intents[0].state, state, "{expected}");
    }
}

#[tokio::test]
async fn a_transport_failure_on_submit_is_uncertain_unless_it_never_left() {
    for (error, uncertain) in [
        (TransportError::connect("connection refused"), false),
        (TransportError::timeout("no response within 300s"), true),
        (TransportError::body("connection reset"), true),
    ] {
        let mut mock = MockTransport::new();
        mock.expect_send()
            .times(1)
            .returning(move |_| Err(error.clone()));
        let ledger = Arc::new(MemoryLedger::new());
        let client = client_over(Arc::new(mock), ledger.clone());
        let result = client
            .submit(&ContactsBody::new(["https://a.example"]))
            .await
            .unwrap_err();
        assert_eq!(
            matches!(result, Error::SubmitUncertain { .. }),
            uncertain,
            "{result:?}"
        );
        let state = ledger.intents().await.unwrap()[0].state;
        assert_eq!(state.is_unresolved(), uncertain, "{state}");
    }
}

#[tokio::test]
async fn status_and_stop_use_their_paths_and_decode_string_counts() {
    let (replay, client, _) = replay(vec![
        (
            ExpectedRequest::new(Method::GET, "https://api.test/scrapers/jobs/416349")
                .header("x-api-key", KEY),
            CannedResponse::json(STATUS_FINISHED),
        ),
        (
            ExpectedRequest::new(Method::DELETE, "https://api.test/scrapers/jobs/416349"),
            CannedResponse::json(
                r#"{"id": 416349, "status": "stopped", "creditsSpent": "5", "dataRowsCount": "1"}"#,
            ),
        ),
    ]);
    let job = client.status(JobId::from(416349)).await.unwrap();
    assert_eq!((job.credits_spent.get(), job.data_rows_count.get()), (5, 1));
    assert_eq!(
        job.data.unwrap().json.as_deref(),
        Some("https://files.test/a.json")
    );
    let stopped = client.stop(JobId::from(416349)).await.unwrap();
    assert_eq!(stopped.status, JobStatus::Stopped);
    replay.assert_requests_match();
}

#[tokio::test]
async fn answers_of_megabytes_are_read_and_a_runaway_one_is_cut_off() {
    // A status record far past any buffer size (a job's `input` can hold many URLs).
    let urls: Vec<String> = (0..60_000)
        .map(|i| format!("https://example.com/a/long/path/{i:08}"))
        .collect();
    let big = json!({"id": 416349, "status": "pending", "input": {"urls": urls}}).to_string();
    assert!(big.len() > 2 * 1024 * 1024);
    let runaway = format!(
        r#"{{"id": 416349, "pad": "{}"}}"#,
        "x".repeat(64 * 1024 * 1024)
    );
    let (replay, client, _) = replay(vec![
        (
            ExpectedRequest::new(Method::GET, "https://api.test/scrapers/jobs/416349"),
            CannedResponse::json(big),
        ),
        (
            ExpectedRequest::new(Method::GET, "https://api.test/scrapers/jobs/416349"),
            CannedResponse::json(runaway),
        ),
    ]);
    let job = client
        .status(JobId::from(416349))
        .await
        .expect("a 2 MiB record is read");
    assert_eq!(
        job.input.expect("input")["urls"].as_array().map(Vec::len),
        Some(60_000)
    );
    let err = client
        .status(JobId::from(416349))
        .await
        .expect_err("past 64 MiB the answer is not read into memory");
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    replay.assert_requests_match();
}

#[tokio::test]
async fn errors_after_submit_carry_the_job_id_and_never_the_key() {
    let (_, client, _) = replay(vec![(
        ExpectedRequest::new(Method::GET, "https://api.test/scrapers/jobs/77"),
        CannedResponse::new(
            404,
            format!(r#"{{"message": "job 77 not found for key {KEY}"}}"#),
        ),
    )]);
    let error = client.status(JobId::from(77)).await.unwrap_err();
    assert_eq!(error.job_id(), Some(JobId::from(77)));
    assert_eq!(error.status().map(|s| s.as_u16()), Some(404));
    let shown = format!("{error} {error:?}");
    assert!(shown.contains("job 77"), "{shown}");
    assert!(!shown.contains(KEY), "the key leaked: {shown}");
    assert!(!format!("{client:?}").contains(KEY));
}

#[tokio::test]
async fn results_page_through_last_page_with_the_documented_query() {
    let page = |n: u64, last: u64, rows: &[&str]| {
        let data: Vec<_> = rows
            .iter()
            .map(|url| json!({"id": format!("r-{url}"), "jobId": 9, "dataId": "d", "data": {"url": url}, "createdAt": "", "updatedAt": ""}))
            .collect();
        json!({"meta": {"total": 3, "perPage": 100, "currentPage": n, "lastPage": last, "firstPage": 1,
            "firstPageUrl": "/?page=1", "lastPageUrl": format!("/?page={last}"), "nextPageUrl": null, "previousPageUrl": null},
            "data": data})
        .to_string()
    };
    let (replay, client, _) = replay(vec![
        (
            ExpectedRequest::new(Method::GET, "https://api.test/scrapers/jobs/9"),
            CannedResponse::json(r#"{"id": 9, "status": "finished", "dataRowsCount": "3"}"#),
        ),
        (
            ExpectedRequest::new(
                Method::GET,
                "https://api.test/scrapers/jobs/9/results?page=1&limit=100",
            ),
            CannedResponse::json(page(1, 2, &["https://a.example", "https://b.example"])),
        ),
        (
            ExpectedRequest::new(
                Method::GET,
                "https://api.test/scrapers/jobs/9/results?page=2&limit=100",
            ),
            CannedResponse::json(page(2, 2, &["https://c.example"])),
        ),
    ]);
    let rows: Vec<_> = client
        .rows::<ContactsRow>(JobId::from(9))
        .pages()
        .try_collect()
        .await
        .unwrap();
    let urls: Vec<&str> = rows.iter().map(|r| r.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "https://a.example",
            "https://b.example",
            "https://c.example"
        ]
    );
    assert!(rows[0].emails.is_empty(), "missing lists default to empty");
    replay.assert_requests_match();
}

#[tokio::test]
async fn a_row_that_is_not_an_object_names_the_page_and_the_row() {
    let (_, client, _) = replay(vec![
        (
            ExpectedRequest::new(Method::GET, "https://api.test/scrapers/jobs/9"),
            CannedResponse::json(r#"{"id": 9, "status": "finished", "dataRowsCount": 2}"#),
        ),
        (
            ExpectedRequest::new(
                Method::GET,
                "https://api.test/scrapers/jobs/9/results?page=1&limit=100",
            ),
            CannedResponse::json(
                json!({"meta": {"total": 2, "perPage": 100, "currentPage": 1, "lastPage": 1},
                    "data": [{"id": "a", "jobId": 9, "data": {"url": "https://a.example"}},
                             {"id": "b", "jobId": 9, "data": "not a row"}]})
                .to_string(),
            ),
        ),
    ]);
    let results: Vec<_> = client
        .rows::<ContactsRow>(JobId::from(9))
        .pages()
        .collect()
        .await;
    let error = results.into_iter().find_map(Result::err).unwrap();
    match &error {
        Error::Decode { source, job_id } => {
            assert_eq!(source.path, "page 1.data[1].data");
            assert_eq!(*job_id, Some(JobId::from(9)));
        }
        other => panic!("{other:?}"),
    }
}

/// A mock that answers the status of job 1: `in_progress` until `finish_after` polls, recording
/// when each poll came (tokio's clock).
fn polled_job(
    finish_after: Option<usize>,
    failures_at: Vec<usize>,
) -> (MockTransport, Arc<Mutex<Vec<tokio::time::Instant>>>) {
    let times = Arc::new(Mutex::new(Vec::new()));
    let seen = times.clone();
    let mut mock = MockTransport::new();
    mock.expect_send().returning(move |request| {
        assert_eq!(request.uri().path(), "/scrapers/jobs/1");
        let mut times = seen.lock().unwrap();
        times.push(tokio::time::Instant::now());
        let n = times.len();
        if failures_at.contains(&n) {
            let mut response =
                http::Response::new(Body::from_bytes(r#"{"message": "unavailable"}"#));
            *response.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
            return Ok(response);
        }
        let status = if finish_after.is_some_and(|k| n > k) {
            "finished"
        } else {
            "in_progress"
        };
        Ok(http::Response::new(Body::from_bytes(format!(
            r#"{{"id": 1, "status": "{status}", "dataRowsCount": "{n}"}}"#
        ))))
    });
    (mock, times)
}

fn no_jitter() -> PollPolicy {
    PollPolicy {
        jitter: 0.0,
        ..PollPolicy::default()
    }
}

#[tokio::test(start_paused = true)]
async fn wait_follows_the_documented_schedule() {
    let (mock, times) = polled_job(Some(7), vec![]);
    let client = Client::builder()
        .api_key(KEY)
        .transport(Arc::new(mock))
        .build()
        .unwrap();
    let job = client.wait(JobId::from(1), no_jitter()).await.unwrap();
    assert_eq!(job.status, JobStatus::Finished);
    let times = times.lock().unwrap();
    let gaps: Vec<f64> = times
        .windows(2)
        .map(|w| (w[1] - w[0]).as_secs_f64())
        .collect();
    assert_eq!(gaps, [10.0, 15.0, 22.5, 33.75, 50.625, 60.0, 60.0]);
}

#[tokio::test(start_paused = true)]
async fn jitter_stays_within_its_share() {
    // 40 gaps: all on one side of the nominal interval has odds of 2 in 2^40 if the jitter
    // moves both ways, as it must (a one-sided jitter still lines waiters up).
    let (mock, times) = polled_job(Some(40), vec![]);
    let client = Client::builder()
        .api_key(KEY)
        .transport(Arc::new(mock))
        .build()
        .unwrap();
    client
        .wait(JobId::from(1), PollPolicy::default())
        .await
        .unwrap();
    let times = times.lock().unwrap();
    let policy = PollPolicy::default();
    let (mut longer, mut shorter) = (0, 0);
    for (n, gap) in times.windows(2).map(|w| w[1] - w[0]).enumerate() {
        let nominal = policy.interval(n as u32).as_secs_f64();
        let ratio = gap.as_secs_f64() / nominal;
        assert!(
            (0.9..=1.1).contains(&ratio),
            "poll {n}: {gap:?} vs {nominal}"
        );
        if ratio > 1.0 {
            longer += 1;
        } else if ratio < 1.0 {
            shorter += 1;
        }
    }
    assert_eq!(times.len(), 41);
    assert!(
        longer > 0 && shorter > 0,
        "{longer} longer, {shorter} shorter"
    );
}

#[tokio::test(start_paused = true)]
async fn a_transient_poll_error_does_not_end_the_wait() {
    let (mock, _) = polled_job(Some(5), vec![2, 3]);
    let client = Client::builder()
        .api_key(KEY)
        .transport(Arc::new(mock))
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let job = client.wait(JobId::from(1), no_jitter()).await.unwrap();
    assert_eq!(job.status, JobStatus::Finished);
}

#[tokio::test(start_paused = true)]
async fn the_deadline_error_carries_the_id_and_the_last_status() {
    let (mock, times) = polled_job(None, vec![]);
    let client = Client::builder()
        .api_key(KEY)
        .transport(Arc::new(mock))
        .build()
        .unwrap();
    let policy = no_jitter().deadline(Duration::from_secs(120));
    let error = client.wait(JobId::from(1), policy).await.unwrap_err();
    match &error {
        Error::WaitDeadline {
            job_id,
            waited,
            last_status,
        } => {
            assert_eq!(*job_id, JobId::from(1));
            assert_eq!(*waited, Duration::from_secs(120));
            assert_eq!(last_status.as_ref(), Some(&JobStatus::InProgress));
        }
        other => panic!("{other:?}"),
    }
    assert!(error.to_string().contains("job 1") && error.to_string().contains("in_progress"));
    // 0, 10, 25, 47.5, 81.25, then the deadline at 120 s.
    assert_eq!(times.lock().unwrap().len(), 6);
}

#[tokio::test]
async fn polling_faster_than_10s_is_refused_against_hasdata() {
    let capture = Arc::new(CaptureTransport::new());
    let client = Client::builder()
        .api_key(KEY)
        .transport(capture.clone())
        .build()
        .unwrap();
    let error = client
        .wait(JobId::from(1), PollPolicy::fast().clone_with_guard())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Config(hasdata_jobs::ConfigError::PollTooFast(_))
        ),
        "{error}"
    );
    assert!(capture.requests().is_empty());
}

trait Guarded {
    fn clone_with_guard(&self) -> PollPolicy;
}

impl Guarded for PollPolicy {
    /// The same intervals without the explicit override.
    fn clone_with_guard(&self) -> PollPolicy {
        PollPolicy {
            allow_fast_polling: false,
            ..self.clone()
        }
    }
}

#[tokio::test(start_paused = true)]
async fn watch_streams_snapshots_with_the_time_to_the_next_poll() {
    let (mock, _) = polled_job(Some(2), vec![]);
    let client = Client::builder()
        .api_key(KEY)
        .transport(Arc::new(mock))
        .build()
        .unwrap();
    let snapshots: Vec<_> = client
        .watch(JobId::from(1), no_jitter())
        .try_collect()
        .await
        .unwrap();
    let next: Vec<Option<Duration>> = snapshots.iter().map(|p| p.next_poll).collect();
    assert_eq!(
        next,
        [
            Some(Duration::from_secs(10)),
            Some(Duration::from_secs(15)),
            None
        ]
    );
    assert_eq!(snapshots[1].job.data_rows_count.get(), 2);
    let polls: Vec<u32> = snapshots.iter().map(|p| p.polls).collect();
    assert_eq!(polls, [1, 2, 3]);
    let elapsed: Vec<Duration> = snapshots.iter().map(|p| p.elapsed).collect();
    assert_eq!(
        elapsed,
        [
            Duration::ZERO,
            Duration::from_secs(10),
            Duration::from_secs(25)
        ]
    );
    assert_eq!(snapshots[0].status(), &JobStatus::InProgress);
    assert!(!snapshots[0].is_terminal());
    assert_eq!(snapshots[2].status(), &JobStatus::Finished);
    assert!(snapshots[2].is_terminal());
}

/// A mock whose job 1 has spent `credits[n]` at poll `n + 1`, and finishes at the last one.
fn spending_job(credits: Vec<u64>) -> MockTransport {
    let polls = Arc::new(Mutex::new(0usize));
    let mut mock = MockTransport::new();
    mock.expect_send().returning(move |_| {
        let mut polls = polls.lock().unwrap();
        let spent = credits[*polls];
        *polls += 1;
        let status = if *polls == credits.len() {
            "finished"
        } else {
            "in_progress"
        };
        Ok(http::Response::new(Body::from_bytes(format!(
            r#"{{"id": 1, "status": "{status}", "creditsSpent": {spent}, "dataRowsCount": 0}}"#
        ))))
    });
    mock
}

/// The spend rate comes from two polls that both saw spending; near the cap (90% of it,
/// projected to the next poll) or while the rate is unknown, the next poll is at the floor.
#[tokio::test(start_paused = true)]
async fn a_capped_watch_measures_the_spend_and_polls_at_the_floor_near_the_cap() {
    // Polls at 0, 10, 25 (spending begins: measure), 35 (rate 8/s; 180 + 8 x 33.75 = 450,
    // exactly 90% of 500: the floor), 45 (rate 2/s; 200 + 2 x 50.625 < 450), 95.625.
    let mock = spending_job(vec![0, 0, 100, 180, 200, 300]);
    let client = Client::builder()
        .api_key(KEY)
        .transport(Arc::new(mock))
        .build()
        .unwrap();
    let snapshots: Vec<_> = client
        .watch_capped(JobId::from(1), no_jitter(), 500)
        .try_collect()
        .await
        .unwrap();
    let next: Vec<Option<f64>> = snapshots
        .iter()
        .map(|p| p.next_poll.map(|d| d.as_secs_f64()))
        .collect();
    assert_eq!(
        next,
        [
            Some(10.0),
            Some(15.0),
            Some(10.0),
            Some(10.0),
            Some(50.625),
            None
        ]
    );
    let rates: Vec<Option<f64>> = snapshots.iter().map(|p| p.credits_per_second).collect();
    assert_eq!(rates[..5], [None, None, None, Some(8.0), Some(2.0)]);
    let last = rates[5].expect("a rate");
    assert!((last - 100.0 / 50.625).abs() < 1e-9, "{last}");
    assert_eq!(snapshots[5].elapsed, Duration::from_secs_f64(95.625));

    // Without a cap the schedule is untouched, and the rate is still reported.
    let uncapped: Vec<_> = Client::builder()
        .api_key(KEY)
        .transport(Arc::new(spending_job(vec![0, 0, 100, 180, 200, 300])))
        .build()
        .unwrap()
        .watch(JobId::from(1), no_jitter())
        .try_collect()
        .await
        .unwrap();
    let next: Vec<Option<f64>> = uncapped
        .iter()
        .map(|p| p.next_poll.map(|d| d.as_secs_f64()))
        .collect();
    assert_eq!(
        next,
        [
            Some(10.0),
            Some(15.0),
            Some(22.5),
            Some(33.75),
            Some(50.625),
            None
        ]
    );
    assert_eq!(uncapped[4].credits_per_second, Some(20.0 / 33.75));
}

/// Polls at the same instant (a zero interval) give no rate, never an infinite one.
#[tokio::test(start_paused = true)]
async fn polls_at_the_same_instant_give_no_rate() {
    let client = Client::builder()
        .api_key(KEY)
        .transport(Arc::new(spending_job(vec![5, 10, 20])))
        .build()
        .unwrap();
    let policy = PollPolicy {
        initial: Duration::ZERO,
        cap: Duration::ZERO,
        allow_fast_polling: true,
        ..no_jitter()
    };
    let snapshots: Vec<_> = client
        .watch(JobId::from(1), policy)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(snapshots.len(), 3);
    assert!(
        snapshots.iter().all(|p| p.credits_per_second.is_none()),
        "{:?}",
        snapshots
            .iter()
            .map(|p| p.credits_per_second)
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_lagging_last_page_does_not_lose_rows() {
    // Right after a job finishes, `meta.total` (and a lastPage computed from it) can lag: the
    // status says 150 rows while page 1 claims to be the last. The pager reads on.
    let row = |n: u64| json!({"id": format!("r{n}"), "jobId": 9, "dataId": "d", "data": {"url": format!("https://{n}.example")}});
    let page = |current: u64, rows: std::ops::Range<u64>| {
        json!({"meta": {"total": 100, "perPage": 100, "currentPage": current, "lastPage": 1},
               "data": rows.map(row).collect::<Vec<_>>()})
        .to_string()
    };
    let (replay, client, _) = replay(vec![
        (
            ExpectedRequest::new(Method::GET, "https://api.test/scrapers/jobs/9"),
            CannedResponse::json(r#"{"id": 9, "status": "finished", "dataRowsCount": "150"}"#),
        ),
        (
            ExpectedRequest::new(
                Method::GET,
                "https://api.test/scrapers/jobs/9/results?page=1&limit=100",
            ),
            CannedResponse::json(page(1, 0..100)),
        ),
        (
            ExpectedRequest::new(
                Method::GET,
                "https://api.test/scrapers/jobs/9/results?page=2&limit=100",
            ),
            CannedResponse::json(page(2, 100..150)),
        ),
    ]);
    let rows: Vec<serde_json::Value> = client
        .rows::<serde_json::Value>(JobId::from(9))
        .pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rows.len(), 150);
    assert_eq!(rows[149]["url"], "https://149.example");
    replay.assert_requests_match();
}

#[tokio::test]
async fn a_running_jobs_rows_are_read_to_the_last_page_the_pages_name() {
    // A running job's status gives no final count (`dataRowsCount` 0 here): only the pages'
    // `lastPage` says a second page exists. Both readings of rows (typed, and the bytes as
    // sent) must follow it.
    let row = |n: u64| json!({"id": format!("r{n}"), "jobId": 9, "data": {"url": format!("https://{n}.example")}});
    let page = |current: u64, rows: std::ops::Range<u64>| {
        json!({"meta": {"total": 3, "perPage": 2, "currentPage": current, "lastPage": 2},
               "data": rows.map(row).collect::<Vec<_>>()})
        .to_string()
    };
    let exchange = || {
        vec![
            (
                ExpectedRequest::new(Method::GET, "https://api.test/scrapers/jobs/9"),
                CannedResponse::json(r#"{"id": 9, "status": "in_progress", "dataRowsCount": "0"}"#),
            ),
            (
                ExpectedRequest::new(
                    Method::GET,
                    "https://api.test/scrapers/jobs/9/results?page=1&limit=100",
                ),
                CannedResponse::json(page(1, 0..2)),
            ),
            (
                ExpectedRequest::new(
                    Method::GET,
                    "https://api.test/scrapers/jobs/9/results?page=2&limit=100",
                ),
                CannedResponse::json(page(2, 2..3)),
            ),
        ]
    };
    let (typed_replay, client, _) = replay(exchange());
    let typed: Vec<ContactsRow> = client
        .rows::<ContactsRow>(JobId::from(9))
        .pages()
        .try_collect()
        .await
        .unwrap();
    let urls: Vec<&str> = typed.iter().map(|r| r.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "https://0.example",
            "https://1.example",
            "https://2.example"
        ]
    );
    typed_replay.assert_requests_match();

    let (raw_replay, client, _) = replay(exchange());
    let raw: Vec<RowJson> = client
        .rows::<RowJson>(JobId::from(9))
        .pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        raw.iter().map(|r| r.as_bytes()).collect::<Vec<_>>(),
        [
            &br#"{"url":"https://0.example"}"#[..],
            br#"{"url":"https://1.example"}"#,
            br#"{"url":"https://2.example"}"#
        ]
    );
    raw_replay.assert_requests_match();
}

#[tokio::test]
async fn a_page_with_a_field_twice_is_refused_by_both_readings() {
    // JSON allows a key twice; the pages never send one, and which copy counts is anyone's
    // guess, so a page with `data` or `meta` twice (or a row wrapper with `data` or `id`
    // twice) is refused, by the fast reading of raw rows as by serde.
    let pages = [
        r#"{"meta": {"lastPage": 1}, "data": [{"data": {"a": 1}}], "data": [{"data": {"b": 2}}]}"#,
        r#"{"meta": {"lastPage": 1}, "data": [{"data": {"a": 1}}], "meta": {"lastPage": 1}}"#,
        r#"{"meta": {"lastPage": 1}, "data": [{"data": {"a": 1}, "data": {"b": 2}}]}"#,
        r#"{"meta": {"lastPage": 1}, "data": [{"id": "x", "data": {"a": 1}, "id": "y"}]}"#,
    ];
    for page in pages {
        let exchange = || {
            vec![
                (
                    ExpectedRequest::new(Method::GET, "https://api.test/scrapers/jobs/9"),
                    CannedResponse::json(r#"{"id": 9, "status": "finished", "dataRowsCount": 1}"#),
                ),
                (
                    ExpectedRequest::new(
                        Method::GET,
                        "https://api.test/scrapers/jobs/9/results?page=1&limit=100",
                    ),
                    CannedResponse::json(page),
                ),
            ]
        };
        let (_, client, _) = replay(exchange());
        let raw = client
            .rows::<RowJson>(JobId::from(9))
            .pages()
            .try_collect::<Vec<_>>()
            .await;
        let (_, client, _) = replay(exchange());
        let typed = client
            .rows::<serde_json::Value>(JobId::from(9))
            .pages()
            .try_collect::<Vec<_>>()
            .await;
        for (reading, error) in [("raw", raw.err()), ("typed", typed.err())] {
            match error {
                Some(Error::Decode { source, job_id }) => {
                    assert!(
                        source.message.contains("duplicate field"),
                        "{reading} {page}: {source}"
                    );
                    assert_eq!(job_id, Some(JobId::from(9)));
                }
                other => panic!("{reading} {page}: {other:?}"),
            }
        }
    }
}

#[tokio::test]
async fn a_server_that_ignores_page_is_caught_by_typed_and_raw_reads() {
    // Page 2 comes back as page 1 again: the counts add up (4 rows of 4), only the wrapper
    // ids show the repeat, in both readings of rows.
    let page = json!({"meta": {"total": 4, "perPage": 2, "currentPage": 1, "lastPage": 2},
        "data": [{"id": "a", "jobId": 9, "data": {"url": "https://a.example"}},
                 {"id": 7, "jobId": 9, "data": {"url": "https://b.example"}}]})
    .to_string();
    a_page_served_twice_is_refused_by_both_readings(page, "a").await;
}

/// Page 1 served again as page 2: the counts add up (4 rows of 4), only the wrapper ids show
/// the repeat; both the typed and the raw reading must refuse it, naming `first_id`.
async fn a_page_served_twice_is_refused_by_both_readings(page: String, first_id: &str) {
    let exchange = || {
        vec![
            (
                ExpectedRequest::new(Method::GET, "https://api.test/scrapers/jobs/9"),
                CannedResponse::json(r#"{"id": 9, "status": "finished", "dataRowsCount": 4}"#),
            ),
            (
                ExpectedRequest::new(
                    Method::GET,
                    "https://api.test/scrapers/jobs/9/results?page=1&limit=100",
                ),
                CannedResponse::json(page.clone()),
            ),
            (
                ExpectedRequest::new(
                    Method::GET,
                    "https://api.test/scrapers/jobs/9/results?page=2&limit=100",
                ),
                CannedResponse::json(page.clone()),
            ),
        ]
    };
    let (_, client, _) = replay(exchange());
    let typed = client
        .rows::<ContactsRow>(JobId::from(9))
        .pages()
        .try_collect::<Vec<_>>()
        .await;
    let (_, client, _) = replay(exchange());
    let raw = client
        .rows::<RowJson>(JobId::from(9))
        .pages()
        .try_collect::<Vec<_>>()
        .await;
    for (reading, error) in [("typed", typed.err()), ("raw", raw.err())] {
        match error {
            Some(Error::RepeatedRow {
                job_id,
                row_id,
                page,
            }) => {
                assert_eq!(
                    (job_id, row_id.as_str(), page),
                    (JobId::from(9), first_id, 2),
                    "{reading}"
                );
            }
            other => panic!("{reading}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_uncertain_intent_is_resent_only_on_request_with_its_own_key_and_body() {
    let (replay, client, ledger) = replay(vec![
        (
            ExpectedRequest::new(Method::POST, "https://api.test/scrapers/contacts/jobs"),
            CannedResponse::new(502, "<html>bad gateway</html>"),
        ),
        (
            ExpectedRequest::new(Method::POST, "https://api.test/scrapers/contacts/jobs"),
            CannedResponse::json(r#"{"id": 77, "status": "pending"}"#),
        ),
    ]);
    let body = json!({"urls": ["https://a.example"]});
    let error = client.submit_raw("contacts", &body).await.unwrap_err();
    let Error::SubmitUncertain { key, .. } = error else {
        panic!("{error:?}");
    };
    assert_eq!(replay.requests().len(), 1, "never resent on its own");
    let other = serde_json::to_vec(&json!({"urls": ["https://b.example"]})).unwrap();
    let refused = client.resend_intent(&key, other.into()).await.unwrap_err();
    assert!(refused.to_string().contains("SHA-256"), "{refused}");
    assert_eq!(replay.requests().len(), 1, "a different body is not sent");
    let job = client
        .resend_intent(&key, serde_json::to_vec(&body).unwrap().into())
        .await
        .unwrap();
    assert_eq!(job.id, JobId::from(77));
    let sent = replay.requests();
    assert_eq!(
        sent[0].headers()["idempotency-key"],
        sent[1].headers()["idempotency-key"]
    );
    let intent = ledger.intent(&key).await.unwrap().unwrap();
    assert_eq!((intent.state, intent.attempts), (IntentState::Submitted, 2));
    let again = client
        .resend_intent(&key, serde_json::to_vec(&body).unwrap().into())
        .await
        .unwrap_err();
    assert!(
        again.to_string().contains("already created job 77"),
        "{again}"
    );
}

#[tokio::test]
async fn numeric_wrapper_ids_that_repeat_are_caught_by_typed_and_raw_reads() {
    // Every wrapper id a number: the typed reading checked text ids only, so a page served
    // twice went through it unnoticed while the raw reading refused it.
    let page = json!({"meta": {"total": 4, "perPage": 2, "currentPage": 1, "lastPage": 2},
        "data": [{"id": 6, "jobId": 9, "data": {"url": "https://a.example"}},
                 {"id": 7, "jobId": 9, "data": {"url": "https://b.example"}}]})
    .to_string();
    a_page_served_twice_is_refused_by_both_readings(page, "6").await;
}
