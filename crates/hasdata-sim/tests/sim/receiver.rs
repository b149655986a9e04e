//! A webhook receiver for the tests: a hyper server on 127.0.0.1 that records every call.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How the receiver answers.
#[derive(Clone, Copy, Debug)]
pub enum Answer {
    /// 200 to everything.
    Ok,
    /// 500 to the first `n` calls, then 200.
    FailFirst(usize),
    /// 500 to everything.
    AlwaysFail,
}

/// One call as received.
#[derive(Clone, Debug)]
pub struct Call {
    pub headers: http::HeaderMap,
    pub body: Value,
    pub answered: u16,
}

pub struct Receiver {
    pub addr: SocketAddr,
    calls: Arc<Mutex<Vec<Call>>>,
    task: JoinHandle<()>,
}

impl Receiver {
    pub async fn start(answer: Answer) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::new(AtomicUsize::new(0));
        let recorded = calls.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (calls, seen) = (recorded.clone(), seen.clone());
                tokio::spawn(async move {
                    let service =
                        service_fn(move |request: http::Request<hyper::body::Incoming>| {
                            let (calls, seen) = (calls.clone(), seen.clone());
                            async move {
                                let headers = request.headers().clone();
                                let bytes = request
                                    .into_body()
                                    .collect()
                                    .await
                                    .map(|c| c.to_bytes())
                                    .unwrap_or_default();
                                let n = seen.fetch_add(1, Ordering::SeqCst);
                                let status = match answer {
                                    Answer::Ok => 200,
                                    Answer::FailFirst(k) if n < k => 500,
                                    Answer::FailFirst(_) => 200,
                                    Answer::AlwaysFail => 500,
                                };
                                calls.lock().unwrap().push(Call {
                                    headers,
                                    body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                                    answered: status,
                                });
                                Ok::<_, Infallible>(
                                    http::Response::builder()
                                        .status(status)
                                        .body(Full::new(Bytes::new()))
                                        .unwrap(),
                                )
                            }
                        });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Receiver { addr, calls, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}
