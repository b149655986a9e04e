//! `--ledger postgres://...` and `HASDATA_LEDGER`: the same commands on a PostgreSQL ledger (a
//! throwaway cluster from hasdata-testpg), and the URL's password never shown.

use hasdata_ledger::{JobLedger, PostgresLedger};
use hasdata_testpg::TestPg;

use crate::Shell;

const PASSWORD: &str = "pw-never-shown-71c";

/// A fresh database's URL with a password in it (the test cluster trusts loopback and ignores
/// it; it only has to stay out of every output).
async fn database() -> Option<String> {
    let url = TestPg::shared().await?.fresh_database().await;
    Some(url.replacen("postgres@", &format!("postgres:{PASSWORD}@"), 1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submits_reruns_and_listings_go_to_a_postgres_ledger() {
    let Some(url) = database().await else { return };
    let shell = Shell::quick().await;
    let bodies = shell.file(
        "bodies.jsonl",
        "{\"urls\": [\"https://a.example\"]}\n{\"urls\": [\"https://b.example\"]}\n",
    );
    let first = shell
        .run(&[
            "--ledger", &url, "--json", "submit", "contacts", "--bodies", &bodies,
        ])
        .await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(shell.sim.submits(), 2);

    // HASDATA_LEDGER works the same; a rerun finds both lines in PostgreSQL and sends nothing.
    let mut rerun = shell.command(&["--json", "submit", "contacts", "--bodies", &bodies]);
    rerun.env("HASDATA_LEDGER", &url);
    let output = tokio::task::spawn_blocking(move || rerun.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        stdout.matches("\"skipped\":\"submitted\"").count(),
        2,
        "{stdout}"
    );
    assert_eq!(shell.sim.submits(), 2, "nothing sent twice");

    let list = shell
        .run(&["--ledger", &url, "--json", "jobs", "list"])
        .await;
    assert_eq!(list.code, 0, "{}", list.stderr);
    let listed = list.json_lines();
    assert_eq!(listed.len(), 2, "{}", list.stdout);
    assert!(listed.iter().all(|job| job["scraper"] == "contacts"));

    // The jobs are in the database, not in a SQLite file.
    assert!(!shell.path("ledger.sqlite").exists());
    let ledger = PostgresLedger::connect(&url, shell.sim.base_url())
        .await
        .unwrap();
    assert_eq!(ledger.jobs().await.unwrap().len(), 2);

    let id = listed[0]["id"].as_u64().unwrap().to_string();
    let forget = shell.run(&["--ledger", &url, "jobs", "forget", &id]).await;
    assert_eq!(forget.code, 0, "{}", forget.stderr);
    assert_eq!(ledger.jobs().await.unwrap().len(), 1);

    for ran in [&first, &list, &forget] {
        assert!(!ran.stdout.contains(PASSWORD) && !ran.stderr.contains(PASSWORD));
    }
}

#[tokio::test]
async fn an_unreachable_postgres_ledger_fails_without_showing_its_password() {
    let shell = Shell::quick().await;
    let body = shell.file("body.json", "{\"urls\": [\"https://a.example\"]}");
    let url = format!("postgres://app:{PASSWORD}@127.0.0.1:1/hasdata?connect_timeout=5");
    let ran = shell
        .run(&["--ledger", &url, "submit", "contacts", "--body", &body])
        .await;
    assert_ne!(ran.code, 0);
    assert!(
        !ran.stdout.contains(PASSWORD) && !ran.stderr.contains(PASSWORD),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("app:***@127.0.0.1:1"), "{}", ran.stderr);
    assert_eq!(shell.sim.submits(), 0, "nothing sent without a ledger");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_stores_every_row_once_in_a_postgres_table() {
    let Some(url) = database().await else { return };
    let shell = Shell::quick().await;
    let bodies = shell.file(
        "bodies.jsonl",
        "{\"urls\": [\"https://a.example\"]}\n{\"urls\": [\"https://b.example\", \"https://c.example\"]}\n{\"urls\": [\"https://d.example\"]}\n",
    );
    let added = shell
        .run(&[
            "--ledger", &url, "queue", "add", "contacts", "--bodies", &bodies,
        ])
        .await;
    assert_eq!(added.code, 0, "{}", added.stderr);
    let mut args = vec![
        "--ledger",
        &url,
        "worker",
        "--sink",
        "postgres",
        "--sink-table",
        "warehouse_rows",
        "--exit-when-idle",
        "--idle-poll",
        "0.1",
    ];
    args.extend(Shell::FAST);
    let worked = shell.run(&args).await;
    assert_eq!(worked.code, 0, "{}", worked.stderr);
    assert!(!worked.stderr.contains(PASSWORD) && !worked.stdout.contains(PASSWORD));

    let (db, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let per_job: Vec<(String, i64, i64, i64)> = db
        .query(
            "SELECT job_id, count(*), count(DISTINCT row_index), max(row_index)
               FROM warehouse_rows GROUP BY job_id ORDER BY job_id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    assert_eq!(per_job.len(), 3, "one set of rows per job: {per_job:?}");

    // Each job's rows are exactly what the simulator reports it produced, indexed 0..n.
    let client = hasdata_jobs::Client::builder()
        .api_key(crate::KEY)
        .base_url(shell.sim.base_url())
        .build()
        .unwrap();
    for (job_id, count, distinct, max_index) in &per_job {
        let job = client
            .status(hasdata_model::JobId::from(job_id.parse::<u64>().unwrap()))
            .await
            .unwrap();
        let expected = job.data_rows_count.get() as i64;
        assert_eq!(
            (*count, *distinct, *max_index),
            (expected, expected, expected - 1),
            "job {job_id}"
        );
    }
}

/// A database that is not there: the ledger's and the queue's errors say what the server said
/// (not only the driver's "db error"), and never the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_database_is_named_by_the_server_s_words_without_the_password() {
    let Some(url) = database().await else { return };
    let (server, _) = url.rsplit_once('/').unwrap();
    let missing = format!("{server}/no_such_db_5e1");
    let shell = Shell::quick().await;
    for args in [["jobs", "list"], ["queue", "status"]] {
        let ran = shell.run(&["--ledger", &missing, args[0], args[1]]).await;
        assert_eq!(ran.code, 1, "{args:?}: {}", ran.stderr);
        assert!(
            ran.stderr.contains("\"no_such_db_5e1\" does not exist"),
            "{args:?}: {}",
            ran.stderr
        );
        assert!(
            !ran.stderr.contains(PASSWORD) && !ran.stdout.contains(PASSWORD),
            "{}",
            ran.stderr
        );
    }
}

/// A malformed `--ledger` URL is bad usage wherever it is given: exit 2, the same message
/// naming the flag (password hidden), for the ledger's commands and the queue's alike.
#[tokio::test]
async fn a_malformed_ledger_url_is_the_same_usage_error_for_every_command() {
    let shell = Shell::quick().await;
    let url = format!("postgres://app:{PASSWORD}@127.0.0.1:notaport/hasdata");
    let mut messages = Vec::new();
    for args in [
        &["jobs", "list"][..],
        &["queue", "status"],
        &["queue", "list"],
        &["worker", "--out-dir", "out", "--exit-when-idle"],
    ] {
        let ran = shell
            .run(&[&["--ledger", url.as_str()][..], args].concat())
            .await;
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stderr);
        assert!(!ran.stderr.contains(PASSWORD), "{}", ran.stderr);
        assert!(
            ran.stderr
                .contains("--ledger (or HASDATA_LEDGER) postgres://app:***@127.0.0.1:notaport/hasdata: not a PostgreSQL connection URL"),
            "{args:?}: {}",
            ran.stderr
        );
        messages.push(ran.stderr);
    }
    assert!(messages.windows(2).all(|w| w[0] == w[1]), "{messages:#?}");
    assert_eq!(shell.sim.submits(), 0);
}

/// Several `hasdata jobs retry KEY --yes` of one uncertain intent at once, on a PostgreSQL
/// ledger (no lock file covers machines sharing a database): exactly one POST reaches the
/// simulator. Each retry claims the intent in the database before sending; the others are
/// told a resend is under way (or the intent already created its job) and send nothing. The
/// simulator answers submits slowly so that every retry starts while the first is sending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_retries_of_one_intent_send_it_once() {
    use hasdata_ledger::Intent;
    use std::process::Stdio;

    let Some(url) = database().await else { return };
    let shell = Shell::start(hasdata_sim::SimConfig {
        faults: "submit:latency=1500ms".parse().unwrap(),
        ..hasdata_sim::SimConfig::default()
    })
    .await;
    let ledger = PostgresLedger::connect(&url, shell.sim.base_url())
        .await
        .unwrap();
    let key = "0d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6";
    let body = r#"{"urls":["https://a.example"]}"#;
    let body_file = shell.file("retry.json", body);
    ledger
        .record_intent(&Intent::new(key, "contacts", body.as_bytes(), None))
        .await
        .unwrap();
    ledger.record_uncertain(key, "reset").await.unwrap();
    const RETRIES: usize = 5;
    let children: Vec<std::process::Child> = (0..RETRIES)
        .map(|_| {
            shell
                .command(&[
                    "--ledger", &url, "jobs", "retry", key, "--yes", "--body", &body_file,
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|child| child.wait_with_output().unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let succeeded = outputs.iter().filter(|o| o.status.success()).count();
    let said: Vec<String> = outputs
        .iter()
        .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
        .collect();
    assert_eq!(
        shell.sim.submits(),
        1,
        "one POST for one confirmed retry: {said:?}"
    );
    assert_eq!(succeeded, 1, "{said:?}");
    for (output, stderr) in outputs.iter().zip(&said) {
        if !output.status.success() {
            assert!(
                stderr.contains("nothing was sent") || stderr.contains("nothing to retry"),
                "{stderr}"
            );
        }
    }
    let entry = ledger.intent(key).await.unwrap().unwrap();
    assert_eq!(entry.state, hasdata_ledger::IntentState::Submitted);
    assert_eq!(entry.attempts, 2);
}
