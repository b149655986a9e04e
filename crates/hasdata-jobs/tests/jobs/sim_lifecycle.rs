//! The lifecycle against hasdata-sim over loopback: submit, wait, stop, run, and the failure
//! paths that must never lose a job.

use std::time::Duration;

use futures::TryStreamExt;
use hasdata_jobs::{Error, IntentState, JobLedger, PollPolicy, RowSource, RunOptions};
use hasdata_model::bodies::{ContactsBody, CrawlerBody, GoogleSerpBody, OutputFormat};
use hasdata_model::{JobId, JobStatus, Webhook};
use hasdata_sim::{Hold, Shape, SimConfig};
use serde_json::json;

use crate::{Env, assert_same_rows, expected, until};

fn quick() -> SimConfig {
    SimConfig {
        job_duration: Duration::from_millis(300),
        max_running: 100,
        ..SimConfig::default()
    }
}

/// [`quick`] in each of the simulator's shape profiles (`seed`, `docs`, `edge`): the
/// lifecycle must work unchanged against every form the docs and live use show. A 429 on the
/// first submit asks for no wait (`Retry-After: 0`), so the loop stays fast.
fn shaped() -> impl Iterator<Item = (&'static str, SimConfig)> {
    // `edge` includes a 429 on the first submit (waited out by the library) and finished jobs
    // without a data.json link (read from the pages).
    Shape::profiles().into_iter().map(|(name, shape)| {
        let config = SimConfig {
            faults: "retry-after=0".parse().unwrap(),
            ..quick()
        };
        (name, config.with_shape(shape))
    })
}

#[tokio::test]
async fn contacts_end_to_end() {
    for (shape, config) in shaped() {
        contacts_end_to_end_in(shape, config).await;
    }
}

async fn contacts_end_to_end_in(shape: &str, config: SimConfig) {
    let env = Env::start(config).await;
    let body = ContactsBody::new([
        "https://acme.example/about",
        "https://acme.example/team",
        "https://beta.example",
    ]);
    let job = env
        .client
        .submit(&body)
        .await
        .unwrap_or_else(|e| panic!("{shape}: {e}"));
    assert_eq!(
        env.ledger.jobs().await.unwrap()[0].id,
        job.id().as_u64().unwrap(),
        "recorded before submit returned"
    );
    let done = job.wait(PollPolicy::fast()).await.unwrap();
    assert_eq!(done.status, JobStatus::Finished, "{shape}");
    assert_eq!(done.data_rows_count.get(), 3, "{shape}");
    assert_eq!(done.credits_spent.get(), 15, "{shape}");
    let rows: Vec<_> = job.rows().pages().try_collect().await.unwrap();
    assert_eq!(
        rows.iter().map(|r| r.url.as_str()).collect::<Vec<_>>(),
        body.urls,
        "{shape}"
    );
    assert_same_rows(&rows, &expected(&env.sim, job.id()));
}

#[tokio::test]
async fn crawler_end_to_end_with_markdown() {
    for (shape, config) in shaped() {
        crawler_end_to_end_in(shape, config).await;
    }
}

async fn crawler_end_to_end_in(shape: &str, config: SimConfig) {
    let env = Env::start(config).await;
    let body = CrawlerBody::new(["https://docs.example.com"])
        .output_format([OutputFormat::Markdown])
        .include_paths("/docs/.+")
        .limit(250);
    let job = env
        .client
        .submit(&body)
        .await
        .unwrap_or_else(|e| panic!("{shape}: {e}"));
    job.wait(PollPolicy::fast()).await.unwrap();
    let rows: Vec<_> = job.rows().pages().try_collect().await.unwrap();
    assert_eq!(rows.len(), 250, "{shape}");
    assert!(
        rows.iter()
            .all(|r| r.markdown.as_deref().is_some_and(|m| m.starts_with("# ")))
    );
    assert_same_rows(&rows, &expected(&env.sim, job.id()));
}

#[tokio::test]
async fn google_serp_end_to_end_through_the_file() {
    for (shape, config) in shaped() {
        google_serp_through_the_file_in(shape, config).await;
    }
}

async fn google_serp_through_the_file_in(shape: &str, config: SimConfig) {
    let no_json_link = config.shape.no_json_link;
    let env = Env::start(config).await;
    let body = GoogleSerpBody::new()
        .keywords(["coffee", "tea"])
        .location("Austin,Texas,United States")
        .limit(180);
    let job = env
        .client
        .submit(&body)
        .await
        .unwrap_or_else(|e| panic!("{shape}: {e}"));
    job.wait(PollPolicy::fast()).await.unwrap();
    let rows: Vec<_> = job
        .rows()
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("{shape}: {e}"));
    assert_eq!(rows.len(), 180, "{shape}");
    assert_eq!(rows[0].keyword.as_deref(), Some("coffee"));
    assert_same_rows(&rows, &expected(&env.sim, job.id()));
    if no_json_link {
        assert!(
            env.sim.requests().contains_key("results"),
            "{shape}: no data.json link, so the pages"
        );
    } else {
        assert_eq!(
            env.sim.requests().get("results"),
            None,
            "{shape}: the file was enough"
        );
    }
    assert_eq!(
        env.sim.api_keys_seen_by_storage(),
        0,
        "the key never reached the download host"
    );
}

#[tokio::test]
async fn a_stop_keeps_the_rows_produced_so_far() {
    // Held mid-run: the stop always lands on a running job with rows.
    let env = Env::instant().await;
    env.sim.hold(Hold::InProgress);
    let job = env
        .client
        .submit(&GoogleSerpBody::new().keywords(["coffee"]).limit(500))
        .await
        .unwrap();
    let stopped = job.stop().await.unwrap();
    assert_eq!(stopped.status, JobStatus::Stopped);
    let kept = stopped.data_rows_count.get();
    assert!(kept > 0 && kept < 500, "{kept}");
    env.sim.release();
    // A stopped job is not a success: the wait says so, with the final record.
    let error = job.wait(PollPolicy::fast()).await.unwrap_err();
    assert_eq!(error.job_id(), Some(job.id()));
    let Error::JobEnded { job: done } = error else {
        panic!("expected JobEnded, got {error}");
    };
    assert_eq!(done.status, JobStatus::Stopped, "stopped is terminal");
    assert_eq!(done.data_rows_count.get(), kept, "released past its end");
    let rows: Vec<_> = job.rows().pages().try_collect().await.unwrap();
    assert_eq!(rows.len() as u64, kept);
    let error = job.rows().file().try_collect::<Vec<_>>().await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::NoDownload {
                status: JobStatus::Stopped,
                ..
            }
        ),
        "{error}"
    );
}

#[tokio::test]
async fn run_does_submit_wait_and_rows() {
    for (shape, config) in shaped() {
        run_does_submit_wait_and_rows_in(shape, config).await;
    }
}

async fn run_does_submit_wait_and_rows_in(shape: &str, config: SimConfig) {
    let no_json_link = config.shape.no_json_link;
    let env = Env::start(config).await;
    let body = ContactsBody::new(["https://a.example", "https://b.example"]);
    let options = |source| RunOptions {
        poll: PollPolicy::fast(),
        source,
        stop_on_cancel: false,
    };
    for source in [RowSource::Auto, RowSource::File, RowSource::Pages] {
        let output = env
            .client
            .run(&body, options(source))
            .await
            .unwrap_or_else(|e| panic!("{shape} {source:?}: {e}"));
        assert_eq!(output.job.status, JobStatus::Finished);
        let rows: Result<Vec<_>, _> = output.rows.try_collect().await;
        if no_json_link && source == RowSource::File {
            // `File` asks for data.json only; `Auto` (the default) reads the pages instead.
            let error = rows.expect_err("no data.json link, so no file");
            assert!(
                matches!(error, Error::NoDownload { .. }),
                "{shape}: {error}"
            );
            continue;
        }
        let rows = rows.unwrap_or_else(|e| panic!("{shape} {source:?}: {e}"));
        assert_eq!(rows.len(), 2, "{shape} {source:?}");
    }
}

/// Starts `run` in a task, waits until it is polling its job (so it has submitted and is
/// waiting), then cancels it. Returns the job's id.
async fn cancel_a_waiting_run(env: &Env, stop_on_cancel: bool) -> JobId {
    let client = env.client.clone();
    let polls_before = env.sim.requests().get("status").copied().unwrap_or(0);
    let entries_before = env.ledger.jobs().await.unwrap().len();
    let run = tokio::spawn(async move {
        let body = GoogleSerpBody::new().keywords(["coffee"]).limit(50);
        client
            .run(
                &body,
                RunOptions {
                    poll: PollPolicy::fast(),
                    source: RowSource::Pages,
                    stop_on_cancel,
                },
            )
            .await
            .map(|output| output.job.status)
    });
    until("the run to poll its job", || async {
        (env.sim.requests().get("status").copied().unwrap_or(0) > polls_before).then_some(())
    })
    .await;
    run.abort();
    assert!(
        run.await.unwrap_err().is_cancelled(),
        "the held job kept it waiting"
    );
    let jobs = env.ledger.jobs().await.unwrap();
    assert_eq!(jobs.len(), entries_before + 1, "one submit recorded");
    JobId::from(jobs[0].id)
}

#[tokio::test]
async fn a_cancelled_run_stops_its_job_only_when_asked() {
    let env = Env::instant().await;
    env.sim.hold(Hold::InProgress);
    // By default the paid job goes on.
    let kept = cancel_a_waiting_run(&env, false).await;
    // With stop_on_cancel it is stopped. Its whole cycle runs after the first cancel, so a
    // stop wrongly sent for the first job would have arrived by the time this one is seen.
    let stopped = cancel_a_waiting_run(&env, true).await;
    let client = &env.client;
    until("the cancelled job to stop", || async move {
        (client.status(stopped).await.unwrap().status == JobStatus::Stopped).then_some(())
    })
    .await;
    assert_eq!(env.sim.requests().get("stop"), Some(&1), "one stop only");
    assert_eq!(
        env.client.status(kept).await.unwrap().status,
        JobStatus::InProgress,
        "a run cancelled without stop_on_cancel leaves its job running"
    );
}

#[tokio::test]
async fn a_lost_submit_answer_is_reported_as_uncertain_and_the_job_exists() {
    let env = Env::start(SimConfig {
        faults: "submit:lose-response=1".parse().unwrap(),
        ..quick()
    })
    .await;
    let error = env
        .client
        .submit(&ContactsBody::new(["https://a.example"]))
        .await
        .unwrap_err();
    let Error::SubmitUncertain { key, .. } = &error else {
        panic!("{error}");
    };
    assert!(error.to_string().contains("may exist"));
    assert_eq!(
        env.sim.submits(),
        1,
        "the POST was sent once, and the job exists"
    );
    let intent = env.ledger.intent(key).await.unwrap().unwrap();
    assert_eq!(
        intent.state,
        IntentState::Uncertain,
        "covered by an unresolved intent"
    );
    assert!(intent.advice().unwrap().contains("jobs retry"));
    assert!(env.ledger.jobs().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_concurrency_cap_is_a_transient_429() {
    let env = Env::start(SimConfig {
        job_duration: Duration::from_secs(600),
        max_running: 1,
        ..SimConfig::default()
    })
    .await;
    env.client
        .submit(&ContactsBody::new(["https://a.example"]))
        .await
        .unwrap();
    // Told not to wait, the submit returns the cap's 429 at once.
    let now = hasdata_jobs::SubmitOptions {
        concurrency_cap_wait: Some(Duration::ZERO),
        ..Default::default()
    };
    let error = env
        .client
        .submit_with(&ContactsBody::new(["https://b.example"]), &now)
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(429));
    assert!(error.is_transient());
    assert_eq!(env.sim.submits(), 1);
    let refused = env.ledger.intents().await.unwrap();
    assert!(
        refused
            .iter()
            .any(|i| i.state == IntentState::Refused && i.job_id.is_none()),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_submit_waits_out_the_concurrency_cap_under_one_intent() {
    let env = Env::start(SimConfig {
        job_duration: Duration::from_secs(600),
        max_running: 1,
        ..SimConfig::default()
    })
    .await;
    let first = env
        .client
        .submit(&ContactsBody::new(["https://a.example"]))
        .await
        .unwrap();
    let client = env.client.clone();
    let second = tokio::spawn(async move {
        client
            .submit(&ContactsBody::new(["https://b.example"]))
            .await
    });
    // Once the cap has refused the second submit, the first job ends and frees its slot.
    let sim = &env.sim;
    crate::until("a 429 from the concurrency cap", || async move {
        sim.fault_counts()
            .contains_key("submit:concurrency-cap")
            .then_some(())
    })
    .await;
    first.stop().await.unwrap();
    let second = second.await.unwrap().unwrap();
    assert_eq!(env.sim.submits(), 2);
    // One intent for the second body: refused while it waited, then submitted, same key.
    let intents = env.ledger.intents().await.unwrap();
    assert_eq!(intents.len(), 2, "{intents:?}");
    let entry = intents
        .iter()
        .find(|i| i.job_id.as_ref().and_then(|id| id.job_id()) == Some(second.id()))
        .unwrap();
    assert_eq!(entry.state, IntentState::Submitted);
    assert!(entry.attempts >= 2, "{entry:?}");
    let keys: Vec<Option<String>> = env
        .sim
        .created_jobs()
        .into_iter()
        .map(|job| job.idempotency_key)
        .collect();
    assert_eq!(keys[1].as_deref(), Some(entry.intent.key.as_str()));
}

#[tokio::test]
async fn raw_submits_and_rows_work_from_a_slug() {
    for (shape, config) in shaped() {
        raw_submits_and_rows_in(shape, config).await;
    }
}

async fn raw_submits_and_rows_in(shape: &str, config: SimConfig) {
    let env = Env::start(config).await;
    let job = env
        .client
        .submit_raw(
            "indeed",
            &json!({"keywords": ["rust"], "locations": ["Remote"], "limit": 30}),
        )
        .await
        .unwrap_or_else(|e| panic!("{shape}: {e}"));
    env.client.wait(job.id, PollPolicy::fast()).await.unwrap();
    let rows: Vec<serde_json::Value> = env
        .client
        .rows::<serde_json::Value>(job.id)
        .pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(Some(rows), env.sim.expected_rows(job.id.as_u64().unwrap()));
    let filed: Vec<serde_json::Value> = env
        .client
        .rows::<serde_json::Value>(job.id)
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("{shape}: {e}"));
    assert_eq!(filed.len(), 30, "{shape}");
}

#[tokio::test]
async fn a_wrong_key_is_an_auth_error() {
    let env = Env::instant().await;
    let client = hasdata_jobs::Client::builder()
        .api_key("not-the-key")
        .base_url(env.sim.base_url())
        .build()
        .unwrap();
    let error = client
        .submit(&ContactsBody::new(["https://a.example"]))
        .await
        .unwrap_err();
    assert!(error.is_auth(), "{error}");
    assert!(!error.to_string().contains("not-the-key"));
}

#[tokio::test]
async fn webhook_bodies_pass_through_to_the_simulator() {
    let env = Env::start(SimConfig {
        allow_http_webhooks: false,
        ..quick()
    })
    .await;
    let body = ContactsBody::new(["https://a.example"])
        .webhook(Webhook::all_events("https://hooks.example/h").header("x-secret", "s"));
    let job = env.client.submit(&body).await.unwrap();
    assert_eq!(
        job.record().unwrap().input.as_ref().unwrap()["webhook"]["headers"]["x-secret"],
        "s"
    );
}

#[tokio::test]
async fn a_callers_idempotency_key_is_sent_once_and_never_again() {
    let env = Env::start(quick()).await;
    let key = "6f1c1f4e-8a9b-4c52-9d55-1f9a2b3c4d5e".to_owned();
    let options = hasdata_jobs::SubmitOptions {
        idempotency_key: Some(key.clone()),
        ..Default::default()
    };
    let body = json!({"urls": ["https://acme.example"]});
    let job = env
        .client
        .submit_raw_with("contacts", &body, &options)
        .await
        .unwrap();
    let created = env.sim.created_jobs();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].idempotency_key.as_deref(), Some(key.as_str()));
    let entry = env.ledger.intent(&key).await.unwrap().unwrap();
    assert_eq!(entry.state, IntentState::Submitted);
    assert_eq!(
        entry.job_id.and_then(|id| id.job_id()),
        Some(job.id),
        "the intent is under the caller's key"
    );
    let again = env
        .client
        .submit_raw_with("contacts", &body, &options)
        .await;
    assert!(
        matches!(again, Err(Error::LedgerUnavailable { .. })),
        "a key the ledger has is refused before sending: {again:?}"
    );
    assert_eq!(env.sim.created_jobs().len(), 1, "nothing was sent again");
}
