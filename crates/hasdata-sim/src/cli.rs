//! The simulator's command-line flags and banner, shared by `hasdata-sim` and `hasdata sim`.

use std::time::Duration;

use crate::{FaultSpec, Shape, SimConfig, SimHandle};

/// The simulator's command-line flags, shared by `hasdata-sim` and `hasdata sim`.
#[derive(Clone, Debug, clap::Args)]
pub struct SimArgs {
    /// API port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 8787)]
    pub port: u16,
    /// Download files' port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub storage_port: u16,
    /// The API key clients must send as x-api-key.
    #[arg(long, env = "HASDATA_SIM_API_KEY", default_value = "demo")]
    pub api_key: String,
    /// Seconds from submit to finished (0: at once).
    #[arg(long, default_value_t = 10.0)]
    pub job_duration: f64,
    /// Seconds a download link stays valid.
    #[arg(long, default_value_t = 300.0)]
    pub download_ttl: f64,
    /// Unfinished jobs allowed at once; one more submit gets 429.
    #[arg(long, default_value_t = 5)]
    pub max_running: usize,
    /// Seed of the fault draws.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Faults, e.g. "503=0.1,results:reset=0.05,latency=20ms@0.5,webhook-drop=0.3" (see docs/simulator.md).
    #[arg(long, default_value = "")]
    pub faults: String,
    /// Accept http:// webhook URLs (the real API takes only https).
    #[arg(long)]
    pub allow_http_webhooks: bool,
    /// Response shapes: profiles `seed` (default), `docs`, `edge` and single flags, comma-separated (see docs/simulator.md).
    #[arg(long, default_value = "seed", value_name = "LIST")]
    pub shape: String,
    /// Credits of the key; running jobs stop when they run out, submits then get 403.
    #[arg(long, default_value_t = 10_000_000)]
    pub credits: u64,
    /// Rows per scraper.data.scraped event.
    #[arg(long, default_value_t = 25)]
    pub webhook_batch: usize,
    /// The first job's id. Default: microseconds since the Unix epoch, so a restarted
    /// simulator never hands out an id it gave before (a client's ledger would mix the jobs).
    #[arg(long, value_name = "ID")]
    pub first_job_id: Option<u64>,
}

/// An id no earlier run of the simulator handed out: the clock in microseconds (below 2^53
/// until the year 2255, so JavaScript clients read it exactly).
fn clock_job_id() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(416_349, |since| {
            u64::try_from(since.as_micros()).unwrap_or(416_349)
        })
}

fn seconds(flag: &str, value: f64) -> Result<Duration, String> {
    // Bounded (30 days) so that no deadline computed from it can overflow.
    match Duration::try_from_secs_f64(value) {
        Ok(duration) if duration <= Duration::from_secs(30 * 24 * 3600) => Ok(duration),
        _ => Err(format!(
            "--{flag} takes a number of seconds from 0 to 2592000 (30 days), got {value}"
        )),
    }
}

impl SimArgs {
    /// The configuration these flags describe.
    pub fn config(&self) -> Result<SimConfig, String> {
        let args = self.clone();
        let faults: FaultSpec = args.faults.parse().map_err(|e| format!("--faults: {e}"))?;
        let shape: Shape = args.shape.parse().map_err(|e| format!("--shape: {e}"))?;
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
            first_job_id: args.first_job_id.unwrap_or_else(clock_job_id),
            shape,
            credits: args.credits,
            ..SimConfig::default()
        })
    }
}

/// Prints where the simulator listens, in the lines tools parse (`base URL: ...`). A closed
/// stdout is no reason to stop serving: write errors are ignored.
pub fn print_banner(sim: &SimHandle) {
    use std::io::Write;
    let banner = format!(
        "hasdata-sim is running\nbase URL: {}\napi key: {}\nfiles: {}\nshape: {}\npress Ctrl-C to stop\n",
        sim.base_url(),
        sim.api_key(),
        sim.storage_url(),
        sim.config().shape
    );
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(banner.as_bytes()).and_then(|()| out.flush());
}
