//! Write-ahead submits from the shell: a bulk file rerun sends only its unsent lines, Ctrl-C
//! stops sending and reports counts, and an uncertain submit is listed, explained and resent
//! only on request with its own Idempotency-Key.

use std::io::BufRead;
use std::time::Duration;

use hasdata_ledger::{IntentState, JobLedger, SqliteLedger};
use hasdata_sim::SimConfig;

use crate::Shell;

fn bodies(count: usize) -> String {
    (1..=count)
        .map(|i| format!(r#"{{"urls": ["https://site{i}.example"]}}"#))
        .collect::<Vec<_>>()
        .join("\n")
}

fn ledger(shell: &Shell) -> SqliteLedger {
    SqliteLedger::open(&shell.path("ledger.sqlite"), shell.sim.base_url()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rerun_bulk_file_sends_only_its_unsent_lines() {
    let shell = Shell::quick().await;
    let path = shell.file("bodies.jsonl", &bodies(3));
    let first = shell
        .run(&["--json", "submit", "contacts", "--bodies", &path])
        .await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(shell.sim.submits(), 3);

    // Two lines added, one changed: only those are sent.
    let mut text = bodies(5);
    text = text.replacen("site1.example", "changed.example", 1);
    std::fs::write(&path, text).unwrap();
    let second = shell
        .run(&["--json", "submit", "contacts", "--bodies", &path])
        .await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    let lines = second.json_lines();
    let skipped: Vec<u64> = lines
        .iter()
        .filter(|l| l["skipped"] == "submitted")
        .map(|l| l["line"].as_u64().unwrap())
        .collect();
    assert_eq!(skipped, [2, 3]);
    let summary = &lines.last().unwrap()["summary"];
    assert_eq!(
        (summary["submitted"].as_u64(), summary["skipped"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(shell.sim.submits(), 6, "lines 1 (changed), 4 and 5");

    // --again sends everything.
    let again = shell
        .run(&["submit", "contacts", "--bodies", &path, "--again"])
        .await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(shell.sim.submits(), 11);

    // Every job the simulator created is in the ledger with its id and its line.
    let ledger = ledger(&shell);
    for created in shell.sim.created_jobs() {
        let job = ledger
            .get(hasdata_model::JobId::from(created.id))
            .unwrap()
            .unwrap();
        assert!(job.origin.unwrap().starts_with(&path.to_string()));
        assert_eq!(job.intent_key, created.idempotency_key);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_sending_lets_in_flight_finish_and_exits_130() {
    // Each submit takes 200 ms, one at a time: 30 lines take 6 s, and Ctrl-C comes right
    // after the first id is printed.
    let shell = Shell::start(SimConfig {
        faults: "submit:latency=200ms".parse().unwrap(),
        max_running: 1000,
        ..SimConfig::default()
    })
    .await;
    let path = shell.file("bodies.jsonl", &bodies(30));
    let mut child = shell
        .command(&[
            "submit",
            "contacts",
            "--bodies",
            &path,
            "--concurrency",
            "1",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (first_tx, first_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let _ = first_tx.send(());
            lines.push(line);
        }
        lines
    });
    tokio::task::spawn_blocking(move || first_rx.recv_timeout(Duration::from_secs(120)))
        .await
        .unwrap()
        .expect("the first id is printed as soon as it exists");
    let output = crate::signal_and_wait(child, "-INT", "`hasdata submit --bodies`").await;
    let printed = reader.join().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    let submitted = printed.iter().filter(|l| l.contains(": job ")).count() as u64;
    assert_eq!(
        submitted,
        shell.sim.submits(),
        "every id was printed: {printed:?}"
    );
    assert!(submitted < 30, "sending stopped");
    let unsent = 30 - submitted;
    assert!(
        stderr.contains(&format!(
            "{submitted} submitted, 0 uncertain, {unsent} unsent"
        )),
        "{stderr}"
    );

    // The rerun sends exactly the unsent lines.
    let rerun = shell
        .run(&[
            "submit",
            "contacts",
            "--bodies",
            &path,
            "--concurrency",
            "4",
        ])
        .await;
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);
    assert_eq!(shell.sim.submits(), 30, "no line billed twice");
    assert!(
        rerun
            .stderr
            .contains(&format!("{submitted} line(s) skipped")),
        "{}",
        rerun.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uncertain_submit_is_listed_and_resent_only_with_yes_and_its_own_key() {
    // Half the answers are lost (seeded): the job exists but its id never arrives.
    let shell = Shell::start(SimConfig {
        faults: "submit:lose-response=0.5".parse().unwrap(),
        seed: 3,
        max_running: 1000,
        allow_http_webhooks: true,
        ..SimConfig::default()
    })
    .await;
    let body = shell.file(
        "body.json",
        r#"{"urls": ["https://a.example"], "webhook": {"url": "http://127.0.0.1:9/h", "headers": {"x-secret": "hook-s3cret-77"}}}"#,
    );
    // Submit until one answer is lost.
    let mut attempts = 0;
    let error = loop {
        attempts += 1;
        assert!(attempts < 40, "no answer was lost");
        let ran = shell.run(&["submit", "contacts", "--body", &body]).await;
        if ran.code != 0 {
            break ran.stderr;
        }
    };
    assert!(error.contains("may exist"), "{error}");
    let ledger = ledger(&shell);
    let open: Vec<_> = ledger
        .intents()
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.state.is_unresolved())
        .collect();
    assert_eq!(open.len(), 1);
    let key = open[0].intent.key.clone();
    assert!(error.contains(&key), "the error names the intent: {error}");
    assert!(
        open[0]
            .intent
            .origin
            .as_ref()
            .unwrap()
            .source
            .ends_with("body.json")
    );

    let listed = shell.run(&["jobs", "list"]).await;
    assert!(listed.stdout.contains(&key), "{}", listed.stdout);
    assert!(listed.stderr.contains("dashboard"), "{}", listed.stderr);
    let shown = shell.run(&["jobs", "show", &key]).await;
    assert!(
        shown.stdout.contains("check the HasData dashboard"),
        "{}",
        shown.stdout
    );
    assert!(
        !shown.stdout.contains("hook-s3cret-77"),
        "secrets never stored"
    );

    let refused = shell.run(&["jobs", "retry", &key]).await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    let created_before = shell.sim.created_jobs().len();

    // The stored body lost its secret, so the original is needed.
    let missing = shell.run(&["jobs", "retry", &key, "--yes"]).await;
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(missing.stderr.contains("--body"), "{}", missing.stderr);
    loop {
        let retried = shell
            .run(&["jobs", "retry", &key, "--yes", "--body", &body])
            .await;
        if retried.code == 0 {
            break;
        }
        assert!(retried.stderr.contains("may exist"), "{}", retried.stderr);
    }
    let entry = ledger.intent(&key).await.unwrap().unwrap();
    assert_eq!(entry.state, IntentState::Submitted);
    assert!(entry.attempts >= 2);
    let resent = &shell.sim.created_jobs()[created_before..];
    assert!(!resent.is_empty());
    assert!(
        resent
            .iter()
            .all(|job| job.idempotency_key.as_deref() == Some(key.as_str())),
        "every resend carried the intent's key"
    );
    let again = shell.run(&["jobs", "retry", &key, "--yes"]).await;
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(
        again.stderr.contains("nothing to retry"),
        "{}",
        again.stderr
    );
}

/// A `jobs retry KEY --yes` while another retry of the same intent holds its claim in the
/// ledger (taken here, as that retry would) sends nothing and says so; a claim whose lease ran
/// out (a killed retrier) blocks nobody. Two retries at once each read the intent unresolved
/// and each sent it: two billed jobs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_retry_of_an_intent_sends_nothing() {
    use hasdata_ledger::{Intent, JobLedger, ResendClaim};

    let shell = Shell::quick().await;
    let ledger = ledger(&shell);
    let key = "5b0c8d6e-1f7a-4c2b-9e3d-0a1b2c3d4e5f";
    let body = r#"{"urls":["https://a.example"]}"#;
    let body_file = shell.file("retry.json", body);
    let intent = Intent::new(key, "contacts", body.as_bytes(), None);
    ledger.record_intent(&intent).await.unwrap();
    ledger.record_uncertain(key, "reset").await.unwrap();
    let minute = std::time::Duration::from_secs(60);
    assert_eq!(
        ledger
            .claim_resend(key, "the-other-retry", 1, minute)
            .await
            .unwrap(),
        ResendClaim::Taken
    );
    let second = shell
        .run(&["jobs", "retry", key, "--yes", "--body", &body_file])
        .await;
    assert_eq!(second.code, 1, "{}", second.stderr);
    assert!(
        second.stderr.contains("being resent by another process")
            && second.stderr.contains("nothing was sent"),
        "{}",
        second.stderr
    );
    assert_eq!(shell.sim.submits(), 0);
    // The other retrier is killed: its claim lapses (a lease of zero stands for the minute).
    ledger.release_resend(key, "the-other-retry").await.unwrap();
    assert_eq!(
        ledger
            .claim_resend(key, "killed-retry", 1, std::time::Duration::ZERO)
            .await
            .unwrap(),
        ResendClaim::Taken
    );
    let after = shell
        .run(&["jobs", "retry", key, "--yes", "--body", &body_file])
        .await;
    assert_eq!(after.code, 0, "{}", after.stderr);
    assert_eq!(shell.sim.submits(), 1);
}

/// A second `submit --bodies` of a file another run is still sending waits for it (holding
/// the file's lock here stands for that run), sends nothing meanwhile, then goes on. Without
/// the wait, two runs at once each found no line sent and sent every line twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_of_the_same_file_waits_for_the_first() {
    use std::io::BufRead;
    use std::process::Stdio;

    let shell = Shell::quick().await;
    let path = shell.file("b.jsonl", &bodies(3));
    let held = std::fs::File::open(&path).unwrap();
    held.lock().unwrap();
    let mut child = shell
        .command(&["submit", "contacts", "--bodies", &path])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let waiting = tokio::task::spawn_blocking(move || {
        let mut lines = std::io::BufReader::new(stderr).lines();
        let found = lines
            .by_ref()
            .map_while(Result::ok)
            .any(|line| line.contains("another hasdata is submitting"));
        (found, lines)
    })
    .await
    .unwrap();
    assert!(waiting.0, "the second run says it waits");
    assert_eq!(shell.sim.submits(), 0, "nothing sent while the first runs");
    drop(held);
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(shell.sim.submits(), 3);

    // Two runs started together: every line is sent once.
    let path2 = shell.file("c.jsonl", &bodies(4));
    let runs: Vec<_> = (0..2)
        .map(|_| {
            shell
                .command(&["submit", "contacts", "--bodies", &path2])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut run in runs {
        let status = tokio::task::spawn_blocking(move || run.wait().unwrap())
            .await
            .unwrap();
        assert_eq!(status.code(), Some(0));
    }
    assert_eq!(shell.sim.submits(), 3 + 4, "each line of c.jsonl once");
}

/// Ctrl-C while waiting for another run of the same bodies file ends the run at once, with
/// nothing sent. The wait was a blocking lock on a thread of the runtime's pool, which the
/// runtime's drop at exit joined: the run printed that it was interrupted, then hung until
/// the other run let go of the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_while_waiting_for_another_run_of_the_file_ends_at_once() {
    use crate::ledger_locks::{PROMPTLY, signalled};

    let shell = Shell::quick().await;
    let path = shell.file("b.jsonl", &bodies(2));
    let held = std::fs::File::open(&path).unwrap();
    held.lock().unwrap();
    // The run opens the bodies file once it listens for Ctrl-C, then waits for its lock.
    let ended = signalled(
        &shell,
        &["submit", "contacts", "--bodies", &path],
        "-INT",
        std::path::Path::new(&path),
    )
    .await;
    assert!(
        ended.stderr.contains("another hasdata is submitting"),
        "the run says it waits: {}",
        ended.stderr
    );
    assert_eq!(ended.code, Some(130), "{}", ended.stderr);
    assert!(
        ended.took < PROMPTLY,
        "ended {:?} after the signal",
        ended.took
    );
    assert_eq!(shell.sim.submits(), 0, "nothing sent");
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_dash_reads_the_lines_from_stdin() {
    use std::io::Write;
    use std::process::Stdio;

    let shell = Shell::quick().await;
    let send = |text: String| {
        let mut child = shell
            .command(&["submit", "contacts", "--bodies", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        async move {
            tokio::task::spawn_blocking(move || {
                stdin.write_all(text.as_bytes()).unwrap();
                drop(stdin);
                child.wait_with_output().unwrap()
            })
            .await
            .unwrap()
        }
    };
    let output = send(bodies(3)).await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 3);
    assert_eq!(shell.sim.submits(), 3);
    let origins: Vec<String> = ledger(&shell)
        .list()
        .unwrap()
        .into_iter()
        .filter_map(|job| job.origin)
        .collect();
    assert!(origins.contains(&"stdin:2".to_owned()), "{origins:?}");

    // A second stdin is not taken for a rerun of the first: every line is sent again.
    let output = send(bodies(3)).await;
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(shell.sim.submits(), 6);

    // Lines are still all checked before any is sent.
    let output = send("{\"urls\": []}\nnot json\n".to_owned()).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("line 2"));
    assert_eq!(shell.sim.submits(), 6);
}

/// A bodies file saved by a Windows editor (a byte order mark, CRLF endings) is read as the
/// lines it holds; a line that is not UTF-8 is named by its number, with every other problem,
/// and nothing is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_with_a_bom_and_crlf_are_read_and_a_non_utf8_line_is_named() {
    let shell = Shell::quick().await;
    let windows = shell.path("windows.jsonl");
    let text = bodies(2).replace('\n', "\r\n");
    std::fs::write(
        &windows,
        [b"\xef\xbb\xbf".as_slice(), text.as_bytes(), b"\r\n"].concat(),
    )
    .unwrap();
    let ran = shell
        .run(&["submit", "contacts", "--bodies", windows.to_str().unwrap()])
        .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(shell.sim.submits(), 2);

    let broken = shell.path("broken.jsonl");
    let mut bytes = bodies(3).into_bytes();
    bytes.extend_from_slice(b"\n{\"urls\": [\"https://x.example/\xff\"]}\n{\"urls\": [oops\n");
    std::fs::write(&broken, bytes).unwrap();
    let ran = shell
        .run(&["submit", "contacts", "--bodies", broken.to_str().unwrap()])
        .await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr.contains("line 4: not UTF-8") && ran.stderr.contains("line 5: not JSON"),
        "{}",
        ran.stderr
    );
    assert_eq!(shell.sim.submits(), 2, "nothing more was sent");
}
