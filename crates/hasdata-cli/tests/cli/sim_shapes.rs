//! The lifecycle commands against each of the simulator's shape profiles (`seed`, `docs`,
//! `edge`): submit, wait, status, results and run work unchanged whatever form the API's
//! answers take (wrappers without ids, millisecond timestamps, null or number counts,
//! `exporting_data` before `finished`, a 429 on the first submit, no `data.json` link).

use std::time::Duration;

use hasdata_sim::{Shape, SimConfig};
use serde_json::Value;

use crate::{Shell, count, fast, read};

const CONTACTS: &str =
    r#"{"urls": ["https://a.example/about", "https://b.example/team", "https://c.example"]}"#;

async fn lifecycle(name: &str, shape: Shape) {
    let shell = Shell::start(
        SimConfig {
            job_duration: Duration::from_millis(300),
            max_running: 50,
            // A 429 on the first submit asks for no wait, so the test stays fast.
            faults: "retry-after=0".parse().unwrap(),
            ..SimConfig::default()
        }
        .with_shape(shape),
    )
    .await;
    let body = shell.file("contacts.json", CONTACTS);
    let submitted = shell.run(&["submit", "contacts", "--body", &body]).await;
    assert_eq!(submitted.code, 0, "{name}: {}", submitted.stderr);
    let id = submitted.stdout.trim().to_owned();
    assert_eq!(shell.sim.submits(), 1, "{name}: one job");

    let waited = shell.run(&fast(&["wait", &id])).await;
    assert_eq!(waited.code, 0, "{name}: {}", waited.stderr);
    assert!(
        waited.stdout.contains("finished · 3 rows · 15 credits"),
        "{name}: {}",
        waited.stdout
    );
    let status = shell.run(&["--json", "status", &id]).await.json_lines();
    assert_eq!(status[0]["status"], "finished", "{name}");
    assert_eq!(count(&status[0]["dataRowsCount"]), 3, "{name}");

    let expected = shell.sim.expected_rows(id.parse().unwrap()).unwrap();
    let sources: &[&str] = if shape.no_json_link {
        &["pages", "auto"]
    } else {
        &["pages", "file", "auto"]
    };
    for source in sources {
        let ran = shell.run(&["results", &id, "--source", source]).await;
        assert_eq!(ran.code, 0, "{name} {source}: {}", ran.stderr);
        assert_eq!(ran.json_lines(), expected, "{name} {source}");
    }

    let crawl = shell.file(
        "crawl.json",
        r#"{"urls": ["https://docs.example.com"], "limit": 120, "outputFormat": ["markdown"]}"#,
    );
    let out = shell.path("rows.jsonl");
    let ran = shell
        .run(&fast(&[
            "--json",
            "run",
            "crawler",
            "--body",
            &crawl,
            "--out",
            out.to_str().unwrap(),
        ]))
        .await;
    assert_eq!(ran.code, 0, "{name} run: {}", ran.stderr);
    let lines = ran.json_lines();
    let run_id = lines[0]["id"].as_u64().unwrap();
    let rows: Vec<Value> = read(&out)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(
        rows,
        shell.sim.expected_rows(run_id).unwrap(),
        "{name}: run wrote exactly the job's rows"
    );
    assert_eq!(shell.sim.api_keys_seen_by_storage(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lifecycle_in_the_seed_shape() {
    lifecycle("seed", Shape::seed()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lifecycle_in_the_docs_shape() {
    lifecycle("docs", Shape::docs()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lifecycle_in_the_edge_shape() {
    lifecycle("edge", Shape::edge()).await;
}

#[test]
fn every_profile_is_covered() {
    let names: Vec<&str> = Shape::profiles().iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names,
        ["seed", "docs", "edge"],
        "add a test for a new profile"
    );
}
