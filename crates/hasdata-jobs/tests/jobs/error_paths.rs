//! The paths a happy run never takes: a ledger that fails after the job exists, a wait that
//! gives up, the builder's refusals, `Client::from_env`, and each way a download falls back
//! to the results pages.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::TryStreamExt;
use hasdata_jobs::{
    BodyDigest, Client, Error, Intent, IntentEntry, JobEntry, JobLedger, JobProgress, LedgerError,
    MemoryLedger, Origin, PollPolicy, Submitted,
};
use hasdata_model::bodies::{ContactsBody, GoogleSerpBody};
use hasdata_model::rows::GoogleSerpRow;
use hasdata_model::{JobId, JobStatus};
use hasdata_sim::SimConfig;
use hasdata_transport::{Body, MockTransport, RetryPolicy};

use crate::{Env, assert_same_rows, expected, fast_retries};

/// A ledger whose disk fills up: after the intent (`at_intent: false`) or before it.
#[derive(Debug, Default)]
struct FullDisk {
    at_intent: bool,
    inner: MemoryLedger,
}

fn disk_full() -> LedgerError {
    LedgerError::storage("test", std::io::Error::other("disk full"))
}

#[async_trait::async_trait]
impl JobLedger for FullDisk {
    async fn record_intent(&self, intent: &Intent) -> Result<(), LedgerError> {
        if self.at_intent {
            return Err(disk_full());
        }
        self.inner.record_intent(intent).await
    }
    async fn record_resend(&self, key: &str) -> Result<(), LedgerError> {
        self.inner.record_resend(key).await
    }
    async fn claim_resend(
        &self,
        key: &str,
        owner: &str,
        attempts: u32,
        lease: std::time::Duration,
    ) -> Result<hasdata_jobs::ResendClaim, LedgerError> {
        self.inner.claim_resend(key, owner, attempts, lease).await
    }
    async fn release_resend(&self, key: &str, owner: &str) -> Result<(), LedgerError> {
        self.inner.release_resend(key, owner).await
    }
    async fn record_submitted(&self, _key: &str, _s: &Submitted) -> Result<(), LedgerError> {
        Err(disk_full())
    }
    async fn record_refused(&self, key: &str, reason: &str) -> Result<(), LedgerError> {
        self.inner.record_refused(key, reason).await
    }
    async fn record_uncertain(&self, key: &str, reason: &str) -> Result<(), LedgerError> {
        self.inner.record_uncertain(key, reason).await
    }
    async fn intent(&self, key: &str) -> Result<Option<IntentEntry>, LedgerError> {
        self.inner.intent(key).await
    }
    async fn intents(&self) -> Result<Vec<IntentEntry>, LedgerError> {
        self.inner.intents().await
    }
    async fn intents_for(
        &self,
        origin: &Origin,
        digest: &BodyDigest,
    ) -> Result<Vec<IntentEntry>, LedgerError> {
        self.inner.intents_for(origin, digest).await
    }
    async fn record_progress(&self, id: JobId, progress: &JobProgress) -> Result<(), LedgerError> {
        self.inner.record_progress(id, progress).await
    }
    async fn mark_collected(&self, id: JobId, output: &str) -> Result<(), LedgerError> {
        self.inner.mark_collected(id, output).await
    }
    async fn job(&self, id: JobId) -> Result<Option<JobEntry>, LedgerError> {
        self.inner.job(id).await
    }
    async fn jobs(&self) -> Result<Vec<JobEntry>, LedgerError> {
        self.inner.jobs().await
    }
    async fn forget_job(&self, id: JobId) -> Result<bool, LedgerError> {
        self.inner.forget_job(id).await
    }
}

#[tokio::test]
async fn a_ledger_failing_before_the_post_sends_nothing() {
    let env = Env::instant().await;
    let client = Client::builder()
        .api_key(env.sim.api_key())
        .base_url(env.sim.base_url())
        .ledger(Arc::new(FullDisk {
            at_intent: true,
            ..FullDisk::default()
        }))
        .build()
        .unwrap();
    let error = client
        .submit(&ContactsBody::new(["https://a.example"]))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::LedgerUnavailable { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("nothing was sent"), "{error}");
    assert_eq!(env.sim.submits(), 0);
}

#[tokio::test]
async fn a_ledger_failing_after_the_job_exists_hands_back_the_id() {
    let env = Env::instant().await;
    let client = Client::builder()
        .api_key(env.sim.api_key())
        .base_url(env.sim.base_url())
        .retry_policy(fast_retries())
        .ledger(Arc::new(FullDisk::default()))
        .build()
        .unwrap();
    let error = client
        .submit(&ContactsBody::new(["https://a.example"]))
        .await
        .unwrap_err();
    let created = JobId::from(env.sim.config().first_job_id);
    match &error {
        Error::Ledger {
            job_id,
            sent_id,
            source,
        } => {
            assert_eq!(*job_id, Some(created), "the paid job's id is in the error");
            assert_eq!(*sent_id, created.to_string());
            assert!(source.to_string().contains("disk full"), "{source}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(error.job_id(), Some(created));
    assert!(error.to_string().contains(&created.to_string()), "{error}");
    assert_eq!(
        env.sim.submits(),
        1,
        "the job exists: never submit it again"
    );
    assert!(
        env.sim.expected_rows(created.as_u64().unwrap()).is_some(),
        "the id names the real job"
    );
}

/// A mock API whose status of job 1 fails with 503 from the `fail_from`-th poll on (1-based).
fn failing_from(fail_from: usize) -> (MockTransport, Arc<Mutex<usize>>) {
    failing_from_with(fail_from, http::StatusCode::SERVICE_UNAVAILABLE)
}

/// [`failing_from`] with another status.
fn failing_from_with(
    fail_from: usize,
    status: http::StatusCode,
) -> (MockTransport, Arc<Mutex<usize>>) {
    let polls = Arc::new(Mutex::new(0));
    let counted = polls.clone();
    let mut mock = MockTransport::new();
    mock.expect_send().returning(move |_| {
        let mut polls = counted.lock().unwrap();
        *polls += 1;
        if *polls >= fail_from {
            let mut response = http::Response::new(Body::from_bytes(r#"{"message": "down"}"#));
            *response.status_mut() = status;
            return Ok(response);
        }
        Ok(http::Response::new(Body::from_bytes(
            r#"{"id": 1, "status": "in_progress", "dataRowsCount": "0"}"#,
        )))
    });
    (mock, polls)
}

#[tokio::test(start_paused = true)]
async fn a_wait_gives_up_after_max_consecutive_errors_with_the_id() {
    let (mock, polls) = failing_from(2);
    let client = Client::builder()
        .api_key("k")
        .transport(Arc::new(mock))
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let policy = PollPolicy {
        max_consecutive_errors: 3,
        jitter: 0.0,
        ..PollPolicy::default()
    };
    let error = client.wait(JobId::from(1), policy).await.unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Api {
                job_id: Some(id),
                ..
            } if *id == JobId::from(1)
        ),
        "the poll's own error, not the deadline: {error:?}"
    );
    assert_eq!(error.status().map(|s| s.as_u16()), Some(503));
    // One good poll, three tolerated failures, then the fourth ends the wait.
    assert_eq!(*polls.lock().unwrap(), 5);
}

/// A refusal (a 404: the job is gone; a 401: the key was revoked) is not waited out: the
/// poll that gets it ends the wait with it, long before the deadline or the error budget.
#[tokio::test(start_paused = true)]
async fn a_refusal_while_waiting_ends_the_wait_at_once() {
    for status in [http::StatusCode::NOT_FOUND, http::StatusCode::UNAUTHORIZED] {
        let (mock, polls) = failing_from_with(2, status);
        let client = Client::builder()
            .api_key("k")
            .transport(Arc::new(mock))
            .retry_policy(RetryPolicy::never())
            .build()
            .unwrap();
        let policy = PollPolicy {
            max_consecutive_errors: 100,
            jitter: 0.0,
            ..PollPolicy::default()
        };
        let started = tokio::time::Instant::now();
        let error = client.wait(JobId::from(1), policy).await.unwrap_err();
        assert_eq!(error.status(), Some(status), "{error:?}");
        assert_eq!(error.job_id(), Some(JobId::from(1)));
        assert_eq!(*polls.lock().unwrap(), 2, "{status}");
        // The second poll comes at the first interval, 10 s; nothing is waited after it.
        assert_eq!(started.elapsed(), Duration::from_secs(10));
    }
}

/// Polls still failing when the deadline comes end the wait with the deadline error (the id,
/// the time waited, the last status seen), not with the last poll's own error.
#[tokio::test(start_paused = true)]
async fn transient_failures_past_the_deadline_end_with_the_deadline_error() {
    let (mock, polls) = failing_from(2);
    let client = Client::builder()
        .api_key("k")
        .transport(Arc::new(mock))
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let policy = PollPolicy {
        max_consecutive_errors: 100,
        jitter: 0.0,
        deadline: Duration::from_secs(120),
        ..PollPolicy::default()
    };
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
        other => panic!("expected the deadline error: {other:?}"),
    }
    // 0 (ok), then failures at 10, 25, 47.5, 81.25 and the last one at the deadline, 120.
    assert_eq!(*polls.lock().unwrap(), 6);
}

#[test]
fn http_webhooks_are_refused_against_the_real_host() {
    for base in [
        "https://api.hasdata.com",
        "https://API.HasData.com",
        "https://api.hasdata.com:443/",
    ] {
        let error = Client::builder()
            .api_key("k")
            .base_url(base)
            .allow_http_webhooks(true)
            .build()
            .unwrap_err();
        assert!(matches!(error, Error::Config(_)), "{base}: {error:?}");
        assert!(error.to_string().contains("https"), "{error}");
    }
    Client::builder()
        .api_key("k")
        .base_url("https://api.hasdata.com")
        .build()
        .expect("https only is fine against the real host");
    Client::builder()
        .api_key("k")
        .base_url("http://127.0.0.1:9")
        .allow_http_webhooks(true)
        .build()
        .expect("a simulator may call http receivers");
}

/// Set in the child process of `from_env_reads_the_key_and_the_base_url`.
const CHILD: &str = "HASDATA_JOBS_TEST_FROM_ENV_CHILD";

/// The child's half: only meaningful with the variables its parent sets (the environment is
/// process-wide, so the parent sets it in a child instead of in this process).
#[tokio::test]
#[ignore = "run by from_env_reads_the_key_and_the_base_url in a child process"]
async fn from_env_child() {
    let expect = std::env::var(CHILD).expect("run by its parent test");
    match Client::from_env() {
        Ok(client) => {
            assert_eq!(expect, "submit");
            let job = client
                .submit(&ContactsBody::new(["https://a.example"]))
                .await
                .unwrap();
            println!("submitted {}", job.id());
        }
        Err(error) => {
            assert_eq!(expect, "no-key", "{error}");
            assert!(matches!(error, Error::Config(_)), "{error:?}");
            assert!(error.to_string().contains("HASDATA_API_KEY"), "{error}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_env_reads_the_key_and_the_base_url() {
    let env = Env::instant().await;
    let child = |expect: &str, key: Option<&str>| {
        let mut command = std::process::Command::new(std::env::current_exe().unwrap());
        command
            .args([
                "--exact",
                "error_paths::from_env_child",
                "--ignored",
                "--nocapture",
            ])
            .env(CHILD, expect)
            .env("HASDATA_BASE_URL", env.sim.base_url())
            .env_remove("HASDATA_API_KEY");
        if let Some(key) = key {
            command.env("HASDATA_API_KEY", key);
        }
        command
    };
    let mut submit = child("submit", Some(env.sim.api_key()));
    let mut no_key = child("no-key", None);
    let (submitted, refused) =
        tokio::task::spawn_blocking(move || (submit.output().unwrap(), no_key.output().unwrap()))
            .await
            .unwrap();
    let out = String::from_utf8_lossy(&submitted.stdout);
    assert!(submitted.status.success(), "{out}");
    assert!(out.contains("1 passed"), "the child test ran: {out}");
    assert!(
        out.contains(&format!("submitted {}", env.sim.config().first_job_id)),
        "{out}"
    );
    assert_eq!(
        env.sim.submits(),
        1,
        "the key and base URL came from the environment"
    );
    let out = String::from_utf8_lossy(&refused.stdout);
    assert!(
        refused.status.success() && out.contains("1 passed"),
        "{out}"
    );
}

/// A finished 300-row google-serp job on a simulator with `faults`.
async fn finished_job(faults: &str) -> (Env, JobId) {
    let env = Env::start(SimConfig {
        job_duration: Duration::ZERO,
        faults: faults.parse().unwrap(),
        ..SimConfig::default()
    })
    .await;
    let job = env
        .client
        .submit(&GoogleSerpBody::new().keywords(["tea"]).limit(300))
        .await
        .unwrap();
    (env, job.id())
}

#[tokio::test]
async fn a_download_answered_with_another_status_falls_back_to_the_pages() {
    let (env, id) = finished_job("files:500=1").await;
    let rows: Vec<_> = env
        .client
        .rows::<GoogleSerpRow>(id)
        .file()
        .try_collect()
        .await
        .unwrap();
    assert_same_rows(&rows, &expected(&env.sim, id));
    let requests = env.sim.requests();
    assert_eq!(
        requests.get("files"),
        Some(&u64::from(fast_retries().max_attempts)),
        "the file was tried (with retries), never refreshed: {requests:?}"
    );
    assert_eq!(requests.get("results"), Some(&3), "{requests:?}");
}

#[tokio::test]
async fn a_download_that_keeps_breaking_runs_out_of_restarts_and_falls_back() {
    let (env, id) = finished_job("files:reset=1").await;
    let rows: Vec<_> = env
        .client
        .rows::<GoogleSerpRow>(id)
        .file()
        .try_collect()
        .await
        .unwrap();
    assert_same_rows(&rows, &expected(&env.sim, id));
    let requests = env.sim.requests();
    assert_eq!(
        requests.get("files"),
        Some(&4),
        "the first read and three restarts: {requests:?}"
    );
    assert!(
        requests.get("results").copied().unwrap_or(0) >= 1,
        "{requests:?}"
    );
}

/// A download that breaks off is read again only after the retry policy's backoff (at least
/// half of it): three re-reads all came within a millisecond, so a break a moment cures met
/// every one of them.
#[tokio::test]
async fn a_download_that_broke_off_is_read_again_after_a_backoff() {
    let (env, id) = finished_job("files:reset=1").await;
    let policy = RetryPolicy {
        base_delay: Duration::from_millis(200),
        max_delay: Duration::from_secs(1),
        ..fast_retries()
    };
    let client = Client::builder()
        .api_key(env.sim.api_key())
        .base_url(env.sim.base_url())
        .retry_policy(policy.clone())
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let rows: Vec<GoogleSerpRow> = client.rows(id).file().try_collect().await.unwrap();
    let took = started.elapsed();
    assert_same_rows(&rows, &expected(&env.sim, id));
    // Three restarts, after half of 200, 400 and 800 ms at least.
    let least: Duration = (1..=3).map(|n| policy.backoff_ceiling(n) / 2).sum();
    assert!(took >= least, "three re-reads in {took:?}, under {least:?}");
}

/// A mock API: job 7 finished with a data.json link whose file is `file`, and one results page
/// with rows at positions 1 and 2.
fn api_with_file(file: &'static str) -> (MockTransport, Arc<Mutex<Vec<String>>>) {
    let paths = Arc::new(Mutex::new(Vec::new()));
    let seen = paths.clone();
    let mut mock = MockTransport::new();
    mock.expect_send().returning(move |request| {
        let path = request.uri().path().to_owned();
        seen.lock().unwrap().push(path.clone());
        let body = match path.as_str() {
            "/scrapers/jobs/7" => r#"{"id": 7, "status": "finished", "dataRowsCount": "2",
                "data": {"json": "https://files.test/7.json", "csv": "https://files.test/7.csv"}}"#
                .to_owned(),
            "/7.json" => file.to_owned(),
            "/scrapers/jobs/7/results" => serde_json::json!({
                "meta": {"total": 2, "perPage": 100, "currentPage": 1, "lastPage": 1},
                "data": (1..=2).map(|n| serde_json::json!({"id": format!("r{n}"), "jobId": 7, "dataId": "d",
                    "data": {"position": n}, "createdAt": "", "updatedAt": ""})).collect::<Vec<_>>()})
            .to_string(),
            other => panic!("unexpected request to {other}"),
        };
        Ok(http::Response::new(Body::from_bytes(body)))
    });
    (mock, paths)
}

/// A file the splitter refuses (not an array), and one served whole but cut inside its array
/// (stored so: reading it again would only fetch the same bytes), are each read once; the
/// rows before the fault go on and the pages give the rest.
#[tokio::test]
async fn a_file_that_is_not_a_whole_array_is_read_once_then_the_pages() {
    for file in [
        r#"{"not": "an array"}"#,
        r#"[{"position": 1}, {"position": 2"#,
    ] {
        let (mock, paths) = api_with_file(file);
        let rows: Vec<_> = client_over(mock)
            .rows::<GoogleSerpRow>(JobId::from(7))
            .file()
            .try_collect()
            .await
            .unwrap();
        let positions: Vec<u64> = rows
            .iter()
            .map(|r| r.position.as_ref().unwrap().get())
            .collect();
        assert_eq!(positions, [1, 2], "{file}");
        let paths = paths.lock().unwrap();
        let files = paths.iter().filter(|p| *p == "/7.json").count();
        assert_eq!(files, 1, "{file}: the file is not read again: {paths:?}");
        assert_eq!(
            paths.last().map(String::as_str),
            Some("/scrapers/jobs/7/results"),
            "{file}: {paths:?}"
        );
    }
}

/// Job 7's results page for the `page=N` in `query`: `total` rows, 100 a page, row `n`'s data
/// being `row(n, "page")`.
fn page_of(total: u64, query: &str, row: impl Fn(u64, &str) -> String) -> String {
    let page: u64 = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("page="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let last = total / 100;
    let rows = (page <= last).then(|| (page - 1) * 100 + 1..=page * 100);
    format!(
        r#"{{"meta": {{"total": {total}, "perPage": 100, "currentPage": {page}, "lastPage": {last}}},
        "data": [{}]}}"#,
        rows.into_iter()
            .flatten()
            .map(|n| format!(
                r#"{{"id": "r{n}", "jobId": 7, "dataId": "d", "data": {}, "createdAt": "", "updatedAt": ""}}"#,
                row(n, "page")
            ))
            .collect::<Vec<_>>()
            .join(",")
    )
}

/// A client of `https://api.test` whose requests go to `mock`, with no retries.
fn client_over(mock: MockTransport) -> Client {
    Client::builder()
        .api_key("k")
        .base_url("https://api.test")
        .transport(Arc::new(mock))
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap()
}

/// Job 7's rows read from its `data.json` (falling back to its pages) through `mock`, with
/// no retries.
async fn file_rows_of_job_7(mock: MockTransport) -> Vec<hasdata_jobs::RowJson> {
    client_over(mock)
        .rows::<hasdata_jobs::RowJson>(JobId::from(7))
        .file()
        .try_collect()
        .await
        .unwrap()
}

/// A data.json of several blocks (split on guesses, in parallel) whose row `bad` is broken:
/// the rows before it come from the file, exactly once and in order, and the rest from the
/// pages; none after it comes from the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_row_deep_in_a_large_file_ends_the_files_rows_just_before_it() {
    const ROWS: u64 = 8000;
    let row = |n: u64, from: &str| {
        // Rows full of what looks like a boundary between rows: commas, braces, arrays of
        // objects, in strings and out.
        format!(
            r#"{{"position": {n}, "from": "{from}", "items": [{{"a": {n}}}, {{"b": [{n}, "],{{"]}}],
            "text": "row {n}, {{\"x\": [1, 2]}}, and more"}}"#
        )
    };
    for bad in [2, 3900, ROWS - 1] {
        let mut file = String::from("[\n");
        for n in 1..=ROWS {
            if n > 1 {
                file.push_str(",\n");
            }
            let text = row(n, "file");
            file.push_str(&if n == bad {
                text.replacen("\"items\"", "\"items\" 0", 1)
            } else {
                text
            });
        }
        file.push_str("\n]");
        assert!(
            file.len() > 4 * 256 * 1024,
            "several blocks: {}",
            file.len()
        );
        let mut mock = MockTransport::new();
        mock.expect_send().returning(move |request| {
            let body = match request.uri().path() {
                "/scrapers/jobs/7" => format!(
                    r#"{{"id": 7, "status": "finished", "dataRowsCount": "{ROWS}",
                    "data": {{"json": "https://files.test/7.json"}}}}"#
                ),
                "/7.json" => file.clone(),
                "/scrapers/jobs/7/results" => {
                    page_of(ROWS, request.uri().query().unwrap_or_default(), row)
                }
                other => panic!("unexpected request to {other}"),
            };
            Ok(http::Response::new(Body::from_bytes(body)))
        });
        let rows = file_rows_of_job_7(mock).await;
        assert_eq!(rows.len() as u64, ROWS, "bad row {bad}");
        for (n, row) in (1..=ROWS).zip(&rows) {
            let value: serde_json::Value = serde_json::from_slice(row.as_bytes()).unwrap();
            let from = if n < bad { "file" } else { "page" };
            assert_eq!(value["position"], n, "bad row {bad}");
            assert_eq!(value["from"], from, "row {n}, bad row {bad}");
        }
    }
}

#[tokio::test]
async fn a_download_of_an_unfinished_job_is_refused_with_its_status() {
    let env = Env::instant().await;
    env.sim.hold(hasdata_sim::Hold::InProgress);
    let job = env
        .client
        .submit(&GoogleSerpBody::new().keywords(["tea"]).limit(5))
        .await
        .unwrap();
    let error = job.rows().file().try_collect::<Vec<_>>().await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::NoDownload {
                status: JobStatus::InProgress,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.job_id(), Some(job.id()));
}

/// A data.json that breaks off every time after a large row and a few small ones arrived
/// whole: those rows go on from the file before it is read again (a large carried row is only
/// scanned again once it has doubled, so the rows received after it were still held unread
/// when the body broke, and were dropped: fewer rows kept when the pages then fail, and rows
/// read again for nothing). Here the pages serve the rest, marked, so where each row came
/// from shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_received_whole_before_a_break_go_on_from_the_file() {
    const ROWS: u64 = 300;
    const WHOLE: u64 = 6;
    let row = |n: u64, from: &str| {
        let pad = if n == 2 {
            "x".repeat(700 * 1024)
        } else {
            String::new()
        };
        format!(r#"{{"position": {n}, "from": "{from}", "pad": "{pad}"}}"#)
    };
    // Rows 1..=WHOLE and the start of the next, then the connection breaks.
    let mut sent = String::from("[");
    for n in 1..=WHOLE {
        sent.push_str(&row(n, "file"));
        sent.push(',');
    }
    sent.push_str(&row(WHOLE + 1, "file")[..10]);
    let sent = bytes::Bytes::from(sent);
    let mut mock = MockTransport::new();
    mock.expect_send().returning(move |request| {
        let body = match request.uri().path() {
            "/scrapers/jobs/7" => Body::from_bytes(format!(
                r#"{{"id": 7, "status": "finished", "dataRowsCount": "{ROWS}",
                "data": {{"json": "https://files.test/7.json"}}}}"#
            )),
            "/7.json" => {
                // In chunks of 64 KiB, as a connection delivers them, then the break.
                let mut parts: Vec<Result<bytes::Bytes, hasdata_transport::TransportError>> = (0
                    ..sent.len())
                    .step_by(64 * 1024)
                    .map(|at| Ok(sent.slice(at..sent.len().min(at + 64 * 1024))))
                    .collect();
                parts.push(Err(hasdata_transport::TransportError::new(
                    hasdata_transport::TransportErrorKind::Body,
                    true,
                    "connection reset",
                )));
                Body::from_stream(futures::stream::iter(parts))
            }
            "/scrapers/jobs/7/results" => Body::from_bytes(page_of(
                ROWS,
                request.uri().query().unwrap_or_default(),
                row,
            )),
            other => panic!("unexpected request to {other}"),
        };
        Ok(http::Response::new(body))
    });
    let rows = file_rows_of_job_7(mock).await;
    assert_eq!(rows.len() as u64, ROWS);
    for (n, row) in (1..=ROWS).zip(&rows) {
        let value: serde_json::Value = serde_json::from_slice(row.as_bytes()).unwrap();
        let from = if n <= WHOLE { "file" } else { "page" };
        assert_eq!(value["position"], n);
        assert_eq!(value["from"], from, "row {n}");
    }
}
