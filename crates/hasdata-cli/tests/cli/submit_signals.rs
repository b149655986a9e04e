//! A single `hasdata submit` (and `run`) hears SIGINT/SIGTERM: while it waits out the
//! concurrency cap (429s, no job created) the signal ends the wait at once; while its POST is
//! out the answer is awaited, the job recorded and printed; while it reads its body from
//! stdin the signal ends it.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::loopback::{Reply, serve};
use crate::{Shell, signal_and_wait, until};

/// How the server answers a submit's POST.
#[derive(Clone, Copy)]
enum Answer {
    /// 429 with `Retry-After: 30`, every time: the concurrency cap.
    Busy,
    /// A new job, `id` 4242, a second after the POST came.
    Late,
    /// 500 to the first POST (the submit is uncertain), then as [`Answer::Late`].
    FailsOnce,
    /// As [`Answer::Late`], a minute after the POST came.
    Never,
}

/// A server answering POSTs as `answer`; counts the POSTs.
async fn server(answer: Answer) -> (String, Arc<AtomicUsize>) {
    let posts = Arc::new(AtomicUsize::new(0));
    let counted = posts.clone();
    let base = serve(move |_, request| {
        if request.method() != "POST" {
            return Reply::status("404 Not Found", r#"{"message": "not here"}"#);
        }
        let first = counted.fetch_add(1, Ordering::SeqCst) == 0;
        let job = || Reply::ok(r#"{"id": 4242, "status": "pending"}"#);
        match answer {
            Answer::Busy => Reply::status(
                "429 Too Many Requests",
                r#"{"message": "concurrency limit reached"}"#,
            )
            .with_head("retry-after: 30\r\n"),
            Answer::FailsOnce if first => {
                Reply::status("500 Internal Server Error", r#"{"message": "try again"}"#)
            }
            Answer::Never => job().after(Duration::from_secs(60)),
            Answer::Late | Answer::FailsOnce => job().after(Duration::from_secs(1)),
        }
    })
    .await;
    (base, posts)
}

/// `hasdata --base-url BASE ARGS...` started, its output piped.
fn start(shell: &Shell, base: &str, args: &[&str]) -> std::process::Child {
    let args = [&["--base-url", base][..], args].concat();
    shell
        .command(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Until the server has had `n` POSTs.
async fn posted(posts: &AtomicUsize, n: usize) {
    until("the POST", || async {
        (posts.load(Ordering::SeqCst) == n).then_some(())
    })
    .await;
}

/// The states of the intents in the ledger at `path`, once it can be read.
fn intent_states(path: &std::path::Path) -> Vec<String> {
    let Ok(db) =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return Vec::new();
    };
    let Ok(mut query) = db.prepare("SELECT state FROM intents ORDER BY created_at") else {
        return Vec::new();
    };
    query
        .query_map([], |row| row.get(0))
        .map(|rows| rows.flatten().collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_ends_the_wait_out_of_the_concurrency_cap_with_no_job() {
    for (command, signal, code) in [("submit", "-INT", 130), ("run", "-TERM", 143)] {
        let shell = Shell::quick().await;
        let body = shell.file("b.json", r#"{"urls": ["https://example.com"]}"#);
        let (base, posts) = server(Answer::Busy).await;
        let child = start(&shell, &base, &[command, "crawler", "--body", &body]);
        // Into the wait: the 429 came and the intent is refused (no job) until it is resent.
        let ledger = shell.path("ledger.sqlite");
        until("the intent refused", || async {
            (intent_states(&ledger) == ["refused"]).then_some(())
        })
        .await;
        let what = format!("`hasdata {command}` waiting out a 429");
        let output = signal_and_wait(child, signal, &what).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{command}: {stderr}");
        assert!(
            stderr.contains("no job was created") && stderr.contains("429"),
            "{command}: {stderr}"
        );
        assert_eq!(posts.load(Ordering::SeqCst), 1, "{command}: sent once");
        assert_eq!(intent_states(&ledger), ["refused"], "{command}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_while_the_post_is_out_awaits_the_job_and_prints_it() {
    let shell = Shell::quick().await;
    let body = shell.file("b.json", r#"{"urls": ["https://example.com"]}"#);
    let (base, posts) = server(Answer::Late).await;
    let child = start(&shell, &base, &["submit", "crawler", "--body", &body]);
    posted(&posts, 1).await;
    let output = signal_and_wait(child, "-INT", "`hasdata submit` with its POST out").await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "4242");
    assert!(stderr.contains("job 4242 was created"), "{stderr}");
    assert_eq!(intent_states(&shell.path("ledger.sqlite")), ["submitted"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_while_the_body_is_read_from_stdin_ends_the_command() {
    let shell = Shell::quick().await;
    for args in [
        &["submit", "crawler"][..],
        &["run", "crawler", "--body", "-"],
        &["submit", "crawler", "--bodies", "-"],
    ] {
        // stdin stays open and empty: the command waits on it, as on a terminal.
        let mut child = shell
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let what = format!("`hasdata {args:?}` reading stdin");
        let output = signal_and_wait(child, "-INT", &what).await;
        drop(stdin);
        assert_ne!(output.status.code(), Some(0), "{args:?}");
        assert_eq!(shell.sim.submits(), 0, "{args:?}");
    }
}

/// `jobs retry KEY --yes` hears a signal as `submit` does: with its POST out, the answer is
/// awaited and the job recorded and printed, exit 130. It died at once, saying nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_while_a_retry_is_out_awaits_the_job_and_prints_it() {
    let shell = Shell::quick().await;
    let body = shell.file("b.json", r#"{"urls": ["https://example.com"]}"#);
    let (base, posts) = server(Answer::FailsOnce).await;
    let ran = shell
        .run(&["--base-url", &base, "submit", "crawler", "--body", &body])
        .await;
    assert_ne!(ran.code, 0, "{}", ran.stderr);
    let ledger = shell.path("ledger.sqlite");
    assert_eq!(intent_states(&ledger), ["uncertain"]);
    let key: String = rusqlite::Connection::open(&ledger)
        .unwrap()
        .query_row("SELECT key FROM intents", [], |row| row.get(0))
        .unwrap();
    let child = start(&shell, &base, &["jobs", "retry", &key, "--yes"]);
    posted(&posts, 2).await;
    let output = signal_and_wait(child, "-INT", "`hasdata jobs retry` with its POST out").await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "4242");
    assert!(stderr.contains("job 4242 was created"), "{stderr}");
    assert_eq!(intent_states(&ledger), ["submitted"]);
}

/// A second signal while the POST's answer is awaited ends the command at once: the intent
/// stays pending, and the failure says how to find out whether a job exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_ends_the_wait_for_the_answer_naming_the_intent() {
    let shell = Shell::quick().await;
    let body = shell.file("b.json", r#"{"urls": ["https://example.com"]}"#);
    let (base, posts) = server(Answer::Never).await;
    let child = start(&shell, &base, &["submit", "crawler", "--body", &body]);
    posted(&posts, 1).await;
    crate::send_signal(child.id(), "-INT");
    // Two signals sent at once may be taken as one; the first is heard well within this.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let output = signal_and_wait(child, "-TERM", "`hasdata submit` signalled twice").await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(143), "{stderr}");
    assert!(
        stderr.contains("interrupted again") && stderr.contains("jobs show"),
        "{stderr}"
    );
    assert_eq!(intent_states(&shell.path("ledger.sqlite")), ["pending"]);
}

/// `submit --bodies`: Ctrl-C while its submits wait out the concurrency cap drops them (no job
/// was created; they count as unsent, and a rerun sends them) instead of waiting the hour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_ends_a_bulk_submits_wait_out_of_the_cap() {
    let shell = Shell::quick().await;
    let line = r#"{"urls": ["https://example.com"]}"#;
    let bodies = shell.file("bodies.jsonl", &format!("{line}\n{line}\n"));
    let (base, posts) = server(Answer::Busy).await;
    let child = start(
        &shell,
        &base,
        &[
            "submit",
            "crawler",
            "--bodies",
            &bodies,
            "--concurrency",
            "2",
        ],
    );
    let ledger = shell.path("ledger.sqlite");
    until("both intents refused", || async {
        (intent_states(&ledger) == ["refused", "refused"]).then_some(())
    })
    .await;
    let output =
        signal_and_wait(child, "-INT", "`hasdata submit --bodies` waiting out a 429").await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("0 submitted, 0 uncertain, 2 unsent"),
        "{stderr}"
    );
    assert_eq!(posts.load(Ordering::SeqCst), 2, "each sent once");
}
