//! hasdata-jobs' tests: offline against the replay and mock transports, and end to end against
//! hasdata-sim over loopback with the real reqwest transport. One binary.

#![allow(clippy::unwrap_used, missing_docs)]

mod error_paths;
mod expired_links;
mod file_fallbacks;
#[cfg(feature = "sqlite")]
mod ledger_file;
#[cfg(feature = "postgres")]
mod ledger_url;
mod offline;
mod page_bounds;
mod page_faults;
mod raw_rows;
mod row_counts;
mod row_fields;
mod sim_lifecycle;
mod sim_rows;
mod validation;
#[cfg(feature = "webhooks")]
mod webhook_axum;
#[cfg(feature = "webhooks")]
mod webhook_edges;
#[cfg(feature = "webhooks")]
mod webhook_limits;
#[cfg(feature = "webhooks")]
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use hasdata_jobs::{Client, MemoryLedger};
use hasdata_sim::{SimConfig, SimHandle, Simulator};
use hasdata_transport::RetryPolicy;

/// A request's path (query included), read from `socket` with the rest of its head: the
/// loopback servers of these tests answer one request a connection.
pub async fn request_path(
    socket: &mut tokio::io::BufReader<tokio::net::TcpStream>,
) -> Option<String> {
    use tokio::io::AsyncBufReadExt;
    let mut line = String::new();
    socket.read_line(&mut line).await.ok()?;
    let path = line.split_whitespace().nth(1)?.to_owned();
    loop {
        let mut header = String::new();
        if socket.read_line(&mut header).await.ok()? <= 2 {
            return Some(path);
        }
    }
}

/// The head of a JSON answer (`status`: `200 OK`, ...) of `length` bytes, the connection
/// closed after it.
pub fn answer_head(status: &str, length: usize) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {length}\r\nconnection: close\r\n\r\n"
    )
}

/// What a loopback test server ([`serve`]) sends for one request: a status, a JSON body, and
/// whether the body is cut off halfway (the connection closed short of its length).
pub struct Answer {
    status: &'static str,
    body: String,
    cut: bool,
}

impl Answer {
    /// `200 OK` with `body`.
    pub fn ok(body: impl Into<String>) -> Answer {
        Answer::status("200 OK", body)
    }

    /// `status` (`404 Not Found`, ...) with `body`.
    pub fn status(status: &'static str, body: impl Into<String>) -> Answer {
        Answer {
            status,
            body: body.into(),
            cut: false,
        }
    }

    /// The same head, then half the body, then the connection closed.
    pub fn cut(self) -> Answer {
        Answer { cut: true, ..self }
    }
}

/// A loopback HTTP server answering each request (one a connection) with what `answer` makes
/// of the server's base URL (for links to the same origin) and the request's path, query
/// included. Returns the base URL.
pub async fn serve(answer: impl Fn(&str, &str) -> Answer + Send + Sync + 'static) -> String {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let answer = Arc::new(answer);
    let origin = base.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (answer, origin) = (Arc::clone(&answer), origin.clone());
            tokio::spawn(async move {
                let mut socket = tokio::io::BufReader::new(socket);
                let path = request_path(&mut socket).await?;
                let Answer { status, body, cut } = answer(&origin, &path);
                let socket = socket.get_mut();
                let head = answer_head(status, body.len());
                socket.write_all(head.as_bytes()).await.ok()?;
                let sent = if cut { body.len() / 2 } else { body.len() };
                socket.write_all(&body.as_bytes()[..sent]).await.ok()?;
                socket.shutdown().await.ok()
            });
        }
    });
    base
}

/// A client of a loopback server at `base`, with [`fast_retries`].
pub fn loopback_client(base: &str) -> Client {
    Client::builder()
        .api_key("hd-loopback")
        .base_url(base)
        .retry_policy(fast_retries())
        .build()
        .unwrap()
}

/// The rows a reading hands on until it ends (a minute at most), and the error it ends with.
pub async fn rows_then_error<T>(
    mut rows: impl futures::Stream<Item = hasdata_jobs::Result<T>> + Unpin,
) -> (u64, Option<hasdata_jobs::Error>) {
    use futures::StreamExt;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut read = 0;
    while let Some(row) = tokio::time::timeout_at(deadline, rows.next())
        .await
        .expect("the reading ends within a minute")
    {
        match row {
            Ok(_) => read += 1,
            Err(error) => return (read, Some(error)),
        }
    }
    (read, None)
}

/// Fast retries for loopback.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 8,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(20),
        max_total_delay: Duration::from_secs(10),
        max_retry_after: Duration::from_millis(10),
    }
}

/// A simulator and a client of it, with an inspectable ledger.
pub struct Env {
    pub sim: SimHandle,
    pub client: Client,
    pub ledger: Arc<MemoryLedger>,
}

impl Env {
    pub async fn start(config: SimConfig) -> Env {
        Env::with_concurrency(config, 4).await
    }

    pub async fn with_concurrency(config: SimConfig, pages: usize) -> Env {
        let sim = Simulator::start(config).await.unwrap();
        let ledger = Arc::new(MemoryLedger::new());
        let client = Client::builder()
            .api_key(sim.api_key())
            .base_url(sim.base_url())
            .retry_policy(fast_retries())
            .ledger(ledger.clone())
            .page_concurrency(pages)
            .timeout(Duration::from_secs(20))
            .allow_http_webhooks(true)
            .build()
            .unwrap();
        Env {
            sim,
            client,
            ledger,
        }
    }

    pub async fn instant() -> Env {
        Env::start(SimConfig {
            job_duration: Duration::ZERO,
            max_running: 1000,
            ..SimConfig::default()
        })
        .await
    }
}

/// Waits until `check` gives a value, asking every 10 ms. The deadline is a generous minute:
/// it only turns a hang into a failure, it is never a timing assumption.
pub async fn until<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The simulator's rows of a job, decoded as `R`, to compare with what a client received.
pub fn expected<R: serde::de::DeserializeOwned>(
    sim: &SimHandle,
    job: hasdata_model::JobId,
) -> Vec<R> {
    sim.expected_rows(job.as_u64().unwrap())
        .unwrap()
        .iter()
        .map(|row| serde_json::from_value(row.clone()).unwrap())
        .collect()
}

/// Asserts two row lists are equal without printing thousands of rows on failure.
#[track_caller]
pub fn assert_same_rows<R: PartialEq + std::fmt::Debug>(actual: &[R], expected: &[R]) {
    assert_eq!(actual.len(), expected.len(), "row counts differ");
    if let Some(i) = (0..actual.len()).find(|&i| actual[i] != expected[i]) {
        panic!(
            "row {i} differs:\n  got      {:?}\n  expected {:?}",
            actual[i], expected[i]
        );
    }
}
