//! An ended job whose `dataRowsCount` does not read: the export writes every row, keeps them
//! as `FILE.partial`, exits 7 and quotes the count as sent; never "of 0 rows".

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::Shell;

const JOB: u64 = 12;
const ROWS: u64 = 250;

/// A server of finished job [`JOB`] whose status sends `dataRowsCount` as `count` (JSON
/// text), its rows on three pages and in `data.json` (same origin), one request a connection.
async fn counted_job(count: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let link = format!("{base}/files/{JOB}.json");
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let link = link.clone();
            tokio::spawn(async move {
                let mut socket = BufReader::new(socket);
                let mut line = String::new();
                socket.read_line(&mut line).await.ok()?;
                let path = line.split_whitespace().nth(1)?.to_owned();
                loop {
                    let mut header = String::new();
                    if socket.read_line(&mut header).await.ok()? <= 2 {
                        break;
                    }
                }
                let row = |n: u64| format!(r#"{{"n": {n}}}"#);
                let body = if path.starts_with("/files/") {
                    let rows: Vec<String> = (0..ROWS).map(row).collect();
                    format!("[{}]", rows.join(","))
                } else if let Some((_, rest)) = path.split_once("page=") {
                    let page: u64 = rest.split('&').next()?.parse().ok()?;
                    let rows: Vec<String> = ((page - 1) * 100..(page * 100).min(ROWS))
                        .map(|n| format!(r#"{{"id": "r{n}", "data": {}}}"#, row(n)))
                        .collect();
                    format!(
                        r#"{{"meta": {{"lastPage": 3, "total": {ROWS}}}, "data": [{}]}}"#,
                        rows.join(",")
                    )
                } else {
                    format!(
                        r#"{{"id": {JOB}, "status": "finished", "dataRowsCount": {count}, "data": {{"json": "{link}"}}}}"#
                    )
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let socket = socket.get_mut();
                socket.write_all(head.as_bytes()).await.ok()?;
                socket.write_all(body.as_bytes()).await.ok()?;
                socket.shutdown().await.ok()
            });
        }
    });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_row_count_is_quoted_and_the_export_kept_partial() {
    let shell = Shell::quick().await;
    for (count, source) in [(r#""-5""#, "auto"), ("1.5", "pages"), (r#""abc""#, "file")] {
        let base = counted_job(count).await;
        let out = shell.path(&format!("rows-{source}.jsonl"));
        let out_text = out.display().to_string();
        let ran = shell
            .run(&[
                "--base-url",
                &base,
                "results",
                &JOB.to_string(),
                "--source",
                source,
                "--out",
                &out_text,
            ])
            .await;
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
