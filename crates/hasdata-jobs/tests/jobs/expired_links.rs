//! A `data.json` link refused the way storage hosts refuse an expired signed link (Google Cloud
//! Storage 400 `ExpiredToken`, 401, 410, as well as S3's 403) is refreshed once, and the rows
//! come from the fresh link: the pages, which answer 500 here, are never needed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::TryStreamExt;
use hasdata_jobs::{Client, RowJson, RowSource};
use hasdata_model::JobId;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const JOB: u64 = 21;
const ROWS: u64 = 30;

/// A server of finished job [`JOB`] whose status hands out link `/files/N.json` on its Nth
/// call: link 1 answers `refused`, any later one the file. Returns its base URL and the count
/// of results-page requests.
async fn refusing_first_link(refused: &'static str) -> (String, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let statuses = Arc::new(AtomicU64::new(0));
    let pages = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&pages);
    let origin = base.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (origin, statuses, pages) =
                (origin.clone(), Arc::clone(&statuses), Arc::clone(&counted));
            tokio::spawn(async move {
                let mut socket = BufReader::new(socket);
                let path = crate::request_path(&mut socket).await?;
                let (status, body) = if path == "/files/1.json" {
                    (
                        refused,
                        "<?xml version='1.0' encoding='UTF-8'?><Error><Code>ExpiredToken</Code></Error>".to_owned(),
                    )
                } else if path.starts_with("/files/") {
                    let rows: Vec<String> = (0..ROWS).map(|n| format!(r#"{{"n":{n}}}"#)).collect();
                    ("200 OK", format!("[{}]", rows.join(",")))
                } else if path.contains("/results") {
                    pages.fetch_add(1, Ordering::SeqCst);
                    ("500 Internal Server Error", "{}".to_owned())
                } else {
                    let n = statuses.fetch_add(1, Ordering::SeqCst) + 1;
                    (
                        "200 OK",
                        format!(
                            r#"{{"id": {JOB}, "status": "finished", "dataRowsCount": {ROWS}, "data": {{"json": "{origin}/files/{n}.json"}}}}"#
                        ),
                    )
                };
                let socket = socket.get_mut();
                let head = crate::answer_head(status, body.len());
                socket.write_all(head.as_bytes()).await.ok()?;
                socket.write_all(body.as_bytes()).await.ok()?;
                socket.shutdown().await.ok()
            });
        }
    });
    (base, pages)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_refused_as_expired_links_are_is_refreshed_before_the_pages_are_read() {
    for refused in [
        "400 Bad Request",
        "401 Unauthorized",
        "403 Forbidden",
        "410 Gone",
    ] {
        let (base, pages) = refusing_first_link(refused).await;
        let client = Client::builder()
            .api_key("hd-expired-links")
            .base_url(&base)
            .retry_policy(crate::fast_retries())
            .build()
            .unwrap();
        let rows: Vec<RowJson> = client
            .rows::<RowJson>(JobId::from(JOB))
            .source(RowSource::File)
            .try_collect()
            .await
            .unwrap_or_else(|e| panic!("{refused}: {e}"));
        assert_eq!(rows.len() as u64, ROWS, "{refused}");
        assert_eq!(pages.load(Ordering::SeqCst), 0, "{refused}: no page read");
    }
}
