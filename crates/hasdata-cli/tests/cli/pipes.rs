//! A closed stdout (`| head -c1` after its byte) never makes `hasdata` panic: every command ends
//! quietly with exit 141 (or its own failure), and the webhook listener stops acknowledging.

use std::process::Stdio;
use std::time::Duration;

use crate::commands::first_line_matching;
use crate::{Shell, fast};

/// A pipe whose reader is already gone: any write to it fails with EPIPE at once, the state
/// `head -c1` leaves behind, without a race on when it closes.
fn closed_pipe() -> std::io::PipeWriter {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    writer
}

async fn run_into_closed_pipe(shell: &Shell, args: &[&str]) -> (i32, String) {
    let mut command = shell.command(args);
    command.stdout(closed_pipe()).stderr(Stdio::piped());
    let ran = crate::ran(command).await;
    (ran.code, ran.stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_into_a_closed_pipe_ends_without_a_panic() {
    let shell = Shell::quick().await;
    let body = shell.file("b.json", r#"{"urls": ["https://a.example"]}"#);
    let bodies = shell.file(
        "b.jsonl",
        "{\"urls\": [\"https://a.example\"]}\n{\"urls\": [\"https://b.example\"]}\n",
    );
    let id = shell.submitted("contacts", &body).await;
    let waited = shell.run(&fast(&["wait", &id])).await;
    assert_eq!(waited.code, 0, "{}", waited.stderr);
    let dir = shell.path("out").display().to_string();
    let commands: Vec<Vec<&str>> = vec![
        vec!["scrapers"],
        vec!["schema", "crawler"],
        vec!["schema", "crawler", "--row"],
        vec!["--json", "scrapers"],
        vec!["--help"],
        vec!["jobs", "list"],
        vec!["jobs", "show", &id],
        vec!["status", &id],
        fast(&["wait", &id]),
        vec!["results", &id],
        vec!["results", &id, "--format", "json"],
        vec!["results", &id, "--format", "csv"],
        vec!["results", &id, "--source", "pages"],
        fast(&["run", "contacts", "--body", &body]),
        vec!["submit", "contacts", "--body", &body],
        vec!["submit", "contacts", "--bodies", &bodies],
        vec!["stop", &id],
        fast(&["jobs", "resume", "--dir", &dir]),
        vec!["demo", "--dir", &dir, "--job-duration", "0.2"],
    ];
    for args in commands {
        let (code, stderr) = run_into_closed_pipe(&shell, &args).await;
        assert!(
            code != 101 && !stderr.contains("panicked"),
            "{args:?} panicked (exit {code}): {stderr}"
        );
        assert!(
            !stderr.contains("Broken pipe"),
            "{args:?} should end quietly: {stderr}"
        );
        assert!(
            [0, 4, 141].contains(&code),
            "{args:?} exited {code}: {stderr}"
        );
    }
    // Commands whose whole job is to print end with 141, as a tool killed by SIGPIPE.
    for args in [
        vec!["scrapers"],
        vec!["schema", "crawler"],
        vec!["jobs", "list"],
        vec!["results", &id],
        vec!["--help"],
        vec!["--version"],
    ] {
        assert_eq!(run_into_closed_pipe(&shell, &args).await.0, 141, "{args:?}");
    }
}

/// A CSV larger than the output buffer (1 MiB) into a closed pipe ends as JSON lines do: exit
/// 141, quietly. The CSV writer's errors were of kind `Other`, so `results --format csv | head`
/// printed "cannot write stdout: Broken pipe" and exited 1 once the CSV passed 1 MiB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_csv_into_a_closed_pipe_ends_quietly_as_json_lines_do() {
    let shell = Shell::quick().await;
    let body = shell.file(
        "b.json",
        r#"{"urls": ["https://a.example"], "limit": 20000}"#,
    );
    let id = shell.submitted("crawler", &body).await;
    let waited = shell.run(&fast(&["wait", &id])).await;
    assert_eq!(waited.code, 0, "{}", waited.stderr);
    for format in ["csv", "jsonl"] {
        let (code, stderr) =
            run_into_closed_pipe(&shell, &["results", &id, "--format", format]).await;
        assert_eq!(code, 141, "{format}: {stderr}");
        assert!(!stderr.contains("error"), "{format}: {stderr}");
    }
}

/// stdout on a full disk (`/dev/full`) is not a reader that went away: the output is lost, so
/// the command fails (exit 1) naming stdout, rather than exiting 141 as `| head` would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdout_on_a_full_disk_is_a_failure_not_a_closed_pipe() {
    let full = std::path::Path::new("/dev/full");
    if !full.exists() {
        eprintln!("no /dev/full on this system: nothing to test");
        return;
    }
    let shell = Shell::quick().await;
    let body = shell.file("b.json", r#"{"urls": ["https://a.example"]}"#);
    let id = shell.submitted("contacts", &body).await;
    let waited = shell.run(&fast(&["wait", &id])).await;
    assert_eq!(waited.code, 0, "{}", waited.stderr);
    for args in [
        vec!["scrapers"],
        vec!["jobs", "list"],
        vec!["--json", "jobs", "show", &id],
        vec!["results", &id],
        vec!["results", &id, "--format", "csv"],
        vec!["--help"],
        vec!["--version"],
        vec!["schema", "--help"],
    ] {
        let mut command = shell.command(&args);
        command
            .stdout(std::fs::OpenOptions::new().write(true).open(full).unwrap())
            .stderr(Stdio::piped());
        let output = tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("stdout"), "{args:?}: {stderr}");
    }
}

/// An export that cannot write its rows (a full disk, as the output file or as stdout) fails
/// naming its job in `--json`'s error line, as its other failures do, so a script that runs
/// many exports knows which one to write again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_write_of_an_export_names_its_job() {
    let full = std::path::Path::new("/dev/full");
    if !full.exists() {
        eprintln!("no /dev/full on this system: nothing to test");
        return;
    }
    let shell = Shell::quick().await;
    let body = shell.file("b.json", r#"{"urls": ["https://a.example"]}"#);
    let id = shell.submitted("contacts", &body).await;
    let waited = shell.run(&fast(&["wait", &id])).await;
    assert_eq!(waited.code, 0, "{}", waited.stderr);
    for (args, to_full) in [
        (vec!["--json", "results", &id, "--out", "/dev/full"], false),
        (vec!["--json", "results", &id], true),
        (vec!["--json", "results", &id, "--format", "csv"], true),
    ] {
        let mut command = shell.command(&args);
        command.stderr(Stdio::piped());
        if to_full {
            command.stdout(std::fs::OpenOptions::new().write(true).open(full).unwrap());
        } else {
            command.stdout(Stdio::null());
        }
        let output = tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        let error: serde_json::Value = serde_json::from_str(stderr.trim()).unwrap();
        let named = match &error["jobId"] {
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::String(s) => s.clone(),
            other => panic!("{args:?}: no job id ({other}): {stderr}"),
        };
        assert_eq!(named, id, "{args:?}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durations_out_of_range_are_usage_errors_not_panics() {
    let shell = Shell::quick().await;
    for args in [
        vec!["wait", "1", "--timeout", "1e308"],
        vec!["wait", "1", "--poll-cap", "1e308"],
        vec!["wait", "1", "--poll-initial", "-1"],
        vec!["wait", "1", "--poll-factor", "NaN"],
        vec!["run", "contacts", "--body", "x", "--timeout", "inf"],
        vec!["demo", "--job-duration", "1e308"],
        vec!["sim", "--job-duration", "1e308"],
    ] {
        let ran = shell.run(&args).await;
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stderr);
        assert!(!ran.stderr.contains("panicked"), "{}", ran.stderr);
    }
    assert_eq!(shell.sim.submits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_acknowledges_nothing_once_its_output_is_gone() {
    let shell = Shell::quick().await;
    let mut child = shell
        .command(&[
            "webhook",
            "listen",
            "--port",
            "0",
            "--secret-header",
            "x-hook-secret:s3cret",
        ])
        .stdout(closed_pipe())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, mut rest) = tokio::sync::mpsc::unbounded_channel();
    let url = first_line_matching(child.stderr.take().unwrap(), move |line| {
        let _ = lines.send(line.to_owned());
        line.split_whitespace()
            .find(|w| w.starts_with("http://"))
            .map(str::to_owned)
    })
    .await;
    let http = hasdata_transport::ReqwestTransport::new().unwrap();
    let request = http::Request::post(url.as_str())
        .header("content-type", "application/json")
        .header("x-hook-secret", "s3cret")
        .body(bytes::Bytes::from(
            r#"{"event": "scraper.job.finished", "jobId": 416349, "jobStatus": "finished"}"#,
        ))
        .unwrap();
    use hasdata_transport::Transport;
    // The event could not be written: not acknowledged (503, or no answer as it exits).
    if let Ok(response) = http.send(request).await {
        assert_eq!(response.status().as_u16(), 503);
    }
    let status = tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return Some(status);
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
    .await
    .unwrap()
    .expect("the listener exits once its output is gone");
    let code = status.code().unwrap_or(-1);
    assert!(code != 0 && code != 101, "exit {code}");
    let mut stderr = String::new();
    while let Ok(line) = rest.try_recv() {
        stderr.push_str(&line);
        stderr.push('\n');
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `shell`'s `hasdata ARGS` run by `sh` with stdout as `redirect` says (`>&-`, `>/dev/null`).
async fn run_redirected(shell: &Shell, args: &[&str], redirect: &str) -> (i32, String) {
    let inner = shell.command(args);
    let mut command = std::process::Command::new("sh");
    command
        .arg("-c")
        .arg(format!(r#"exec "$@" {redirect}"#))
        .arg("sh")
        .arg(inner.get_program())
        .args(inner.get_args())
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    for (name, value) in inner.get_envs() {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    if let Some(dir) = inner.get_current_dir() {
        command.current_dir(dir);
    }
    let ran = crate::ran(command).await;
    (ran.code, ran.stderr)
}

/// Rows to a closed stdout (`>&-`) are refused before anything is sent: Rust reopens a closed
/// stdout on /dev/null, so they went nowhere with exit 0, every row lost. `> /dev/null` and
/// `--out` are taken at their word.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_to_a_closed_stdout_are_refused_before_anything_is_sent() {
    let shell = Shell::quick().await;
    let body = shell.file("b.json", r#"{"urls": ["https://a.example"]}"#);
    let id = shell.submitted("contacts", &body).await;
    let waited = shell.run(&fast(&["wait", &id])).await;
    assert_eq!(waited.code, 0, "{}", waited.stderr);
    let submits = shell.sim.submits();
    for args in [
        vec!["results", &id],
        vec!["results", &id, "--out", "-"],
        fast(&["run", "contacts", "--body", &body]),
    ] {
        let (code, stderr) = run_redirected(&shell, &args, ">&-").await;
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains("stdout was closed") && stderr.contains("--out"),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(shell.sim.submits(), submits, "run sent nothing");
    for (args, redirect) in [
        (vec!["results", &id], ">/dev/null"),
        (vec!["results", &id, "--out", "/dev/null"], ">&-"),
    ] {
        let (code, stderr) = run_redirected(&shell, &args, redirect).await;
        assert_eq!(code, 0, "{args:?} {redirect}: {stderr}");
    }
}
