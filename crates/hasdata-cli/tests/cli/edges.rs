//! The CLI's less-travelled paths: exit code 6, a body on stdin, a bulk file refused whole,
//! and `--out` keeping the previous file when an export fails.

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use hasdata_sim::SimConfig;

use crate::{Ran, Shell, read};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_outlasting_the_retries_exit_6_with_the_id() {
    // Every status answer is a 429 with `Retry-After: 0`: the retries run out at once.
    let shell = Shell::start(SimConfig {
        job_duration: Duration::ZERO,
        faults: "status:429=1,retry-after=0".parse().unwrap(),
        ..SimConfig::default()
    })
    .await;
    let body = shell.file("b.json", r#"{"urls": ["https://a.example"]}"#);
    let id = shell.submitted("contacts", &body).await;
    let ran = shell.run(&["status", &id]).await;
    assert_eq!(ran.code, 6, "{}", ran.stderr);
    assert!(
        ran.stderr.contains(&id),
        "the id is printed: {}",
        ran.stderr
    );
    assert!(
        ran.stderr
            .lines()
            .last()
            .unwrap()
            .starts_with("hasdata: error: HTTP 429"),
        "one clear last line: {}",
        ran.stderr
    );
    assert!(
        shell.sim.requests().get("status").copied().unwrap_or(0) > 1,
        "it was retried first"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_can_come_from_stdin() {
    let shell = Shell::start(SimConfig {
        job_duration: Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    let mut child = shell
        .command(&["--json", "submit", "contacts", "--body", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"urls": ["https://stdin.example/about"]}"#)
        .unwrap();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let ran = Ran {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let id = ran.json_lines()[0]["id"].as_u64().unwrap();
    let rows = shell.sim.expected_rows(id).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0]["url"], "https://stdin.example/about",
        "the body read from stdin"
    );

    // An empty stdin is not JSON: a usage error naming the source.
    let ran = shell.run(&["submit", "contacts", "--body", "-"]).await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("body -"), "{}", ran.stderr);
    assert_eq!(shell.sim.submits(), 1);

    // Bytes that are not UTF-8 on stdin: the same usage error naming the source, not a bare
    // "stream did not contain valid UTF-8" with exit 1.
    let mut child = shell
        .command(&["submit", "contacts", "--body", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"urls\": [\"https://e.example/\xff\"]}")
        .unwrap();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("body -"), "{stderr}");
    assert_eq!(shell.sim.submits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_file_with_one_bad_line_submits_nothing() {
    let shell = Shell::quick().await;
    let bodies = shell.file(
        "bodies.jsonl",
        concat!(
            r#"{"urls": ["https://a.example"]}"#,
            "\n",
            r#"{"urls": ["https://b.example"]}"#,
            "\n",
            r#"{"urls": "not a list"}"#,
            "\n",
            "{broken\n",
            r#"{"urls": ["https://e.example"]}"#,
            "\n",
        ),
    );
    let ran = shell
        .run(&["submit", "contacts", "--bodies", &bodies])
        .await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("line 3") && ran.stderr.contains("line 4"),
        "every bad line is named: {}",
        ran.stderr
    );
    assert!(!ran.stderr.contains("line 1:"), "{}", ran.stderr);
    assert_eq!(shell.sim.submits(), 0, "all or nothing");
    assert!(
        shell
            .run(&["--json", "jobs", "list"])
            .await
            .json_lines()
            .is_empty(),
        "nothing on the ledger"
    );
}

/// `--out` under a path that is a file (`--out notes.txt/rows.jsonl`, `jobs resume --dir` a
/// file) names the file in the way; it said "File exists (os error 17)".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_output_under_a_file_names_the_file_in_the_way() {
    let shell = Shell::quick().await;
    let body = shell.file("b.json", r#"{"urls": ["https://a.example"]}"#);
    let id = shell.submitted("contacts", &body).await;
    let ran = shell.run(&crate::fast(&["wait", &id])).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    shell.file("notes.txt", "mine\n");
    for out in ["notes.txt/rows.jsonl", "notes.txt/deeper/rows.jsonl"] {
        let ran = shell.run(&["results", &id, "--out", out]).await;
        assert_eq!(ran.code, 1, "{}", ran.stderr);
        assert!(
            ran.stderr.contains("notes.txt is a file, not a directory"),
            "{}",
            ran.stderr
        );
    }
    assert_eq!(read(&shell.path("notes.txt")), "mine\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_export_keeps_the_previous_file() {
    // The job finishes, but every results page and file download is refused, past the
    // retries.
    let shell = Shell::start(SimConfig {
        job_duration: Duration::ZERO,
        faults: "results:429=1,files:429=1,retry-after=0".parse().unwrap(),
        ..SimConfig::default()
    })
    .await;
    let body = shell.file("b.json", r#"{"keywords": ["tea"], "limit": 250}"#);
    let id = shell.submitted("google-serp", &body).await;
    let previous = "the previous export\n";
    shell.file("rows.jsonl", previous);
    for source in ["pages", "file"] {
        let ran = shell
            .run(&["results", &id, "--source", source, "--out", "rows.jsonl"])
            .await;
        assert_ne!(ran.code, 0, "{source}: the export cannot succeed");
        assert!(ran.stderr.contains(&id), "{source}: {}", ran.stderr);
        assert_eq!(
            read(&shell.path("rows.jsonl")),
            previous,
            "{source}: the old file is untouched"
        );
    }
    let mut names: Vec<String> = std::fs::read_dir(shell.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.starts_with("ledger.sqlite"))
        .collect();
    names.retain(|name| name != "rows.jsonl.partial"); // what was read, under its own name
    names.sort();
    assert_eq!(
        names,
        ["b.json", "rows.jsonl"],
        "no temporary file left behind"
    );
    assert_eq!(
        names,
        ["b.json", "rows.jsonl"],
        "no temporary file left behind"
    );
}
