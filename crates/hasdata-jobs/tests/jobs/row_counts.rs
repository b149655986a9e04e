//! An ended job whose `dataRowsCount` does not read: the record reads, every row is handed
//! on, and the reading ends unchecked, quoting the count as sent, never "0 rows".

use std::time::Duration;

use futures::StreamExt;
use hasdata_jobs::{Client, Error, RowJson, RowSource};
use hasdata_model::JobId;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const JOB: u64 = 11;
/// Rows the job's pages and file hold: three pages.
const ROWS: u64 = 250;

/// A server of finished job [`JOB`] whose status sends `dataRowsCount` as `count` (JSON text),
/// its rows on three pages and in `data.json` (on the same origin).
pub async fn counted_job(count: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let link = format!("{base}/files/{JOB}.json");
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let link = link.clone();
            tokio::spawn(async move {
                let mut socket = BufReader::new(socket);
                let path = crate::request_path(&mut socket).await?;
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
                let socket = socket.get_mut();
                let head = crate::answer_head("200 OK", body.len());
                socket.write_all(head.as_bytes()).await.ok()?;
                socket.write_all(body.as_bytes()).await.ok()?;
                socket.shutdown().await.ok()
            });
        }
    });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_count_that_does_not_read_ends_the_rows_unchecked_quoting_it() {
    for count in [r#""-5""#, r#""1e3""#, r#""abc""#, "-5", "1.5", "true", "{}"] {
        let base = counted_job(count).await;
        let client = Client::builder()
            .api_key("hd-row-counts")
            .base_url(&base)
            .retry_policy(crate::fast_retries())
            .build()
            .unwrap();
        // The record itself reads: a tolerant reader.
        let job = client.status(JobId::from(JOB)).await.unwrap();
        assert_eq!(job.unreadable_rows_count().as_deref(), Some(count));
        for source in [RowSource::Pages, RowSource::File, RowSource::Auto] {
            let mut rows = client.rows::<RowJson>(JobId::from(JOB)).source(source);
            let mut read = 0;
            let mut ended = None;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            while let Some(row) = tokio::time::timeout_at(deadline, rows.next())
                .await
                .expect("the reading ends")
            {
                match row {
                    Ok(_) => read += 1,
                    Err(error) => {
                        ended = Some(error);
                        break;
                    }
                }
            }
            assert_eq!(read, ROWS, "{count} {source:?}: every row is handed on");
            match ended {
                Some(Error::UncheckedRows { job_id, sent }) => {
                    assert_eq!((job_id, sent.as_str()), (JobId::from(JOB), count));
                }
                other => panic!("{count} {source:?}: expected UncheckedRows, got {other:?}"),
            }
        }
    }
}
