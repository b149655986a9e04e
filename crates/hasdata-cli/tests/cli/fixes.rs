//! Issue 13's small breaks: a 0-row CSV, the Ctrl-C hint of `run --out`, the ledger after
//! `stop`, `jobs list --refresh`, and progress lines without a terminal.

use std::collections::BTreeSet;
use std::time::Duration;

use hasdata_sim::{Hold, SimConfig};

use crate::{KEY, Shell, fast, read, until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_row_csv_is_its_header_or_empty_and_stop_reaches_the_ledger() {
    let shell = Shell::quick().await;
    shell.sim.hold(Hold::Pending);
    // google-trends has no row schema (no known columns); contacts has one.
    for (slug, body, header) in [
        ("google-trends", r#"{"keywords": ["coffee"]}"#, None),
        (
            "contacts",
            r#"{"urls": ["https://a.example"]}"#,
            Some("url"),
        ),
    ] {
        let body = shell.file(&format!("{slug}.json"), body);
        let id = shell.submitted(slug, &body).await;
        let stopped = shell.run(&["stop", &id]).await;
        assert_eq!(stopped.code, 0, "{}", stopped.stderr);
        // `jobs list` shows what `stop` answered, not the `pending` of the submit.
        let listed = shell.run(&["--json", "jobs", "list"]).await.json_lines();
        let entry = listed
            .iter()
            .find(|job| job["id"].as_u64() == id.parse().ok())
            .unwrap();
        assert_eq!(entry["status"], "stopped", "{entry}");

        let out = shell.path(&format!("{slug}.csv"));
        let ran = shell
            .run(&[
                "results",
                &id,
                "--format",
                "csv",
                "--out",
                out.to_str().unwrap(),
            ])
            .await;
        assert_eq!(ran.code, 0, "{slug}: {}", ran.stderr);
        assert!(ran.stdout.contains("0 rows"), "{}", ran.stdout);
        let text = read(&out);
        match header {
            None => assert_eq!(text, "", "{slug}: no columns, an empty file"),
            Some(column) => {
                assert_eq!(text.lines().count(), 1, "{slug}: the header only: {text:?}");
                assert!(text.split(',').any(|c| c.trim() == column), "{text:?}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_list_refresh_polls_the_jobs_not_ended_and_updates_the_ledger() {
    let shell = Shell::quick().await;
    let body = shell.file("b.json", r#"{"urls": ["https://a.example"]}"#);
    let first = shell.submitted("contacts", &body).await;
    let second = shell.submitted("contacts", &body).await;
    let client = hasdata_jobs::Client::builder()
        .api_key(KEY)
        .base_url(shell.sim.base_url())
        .build()
        .unwrap();
    for id in [&first, &second] {
        let id: hasdata_model::JobId = id.parse().unwrap();
        until("the job to finish", || async {
            let job = client.status(id).await.ok()?;
            job.status.is_terminal().then_some(())
        })
        .await;
    }
    let statuses = |lines: Vec<serde_json::Value>| -> BTreeSet<String> {
        lines
            .iter()
            .map(|job| job["status"].as_str().unwrap().to_owned())
            .collect()
    };
    let stale = shell.run(&["--json", "jobs", "list"]).await;
    assert_eq!(
        statuses(stale.json_lines()),
        BTreeSet::from(["pending".to_owned()]),
        "nothing polled them yet"
    );
    let polls = || shell.sim.requests().get("status").copied().unwrap_or(0);
    let before = polls();
    let refreshed = shell.run(&["--json", "jobs", "list", "--refresh"]).await;
    assert_eq!(refreshed.code, 0, "{}", refreshed.stderr);
    assert_eq!(
        statuses(refreshed.json_lines()),
        BTreeSet::from(["finished".to_owned()])
    );
    assert_eq!(polls() - before, 2, "one status call per job not ended");
    let after = shell.run(&["--json", "jobs", "list"]).await;
    assert_eq!(
        statuses(after.json_lines()),
        BTreeSet::from(["finished".to_owned()]),
        "the ledger keeps what the refresh saw"
    );
    let before = polls();
    let again = shell.run(&["jobs", "list", "--refresh"]).await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(polls(), before, "ended jobs are not polled again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_names_the_command_that_finishes_the_same_output() {
    let shell = Shell::start(SimConfig {
        job_duration: Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    shell.sim.hold(Hold::InProgress);
    let (code, stderr, id) =
        crate::ledger::run_and_interrupt(&shell, &["--out", "int.csv", "--format", "csv"]).await;
    assert_eq!(code, 130, "{stderr}");
    let out = std::path::absolute(shell.path("int.csv")).unwrap();
    // The base URL and the ledger came from the environment; the hint names them, so it
    // reaches the same job from a shell that lacks them.
    let globals = format!(
        "--base-url {} --ledger {}",
        shell.sim.base_url(),
        std::path::absolute(shell.path("ledger.sqlite"))
            .unwrap()
            .display()
    );
    let expected = format!(
        "hasdata {globals} wait {id} && hasdata {globals} results {id} --out {} --format csv",
        out.display()
    );
    assert!(stderr.contains(&expected), "{expected} in {stderr}");

    // The hint, run as given in a shell without the variables, writes the rows the run would
    // have written.
    shell.sim.release();
    // Without HASDATA_LEDGER, a hint that lost its `--ledger` would reach the default ledger:
    // the user's data directory is a temporary one, never the real one of whoever runs the
    // tests, and it must stay empty (the hint names the ledger the run used).
    let data = shell.path("data");
    let home = shell.path("home");
    for part in expected.split(" && ") {
        let words: Vec<&str> = part.split_whitespace().skip(1).collect();
        let args = if words.contains(&"wait") {
            fast(&words)
        } else {
            words
        };
        let mut command = shell.command(&args);
        command
            .env_remove("HASDATA_BASE_URL")
            .env_remove("HASDATA_LEDGER")
            .env("XDG_DATA_HOME", &data)
            .env("HOME", &home);
        let output = tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{part}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert!(
        !data.exists() && !home.exists(),
        "no default ledger made: the hint names the run's own"
    );
    let rows = csv::Reader::from_path(&out).unwrap().records().count();
    assert_eq!(
        Some(rows),
        shell.sim.expected_rows(id).map(|r| r.len()),
        "every row, under the header"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_terminal_bulk_says_each_job_and_verbose_wait_each_poll() {
    let shell = Shell::start(SimConfig {
        job_duration: Duration::from_secs(1),
        max_running: 50,
        ..SimConfig::default()
    })
    .await;
    let bodies = shell.file(
        "bodies.jsonl",
        &"{\"urls\": [\"https://b.example\"]}\n".repeat(3),
    );
    let ran = shell
        .run(&["submit", "contacts", "--bodies", &bodies])
        .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let progress: Vec<&str> = ran
        .stderr
        .lines()
        .filter(|l| l.starts_with("submitted ") && l.contains("/3: line "))
        .collect();
    assert_eq!(progress.len(), 3, "a line per job: {}", ran.stderr);

    let id = ran
        .stdout
        .lines()
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap();
    let waited = shell.run(&fast(&["-v", "wait", id])).await;
    assert_eq!(waited.code, 0, "{}", waited.stderr);
    let polls: Vec<&str> = waited
        .stderr
        .lines()
        .filter(|l| l.starts_with(&format!("job {id}: ")))
        .collect();
    let statuses: BTreeSet<&str> = polls
        .iter()
        .filter_map(|l| l.split(": ").nth(1)?.split(' ').next())
        .collect();
    assert!(
        polls.len() > statuses.len(),
        "a line per poll, not only per status: {}",
        waited.stderr
    );
    // Without -v, a line per status change only.
    let quiet = shell.run(&fast(&["wait", id])).await;
    let lines = quiet
        .stderr
        .lines()
        .filter(|l| l.starts_with(&format!("job {id}: ")))
        .count();
    assert_eq!(lines, 1, "an ended job: one line: {}", quiet.stderr);
}

/// On a terminal (a pseudo-terminal 50 columns wide, from util-linux's `script`): each live
/// line fits the width, and the summary on stdout starts on a line of its own, after the
/// finished progress lines.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_progress_fits_the_width_and_ends_before_the_summary() {
    let has_script = std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_script {
        assert!(
            std::env::var_os("CI").is_none(),
            "util-linux's `script` is needed for the terminal test"
        );
        eprintln!("skipped: no `script` to make a terminal with");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let inner = format!(
        "stty cols 50 rows 20; exec '{}' demo --dir '{}' --job-duration 1",
        env!("CARGO_BIN_EXE_hasdata"),
        dir.path().join("out").display()
    );
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("script")
            .args(["-qec", &inner, "/dev/null"])
            .env_remove("NO_COLOR")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let raw = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{raw}");
    // The summaries (`job N: finished ... -> FILE (K rows)`) each begin a line.
    let summaries: Vec<&str> = raw.split('\n').filter(|l| l.contains(" -> ")).collect();
    assert_eq!(summaries.len(), 2, "{raw:?}");
    for line in summaries {
        assert!(line.starts_with("job "), "shares a line: {line:?}");
    }
    // Each live line (a spinner and what follows, up to the next one or a control sequence)
    // is at most 50 characters.
    let spinner = |c: char| ('\u{2800}'..='\u{28ff}').contains(&c);
    let mut pieces = Vec::new();
    for segment in raw.split(['\r', '\n', '\u{1b}']) {
        let mut rest = segment;
        while let Some(start) = rest.find(spinner) {
            let after = &rest[start..];
            let next = after
                .char_indices()
                .skip(1)
                .find(|(_, c)| spinner(*c))
                .map_or(after.len(), |(i, _)| i);
            pieces.push(&after[..next]);
            rest = &after[next..];
        }
    }
    assert!(pieces.len() > 2, "live lines were drawn: {raw:?}");
    for piece in pieces {
        assert!(
            piece.trim_end().chars().count() <= 50,
            "wider than the terminal: {piece:?}"
        );
    }

    // A bulk submit's id lines on stdout are printed with its live count taken off the
    // screen: each begins a line (after the count is erased), never inside the count.
    let shell = Shell::quick().await;
    let bodies = shell.file(
        "bodies.jsonl",
        &"{\"urls\": [\"https://b.example\"]}\n".repeat(3),
    );
    let inner = format!(
        "stty cols 50 rows 20; exec '{}' submit contacts --bodies '{bodies}'",
        env!("CARGO_BIN_EXE_hasdata")
    );
    let mut command = std::process::Command::new("script");
    command
        .args(["-qec", &inner, "/dev/null"])
        .env("HASDATA_API_KEY", KEY)
        .env("HASDATA_BASE_URL", shell.sim.base_url())
        .env("HASDATA_LEDGER", shell.path("ledger.sqlite"))
        .current_dir(shell.dir.path())
        .stdin(std::process::Stdio::null());
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let raw = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{raw}");
    // `line N: job ID`, the stdout lines (the live count says `line N is job ID`).
    let id_line = |text: &str| {
        let Some(rest) = text.strip_prefix("line ") else {
            return false;
        };
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        digits > 0 && rest[digits..].starts_with(": job ")
    };
    let mut ids = 0;
    for (at, _) in raw.match_indices("line ") {
        if !id_line(&raw[at..]) {
            continue;
        }
        let before = &raw[..at];
        assert!(
            before.is_empty() || before.ends_with('\n') || before.ends_with("\u{1b}[2K"),
            "an id line inside the live count: {raw:?}"
        );
        ids += 1;
    }
    assert!(ids >= 3, "{raw:?}");
}

/// Every command a message tells the user to run carries the base URL and the ledger the job
/// lives under (here they came from the environment): a wait past its deadline (exit 5) and
/// results of a job that has not ended both name `hasdata --base-url ... --ledger ... wait ID`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hints_name_the_base_url_and_ledger_the_job_lives_under() {
    let shell = Shell::start(SimConfig {
        job_duration: Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    shell.sim.hold(Hold::InProgress);
    let body = shell.file("b.json", r#"{"urls": ["https://a.example"]}"#);
    let id = shell.submitted("contacts", &body).await;
    let expected = format!(
        "`hasdata --base-url {} --ledger {} wait {id}`",
        shell.sim.base_url(),
        std::path::absolute(shell.path("ledger.sqlite"))
            .unwrap()
            .display()
    );
    let waited = shell
        .run(&crate::fast(&["wait", &id, "--timeout", "0.2"]))
        .await;
    assert_eq!(waited.code, 5, "{}", waited.stderr);
    assert!(
        waited.stderr.contains(&expected),
        "{expected} in {}",
        waited.stderr
    );
    let results = shell.run(&["results", &id]).await;
    assert_eq!(results.code, 1, "{}", results.stderr);
    assert!(
        results.stderr.contains(&expected),
        "{expected} in {}",
        results.stderr
    );
}

/// `hasdata results` stopped by Ctrl-C mid-export names the command that writes the export
/// again with the base URL and the ledger it used: it named `hasdata results ID --out ...`
/// alone, which asks api.hasdata.com for a simulator's job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_in_results_names_the_base_url_and_ledger_in_its_hint() {
    let shell = Shell::start(SimConfig {
        job_duration: Duration::ZERO,
        faults: "results:latency=60s".parse().unwrap(),
        ..SimConfig::default()
    })
    .await;
    let body = shell.file("serp.json", r#"{"keywords": ["coffee"], "limit": 300}"#);
    let ran = shell.run(&["submit", "google-serp", "--body", &body]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let id = ran.stdout.trim().rsplit(' ').next().unwrap().to_owned();
    let child = shell
        .command(&["results", &id, "--source", "pages", "--out", "rows.jsonl"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Mid-export: a page has been asked for, and answers a minute later.
    until("a page to be asked for", || async {
        (shell.sim.requests().get("results").copied().unwrap_or(0) > 0).then_some(())
    })
    .await;
    let output = crate::signal_and_wait(child, "-INT", "`hasdata results`").await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    let expected = format!(
        "`hasdata --base-url {} --ledger {} results {id} --out {} --source pages` writes it again",
        shell.sim.base_url(),
        std::path::absolute(shell.path("ledger.sqlite"))
            .unwrap()
            .display(),
        std::path::absolute(shell.path("rows.jsonl"))
            .unwrap()
            .display()
    );
    assert!(stderr.contains(&expected), "{expected} in {stderr}");
    assert!(!shell.path("rows.jsonl").exists(), "no target file");
}
