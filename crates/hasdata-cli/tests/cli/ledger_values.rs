//! `--ledger` / `HASDATA_LEDGER` values that name no ledger: bad usage (exit 2) naming the flag
//! and what is expected, before any request is sent, whichever command reads it; never a file
//! made under the URL's name, never a silently empty ledger.

use crate::Shell;

/// Every command that reads the ledger, each with `--ledger value`: exit 2, one line
/// naming the flag, no request sent to the API, nothing made in the working directory.
async fn refused_everywhere(shell: &Shell, value: &str, says: &str) {
    let body = shell.file("crawl.json", r#"{"urls": ["https://example.com"]}"#);
    let bodies = shell.file("bodies.jsonl", "{\"urls\": [\"https://example.com\"]}\n");
    let before = shell.sim.requests().values().sum::<u64>();
    let made_before = std::fs::read_dir(shell.dir.path()).unwrap().count();
    for args in [
        &["submit", "crawler", "--body", &body][..],
        &["submit", "crawler", "--bodies", &bodies],
        &["run", "crawler", "--body", &body],
        &["status", "1"],
        &["wait", "1"],
        &["results", "1", "--out", "rows.jsonl"],
        &["jobs", "list"],
        &["jobs", "show", "1"],
        &["jobs", "resume"],
        &[
            "webhook",
            "listen",
            "--port",
            "0",
            "--secret-header",
            "X-Hook:s3cret",
        ],
        &["queue", "status"],
    ] {
        // As the flag here (HASDATA_LEDGER's value, an empty one included, is the same
        // string to the command).
        let mut command = shell.command(&[&["--ledger", value][..], args].concat());
        let output = tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?} with {value:?}: {stderr}"
        );
        assert!(
            crate::names_the_ledger(&stderr, &[says]),
            "{args:?} with {value:?}: {stderr}"
        );
        assert!(
            stderr.contains("expected a SQLite file"),
            "{args:?}: {stderr}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
    }
    assert_eq!(
        shell.sim.requests().values().sum::<u64>(),
        before,
        "a request went out with {value:?} as the ledger"
    );
    assert_eq!(
        std::fs::read_dir(shell.dir.path()).unwrap().count(),
        made_before,
        "something was made for {value:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_scheme_is_bad_usage_for_every_command_before_any_request() {
    let shell = Shell::quick().await;
    refused_everywhere(&shell, "bogus://x", "unknown scheme `bogus://`").await;
    refused_everywhere(&shell, "postgress://app:hunter2@db/h", "`postgress://`").await;
}

/// A SQLite `file:` URI: SQLite opened `file:l.sqlite?mode=memory` as a ledger in memory, so
/// `submit` printed a job id (exit 0) that no ledger kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_uri_is_bad_usage_for_every_command_before_any_request() {
    let shell = Shell::quick().await;
    refused_everywhere(&shell, "file:l.sqlite?mode=memory", "is a SQLite URI").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_value_sqlite_alone_and_a_directory_are_bad_usage_everywhere() {
    let shell = Shell::quick().await;
    refused_everywhere(&shell, "", "is empty").await;
    refused_everywhere(&shell, "sqlite://", "names no file").await;
    let dir = shell.dir.path().display().to_string();
    refused_everywhere(&shell, &dir, "is a directory").await;
}

/// A PostgreSQL URL that does not parse (a port that is no number) is refused before any
/// request too: `results` asked for the status first and only warned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_url_that_does_not_parse_is_bad_usage_before_results_sends_anything() {
    let shell = Shell::quick().await;
    let before = shell.sim.requests().values().sum::<u64>();
    let ran = shell
        .run(&[
            "--ledger",
            "postgres://app:hunter2@127.0.0.1:notaport/hasdata",
            "results",
            "1",
            "--out",
            "rows.jsonl",
        ])
        .await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        crate::names_the_ledger(&ran.stderr, &["not a PostgreSQL connection URL"])
            && !ran.stderr.contains("hunter2"),
        "{}",
        ran.stderr
    );
    assert_eq!(shell.sim.requests().values().sum::<u64>(), before);
    assert!(!shell.path("rows.jsonl").exists());
}
