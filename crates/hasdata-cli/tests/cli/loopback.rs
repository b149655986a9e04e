//! The loopback API servers tests write for answers the simulator never gives: one request a
//! connection, each answered as the test's closure says.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A request as a loopback server read it.
pub struct Request {
    /// `GET /scrapers/jobs/7 HTTP/1.1`.
    pub line: String,
}

impl Request {
    /// The method (`GET`, `POST`, ...).
    pub fn method(&self) -> &str {
        self.line.split(' ').next().unwrap_or_default()
    }

    /// The path, query included.
    pub fn path(&self) -> &str {
        self.line.split(' ').nth(1).unwrap_or_default()
    }
}

/// What a loopback server sends: after `delay`, a status, any extra head lines, a JSON body.
pub struct Reply {
    status: &'static str,
    extra: &'static str,
    body: Vec<u8>,
    delay: Duration,
}

impl Reply {
    /// `200 OK` with `body`.
    pub fn ok(body: impl Into<Vec<u8>>) -> Reply {
        Reply::status("200 OK", body)
    }

    /// `status` (`404 Not Found`, ...) with `body`.
    pub fn status(status: &'static str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            extra: "",
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    /// The same, with `lines` (each ending `\r\n`) added to its head.
    pub fn with_head(self, lines: &'static str) -> Reply {
        Reply {
            extra: lines,
            ..self
        }
    }

    /// The same, sent `delay` after the request came.
    pub fn after(self, delay: Duration) -> Reply {
        Reply { delay, ..self }
    }
}

/// Serves on a loopback port: each request (its body read and dropped) is answered with what
/// `reply` makes of the server's base URL (for links to the same origin) and the request.
/// Returns the base URL.
pub async fn serve(reply: impl Fn(&str, &Request) -> Reply + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let reply = Arc::new(reply);
    let origin = base.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (reply, origin) = (Arc::clone(&reply), origin.clone());
            tokio::spawn(async move {
                let mut socket = BufReader::new(socket);
                let mut line = String::new();
                socket.read_line(&mut line).await.ok()?;
                let mut length = 0usize;
                loop {
                    let mut header = String::new();
                    if socket.read_line(&mut header).await.ok()? <= 2 {
                        break;
                    }
                    if let Some((name, value)) = header.split_once(':')
                        && name.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse().ok()?;
                    }
                }
                let mut body = vec![0; length];
                socket.read_exact(&mut body).await.ok()?;
                let request = Request {
                    line: line.trim_end().to_owned(),
                };
                let Reply {
                    status,
                    extra,
                    body,
                    delay,
                } = reply(&origin, &request);
                tokio::time::sleep(delay).await;
                let head = format!(
                    "HTTP/1.1 {status}\r\n{extra}content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let socket = socket.get_mut();
                socket.write_all(head.as_bytes()).await.ok()?;
                socket.write_all(&body).await.ok()?;
                socket.shutdown().await.ok()
            });
        }
    });
    base
}
