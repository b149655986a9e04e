//! A paged reading asked for far more pages at once than the client can send: its fetches
//! and the pages it holds stay within the client's own request limit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::TryStreamExt;
use hasdata_jobs::{Client, DEFAULT_MAX_REQUESTS, Error, RowJson};
use hasdata_model::JobId;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Pages that hold rows; every page after them is empty.
const FULL_PAGES: u64 = 3;

/// Results pages asked for, by page number.
type Asked = Arc<Mutex<HashMap<u64, usize>>>;

/// A finished job `id` whose status says `rows_count` rows while its pages hold 300 (the
/// first [`FULL_PAGES`], every later one empty), one request a connection. Counts the
/// results pages asked for in `asked`; the first request for page `stalled` goes silent
/// halfway through its body, the connection left open far longer than a client's idle limit.
async fn pages_server(id: u64, rows_count: &str, stalled: Option<u64>, asked: Asked) -> String {
    let status = format!(r#"{{"id": {id}, "status": "finished", "dataRowsCount": {rows_count}}}"#);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (asked, status) = (asked.clone(), status.clone());
            tokio::spawn(async move {
                let mut socket = BufReader::new(socket);
                let path = crate::request_path(&mut socket).await?;
                let mut stall = false;
                let body = match path.split_once("page=") {
                    None => status,
                    Some((_, rest)) => {
                        let page: u64 = rest.split('&').next()?.parse().ok()?;
                        let times = {
                            let mut asked = asked.lock().unwrap();
                            let times = asked.entry(page).or_default();
                            *times += 1;
                            *times
                        };
                        stall = stalled == Some(page) && times == 1;
                        let rows: Vec<String> = if page <= FULL_PAGES {
                            (0..100)
                                .map(|row| format!(r#"{{"id": "r{page}-{row}", "data": {{}}}}"#))
                                .collect()
                        } else {
                            Vec::new()
                        };
                        format!(
                            r#"{{"meta": {{"lastPage": {FULL_PAGES}, "total": 300}}, "data": [{}]}}"#,
                            rows.join(",")
                        )
                    }
                };
                let socket = socket.get_mut();
                let head = crate::answer_head("200 OK", body.len());
                socket.write_all(head.as_bytes()).await.ok()?;
                if stall {
                    socket
                        .write_all(&body.as_bytes()[..body.len() / 2])
                        .await
                        .ok()?;
                    socket.flush().await.ok()?;
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    return None;
                }
                socket.write_all(body.as_bytes()).await.ok()?;
                socket.shutdown().await.ok()
            });
        }
    });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_concurrency_against_a_count_that_lies_asks_for_a_bounded_number_of_pages() {
    // A count that lies: 10^18 rows.
    let asked = Asked::default();
    let base = pages_server(9, r#""1000000000000000000""#, None, asked.clone()).await;
    let client = Client::builder()
        .api_key("hd-page-bounds-1")
        .base_url(&base)
        .retry_policy(crate::fast_retries())
        .build()
        .unwrap();
    // 100,000 asked for: 200,000 pages were fetched (each a task, 450 MB in all for the CLI)
    // before the reading could say the rows were missing. The deadline only turns that into
    // a failure; bounded, it takes well under a second.
    let read = tokio::time::timeout(
        Duration::from_secs(60),
        client
            .rows::<RowJson>(JobId::from(9))
            .pages()
            .concurrency(100_000)
            .try_collect::<Vec<RowJson>>(),
    )
    .await
    .expect("the reading ends");
    match read {
        Err(Error::Incomplete { rows, expected, .. }) => {
            assert_eq!((rows, expected), (300, 1_000_000_000_000_000_000));
        }
        other => panic!(
            "expected Incomplete, got {:?}",
            other.map(|rows| rows.len())
        ),
    }
    // Pages asked for ahead: twice the client's requests and 32 more at most (the pager's
    // slack), and the three read.
    let asked: usize = asked.lock().unwrap().values().sum();
    assert!(
        asked <= 2 * DEFAULT_MAX_REQUESTS + 32 + FULL_PAGES as usize,
        "{asked} pages asked for"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_whose_body_goes_silent_once_is_asked_for_again() {
    let asked = Asked::default();
    let base = pages_server(10, "300", Some(2), asked.clone()).await;
    let bottom = hasdata_transport::ReqwestTransport::builder()
        .read_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let client = Client::builder()
        .api_key("hd-page-bounds-2")
        .base_url(&base)
        .transport(Arc::new(bottom))
        .retry_policy(crate::fast_retries())
        .build()
        .unwrap();
    // The silence ended the export with "the body went silent" without a second request,
    // though a body that breaks off (a reset) was asked for again.
    let rows = tokio::time::timeout(
        Duration::from_secs(30),
        client
            .rows::<RowJson>(JobId::from(10))
            .pages()
            .try_collect::<Vec<RowJson>>(),
    )
    .await
    .expect("the reading ends")
    .expect("every row, page 2 from its second request");
    assert_eq!(rows.len(), 300);
    assert_eq!(asked.lock().unwrap().get(&2), Some(&2));
}
