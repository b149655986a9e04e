//! `cargo xtask bench`: how fast `hasdata results` reads rows, against the limit of the same
//! server, side by side in one run; and how much memory 10,000 concurrent waits take.
//!
//! Rows: a job is captured from hasdata-sim once (its status, every results page and its
//! `data.json`), then served as static files by nginx when it is installed ([`nginx`], the
//! issue's own setup), else from memory by a static server in this process ([`server`]);
//! `--server nginx|in-process` chooses. Either costs the reader little; nginx less, and not
//! on this process's threads. Against it, in turn and repeated: the limits (a minimal Rust fetch of the
//! same URLs at the same concurrency, in this process and as a process of its own on one
//! runtime worker and on the default number, and curl),
//! `hasdata results` from pages and from `data.json` (JSONL and CSV), and the API page's
//! Python loop when `requests` is installed. The figures are medians, printed with their
//! ratio to each limit; the verdicts are read against the faster of the limits that run as a
//! process of their own, as `hasdata` does. Peak RSS is the child's `VmHWM`. The JSONL exports
//! from pages and from `data.json` must be byte-identical.
//!
//! Waits: a child process submits 10,000 jobs to hasdata-sim and waits on all of them at once
//! through `Client::wait`; its peak RSS and the status requests the simulator counted are
//! printed against what the schedule allows.
//!
//! Timing targets live here and in `docs/benchmarks.md`, never in tests.

mod nginx;
mod server;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use hasdata_jobs::{Client, PollPolicy};
use hasdata_model::JobId;
use hasdata_sim::{SimConfig, Simulator};
use serde_json::{Value, json};

type Result<T> = std::result::Result<T, String>;

fn fail(what: impl std::fmt::Display) -> String {
    what.to_string()
}

/// `cargo xtask bench [--rows N,N] [--repeat R] [--concurrency C] [--waits N] [--baseline
/// HASDATA] [--server auto|nginx|in-process]` (`C` defaults
/// to the library's own page concurrency, so the default is what is compared): builds the
/// release binaries and runs the benchmark with them (debug builds would measure the wrong
/// thing).
pub fn run(args: &[&str]) -> Result<()> {
    let root = crate::project_root();
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(&root)
        .args(["build", "--release", "-p", "xtask", "-p", "hasdata-cli"])
        .status()
        .map_err(fail)?;
    if !status.success() {
        return Err("the release build failed".into());
    }
    let status = Command::new(root.join("target/release/xtask"))
        .arg("bench-release")
        .args(args)
        .status()
        .map_err(fail)?;
    if status.success() {
        Ok(())
    } else {
        Err("the benchmark failed".into())
    }
}

struct Options {
    rows: Vec<u64>,
    repeat: usize,
    concurrency: usize,
    waits: usize,
    /// Another `hasdata` binary (an earlier build) timed beside this one in the same run.
    baseline: Option<PathBuf>,
    /// Which server serves the captured job.
    server: ServerChoice,
}

/// `--server`: nginx when installed (`auto`, the default), or either one by name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ServerChoice {
    Auto,
    Nginx,
    InProcess,
}

fn options(args: &[&str]) -> Result<Options> {
    let mut options = Options {
        rows: vec![100_000, 1_000_000],
        repeat: 3,
        concurrency: hasdata_jobs::DEFAULT_PAGE_CONCURRENCY,
        waits: 10_000,
        baseline: None,
        server: ServerChoice::Auto,
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: not a number: {v}"))
        };
        match *flag {
            "--rows" => {
                options.rows = value.split(',').map(number).collect::<Result<_>>()?;
            }
            "--repeat" => options.repeat = number(value)?.max(1) as usize,
            "--concurrency" => options.concurrency = number(value)?.max(1) as usize,
            "--waits" => options.waits = number(value)? as usize,
            "--baseline" => {
                let path = PathBuf::from(value);
                if !path.is_file() {
                    return Err(format!("--baseline: no such file: {value}"));
                }
                // Made absolute: the runs start in other directories.
                options.baseline = Some(std::path::absolute(&path).map_err(fail)?);
            }
            "--server" => {
                options.server = match *value {
                    "auto" => ServerChoice::Auto,
                    "nginx" => ServerChoice::Nginx,
                    "in-process" => ServerChoice::InProcess,
                    other => {
                        return Err(format!(
                            "--server: expected auto, nginx or in-process, got {other}"
                        ));
                    }
                }
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(options)
}

/// The release half: everything but the build.
pub fn run_release(args: &[&str]) -> Result<()> {
    let options = options(args)?;
    // reqwest is built without a TLS provider; the bench speaks plain http, but the client
    // builder wants one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(fail)?;
    println!("{}", machine());
    println!("load average before: {}", load());
    for &rows in &options.rows {
        runtime.block_on(rows_bench(rows, &options))?;
    }
    if options.waits > 0 {
        runtime.block_on(waits_bench(options.waits))?;
    }
    println!();
    println!("load average after: {}", load());
    Ok(())
}

/// The load average (1, 5 and 15 minutes), as `uptime` prints it: on a shared machine the
/// wall times mean little without it.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_else(|| "unknown".into())
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!(
        "machine: {cpus} cores ({model}), {}",
        std::env::consts::ARCH
    )
}

/// A captured job: what the static server serves.
struct Captured {
    id: u64,
    pages: u64,
    files: server::Files,
    page_bytes: usize,
    file_bytes: usize,
}

/// Runs a job of `rows` crawler rows on hasdata-sim and keeps every byte a reader would get.
async fn capture(rows: u64) -> Result<Captured> {
    let sim = Simulator::start(SimConfig {
        job_duration: Duration::ZERO,
        download_ttl: Duration::from_secs(3600),
        max_running: 100,
        ..SimConfig::default()
    })
    .await
    .map_err(fail)?;
    let client = Client::builder()
        .api_key(sim.api_key())
        .base_url(sim.base_url())
        .build()
        .map_err(fail)?;
    let body = json!({"urls": ["https://example.com/"], "limit": rows});
    let job = client.submit_raw("crawler", &body).await.map_err(fail)?;
    let id = job
        .id
        .as_u64()
        .ok_or_else(|| format!("the simulator answered a non-integer job id {}", job.id))?;
    client
        .wait(JobId::from(id), PollPolicy::fast())
        .await
        .map_err(fail)?;
    let http = reqwest::Client::new();
    let get = |url: String| {
        let http = http.clone();
        let key = sim.api_key().to_owned();
        async move {
            let response = http
                .get(&url)
                .header("x-api-key", key)
                .send()
                .await
                .map_err(fail)?;
            if !response.status().is_success() {
                return Err(format!("{url}: HTTP {}", response.status()));
            }
            response.bytes().await.map_err(fail)
        }
    };
    let status_body = get(format!("{}/scrapers/jobs/{id}", sim.base_url())).await?;
    let mut status: Value = serde_json::from_slice(&status_body).map_err(fail)?;
    let link = status["data"]["json"]
        .as_str()
        .ok_or("no data.json link")?
        .to_owned();
    let pages = rows.div_ceil(100).max(1);
    let bodies: Vec<(u64, Bytes)> = futures::stream::iter(1..=pages)
        .map(|page| {
            let url = format!(
                "{}/scrapers/jobs/{id}/results?page={page}&limit=100",
                sim.base_url()
            );
            let get = &get;
            async move { get(url).await.map(|body| (page, body)) }
        })
        .buffered(4)
        .try_collect()
        .await?;
    let file = get(link).await?;
    sim.shutdown();
    let mut files = server::Files::new();
    let page_bytes = bodies.iter().map(|(_, b)| b.len()).sum();
    for (page, body) in bodies {
        files.insert(
            format!("/scrapers/jobs/{id}/results?page={page}&limit=100"),
            body,
        );
    }
    let file_bytes = file.len();
    files.insert(format!("/files/{id}.json"), file);
    // The status is rewritten once the server's address is known.
    status["data"]["json"] = json!(format!("/files/{id}.json"));
    files.insert(
        format!("/scrapers/jobs/{id}"),
        Bytes::from(serde_json::to_vec(&status).map_err(fail)?),
    );
    Ok(Captured {
        id,
        pages,
        files,
        page_bytes,
        file_bytes,
    })
}

/// The limit: the same URLs fetched by a minimal Rust client at `concurrency`, every byte read
/// and thrown away (like curl to /dev/null).
async fn fetch_all(urls: &[String], concurrency: usize) -> Result<u64> {
    let http = reqwest::Client::new();
    let sizes: Vec<u64> = futures::stream::iter(urls.iter().cloned())
        .map(|url| {
            let http = http.clone();
            async move {
                let mut response = http.get(&url).send().await.map_err(fail)?;
                let mut bytes = 0u64;
                while let Some(chunk) = response.chunk().await.map_err(fail)? {
                    bytes += chunk.len() as u64;
                }
                Ok::<_, String>(bytes)
            }
        })
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    Ok(sizes.iter().sum())
}

/// The name of a limit's curl run.
fn curl_of(limit: &str) -> &'static str {
    match limit {
        "limit-pages" => "curl-pages",
        "limit-file" => "curl-file",
        _ => "curl-pages-default",
    }
}

/// The name of a limit's Rust fetch run as a process of its own, on the runtime's default
/// number of workers.
fn process_of(limit: &str) -> &'static str {
    match limit {
        "limit-pages" => "process-pages",
        "limit-file" => "process-file",
        _ => "process-pages-default",
    }
}

/// The name of a limit's Rust fetch run as a process of its own on one runtime worker, as
/// `hasdata results` runs: on a few cores shared with the server, one worker fetches faster
/// than two (no wake-ups from one worker to the other), so the limit is the faster of both.
fn process_one_of(limit: &str) -> &'static str {
    match limit {
        "limit-pages" => "process-one-pages",
        "limit-file" => "process-one-file",
        _ => "process-one-pages-default",
    }
}

/// Whether curl with `--parallel` (7.66 and later) is installed.
fn curl_parallel() -> bool {
    Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
        && Command::new("curl")
            .args([
                "--parallel",
                "--parallel-max",
                "1",
                "-s",
                "-o",
                "/dev/null",
                "file:///dev/null",
            ])
            .output()
            .is_ok_and(|o| o.status.success())
}

/// The other limit: curl, a process of its own as `hasdata` is, fetching the same URLs at the
/// same concurrency (`--parallel --parallel-max N`) to /dev/null. The URLs go in a config
/// file: a million rows are ten thousand of them.
fn curl(urls: &[String], concurrency: usize, dir: &Path) -> Result<Command> {
    let config = dir.join("curl.config");
    let mut text = String::new();
    for url in urls {
        text.push_str(&format!("url = \"{url}\"\noutput = \"/dev/null\"\n"));
    }
    std::fs::write(&config, text).map_err(fail)?;
    let mut command = Command::new("curl");
    command
        .args(["--silent", "--show-error", "--fail"])
        .args(["--parallel", "--parallel-max", &concurrency.to_string()])
        .arg("--config")
        .arg(config);
    Ok(command)
}

/// The CPU time (user + system, seconds) this process has used, and that of its children
/// waited for: `getrusage`. A reader's own CPU is the children's difference across its run;
/// this process's difference over the same run is the server's (the bench's server runs in
/// it), so both sides' work is seen beside the wall time, which on a machine with few cores
/// follows their sum.
#[derive(Clone, Copy)]
struct Cpu {
    own: f64,
    children: f64,
    /// nginx's workers' (0 for the server in this process: its time is in `own`).
    server: f64,
}

impl Cpu {
    fn now(served: &Served) -> Cpu {
        let secs = |who| {
            nix::sys::resource::getrusage(who).map_or(0.0, |usage| {
                let seconds =
                    |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
                seconds(usage.user_time()) + seconds(usage.system_time())
            })
        };
        Cpu {
            own: secs(nix::sys::resource::UsageWho::RUSAGE_SELF),
            children: secs(nix::sys::resource::UsageWho::RUSAGE_CHILDREN),
            server: served.cpu_seconds(),
        }
    }

    /// The reader's and the server's together (and this process's little besides).
    fn total(self) -> f64 {
        self.own + self.children + self.server
    }

    /// The time used since `before`.
    fn since(self, before: Cpu) -> Cpu {
        Cpu {
            own: self.own - before.own,
            children: self.children - before.children,
            server: self.server - before.server,
        }
    }
}

/// What [`measure`] saw of one run.
struct Measured {
    secs: f64,
    peak_mib: f64,
    cpu: Cpu,
}

/// Each reader's measurements over the repeats, by its name.
#[derive(Default)]
struct Samples<'a> {
    times: HashMap<&'a str, Vec<f64>>,
    rss: HashMap<&'a str, Vec<f64>>,
    /// The reader's own CPU seconds (a child process's).
    reader_cpu: HashMap<&'a str, Vec<f64>>,
    /// The reader's and the server's (the in-process Rust fetch has only these).
    total_cpu: HashMap<&'a str, Vec<f64>>,
}

impl<'a> Samples<'a> {
    /// A run of a process of its own.
    fn record(&mut self, name: &'a str, run: &Measured) {
        self.times.entry(name).or_default().push(run.secs);
        self.rss.entry(name).or_default().push(run.peak_mib);
        self.reader_cpu
            .entry(name)
            .or_default()
            .push(run.cpu.children);
        self.total_cpu
            .entry(name)
            .or_default()
            .push(run.cpu.total());
    }
}

/// Runs a command to completion, timing it, sampling its peak RSS (`VmHWM`) as it runs, and
/// taking its CPU time and the server's over the run.
fn measure(command: &mut Command, served: &Served) -> Result<Measured> {
    let cpu_before = Cpu::now(served);
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(fail)?;
    // The peak RSS is sampled on a thread of its own while this one waits for the child, so
    // the time taken ends when the child does, not at the next sample (up to 5 ms later).
    let status_path = format!("/proc/{}/status", child.id());
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut peak_kib = 0u64;
            while !done.load(Ordering::Relaxed) {
                if let Some(kib) = vm_hwm(&status_path) {
                    peak_kib = peak_kib.max(kib);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            peak_kib
        })
    };
    // stderr is read before waiting, so a child that writes much of it cannot block on a
    // full pipe; it ends when the child does.
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    let status = child.wait().map_err(fail);
    let secs = started.elapsed().as_secs_f64();
    let cpu = Cpu::now(served).since(cpu_before);
    done.store(true, Ordering::Relaxed);
    let peak_kib = sampler.join().unwrap_or(0);
    let status = status?;
    if !status.success() {
        return Err(format!("{command:?} failed ({status}): {stderr}"));
    }
    Ok(Measured {
        secs,
        peak_mib: peak_kib as f64 / 1024.0,
        cpu,
    })
}

fn vm_hwm(status_path: &str) -> Option<u64> {
    std::fs::read_to_string(status_path)
        .ok()?
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

const PYTHON_LOOP: &str = r#"
import json, os, sys, requests
BASE, JOB, OUT = os.environ["BASE"], os.environ["JOB"], os.environ["OUT"]
H = {"x-api-key": "bench"}
def results(job_id):
    page = 1
    while True:
        body = requests.get(f"{BASE}/scrapers/jobs/{job_id}/results", headers=H,
                            params={"page": page, "limit": 100}, timeout=120).json()
        for row in body["data"]:
            yield row["data"]
        if body["meta"]["currentPage"] >= body["meta"]["lastPage"]:
            return
        page += 1
with open(OUT, "w") as out:
    for row in results(JOB):
        out.write(json.dumps(row) + "\n")
"#;

fn python_with_requests() -> bool {
    Command::new("python3")
        .args(["-c", "import requests"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn hasdata_exe() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("hasdata")))
        .unwrap_or_else(|| PathBuf::from("hasdata"))
}

fn hasdata(exe: &Path, base: &str, home: &Path, id: u64, args: &[&str], out: &Path) -> Command {
    let mut command = Command::new(exe);
    command
        .env("HASDATA_API_KEY", "bench")
        .env("HASDATA_BASE_URL", base)
        .env("HOME", home)
        .env("XDG_DATA_HOME", home)
        .args(["results", &id.to_string()])
        .args(args)
        .arg("--out")
        .arg(out);
    command
}

/// `xtask bench-serve ROWS`: captures a job and serves it until killed, printing the base URL
/// and the job id, for profiling `hasdata results` by hand against a server that costs nothing.
pub fn serve(args: &[&str]) -> Result<()> {
    let rows: u64 = args
        .first()
        .ok_or("usage: bench-serve ROWS")?
        .parse()
        .map_err(fail)?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(fail)?;
    runtime.block_on(async {
        let captured = capture(rows).await?;
        let (base, pages) = serve_captured(captured.id, captured.files).await?;
        println!("{base} {} {pages}", captured.id);
        std::future::pending::<()>().await;
        Ok(())
    })
}

/// `xtask bench-fetch BASE ID PAGES [CONCURRENCY]`: the in-process limit ([`fetch_all`]:
/// bare reqwest, the same URLs, bodies dropped) as a process of its own, against a
/// `bench-serve`'s job (its printed line is `BASE ID PAGES`), so its own CPU can be
/// measured beside `hasdata results` (`perf stat`, `/usr/bin/time`): what an export spends
/// beyond the fetch is then the difference. `bench-fetch --urls FILE [CONCURRENCY]` fetches
/// the URLs listed in `FILE`, one a line: the bench runs it so as a limit of its own.
/// Prints the bytes fetched.
pub fn fetch(args: &[&str]) -> Result<()> {
    let usage =
        "usage: bench-fetch BASE ID PAGES [CONCURRENCY] | bench-fetch --urls FILE [CONCURRENCY]";
    let (urls, rest): (Vec<String>, &[&str]) = match args {
        ["--urls", file, rest @ ..] => {
            let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
            let urls = text.lines().filter(|l| !l.is_empty()).map(str::to_owned);
            (urls.collect(), rest)
        }
        [base, id, pages, rest @ ..] => {
            let id: u64 = id.parse().map_err(fail)?;
            let pages: u64 = pages.parse().map_err(fail)?;
            let urls = (1..=pages)
                .map(|page| format!("{base}/scrapers/jobs/{id}/results?page={page}&limit=100"));
            (urls.collect(), rest)
        }
        _ => return Err(usage.into()),
    };
    let concurrency = match rest {
        [] => hasdata_jobs::DEFAULT_PAGE_CONCURRENCY,
        [at_once] => at_once.parse().map_err(fail)?,
        _ => return Err(usage.into()),
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(fail)?;
    let bytes = runtime.block_on(fetch_all(&urls, concurrency))?;
    println!("{bytes}");
    Ok(())
}

/// The Rust fetch as a process of its own ([`fetch`] with `--urls`), the way `hasdata` and
/// curl run: the in-process fetch shares the bench's runtime, and so the server's threads,
/// which no client process can.
fn fetch_process(urls: &[String], concurrency: usize, dir: &Path) -> Result<Command> {
    let list = dir.join(format!("urls-{}.txt", urls.len()));
    if !list.exists() {
        std::fs::write(&list, urls.join("\n")).map_err(fail)?;
    }
    let exe = std::env::current_exe().map_err(fail)?;
    let mut command = Command::new(exe);
    command
        .arg("bench-fetch")
        .arg("--urls")
        .arg(list)
        .arg(concurrency.to_string());
    Ok(command)
}

async fn serve_captured(id: u64, files: server::Files) -> Result<(String, u64)> {
    let pages = files.len() as u64 - 2;
    let mut files = Some(files);
    let base = server::start(|base| {
        let mut files = files.take().unwrap_or_default();
        let key = format!("/scrapers/jobs/{id}");
        if let Some(status) = files.get(&key) {
            let text = String::from_utf8_lossy(status).replace(
                &format!("\"/files/{id}.json\""),
                &format!("\"{base}/files/{id}.json\""),
            );
            files.insert(key, Bytes::from(text));
        }
        files
    })
    .await
    .map_err(fail)?;
    Ok((base, pages))
}

/// One reader's line in the table: its measurement's name, its label, and which limits it
/// is held to (`limit-pages`, `limit-file` or `limit-pages-default`, and curl's of each).
struct Line {
    name: &'static str,
    label: String,
    limit: &'static str,
}

/// The server a rows bench reads from.
enum Served {
    /// [`server`], on this process's runtime.
    InProcess,
    Nginx(nginx::Nginx),
}

impl Served {
    /// The server's CPU seconds so far, where they are not this process's own.
    fn cpu_seconds(&self) -> f64 {
        match self {
            Served::InProcess => 0.0,
            Served::Nginx(nginx) => nginx.cpu_seconds(),
        }
    }

    /// Serves the captured job as `choice` says; returns the server and its base URL.
    async fn start(
        choice: ServerChoice,
        id: u64,
        files: server::Files,
    ) -> Result<(Served, String)> {
        let exe = match choice {
            ServerChoice::InProcess => None,
            ServerChoice::Auto => nginx::find(),
            ServerChoice::Nginx => Some(nginx::find().ok_or(
                "--server nginx: no nginx found on PATH or at /usr/sbin/nginx (apt-get install nginx-light)",
            )?),
        };
        if let Some(exe) = exe {
            match tokio::task::block_in_place(|| nginx::Nginx::start(&exe, id, &files)) {
                Ok(nginx) => {
                    let base = nginx.base.clone();
                    return Ok((Served::Nginx(nginx), base));
                }
                Err(error) if choice == ServerChoice::Nginx => return Err(error),
                Err(error) => {
                    println!(
                        "nginx could not serve the job ({error}): the in-process server instead."
                    );
                }
            }
        }
        let (base, _) = serve_captured(id, files).await?;
        Ok((Served::InProcess, base))
    }

    /// What the table says of the server.
    fn described(&self) -> &'static str {
        match self {
            Served::InProcess => {
                "the bench's own static server, in this process (hyper, from memory)"
            }
            Served::Nginx(_) => {
                "nginx, a worker process per core, the captured job as static files (sendfile)"
            }
        }
    }
}

async fn rows_bench(rows: u64, options: &Options) -> Result<()> {
    let captured = capture(rows).await?;
    let id = captured.id;
    let (served, base) = Served::start(options.server, id, captured.files).await?;
    let page_urls: Vec<String> = (1..=captured.pages)
        .map(|page| format!("{base}/scrapers/jobs/{id}/results?page={page}&limit=100"))
        .collect();
    let file_url = vec![format!("{base}/files/{id}.json")];
    let dir = tempfile::tempdir().map_err(fail)?;
    let out = |name: &str| dir.path().join(name);
    let concurrency = options.concurrency;
    let default = hasdata_jobs::DEFAULT_PAGE_CONCURRENCY;
    let python = rows <= 100_000 && python_with_requests();
    let curl_here = curl_parallel();

    let mut samples = Samples::default();
    let c = concurrency.to_string();
    let pages = vec!["--source", "pages", "--concurrency", &c];
    let file = vec!["--source", "file"];
    // To /dev/null (written through: no temporary file, no fsync), then to a file, which
    // is written beside its target, fsynced and renamed, as every export to a file is.
    let mut runs: Vec<(&str, Vec<&str>, PathBuf)> = vec![
        (
            "pages-jsonl-null",
            pages.clone(),
            PathBuf::from("/dev/null"),
        ),
        ("file-jsonl-null", file.clone(), PathBuf::from("/dev/null")),
        ("pages-jsonl", pages.clone(), out("pages.jsonl")),
        ("file-jsonl", file.clone(), out("file.jsonl")),
        (
            "pages-csv-null",
            [&pages[..], &["--format", "csv"]].concat(),
            PathBuf::from("/dev/null"),
        ),
        (
            "file-csv-null",
            [&file[..], &["--format", "csv"]].concat(),
            PathBuf::from("/dev/null"),
        ),
    ];
    if concurrency != default {
        // No --concurrency: the default, beside its own limits.
        runs.push((
            "pages-default-jsonl-null",
            vec!["--source", "pages"],
            PathBuf::from("/dev/null"),
        ));
    }
    // The baseline's runs: the two readers with targets, and its data.json export to a file
    // to check that this build writes the same bytes.
    let baseline_runs: Vec<(&str, Vec<&str>, PathBuf)> = match options.baseline {
        Some(_) => vec![
            (
                "baseline-pages-jsonl-null",
                pages.clone(),
                PathBuf::from("/dev/null"),
            ),
            (
                "baseline-file-jsonl-null",
                file.clone(),
                PathBuf::from("/dev/null"),
            ),
            ("baseline-file-jsonl", file.clone(), out("baseline.jsonl")),
        ],
        None => Vec::new(),
    };
    let mut limits: Vec<(&str, &[String], usize)> = vec![
        ("limit-pages", &page_urls, concurrency),
        ("limit-file", &file_url, 1),
    ];
    if concurrency != default {
        limits.push(("limit-pages-default", &page_urls, default));
    }
    for _ in 0..options.repeat {
        for &(name, urls, at_once) in &limits {
            let cpu_before = Cpu::now(&served);
            let started = Instant::now();
            fetch_all(urls, at_once).await?;
            samples
                .times
                .entry(name)
                .or_default()
                .push(started.elapsed().as_secs_f64());
            samples
                .total_cpu
                .entry(name)
                .or_default()
                .push(Cpu::now(&served).since(cpu_before).total());
            if curl_here {
                let mut command = curl(urls, at_once, dir.path())?;
                let run = tokio::task::block_in_place(|| measure(&mut command, &served))?;
                samples.record(curl_of(name), &run);
            }
            let mut command = fetch_process(urls, at_once, dir.path())?;
            let run = tokio::task::block_in_place(|| measure(&mut command, &served))?;
            samples.record(process_of(name), &run);
            let mut command = fetch_process(urls, at_once, dir.path())?;
            command.env("TOKIO_WORKER_THREADS", "1");
            let run = tokio::task::block_in_place(|| measure(&mut command, &served))?;
            samples.record(process_one_of(name), &run);
        }
        let this = hasdata_exe();
        let readers = runs.iter().map(|run| (this.as_path(), run));
        let baselines = options
            .baseline
            .iter()
            .flat_map(|exe| baseline_runs.iter().map(move |run| (exe.as_path(), run)));
        for (exe, (name, args, file)) in readers.chain(baselines) {
            let mut command = hasdata(exe, &base, dir.path(), id, args, file);
            let run = tokio::task::block_in_place(|| measure(&mut command, &served))?;
            samples.record(name, &run);
        }
        if python {
            let mut command = Command::new("python3");
            command
                .args(["-c", PYTHON_LOOP])
                .env("BASE", &base)
                .env("JOB", id.to_string())
                .env("OUT", "/dev/null");
            let run = tokio::task::block_in_place(|| measure(&mut command, &served))?;
            samples.record("python-loop", &run);
        }
    }
    let Samples {
        mut times,
        rss,
        mut reader_cpu,
        mut total_cpu,
    } = samples;
    let same = |a: &str, b: &str| -> Result<bool> {
        Ok(std::fs::read(out(a)).map_err(fail)? == std::fs::read(out(b)).map_err(fail)?)
    };
    let jsonl_same = same("pages.jsonl", "file.jsonl")?;
    let lines = std::fs::read(out("file.jsonl"))
        .map_err(fail)?
        .iter()
        .filter(|&&b| b == b'\n')
        .count();

    let medians: HashMap<&str, f64> = times
        .iter_mut()
        .map(|(name, values)| (*name, median(values)))
        .collect();
    let med = |name: &str| medians.get(name).copied();
    let cpu_median = |cpu: &mut HashMap<&str, Vec<f64>>, name: &str| {
        cpu.get_mut(name)
            .map_or_else(|| "-".to_owned(), |values| format!("{:.3}", median(values)))
    };
    // The limit a verdict is read against: the faster of the two that run as a process of
    // their own, as `hasdata` does (the Rust fetch and curl). The in-process Rust fetch
    // shares the bench's runtime with the server (no process of its own, no hand-off between
    // processes): its ratio is printed too, as the stricter figure.
    // The Rust fetch as a process: the faster of its two runtimes.
    let process = |limit: &str| match (med(process_of(limit)), med(process_one_of(limit))) {
        (Some(default), Some(one)) => Some(default.min(one)),
        (default, one) => default.or(one),
    };
    let strict = |limit: &str| {
        let rust = process(limit).unwrap_or(f64::INFINITY);
        med(curl_of(limit)).map_or(rust, |curl| curl.min(rust))
    };
    println!();
    println!(
        "## {rows} rows: {} pages ({:.1} MB), data.json ({:.1} MB); pages {concurrency} at once; median of {}",
        captured.pages,
        captured.page_bytes as f64 / 1e6,
        captured.file_bytes as f64 / 1e6,
        options.repeat
    );
    println!();
    println!("Server: {}.", served.described());
    println!();
    println!(
        "| reader (same server, same job) | seconds | vs Rust fetch, in process | vs Rust fetch, own process (the faster runtime) | vs curl | reader CPU s | reader + server CPU s | peak RSS (MiB) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let peak = |name: &str| {
        rss.get(name)
            .map_or(0.0, |v| v.iter().copied().fold(0.0, f64::max))
    };
    let lines_of = |limit: &'static str, lines: Vec<(&'static str, String)>| {
        lines
            .into_iter()
            .map(move |(name, label)| Line { name, label, limit })
    };
    let groups: Vec<(&str, String, String, Vec<Line>)> = {
        let mut groups = vec![
            (
                "limit-pages",
                format!("limit: Rust fetch of the pages, {concurrency} at once"),
                format!("limit: curl --parallel --parallel-max {concurrency}, the pages"),
                lines_of(
                    "limit-pages",
                    vec![
                        (
                            "pages-jsonl-null",
                            format!("`hasdata results` pages -> JSONL, /dev/null, --concurrency {concurrency}"),
                        ),
                        ("pages-jsonl", "`hasdata results` pages -> JSONL file".into()),
                        ("pages-csv-null", "`hasdata results` pages -> CSV, /dev/null".into()),
                        (
                            "baseline-pages-jsonl-null",
                            "baseline `hasdata` pages -> JSONL, /dev/null".into(),
                        ),
                        (
                            "python-loop",
                            "the API page's Python loop (requests, sequential), /dev/null".into(),
                        ),
                    ],
                )
                .collect(),
            ),
            (
                "limit-file",
                "limit: Rust fetch of data.json".into(),
                "limit: curl, data.json".into(),
                lines_of(
                    "limit-file",
                    vec![
                        ("file-jsonl-null", "`hasdata results` data.json -> JSONL, /dev/null".into()),
                        ("file-jsonl", "`hasdata results` data.json -> JSONL file".into()),
                        ("file-csv-null", "`hasdata results` data.json -> CSV, /dev/null".into()),
                        (
                            "baseline-file-jsonl-null",
                            "baseline `hasdata` data.json -> JSONL, /dev/null".into(),
                        ),
                    ],
                )
                .collect(),
            ),
        ];
        if concurrency != default {
            groups.push((
                "limit-pages-default",
                format!("limit: Rust fetch of the pages, {default} at once"),
                format!("limit: curl --parallel --parallel-max {default}, the pages"),
                lines_of(
                    "limit-pages-default",
                    vec![(
                        "pages-default-jsonl-null",
                        format!("`hasdata results` pages -> JSONL, /dev/null, the default ({default} at once)"),
                    )],
                )
                .collect(),
            ));
        }
        groups
    };
    let ratio = |secs: f64, limit: Option<f64>| {
        limit.map_or_else(|| "-".to_owned(), |limit| format!("{:.2}x", secs / limit))
    };
    for (limit, rust_label, curl_label, lines) in &groups {
        if let Some(secs) = med(limit) {
            println!(
                "| {rust_label}, in process | {secs:.3} | 1x | {} | {} | - | {} | |",
                ratio(secs, process(limit)),
                ratio(secs, med(curl_of(limit))),
                cpu_median(&mut total_cpu, limit)
            );
        }
        for (name, workers) in [
            (process_of(limit), "the default workers"),
            (process_one_of(limit), "one worker"),
        ] {
            if let Some(secs) = med(name) {
                println!(
                    "| {rust_label}, a process of its own, {workers} | {secs:.3} | {} | {} | {} | {} | {} | |",
                    ratio(secs, med(limit)),
                    ratio(secs, process(limit)),
                    ratio(secs, med(curl_of(limit))),
                    cpu_median(&mut reader_cpu, name),
                    cpu_median(&mut total_cpu, name)
                );
            }
        }
        if let Some(secs) = med(curl_of(limit)) {
            println!(
                "| {curl_label} | {secs:.3} | {} | {} | 1x | {} | {} | |",
                ratio(secs, med(limit)),
                ratio(secs, process(limit)),
                cpu_median(&mut reader_cpu, curl_of(limit)),
                cpu_median(&mut total_cpu, curl_of(limit))
            );
        }
        for line in lines {
            let Some(secs) = med(line.name) else {
                continue;
            };
            println!(
                "| {} | {secs:.3} | {} | {} | {} | {} | {} | {:.1} |",
                line.label,
                ratio(secs, med(line.limit)),
                ratio(secs, process(line.limit)),
                ratio(secs, med(curl_of(line.limit))),
                cpu_median(&mut reader_cpu, line.name),
                cpu_median(&mut total_cpu, line.name),
                peak(line.name)
            );
        }
    }
    println!();
    match served {
        Served::InProcess => println!(
            "CPU: medians of user + system seconds over each run (getrusage): the reader's own, and \
             the reader's with the bench's server's (which runs in this process). The in-process Rust \
             fetch runs in this process too, on the server's runtime, so it has only the sum."
        ),
        Served::Nginx(_) => println!(
            "CPU: medians of user + system seconds over each run: the reader's own (getrusage), and \
             the reader's with nginx's workers' (/proc) and this process's. The in-process Rust \
             fetch runs in this process, so it has only the sum."
        ),
    }
    println!();
    if let (Some(python), Some(pages)) = (med("python-loop"), med("pages-jsonl-null")) {
        println!(
            "Python loop / hasdata pages: {:.1}x (target: at least 15x)",
            python / pages
        );
    }
    for (name, limit, target, what) in [
        ("pages-jsonl-null", "limit-pages", 1.5, "pages -> JSONL"),
        ("file-jsonl-null", "limit-file", 2.0, "data.json -> JSONL"),
    ] {
        if let Some(secs) = med(name) {
            let against = secs / strict(limit);
            let verdict = if against <= target { "met" } else { "not met" };
            let in_process = med(limit).map_or_else(String::new, |rust| {
                format!("; {:.2}x the in-process Rust fetch", secs / rust)
            });
            println!(
                "{what}, /dev/null: {against:.2}x the faster limit run as a process (target {target}x): {verdict}{in_process}"
            );
        }
    }
    println!("JSONL from pages and data.json byte-identical: {jsonl_same} ({lines} rows)");
    if let Some(baseline) = &options.baseline {
        println!("baseline: {}", baseline.display());
        for (name, what) in [
            ("pages-jsonl-null", "pages -> JSONL"),
            ("file-jsonl-null", "data.json -> JSONL"),
        ] {
            let baseline = format!("baseline-{name}");
            if let (Some(now), Some(then)) = (med(name), med(&baseline)) {
                println!(
                    "{what}, /dev/null: this build {now:.3} s, the baseline {then:.3} s ({:.2}x as fast); reader CPU {} s against {} s",
                    then / now,
                    cpu_median(&mut reader_cpu, name),
                    cpu_median(&mut reader_cpu, &baseline)
                );
            }
        }
        println!(
            "JSONL from data.json byte-identical to the baseline's: {}",
            same("file.jsonl", "baseline.jsonl")?
        );
    }
    Ok(())
}

/// Polls the schedule makes for a job that takes `duration`, when the wait starts as the job
/// is submitted: the first at once, then after each interval, until one lands at or after the
/// job's end. A wait that starts later needs fewer; none needs more.
fn schedule_polls(policy: &PollPolicy, duration: Duration) -> u64 {
    let mut at = Duration::ZERO;
    let mut polls = 1;
    while at < duration {
        at += policy.interval(polls as u32 - 1);
        polls += 1;
    }
    polls
}

fn waits_policy() -> PollPolicy {
    PollPolicy {
        initial: Duration::from_secs(1),
        factor: 1.5,
        cap: Duration::from_secs(5),
        jitter: 0.0,
        allow_fast_polling: true,
        ..PollPolicy::default()
    }
}

const JOB_SECONDS: u64 = 3;

async fn waits_bench(jobs: usize) -> Result<()> {
    println!();
    println!(
        "## {jobs} concurrent `Client::wait`s in one process (jobs take {JOB_SECONDS} s; polls at 1 s x1.5)"
    );
    println!();
    println!(
        "| requests in flight at most | seconds (submit + wait) | peak RSS (MiB) | status polls | the schedule's polls, waits from submit |"
    );
    println!("|---|---:|---:|---:|---:|");
    let default = hasdata_jobs::DEFAULT_MAX_REQUESTS;
    for (label, limit) in [
        (format!("{default} (the default)"), default),
        ("unbounded".to_owned(), 1_000_000),
    ] {
        let sim = Simulator::start(SimConfig {
            job_duration: Duration::from_secs(JOB_SECONDS),
            max_running: jobs + 10,
            credits: 1_000_000_000,
            ..SimConfig::default()
        })
        .await
        .map_err(fail)?;
        let exe = std::env::current_exe().map_err(fail)?;
        let mut command = Command::new(exe);
        command.args([
            "bench-waits-child",
            sim.base_url(),
            sim.api_key(),
            &jobs.to_string(),
            &limit.to_string(),
        ]);
        let Measured {
            secs,
            peak_mib: peak,
            ..
        } = tokio::task::block_in_place(|| measure(&mut command, &Served::InProcess))?;
        let status = sim.requests().get("status").copied().unwrap_or(0);
        let bound = schedule_polls(&waits_policy(), Duration::from_secs(JOB_SECONDS)) * jobs as u64;
        println!("| {label} | {secs:.1} | {peak:.1} | {status} | {bound} |");
        sim.shutdown();
    }
    println!();
    println!(
        "A poll beyond the schedule would show as more status polls than the schedule's; jobs \
         submitted early have ended by the time their wait starts, so they need fewer."
    );
    Ok(())
}

/// The child of the waits benchmark: submits `jobs` contacts jobs, then waits on all at once.
pub fn waits_child(args: &[&str]) -> Result<()> {
    let [base, key, jobs, limit] = args else {
        return Err("usage: bench-waits-child BASE KEY JOBS MAX_REQUESTS".into());
    };
    let jobs: usize = jobs.parse().map_err(fail)?;
    let limit: usize = limit.parse().map_err(fail)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(fail)?;
    runtime.block_on(async {
        let client = Client::builder()
            .api_key(*key)
            .base_url(*base)
            .max_concurrent_requests(limit)
            .build()
            .map_err(fail)?;
        let body = json!({"urls": ["https://example.com/about"]});
        let ids: Vec<JobId> = futures::stream::iter(0..jobs)
            .map(|_| {
                let client = client.clone();
                let body = body.clone();
                async move { client.submit_raw("contacts", &body).await.map(|j| j.id) }
            })
            .buffer_unordered(64)
            .try_collect()
            .await
            .map_err(fail)?;
        let policy = waits_policy();
        let waits = ids.iter().map(|&id| {
            let client = client.clone();
            let policy = policy.clone();
            async move { client.wait(id, policy).await }
        });
        let done = futures::future::join_all(waits).await;
        let failed = done.iter().filter(|r| r.is_err()).count();
        if failed > 0 {
            return Err(format!("{failed} waits failed"));
        }
        Ok(())
    })
}
