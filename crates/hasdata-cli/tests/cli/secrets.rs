//! Secrets off the command line: the API key from a file, the webhook secret from the
//! environment or a file. A flag's value shows in process listings; these do not.

use std::process::Stdio;

use crate::commands::first_line_matching;
use crate::{KEY, Ran, Shell};

const BODY: &str = r#"{"urls": ["https://a.example"]}"#;

/// Runs the binary with `env` changes applied over the shell's (HASDATA_API_KEY removed).
async fn run_without_key_env(shell: &Shell, args: &[&str], env: &[(&str, &str)]) -> Ran {
    let mut command = shell.command(args);
    command.env_remove("HASDATA_API_KEY");
    for (name, value) in env {
        command.env(name, value);
    }
    Ran::from(
        tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_key_comes_from_a_file_by_flag_or_environment() {
    let shell = Shell::quick().await;
    let body = shell.file("b.json", BODY);
    // A trailing newline (as `echo KEY > file` writes) is not part of the key.
    let key_file = shell.file("key", &format!("{KEY}\n"));

    let ran = run_without_key_env(
        &shell,
        &[
            "--api-key-file",
            &key_file,
            "submit",
            "contacts",
            "--body",
            &body,
        ],
        &[],
    )
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stdout.trim().parse::<u64>().is_ok(), "{}", ran.stdout);

    let ran = run_without_key_env(
        &shell,
        &["submit", "contacts", "--body", &body],
        &[("HASDATA_API_KEY_FILE", &key_file)],
    )
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);

    // The file wins over a wrong key in the environment.
    let ran = run_without_key_env(
        &shell,
        &[
            "--api-key-file",
            &key_file,
            "submit",
            "contacts",
            "--body",
            &body,
        ],
        &[("HASDATA_API_KEY", "wrong-key")],
    )
    .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_blank_key_file_is_a_usage_error_naming_the_flag() {
    let shell = Shell::quick().await;
    let body = shell.file("b.json", BODY);
    let missing = shell.path("no-such-key").display().to_string();
    let blank = shell.file("blank", "  \n");
    let two_lines = shell.file("two-lines", &format!("{KEY}\nsecond-line-of-it\n"));
    for (file, says) in [
        (missing.as_str(), "cannot read"),
        (blank.as_str(), "is empty"),
        (two_lines.as_str(), "on one line"),
    ] {
        let ran = run_without_key_env(
            &shell,
            &[
                "--api-key-file",
                file,
                "submit",
                "contacts",
                "--body",
                &body,
            ],
            &[],
        )
        .await;
        assert_eq!(ran.code, 2, "{}", ran.stderr);
        assert!(ran.stderr.contains("--api-key-file"), "{}", ran.stderr);
        assert!(ran.stderr.contains(says), "{}", ran.stderr);
        assert!(ran.stderr.contains(file), "{}", ran.stderr);
        assert!(!ran.stderr.contains("second-line"), "{}", ran.stderr);
    }
    assert_eq!(shell.sim.submits(), 0);
}

/// Starts the listener with `args` and `env`, then checks the secret `good` is accepted (200)
/// and a wrong one refused (401).
async fn listener_takes(shell: &Shell, args: &[&str], env: &[(&str, &str)], good: &str) {
    let mut all = vec!["webhook", "listen", "--port", "0"];
    all.extend(args);
    let mut command = shell.command(&all);
    command.env_remove("HASDATA_WEBHOOK_SECRET");
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let url = first_line_matching(child.stderr.take().unwrap(), |line| {
        line.split_whitespace()
            .find(|w| w.starts_with("http://"))
            .map(str::to_owned)
    })
    .await;
    let http = hasdata_transport::ReqwestTransport::new().unwrap();
    for (secret, expected) in [(good, 200), ("wrong", 401)] {
        let request = http::Request::post(url.as_str())
            .header("content-type", "application/json")
            .header("x-hook-secret", secret)
            .body(bytes::Bytes::from(
                r#"{"event": "scraper.job.finished", "jobId": 7, "jobStatus": "finished"}"#,
            ))
            .unwrap();
        use hasdata_transport::Transport;
        assert_eq!(
            http.send(request).await.unwrap().status().as_u16(),
            expected,
            "secret {secret:?} with {args:?}"
        );
    }
    child.kill().unwrap();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_secret_comes_from_the_environment_or_a_file() {
    let shell = Shell::quick().await;
    listener_takes(
        &shell,
        &["--secret-header-name", "x-hook-secret"],
        &[("HASDATA_WEBHOOK_SECRET", "env-s3cret")],
        "env-s3cret",
    )
    .await;
    let file = shell.file("hook-secret", "file-s3cret\n");
    listener_takes(
        &shell,
        &[
            "--secret-header-name",
            "x-hook-secret",
            "--secret-file",
            &file,
        ],
        &[("HASDATA_WEBHOOK_SECRET", "env-s3cret")],
        "file-s3cret",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_secret_must_be_given_somehow() {
    let shell = Shell::quick().await;
    for (args, says) in [
        (vec![], "--secret-header-name"),
        (
            vec!["--secret-header-name", "x-hook-secret"],
            "HASDATA_WEBHOOK_SECRET",
        ),
        (
            vec!["--secret-header", "x:1", "--secret-header-name", "x"],
            "cannot be used with",
        ),
    ] {
        let mut all = vec!["webhook", "listen", "--port", "0"];
        all.extend(&args);
        let mut command = shell.command(&all);
        command.env_remove("HASDATA_WEBHOOK_SECRET");
        let ran = Ran::from(
            tokio::task::spawn_blocking(move || command.output().unwrap())
                .await
                .unwrap(),
        );
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stderr);
        assert!(ran.stderr.contains(says), "{args:?}: {}", ran.stderr);
    }
}
