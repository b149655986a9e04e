//! `ClientBuilder::ledger_file`: a job submitted from Rust lands in the SQLite file the CLI
//! reads, id and intent both.

use std::time::Duration;

use hasdata_jobs::prelude::*;
use hasdata_jobs::{IntentState, JobLedger, SqliteLedger};
use hasdata_sim::{SimConfig, Simulator};

#[tokio::test]
async fn a_job_submitted_with_a_ledger_file_is_in_that_file() {
    let sim = Simulator::start(SimConfig {
        job_duration: Duration::ZERO,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("ledger.sqlite");
    let client = Client::builder()
        .api_key(sim.api_key())
        .base_url(sim.base_url())
        .retry_policy(crate::fast_retries())
        .ledger_file(&path)
        .build()
        .unwrap();
    let job = client
        .submit(&ContactsBody::new(["https://a.example"]))
        .await
        .unwrap();
    drop(client);

    // Another process (the CLI) opening the same file sees the job and its resolved intent.
    let reopened = SqliteLedger::open(&path, sim.base_url()).unwrap();
    let jobs = reopened.jobs().await.unwrap();
    assert_eq!(
        jobs.iter().map(|entry| entry.id).collect::<Vec<_>>(),
        [job.id().as_u64().unwrap()]
    );
    let intents = reopened.intents().await.unwrap();
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0].state, IntentState::Submitted);
    assert_eq!(
        intents[0].job_id.as_ref().and_then(|id| id.job_id()),
        Some(job.id())
    );
}

#[test]
fn an_unopenable_ledger_file_fails_the_build_naming_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the file should be: SQLite cannot open it.
    let error = Client::builder()
        .api_key("k")
        .ledger_file(dir.path())
        .build()
        .unwrap_err();
    assert!(matches!(error, Error::LedgerUnavailable { .. }), "{error}");
}

/// A client of `sim` recording into the SQLite file at `path`.
fn client_with_file(sim: &hasdata_sim::SimHandle, path: &std::path::Path) -> Client {
    Client::builder()
        .api_key(sim.api_key())
        .base_url(sim.base_url())
        .retry_policy(crate::fast_retries())
        .ledger_file(path)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_job_waited_on_and_read_from_rust_is_finished_and_collected_in_the_file() {
    let sim = Simulator::start(SimConfig {
        job_duration: Duration::from_millis(300),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    let client = client_with_file(&sim, &path);
    let job = client
        .submit(&ContactsBody::new([
            "https://a.example",
            "https://b.example",
        ]))
        .await
        .unwrap();
    let id = job.id().as_u64().unwrap();
    let reopened = SqliteLedger::open(&path, sim.base_url()).unwrap();
    let entry = reopened.job(job.id()).await.unwrap().unwrap();
    assert_eq!(entry.collected_at, None, "nothing read yet");

    let done = job.wait(PollPolicy::fast()).await.unwrap();
    // The wait's last poll is in the file (the CLI's own process would see it now).
    let entry = reopened.job(job.id()).await.unwrap().unwrap();
    assert_eq!(entry.status.as_deref(), Some("finished"));
    assert_eq!(entry.rows, Some(2));
    assert_eq!(entry.credits, Some(done.credits_spent.get()));
    assert!(done.credits_spent.get() > 0);
    assert_eq!(entry.output, None, "waited on, not read");

    let rows: Vec<ContactsRow> = job.rows().try_collect().await.unwrap();
    assert_eq!(rows.len(), 2);
    let entry = reopened.job(job.id()).await.unwrap().unwrap();
    assert_eq!(entry.id, id);
    assert!(entry.collected_at.is_some(), "{entry:?}");
    let program = std::env::current_exe().unwrap();
    let program = program.file_stem().unwrap().to_string_lossy();
    assert_eq!(entry.output, Some(format!("read by {program}")));
}

#[tokio::test]
async fn a_read_that_stops_early_or_is_kept_uncollected_marks_nothing_and_collected_to_names_the_output()
 {
    let sim = Simulator::start(SimConfig {
        job_duration: Duration::ZERO,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    let client = client_with_file(&sim, &path);
    let job = client
        .submit(&GoogleSerpBody::new().keywords(["coffee"]).limit(30))
        .await
        .unwrap();
    job.wait(PollPolicy::fast()).await.unwrap();
    let reopened = SqliteLedger::open(&path, sim.base_url()).unwrap();
    let collected = async || reopened.job(job.id()).await.unwrap().unwrap().output;

    // Stops after one row: not collected.
    let mut rows = job.rows().pages();
    let first: GoogleSerpRow = rows.try_next().await.unwrap().unwrap();
    drop((first, rows));
    assert_eq!(collected().await, None);
    // Every row, but kept uncollected (the caller persists and marks them itself).
    let all: Vec<serde_json::Value> = client
        .rows(job.id())
        .keep_uncollected()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 30);
    assert_eq!(collected().await, None);
    // Every row, to where the caller says.
    let all: Vec<RowJson> = client
        .rows(job.id())
        .pages()
        .collected_to("s3://bucket/coffee.jsonl")
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 30);
    assert_eq!(
        collected().await.as_deref(),
        Some("s3://bucket/coffee.jsonl")
    );
}

#[tokio::test]
async fn a_running_jobs_rows_so_far_do_not_mark_it_collected_and_a_stop_is_noted() {
    let sim = Simulator::start(SimConfig {
        job_duration: Duration::from_secs(3600),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    let client = client_with_file(&sim, &path);
    let job = client
        .submit(&ContactsBody::new(["https://a.example"]))
        .await
        .unwrap();
    let _so_far: Vec<ContactsRow> = job.rows().try_collect().await.unwrap();
    let reopened = SqliteLedger::open(&path, sim.base_url()).unwrap();
    let entry = reopened.job(job.id()).await.unwrap().unwrap();
    assert_eq!(entry.output, None, "a running job's rows are not all there");
    assert_ne!(entry.status.as_deref(), Some("stopped"));

    job.stop().await.unwrap();
    let entry = reopened.job(job.id()).await.unwrap().unwrap();
    assert_eq!(
        entry.status.as_deref(),
        Some("stopped"),
        "the stop's answer is noted"
    );
}
