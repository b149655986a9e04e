//! An ended job whose `dataRowsCount` does not read: the export writes every row, keeps them
//! as `FILE.partial`, exits 7 and quotes the count as sent; never "of 0 rows".

use crate::Shell;
use crate::loopback::{Reply, serve};

const JOB: u64 = 12;
const ROWS: u64 = 250;

/// A server of finished job [`JOB`] whose status sends `dataRowsCount` as `count` (JSON
/// text), its rows on three pages and in `data.json` (same origin).
async fn counted_job(count: &'static str) -> String {
    serve(move |base, request| {
        let row = |n: u64| format!(r#"{{"n": {n}}}"#);
        let path = request.path();
        if path.starts_with("/files/") {
            let rows: Vec<String> = (0..ROWS).map(row).collect();
            Reply::ok(format!("[{}]", rows.join(",")))
        } else if let Some((_, rest)) = path.split_once("page=") {
            let page: u64 = rest.split('&').next().and_then(|n| n.parse().ok()).unwrap_or(1);
            let rows: Vec<String> = ((page - 1) * 100..(page * 100).min(ROWS))
                .map(|n| format!(r#"{{"id": "r{n}", "data": {}}}"#, row(n)))
                .collect();
            Reply::ok(format!(
                r#"{{"meta": {{"lastPage": 3, "total": {ROWS}}}, "data": [{}]}}"#,
                rows.join(",")
            ))
        } else {
            Reply::ok(format!(
                r#"{{"id": {JOB}, "status": "finished", "dataRowsCount": {count}, "data": {{"json": "{base}/files/{JOB}.json"}}}}"#
            ))
        }
    })
    .await
}

/// `hasdata results` of [`JOB`] from `source` to the file `name` in `shell`'s directory.
async fn export(shell: &Shell, base: &str, source: &str, name: &str) -> crate::Ran {
    let out = shell.path(name).display().to_string();
    let job = JOB.to_string();
    shell
        .run(&[
            "--base-url",
            base,
            "results",
            &job,
            "--source",
            source,
            "--out",
            &out,
        ])
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_row_count_is_quoted_and_the_export_kept_partial() {
    let shell = Shell::quick().await;
    for (count, source) in [(r#""-5""#, "auto"), ("1.5", "pages"), (r#""abc""#, "file")] {
        let base = counted_job(count).await;
        let out = shell.path(&format!("rows-{source}.jsonl"));
        let ran = export(&shell, &base, source, &format!("rows-{source}.jsonl")).await;
        assert_eq!(ran.code, 7, "{count} {source}: {}", ran.stderr);
        assert!(
            ran.stderr.contains(&format!("dataRowsCount {count}"))
                && ran.stderr.contains("wrote 250 rows")
                && !ran.stderr.contains(" of 0"),
            "{count} {source}: {}",
            ran.stderr
        );
        assert!(!out.exists(), "{count} {source}: not under the final name");
        let partial = crate::read(&shell.path(&format!("rows-{source}.jsonl.partial")));
        assert_eq!(partial.lines().count(), ROWS as usize, "{count} {source}");
    }
}

/// More rows than a readable count (250 against 100, read twice): exit 7, both counts named,
/// what was written kept as `FILE.partial`, from the pages and from `data.json` alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_rows_than_the_count_is_an_inconsistent_export_kept_partial() {
    let shell = Shell::quick().await;
    let base = counted_job("100").await;
    for source in ["pages", "file"] {
        let out = shell.path(&format!("more-{source}.jsonl"));
        let ran = export(&shell, &base, source, &format!("more-{source}.jsonl")).await;
        assert_eq!(ran.code, 7, "{source}: {}", ran.stderr);
        assert!(
            ran.stderr
                .contains("the results hold 250 rows but job 12 reports 100")
                && ran.stderr.contains("wrote 250 rows"),
            "{source}: {}",
            ran.stderr
        );
        assert!(!out.exists(), "{source}");
        let partial = crate::read(&shell.path(&format!("more-{source}.jsonl.partial")));
        assert_eq!(partial.lines().count(), ROWS as usize, "{source}");
    }
}

/// `status` of such a job shows the count as sent, not `0 rows`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_an_unreadable_row_count_as_sent() {
    let shell = Shell::quick().await;
    let base = counted_job(r#""-5""#).await;
    let ran = shell
        .run(&["--base-url", &base, "status", &JOB.to_string()])
        .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stdout.contains(r#"rows "-5" (not a count)"#) && !ran.stdout.contains("0 rows"),
        "{}",
        ran.stdout
    );
}

/// `run --max-credits` of a job whose `creditsSpent` does not read: the spend read as 0 and
/// the bound was never reached; the job is stopped, saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_credits_stops_a_job_whose_spend_does_not_read() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let shell = Shell::quick().await;
    let stopped = Arc::new(AtomicBool::new(false));
    let seen_stop = stopped.clone();
    let base = serve(move |_, request| {
        if request.method() == "DELETE" {
            stopped.store(true, Ordering::SeqCst);
        }
        let status = if stopped.load(Ordering::SeqCst) {
            "stopped"
        } else {
            "in_progress"
        };
        Reply::ok(if request.method() == "POST" {
            format!(r#"{{"id": {JOB}, "status": "pending"}}"#)
        } else if request.path().contains("page=") {
            r#"{"meta": {"lastPage": 1, "total": 0}, "data": []}"#.to_owned()
        } else {
            format!(
                r#"{{"id": {JOB}, "status": "{status}", "dataRowsCount": 0, "creditsSpent": "-5"}}"#
            )
        })
    })
    .await;
    let body = shell.file("crawl.json", r#"{"urls": ["https://example.com"]}"#);
    let mut child = shell
        .command(&crate::fast(&[
            "--base-url",
            &base,
            "run",
            "crawler",
            "--body",
            &body,
            "--max-credits",
            "100",
            "--out",
            "capped.jsonl",
        ]))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Unbounded, it never ends (the job runs on, its spend read as 0): a minute is a hang,
    // and the process is killed so that the test fails instead.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("run --max-credits went on past a minute: the bound was not held");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let output = child.wait_with_output().unwrap();
    let ran = crate::Ran {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert_eq!(ran.code, 4, "a stopped job exits 4: {}", ran.stderr);
    assert!(seen_stop.load(Ordering::SeqCst), "stopped: {}", ran.stderr);
    assert!(
        ran.stderr.contains(r#"credits_spent="-5""#)
            && ran.stderr.contains("spend does not read")
            && ran.stderr.contains(r#"credits "-5" (not a count)"#)
            && ran.stderr.contains("max-credits"),
        "{}",
        ran.stderr
    );
}
