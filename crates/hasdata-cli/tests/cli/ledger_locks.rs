//! Another process holding the SQLite ledger's write lock (`sqlite3 ledger.sqlite` inside
//! `BEGIN IMMEDIATE`, a second `hasdata` mid-write): a command waiting for it ends at once on
//! SIGINT/SIGTERM with the usual exit code and one line, and never sends a POST whose intent
//! it could not record.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use hasdata_sim::SimConfig;

use crate::{Shell, signal_and_wait, until};

/// The write lock of the ledger at `path`, held until the connection is dropped: what
/// `sqlite3 ledger.sqlite 'BEGIN IMMEDIATE;'` left open does.
fn hold_lock(path: &Path) -> rusqlite::Connection {
    let holder = rusqlite::Connection::open(path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    holder
}

/// Whether process `pid` has the file `path` open (Linux: `/proc/PID/fd`).
fn has_open(pid: u32, path: &Path) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten()
        .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == path))
}

/// How a command given `signal` ended.
pub(crate) struct Ended {
    pub(crate) code: Option<i32>,
    pub(crate) stderr: String,
    /// From the signal to the exit.
    pub(crate) took: Duration,
}

/// Runs `hasdata args` while the test holds a lock it waits for (the ledger's, a bodies
/// file's); once the process has `ready` open (the ledger, or a file it opens after it
/// listens for signals, and so is at or past its first wait for the lock), sends `signal`
/// (`-INT`/`-TERM`).
/// A process still alive a minute later is killed and the test fails: the wait would have
/// ended by itself long before, or it never ends while the test holds the lock, so that is a
/// hang, not slowness.
pub(crate) async fn signalled(shell: &Shell, args: &[&str], signal: &str, ready: &Path) -> Ended {
    let child = shell
        .command(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    until("hasdata under way", || async {
        has_open(pid, ready).then_some(())
    })
    .await;
    // Into its wait for the lock (a signal sent sooner is as good: it is queued).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let what = format!("`hasdata {args:?}`, while the lock it waits for was held,");
    ended(child, signal, &what).await
}

/// `child` sent `signal` and waited for ([`signal_and_wait`]), timed from the signal.
async fn ended(child: std::process::Child, signal: &str, what: &str) -> Ended {
    let sent = Instant::now();
    let output = signal_and_wait(child, signal, what).await;
    Ended {
        code: output.status.code(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        took: sent.elapsed(),
    }
}

/// Well under the ledger's own 10 s wait, which a command deaf to the signal sits out; far
/// over the few milliseconds a command that hears it takes.
pub(crate) const PROMPTLY: Duration = Duration::from_secs(5);

/// `run` records its intent before the POST; with the ledger locked that write waits. Ctrl-C
/// then ends the command at once, and nothing was sent or recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_while_the_intent_waits_for_the_lock_sends_nothing() {
    let shell = Shell::quick().await;
    let body = shell.file("crawl.json", r#"{"urls": ["https://example.com"]}"#);
    // The ledger exists (a first job), as it does for anyone who has used hasdata.
    shell.submitted("crawler", &body).await;
    let submits = shell.sim.requests().get("submit").copied().unwrap_or(0);
    let holder = hold_lock(&shell.path("ledger.sqlite"));
    let ledger = shell.path("ledger.sqlite");
    // A single submit too: it heard no signal at all, and died by it without a word.
    for (command, code) in [
        (crate::fast(&["run", "crawler", "--body", &body]), 130),
        (vec!["submit", "crawler", "--body", &body], 130),
    ] {
        let ended = signalled(&shell, &command, "-INT", &ledger).await;
        assert_eq!(ended.code, Some(code), "{}", ended.stderr);
        assert!(
            ended.took < PROMPTLY,
            "took {:?}: {}",
            ended.took,
            ended.stderr
        );
        assert_eq!(ended.stderr.trim().lines().count(), 1, "{}", ended.stderr);
        assert!(
            ended.stderr.contains("nothing was sent"),
            "{}",
            ended.stderr
        );
        assert_eq!(
            shell.sim.requests().get("submit").copied().unwrap_or(0),
            submits,
            "a POST went out without its intent"
        );
    }
    let intents: i64 = holder
        .query_row("SELECT count(*) FROM intents", [], |row| row.get(0))
        .unwrap();
    assert_eq!(intents, 1, "only the first job's intent");
}

/// `wait` notes each status it reads; `results` notes the status, then the job collected.
/// A signal while either note waits for the lock ends the command at once with its code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_while_a_note_waits_for_the_lock_ends_wait_and_results() {
    let shell = Shell::start(SimConfig {
        job_duration: Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    let body = shell.file(
        "crawl.json",
        r#"{"urls": ["https://example.com"], "limit": 3}"#,
    );
    let id = shell.submitted("crawler", &body).await;
    let out = shell.path("rows.jsonl");
    let out_text = out.display().to_string();
    let _holder = hold_lock(&shell.path("ledger.sqlite"));
    let wait = crate::fast(&["wait", &id]);
    let results = ["results", id.as_str(), "--out", out_text.as_str()];
    for (args, signal, code) in [
        (&wait[..], "-INT", 130),
        (&results[..], "-INT", 130),
        (&results[..], "-TERM", 143),
    ] {
        let ended = signalled(&shell, args, signal, &shell.path("ledger.sqlite")).await;
        assert_eq!(
            ended.code,
            Some(code),
            "{args:?} {signal}: {}",
            ended.stderr
        );
        assert!(
            ended.took < PROMPTLY,
            "{args:?} {signal} took {:?}: {}",
            ended.took,
            ended.stderr
        );
        // One line (`wait`'s progress line may come before it).
        let last = ended.stderr.trim().lines().last().unwrap_or_default();
        assert!(
            last.starts_with("hasdata: error: ")
                && last.contains(if code == 143 {
                    "terminated"
                } else {
                    "interrupted"
                }),
            "{}",
            ended.stderr
        );
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
}

/// `submit --bodies`: on Ctrl-C the in-flight submits still waiting to record their intents
/// are dropped (nothing of theirs was sent) instead of sitting out the lock, and no line is
/// sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_in_a_bulk_submit_drops_the_submits_waiting_for_the_lock() {
    let shell = Shell::quick().await;
    let body = shell.file("crawl.json", r#"{"urls": ["https://example.com"]}"#);
    shell.submitted("crawler", &body).await;
    let bodies = shell.file(
        "bodies.jsonl",
        &"{\"urls\": [\"https://example.com\"]}\n".repeat(3),
    );
    let submits = shell.sim.requests().get("submit").copied().unwrap_or(0);
    let _holder = hold_lock(&shell.path("ledger.sqlite"));
    // The bodies file stays open (locked against a second run) once Ctrl-C is listened for.
    let ended = signalled(
        &shell,
        &["submit", "crawler", "--bodies", &bodies],
        "-INT",
        Path::new(&bodies),
    )
    .await;
    assert_eq!(ended.code, Some(130), "{}", ended.stderr);
    assert!(
        ended.took < PROMPTLY,
        "took {:?}: {}",
        ended.took,
        ended.stderr
    );
    assert!(ended.stderr.contains("3 unsent"), "{}", ended.stderr);
    assert_eq!(
        shell.sim.requests().get("submit").copied().unwrap_or(0),
        submits,
        "a POST went out without its intent"
    );
}

/// A file another program holds inside `BEGIN EXCLUSIVE` before it is a hasdata ledger (not
/// in WAL mode yet): opening it waits to read it. A signal then ends the command at once
/// (opening retried a 10 s busy wait up to 200 times, deaf to Ctrl-C).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_while_the_ledger_waits_to_be_opened_ends_the_command() {
    let shell = Shell::quick().await;
    let ledger = shell.path("ledger.sqlite");
    let holder = rusqlite::Connection::open(&ledger).unwrap();
    holder
        .execute_batch("CREATE TABLE other (a); BEGIN EXCLUSIVE; INSERT INTO other VALUES (1);")
        .unwrap();
    let out = shell.path("rows.jsonl").display().to_string();
    let wait = crate::fast(&["wait", "1"]);
    for (args, signal, code) in [
        (&wait[..], "-INT", 130),
        (&["results", "1", "--out", &out][..], "-TERM", 143),
        (&["jobs", "resume", "--dir", &out][..], "-INT", 130),
    ] {
        let ended = signalled(&shell, args, signal, &ledger).await;
        assert_eq!(ended.code, Some(code), "{args:?}: {}", ended.stderr);
        assert!(ended.took < PROMPTLY, "{args:?} took {:?}", ended.took);
    }
    drop(holder);
}

/// Runs `hasdata args`, and once the simulator has been asked for the job's status (and
/// `after` more, for the answer to arrive), while the test holds the ledger's lock so the
/// command sits noting that status, sends SIGINT. A minute's limit, as [`signalled`].
async fn interrupted_after_status(shell: &Shell, args: &[&str], after: Duration) -> Ended {
    let asked = shell.sim.requests().get("status").copied().unwrap_or(0);
    let child = shell
        .command(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    until("the status asked for", || async {
        (shell.sim.requests().get("status").copied().unwrap_or(0) > asked).then_some(())
    })
    .await;
    tokio::time::sleep(after).await;
    ended(child, "-INT", &format!("`hasdata {args:?}`")).await
}

/// `wait` reads the job's final status, then notes it in the ledger, whose lock another
/// process holds; Ctrl-C meanwhile says the job ended (and that the ledger may not have
/// noted it), not that it "is still running".
/// A simulator whose jobs end at once, and a crawler job submitted to it: its id.
async fn ended_crawler_job() -> (Shell, String) {
    let shell = Shell::start(SimConfig {
        job_duration: Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    let body = shell.file("crawl.json", r#"{"urls": ["https://example.com"]}"#);
    let id = shell.submitted("crawler", &body).await;
    (shell, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_while_wait_notes_the_end_says_the_job_ended() {
    let (shell, id) = ended_crawler_job().await;
    let _holder = hold_lock(&shell.path("ledger.sqlite"));
    let ended = interrupted_after_status(
        &shell,
        &crate::fast(&["wait", &id]),
        Duration::from_millis(500),
    )
    .await;
    assert_eq!(ended.code, Some(130), "{}", ended.stderr);
    assert!(ended.took < PROMPTLY, "took {:?}", ended.took);
    let last = ended.stderr.trim().lines().last().unwrap_or_default();
    assert!(
        last.contains(&format!("job {id} already ended finished"))
            && last.contains("the ledger may not have noted it")
            && !last.contains("still running"),
        "{}",
        ended.stderr
    );
}

/// `run` the same: its job's end was read and is being noted when Ctrl-C comes; the message
/// says it ended and how to get its rows, and `--stop-on-interrupt` sends no stop to a job
/// that is over. Each status answer comes a second late, so the test takes the lock after
/// the submit was recorded and before the end is read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_while_run_notes_the_end_says_the_job_ended_and_stops_nothing() {
    let shell = Shell::start(SimConfig {
        job_duration: Duration::ZERO,
        faults: "status:latency=1s@1".parse().unwrap(),
        ..SimConfig::default()
    })
    .await;
    let body = shell.file("crawl.json", r#"{"urls": ["https://example.com"]}"#);
    // The ledger exists before the run, as it does for anyone who has used hasdata.
    shell.submitted("crawler", &body).await;
    let out = shell.path("rows.jsonl");
    let out_text = out.display().to_string();
    let run = crate::fast(&[
        "run",
        "crawler",
        "--body",
        &body,
        "--out",
        &out_text,
        "--stop-on-interrupt",
    ]);
    let submits = shell.sim.submits();
    let child = shell
        .command(&run)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let asked = shell.sim.requests().get("status").copied().unwrap_or(0);
    // The status is asked for once the submit and its first note are in the ledger.
    until("the status asked for", || async {
        (shell.sim.requests().get("status").copied().unwrap_or(0) > asked).then_some(())
    })
    .await;
    let holder = hold_lock(&shell.path("ledger.sqlite"));
    // The answer (a second late) has come and the run waits to note it.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let output = signal_and_wait(child, "-INT", "`hasdata run`").await;
    drop(holder);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(shell.sim.submits(), submits + 1, "{stderr}");
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    let last = stderr.trim().lines().last().unwrap_or_default();
    assert!(
        last.contains("already ended finished")
            && last.contains("results")
            && !last.contains("still running")
            && !last.contains("was stopped"),
        "{stderr}"
    );
    assert_eq!(
        shell.sim.requests().get("stop").copied().unwrap_or(0),
        0,
        "a stop was sent to a job that had ended: {stderr}"
    );
}

/// `jobs resume` interrupted while its job's end is being noted: the job is over, so the
/// message does not call the jobs not collected yet "still running".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_while_resume_notes_the_end_does_not_call_the_jobs_running() {
    let (shell, _) = ended_crawler_job().await;
    let _holder = hold_lock(&shell.path("ledger.sqlite"));
    let dir = shell.path("out").display().to_string();
    let ended = interrupted_after_status(
        &shell,
        &crate::fast(&["jobs", "resume", "--dir", &dir]),
        Duration::from_millis(500),
    )
    .await;
    assert_eq!(ended.code, Some(130), "{}", ended.stderr);
    assert!(ended.took < PROMPTLY, "took {:?}", ended.took);
    let last = ended.stderr.trim().lines().last().unwrap_or_default();
    assert!(
        last.contains("interrupted")
            && last.contains("jobs resume")
            && !last.contains("still running"),
        "{}",
        ended.stderr
    );
}
