//! `data.json` files a server may send that the simulator does not. One that hands on more rows
//! than the job reports and then fails (a bad byte, or a cut the re-readings do not get past)
//! falls back to the pages; the rows handed on are still counted: the reading ends with
//! [`Error::RowCountMismatch`], never cleanly with them all. One that starts with a byte order
//! mark is read.

use futures::TryStreamExt;
use hasdata_jobs::{Error, RowJson, RowSource};
use hasdata_model::JobId;

use crate::Answer;

const JOB: u64 = 31;
/// The rows the job reports, and its pages hold.
const ROWS: u64 = 5;

/// A server of finished job [`JOB`] of [`ROWS`] rows (on one page) whose `data.json` is `file`.
async fn job_with_file(file: &'static str) -> String {
    crate::serve(move |base, path| {
        if path.starts_with("/files/") {
            Answer::ok(file)
        } else if path.contains("page=1&") {
            let rows: Vec<String> = (0..ROWS)
                .map(|n| format!(r#"{{"id": "r{n}", "data": {{"a":{n}}}}}"#))
                .collect();
            Answer::ok(format!(
                r#"{{"meta": {{"lastPage": 1, "total": {ROWS}}}, "data": [{}]}}"#,
                rows.join(",")
            ))
        } else if path.contains("page=") {
            Answer::ok(r#"{"meta": {"lastPage": 1, "total": 5}, "data": []}"#)
        } else {
            Answer::ok(format!(
                r#"{{"id": {JOB}, "status": "finished", "dataRowsCount": {ROWS}, "data": {{"json": "{base}/files/{JOB}.json"}}}}"#
            ))
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_handed_on_by_a_failed_file_beyond_the_count_end_in_a_mismatch() {
    for file in [
        // Seven rows, then a byte that is no value: the file is not a JSON array.
        r#"[{"a":0},{"a":1},{"a":2},{"a":3},{"a":4},{"a":5},{"a":6},x]"#,
        // Seven rows, then cut inside the eighth, every time it is read.
        r#"[{"a":0},{"a":1},{"a":2},{"a":3},{"a":4},{"a":5},{"a":6},{"a":"#,
    ] {
        let base = job_with_file(file).await;
        let rows = crate::loopback_client(&base)
            .rows::<RowJson>(JobId::from(JOB))
            .source(RowSource::File);
        let (read, ended) = crate::rows_then_error(rows).await;
        assert_eq!(read, 7, "{file}");
        assert!(
            matches!(
                ended,
                Some(Error::RowCountMismatch {
                    rows: 7,
                    expected: 5,
                    ..
                })
            ),
            "{file}: {ended:?}"
        );
    }
}

/// A file that starts with a UTF-8 byte order mark is read, not the pages: its rows (`f`, where
/// the pages hold `a`) are what comes. It went to the pages ("expected '[', found 'ï'").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_with_a_byte_order_mark_is_read_not_paged() {
    let base = job_with_file("\u{feff}[{\"f\":0},{\"f\":1},{\"f\":2},{\"f\":3},{\"f\":4}]").await;
    let rows: Vec<RowJson> = crate::loopback_client(&base)
        .rows::<RowJson>(JobId::from(JOB))
        .source(RowSource::File)
        .try_collect()
        .await
        .unwrap();
    let rows: Vec<&[u8]> = rows.iter().map(RowJson::as_bytes).collect();
    assert_eq!(
        rows,
        [
            &br#"{"f":0}"#[..],
            br#"{"f":1}"#,
            br#"{"f":2}"#,
            br#"{"f":3}"#,
            br#"{"f":4}"#
        ]
    );
}
