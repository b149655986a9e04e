//! The ledger: every submit recorded before its id is printed; a killed wait resumed without
//! a second submit.

use std::time::Duration;

use hasdata_sim::{Hold, SimConfig};

use crate::{Shell, fast, read, until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_is_resumed_without_submitting_again() {
    let shell = Shell::start(SimConfig {
        job_duration: Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    // Held mid-run until the process is killed: it can never finish first.
    shell.sim.hold(Hold::InProgress);
    let body = shell.file("serp.json", r#"{"keywords": ["coffee"], "limit": 250}"#);
    let mut child = shell
        .command(&fast(&[
            "run",
            "google-serp",
            "--body",
            &body,
            "--out",
            "rows.jsonl",
        ]))
        .spawn()
        .unwrap();
    // Wait until the job is on the ledger, then kill the process mid-wait.
    let listed = until("the job on the ledger", || async {
        let mut listed = shell.run(&["--json", "jobs", "list"]).await.json_lines();
        // Jobs only: the submit's intent is listed as uncertain until its answer is recorded.
        listed.retain(|entry| entry.get("id").is_some());
        (!listed.is_empty()).then_some(listed)
    })
    .await;
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(listed.len(), 1, "the submit was recorded");
    assert_eq!(listed[0]["collectedAt"], serde_json::Value::Null);
    let id = listed[0]["id"].as_u64().unwrap();
    assert!(
        !shell.path("rows.jsonl").exists(),
        "the run was killed before writing"
    );
    shell.sim.release();

    let resumed = shell
        .run(&fast(&["--json", "jobs", "resume", "--dir", "collected"]))
        .await;
    assert_eq!(resumed.code, 0, "{}", resumed.stderr);
    assert_eq!(shell.sim.submits(), 1, "resume submitted nothing");
    let report = resumed.json_lines();
    assert_eq!(report.len(), 1, "one line per collected job: {report:?}");
    assert_eq!(report[0]["id"], id);
    assert_eq!(report[0]["status"], "finished");
    assert_eq!(
        report[0]["export"]["rows"], 250,
        "the report counts the rows written"
    );
    assert!(
        report[0]["export"]["output"]
            .as_str()
            .is_some_and(|o| o.ends_with(&format!("{id}.jsonl"))),
        "{report:?}"
    );
    let rows: Vec<serde_json::Value> = read(&shell.path(&format!("collected/{id}.jsonl")))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(Some(rows), shell.sim.expected_rows(id));

    let show = shell
        .run(&["--json", "jobs", "show", &id.to_string()])
        .await
        .json_lines();
    assert_eq!(show[0]["status"], "finished");
    assert!(show[0]["collectedAt"].is_string());
    let again = shell.run(&fast(&["jobs", "resume"])).await;
    assert_eq!(again.code, 0);
    assert!(
        again.stderr.contains("nothing to resume"),
        "{}",
        again.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_is_json_lines_everywhere() {
    let shell = Shell::quick().await;
    let body = shell.file("b.json", r#"{"urls": ["https://a.example"]}"#);
    let submitted = shell
        .run(&["--json", "submit", "contacts", "--body", &body])
        .await
        .json_lines();
    let id = submitted[0]["id"].as_u64().unwrap().to_string();
    for args in [
        fast(&["--json", "wait", &id]),
        vec!["--json", "status", &id],
        vec!["--json", "jobs", "list"],
        vec!["--json", "jobs", "show", &id],
        vec!["--json", "results", &id],
        vec!["--json", "scrapers"],
    ] {
        let ran = shell.run(&args).await;
        assert_eq!(ran.code, 0, "{args:?}: {}", ran.stderr);
        assert!(!ran.json_lines().is_empty(), "{args:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_credits_stops_the_job_and_keeps_its_rows() {
    // Held mid-run: the job cannot finish before the credit check sees it.
    let shell = Shell::start(SimConfig {
        job_duration: Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    shell.sim.hold(Hold::InProgress);
    let body = shell.file("serp.json", r#"{"keywords": ["coffee"], "limit": 500}"#);
    let ran = shell
        .run(&fast(&[
            "--json",
            "run",
            "google-serp",
            "--body",
            &body,
            "--max-credits",
            "100",
            "--out",
            "rows.jsonl",
        ]))
        .await;
    assert_eq!(ran.code, 4, "a stopped job exits 4: {}", ran.stderr);
    let lines = ran.json_lines();
    let summary = lines.last().unwrap();
    assert_eq!(summary["status"], "stopped");
    let rows = summary["export"]["rows"].as_u64().unwrap();
    assert!((50..500).contains(&rows), "{summary}");
    assert_eq!(read(&shell.path("rows.jsonl")).lines().count() as u64, rows);
}

pub(crate) async fn run_and_interrupt(shell: &Shell, extra: &[&str]) -> (i32, String, u64) {
    run_and_signal(shell, extra, "-INT").await
}

/// `hasdata run` sent `signal` while it waits for its job: its exit code, stderr, the job.
async fn run_and_signal(shell: &Shell, extra: &[&str], signal: &str) -> (i32, String, u64) {
    let body = shell.file("serp.json", r#"{"keywords": ["coffee"], "limit": 500}"#);
    let mut args = vec!["run", "google-serp", "--body", &body];
    args.extend_from_slice(extra);
    let mut child = shell
        .command(&fast(&args))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let polls_before = shell.sim.requests().get("status").copied().unwrap_or(0);
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let id = loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
            panic!("`hasdata run` ended before its job reached the ledger ({status}): {stderr}");
        }
        let listed = shell.run(&["--json", "jobs", "list"]).await.json_lines();
        if let Some(id) = listed.first().and_then(|entry| entry["id"].as_u64()) {
            break id;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the job never reached the ledger"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // The run is waiting once it polls the job's status.
    until("the run to poll its job", || async {
        (shell.sim.requests().get("status").copied().unwrap_or(0) > polls_before).then_some(())
    })
    .await;
    let output = crate::signal_and_wait(child, signal, "`hasdata run`").await;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code().unwrap_or(-1), stderr, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_leaves_the_job_running_and_says_how_to_resume() {
    let shell = Shell::start(SimConfig {
        job_duration: Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    shell.sim.hold(Hold::InProgress);
    let (code, stderr, id) = run_and_interrupt(&shell, &[]).await;
    assert_eq!(code, 130, "{stderr}");
    assert!(
        stderr.contains(&id.to_string()) && stderr.contains("jobs resume"),
        "{stderr}"
    );
    let status = shell
        .run(&["--json", "status", &id.to_string()])
        .await
        .json_lines();
    let state = status[0]["status"].as_str().unwrap();
    assert_eq!(state, "in_progress", "the job goes on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_with_stop_on_interrupt_stops_the_job() {
    let shell = Shell::start(SimConfig {
        job_duration: Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    shell.sim.hold(Hold::InProgress);
    let (code, stderr, id) = run_and_interrupt(&shell, &["--stop-on-interrupt"]).await;
    assert_eq!(code, 130, "{stderr}");
    let status = shell
        .run(&["--json", "status", &id.to_string()])
        .await
        .json_lines();
    assert_eq!(status[0]["status"], "stopped");
}

/// A service manager's stop (SIGTERM) is handled as Ctrl-C is: exit 143, not death by the
/// signal with nothing said, and `--stop-on-interrupt` stops the job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_run_waits_stops_the_job_and_says_so() {
    let shell = Shell::start(SimConfig {
        job_duration: Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    shell.sim.hold(Hold::InProgress);
    let (code, stderr, id) = run_and_signal(&shell, &["--stop-on-interrupt"], "-TERM").await;
    assert_eq!(code, 143, "{stderr}");
    assert!(
        stderr.contains(&format!("job {id} was stopped")),
        "{stderr}"
    );
    let status = shell
        .run(&["--json", "status", &id.to_string()])
        .await
        .json_lines();
    assert_eq!(status[0]["status"], "stopped");
}

/// A file where the demo's directory should be is found before the simulator starts or any
/// job runs, and named with its flag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_checks_its_directory_before_running_anything() {
    let shell = Shell::quick().await;
    let file = shell.file("taken", "not a directory");
    for dir in [file.clone(), format!("{file}/below")] {
        let ran = shell
            .run(&["demo", "--job-duration", "0", "--dir", &dir])
            .await;
        assert_eq!(ran.code, 2, "{dir}: {}", ran.stderr);
        assert!(ran.stderr.contains("--dir"), "{}", ran.stderr);
        assert!(ran.stderr.contains("not a directory"), "{}", ran.stderr);
        assert!(!ran.stderr.contains("submitted"), "{}", ran.stderr);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_offline_and_writes_both_files() {
    let shell = Shell::quick().await;
    let mut command = shell.command(&[
        "--json",
        "demo",
        "--job-duration",
        "0.3",
        "--dir",
        "demo-out",
    ]);
    command
        .env_remove("HASDATA_API_KEY")
        .env_remove("HASDATA_BASE_URL");
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(summary.len(), 2);
    assert_eq!(
        read(&shell.path("demo-out/contacts.jsonl")).lines().count(),
        3
    );
    assert_eq!(
        read(&shell.path("demo-out/crawler.jsonl")).lines().count(),
        40
    );
    assert!(summary.iter().all(|s| s["status"] == "finished"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_processes_share_the_ledger() {
    let shell = Shell::start(SimConfig {
        job_duration: Duration::ZERO,
        max_running: 100,
        ..SimConfig::default()
    })
    .await;
    let body = shell.file("b.json", r#"{"urls": ["https://a.example"]}"#);
    // The ledger exists before the processes race on it: a `jobs list` that came first
    // would find no ledger there, which is an error (it makes none).
    shell.submitted("contacts", &body).await;
    let commands: Vec<Vec<&str>> = (0..16)
        .map(|i| {
            if i % 2 == 0 {
                vec!["submit", "contacts", "--body", &body]
            } else {
                vec!["jobs", "list"]
            }
        })
        .collect();
    let runs = commands.iter().map(|args| shell.run(args));
    for ran in futures::future::join_all(runs).await {
        assert_eq!(ran.code, 0, "{}", ran.stderr);
    }
    assert_eq!(
        shell
            .run(&["--json", "jobs", "list"])
            .await
            .json_lines()
            .len(),
        9
    );
    assert_eq!(shell.sim.submits(), 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_list_filters_and_jobs_forget_removes() {
    let shell = Shell::quick().await;
    let body = shell.file("b.json", r#"{"urls": ["https://a.example"]}"#);
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(shell.submitted("contacts", &body).await);
    }
    let listed = |args: &'static [&'static str]| {
        let shell = &shell;
        async move {
            let mut all = vec!["--json", "jobs", "list"];
            all.extend(args);
            let ran = shell.run(&all).await;
            assert_eq!(ran.code, 0, "{args:?}: {}", ran.stderr);
            ran.json_lines()
                .iter()
                .map(|job| job["id"].to_string())
                .collect::<Vec<_>>()
        }
    };
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(listed(&[]).await, newest_first);
    assert_eq!(listed(&["--limit", "1"]).await, newest_first[..1]);
    assert_eq!(
        listed(&["--scraper", "contacts", "--status", "pending"]).await,
        newest_first
    );
    assert!(listed(&["--scraper", "indeed"]).await.is_empty());
    assert!(listed(&["--status", "finished"]).await.is_empty());
    assert_eq!(listed(&["--since", "2000-01-01"]).await, newest_first);
    assert!(
        listed(&["--since", "2999-01-01T00:00:00+02:00"])
            .await
            .is_empty()
    );

    // Filters a job can never match are usage errors naming the flag, not an empty list.
    assert_eq!(
        listed(&["--status", "PENDING", "--scraper", " contacts"]).await,
        newest_first,
        "a status in any case, a slug with spaces around it"
    );
    for (flag, value) in [
        ("--since", "yesterday"),
        ("--status", "error"),
        ("--status", "bogus"),
        ("--scraper", "nope"),
    ] {
        let ran = shell.run(&["jobs", "list", flag, value]).await;
        assert_eq!(ran.code, 2, "{flag} {value}: {}", ran.stderr);
        assert!(ran.stderr.contains(flag), "{}", ran.stderr);
        assert!(ran.stdout.is_empty(), "{}", ran.stdout);
    }

    let ran = shell.run(&["jobs", "forget", &ids[1]]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stdout.contains(&format!("forgot job {}", ids[1])),
        "{}",
        ran.stdout
    );
    assert_eq!(listed(&[]).await, [ids[2].clone(), ids[0].clone()]);
    let ran = shell.run(&["jobs", "forget", &ids[1]]).await;
    assert_eq!(ran.code, 1, "{}", ran.stderr);
    assert!(ran.stderr.contains("not in the ledger"), "{}", ran.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_resume_waits_for_several_jobs_at_once() {
    let shell = Shell::quick().await;
    let body = shell.file("b.json", r#"{"urls": ["https://a.example"]}"#);
    for _ in 0..3 {
        shell.submitted("contacts", &body).await;
    }
    // Held jobs never end, so a resume taking one job at a time would poll (and record as
    // in_progress) only the first of them.
    shell.sim.hold(Hold::InProgress);
    let child = shell
        .command(&fast(&[
            "jobs",
            "resume",
            "--concurrency",
            "3",
            "--dir",
            "out",
        ]))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    until("all three jobs polled at once", || async {
        let ran = shell
            .run(&["--json", "jobs", "list", "--status", "in_progress"])
            .await;
        (ran.json_lines().len() == 3).then_some(())
    })
    .await;
    shell.sim.release();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert!(stdout.contains("1 row written"), "plural right: {stdout}");
    assert_eq!(std::fs::read_dir(shell.path("out")).unwrap().count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_stores_absolute_output_paths() {
    let shell = Shell::quick().await;
    let body = shell.file("b.json", r#"{"urls": ["https://a.example"]}"#);
    let id = shell.submitted("contacts", &body).await;
    let waited = shell.run(&fast(&["wait", &id])).await;
    assert_eq!(waited.code, 0, "{}", waited.stderr);
    // The binary runs in the temporary directory: a relative --out lands there.
    let ran = shell.run(&["results", &id, "--out", "rel.jsonl"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let shown = shell
        .run(&["--json", "jobs", "show", &id])
        .await
        .json_lines();
    let stored = shown[0]["collectedTo"].as_str().unwrap().to_owned();
    assert!(std::path::Path::new(&stored).is_absolute(), "{stored}");
    assert_eq!(
        std::fs::canonicalize(&stored).unwrap(),
        std::fs::canonicalize(shell.path("rel.jsonl")).unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_submitted_from_rust_with_the_same_ledger_file_is_in_jobs_list() {
    use hasdata_jobs::prelude::*;

    let shell = Shell::start(SimConfig {
        job_duration: Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    let client = Client::builder()
        .api_key(crate::KEY)
        .base_url(shell.sim.base_url())
        .ledger_file(shell.path("ledger.sqlite"))
        .build()
        .unwrap();
    let job = client
        .submit(&ContactsBody::new(["https://a.example"]))
        .await
        .unwrap();
    drop(client);

    let listed = shell.run(&["--json", "jobs", "list"]).await;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let ids: Vec<u64> = listed
        .json_lines()
        .iter()
        .filter_map(|entry| entry.get("id").and_then(serde_json::Value::as_u64))
        .collect();
    assert_eq!(
        ids,
        [job.id().as_u64().unwrap()],
        "the CLI lists the job Rust code submitted"
    );
}

/// `results` reads the job's status while it opens the ledger, notes that status and then
/// where the rows went, and the process ends without waiting for its idle threads: every note
/// is in the ledger file for the next command, and the file holds every row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_leaves_the_status_it_read_and_its_export_in_the_ledger() {
    let shell = Shell::start(SimConfig {
        job_duration: Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    let body = shell.file("serp.json", r#"{"keywords": ["coffee"], "limit": 250}"#);
    let id = shell.submitted("google-serp", &body).await;
    let before = shell
        .run(&["--json", "jobs", "show", &id])
        .await
        .json_lines();
    assert_ne!(before[0]["status"], "finished", "{before:?}");
    assert_eq!(before[0]["collectedTo"], serde_json::Value::Null);

    let ran = shell.run(&["results", &id, "--out", "rows.jsonl"]).await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(read(&shell.path("rows.jsonl")).lines().count(), 250);

    let after = shell
        .run(&["--json", "jobs", "show", &id])
        .await
        .json_lines();
    assert_eq!(after[0]["status"], "finished", "{after:?}");
    assert_eq!(after[0]["dataRowsCount"], 250, "{after:?}");
    let stored = after[0]["collectedTo"].as_str().unwrap_or_default();
    assert_eq!(
        std::fs::canonicalize(stored).unwrap(),
        std::fs::canonicalize(shell.path("rows.jsonl")).unwrap()
    );
}

/// A ledger that cannot be opened (here a file that is not a SQLite database; a directory is
/// bad usage before anything is sent, `ledger_values.rs`) does not stop `results`, but the file it
/// writes is then never noted collected: it says so on stderr, as it does when the ledger
/// fails to note the export later, and the rows are all written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_warns_when_its_ledger_cannot_be_opened() {
    let shell = Shell::start(SimConfig {
        job_duration: Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    let body = shell.file("serp.json", r#"{"keywords": ["coffee"], "limit": 30}"#);
    let id = shell.submitted("google-serp", &body).await;
    let unusable = shell.path("not-a-database");
    std::fs::write(
        &unusable,
        "these bytes are no SQLite file header, nor any page of one\n".repeat(100),
    )
    .unwrap();
    let mut command = shell.command(&["results", &id, "--out", "rows.jsonl"]);
    command.env("HASDATA_LEDGER", &unusable);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(read(&shell.path("rows.jsonl")).lines().count(), 30);
    assert!(
        stderr.contains("ledger cannot be opened") && stderr.contains("collected"),
        "{stderr}"
    );
}
