//! Rows as the bytes the API sent: the same job read from its results pages and from its
//! `data.json`, served by a plain HTTP server on loopback with text no serializer would write
//! (keys out of order, `1.0`, integers past `u64`, `1e400`, `\u00e9` escapes, odd spacing).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::TryStreamExt;
use hasdata_jobs::{Client, RowJson};
use hasdata_model::JobId;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// The rows, compact, as they must come out of both sources.
const ROWS: [&str; 3] = [
    r#"{"z":1.0,"a":12345678901234567890123,"m":{"y":1e400,"b":[-0.0,2E-3]},"s":"caf\u00e9 \"quoted\" \\ / \n"}"#,
    r#"{"url":"https://example.com/\u00e9","emails":[],"n":null,"t":true}"#,
    r#"["not an object",1.50]"#,
];

/// Serves fixed bodies by path (query included), one request per connection.
struct StaticServer {
    base: String,
    requests: Arc<AtomicUsize>,
    /// Each request's path and whether it came before any answer to page 1 had started, in
    /// the order they came.
    arrivals: Arc<std::sync::Mutex<Vec<(String, bool)>>>,
    /// The most requests it was answering at once.
    most_at_once: Arc<AtomicUsize>,
}

impl StaticServer {
    /// `bodies` gets the server's own base URL, for links that point back at it.
    async fn start(bodies: impl FnOnce(&str) -> HashMap<String, String>) -> StaticServer {
        StaticServer::start_slow(bodies, std::time::Duration::ZERO).await
    }

    /// Each answer waits `delay` first, so requests overlap as much as the client lets them.
    async fn start_slow(
        bodies: impl FnOnce(&str) -> HashMap<String, String>,
        delay: std::time::Duration,
    ) -> StaticServer {
        StaticServer::start_held(bodies, move |_, _, waited| waited < delay).await
    }

    /// Each answer waits first while `hold` says so, given its path, the paths that came so
    /// far and how long it has waited (asked every few milliseconds).
    async fn start_held(
        bodies: impl FnOnce(&str) -> HashMap<String, String>,
        hold: impl Fn(&str, &[String], std::time::Duration) -> bool + Send + Sync + 'static,
    ) -> StaticServer {
        let hold = Arc::new(hold);
        let arrivals = Arc::new(std::sync::Mutex::new(Vec::new()));
        let first_answered = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let bodies = Arc::new(bodies(&base));
        let requests = Arc::new(AtomicUsize::new(0));
        let most_at_once = Arc::new(AtomicUsize::new(0));
        let (counter, most) = (requests.clone(), most_at_once.clone());
        let now = Arc::new(AtomicUsize::new(0));
        let arrived_at = arrivals.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let bodies = bodies.clone();
                counter.fetch_add(1, Ordering::SeqCst);
                let (now, most) = (now.clone(), most.clone());
                let (hold, arrivals) = (hold.clone(), arrived_at.clone());
                let first_answered = first_answered.clone();
                tokio::spawn(async move {
                    let at_once = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(at_once, Ordering::SeqCst);
                    // Counted from accept until the answer starts, inside the client's own
                    // window (from before it connects until it has read the whole body).
                    let arrived = |path: &str| {
                        let early = !first_answered.load(Ordering::SeqCst);
                        arrivals.lock().unwrap().push((path.to_owned(), early));
                    };
                    let held = |path: &str, waited| {
                        let paths: Vec<String> = arrivals
                            .lock()
                            .unwrap()
                            .iter()
                            .map(|(p, _)| p.clone())
                            .collect();
                        hold(path, &paths, waited)
                    };
                    Self::answer(socket, &bodies, arrived, held, |path| {
                        if path.contains("page=1&") {
                            first_answered.store(true, Ordering::SeqCst);
                        }
                        now.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                });
            }
        });
        StaticServer {
            base,
            requests,
            arrivals,
            most_at_once,
        }
    }

    async fn answer(
        socket: tokio::net::TcpStream,
        bodies: &HashMap<String, String>,
        arrived: impl FnOnce(&str),
        held: impl Fn(&str, std::time::Duration) -> bool,
        answering: impl FnOnce(&str),
    ) -> Option<()> {
        {
            {
                let mut socket = BufReader::new(socket);
                let path = crate::request_path(&mut socket).await?;
                arrived(&path);
                let since = std::time::Instant::now();
                while held(&path, since.elapsed()) {
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
                answering(&path);
                let (status, body) = match bodies.get(&path) {
                    Some(body) => ("200 OK", body.as_str()),
                    None => ("404 Not Found", "{}"),
                };
                let head = crate::answer_head(status, body.len());
                let socket = socket.get_mut();
                socket.write_all(head.as_bytes()).await.ok()?;
                socket.write_all(body.as_bytes()).await.ok()?;
                socket.shutdown().await.ok()
            }
        }
    }
}

/// A finished job whose page and `data.json` hold [`ROWS`], spaced differently in each.
async fn job_server(id: u64) -> StaticServer {
    StaticServer::start(|base| {
        let mut bodies = HashMap::new();
        bodies.insert(
            format!("/scrapers/jobs/{id}"),
            format!(
                r#"{{"id": {id}, "status": "finished", "dataRowsCount": "3",
                   "data": {{"json": "{base}/files/{id}.json"}}}}"#
            ),
        );
        // The page: pretty-printed, wrappers with only `data` among fields in any order.
        let wrapped: Vec<String> = ROWS
            .iter()
            .map(|row| {
                format!(
                    "{{\n  \"createdAt\": \"x\",\n  \"data\" : {}\n}}",
                    spaced(row)
                )
            })
            .collect();
        bodies.insert(
            format!("/scrapers/jobs/{id}/results?page=1&limit=100"),
            format!(
                "{{\"data\": [\n{}\n], \"meta\": {{\"lastPage\": 1, \"total\": \"3\"}}}}",
                wrapped.join(",\n")
            ),
        );
        bodies.insert(
            format!("/files/{id}.json"),
            format!("[\r\n\t{}\r\n]\n", ROWS.join(" ,\n\t")),
        );
        bodies
    })
    .await
}

/// Spaces a compact row's tokens out (outside strings), as a pretty printer might.
fn spaced(row: &str) -> String {
    let mut out = String::new();
    let mut in_string = false;
    let mut escaped = false;
    for c in row.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            ',' => out.push_str(" ,\n    "),
            ':' => out.push_str(" : "),
            '{' | '[' => {
                out.push(c);
                out.push_str("\n    ");
            }
            '}' | ']' => {
                out.push_str("\n  ");
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

fn client(base: &str) -> Client {
    Client::builder()
        .api_key("hd-raw-rows-1")
        .base_url(base)
        .retry_policy(crate::fast_retries())
        .build()
        .unwrap()
}

#[tokio::test]
async fn pages_and_data_json_give_the_bytes_the_api_sent() {
    let server = job_server(77).await;
    let client = client(&server.base);
    let from_pages: Vec<RowJson> = client
        .rows::<RowJson>(JobId::from(77))
        .pages()
        .try_collect()
        .await
        .unwrap();
    let from_file: Vec<RowJson> = client
        .rows::<RowJson>(JobId::from(77))
        .file()
        .try_collect()
        .await
        .unwrap();
    let expected: Vec<&[u8]> = ROWS.iter().map(|r| r.as_bytes()).collect();
    let pages: Vec<&[u8]> = from_pages.iter().map(RowJson::as_bytes).collect();
    let file: Vec<&[u8]> = from_file.iter().map(RowJson::as_bytes).collect();
    assert_eq!(pages, expected, "from the pages");
    assert_eq!(file, expected, "from data.json");
    assert!(server.requests.load(Ordering::SeqCst) >= 3);
    // Typed streams still decode into types: `Value` has no room for `1e400`, and says where.
    let error = client
        .rows::<serde_json::Value>(JobId::from(77))
        .file()
        .try_collect::<Vec<serde_json::Value>>()
        .await
        .unwrap_err();
    assert!(error.to_string().contains("data.json row 0.m.y"), "{error}");
    let second: serde_json::Value = from_file[1].decode().unwrap();
    assert_eq!(second["url"], "https://example.com/é");
}

/// A finished job `id` of `pages` pages of `rows` rows each, every row's data `{"page":N}`;
/// its count as a decimal string, as the API may send it.
fn paged_job(id: u64, pages: u64, rows: u64) -> HashMap<String, String> {
    let mut bodies = HashMap::new();
    bodies.insert(
        format!("/scrapers/jobs/{id}"),
        format!(
            r#"{{"id": {id}, "status": "finished", "dataRowsCount": "{}"}}"#,
            pages * rows
        ),
    );
    for page in 1..=pages {
        let data: Vec<String> = (0..rows)
            .map(|row| format!(r#"{{"id": "r{page}-{row}", "data": {{"page": {page}}}}}"#))
            .collect();
        bodies.insert(
            format!("/scrapers/jobs/{id}/results?page={page}&limit=100"),
            format!(
                r#"{{"meta": {{"lastPage": {pages}}}, "data": [{}]}}"#,
                data.join(",")
            ),
        );
    }
    bodies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_keeps_its_requests_in_flight_under_its_limit() {
    let pages = 12u64;
    let server = StaticServer::start_slow(
        |_| paged_job(5, pages, 1),
        std::time::Duration::from_millis(20),
    )
    .await;
    let client = Client::builder()
        .api_key("hd-raw-rows-1")
        .base_url(&server.base)
        .retry_policy(crate::fast_retries())
        .page_concurrency(8)
        .max_concurrent_requests(2)
        .build()
        .unwrap();
    let rows: Vec<RowJson> = client
        .rows::<RowJson>(JobId::from(5))
        .pages()
        .try_collect()
        .await
        .unwrap();
    let expected: Vec<String> = (1..=pages).map(|p| format!(r#"{{"page":{p}}}"#)).collect();
    let got: Vec<String> = rows.iter().map(ToString::to_string).collect();
    assert_eq!(got, expected);
    let most = server.most_at_once.load(Ordering::SeqCst);
    assert!(most <= 2, "{most} requests at once with a limit of 2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_page_does_not_hold_back_the_requests_after_it() {
    // Page 1 answers late: only once pages 2 and 3 have been asked for (or after 20 s,
    // when they never are). Its place in line is kept (rows come out in order), but the
    // requests after it go on in the meantime, never more at once than asked for.
    let pages = 12u64;
    let server = StaticServer::start_held(
        |_| paged_job(6, pages, 100),
        |path, arrived, waited| {
            let asked = |page: u64| {
                let path = format!("/scrapers/jobs/6/results?page={page}&limit=100");
                arrived.contains(&path)
            };
            path.contains("page=1&")
                && waited < std::time::Duration::from_secs(20)
                && !(asked(2) && asked(3))
        },
    )
    .await;
    let client = Client::builder()
        .api_key("hd-raw-rows-2")
        .base_url(&server.base)
        .retry_policy(crate::fast_retries())
        .page_concurrency(2)
        .build()
        .unwrap();
    let rows: Vec<RowJson> = client
        .rows::<RowJson>(JobId::from(6))
        .pages()
        .try_collect()
        .await
        .unwrap();
    let expected: Vec<String> = (1..=pages)
        .flat_map(|p| std::iter::repeat_n(format!(r#"{{"page":{p}}}"#), 100))
        .collect();
    let got: Vec<String> = rows.iter().map(ToString::to_string).collect();
    assert_eq!(got, expected);
    // With a place in line for each request, page 2 done and waiting for page 1 held the
    // second place, and nothing else was asked for until page 1 came.
    let early: Vec<String> = server
        .arrivals
        .lock()
        .unwrap()
        .iter()
        .filter(|(path, early)| *early && path.contains("page="))
        .map(|(path, _)| path.clone())
        .collect();
    for page in 2..=3 {
        let path = format!("/scrapers/jobs/6/results?page={page}&limit=100");
        assert!(
            early.contains(&path),
            "page {page} waited for page 1: {early:?}"
        );
    }
    let most = server.most_at_once.load(Ordering::SeqCst);
    assert!(
        most <= 2,
        "{most} page requests at once with a concurrency of 2"
    );
}

/// A job record and its results page, with or without a `data.json` link (HasData's docs show
/// finished records without one), and the file only when linked.
async fn finished_server(id: u64, linked: bool, rows_count: u64) -> StaticServer {
    StaticServer::start(|base| {
        let link = if linked {
            format!(r#", "data": {{"json": "{base}/files/{id}.json"}}"#)
        } else {
            String::new()
        };
        let mut bodies = HashMap::new();
        bodies.insert(
            format!("/scrapers/jobs/{id}"),
            format!(r#"{{"id": {id}, "status": "finished", "dataRowsCount": {rows_count}{link}}}"#),
        );
        if linked {
            bodies.insert(format!("/files/{id}.json"), format!("[{}]", ROWS.join(",")));
        } else {
            let wrapped: Vec<String> = ROWS
                .iter()
                .map(|row| format!(r#"{{"data": {row}}}"#))
                .collect();
            bodies.insert(
                format!("/scrapers/jobs/{id}/results?page=1&limit=100"),
                format!(
                    r#"{{"data": [{}], "meta": {{"lastPage": 1}}}}"#,
                    wrapped.join(",")
                ),
            );
            // Past the last page, as the API answers: no rows.
            bodies.insert(
                format!("/scrapers/jobs/{id}/results?page=2&limit=100"),
                r#"{"data": [], "meta": {"lastPage": 1}}"#.to_owned(),
            );
        }
        bodies
    })
    .await
}

#[tokio::test]
async fn a_finished_job_without_a_data_json_link_is_read_from_the_pages() {
    let server = finished_server(31, false, 3).await;
    let client = client(&server.base);
    // No file on this server: every row came from the pages.
    let rows: Vec<RowJson> = client.rows(31).try_collect().await.unwrap();
    let got: Vec<String> = rows.iter().map(ToString::to_string).collect();
    assert_eq!(got, ROWS);
    // Asked for the file only, it says there is none, naming the job.
    let error = client
        .rows::<RowJson>(31)
        .file()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        matches!(error, hasdata_jobs::Error::NoDownload { job_id, .. } if job_id == JobId::from(31)),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_linked_finished_job_is_read_from_data_json_and_counted() {
    // No pages on this server: the rows came from the file.
    let server = finished_server(32, true, 3).await;
    let client = client(&server.base);
    let rows: Vec<serde_json::Value> = client
        .rows::<RowJson>(32)
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .iter()
        .map(|row| serde_json::from_slice(row.as_bytes()).unwrap_or_default())
        .collect();
    assert_eq!(rows.len(), 3);
    // Rows short of the record's count are never the end, whichever source was chosen.
    for linked in [false, true] {
        let server = finished_server(33, linked, 4).await;
        let error = client_of(&server)
            .rows::<RowJson>(33)
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err();
        // Unlinked: the pages end short. Linked: the file ends short, so the rest is asked of
        // the pages, which this server does not have.
        let expected = if linked {
            error.status().map(|s| s.as_u16()) == Some(404)
        } else {
            error.is_incomplete()
        };
        assert!(expected, "linked {linked}: {error:?}");
    }
}

fn client_of(server: &StaticServer) -> Client {
    client(&server.base)
}

/// The splitter holds only the element a chunk ends inside of: an array far longer than its
/// element limit, fed in chunks that cut through its elements, comes out element by element.
#[test]
fn a_long_array_in_small_chunks_needs_memory_for_one_element_only() {
    use hasdata_jobs::{ArraySplitter, Elements};
    let body = format!(
        "[{}]",
        (0..500)
            .map(|i| format!(r#"{{"n":{i}}}"#))
            .collect::<Vec<_>>()
            .join(",")
    );
    let mut splitter = ArraySplitter::new(16);
    let mut out = Elements::default();
    for chunk in body.as_bytes().chunks(5) {
        splitter
            .push(chunk, &mut out)
            .expect("no element is longer than 16 bytes");
    }
    splitter.finish(&mut out).expect("complete");
    assert_eq!(out.len(), 500);
    assert_eq!(out.get(499), Some(&br#"{"n":499}"#[..]));
}

/// `Elements`, what the splitter fills: each element by index and in order, and emptied for
/// reuse (a caller that drains it after each chunk keeps one buffer for the whole file).
#[test]
fn elements_are_read_by_index_and_in_order_and_cleared_for_reuse() {
    use hasdata_jobs::{ArraySplitter, Elements};
    let mut splitter = ArraySplitter::new(64);
    let mut out = Elements::default();
    assert!(out.is_empty());
    splitter
        .push(br#"[ {"a": 1}, [2, 3] , "x"#, &mut out)
        .unwrap();
    assert_eq!(out.len(), 2, "the string goes on in the next chunk");
    assert_eq!(out.get(0), Some(&br#"{"a":1}"#[..]));
    assert_eq!(out.get(1), Some(&b"[2,3]"[..]));
    assert_eq!(out.get(2), None);
    out.clear();
    assert!(out.is_empty());
    assert_eq!(out.get(0), None);
    splitter.push(b"y\", null]", &mut out).unwrap();
    splitter.finish(&mut out).unwrap();
    let all: Vec<&[u8]> = out.iter().collect();
    assert_eq!(all, [&b"\"xy\""[..], b"null"]);
}

/// A `data.json` whose last row is long (past the size up to which a held element is scanned
/// again on every chunk) and completed by the body's last chunk: the row comes out when the
/// body ends, from the file. The pages are not asked (this transport has none to give).
#[tokio::test]
async fn a_long_last_row_completed_by_the_last_chunk_comes_from_the_file() {
    use std::sync::atomic::AtomicUsize;
    let long = "x".repeat(70 * 1024);
    let chunks: Vec<bytes::Bytes> = vec![
        format!(r#"[{{"n":1}}, {{"n":2}}, {{"long":"{long}"#).into(),
        r#""}]"#.into(),
    ];
    let other_requests = Arc::new(AtomicUsize::new(0));
    let counted = other_requests.clone();
    let mut mock = hasdata_transport::MockTransport::new();
    mock.expect_send().returning(move |request| {
        let body = match request.uri().to_string().as_str() {
            "https://api.test/scrapers/jobs/9" => hasdata_transport::Body::from_bytes(
                r#"{"id": 9, "status": "finished", "dataRowsCount": 3,
                    "data": {"json": "https://files.test/9.json"}}"#,
            ),
            "https://files.test/9.json" => hasdata_transport::Body::from_stream(
                futures::stream::iter(chunks.clone().into_iter().map(Ok)),
            ),
            _ => {
                counted.fetch_add(1, Ordering::SeqCst);
                let mut response = http::Response::new(hasdata_transport::Body::empty());
                *response.status_mut() = http::StatusCode::NOT_FOUND;
                return Ok(response);
            }
        };
        Ok(http::Response::new(body))
    });
    let client = Client::builder()
        .api_key("hd-raw-rows-2")
        .base_url("https://api.test")
        .transport(Arc::new(mock))
        .build()
        .unwrap();
    let rows: Vec<RowJson> = client
        .rows::<RowJson>(JobId::from(9))
        .file()
        .try_collect()
        .await
        .unwrap();
    let got: Vec<&[u8]> = rows.iter().map(RowJson::as_bytes).collect();
    let last = format!(r#"{{"long":"{long}"}}"#);
    assert_eq!(got, [&br#"{"n":1}"#[..], br#"{"n":2}"#, last.as_bytes()]);
    assert_eq!(other_requests.load(Ordering::SeqCst), 0, "no fallback");
}

/// An element that grows past the limit is refused by the chunk that takes it past, however
/// long it already was: what the splitter holds stays within the limit plus one chunk (a
/// long element is not scanned again on every chunk, but the limit is checked on each).
#[test]
fn an_element_is_refused_by_the_chunk_that_takes_it_past_the_limit() {
    use hasdata_jobs::{ArraySplitter, Elements};
    let limit = 100_000;
    let chunk = 10_000;
    let mut splitter = ArraySplitter::new(limit);
    let mut out = Elements::default();
    let mut body = b"[\"".to_vec();
    body.resize(40 * chunk, b'x');
    let refused_at = body
        .chunks(chunk)
        .position(|piece| splitter.push(piece, &mut out).is_err());
    // The element starts at byte 1: after k chunks it holds k * 10,000 - 1 bytes, past
    // 100,000 first at k = 11.
    assert_eq!(refused_at, Some(10));
    assert!(out.is_empty());
}

/// A number of exactly the limit that a chunk ends right after cannot be known complete until
/// the next chunk: it is held, not refused, and comes out whole; one digit more is refused
/// wherever the chunks cut.
#[test]
fn a_number_of_exactly_the_limit_cut_at_its_end_comes_out_whole() {
    use hasdata_jobs::{ArraySplitter, Elements};
    let split = |body: &str, cut: usize| {
        let mut splitter = ArraySplitter::new(5);
        let mut out = Elements::default();
        splitter.push(&body.as_bytes()[..cut], &mut out)?;
        splitter.push(&body.as_bytes()[cut..], &mut out)?;
        splitter.finish(&mut out)?;
        Ok::<_, hasdata_jobs::SplitError>(out.iter().map(<[u8]>::to_vec).collect::<Vec<_>>())
    };
    let fits = "[12345,-1234,1.5e3,12345]";
    let over = "[12345,123456]";
    for cut in 0..=fits.len() {
        let elements = split(fits, cut).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        assert_eq!(
            elements,
            [&b"12345"[..], b"-1234", b"1.5e3", b"12345"],
            "cut at {cut}"
        );
    }
    for cut in 0..=over.len() {
        assert!(split(over, cut).is_err(), "cut at {cut}");
    }
}
