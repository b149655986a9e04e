//! Throughput and peak memory of reading a job's rows, against hasdata-sim on loopback.
//!
//! `cargo bench -p hasdata-jobs --bench throughput` starts a simulator, submits a
//! 100,000-row and a 1,000,000-row job, then measures each way of reading rows in a child
//! process of its own, so each peak RSS (`VmHWM`) belongs to one scenario only. Results are
//! printed as a Markdown table for `docs/benchmarks.md`; compare the rows of one run with each
//! other (ratios), not with another machine's figures.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use hasdata_jobs::Client;
use hasdata_model::bodies::GoogleSerpBody;
use hasdata_model::scrapers::GoogleSerp;
use hasdata_model::{JobId, Scraper};
use hasdata_sim::{SimConfig, Simulator};
use hasdata_transport::{ReqwestTransport, Transport};
use serde_json::Value;

/// (scenario, job): `100k` and `1m` are served as fast as this machine allows (CPU-bound on
/// loopback, client and simulator sharing the cores); `20k+50ms` adds 50 ms to every results
/// page, like a real network and server, which is what page concurrency is for.
const SCENARIOS: &[(&str, &str)] = &[
    ("example-loop", "100k"),
    ("pages-c1", "100k"),
    ("pages-c4", "100k"),
    ("pages-c8", "100k"),
    ("download", "100k"),
    ("download", "1m"),
    ("example-loop", "20k+50ms"),
    ("pages-c1", "20k+50ms"),
    ("pages-c4", "20k+50ms"),
    ("pages-c8", "20k+50ms"),
];

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn client(base: &str, key: &str, pages: usize) -> Client {
    Client::builder()
        .api_key(key)
        .base_url(base)
        .page_concurrency(pages)
        .build()
        .unwrap()
}

/// The API page's own Python loop, line for line: one page at a time, parsed as untyped JSON.
async fn example_loop(base: &str, key: &str, id: JobId) -> u64 {
    let http = ReqwestTransport::new().unwrap();
    let mut rows = 0;
    let mut page = 1;
    loop {
        let request = http::Request::get(format!(
            "{base}/scrapers/jobs/{id}/results?page={page}&limit=100"
        ))
        .header("x-api-key", key)
        .body(bytes::Bytes::new())
        .unwrap();
        let body = http
            .send(request)
            .await
            .unwrap()
            .into_body()
            .bytes()
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        for row in body["data"].as_array().unwrap() {
            assert!(row["data"].is_object());
            rows += 1;
        }
        if body["meta"]["currentPage"].as_u64() >= body["meta"]["lastPage"].as_u64() {
            return rows;
        }
        page += 1;
    }
}

async fn count<
    S: futures::Stream<Item = hasdata_jobs::Result<<GoogleSerp as Scraper>::Row>> + Unpin,
>(
    mut rows: S,
) -> u64 {
    let mut n = 0;
    while let Some(row) = rows.next().await {
        row.unwrap();
        n += 1;
    }
    n
}

async fn child(scenario: &str, base: &str, key: &str, id: JobId) {
    let started = Instant::now();
    let rows = match scenario {
        "example-loop" => example_loop(base, key, id).await,
        "pages-c1" => {
            count(
                client(base, key, 1)
                    .rows::<<GoogleSerp as Scraper>::Row>(id)
                    .pages(),
            )
            .await
        }
        "pages-c4" => {
            count(
                client(base, key, 4)
                    .rows::<<GoogleSerp as Scraper>::Row>(id)
                    .pages(),
            )
            .await
        }
        "pages-c8" => {
            count(
                client(base, key, 8)
                    .rows::<<GoogleSerp as Scraper>::Row>(id)
                    .pages(),
            )
            .await
        }
        "download" => {
            count(
                client(base, key, 4)
                    .rows::<<GoogleSerp as Scraper>::Row>(id)
                    .file(),
            )
            .await
        }
        other => panic!("unknown scenario {other}"),
    };
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"rows\": {rows}, \"secs\": {secs}, \"peak_rss_kib\": {}}}",
        peak_rss_kib()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if let Some(i) = args.iter().position(|a| a == "--scenario") {
        let (scenario, base, key, id) = (&args[i + 1], &args[i + 2], &args[i + 3], &args[i + 4]);
        runtime.block_on(child(scenario, base, key, id.parse::<JobId>().unwrap()));
        return;
    }

    let start = |faults: &str| {
        runtime
            .block_on(Simulator::start(SimConfig {
                job_duration: Duration::ZERO,
                max_running: 100,
                download_ttl: Duration::from_secs(3600),
                faults: faults.parse().unwrap(),
                ..SimConfig::default()
            }))
            .unwrap()
    };
    let (fast, slow) = (start(""), start("results:latency=50ms"));
    let submit = |sim: &hasdata_sim::SimHandle, rows: u64| {
        let body = GoogleSerpBody::new().keywords(["coffee"]).limit(rows);
        let submitter = client(sim.base_url(), sim.api_key(), 4);
        runtime.block_on(submitter.submit(&body)).unwrap().id()
    };
    let jobs = [
        ("100k", &fast, submit(&fast, 100_000)),
        ("1m", &fast, submit(&fast, 1_000_000)),
        ("20k+50ms", &slow, submit(&slow, 20_000)),
    ];
    let exe = Arc::new(std::env::current_exe().unwrap());

    println!("| scenario | job | rows | seconds | rows/s | peak RSS (MiB) |");
    println!("|---|---|---:|---:|---:|---:|");
    for (scenario, size) in SCENARIOS {
        let (_, sim, id) = jobs.iter().find(|(s, _, _)| s == size).unwrap();
        // The simulator serves from this process while the child reads.
        let output = runtime.block_on(async {
            let exe = exe.clone();
            let args = [
                "--scenario".to_owned(),
                scenario.to_string(),
                sim.base_url().to_owned(),
                sim.api_key().to_owned(),
                id.to_string(),
            ];
            tokio::task::spawn_blocking(move || {
                Command::new(exe.as_path()).args(args).output().unwrap()
            })
            .await
            .unwrap()
        });
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let line = String::from_utf8_lossy(&output.stdout);
        let report: Value = serde_json::from_str(line.trim()).unwrap();
        let (rows, secs, rss) = (
            report["rows"].as_u64().unwrap(),
            report["secs"].as_f64().unwrap(),
            report["peak_rss_kib"].as_u64().unwrap(),
        );
        println!(
            "| {scenario} | {size} | {rows} | {secs:.2} | {:.0} | {:.1} |",
            rows as f64 / secs,
            rss as f64 / 1024.0
        );
    }
}
