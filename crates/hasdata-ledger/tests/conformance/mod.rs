//! The `JobLedger` contract, written once and run against every backend (memory, SQLite,
//! PostgreSQL): a backend passes these or it is not a ledger.

use std::collections::HashSet;
use std::sync::Arc;

use hasdata_ledger::{
    BodyDigest, Intent, IntentState, JobLedger, JobProgress, JobQuery, LedgerError, Origin,
    REDACTED, ResendClaim, SentJobId, Submitted,
};
use hasdata_model::JobId;
use serde_json::json;

pub fn submitted(id: serde_json::Value) -> Submitted {
    Submitted {
        id: SentJobId::from_value(&id).unwrap(),
        status: Some("pending".into()),
        record: json!({"id": id, "status": "pending"}),
    }
}

/// Intents, their outcomes, resends, progress, collection marks and rerun lookups.
pub async fn contract(ledger: &dyn JobLedger) {
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
    assert_eq!(pending.intent, a, "an intent reads back as recorded");
    assert_eq!(pending.attempts, 1);
    assert!(
        pending
            .advice()
            .unwrap()
            .contains("hasdata jobs retry key-a --yes")
    );
    assert!(ledger.intent("unknown").await.unwrap().is_none());

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
    assert_eq!(job.status.as_deref(), Some("pending"));

    // Counts that move under an unchanged status are still noted (the 3 below replaces this 2).
    ledger
        .record_progress(
            JobId::from(416349),
            &JobProgress {
                status: "in_progress".into(),
                rows: Some(2),
                credits: Some(30),
            },
        )
        .await
        .unwrap();
    ledger
        .record_progress(
            JobId::from(416349),
            &JobProgress {
                status: "in_progress".into(),
                rows: Some(3),
                credits: Some(30),
            },
        )
        .await
        .unwrap();
    // Unknown counts keep the last known ones.
    ledger
        .record_progress(
            JobId::from(416349),
            &JobProgress {
                status: "finished".into(),
                rows: None,
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
    assert_eq!((job.rows, job.credits), (Some(3), Some(30)));
    assert_eq!(job.output.as_deref(), Some("rows.jsonl"));
    assert!(job.collected_at.is_some());
    // Progress of a job the ledger does not know changes nothing and is no error.
    ledger
        .record_progress(JobId::from(9), &JobProgress::default())
        .await
        .unwrap();
    assert!(ledger.job(JobId::from(9)).await.unwrap().is_none());

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
    assert!(matches!(
        ledger.record_submitted("nope", &submitted(json!(1))).await,
        Err(LedgerError::UnknownIntent { .. })
    ));
    assert!(
        ledger.job(JobId::from(1)).await.unwrap().is_none(),
        "no job row without its intent"
    );

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
    assert!(
        refused.advice().is_none(),
        "a refused submit created no job"
    );
    ledger.record_uncertain("key-d", "reset").await.unwrap();
    let uncertain = ledger.intent("key-d").await.unwrap().unwrap();
    assert_eq!(
        (uncertain.state, uncertain.detail.as_deref()),
        (IntentState::Uncertain, Some("reset"))
    );
    assert!(uncertain.advice().is_some());
    ledger.record_resend("key-d").await.unwrap();
    let resent = ledger.intent("key-d").await.unwrap().unwrap();
    assert_eq!((resent.state, resent.attempts), (IntentState::Pending, 2));
    for unknown in [
        ledger.record_uncertain("nope", "x").await,
        ledger.record_refused("nope", "x").await,
        ledger.record_resend("nope").await,
    ] {
        assert!(
            matches!(unknown, Err(LedgerError::UnknownIntent { .. })),
            "{unknown:?}"
        );
    }

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
    // A label without a line matches only lineless intents of that label.
    let stdin = Origin::label("stdin");
    ledger
        .record_intent(&Intent::new("key-e", "crawler", b"{}", Some(stdin.clone())))
        .await
        .unwrap();
    let by_label = ledger
        .intents_for(&stdin, &BodyDigest::of(b"{}"))
        .await
        .unwrap();
    assert_eq!(by_label.len(), 1);
    assert_eq!(by_label[0].intent.key, "key-e");
    assert!(
        ledger
            .intents_for(&Origin::line("stdin", 1), &BodyDigest::of(b"{}"))
            .await
            .unwrap()
            .is_empty()
    );

    // Newest first.
    let keys: Vec<String> = ledger
        .intents()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.intent.key)
        .collect();
    assert_eq!(keys, ["key-e", "key-d", "key-c", "key-b", "key-a"]);
}

/// Webhook header values never reach storage: the stored body is redacted, the digest is of
/// the bytes sent.
pub async fn redaction(ledger: &dyn JobLedger) {
    let body = br#"{"urls":["https://a.example"],"webhook":{"url":"https://h.example","headers":{"x-secret":"s3cret-value"}}}"#;
    ledger
        .record_intent(&Intent::new("key-r", "contacts", body, None))
        .await
        .unwrap();
    let stored = ledger.intent("key-r").await.unwrap().unwrap();
    assert!(stored.intent.body_redacted);
    assert_eq!(stored.intent.digest, BodyDigest::of(body));
    let text = stored.intent.body.unwrap();
    assert!(!text.contains("s3cret-value"), "{text}");
    assert!(text.contains(REDACTED), "{text}");
}

/// Filters and forgetting, in the order `hasdata jobs list` shows them.
pub async fn queries(ledger: &dyn JobLedger) {
    for (id, slug, status) in [
        (1, "contacts", "finished"),
        (2, "contacts", "pending"),
        (3, "indeed", "finished"),
    ] {
        let key = format!("key-{id}");
        ledger
            .record_intent(&Intent::new(&key, slug, b"{}", None))
            .await
            .unwrap();
        ledger
            .record_submitted(&key, &submitted(json!(id)))
            .await
            .unwrap();
        ledger
            .record_progress(
                JobId::from(id),
                &JobProgress {
                    status: status.into(),
                    rows: Some(0),
                    credits: Some(0),
                },
            )
            .await
            .unwrap();
    }
    let ids = |query: JobQuery| async move {
        ledger
            .query_jobs(&query)
            .await
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect::<Vec<u64>>()
    };
    assert_eq!(ids(JobQuery::default()).await, [3, 2, 1]);
    let finished = || JobQuery {
        status: Some("finished".into()),
        ..JobQuery::default()
    };
    assert_eq!(ids(finished()).await, [3, 1]);
    let contacts = JobQuery {
        scraper: Some("contacts".into()),
        ..finished()
    };
    assert_eq!(ids(contacts).await, [1]);
    let two = JobQuery {
        limit: Some(2),
        ..JobQuery::default()
    };
    assert_eq!(ids(two).await, [3, 2]);
    let none = JobQuery {
        limit: Some(0),
        ..JobQuery::default()
    };
    assert!(ids(none).await.is_empty());
    let since_2000 = JobQuery {
        since: Some("2000-01-01".into()),
        ..JobQuery::default()
    };
    assert_eq!(ids(since_2000).await, [3, 2, 1]);
    let future = JobQuery {
        since: Some("9999-01-01".into()),
        ..JobQuery::default()
    };
    assert!(ids(future).await.is_empty());

    assert!(ledger.forget_job(JobId::from(2)).await.unwrap());
    assert!(
        !ledger.forget_job(JobId::from(2)).await.unwrap(),
        "already gone"
    );
    assert_eq!(ids(JobQuery::default()).await, [3, 1]);
    assert!(ledger.job(JobId::from(2)).await.unwrap().is_none());
    let intent = ledger.intent("key-2").await.unwrap().unwrap();
    assert_eq!(intent.state, IntentState::Submitted, "the intent stays");
}

/// Two handles on one store (two processes, for the durable backends) writing at once: every
/// key is recorded exactly once, the loser of a race learns it, and nothing is lost.
pub async fn concurrent_writers(a: Arc<dyn JobLedger>, b: Arc<dyn JobLedger>) {
    const KEYS: usize = 24;
    let mut tasks = Vec::new();
    for n in 0..KEYS {
        for ledger in [a.clone(), b.clone()] {
            tasks.push(tokio::spawn(async move {
                let key = format!("race-{n}");
                let won = match ledger
                    .record_intent(&Intent::new(&key, "contacts", b"{}", None))
                    .await
                {
                    Ok(()) => true,
                    Err(LedgerError::DuplicateKey { .. }) => false,
                    Err(other) => panic!("{key}: {other}"),
                };
                // Both settle it with the same answer: idempotent, one job row.
                ledger
                    .record_submitted(&key, &submitted(json!(10_000 + n)))
                    .await
                    .unwrap();
                ledger
                    .record_progress(
                        JobId::from(10_000 + n as u64),
                        &JobProgress {
                            status: "finished".into(),
                            rows: Some(n as u64),
                            credits: None,
                        },
                    )
                    .await
                    .unwrap();
                (key, won)
            }));
        }
    }
    let mut winners = HashSet::new();
    for task in tasks {
        let (key, won) = task.await.unwrap();
        if won {
            assert!(winners.insert(key.clone()), "{key} recorded twice");
        }
    }
    assert_eq!(winners.len(), KEYS, "every key recorded exactly once");
    for ledger in [&a, &b] {
        let intents = ledger.intents().await.unwrap();
        assert_eq!(intents.len(), KEYS);
        assert!(
            intents
                .iter()
                .all(|e| e.state == IntentState::Submitted && e.attempts == 1)
        );
        let jobs = ledger.jobs().await.unwrap();
        assert_eq!(jobs.len(), KEYS);
        for job in jobs {
            let n = job.id - 10_000;
            assert_eq!(
                (job.status.as_deref(), job.rows),
                (Some("finished"), Some(n))
            );
            assert_eq!(job.intent_key, Some(format!("race-{n}")));
        }
    }
}

/// Resend claims: one owner at a time, renewed by its owner, refused once the intent moved on
/// (resent meanwhile, or a job recorded), lapsed when the lease runs out, given back by the
/// owner only.
pub async fn resend_claims(ledger: &dyn JobLedger) {
    use std::time::Duration;
    let minute = Duration::from_secs(60);
    ledger
        .record_intent(&Intent::new("claim-a", "contacts", b"{}", None))
        .await
        .unwrap();
    ledger.record_uncertain("claim-a", "reset").await.unwrap();
    let claim = |owner: &'static str, attempts: u32, lease: Duration| async move {
        ledger
            .claim_resend("claim-a", owner, attempts, lease)
            .await
            .unwrap()
    };
    assert_eq!(claim("one", 1, minute).await, ResendClaim::Taken);
    assert_eq!(claim("two", 1, minute).await, ResendClaim::Held);
    assert_eq!(
        claim("one", 1, minute).await,
        ResendClaim::Taken,
        "the owner renews"
    );
    ledger.release_resend("claim-a", "two").await.unwrap();
    assert_eq!(
        claim("two", 1, minute).await,
        ResendClaim::Held,
        "only the owner gives a claim back"
    );
    // The owner resends (attempts 2), renews its claim across that, and gives it back.
    ledger.record_resend("claim-a").await.unwrap();
    assert_eq!(claim("one", 1, minute).await, ResendClaim::Taken);
    ledger.record_uncertain("claim-a", "reset").await.unwrap();
    ledger.release_resend("claim-a", "one").await.unwrap();
    assert_eq!(
        claim("two", 1, minute).await,
        ResendClaim::Moved,
        "read before that resend: nothing to send"
    );
    // A claim whose lease ran out (a killed retrier) blocks nobody.
    assert_eq!(claim("dead", 2, Duration::ZERO).await, ResendClaim::Taken);
    assert_eq!(claim("two", 2, minute).await, ResendClaim::Taken);
    ledger
        .record_submitted("claim-a", &submitted(json!(77)))
        .await
        .unwrap();
    ledger.release_resend("claim-a", "two").await.unwrap();
    assert_eq!(
        claim("three", 2, minute).await,
        ResendClaim::Moved,
        "a job exists"
    );
    assert!(matches!(
        ledger.claim_resend("no-such-key", "one", 1, minute).await,
        Err(LedgerError::UnknownIntent { .. })
    ));
}

/// Many retriers claiming one intent at once through two handles (two processes): exactly one
/// takes it.
pub async fn concurrent_resend_claims(a: Arc<dyn JobLedger>, b: Arc<dyn JobLedger>) {
    a.record_intent(&Intent::new("claim-race", "contacts", b"{}", None))
        .await
        .unwrap();
    a.record_uncertain("claim-race", "reset").await.unwrap();
    let mut tasks = Vec::new();
    for n in 0..16 {
        let ledger = if n % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            ledger
                .claim_resend(
                    "claim-race",
                    &format!("retrier-{n}"),
                    1,
                    std::time::Duration::from_secs(60),
                )
                .await
                .unwrap()
        }));
    }
    let mut taken = 0;
    for task in tasks {
        match task.await.unwrap() {
            ResendClaim::Taken => taken += 1,
            ResendClaim::Held => {}
            ResendClaim::Moved => panic!("nothing moved the intent"),
        }
    }
    assert_eq!(taken, 1, "exactly one retrier may send");
}

/// Before the trailing-`/` migration: job 5 (intent `slash-5`) recorded under `http://sim/`
/// only, job 6 (intent `both-6`) under both `http://sim` and `http://sim/`. `plain` and
/// `slashed` are the store's ledgers of those two base URLs.
pub async fn record_slashed(plain: &dyn JobLedger, slashed: &dyn JobLedger) {
    for (ledger, key, id) in [
        (slashed, "slash-5", 5),
        (plain, "both-6", 6),
        (slashed, "both-6", 6),
    ] {
        ledger
            .record_intent(&Intent::new(key, "contacts", b"{}", None))
            .await
            .unwrap();
        ledger
            .record_submitted(key, &submitted(json!(id)))
            .await
            .unwrap();
    }
}

/// After it: job 5 and its intent are `http://sim`'s; job 6 under `http://sim/` could not
/// move (`http://sim` has it already), so it stays there, still listed as another base
/// URL's, never lost.
pub async fn slashes_trimmed(plain: &dyn JobLedger, slashed: &dyn JobLedger) {
    let moved = plain.job(JobId::from(5)).await.unwrap();
    assert!(moved.is_some(), "job 5 is http://sim's now");
    assert_eq!(
        plain.intent("slash-5").await.unwrap().map(|e| e.state),
        Some(IntentState::Submitted)
    );
    assert!(plain.job(JobId::from(6)).await.unwrap().is_some());
    assert!(slashed.job(JobId::from(5)).await.unwrap().is_none());
    assert!(slashed.job(JobId::from(6)).await.unwrap().is_some(), "kept");
    assert!(slashed.intent("both-6").await.unwrap().is_some(), "kept");
    assert_eq!(
        plain.other_base_urls().await.unwrap(),
        vec![("http://sim/".to_owned(), 1)]
    );
}
