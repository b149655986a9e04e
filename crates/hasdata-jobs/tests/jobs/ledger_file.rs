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
