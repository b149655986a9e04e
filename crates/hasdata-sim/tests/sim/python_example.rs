//! The API page's own Python example runs against the simulator unchanged (but for its base
//! URL and poll interval). Needs python3 with `requests`: without it the test says so and
//! passes on a developer's machine, but fails under CI (`CI=true`), which installs it.

use std::process::Command;
use std::time::Duration;

use hasdata_sim::SimConfig;
use serde_json::Value;

use crate::Api;

fn python_with_requests() -> bool {
    Command::new("python3")
        .args(["-c", "import requests"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether this runs under CI, where a missing dependency is a failure, not a skip.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_pages_python_example_runs_unchanged() {
    if !python_with_requests() {
        let message = "python3 with requests is not installed (pip install requests)";
        assert!(!in_ci(), "{message}: CI must run this test, not skip it");
        eprintln!("skipped: {message}");
        return;
    }
    let api = Api::start(SimConfig {
        job_duration: Duration::from_millis(500),
        ..SimConfig::default()
    })
    .await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sim/seed_example.py");
    let mut command = Command::new("python3");
    command
        .arg(script)
        .env("HASDATA_API_KEY", api.sim.api_key())
        .env("BASE", api.sim.base_url())
        .env("POLL", "0.1");
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["status"], "finished");
    let id = printed["id"].as_u64().unwrap();
    assert_eq!(
        printed["rows"].as_array().cloned(),
        api.sim.expected_rows(id)
    );
}
