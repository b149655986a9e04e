//! A `data.json` link refused the way storage hosts refuse an expired signed link (Google Cloud
//! Storage 400 `ExpiredToken`, 401, 410, as well as S3's 403) is refreshed once, and the rows
//! come from the fresh link: the pages, which answer 500 here, are never needed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::TryStreamExt;
use hasdata_jobs::{RowJson, RowSource};
use hasdata_model::JobId;

use crate::Answer;

const JOB: u64 = 21;
const ROWS: u64 = 30;

/// A server of finished job [`JOB`] whose status hands out link `/files/N.json` on its Nth
/// call: link 1 answers `refused`, any later one the file. Returns its base URL and the count
/// of results-page requests.
async fn refusing_first_link(refused: &'static str) -> (String, Arc<AtomicU64>) {
    let statuses = AtomicU64::new(0);
    let pages = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&pages);
    let base = crate::serve(move |base, path| {
        if path == "/files/1.json" {
            Answer::status(
                refused,
                "<?xml version='1.0' encoding='UTF-8'?><Error><Code>ExpiredToken</Code></Error>",
            )
        } else if path.starts_with("/files/") {
            let rows: Vec<String> = (0..ROWS).map(|n| format!(r#"{{"n":{n}}}"#)).collect();
            Answer::ok(format!("[{}]", rows.join(",")))
        } else if path.contains("/results") {
            counted.fetch_add(1, Ordering::SeqCst);
            Answer::status("500 Internal Server Error", "{}")
        } else {
            let n = statuses.fetch_add(1, Ordering::SeqCst) + 1;
            Answer::ok(format!(
                r#"{{"id": {JOB}, "status": "finished", "dataRowsCount": {ROWS}, "data": {{"json": "{base}/files/{n}.json"}}}}"#
            ))
        }
    })
    .await;
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
        let client = crate::loopback_client(&base);
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
