//! Webhook receiver load: events per second and acknowledgement latency on loopback.
//!
//! `cargo bench -p hasdata-jobs --bench webhooks` starts a `WebhookReceiver` (secret check,
//! dedup, bounded queue) with a consumer draining it, then 32 concurrent senders post 20,000
//! distinct `scraper.data.scraped` events of 10 rows each, timing every acknowledgement.
//! Sender and receiver share the machine's cores, so this is a floor, not a ceiling.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use hasdata_jobs::webhooks::{ReceiverConfig, WebhookReceiver};
use hasdata_transport::{ReqwestTransport, SharedTransport, Transport};
use http::HeaderName;
use serde_json::json;

const SENDERS: u64 = 32;
const EVENTS: u64 = 20_000;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let receiver = WebhookReceiver::bind(ReceiverConfig {
            queue: 4096,
            ..ReceiverConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)), HeaderName::from_static("x-hook-secret"), "bench-secret")
        })
        .await
        .unwrap();
        let url = receiver.url();
        let consumer = tokio::spawn(async move {
            let mut events = receiver.into_stream();
            let mut n = 0u64;
            while events.next().await.is_some() {
                n += 1;
                if n == EVENTS {
                    break;
                }
            }
            n
        });
        let http: SharedTransport = Arc::new(ReqwestTransport::builder().max_idle_per_host(64).build().unwrap());
        let started = Instant::now();
        let senders = (0..SENDERS).map(|sender| {
            let (http, url) = (http.clone(), url.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut refused = 0u64;
                let mut n = sender;
                while n < EVENTS {
                    let rows: Vec<_> = (0..10).map(|i| json!({"position": i, "title": format!("row {n}-{i}")})).collect();
                    let body = json!({"event": "scraper.data.scraped", "jobId": 416349, "jobStatus": "in_progress",
                                      "timestamp": n, "data": rows})
                    .to_string();
                    let request = http::Request::post(url.as_str())
                        .header("content-type", "application/json")
                        .header("x-hook-secret", "bench-secret")
                        .body(Bytes::from(body))
                        .unwrap();
                    let sent = Instant::now();
                    let status = http.send(request).await.unwrap().status();
                    if status.is_success() {
                        latencies.push(sent.elapsed());
                        n += SENDERS;
                    } else {
                        // 503: the queue was full; send it again, as HasData would.
                        refused += 1;
                    }
                }
                (latencies, refused)
            })
        });
        let mut latencies: Vec<Duration> = Vec::new();
        let mut refused = 0;
        for result in futures::future::join_all(senders).await {
            let (l, r) = result.unwrap();
            latencies.extend(l);
            refused += r;
        }
        let consumed = consumer.await.unwrap();
        let elapsed = started.elapsed().as_secs_f64();
        latencies.sort();
        let quantile = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
        println!("| events | senders | seconds | events/s | p50 ack | p99 ack | max ack | 503s |");
        println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
        println!(
            "| {consumed} | {SENDERS} | {elapsed:.2} | {:.0} | {:.2} ms | {:.2} ms | {:.2} ms | {refused} |",
            consumed as f64 / elapsed,
            quantile(0.5).as_secs_f64() * 1e3,
            quantile(0.99).as_secs_f64() * 1e3,
            latencies.last().unwrap().as_secs_f64() * 1e3,
        );
    });
}
