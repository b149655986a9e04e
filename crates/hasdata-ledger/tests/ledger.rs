//! Every backend through the trait (the shared `conformance` suite: memory, SQLite and, with
//! the `postgres` feature, PostgreSQL), and each backend's storage across versions.

#![allow(clippy::unwrap_used, missing_docs)]

mod conformance;

use std::sync::Arc;

use conformance::{contract, submitted};
use hasdata_ledger::{
    BodyDigest, Intent, JobLedger, JobQuery, LedgerError, MemoryLedger, SqliteLedger,
};
use hasdata_model::JobId;
use proptest::prelude::*;
use serde_json::json;

#[tokio::test]
async fn the_memory_ledger_keeps_the_contract() {
    contract(&MemoryLedger::new()).await;
    conformance::redaction(&MemoryLedger::new()).await;
    conformance::queries(&MemoryLedger::new()).await;
    conformance::resend_claims(&MemoryLedger::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_ledger_takes_concurrent_writers() {
    let ledger: Arc<dyn JobLedger> = Arc::new(MemoryLedger::new());
    conformance::concurrent_writers(ledger.clone(), ledger.clone()).await;
    conformance::concurrent_resend_claims(ledger.clone(), ledger).await;
}

#[tokio::test]
async fn the_sqlite_ledger_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let open = |name: &str| SqliteLedger::open(&dir.path().join(name), "http://sim").unwrap();
    conformance::redaction(&open("redaction.sqlite")).await;
    conformance::queries(&open("queries.sqlite")).await;
    conformance::resend_claims(&open("claims.sqlite")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sqlite_handles_on_one_file_take_concurrent_writers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.sqlite");
    let a: Arc<dyn JobLedger> = Arc::new(SqliteLedger::open(&path, "http://sim").unwrap());
    let b: Arc<dyn JobLedger> = Arc::new(SqliteLedger::open(&path, "http://sim").unwrap());
    conformance::concurrent_writers(a.clone(), b.clone()).await;
    conformance::concurrent_resend_claims(a, b).await;
}

#[tokio::test]
async fn the_sqlite_ledger_keeps_the_contract_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    contract(&SqliteLedger::open(&path, "http://sim").unwrap()).await;
    let reopened = SqliteLedger::open(&path, "http://sim").unwrap();
    assert_eq!(reopened.intents().await.unwrap().len(), 5);
    assert_eq!(reopened.list().unwrap().len(), 2);
    let other = SqliteLedger::open(&path, "https://api.hasdata.com").unwrap();
    assert!(
        other.intents().await.unwrap().is_empty(),
        "scoped by base URL"
    );
    // Where the jobs are, for a list that finds none under its own base URL.
    assert_eq!(
        other.other_base_urls().await.unwrap(),
        vec![("http://sim".to_owned(), 2)]
    );
    assert!(reopened.other_base_urls().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_ledger_from_before_versioning_is_migrated_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE jobs (base_url TEXT NOT NULL, id INTEGER NOT NULL, scraper TEXT NOT NULL,
               submitted_at TEXT NOT NULL, origin TEXT, status TEXT, rows INTEGER, credits INTEGER,
               collected_at TEXT, output TEXT, record TEXT NOT NULL, PRIMARY KEY (base_url, id));
             INSERT INTO jobs VALUES ('http://sim', 5, 'contacts', '2026-01-01T00:00:00Z', 'b.jsonl:1',
               'finished', 1, 5, NULL, NULL, '{}');",
        )
        .unwrap();
    }
    let ledger = SqliteLedger::open(&path, "http://sim").unwrap();
    let old = ledger.get(JobId::from(5)).unwrap().unwrap();
    assert_eq!(
        (old.scraper.as_str(), old.origin.as_deref(), old.rows),
        ("contacts", Some("b.jsonl:1"), Some(1))
    );
    assert_eq!(old.intent_key, None);
    ledger
        .record_intent(&Intent::new("k", "contacts", b"{}", None))
        .await
        .unwrap();
    drop(ledger);
    let version: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, hasdata_ledger::sqlite::SCHEMA_VERSION);
}

/// Jobs and intents the CLI recorded under `--base-url http://host/` before it dropped
/// trailing `/`s could no longer be selected: version 4 moves them to `http://host`.
#[tokio::test]
async fn base_urls_recorded_with_a_trailing_slash_are_trimmed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slashed.sqlite");
    {
        let plain = SqliteLedger::open(&path, "http://sim").unwrap();
        let slashed = SqliteLedger::open(&path, "http://sim/").unwrap();
        conformance::record_slashed(&plain, &slashed).await;
    }
    // As a file of version 3 (before the trim) holds them.
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 3)
        .unwrap();
    let plain = SqliteLedger::open(&path, "http://sim").unwrap();
    let slashed = SqliteLedger::open(&path, "http://sim/").unwrap();
    conformance::slashes_trimmed(&plain, &slashed).await;
}

#[test]
fn a_ledger_from_a_newer_version_is_refused_not_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.sqlite");
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let error = SqliteLedger::open(&path, "http://sim").unwrap_err();
    assert!(
        matches!(error, LedgerError::TooNew { found: 99, .. }),
        "{error}"
    );
}

proptest! {
    /// No webhook header value ever reaches a stored intent, whatever the headers are.
    #[test]
    fn stored_bodies_never_hold_webhook_header_values(
        headers in proptest::collection::btree_map("[a-z-]{1,12}", "[A-Za-z0-9]{6,24}", 1..5),
    ) {
        let body = json!({"urls": ["https://a.example"], "webhook": {"url": "https://h.example", "headers": headers}});
        let bytes = serde_json::to_vec(&body).unwrap();
        let intent = Intent::new("k", "contacts", &bytes, None);
        prop_assert!(intent.body_redacted);
        prop_assert_eq!(&intent.digest, &BodyDigest::of(&bytes));
        let stored = serde_json::to_string(&intent).unwrap();
        for value in headers.values() {
            prop_assert!(!stored.contains(&format!("\"{value}\"")), "{} in {}", value, stored);
        }
    }
}

#[tokio::test]
async fn the_sqlite_ledger_filters_and_forgets_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = SqliteLedger::open(&dir.path().join("l.sqlite"), "http://sim").unwrap();
    for (id, slug, status) in [
        (1, "contacts", "finished"),
        (2, "contacts", "pending"),
        (3, "indeed", "finished"),
    ] {
        let key = format!("key-{id}");
        let intent = Intent::new(&key, slug, b"{}", None);
        ledger.record_intent(&intent).await.unwrap();
        ledger
            .record_submitted(&key, &submitted(json!(id)))
            .await
            .unwrap();
        ledger.set_status(JobId::from(id), status, 0, 0).unwrap();
    }
    let ids = |query: JobQuery| -> Vec<u64> {
        ledger.query(&query).unwrap().iter().map(|e| e.id).collect()
    };
    assert_eq!(ids(JobQuery::default()), [3, 2, 1]);
    let finished = || JobQuery {
        status: Some("finished".into()),
        ..JobQuery::default()
    };
    assert_eq!(ids(finished()), [3, 1]);
    assert_eq!(
        ids(JobQuery {
            scraper: Some("contacts".into()),
            ..finished()
        }),
        [1]
    );
    assert_eq!(
        ids(JobQuery {
            limit: Some(2),
            ..JobQuery::default()
        }),
        [3, 2]
    );
    assert_eq!(
        ids(JobQuery {
            limit: Some(0),
            ..JobQuery::default()
        }),
        Vec::<u64>::new()
    );
    assert_eq!(
        ids(JobQuery {
            since: Some("2000-01-01".into()),
            ..JobQuery::default()
        }),
        [3, 2, 1]
    );
    assert!(
        ids(JobQuery {
            since: Some("9999-01-01".into()),
            ..JobQuery::default()
        })
        .is_empty()
    );

    assert!(ledger.forget(2).unwrap());
    assert!(!ledger.forget(2).unwrap(), "already gone");
    assert_eq!(ids(JobQuery::default()), [3, 1]);
    assert!(ledger.get(JobId::from(2)).unwrap().is_none());
}

/// CI runs the PostgreSQL conformance suite (the workspace build turns the feature on through
/// the CLI); a build without it must not pass there silently.
#[cfg(not(feature = "postgres"))]
#[test]
fn the_postgres_suite_is_compiled_in_ci() {
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "CI=true but hasdata-ledger was built without its `postgres` feature: the PostgreSQL \
         ledger went untested (run `cargo test --workspace`, or add `--features postgres`)"
    );
}

/// Another connection holding the file's write lock (a second process, a `sqlite3` shell
/// inside `BEGIN IMMEDIATE`): a write waits for it on a timer, so the wait is a future that
/// can be dropped at once (nothing written), even on a one-thread runtime; once the lock is
/// released the write goes through.
#[tokio::test]
async fn a_write_waits_for_another_connections_lock_as_a_future_that_can_be_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.sqlite");
    let ledger = SqliteLedger::open(&path, "http://sim").unwrap();
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let intent = Intent::new("k-locked", "crawler", br#"{"urls":[]}"#, None);
    let started = std::time::Instant::now();
    let dropped = tokio::time::timeout(
        std::time::Duration::from_millis(200),
        ledger.record_intent(&intent),
    )
    .await;
    assert!(dropped.is_err(), "the write did not wait: {dropped:?}");
    // Well under the 10 s a thread asleep in SQLite's busy handler would have held it.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(ledger.intent("k-locked").await.unwrap(), None);
    let released = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        holder.execute_batch("COMMIT").unwrap();
    });
    ledger.record_intent(&intent).await.unwrap();
    released.join().unwrap();
    assert!(ledger.intent("k-locked").await.unwrap().is_some());
}

/// Another program's SQLite database given as the ledger (a typo, a wrong variable) is
/// refused, for reading and for writing, and left byte for byte as it was: the ledger's
/// tables were added to it (and it was switched to WAL), and a `user_version` above ours was
/// called a ledger from a newer hasdata.
#[tokio::test]
async fn another_program_s_database_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    for version in [0, 2, 7] {
        let path = dir.path().join(format!("places-{version}.sqlite"));
        {
            let other = rusqlite::Connection::open(&path).unwrap();
            other
                .execute_batch(
                    "CREATE TABLE moz_places (url TEXT); INSERT INTO moz_places VALUES ('a');",
                )
                .unwrap();
            other.pragma_update(None, "user_version", version).unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let location = hasdata_ledger::Location::Sqlite(path.clone());
        for error in [
            SqliteLedger::open(&path, "http://sim").unwrap_err(),
            location.open_existing("http://sim").await.unwrap_err(),
            location.open_writable("http://sim").await.unwrap_err(),
        ] {
            let shown = error.to_string();
            assert!(matches!(error, LedgerError::BadLocation { .. }), "{shown}");
            assert!(
                shown.contains("not a hasdata ledger") && shown.contains("moz_places"),
                "{shown}"
            );
        }
        assert_eq!(std::fs::read(&path).unwrap(), before, "version {version}");
    }
}
