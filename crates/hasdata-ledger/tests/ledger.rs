//! Both backends through the trait, and the SQLite file format across versions.

#![allow(clippy::unwrap_used, missing_docs)]

use hasdata_ledger::{
    BodyDigest, Intent, IntentState, JobLedger, JobProgress, JobQuery, LedgerError, MemoryLedger,
    Origin, SentJobId, SqliteLedger, Submitted,
};
use hasdata_model::JobId;
use proptest::prelude::*;
use serde_json::json;

fn submitted(id: serde_json::Value) -> Submitted {
    Submitted {
        id: SentJobId::from_value(&id).unwrap(),
        status: Some("pending".into()),
        record: json!({"id": id, "status": "pending"}),
    }
}

/// The trait's contract, run against each backend.
async fn contract(ledger: &dyn JobLedger) {
    let origin = Origin::line("/data/bodies.jsonl", 17);
    let body = br#"{"urls":["https://a.example"]}"#;
    let a = Intent::new("key-a", "contacts", body, Some(origin.clone()));
    ledger.record_intent(&a).await.unwrap();
    assert!(matches!(
        ledger.record_intent(&a).await,
        Err(LedgerError::DuplicateKey { .. })
    ));
    let pending = ledger.intent("key-a").await.unwrap().unwrap();
    assert_eq!(pending.state, IntentState::Pending);
    assert!(
        pending
            .advice()
            .unwrap()
            .contains("hasdata jobs retry key-a --yes")
    );

    ledger
        .record_submitted("key-a", &submitted(json!(416349)))
        .await
        .unwrap();
    let done = ledger.intent("key-a").await.unwrap().unwrap();
    assert_eq!(done.state, IntentState::Submitted);
    assert_eq!(
        done.job_id.as_ref().unwrap().job_id(),
        Some(JobId::from(416349))
    );
    assert!(done.advice().is_none());
    let job = ledger.job(JobId::from(416349)).await.unwrap().unwrap();
    assert_eq!(job.scraper, "contacts");
    assert_eq!(job.origin.as_deref(), Some("/data/bodies.jsonl:17"));
    assert_eq!(job.intent_key.as_deref(), Some("key-a"));

    ledger
        .record_progress(
            JobId::from(416349),
            &JobProgress {
                status: "finished".into(),
                rows: Some(3),
                credits: None,
            },
        )
        .await
        .unwrap();
    ledger
        .mark_collected(JobId::from(416349), "rows.jsonl")
        .await
        .unwrap();
    let job = ledger.job(JobId::from(416349)).await.unwrap().unwrap();
    assert_eq!(job.status.as_deref(), Some("finished"));
    assert_eq!(job.rows, Some(3));
    assert_eq!(job.output.as_deref(), Some("rows.jsonl"));
    assert!(job.collected_at.is_some());

    // A string id is kept as sent; a non-integer one creates no job entry.
    for (key, id) in [("key-b", json!("416350")), ("key-c", json!("j-7f"))] {
        ledger
            .record_intent(&Intent::new(key, "crawler", b"{}", None))
            .await
            .unwrap();
        ledger
            .record_submitted(key, &submitted(id.clone()))
            .await
            .unwrap();
        let entry = ledger.intent(key).await.unwrap().unwrap();
        assert_eq!(entry.job_id.unwrap().to_value(), id);
    }
    assert_eq!(ledger.jobs().await.unwrap().len(), 2);

    // Refused and uncertain, and an explicit resend.
    ledger
        .record_intent(&Intent::new("key-d", "crawler", b"{}", None))
        .await
        .unwrap();
    ledger.record_refused("key-d", "422 invalid").await.unwrap();
    let refused = ledger.intent("key-d").await.unwrap().unwrap();
    assert_eq!(
        (refused.state, refused.detail.as_deref()),
        (IntentState::Refused, Some("422 invalid"))
    );
    ledger.record_uncertain("key-d", "reset").await.unwrap();
    ledger.record_resend("key-d").await.unwrap();
    let resent = ledger.intent("key-d").await.unwrap().unwrap();
    assert_eq!((resent.state, resent.attempts), (IntentState::Pending, 2));
    assert!(matches!(
        ledger.record_uncertain("nope", "x").await,
        Err(LedgerError::UnknownIntent { .. })
    ));

    // Reruns find a line by origin and digest only.
    let found = ledger
        .intents_for(&origin, &BodyDigest::of(body))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert!(
        ledger
            .intents_for(
                &Origin::line("/data/bodies.jsonl", 18),
                &BodyDigest::of(body)
            )
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        ledger
            .intents_for(&origin, &BodyDigest::of(b"{}"))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(ledger.intents().await.unwrap().len(), 4);
}

#[tokio::test]
async fn the_memory_ledger_keeps_the_contract() {
    contract(&MemoryLedger::new()).await;
}

#[tokio::test]
async fn the_sqlite_ledger_keeps_the_contract_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.sqlite");
    contract(&SqliteLedger::open(&path, "http://sim").unwrap()).await;
    let reopened = SqliteLedger::open(&path, "http://sim").unwrap();
    assert_eq!(reopened.intents().await.unwrap().len(), 4);
    assert_eq!(reopened.list().unwrap().len(), 2);
    let other = SqliteLedger::open(&path, "https://api.hasdata.com").unwrap();
    assert!(
        other.intents().await.unwrap().is_empty(),
        "scoped by base URL"
    );
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
