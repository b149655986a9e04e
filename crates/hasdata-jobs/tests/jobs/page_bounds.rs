//! A paged reading asked for far more pages at once than the client can send: its fetches
//! and the pages it holds stay within the client's own request limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::TryStreamExt;
use hasdata_jobs::{Client, DEFAULT_MAX_REQUESTS, Error, RowJson};
use hasdata_model::JobId;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Pages that hold rows; every page after them is empty.
const FULL_PAGES: u64 = 3;

/// A finished job whose status claims 10^18 rows while its pages hold 300, one request a
/// connection. Counts the results pages asked for.
async fn lying_server(pages_asked: Arc<AtomicUsize>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let pages_asked = pages_asked.clone();
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
                let body = match path.split_once("page=") {
                    None => {
                        r#"{"id": 9, "status": "finished", "dataRowsCount": "1000000000000000000"}"#
                            .to_owned()
                    }
                    Some((_, rest)) => {
                        pages_asked.fetch_add(1, Ordering::SeqCst);
                        let page: u64 = rest.split('&').next()?.parse().ok()?;
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
async fn a_huge_concurrency_against_a_count_that_lies_asks_for_a_bounded_number_of_pages() {
    let pages_asked = Arc::new(AtomicUsize::new(0));
    let base = lying_server(pages_asked.clone()).await;
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
    let asked = pages_asked.load(Ordering::SeqCst);
    assert!(
        asked <= 2 * DEFAULT_MAX_REQUESTS + 32 + FULL_PAGES as usize,
        "{asked} pages asked for"
    );
}

/// A finished job of three full pages whose page 2 goes silent halfway through its body the
/// first time it is asked for, and comes whole the second time. Counts page 2's requests.
async fn stalling_server(page_2_asked: Arc<AtomicUsize>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let page_2_asked = page_2_asked.clone();
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
                let mut stall = false;
                let body = match path.split_once("page=") {
                    None => r#"{"id": 10, "status": "finished", "dataRowsCount": 300}"#.to_owned(),
                    Some((_, rest)) => {
                        let page: u64 = rest.split('&').next()?.parse().ok()?;
                        if page == 2 {
                            stall = page_2_asked.fetch_add(1, Ordering::SeqCst) == 0;
                        }
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
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let socket = socket.get_mut();
                socket.write_all(head.as_bytes()).await.ok()?;
                if stall {
                    socket
                        .write_all(&body.as_bytes()[..body.len() / 2])
                        .await
                        .ok()?;
                    socket.flush().await.ok()?;
                    // Silent, the connection open, far longer than the client's idle limit.
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
async fn a_page_whose_body_goes_silent_once_is_asked_for_again() {
    let page_2_asked = Arc::new(AtomicUsize::new(0));
    let base = stalling_server(page_2_asked.clone()).await;
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
    assert_eq!(page_2_asked.load(Ordering::SeqCst), 2);
}
