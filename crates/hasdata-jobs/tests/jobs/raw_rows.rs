//! Rows as the bytes the API sent: the same job read from its results pages and from its
//! `data.json`, served by a plain HTTP server on loopback with text no serializer would write
//! (keys out of order, `1.0`, integers past `u64`, `1e400`, `\u00e9` escapes, odd spacing).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::TryStreamExt;
use hasdata_jobs::{Client, RowJson};
use hasdata_model::JobId;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
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
}

impl StaticServer {
    /// `bodies` gets the server's own base URL, for links that point back at it.
    async fn start(bodies: impl FnOnce(&str) -> HashMap<String, String>) -> StaticServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let bodies = Arc::new(bodies(&base));
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let bodies = bodies.clone();
                counter.fetch_add(1, Ordering::SeqCst);
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
                    let (status, body) = match bodies.get(&path) {
                        Some(body) => ("200 OK", body.as_str()),
                        None => ("404 Not Found", "{}"),
                    };
                    let head = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let socket = socket.get_mut();
                    socket.write_all(head.as_bytes()).await.ok()?;
                    socket.write_all(body.as_bytes()).await.ok()?;
                    socket.shutdown().await.ok()
                });
            }
        });
        StaticServer { base, requests }
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
    let from_pages: Vec<RowJson> = client.results_json(JobId(77)).try_collect().await.unwrap();
    let from_file: Vec<RowJson> = client.download_json(JobId(77)).try_collect().await.unwrap();
    let expected: Vec<&[u8]> = ROWS.iter().map(|r| r.as_bytes()).collect();
    let pages: Vec<&[u8]> = from_pages.iter().map(RowJson::as_bytes).collect();
    let file: Vec<&[u8]> = from_file.iter().map(RowJson::as_bytes).collect();
    assert_eq!(pages, expected, "from the pages");
    assert_eq!(file, expected, "from data.json");
    assert!(server.requests.load(Ordering::SeqCst) >= 3);
    // Typed streams still decode into types: `Value` has no room for `1e400`, and says where.
    let error = client
        .download_raw(JobId(77))
        .try_collect::<Vec<serde_json::Value>>()
        .await
        .unwrap_err();
    assert!(error.to_string().contains("data.json row 0.m.y"), "{error}");
    let second: serde_json::Value = from_file[1].decode().unwrap();
    assert_eq!(second["url"], "https://example.com/é");
}
