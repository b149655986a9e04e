//! Reading rows under faults: pages with 429, 503 and resets; downloads that expire or break
//! off; and the property that results() yields exactly the simulator's rows, in order.

use std::time::Duration;

use futures::TryStreamExt;
use hasdata_jobs::{RowJson, RowSource};
use hasdata_model::bodies::GoogleSerpBody;
use hasdata_sim::SimConfig;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::{Env, assert_same_rows, expected};

#[tokio::test]
async fn ten_thousand_rows_complete_in_order_through_429_503_and_resets() {
    let env = Env::start(SimConfig {
        job_duration: Duration::ZERO,
        seed: 3,
        faults: "results:429=0.1,results:503=0.1,results:reset=0.1,status:503=0.2,retry-after=0"
            .parse()
            .unwrap(),
        max_running: 10,
        ..SimConfig::default()
    })
    .await;
    let job = env
        .client
        .submit(&GoogleSerpBody::new().keywords(["coffee"]).limit(10_000))
        .await
        .unwrap();
    let rows: Vec<_> = job.rows().pages().try_collect().await.unwrap();
    let positions: Vec<u64> = rows
        .iter()
        .map(|r| r.position.as_ref().unwrap().get())
        .collect();
    assert_eq!(
        positions,
        (1..=10_000).collect::<Vec<_>>(),
        "complete, in order, no duplicates"
    );
    assert_same_rows(&rows, &expected(&env.sim, job.id()));
    let faults = env.sim.fault_counts();
    for fault in ["results:429", "results:503", "results:reset"] {
        assert!(
            faults.get(fault).copied().unwrap_or(0) > 0,
            "{fault} never fired: {faults:?}"
        );
    }
}

#[tokio::test]
async fn a_server_that_sometimes_ignores_page_ends_the_rows_with_a_repeated_row() {
    // Now and then page 1 comes back for a later page, the repeat check's bounded memory
    // (the window, page 1's ids, the page fingerprints) still catches it.
    let env = Env::start(SimConfig {
        job_duration: Duration::ZERO,
        seed: 11,
        faults: "results:ignore-page=0.1".parse().unwrap(),
        ..SimConfig::default()
    })
    .await;
    let job = env
        .client
        .submit(&GoogleSerpBody::new().keywords(["coffee"]).limit(5_000))
        .await
        .unwrap();
    let mut rows = env.client.rows::<RowJson>(job.id()).pages();
    let mut got = Vec::new();
    let error = loop {
        match futures::StreamExt::next(&mut rows).await {
            Some(Ok(row)) => got.push(row.decode::<serde_json::Value>().unwrap()),
            Some(Err(error)) => break error,
            None => panic!("{} rows and no error", got.len()),
        }
    };
    assert!(
        matches!(error, hasdata_jobs::Error::RepeatedRow { .. }),
        "{error}"
    );
    let expected: Vec<serde_json::Value> = expected(&env.sim, job.id());
    assert!(got.len() < expected.len());
    assert_same_rows(&got, &expected[..got.len()]);
    assert!(
        env.sim
            .fault_counts()
            .get("results:ignore-page")
            .copied()
            .unwrap_or(0)
            > 0
    );
}

#[tokio::test]
async fn an_expired_download_falls_back_to_the_pages() {
    let env = Env::start(SimConfig {
        job_duration: Duration::ZERO,
        download_ttl: Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    let job = env
        .client
        .submit(&GoogleSerpBody::new().keywords(["tea"]).limit(420))
        .await
        .unwrap();
    let rows: Vec<_> = job.rows().file().try_collect().await.unwrap();
    assert_same_rows(&rows, &expected(&env.sim, job.id()));
    let requests = env.sim.requests();
    assert_eq!(
        requests.get("files"),
        Some(&2),
        "the link, then the fresh link, both expired"
    );
    assert!(
        requests.get("results").copied().unwrap_or(0) >= 5,
        "{requests:?}"
    );
}

#[tokio::test]
async fn a_download_that_breaks_off_resumes_without_duplicates() {
    let env = Env::start(SimConfig {
        job_duration: Duration::ZERO,
        seed: 5,
        faults: "files:reset=0.5".parse().unwrap(),
        ..SimConfig::default()
    })
    .await;
    let job = env
        .client
        .submit(&GoogleSerpBody::new().keywords(["tea"]).limit(3000))
        .await
        .unwrap();
    let rows: Vec<_> = job.rows().file().try_collect().await.unwrap();
    let positions: Vec<u64> = rows
        .iter()
        .map(|r| r.position.as_ref().unwrap().get())
        .collect();
    assert_eq!(positions, (1..=3000).collect::<Vec<_>>());
    assert!(
        env.sim
            .fault_counts()
            .get("files:reset")
            .copied()
            .unwrap_or(0)
            > 0
    );
}

#[test]
fn results_yield_exactly_the_simulators_rows_for_any_count_and_concurrency() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let envs: Vec<Env> = runtime.block_on(async {
        let mut envs = Vec::new();
        for pages in 1..=8 {
            envs.push(
                Env::with_concurrency(
                    SimConfig {
                        job_duration: Duration::ZERO,
                        max_running: 10_000,
                        ..SimConfig::default()
                    },
                    pages,
                )
                .await,
            );
        }
        envs
    });
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&(0u64..=650, 1usize..=8), |(count, pages)| {
            let env = &envs[pages - 1];
            let (rows, expected) = runtime.block_on(async {
                let body = GoogleSerpBody::new()
                    .keywords(["coffee", "tea"])
                    .limit(count.max(1));
                let job = env.client.submit(&body).await.unwrap();
                let rows: Vec<_> = env
                    .client
                    .rows::<serde_json::Value>(job.id())
                    .pages()
                    .try_collect()
                    .await
                    .unwrap();
                (
                    rows,
                    env.sim.expected_rows(job.id().as_u64().unwrap()).unwrap(),
                )
            });
            prop_assert_eq!(rows.len(), expected.len());
            prop_assert!(
                rows == expected,
                "rows differ for {} rows at concurrency {}",
                count,
                pages
            );
            Ok(())
        })
        .unwrap();
}

/// Decodes a raw row as scraper `S`'s typed row.
struct DecodesAsModelRow(serde_json::Value);

impl hasdata_model::ScraperVisitor for DecodesAsModelRow {
    type Output = Result<(), String>;
    fn visit<S: hasdata_model::Scraper>(self) -> Self::Output {
        hasdata_model::decode::from_value::<S::Row>(&self.0)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// The simulator writes its rows without the model (it is the client's opponent); this checks
/// from the client's side that every slug's rows decode as the model's typed rows.
#[tokio::test]
async fn every_slug_gives_rows_the_typed_model_decodes() {
    let env = Env::start(SimConfig {
        job_duration: Duration::ZERO,
        max_running: 100,
        ..SimConfig::default()
    })
    .await;
    for kind in hasdata_model::ScraperKind::ALL {
        let body = match kind.as_str() {
            "contacts" | "crawler" => serde_json::json!({
                "urls": ["https://example.com/about", "https://example.com/team"],
                "outputFormat": ["markdown", "html"], "limit": 3}),
            "google-serp" => serde_json::json!({"keywords": ["coffee"], "limit": 3}),
            "google-maps" => {
                serde_json::json!({"keywords": ["pizza"], "extractEmails": true, "limit": 3})
            }
            "zillow" | "redfin" => {
                serde_json::json!({"keyword": "Austin, TX", "type": "forSale", "limit": 3})
            }
            _ => serde_json::json!({"limit": 3}),
        };
        let job = env
            .client
            .submit_raw(kind.as_str(), &body)
            .await
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        let rows = env.sim.expected_rows(job.id.as_u64().unwrap()).unwrap();
        assert!(!rows.is_empty(), "{kind}");
        for (index, row) in rows.into_iter().enumerate() {
            kind.visit(DecodesAsModelRow(row.clone()))
                .unwrap_or_else(|e| panic!("{kind} row {index}: {e}: {row}"));
        }
    }
}

#[tokio::test]
async fn a_status_read_notes_the_jobs_progress_in_the_clients_ledger() {
    use hasdata_jobs::JobLedger;
    // On the in-memory ledger every client has, so it is checked without the `sqlite` feature
    // (the cargo-mutants run builds without it, and there a no-op `note_progress` survived).
    let env = Env::start(SimConfig {
        job_duration: Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    let job = env
        .client
        .submit(&GoogleSerpBody::new().keywords(["coffee"]).limit(30))
        .await
        .unwrap();
    let record = env.client.status(job.id()).await.unwrap();
    assert_eq!(record.status.as_str(), "finished");
    let entry = env.ledger.job(job.id()).await.unwrap().unwrap();
    assert_eq!(
        (entry.status.as_deref(), entry.rows, entry.credits),
        (
            Some("finished"),
            Some(record.data_rows_count.get()),
            Some(record.credits_spent.get())
        )
    );
    assert_eq!(entry.rows, Some(30));
}

#[tokio::test]
async fn only_a_read_to_the_end_marks_the_job_collected_in_the_clients_ledger() {
    use hasdata_jobs::JobLedger;
    // The same rule as for the SQLite ledger (ledger_file.rs), on the in-memory one every
    // client has by default, so it is checked without the `sqlite` feature.
    let env = Env::start(SimConfig {
        job_duration: Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    let job = env
        .client
        .submit(&GoogleSerpBody::new().keywords(["coffee"]).limit(30))
        .await
        .unwrap();
    let output = async || env.ledger.job(job.id()).await.unwrap().unwrap().output;
    // Stopped after one row: not collected.
    let mut rows = job.rows().pages();
    let first = rows.try_next().await.unwrap();
    assert!(first.is_some());
    drop(rows);
    assert_eq!(output().await, None);
    // Every row, kept uncollected: still not.
    let all: Vec<RowJson> = env
        .client
        .rows(job.id())
        .keep_uncollected()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 30);
    assert_eq!(output().await, None);
    // Every row, to where the caller says: collected, with that output.
    let all: Vec<RowJson> = env
        .client
        .rows(job.id())
        .collected_to("s3://bucket/coffee.jsonl")
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 30);
    let entry = env.ledger.job(job.id()).await.unwrap().unwrap();
    assert!(entry.collected_at.is_some(), "{entry:?}");
    assert_eq!(entry.output.as_deref(), Some("s3://bucket/coffee.jsonl"));
}

#[tokio::test]
async fn a_finished_job_serving_more_rows_than_it_reports_ends_with_both_counts() {
    // `count-short=3`: the status says 3 rows fewer than the pages and data.json hold, on
    // every read, so the second look agrees with the first and the read fails, from either
    // source, rows one by one or in batches.
    let env = Env::start(SimConfig {
        job_duration: Duration::ZERO,
        faults: "count-short=3".parse().unwrap(),
        ..SimConfig::default()
    })
    .await;
    let job = env
        .client
        .submit(&GoogleSerpBody::new().keywords(["tea"]).limit(250))
        .await
        .unwrap();
    let done = job.wait(hasdata_jobs::PollPolicy::fast()).await.unwrap();
    assert_eq!(done.data_rows_count.get(), 247);
    let mismatch = |error: hasdata_jobs::Error| match error {
        hasdata_jobs::Error::RowCountMismatch {
            rows,
            expected,
            job_id,
        } => {
            assert_eq!((rows, expected, job_id), (250, 247, job.id()));
            let text = error_text(rows, expected, job_id);
            assert!(text.contains("250") && text.contains("247"), "{text}");
        }
        other => panic!("expected a count mismatch, got {other}"),
    };
    for source in [RowSource::Pages, RowSource::File] {
        let statuses = env.sim.requests().get("status").copied().unwrap_or(0);
        let read: Result<Vec<RowJson>, _> = env
            .client
            .rows::<RowJson>(job.id())
            .source(source)
            .known(done.clone())
            .try_collect()
            .await;
        mismatch(read.expect_err("more rows than reported is an error"));
        assert_eq!(
            env.sim.requests().get("status").copied().unwrap_or(0),
            statuses + 1,
            "{source:?}: the count is read once more, no more"
        );
        let batches: Result<Vec<hasdata_jobs::RowBatch>, _> = env
            .client
            .rows::<RowJson>(job.id())
            .source(source)
            .known(done.clone())
            .batches()
            .try_collect()
            .await;
        mismatch(batches.expect_err("in batches too"));
    }
    // Typed rows, the source picked from the record: the same.
    let typed: Result<Vec<_>, _> = job.rows().try_collect().await;
    mismatch(typed.expect_err("typed rows too"));
}

fn error_text(rows: u64, expected: u64, job_id: hasdata_model::JobId) -> String {
    hasdata_jobs::Error::RowCountMismatch {
        job_id,
        rows,
        expected,
    }
    .to_string()
}

#[tokio::test]
async fn a_count_that_settles_on_the_second_look_is_taken() {
    // The first record read said fewer rows than the job has (a count read before it
    // settled); the fresh status agrees with the rows served, so the read succeeds.
    let env = Env::instant().await;
    let job = env
        .client
        .submit(&GoogleSerpBody::new().keywords(["tea"]).limit(150))
        .await
        .unwrap();
    let mut done = job.wait(hasdata_jobs::PollPolicy::fast()).await.unwrap();
    done.data_rows_count = 120u64.into();
    for source in [RowSource::Pages, RowSource::File] {
        let rows: Vec<RowJson> = env
            .client
            .rows::<RowJson>(job.id())
            .source(source)
            .known(done.clone())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(rows.len(), 150, "{source:?}");
    }
}
