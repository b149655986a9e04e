//! One JSON object per thing: every command's `--json` output validates against the schema of
//! what it prints (`schemas/cli.*.schema.json`, from `hasdata_cli::output`), and a job has the
//! same keys whichever command printed it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use hasdata_sim::SimConfig;
use serde_json::Value;

use crate::{Ran, Shell, fast};

/// The published schemas, compiled, by name (`cli.job`, ...).
fn validators() -> BTreeMap<String, jsonschema::Validator> {
    hasdata_cli::output::schemas()
        .into_iter()
        .map(|named| {
            let validator = jsonschema::validator_for(&named.schema.to_value())
                .unwrap_or_else(|e| panic!("{} compiles: {e}", named.name));
            (named.name, validator)
        })
        .collect()
}

/// Keys a command adds to a job for its own context.
const CONTEXT: [&str; 3] = ["line", "skipped", "export"];

struct Checker {
    validators: BTreeMap<String, jsonschema::Validator>,
    /// The key set of the first job seen, which every other job must have.
    job_keys: Option<BTreeSet<String>>,
}

impl Checker {
    fn new() -> Checker {
        Checker {
            validators: validators(),
            job_keys: None,
        }
    }

    /// Checks `value` against `schema`; a job's keys (without context keys) against every
    /// other job's.
    fn check(&mut self, what: &str, schema: &str, value: &Value) {
        let validator = &self.validators[schema];
        let errors: Vec<String> = validator
            .iter_errors(value)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{what}: {value} is not a {schema}: {errors:?}"
        );
        if schema == "cli.job" {
            let keys: BTreeSet<String> = value
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| !CONTEXT.contains(&k.as_str()))
                .cloned()
                .collect();
            let first = self.job_keys.get_or_insert_with(|| keys.clone());
            assert_eq!(*first, keys, "{what}: a job with other keys: {value}");
        }
    }

    /// Checks every stdout line of `ran` against `schema` (`cli.job` lines may be followed by
    /// one `last` line), and that there is at least one.
    fn lines(&mut self, what: &str, ran: &Ran, schema: &str) -> Vec<Value> {
        assert_eq!(ran.code, 0, "{what}: {}", ran.stderr);
        let lines = ran.json_lines();
        assert!(!lines.is_empty(), "{what} printed nothing");
        for line in &lines {
            self.check(what, schema, line);
        }
        lines
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_commands_json_output_validates_against_its_schema() {
    let shell = Shell::quick().await;
    let mut checker = Checker::new();
    let body = shell.file("b.json", r#"{"urls": ["https://a.example"]}"#);

    let submitted = shell
        .run(&["--json", "submit", "contacts", "--body", &body])
        .await;
    let job = checker.lines("submit", &submitted, "cli.job").remove(0);
    assert_eq!(job["scraper"], "contacts");
    assert!(job["submittedAt"].is_string(), "ledger fields: {job}");
    let id = job["id"].as_u64().unwrap().to_string();

    let waited = shell.run(&fast(&["--json", "wait", &id])).await;
    let job = checker.lines("wait", &waited, "cli.job").remove(0);
    assert_eq!(job["status"], "finished");
    assert_eq!(
        job["scraper"], "contacts",
        "the ledger fills the slug: {job}"
    );
    checker.lines(
        "status",
        &shell.run(&["--json", "status", &id]).await,
        "cli.job",
    );
    checker.lines(
        "stop",
        &shell.run(&["--json", "stop", &id]).await,
        "cli.job",
    );

    let out = shell.path("rows.jsonl");
    let results = shell
        .run(&["--json", "results", &id, "--out", out.to_str().unwrap()])
        .await;
    let job = checker.lines("results", &results, "cli.job").remove(0);
    assert_eq!(job["export"]["rows"], 1, "{job}");
    assert_eq!(job["export"]["format"], "jsonl");
    assert!(job["collectedTo"].is_string(), "{job}");
    // Rows on stdout: the job goes to stderr, still one JSON object.
    let to_stdout = shell.run(&["--json", "results", &id]).await;
    assert_eq!(to_stdout.code, 0, "{}", to_stdout.stderr);
    let job: Value = serde_json::from_str(to_stdout.stderr.trim()).unwrap();
    checker.check("results to stdout", "cli.job", &job);
    assert_eq!(job["export"]["output"], "stdout");

    let run = shell
        .run(&fast(&[
            "--json", "run", "contacts", "--body", &body, "--out", "run.csv", "--format", "csv",
        ]))
        .await;
    let lines = checker.lines("run", &run, "cli.job");
    assert_eq!(lines.len(), 2, "submitted, then done: {lines:?}");
    assert_eq!(lines[0]["id"], lines[1]["id"]);
    assert_eq!(lines[1]["export"]["format"], "csv");

    let bodies = shell.file(
        "bodies.jsonl",
        "{\"urls\": [\"https://b.example\"]}\n{\"urls\": [\"https://c.example\"]}\n",
    );
    let bulk = shell
        .run(&["--json", "submit", "contacts", "--bodies", &bodies])
        .await;
    assert_eq!(bulk.code, 0, "{}", bulk.stderr);
    let mut lines = bulk.json_lines();
    let summary = lines.pop().unwrap();
    checker.check("bulk summary", "cli.bulk-summary", &summary);
    assert_eq!(summary["summary"]["submitted"], 2);
    for line in &lines {
        checker.check("bulk submit", "cli.job", line);
        assert!(line["line"].is_u64(), "{line}");
    }
    let again = shell
        .run(&["--json", "submit", "contacts", "--bodies", &bodies])
        .await;
    let mut lines = again.json_lines();
    checker.check(
        "bulk rerun summary",
        "cli.bulk-summary",
        &lines.pop().unwrap(),
    );
    for line in &lines {
        checker.check("bulk rerun", "cli.job", line);
        assert_eq!(line["skipped"], "submitted", "{line}");
    }

    checker.lines(
        "jobs list",
        &shell.run(&["--json", "jobs", "list"]).await,
        "cli.job",
    );
    checker.lines(
        "jobs list --refresh",
        &shell.run(&["--json", "jobs", "list", "--refresh"]).await,
        "cli.job",
    );
    checker.lines(
        "jobs show",
        &shell.run(&["--json", "jobs", "show", &id]).await,
        "cli.job",
    );
    let resumed = shell
        .run(&fast(&["--json", "jobs", "resume", "--dir", "collected"]))
        .await;
    for job in checker.lines("jobs resume", &resumed, "cli.job") {
        assert!(job["export"]["rows"].is_u64(), "{job}");
    }
    checker.lines(
        "jobs forget",
        &shell.run(&["--json", "jobs", "forget", &id]).await,
        "cli.job",
    );
    checker.lines(
        "scrapers",
        &shell.run(&["--json", "scrapers"]).await,
        "cli.scraper",
    );

    // Failures: one JSON object on stderr, usage errors from the parser included.
    for (args, code) in [
        (vec!["--json", "status", "999999"], 1),
        (vec!["--json", "jobs", "forget", &id], 1),
        (vec!["--json", "status"], 2),
        (vec!["--json", "bogus"], 2),
        (vec!["wait", "--json", "1", "--poll-factor", "99"], 2),
    ] {
        let ran = shell.run(&args).await;
        assert_eq!(ran.code, code, "{args:?}: {}", ran.stderr);
        assert_eq!(ran.stdout, "", "{args:?}");
        let lines: Vec<&str> = ran.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: one line: {}", ran.stderr);
        let error: Value = serde_json::from_str(lines[0]).unwrap();
        checker.check(&format!("{args:?}"), "cli.error", &error);
        assert_eq!(error["code"], code);
    }
    let missing = shell.run(&["--json", "status"]).await;
    assert!(missing.stderr.contains("<ID>"), "{}", missing.stderr);

    // The queue's database (where PostgreSQL is installed): `webhook events`, listing and
    // pruning. (The queue's own commands are checked by the fleet test.)
    if let Some(pg) = hasdata_testpg::TestPg::shared().await {
        let url = pg.fresh_database().await;
        hasdata_fleet::Queue::connect(&url, 1).await.unwrap();
        let (db, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        db.batch_execute(
            "INSERT INTO fleet_webhook_events
                 (delivery, job_id, event, job_status, terminal, row_count, receiver, body,
                  unrecognised, received_at)
             VALUES ('d1', '7', 'scraper.job.finished', 'finished', true, 0, 'hook-a',
                     convert_to('{\"jobId\":7}', 'UTF8'), false, now() - interval '2 days'),
                    ('d2', NULL, '', NULL, false, 0, 'hook-a', convert_to('[]', 'UTF8'),
                     true, now())",
        )
        .await
        .unwrap();
        let events = checker.lines(
            "webhook events",
            &shell
                .run(&["--ledger", &url, "--json", "webhook", "events", "--body"])
                .await,
            "cli.webhook-event",
        );
        assert_eq!(events.len(), 2);
        let pruned = checker.lines(
            "webhook events --prune-older-than",
            &shell
                .run(&[
                    "--ledger",
                    &url,
                    "--json",
                    "webhook",
                    "events",
                    "--prune-older-than",
                    "1d",
                ])
                .await,
            "cli.webhook-prune",
        );
        assert_eq!(pruned[0]["pruned"], 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uncertain_line_and_a_failed_line_have_their_shapes() {
    // Every submit answer is lost: each line's intent is uncertain, then skipped on a rerun.
    let shell = Shell::start(SimConfig {
        job_duration: Duration::from_millis(300),
        faults: "submit:lose-response=1".parse().unwrap(),
        ..SimConfig::default()
    })
    .await;
    let mut checker = Checker::new();
    let bodies = shell.file("bodies.jsonl", "{\"urls\": [\"https://b.example\"]}\n");
    let ran = shell
        .run(&["--json", "submit", "contacts", "--bodies", &bodies])
        .await;
    assert_ne!(ran.code, 0, "{}", ran.stderr);
    let mut lines = ran.json_lines();
    checker.check("summary", "cli.bulk-summary", &lines.pop().unwrap());
    checker.check("uncertain line", "cli.error", &lines[0]);
    assert!(lines[0]["key"].is_string(), "{}", lines[0]);
    assert_eq!(lines[0]["line"], 1);

    let rerun = shell
        .run(&["--json", "submit", "contacts", "--bodies", &bodies])
        .await;
    let mut lines = rerun.json_lines();
    checker.check("summary", "cli.bulk-summary", &lines.pop().unwrap());
    checker.check("skipped uncertain line", "cli.intent", &lines[0]);
    assert_eq!(lines[0]["skipped"], "uncertain");

    let listed = shell.run(&["--json", "jobs", "list"]).await;
    for line in listed.json_lines() {
        checker.check("jobs list", "cli.intent", &line);
    }
    let key = lines[0]["key"].as_str().unwrap();
    let shown = shell.run(&["--json", "jobs", "show", key]).await;
    checker.lines("jobs show KEY", &shown, "cli.intent");
}
