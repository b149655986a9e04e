//! An ended job whose `dataRowsCount` does not read: the record reads, every row is handed
//! on, and the reading ends unchecked, quoting the count as sent, never "0 rows".

use hasdata_jobs::{Error, RowJson, RowSource};
use hasdata_model::JobId;

use crate::Answer;

const JOB: u64 = 11;
/// Rows the job's pages and file hold: three pages.
const ROWS: u64 = 250;

/// A server of finished job [`JOB`] whose status sends `dataRowsCount` as `count` (JSON text),
/// its rows on three pages and in `data.json` (on the same origin).
pub async fn counted_job(count: &'static str) -> String {
    crate::serve(move |base, path| {
        let row = |n: u64| format!(r#"{{"n": {n}}}"#);
        if path.starts_with("/files/") {
            let rows: Vec<String> = (0..ROWS).map(row).collect();
            Answer::ok(format!("[{}]", rows.join(",")))
        } else if let Some((_, rest)) = path.split_once("page=") {
            let page: u64 = rest.split('&').next().and_then(|n| n.parse().ok()).unwrap_or(1);
            let rows: Vec<String> = ((page - 1) * 100..(page * 100).min(ROWS))
                .map(|n| format!(r#"{{"id": "r{n}", "data": {}}}"#, row(n)))
                .collect();
            Answer::ok(format!(
                r#"{{"meta": {{"lastPage": 3, "total": {ROWS}}}, "data": [{}]}}"#,
                rows.join(",")
            ))
        } else {
            Answer::ok(format!(
                r#"{{"id": {JOB}, "status": "finished", "dataRowsCount": {count}, "data": {{"json": "{base}/files/{JOB}.json"}}}}"#
            ))
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_count_that_does_not_read_ends_the_rows_unchecked_quoting_it() {
    for count in [r#""-5""#, r#""1e3""#, r#""abc""#, "-5", "1.5", "true", "{}"] {
        let base = counted_job(count).await;
        let client = crate::loopback_client(&base);
        // The record itself reads: a tolerant reader.
        let job = client.status(JobId::from(JOB)).await.unwrap();
        assert_eq!(job.unreadable_rows_count().as_deref(), Some(count));
        for source in [RowSource::Pages, RowSource::File, RowSource::Auto] {
            let rows = client.rows::<RowJson>(JobId::from(JOB)).source(source);
            let (read, ended) = crate::rows_then_error(rows).await;
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
