//! A static HTTP server that costs almost nothing: pre-captured bodies served from memory by
//! path and query, so a benchmark measures the client, not the server.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// Bodies by path and query (`/scrapers/jobs/7/results?page=1&limit=100`).
pub type Files = HashMap<String, Bytes>;

/// Serves `files` on 127.0.0.1 until the runtime ends; returns the base URL.
pub async fn start(files: impl FnOnce(&str) -> Files) -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let files = Arc::new(files(&base));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let files = files.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let found = request
                        .uri()
                        .path_and_query()
                        .and_then(|p| files.get(p.as_str()).cloned());
                    async move {
                        let response = match found {
                            Some(body) => Response::new(Full::new(body)),
                            None => {
                                let mut response = Response::new(Full::new(Bytes::new()));
                                *response.status_mut() = StatusCode::NOT_FOUND;
                                response
                            }
                        };
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(base)
}
