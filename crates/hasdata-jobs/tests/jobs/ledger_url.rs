//! `ClientBuilder::ledger_url`: a `postgres://` URL puts submits in PostgreSQL (a throwaway
//! cluster from hasdata-testpg), a path or `sqlite://` in a SQLite file; a database that cannot
//! be reached stops the submit before anything is sent, without showing the password.

use std::time::Duration;

use hasdata_jobs::prelude::*;
use hasdata_jobs::{Error, IntentState, JobLedger, PostgresLedger, SqliteLedger};
use hasdata_sim::{SimConfig, SimHandle, Simulator};
use hasdata_testpg::TestPg;

async fn sim() -> SimHandle {
    Simulator::start(SimConfig {
        job_duration: Duration::ZERO,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

fn client(sim: &SimHandle, location: &str) -> Client {
    Client::builder()
        .api_key(sim.api_key())
        .base_url(sim.base_url())
        .retry_policy(crate::fast_retries())
        .ledger_url(location)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_postgres_url_records_submits_in_that_database() {
    let Some(pg) = TestPg::shared().await else {
        return;
    };
    let url = pg.fresh_database().await;
    let sim = sim().await;
    let job = client(&sim, &url)
        .submit(&ContactsBody::new(["https://a.example"]))
        .await
        .unwrap();

    // Another process on another machine reads the same database.
    let ledger = PostgresLedger::connect(&url, sim.base_url()).await.unwrap();
    let jobs = ledger.jobs().await.unwrap();
    assert_eq!(
        jobs.iter().map(|e| e.id).collect::<Vec<_>>(),
        [job.id().as_u64().unwrap()]
    );
    let intents = ledger.intents().await.unwrap();
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0].state, IntentState::Submitted);
}

#[tokio::test]
async fn a_path_or_sqlite_url_is_a_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim().await;
    for (n, location) in [
        dir.path().join("plain.sqlite").display().to_string(),
        format!("sqlite://{}", dir.path().join("url.sqlite").display()),
    ]
    .iter()
    .enumerate()
    {
        client(&sim, location)
            .submit(&ContactsBody::new(["https://a.example"]))
            .await
            .unwrap();
        let file = dir.path().join(["plain.sqlite", "url.sqlite"][n]);
        let ledger = SqliteLedger::open(&file, sim.base_url()).unwrap();
        assert_eq!(ledger.jobs().await.unwrap().len(), 1, "{location}");
    }
}

#[tokio::test]
async fn an_unreachable_database_stops_the_submit_before_sending() {
    let sim = sim().await;
    let url = "postgres://app:pw-secret-9d@127.0.0.1:1/none?connect_timeout=5";
    let client = client(&sim, url);
    assert!(!format!("{client:?}").contains("pw-secret-9d"));
    let error = client
        .submit(&ContactsBody::new(["https://a.example"]))
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::LedgerUnavailable { .. }),
        "{error:?}"
    );
    let text = format!("{error} {error:?}");
    assert!(!text.contains("pw-secret-9d"), "{text}");
    assert!(text.contains("app:***@127.0.0.1:1"), "{text}");
    assert_eq!(sim.submits(), 0);
}
