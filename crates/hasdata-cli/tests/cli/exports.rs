//! Exports under faults (issue 10): resets on files, 503 on results, a server that ignores
//! `page`, the simulator killed mid-export. The rule checked in every trial: exit 0 means the
//! output file holds exactly the job's rows (count and content); any other exit leaves no file
//! under the final name, no temporary file, and the job not marked collected. `--max-credits`
//! is a bound. The long matrix (`cargo test -p hasdata-cli --test cli -- --ignored matrix`)
//! prints the figures in docs/reliability.md.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use hasdata_sim::{Hold, SimConfig};
use serde_json::Value;

use crate::{Shell, fast};

/// How one trial ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    /// Exit 0 and an exact file.
    Exact,
    /// A non-zero exit, nothing under the final name.
    Refused(i32),
}

/// Checks the rule for an export of job `id` to `out` that exited `code`.
async fn check(shell: &Shell, id: &str, out: &Path, code: i32, stderr: &str) -> Outcome {
    assert!(
        code != 101 && !stderr.contains("panicked"),
        "panic: {stderr}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".hasdata-tmp."))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    let name = out.file_name().unwrap().to_str().unwrap();
    let shown = shell.run(&["--json", "jobs", "show", id]).await;
    if code == 0 {
        let expected = shell.sim.expected_rows(id.parse().unwrap()).unwrap();
        let written: Vec<Value> = std::fs::read_to_string(out)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(written.len(), expected.len(), "exit 0 with a wrong count");
        assert!(written == expected, "exit 0 with rows that differ");
        return Outcome::Exact;
    }
    assert!(
        !out.exists(),
        "exit {code} left {name} under its final name"
    );
    assert!(
        !shown.stdout.contains(name),
        "exit {code} marked the job collected: {}",
        shown.stdout
    );
    Outcome::Refused(code)
}

/// A crawler job of `rows` rows, finished, against a simulator with `faults`.
async fn finished_job(faults: &str, seed: u64, rows: u64) -> (Shell, String) {
    let shell = Shell::start(SimConfig {
        job_duration: Duration::ZERO,
        faults: faults.parse().unwrap(),
        seed,
        ..SimConfig::default()
    })
    .await;
    let body = shell.file(
        "crawl.json",
        &format!(r#"{{"urls": ["https://example.com"], "limit": {rows}}}"#),
    );
    let id = shell.submitted("crawler", &body).await;
    (shell, id)
}

/// One export trial under `faults`; returns its outcome.
async fn trial(faults: &str, seed: u64, rows: u64, source: &str) -> Outcome {
    let (shell, id) = finished_job(faults, seed, rows).await;
    let out = shell.path("rows.jsonl");
    let out_text = out.display().to_string();
    let ran = shell
        .run(&["results", &id, "--source", source, "--out", &out_text])
        .await;
    check(&shell, &id, &out, ran.code, &ran.stderr).await
}

/// A trial of the simulator killed (SIGKILL, a separate `hasdata sim` process) `after_ms`
/// into an export of a 20,000-row job read from its file.
async fn killed_trial(after_ms: u64) -> Outcome {
    use std::io::BufRead;
    let shell = Shell::quick().await;
    let mut sim = shell
        .command(&[
            "sim",
            "--port",
            "0",
            "--job-duration",
            "0",
            "--api-key",
            crate::KEY,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = sim.stdout.take().unwrap();
    let url = tokio::task::spawn_blocking(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            if let Some(url) = line.unwrap().strip_prefix("base URL: ") {
                return url.to_owned();
            }
        }
        panic!("no base URL from hasdata sim");
    })
    .await
    .unwrap();
    let body = shell.file(
        "crawl.json",
        r#"{"urls": ["https://example.com"], "limit": 20000}"#,
    );
    let mut submit = shell.command(&["submit", "crawler", "--body", &body]);
    submit.env("HASDATA_BASE_URL", &url);
    let submitted = tokio::task::spawn_blocking(move || submit.output().unwrap())
        .await
        .unwrap();
    assert!(submitted.status.success());
    let id = String::from_utf8_lossy(&submitted.stdout).trim().to_owned();
    let out = shell.path("rows.jsonl");
    let out_text = out.display().to_string();
    let child = shell
        .command(&["results", &id, "--source", "file", "--out", &out_text])
        .env("HASDATA_BASE_URL", &url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The kill point: not a timing assertion, any point is a valid trial.
    tokio::time::sleep(Duration::from_millis(after_ms)).await;
    sim.kill().unwrap();
    let _ = sim.wait();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let code = output.status.code().unwrap_or(-1);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(code != 101 && !stderr.contains("panicked"), "{stderr}");
    let leftovers = std::fs::read_dir(shell.dir.path())
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().contains(".hasdata-tmp."));
    assert!(!leftovers, "temporary file left");
    if code == 0 {
        let text = std::fs::read_to_string(&out).unwrap();
        let rows: std::collections::HashSet<&str> = text.lines().collect();
        assert_eq!(text.lines().count(), 20_000, "exit 0 with a wrong count");
        assert_eq!(rows.len(), 20_000, "exit 0 with repeated rows");
        return Outcome::Exact;
    }
    assert!(!out.exists(), "exit {code} left the final file: {stderr}");
    Outcome::Refused(code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_truncated_run_of_the_issue_exits_7_with_a_partial_file() {
    let shell = Shell::start(SimConfig {
        job_duration: Duration::from_millis(300),
        faults: "files:reset=1,results:503=1".parse().unwrap(),
        ..SimConfig::default()
    })
    .await;
    let body = shell.file(
        "crawl.json",
        r#"{"urls": ["https://example.com"], "limit": 5000}"#,
    );
    let ran = shell
        .run(&fast(&[
            "run",
            "crawler",
            "--body",
            &body,
            "--out",
            "rows.jsonl",
        ]))
        .await;
    assert_eq!(ran.code, 7, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("incomplete: wrote") && ran.stderr.contains("of 5000 rows"),
        "{}",
        ran.stderr
    );
    assert!(!shell.path("rows.jsonl").exists());
    let partial = std::fs::read_to_string(shell.path("rows.jsonl.partial")).unwrap();
    let id = SimConfig::default().first_job_id;
    let expected = shell.sim.expected_rows(id).unwrap();
    let kept: Vec<Value> = partial
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!kept.is_empty() && kept.len() < 5000);
    assert_eq!(
        kept[..],
        expected[..kept.len()],
        "the partial file is a prefix"
    );
    let listed = shell.run(&["jobs", "list"]).await;
    assert!(listed.stdout.contains("not collected"), "{}", listed.stdout);
    assert!(listed.stdout.contains(" 5000 rows "), "{}", listed.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_ignores_page_is_an_error_not_three_times_the_rows() {
    let outcome = trial("results:ignore-page=1", 1, 350, "pages").await;
    assert_eq!(outcome, Outcome::Refused(7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_under_faults_are_exact_or_refused() {
    let mut exact = 0;
    for (faults, source) in [
        ("files:reset=0.5", "file"),
        ("results:503=0.2", "pages"),
        ("files:reset=1,results:reset=0.2", "auto"),
    ] {
        for seed in 1..=2 {
            if trial(faults, seed, 1500, source).await == Outcome::Exact {
                exact += 1;
            }
        }
    }
    assert!(
        exact > 0,
        "the retries and the fallback recover some trials"
    );
    // The simulator killed while the file streams: never a silent exit 0 with missing rows.
    killed_trial(150).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_job_is_refused_unless_partial_which_does_not_collect_it() {
    let shell = Shell::start(SimConfig {
        job_duration: Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    shell.sim.hold(Hold::InProgress);
    let body = shell.file("serp.json", r#"{"keywords": ["coffee"], "limit": 500}"#);
    let id = shell.submitted("google-serp", &body).await;
    let refused = shell.run(&["results", &id, "--out", "now.jsonl"]).await;
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(refused.stderr.contains("--partial"), "{}", refused.stderr);
    assert!(!shell.path("now.jsonl").exists());
    let partial = shell
        .run(&["results", &id, "--partial", "--out", "now.jsonl"])
        .await;
    assert_eq!(partial.code, 0, "{}", partial.stderr);
    assert!(partial.stderr.contains("partial"), "{}", partial.stderr);
    assert!(shell.path("now.jsonl").exists());
    let listed = shell.run(&["jobs", "list"]).await;
    assert!(listed.stdout.contains("not collected"), "{}", listed.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_credits_is_a_bound() {
    // 5000 crawler rows at 10 credits over 20 s (the first 2 s pending): about 2800 credits a
    // second. Polls come 0.1, 0.3, 0.7, 1.5, 3.1 and 6.1 s in: stopping only once the spend is
    // seen past the cap (at about 5.6 s) would stop at 6.1 s, 14% over; near the cap the CLI
    // polls every 0.1 s and stops ahead of it. The 10% margin is 360 ms of spend: room for a
    // loaded machine's late stop.
    let shell = Shell::start(SimConfig {
        job_duration: Duration::from_secs(20),
        ..SimConfig::default()
    })
    .await;
    let body = shell.file(
        "crawl.json",
        r#"{"urls": ["https://example.com"], "limit": 5000}"#,
    );
    let max = 10_000u64;
    let ran = shell
        .run(&[
            "--json",
            "run",
            "crawler",
            "--body",
            &body,
            "--max-credits",
            &max.to_string(),
            "--poll-initial",
            "0.1",
            "--poll-factor",
            "2",
            "--poll-cap",
            "3",
            "--out",
            "capped.jsonl",
        ])
        .await;
    assert_eq!(ran.code, 4, "a stopped job exits 4: {}", ran.stderr);
    let summary = ran.json_lines().last().cloned().unwrap();
    assert_eq!(summary["status"], "stopped", "{summary}");
    assert_eq!(summary["stopReason"], "max-credits", "{summary}");
    let spent = crate::count(&summary["creditsSpent"]);
    assert!(
        spent * 10 <= max * 11,
        "spent {spent} for a cap of {max}: more than 10% over: {}",
        ran.stderr
    );
    assert!(ran.stderr.contains("max-credits"), "{}", ran.stderr);
}

/// The long matrix: trials per profile, outcomes counted. Run by hand; its figures are in
/// docs/reliability.md.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: the fault matrix behind docs/reliability.md"]
async fn matrix() {
    let trials: u64 = std::env::var("HASDATA_MATRIX_TRIALS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(20);
    let profiles = [
        ("files:reset=1,results:503=1", "auto"),
        ("files:reset=0.5", "file"),
        ("files:reset=1,results:reset=0.2", "auto"),
        ("results:503=0.3", "pages"),
        ("results:reset=0.3", "pages"),
        ("results:ignore-page=1", "pages"),
        ("results:ignore-page=0.3", "pages"),
    ];
    for (faults, source) in profiles {
        let mut outcomes: BTreeMap<Outcome, u64> = BTreeMap::new();
        for seed in 0..trials {
            *outcomes
                .entry(trial(faults, seed, 1500, source).await)
                .or_default() += 1;
        }
        println!("| `{faults}` | {source} | {trials} | {outcomes:?} |");
    }
    let mut outcomes: BTreeMap<Outcome, u64> = BTreeMap::new();
    for trial in 0..trials {
        // Kill points spread over 0-600 ms after the export starts.
        let after = trial * 600 / trials.max(1);
        *outcomes.entry(killed_trial(after).await).or_default() += 1;
    }
    println!(
        "| simulator (`hasdata sim`) killed with SIGKILL 0-600 ms into the export | file | {trials} | {outcomes:?} |"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_sigint_during_an_export_remove_the_temporary_file() {
    // The file host answers late, so the export is under way (its temporary file exists)
    // when the signal comes; the test waits for that file, not for a time.
    let (shell, id) = finished_job("files:latency=30s", 1, 200).await;
    for (signal, code) in [("-TERM", 143), ("-INT", 130)] {
        let out = shell.path("rows.jsonl");
        let out_text = out.display().to_string();
        let child = shell
            .command(&["results", &id, "--source", "file", "--out", &out_text])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let temp = shell.path(&format!(".rows.jsonl.hasdata-tmp.{}", child.id()));
        crate::until("the temporary file", || {
            let exists = temp.exists();
            async move { exists.then_some(()) }
        })
        .await;
        let sent = std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains("rows.jsonl"), "names the target: {stderr}");
        assert!(!temp.exists() && !out.exists());
    }
}

/// `results` asks for the job's status first; the API may take minutes to answer. SIGINT or
/// SIGTERM while that call hangs ends the command at once with the signal's exit code and the
/// usual one line, instead of when the call ends or times out; nothing is written and the
/// ledger is left as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_while_the_status_call_hangs_ends_results_at_once() {
    let (shell, id) = finished_job("status:latency=600s", 1, 10).await;
    for (signal, code) in [("-INT", 130), ("-TERM", 143)] {
        let asked_before = shell.sim.requests().get("status").copied().unwrap_or(0);
        let out = shell.path("rows.jsonl");
        let out_text = out.display().to_string();
        let child = shell
            .command(&["results", &id, "--out", &out_text])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id().to_string();
        // The call has reached the simulator, which holds it for 600 s.
        crate::until("the status call", || async {
            (shell.sim.requests().get("status").copied().unwrap_or(0) > asked_before).then_some(())
        })
        .await;
        let sent = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap();
        assert!(sent.success());
        let waited = tokio::time::timeout(
            Duration::from_secs(120),
            tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()),
        )
        .await;
        let Ok(output) = waited else {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid])
                .status();
            panic!("`hasdata results` did not end on {signal} while its status call hung");
        };
        let output = output.unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains("rows.jsonl"), "names the target: {stderr}");
        assert!(!out.exists());
    }
    let shown = shell
        .run(&["--json", "jobs", "show", &id])
        .await
        .json_lines();
    assert_eq!(
        shown[0]["collectedTo"],
        serde_json::Value::Null,
        "{shown:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_rows_than_the_job_reports_exits_7_naming_both_counts_from_either_source() {
    // The status says 4 rows fewer than the pages and data.json hold, however often it is
    // read: both sources refuse alike, the old file stays, the rows are kept only as
    // FILE.partial, and the job is not collected.
    let (shell, id) = finished_job("count-short=4", 1, 260).await;
    let out = shell.path("rows.jsonl");
    let out_text = out.display().to_string();
    for source in ["pages", "file", "auto"] {
        std::fs::write(&out, "old\n").unwrap();
        let ran = shell
            .run(&["results", &id, "--source", source, "--out", &out_text])
            .await;
        assert_eq!(ran.code, 7, "{source}: {}", ran.stderr);
        assert!(
            ran.stderr.contains(&format!(
                "the results hold 260 rows but job {id} reports 256"
            )),
            "{source}: {}",
            ran.stderr
        );
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "old\n", "{source}");
        let partial = std::fs::read_to_string(shell.path("rows.jsonl.partial")).unwrap();
        assert_eq!(partial.lines().count(), 260, "{source}");
        std::fs::remove_file(shell.path("rows.jsonl.partial")).unwrap();
        let shown = shell.run(&["--json", "jobs", "show", &id]).await;
        assert!(!shown.stdout.contains("rows.jsonl"), "{}", shown.stdout);
    }
    std::fs::remove_file(&out).unwrap();
    assert_eq!(check(&shell, &id, &out, 7, "").await, Outcome::Refused(7));
}
