//! `hasdata-sim`: run the Scraper Jobs API simulator on 127.0.0.1.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use hasdata_sim::{FaultSpec, SimConfig, Simulator};

/// A local, faithful simulator of HasData's Scraper Jobs API. Point any HasData client at the
/// base URL it prints; no credits are spent and nothing leaves this machine.
#[derive(Debug, Parser)]
#[command(name = "hasdata-sim", version)]
struct Args {
    /// API port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8787)]
    port: u16,
    /// Download files' port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    storage_port: u16,
    /// The API key clients must send as x-api-key.
    #[arg(long, env = "HASDATA_SIM_API_KEY", default_value = "demo")]
    api_key: String,
    /// Seconds from submit to finished (0: at once).
    #[arg(long, default_value_t = 10.0)]
    job_duration: f64,
    /// Seconds a download link stays valid.
    #[arg(long, default_value_t = 300.0)]
    download_ttl: f64,
    /// Unfinished jobs allowed at once; one more submit gets 429.
    #[arg(long, default_value_t = 5)]
    max_running: usize,
    /// Seed of the fault draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Faults, e.g. "503=0.1,results:reset=0.05,latency=20ms@0.5,webhook-drop=0.3" (see docs/simulator.md).
    #[arg(long, default_value = "")]
    faults: String,
    /// Accept http:// webhook URLs (the real API takes only https).
    #[arg(long)]
    allow_http_webhooks: bool,
    /// Rows per scraper.data.scraped event.
    #[arg(long, default_value_t = 25)]
    webhook_batch: usize,
}

fn seconds(flag: &str, value: f64) -> Result<Duration, String> {
    if value.is_finite() && value >= 0.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(format!(
            "--{flag} takes a number of seconds >= 0, got {value}"
        ))
    }
}

fn config(args: Args) -> Result<SimConfig, String> {
    let faults: FaultSpec = args.faults.parse().map_err(|e| format!("--faults: {e}"))?;
    Ok(SimConfig {
        port: args.port,
        storage_port: args.storage_port,
        api_key: args.api_key,
        job_duration: seconds("job-duration", args.job_duration)?,
        download_ttl: seconds("download-ttl", args.download_ttl)?,
        max_running: args.max_running,
        seed: args.seed,
        faults,
        allow_http_webhooks: args.allow_http_webhooks,
        webhook_batch: args.webhook_batch,
        ..SimConfig::default()
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let config = match config(Args::parse()) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("hasdata-sim: {message}");
            return ExitCode::from(2);
        }
    };
    let sim = match Simulator::start(config).await {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("hasdata-sim: could not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("hasdata-sim is running");
    println!("base URL: {}", sim.base_url());
    println!("api key: {}", sim.api_key());
    println!("files: {}", sim.storage_url());
    println!("press Ctrl-C to stop");
    let _ = tokio::signal::ctrl_c().await;
    sim.shutdown();
    ExitCode::SUCCESS
}
