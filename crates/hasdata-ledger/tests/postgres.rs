//! The PostgreSQL ledger: the shared conformance suite against a real server (a throwaway
//! cluster from hasdata-testpg, a fresh database per test), then what only a server database
//! has to get right: concurrent migrations, newer schemas, secrets in URLs.

#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, missing_docs)]

mod conformance;

use std::sync::Arc;

use hasdata_ledger::{Intent, JobLedger, LedgerError, PostgresLedger, postgres};
use hasdata_testpg::TestPg;
use serde_json::json;

/// A fresh database, or `None` (loudly) where PostgreSQL is missing outside CI.
async fn database() -> Option<String> {
    Some(TestPg::shared().await?.fresh_database().await)
}

async fn sql(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

#[tokio::test]
async fn the_postgres_ledger_passes_the_conformance_suite() {
    let Some(url) = database().await else { return };
    let ledger = PostgresLedger::connect(&url, "http://sim").await.unwrap();
    conformance::contract(&ledger).await;
    conformance::redaction(&ledger).await;
    // Another base URL sees none of it, and takes the query suite on its own (opened lazily:
    // nothing connects until the first call).
    let other = PostgresLedger::lazy(&url, "https://api.hasdata.com").unwrap();
    assert!(
        other.intents().await.unwrap().is_empty(),
        "scoped by base URL"
    );
    assert!(other.jobs().await.unwrap().is_empty());
    conformance::queries(&other).await;
    // Reconnecting (a new process) reads everything back.
    let reopened = PostgresLedger::connect(&url, "http://sim").await.unwrap();
    assert_eq!(reopened.intents().await.unwrap().len(), 6);
    assert_eq!(reopened.jobs().await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_postgres_ledgers_on_one_database_take_concurrent_writers() {
    let Some(url) = database().await else { return };
    // Two pools: two processes, as far as the server can tell.
    let a: Arc<dyn JobLedger> =
        Arc::new(PostgresLedger::connect(&url, "http://sim").await.unwrap());
    let b: Arc<dyn JobLedger> =
        Arc::new(PostgresLedger::connect(&url, "http://sim").await.unwrap());
    conformance::concurrent_writers(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_starting_together_migrate_once() {
    let Some(url) = database().await else { return };
    let connects: Vec<_> = (0..6)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PostgresLedger::connect(&url, "http://sim").await })
        })
        .collect();
    for connect in connects {
        connect.await.unwrap().unwrap();
    }
    let history: i64 = sql(&url)
        .await
        .query_one(
            &format!("SELECT count(*) FROM {}", postgres::MIGRATION_TABLE),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(history, postgres::SCHEMA_VERSION);
}

#[tokio::test]
async fn a_database_from_a_newer_version_is_refused_not_damaged() {
    let Some(url) = database().await else { return };
    let ledger = PostgresLedger::connect(&url, "http://sim").await.unwrap();
    ledger
        .record_intent(&Intent::new("kept", "contacts", b"{}", None))
        .await
        .unwrap();
    sql(&url)
        .await
        .batch_execute(&format!(
            "INSERT INTO {} (version, name, applied_on, checksum) VALUES (99, 'future', '2030-01-01T00:00:00Z', '1')",
            postgres::MIGRATION_TABLE
        ))
        .await
        .unwrap();
    let error = PostgresLedger::connect(&url, "http://sim")
        .await
        .unwrap_err();
    assert!(
        matches!(error, LedgerError::TooNew { found: 99, .. }),
        "{error}"
    );
    assert!(
        ledger.intent("kept").await.unwrap().is_some(),
        "data untouched"
    );
}

#[tokio::test]
async fn the_submit_answer_is_stored_without_webhook_secrets() {
    let Some(url) = database().await else { return };
    let ledger = PostgresLedger::connect(&url, "http://sim").await.unwrap();
    ledger
        .record_intent(&Intent::new("k", "contacts", b"{}", None))
        .await
        .unwrap();
    let mut answer = conformance::submitted(json!(7));
    answer.record = json!({"id": 7, "input": {"webhook": {"url": "https://h", "headers": {"x-secret": "s3cret-value"}}}});
    ledger.record_submitted("k", &answer).await.unwrap();
    let stored: serde_json::Value = sql(&url)
        .await
        .query_one("SELECT record FROM ledger_jobs WHERE id = 7", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        stored["input"]["webhook"]["headers"]["x-secret"],
        hasdata_ledger::REDACTED
    );
    assert!(!stored.to_string().contains("s3cret-value"));
}

#[tokio::test]
async fn a_password_in_the_url_is_never_shown() {
    let Some(pg) = TestPg::shared().await else {
        return;
    };
    let url = pg.fresh_database().await;
    // The cluster trusts loopback, so the password is accepted and ignored: it only has to stay
    // out of Debug.
    let with_password = url.replacen("postgres@", "postgres:hunter2-secret@", 1);
    let ledger = PostgresLedger::connect(&with_password, "http://sim")
        .await
        .unwrap();
    let shown = format!("{ledger:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("postgres:***@"), "{shown}");

    // A server that is not there: the error names it, without the password.
    let nowhere = "postgres://app:hunter2-secret@127.0.0.1:1/none?connect_timeout=5";
    let error = PostgresLedger::connect(nowhere, "http://sim")
        .await
        .unwrap_err();
    let text = format!("{error} {error:?}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(text.contains("app:***@127.0.0.1:1"), "{text}");
    // A malformed URL fails before any connection, lazily or not, and hides the password too.
    let error = PostgresLedger::lazy(
        "postgres://app:hunter2-secret@host:notaport/x",
        "http://sim",
    )
    .unwrap_err();
    assert!(!format!("{error} {error:?}").contains("hunter2"), "{error}");
    let error = PostgresLedger::connect(
        "postgres://app:hunter2-secret@host:notaport/x",
        "http://sim",
    )
    .await
    .unwrap_err();
    assert!(!format!("{error} {error:?}").contains("hunter2"), "{error}");
}

/// Figures for docs/scale-out.md, not a pass/fail check (timings never are):
/// `cargo test -p hasdata-ledger --features postgres --test postgres -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run by hand with --ignored --nocapture"]
async fn measure_write_ahead_round_trips() {
    use std::time::Instant;
    const SUBMITS: usize = 2000;
    const WRITERS: usize = 16;

    async fn run(ledger: Arc<dyn JobLedger>) -> f64 {
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for writer in 0..WRITERS {
            let ledger = ledger.clone();
            tasks.spawn(async move {
                for n in (writer..SUBMITS).step_by(WRITERS) {
                    let key = format!("bench-{n}");
                    ledger
                        .record_intent(&Intent::new(
                            &key,
                            "contacts",
                            b"{\"urls\":[\"https://a\"]}",
                            None,
                        ))
                        .await
                        .unwrap();
                    ledger
                        .record_submitted(&key, &conformance::submitted(json!(100_000 + n)))
                        .await
                        .unwrap();
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        SUBMITS as f64 / started.elapsed().as_secs_f64()
    }

    let started = Instant::now();
    let Some(pg) = TestPg::shared().await else {
        return;
    };
    let cluster = started.elapsed();
    let started = Instant::now();
    let url = pg.fresh_database().await;
    let database = started.elapsed();
    let started = Instant::now();
    let ledger = PostgresLedger::connect(&url, "http://sim").await.unwrap();
    let migrate = started.elapsed();
    let postgres = run(Arc::new(ledger)).await;
    let dir = tempfile::tempdir().unwrap();
    let sqlite =
        hasdata_ledger::SqliteLedger::open(&dir.path().join("l.sqlite"), "http://sim").unwrap();
    let sqlite = run(Arc::new(sqlite)).await;
    println!(
        "cluster start {cluster:?}; CREATE DATABASE {database:?}; connect+migrate {migrate:?}\n\
         write-ahead submits (intent + submitted, {WRITERS} writers): postgres {postgres:.0}/s, sqlite {sqlite:.0}/s"
    );
}

/// A URL that demands TLS is refused before any connection, naming the setting and what to do,
/// the password hidden: this build has no TLS to PostgreSQL yet (docs/scale-out.md).
#[test]
fn a_url_demanding_tls_is_refused_up_front_with_the_way_out() {
    for url in [
        "postgres://app:hunter2@db.internal/hasdata?sslmode=require",
        "postgres://app:hunter2@db.internal/hasdata?connect_timeout=5&sslmode=verify-full",
        "host=db.internal user=app password=hunter2 sslmode=verify-ca",
    ] {
        let error = postgres::pool_of_size(url, 1).unwrap_err();
        let text = error.to_string();
        assert!(
            matches!(error, LedgerError::BadUrl { .. }),
            "{url}: {error:?}"
        );
        assert!(
            text.contains("sslmode=") && text.contains("TLS tunnel"),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
    }
    // Without a TLS demand the pool is built (nothing connects yet).
    assert!(postgres::pool_of_size("postgres://app@db.internal/hasdata?sslmode=prefer", 1).is_ok());
    assert!(
        postgres::pool_of_size("postgres://app@db.internal/hasdata?sslmode=disable", 1).is_ok()
    );
}
