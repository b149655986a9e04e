//! Failure paths: each exits with its documented code and one clear line.

use std::time::Duration;

use hasdata_sim::SimConfig;

use crate::{KEY, Shell, fast};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_key_is_a_usage_error() {
    let shell = Shell::quick().await;
    let body = shell.file("b.json", r#"{"urls": ["https://a.example"]}"#);
    let mut command = shell.command(&["submit", "contacts", "--body", &body]);
    command.env_remove("HASDATA_API_KEY");
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("HASDATA_API_KEY"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one clear line: {stderr}");
    assert_eq!(shell.sim.submits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_exits_3() {
    let shell = Shell::quick().await;
    let mut command = shell.command(&["status", "1"]);
    command.env("HASDATA_API_KEY", "wrong-key");
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(3));
    assert!(!String::from_utf8_lossy(&output.stderr).contains(KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_body_names_the_field_and_sends_nothing() {
    let shell = Shell::quick().await;
    let body = shell.file(
        "bad.json",
        r#"{"urls": ["ftp://a.example"], "includePaths": "("}"#,
    );
    let ran = shell.run(&["submit", "crawler", "--body", &body]).await;
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains("urls[0]") && ran.stderr.contains("includePaths"),
        "{}",
        ran.stderr
    );
    let json = shell
        .run(&["--json", "submit", "crawler", "--body", &body])
        .await;
    let error: serde_json::Value = serde_json::from_str(json.stderr.trim()).unwrap();
    assert_eq!(error["code"], 2);
    assert_eq!(shell.sim.submits(), 0);

    let not_json = shell.file("broken.json", "{urls");
    let ran = shell
        .run(&["submit", "contacts", "--body", &not_json])
        .await;
    assert_eq!(ran.code, 2);
    assert!(ran.stderr.contains("not JSON"), "{}", ran.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_slug_lists_the_valid_ones() {
    let shell = Shell::quick().await;
    let body = shell.file("b.json", "{}");
    let ran = shell
        .run(&["submit", "google-serps", "--body", &body])
        .await;
    assert_eq!(ran.code, 2);
    assert!(
        ran.stderr.contains("google-serp, google-maps") && ran.stderr.contains("glassdoor"),
        "{}",
        ran.stderr
    );
    assert_eq!(shell.run(&["schema", "nope"]).await.code, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_job_is_a_clear_error() {
    let shell = Shell::quick().await;
    let ran = shell.run(&["status", "999"]).await;
    assert_eq!(ran.code, 1);
    assert!(
        ran.stderr.contains("404") && ran.stderr.contains("999"),
        "{}",
        ran.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passed_deadline_exits_5_with_the_id() {
    let shell = Shell::start(SimConfig {
        job_duration: Duration::from_secs(600),
        ..SimConfig::default()
    })
    .await;
    let body = shell.file("b.json", r#"{"urls": ["https://a.example"]}"#);
    let id = shell.submitted("contacts", &body).await;
    let ran = shell.run(&fast(&["wait", &id, "--timeout", "0.5"])).await;
    assert_eq!(ran.code, 5, "{}", ran.stderr);
    assert!(
        ran.stderr.contains(&id),
        "the id is printed: {}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains(&format!(" wait {id}")),
        "{}",
        ran.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fast_polling_is_refused_against_hasdata() {
    let shell = Shell::quick().await;
    let mut command = shell.command(&fast(&["wait", "1"]));
    command.env("HASDATA_BASE_URL", "https://api.hasdata.com");
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("10 s"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_errors_name_the_flags_not_sdk_fields() {
    let shell = Shell::quick().await;
    // Checked before any request: api.hasdata.com is never contacted.
    let mut command = shell.command(&["wait", "1", "--poll-initial", "1"]);
    command.env("HASDATA_BASE_URL", "https://api.hasdata.com");
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--allow-fast-polling"), "{stderr}");
    assert!(stderr.contains("--poll-initial 1s"), "{stderr}");
    assert!(!stderr.contains("allow_fast_polling"), "{stderr}");

    let ran = shell
        .run(&["wait", "1", "--poll-initial", "5", "--poll-cap", "1"])
        .await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("--poll-cap 1s is shorter than --poll-initial 5s"),
        "{}",
        ran.stderr
    );
}
