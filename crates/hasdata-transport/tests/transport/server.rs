//! A scripted HTTP server on 127.0.0.1: each request takes the next action of its script and
//! is recorded, so tests can count what reached the server.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{BodyExt, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What the server does with one request.
#[derive(Clone, Debug)]
pub enum Action {
    /// Answer with a status, headers and body.
    Respond(u16, Vec<(&'static str, String)>, String),
    /// Close the connection without answering.
    Reset,
    /// Never answer.
    Hang,
    /// Wait this long, then answer 200 with this body.
    Slow(std::time::Duration, String),
    /// Answer 200 with `chunks` chunks of `chunk_size` bytes; fail the connection after
    /// `fail_after` chunks when set.
    Stream {
        chunks: usize,
        chunk_size: usize,
        fail_after: Option<usize>,
    },
    /// Answer 200 with `chunks` chunks of `chunk_size` bytes, then send nothing more and
    /// never end the body.
    StreamThenHang { chunks: usize, chunk_size: usize },
}

impl Action {
    pub fn status(status: u16) -> Action {
        Action::Respond(
            status,
            Vec::new(),
            format!("{{\"message\": \"status {status}\"}}"),
        )
    }

    pub fn ok(body: &str) -> Action {
        Action::Respond(
            200,
            vec![("content-type", "application/json".into())],
            body.into(),
        )
    }
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Hit {
    pub method: String,
    pub path: String,
    pub headers: http::HeaderMap,
}

struct State {
    script: Mutex<VecDeque<Action>>,
    fallback: Action,
    hits: Mutex<Vec<Hit>>,
}

/// A running server; stops when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl TestServer {
    /// Starts a server that plays `script`, then answers every further request with `fallback`.
    pub async fn start(script: Vec<Action>, fallback: Action) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            script: Mutex::new(script.into()),
            fallback,
            hits: Mutex::new(Vec::new()),
        });
        let accept_state = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = accept_state.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| handle(state.clone(), request));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        TestServer { addr, state, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.state.hits.lock().unwrap().clone()
    }

    pub fn hit_count(&self) -> usize {
        self.state.hits.lock().unwrap().len()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type ResponseBody = BoxBody<Bytes, std::io::Error>;

async fn handle(
    state: Arc<State>,
    request: http::Request<Incoming>,
) -> Result<http::Response<ResponseBody>, std::io::Error> {
    state.hits.lock().unwrap().push(Hit {
        method: request.method().to_string(),
        path: request.uri().path().to_owned(),
        headers: request.headers().clone(),
    });
    let _ = request.into_body().collect().await;
    let action = state
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| state.fallback.clone());
    match action {
        Action::Respond(status, headers, body) => {
            let mut response = http::Response::builder().status(status);
            for (name, value) in headers {
                response = response.header(name, value);
            }
            Ok(response
                .body(
                    http_body_util::Full::new(Bytes::from(body))
                        .map_err(|e: Infallible| match e {})
                        .boxed(),
                )
                .unwrap())
        }
        Action::Reset => Err(std::io::Error::other("scripted reset")),
        Action::Hang => std::future::pending().await,
        Action::Slow(delay, body) => {
            tokio::time::sleep(delay).await;
            Ok(http::Response::builder()
                .status(200)
                .body(
                    http_body_util::Full::new(Bytes::from(body))
                        .map_err(|e: Infallible| match e {})
                        .boxed(),
                )
                .unwrap())
        }
        Action::Stream {
            chunks,
            chunk_size,
            fail_after,
        } => {
            let frames = futures::stream::iter(0..chunks).then(move |i| async move {
                if fail_after == Some(i) {
                    // Let the headers and earlier chunks reach the client first.
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    Err(std::io::Error::other("scripted failure mid-body"))
                } else {
                    Ok(Frame::data(Bytes::from(vec![b'x'; chunk_size])))
                }
            });
            Ok(http::Response::builder()
                .status(200)
                .body(BodyExt::boxed(StreamBody::new(frames)))
                .unwrap())
        }
        Action::StreamThenHang { chunks, chunk_size } => {
            let frames = futures::stream::iter(0..chunks)
                .map(move |_| Ok(Frame::data(Bytes::from(vec![b'x'; chunk_size]))))
                .chain(futures::stream::pending());
            Ok(http::Response::builder()
                .status(200)
                .body(BodyExt::boxed(StreamBody::new(frames)))
                .unwrap())
        }
    }
}
