//! Every way one results page of a paged reading can fail names the page and the job: a bad
//! answer that outlasts the retries, a 404, a body cut off, a page that is not a page.

use std::time::Duration;

use futures::TryStreamExt;
use hasdata_jobs::{Error, RowJson};
use hasdata_model::JobId;

use crate::Answer;

/// The job: finished, 40 pages of 100 rows.
const JOB: u64 = 9;
/// The page that fails.
const BAD_PAGE: u64 = 37;

/// How page [`BAD_PAGE`] fails, every time it is asked for.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// This status, with a JSON error body.
    Status(&'static str),
    /// A 200 whose body stops halfway (the connection closed short of its length).
    Cut,
    /// A 200 with this body.
    Body(&'static str),
}

/// A server of job [`JOB`] whose page [`BAD_PAGE`] fails as `fault`.
async fn server(fault: Fault) -> String {
    crate::serve(move |_, path| {
        let page = path
            .split_once("page=")
            .and_then(|(_, rest)| rest.split('&').next()?.parse::<u64>().ok());
        match page {
            None => Answer::ok(format!(
                r#"{{"id": {JOB}, "status": "finished", "dataRowsCount": 4000}}"#
            )),
            Some(BAD_PAGE) => match fault {
                Fault::Status(status) => Answer::status(status, r#"{"message": "no such page"}"#),
                Fault::Cut => Answer::ok(page_body(BAD_PAGE)).cut(),
                Fault::Body(body) => Answer::ok(body),
            },
            Some(page) => Answer::ok(page_body(page)),
        }
    })
    .await
}

fn page_body(page: u64) -> String {
    let rows: Vec<String> = (0..100)
        .map(|row| format!(r#"{{"id": "r{page}-{row}", "data": {{"n": {row}}}}}"#))
        .collect();
    format!(
        r#"{{"meta": {{"lastPage": 40, "total": 4000}}, "data": [{}]}}"#,
        rows.join(",")
    )
}

/// The error a paged reading of the job ends with, read as raw rows and as typed rows (the
/// two readings parse pages differently).
async fn errors(fault: Fault) -> [Error; 2] {
    let base = server(fault).await;
    let client = crate::loopback_client(&base);
    let raw = tokio::time::timeout(
        Duration::from_secs(60),
        client
            .rows::<RowJson>(JobId::from(JOB))
            .pages()
            .try_collect::<Vec<_>>(),
    )
    .await
    .expect("the reading ends")
    .expect_err("page 37 fails");
    let typed = tokio::time::timeout(
        Duration::from_secs(60),
        client
            .rows::<serde_json::Value>(JobId::from(JOB))
            .pages()
            .try_collect::<Vec<_>>(),
    )
    .await
    .expect("the reading ends")
    .expect_err("page 37 fails");
    [raw, typed]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_way_a_page_fails_names_the_page_and_the_job() {
    let faults = [
        Fault::Status("500 Internal Server Error"),
        Fault::Status("503 Service Unavailable"),
        Fault::Status("404 Not Found"),
        Fault::Status("403 Forbidden"),
        Fault::Cut,
        Fault::Body(""),
        Fault::Body("[]"),
        Fault::Body(r#"{"data": 5}"#),
        Fault::Body(r#"{"meta": {"lastPage": 40, "total": 4000}}"#),
        Fault::Body(
            r#"{"meta": {"lastPage": 40, "total": 4000}, "data": [{"id": "x", "data": {"n": 1}}, 7]}"#,
        ),
        Fault::Body(
            r#"{"meta": {"lastPage": 40, "total": 4000}, "data": [{"id": "x", "data": {"n": "#,
        ),
        Fault::Body("<html>Bad gateway</html>"),
    ];
    for fault in faults {
        for error in errors(fault).await {
            let text = error.to_string();
            assert!(
                text.contains(&format!("page {BAD_PAGE}")),
                "{fault:?}: the error names no page: {text}"
            );
            assert!(
                text.contains(&format!("job {JOB}")),
                "{fault:?}: the error names no job: {text}"
            );
            assert_eq!(error.job_id(), Some(JobId::from(JOB)), "{fault:?}: {text}");
            // What was expected, in words: never a type's name ("struct OwnedShape").
            assert!(!text.contains("struct "), "{fault:?}: {text}");
            if matches!(error, Error::Api { .. } | Error::Transport { .. }) {
                assert_eq!(error.page(), Some(BAD_PAGE), "{fault:?}: {text}");
            }
        }
    }
}
