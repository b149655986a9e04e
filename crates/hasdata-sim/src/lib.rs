//! A faithful local simulator of HasData's asynchronous Scraper Jobs API.
//!
//! It answers the same endpoints with the same shapes and quirks as the real API (integer ids,
//! counts that turn into strings, double-wrapped rows, short-lived download links on another
//! host, `stopped` keeping its rows, a concurrency cap answered with 429), delivers webhooks
//! the way HasData does (three attempts, no order), and injects seeded, counted faults. The
//! demo, the tests and the benchmarks run against it; users run it to develop offline.
//!
//! ```
//! # #[tokio::main]
//! # async fn main() -> std::io::Result<()> {
//! use hasdata_sim::{SimConfig, Simulator};
//! let sim = Simulator::start(SimConfig::default()).await?;
//! println!("{} (key {})", sim.base_url(), sim.api_key());
//! # assert!(sim.base_url().starts_with("http://127.0.0.1:"));
//! # assert_eq!(sim.api_key(), "demo");
//! # Ok(())
//! # }
//! ```

mod cache;
mod checks;
pub mod cli;
mod faults;
mod files;
mod jobs;
mod mix;
mod render;
mod rows;
mod scrapers;
mod server;
mod shape;
mod webhooks;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::AbortHandle;

pub use faults::{Endpoint, EndpointFaults, FaultSpec, FaultSpecError, WebhookFaults};
pub use jobs::Hold;
pub use scrapers::credits_per_row;
pub use shape::{Shape, ShapeError};
pub use webhooks::{ATTEMPTS as WEBHOOK_ATTEMPTS, DeliveryOutcome, WebhookDelivery};

use server::Shared;

/// How the simulator behaves.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The API port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The download files' port on 127.0.0.1 (another origin, like a storage bucket); 0 picks
    /// a free one.
    pub storage_port: u16,
    /// The one valid API key.
    pub api_key: String,
    /// How long a job takes from submit to `finished` (0: finished at once).
    pub job_duration: Duration,
    /// How long a download link stays valid.
    pub download_ttl: Duration,
    /// Unfinished jobs allowed at once; one more submit gets 429.
    pub max_running: usize,
    /// The seed of every random choice (faults; rows depend only on job id and index).
    pub seed: u64,
    /// Faults to inject.
    pub faults: FaultSpec,
    /// Accept `http://` webhook URLs (for local receivers); the real API takes only https.
    pub allow_http_webhooks: bool,
    /// Rows per `scraper.data.scraped` event.
    pub webhook_batch: usize,
    /// How long a receiver may take to answer one webhook call.
    pub webhook_timeout: Duration,
    /// The wait before a webhook retry, multiplied by the attempt number.
    pub webhook_retry_delay: Duration,
    /// Credits available to the key. A job gets the rows the credits still cover once every
    /// other job's rows are paid for; past them it is stopped (`stopReason:
    /// "not_enough_credits"`), as the API stops running jobs when credits run out. Submits
    /// fail with 403 once the credits are spent.
    pub credits: u64,
    /// The id of the first job.
    pub first_job_id: u64,
    /// The response shapes: the seed page's by default; see [`Shape`].
    pub shape: Shape,
    /// Bytes of rendered results pages and download-file chunks of ended jobs kept for
    /// repeated reads (oldest dropped first); 0 renders every request afresh.
    pub render_cache_bytes: usize,
}

impl SimConfig {
    /// This configuration with `shape`'s responses.
    ///
    /// ```
    /// use hasdata_sim::{Shape, SimConfig};
    /// let config = SimConfig::default().with_shape(Shape::docs());
    /// assert!(config.shape.no_wrapper_ids);
    /// ```
    #[must_use]
    pub fn with_shape(mut self, shape: Shape) -> Self {
        self.shape = shape;
        self
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            port: 0,
            storage_port: 0,
            api_key: "demo".into(),
            job_duration: Duration::from_secs(10),
            download_ttl: Duration::from_secs(300),
            max_running: 5,
            seed: 0,
            faults: FaultSpec {
                retry_after_secs: 1,
                ..FaultSpec::default()
            },
            allow_http_webhooks: false,
            webhook_batch: 25,
            webhook_timeout: Duration::from_secs(5),
            webhook_retry_delay: Duration::from_millis(200),
            credits: 10_000_000,
            first_job_id: 416_349,
            shape: Shape::default(),
            render_cache_bytes: 128 * 1024 * 1024,
        }
    }
}

/// Starts simulators.
pub struct Simulator;

impl Simulator {
    /// Binds both listeners on 127.0.0.1 and starts serving. Stops when the handle is dropped.
    pub async fn start(config: SimConfig) -> std::io::Result<SimHandle> {
        if config.api_key.trim().is_empty() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the API key must not be empty",
            ));
        }
        let (api_listener, api_addr) = server::bind(config.port).await?;
        let (storage_listener, storage_addr) = server::bind(config.storage_port).await?;
        let webhook_http = hasdata_transport::ReqwestTransport::builder()
            .timeout(config.webhook_timeout)
            .connect_timeout(config.webhook_timeout)
            .build()
            .map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared {
            store: jobs::JobStore::new(config.first_job_id),
            faults: faults::FaultInjector::new(config.faults.clone(), config.seed),
            webhooks: webhooks::WebhookLog::default(),
            webhook_http: Arc::new(webhook_http),
            delivery_slots: Semaphore::new(64),
            storage_base: format!("http://{storage_addr}"),
            file_secret: mix::mix(&[config.seed, 0xF11E5]),
            submits: AtomicU64::new(0),
            cache: Arc::new(cache::RenderCache::new(config.render_cache_bytes)),
            first_submit_seen: std::sync::atomic::AtomicBool::new(false),
            key_seen_by_storage: AtomicU64::new(0),
            requests: Mutex::new(BTreeMap::new()),
            tasks: Mutex::new(Vec::new()),
            created: Mutex::new(Vec::new()),
            config,
        });
        let api_task = server::serve(api_listener, shared.clone(), server::api);
        let storage_task = server::serve(storage_listener, shared.clone(), server::storage);
        Ok(SimHandle {
            base_url: format!("http://{api_addr}"),
            storage_url: format!("http://{storage_addr}"),
            listeners: vec![api_task, storage_task],
            shared,
        })
    }
}

/// A running simulator. Dropping it stops the listeners and every background task.
pub struct SimHandle {
    base_url: String,
    storage_url: String,
    listeners: Vec<AbortHandle>,
    shared: Arc<Shared>,
}

/// A job the simulator created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreatedJob {
    /// Its id.
    pub id: u64,
    /// The `Idempotency-Key` header of the POST that created it, if any.
    pub idempotency_key: Option<String>,
}

/// What the simulator keeps in memory: rows are never stored, so this stays small whatever
/// the row counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bookkeeping {
    /// Job records.
    pub jobs: usize,
    /// Bytes held by the job records (inputs included), roughly.
    pub job_bytes: usize,
    /// Webhook delivery attempts logged.
    pub webhook_log_entries: usize,
    /// Bytes of rendered pages and file chunks cached, at most
    /// [`SimConfig::render_cache_bytes`].
    pub cached_bytes: usize,
}

impl SimHandle {
    /// The API's base URL (`http://127.0.0.1:PORT`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The storage host's base URL, where download links point.
    pub fn storage_url(&self) -> &str {
        &self.storage_url
    }

    /// The valid API key.
    pub fn api_key(&self) -> &str {
        &self.shared.config.api_key
    }

    /// The configuration in force.
    pub fn config(&self) -> &SimConfig {
        &self.shared.config
    }

    /// Submits that created a job.
    pub fn submits(&self) -> u64 {
        self.shared.submits.load(Ordering::Relaxed)
    }

    /// Every job created so far, in order: its id and the `Idempotency-Key` header its POST
    /// carried. Fault tests check that a client's ledger accounts for each one.
    pub fn created_jobs(&self) -> Vec<CreatedJob> {
        self.shared
            .created
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(id, key)| CreatedJob {
                id: *id,
                idempotency_key: key.clone(),
            })
            .collect()
    }

    /// The most unfinished jobs there were at once (never above `max_running`): a fleet of
    /// clients sharing a cap checks it here.
    pub fn peak_running(&self) -> u64 {
        self.shared.store.peak_running()
    }

    /// Requests per endpoint name (`submit`, `status`, `results`, `stop`, `usage`, `files`).
    pub fn requests(&self) -> BTreeMap<&'static str, u64> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Faults that fired, by `endpoint:fault` (`results:503`, `webhook:drop`, ...).
    pub fn fault_counts(&self) -> BTreeMap<String, u64> {
        self.shared.faults.counts()
    }

    /// Requests to the storage host that carried an `x-api-key` header: must stay 0.
    pub fn api_keys_seen_by_storage(&self) -> u64 {
        self.shared.key_seen_by_storage.load(Ordering::Relaxed)
    }

    /// Every webhook delivery attempt so far.
    pub fn webhook_log(&self) -> Vec<WebhookDelivery> {
        self.shared.webhooks.entries()
    }

    /// Webhook work still under way: job followers (one per hooked job until it ends) and
    /// deliveries (through their delays and retries). 0 means every webhook the simulator
    /// will send for its current jobs has been sent and logged: tests wait on this instead of
    /// sleeping.
    pub fn webhooks_in_flight(&self) -> usize {
        self.shared.webhooks.in_flight()
    }

    /// What the simulator holds in memory.
    pub fn bookkeeping(&self) -> Bookkeeping {
        Bookkeeping {
            jobs: self.shared.store.len(),
            job_bytes: self.shared.store.held_bytes(),
            webhook_log_entries: self.shared.webhooks.entries().len(),
            cached_bytes: self.shared.cache.held_bytes(),
        }
    }

    /// The rows a job produces, exactly as the results and the files carry them, for tests
    /// that compare what a client received. `None` for an unknown job.
    pub fn expected_rows(&self, job_id: u64) -> Option<Vec<serde_json::Value>> {
        let job = self.shared.store.get(job_id)?;
        let rows = job.snapshot(tokio::time::Instant::now()).rows;
        Some(
            (0..rows)
                .map(|i| rows::row(job.scraper, &job.input, job.id, i))
                .collect(),
        )
    }

    /// Test hook: keeps every job, existing and future, from getting past `hold` until
    /// [`release`](Self::release), so a test can act on a running job without racing the
    /// job's clock. Off by default; nothing but a caller of this method turns it on.
    pub fn hold(&self, hold: Hold) {
        self.shared.store.set_hold(Some(hold));
    }

    /// Lifts [`hold`](Self::hold): jobs continue on their own clock (one whose time is up
    /// finishes at once).
    pub fn release(&self) {
        self.shared.store.set_hold(None);
    }

    /// Stops serving now.
    pub fn shutdown(&self) {
        for task in &self.listeners {
            task.abort();
        }
        for task in self
            .shared
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            task.abort();
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}
