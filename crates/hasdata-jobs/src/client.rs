//! The client: configuration, the transport stack, and the request helpers every call uses.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hasdata_model::JobId;
use hasdata_model::decode;
use hasdata_transport::{
    ApiError, ApiKey, ApiKeyTransport, Decision, Origin, Outcome, ReqwestTransport, RetryPolicy,
    RetryTransport, SharedTransport, TransportError, TransportErrorKind,
};
use http::{Method, StatusCode, header};
use serde::de::DeserializeOwned;

use crate::error::{ConfigError, Error, Result};
use crate::ledger::{JobLedger, MemoryLedger};

/// The real API.
pub const DEFAULT_BASE_URL: &str = "https://api.hasdata.com";

/// The largest API answer read into memory (a results page is far smaller).
const MAX_API_BODY: usize = 64 * 1024 * 1024;

/// How much of an error answer is read.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Requests one client has in flight at most, by default. Each needs a connection and its
/// buffers; 10,000 jobs waited on at once must not mean 10,000 connections
/// (see `docs/benchmarks.md`). Polls past the limit queue and go out when a request ends.
pub const DEFAULT_MAX_REQUESTS: usize = 32;

/// How long a submit waits out HasData's concurrency cap (429) by default: an hour, as long as
/// a wait's default deadline. Slots free up as the account's jobs end.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(hasdata_jobs::DEFAULT_CONCURRENCY_CAP_WAIT, Duration::from_secs(3600));
/// // Wait ten minutes at most instead:
/// let client = hasdata_jobs::Client::builder()
///     .api_key("my-api-key")
///     .concurrency_cap_wait(Duration::from_secs(600))
///     .build()?;
/// # drop(client);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const DEFAULT_CONCURRENCY_CAP_WAIT: Duration = Duration::from_secs(3600);

/// Result pages fetched at once, by default. Chosen from a sweep (`docs/benchmarks.md`): with
/// 50 ms a page, 8 reads twice as fast as 4 (16 gains another 1.4x); with a server that
/// answers at once, 1 to 16 cost the same, so more only spends the account's concurrency
/// cap and a page buffer (about 40 KB) each.
pub const DEFAULT_PAGE_CONCURRENCY: usize = 8;

/// A client of the Scraper Jobs API. Cheap to clone: clones share one connection pool.
///
/// ```
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # // Run against the in-process simulator, so this example is tested end to end.
/// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
/// #     job_duration: std::time::Duration::ZERO,
/// #     ..Default::default()
/// # }).await?;
/// # // SAFETY: a doctest is its own single-threaded process at this point.
/// # unsafe {
/// #     std::env::set_var("HASDATA_API_KEY", sim.api_key());
/// #     std::env::set_var("HASDATA_BASE_URL", sim.base_url());
/// # }
/// use hasdata_jobs::prelude::*;
///
/// let client = Client::from_env()?; // HASDATA_API_KEY, optional HASDATA_BASE_URL
/// let job = client.submit(&ContactsBody::new(["https://example.com/about"])).await?;
/// println!("submitted job {}", job.id()); // persist it: the ledger already did
/// # let poll = PollPolicy::fast();
/// # /*
/// job.wait(PollPolicy::default()).await?;
/// # */
/// # job.wait(poll).await?;
/// let rows: Vec<_> = job.rows().try_collect().await?;
/// # assert_eq!(rows.len(), 1);
/// # assert_eq!(rows[0].url, "https://example.com/about");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub transport: SharedTransport,
    pub base_url: String,
    pub host: String,
    pub retry: RetryPolicy,
    pub ledger: Arc<dyn JobLedger>,
    pub page_concurrency: usize,
    pub allow_http_webhooks: bool,
    /// How long a submit waits out 429 (the concurrency cap) in all.
    pub concurrency_cap_wait: Duration,
    /// How bodies are checked before a submit.
    pub validation: hasdata_model::ValidationMode,
    /// One permit per request in flight (held until its body is read or dropped).
    pub requests: Arc<tokio::sync::Semaphore>,
    /// How many permits `requests` has: a paged reading never asks for more pages at once.
    pub max_requests: usize,
    key: ApiKey,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("key", &self.inner.key)
            .field("page_concurrency", &self.inner.page_concurrency)
            .field("retry", &self.inner.retry)
            .field("ledger", &self.inner.ledger)
            .finish()
    }
}

/// Settings of a [`Client`].
///
/// ```
/// use std::time::Duration;
/// use hasdata_jobs::prelude::*;
///
/// let client = Client::builder()
///     .api_key("my-api-key")
///     .page_concurrency(16)
///     .concurrency_cap_wait(Duration::from_secs(600))
///     .build()?;
/// assert_eq!(client.base_url(), "https://api.hasdata.com");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ClientBuilder {
    api_key: Option<std::result::Result<ApiKey, hasdata_transport::InvalidApiKey>>,
    base_url: String,
    transport: Option<SharedTransport>,
    retry: RetryPolicy,
    ledger: Option<Arc<dyn JobLedger>>,
    #[cfg(feature = "sqlite")]
    ledger_file: Option<std::path::PathBuf>,
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    ledger_url: Option<String>,
    page_concurrency: usize,
    max_requests: usize,
    timeout: Option<Duration>,
    allow_http_webhooks: bool,
    concurrency_cap_wait: Duration,
    validation: hasdata_model::ValidationMode,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "[REDACTED]"))
            .field("base_url", &self.base_url)
            .field("ledger", &self.ledger_location())
            .field("retry", &self.retry)
            .field("page_concurrency", &self.page_concurrency)
            .field("validation", &self.validation)
            .finish()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            api_key: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            transport: None,
            retry: RetryPolicy::default(),
            ledger: None,
            #[cfg(feature = "sqlite")]
            ledger_file: None,
            #[cfg(any(feature = "sqlite", feature = "postgres"))]
            ledger_url: None,
            page_concurrency: DEFAULT_PAGE_CONCURRENCY,
            max_requests: DEFAULT_MAX_REQUESTS,
            timeout: None,
            allow_http_webhooks: false,
            concurrency_cap_wait: DEFAULT_CONCURRENCY_CAP_WAIT,
            validation: hasdata_model::ValidationMode::Default,
        }
    }
}

impl ClientBuilder {
    /// The API key (required).
    ///
    /// ```
    /// let client = hasdata_jobs::Client::builder().api_key("my-api-key").build()?;
    /// // The key never shows in Debug output.
    /// assert!(!format!("{client:?}").contains("my-api-key"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey::new(key));
        self
    }

    /// The API's base URL (default `https://api.hasdata.com`; the simulator prints its own).
    ///
    /// ```
    /// let client = hasdata_jobs::Client::builder()
    ///     .api_key("my-api-key")
    ///     .base_url("http://127.0.0.1:8080/") // a simulator: `hasdata sim` prints its URL
    ///     .build()?;
    /// assert_eq!(client.base_url(), "http://127.0.0.1:8080");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into().trim_end_matches('/').to_owned();
        self
    }

    /// The bottom transport (default: reqwest). The key and retry layers go on top of it.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use hasdata_transport::ReqwestTransport;
    ///
    /// let bottom = ReqwestTransport::builder().timeout(Duration::from_secs(30)).build()?;
    /// let client = hasdata_jobs::Client::builder()
    ///     .api_key("my-api-key")
    ///     .transport(Arc::new(bottom)) // or your own `Transport`: see examples/recording_transport.rs
    ///     .build()?;
    /// # drop(client);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn transport(mut self, transport: SharedTransport) -> Self {
        self.transport = Some(transport);
        self
    }

    /// How transient failures are retried.
    ///
    /// ```
    /// use std::time::Duration;
    /// use hasdata_transport::RetryPolicy;
    ///
    /// let client = hasdata_jobs::Client::builder()
    ///     .api_key("my-api-key")
    ///     .retry_policy(RetryPolicy {
    ///         max_attempts: 3,
    ///         max_total_delay: Duration::from_secs(10),
    ///         ..RetryPolicy::default()
    ///     })
    ///     .build()?;
    /// # drop(client);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Where submitted job ids are recorded (default: in memory).
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
    /// #     job_duration: std::time::Duration::ZERO,
    /// #     ..Default::default()
    /// # }).await?;
    /// use std::sync::Arc;
    /// use hasdata_jobs::prelude::*;
    /// use hasdata_jobs::{JobLedger, MemoryLedger};
    ///
    /// let ledger = Arc::new(MemoryLedger::new());
    /// let client = Client::builder()
    ///     .api_key(sim.api_key())
    ///     .base_url(sim.base_url())
    ///     .ledger(ledger.clone())
    ///     .build()?;
    /// let job = client.submit(&ContactsBody::new(["https://example.com/about"])).await?;
    /// assert_eq!(ledger.jobs().await?[0].id, job.id().as_u64().unwrap());
    /// # Ok(())
    /// # }
    /// ```
    pub fn ledger(mut self, ledger: Arc<dyn JobLedger>) -> Self {
        self.ledger = Some(ledger);
        self
    }

    /// Records submits in the SQLite ledger at `path` (created when missing), the file the
    /// `hasdata` CLI reads: a job submitted here shows in `hasdata jobs list --ledger PATH`.
    /// Opened by [`ClientBuilder::build`] for this client's base URL. Feature `sqlite`.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let client = hasdata_jobs::Client::builder()
    ///     .api_key("my-api-key")
    ///     .ledger_file(dir.path().join("ledger.sqlite"))
    ///     .build()?;
    /// # drop(client);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "sqlite")]
    #[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
    pub fn ledger_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.ledger_file = Some(path.into());
        self
    }

    /// Records submits in the ledger named by `location`, as `hasdata --ledger` names it: a
    /// `postgres://` URL (feature `postgres`: one database that several machines share; its
    /// password is never printed), or a SQLite file as a path or `sqlite://PATH` (feature
    /// `sqlite`). Opened by [`ClientBuilder::build`] for this client's base URL; a PostgreSQL
    /// ledger connects (and migrates) on the first submit, and a server it cannot reach then
    /// fails that submit with [`crate::Error::LedgerUnavailable`] before anything is sent.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # #[cfg(feature = "sqlite")] {
    /// let client = hasdata_jobs::Client::builder()
    ///     .api_key("my-api-key")
    ///     .ledger_url(format!("sqlite://{}", dir.path().join("ledger.sqlite").display()))
    ///     .build()?;
    /// # drop(client);
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    #[cfg_attr(docsrs, doc(cfg(any(feature = "sqlite", feature = "postgres"))))]
    pub fn ledger_url(mut self, location: impl Into<String>) -> Self {
        self.ledger_url = Some(location.into());
        self
    }

    /// Where the ledger is, for `Debug` (a URL's password redacted).
    fn ledger_location(&self) -> Option<String> {
        #[cfg(any(feature = "sqlite", feature = "postgres"))]
        if let Some(url) = &self.ledger_url {
            return Some(hasdata_ledger::Location::parse(url).to_string());
        }
        #[cfg(feature = "sqlite")]
        if let Some(path) = &self.ledger_file {
            return Some(path.display().to_string());
        }
        self.ledger
            .as_ref()
            .map(|_| "a ledger of the caller's".to_owned())
    }

    /// Result pages fetched at once (default [`DEFAULT_PAGE_CONCURRENCY`]; 1 is sequential).
    ///
    /// ```
    /// let client = hasdata_jobs::Client::builder()
    ///     .api_key("my-api-key")
    ///     .page_concurrency(16) // a `Rows` can still say `.concurrency(n)` for itself
    ///     .build()?;
    /// # drop(client);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn page_concurrency(mut self, pages: usize) -> Self {
        self.page_concurrency = pages.max(1);
        self
    }

    /// Requests in flight at once, across everything this client (and its clones) does:
    /// waits, pages, downloads (default [`DEFAULT_MAX_REQUESTS`]; at least 1). A request
    /// over the limit waits for one to end; a `data.json` download counts until its body is
    /// read or dropped.
    ///
    /// ```
    /// // Ten thousand jobs waited on at once, over at most 64 connections.
    /// let client = hasdata_jobs::Client::builder()
    ///     .api_key("my-api-key")
    ///     .max_concurrent_requests(64)
    ///     .build()?;
    /// # drop(client);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_concurrent_requests(mut self, requests: usize) -> Self {
        self.max_requests = requests.max(1);
        self
    }

    /// The default reqwest transport's wait for response headers (default 300 s).
    ///
    /// ```
    /// let client = hasdata_jobs::Client::builder()
    ///     .api_key("my-api-key")
    ///     .timeout(std::time::Duration::from_secs(60))
    ///     .build()?;
    /// # drop(client);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Accept `http://` webhook URLs in bodies, for a local simulator calling a local
    /// receiver. Refused against api.hasdata.com, which calls https URLs only.
    ///
    /// ```
    /// use hasdata_jobs::{Client, ConfigError, Error};
    ///
    /// let local = Client::builder()
    ///     .api_key("my-api-key")
    ///     .base_url("http://127.0.0.1:8080")
    ///     .allow_http_webhooks(true)
    ///     .build();
    /// assert!(local.is_ok());
    /// let real = Client::builder().api_key("my-api-key").allow_http_webhooks(true).build();
    /// assert!(matches!(real, Err(Error::Config(ConfigError::HttpWebhooksAgainstHasData))));
    /// ```
    pub fn allow_http_webhooks(mut self, allow: bool) -> Self {
        self.allow_http_webhooks = allow;
        self
    }

    /// How long a submit refused with 429 waits for a free slot, in all (default
    /// [`DEFAULT_CONCURRENCY_CAP_WAIT`], 1 hour; `Duration::ZERO` returns the first 429;
    /// `Duration::MAX` waits for as long as it takes). A 429 on a submit is HasData's
    /// concurrency cap: every slot of the account is busy and no job was created, so the body
    /// is sent again (same intent, same key) once `Retry-After` has passed, or after a
    /// backoff from 1 s to 30 s. [`SubmitOptions`](crate::SubmitOptions) sets it per submit.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
    /// #     job_duration: std::time::Duration::from_secs(3600),
    /// #     max_running: 1,
    /// #     ..Default::default()
    /// # }).await?;
    /// use std::time::Duration;
    /// use hasdata_jobs::prelude::*;
    ///
    /// let client = Client::builder()
    ///     .api_key(sim.api_key())
    ///     .base_url(sim.base_url())
    ///     .concurrency_cap_wait(Duration::ZERO) // fail at once when every slot is busy
    ///     .build()?;
    /// let body = ContactsBody::new(["https://example.com/about"]);
    /// client.submit(&body).await?; // the account's only slot
    /// let busy = client.submit(&body).await.unwrap_err();
    /// assert_eq!(busy.status().map(|s| s.as_u16()), Some(429)); // no job was created
    /// # Ok(())
    /// # }
    /// ```
    pub fn concurrency_cap_wait(mut self, wait: Duration) -> Self {
        self.concurrency_cap_wait = wait;
        self
    }

    /// How bodies are checked before a submit (default [`ValidationMode::Default`]: only
    /// rules HasData documents refuse a body; the others are warnings, logged and kept on the
    /// [`JobHandle`](crate::JobHandle), and the body is sent as written).
    /// [`ValidationMode::Strict`] refuses on warnings too; [`ValidationMode::Off`] sends
    /// every body untouched and unchecked.
    ///
    /// [`ValidationMode::Default`]: hasdata_model::ValidationMode::Default
    /// [`ValidationMode::Strict`]: hasdata_model::ValidationMode::Strict
    /// [`ValidationMode::Off`]: hasdata_model::ValidationMode::Off
    ///
    /// ```
    /// use hasdata_jobs::prelude::*;
    ///
    /// let client = Client::builder()
    ///     .api_key("my-api-key")
    ///     .validation(ValidationMode::Strict) // warnings refuse a body too
    ///     .build()?;
    /// let report = client.check(&ContactsBody::new(Vec::<String>::new()));
    /// assert!(report.has_errors(), "contacts needs at least one URL");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn validation(mut self, mode: hasdata_model::ValidationMode) -> Self {
        self.validation = mode;
        self
    }

    /// Builds the client. Fails without a key or with a base URL that is not absolute.
    ///
    /// ```
    /// use hasdata_jobs::{Client, ConfigError, Error};
    ///
    /// let missing = Client::builder().build().unwrap_err();
    /// assert!(matches!(missing, Error::Config(ConfigError::MissingApiKey)));
    /// let relative = Client::builder().api_key("k").base_url("api.hasdata.com").build().unwrap_err();
    /// assert!(matches!(relative, Error::Config(ConfigError::BaseUrl { .. })));
    /// ```
    pub fn build(self) -> Result<Client> {
        let key = match self.api_key {
            Some(Ok(key)) => key,
            Some(Err(e)) => return Err(ConfigError::InvalidApiKey(e.to_string()).into()),
            None => {
                return Err(ConfigError::MissingApiKey.into());
            }
        };
        let origin = Origin::parse(&self.base_url).map_err(|e| ConfigError::BaseUrl {
            url: self.base_url.clone(),
            reason: e.to_string(),
        })?;
        if self.allow_http_webhooks
            && origin
                .host()
                .eq_ignore_ascii_case(crate::poll::HASDATA_HOST)
        {
            return Err(ConfigError::HttpWebhooksAgainstHasData.into());
        }
        let bottom: SharedTransport = match self.transport {
            Some(transport) => transport,
            None => {
                let mut builder = ReqwestTransport::builder();
                if let Some(timeout) = self.timeout {
                    builder = builder.timeout(timeout);
                }
                Arc::new(
                    builder
                        .build()
                        .map_err(|e| ConfigError::HttpClient(e.to_string()))?,
                )
            }
        };
        let keyed = ApiKeyTransport::new(bottom, key.clone(), &self.base_url).map_err(|e| {
            ConfigError::BaseUrl {
                url: self.base_url.clone(),
                reason: e.to_string(),
            }
        })?;
        let transport: SharedTransport =
            Arc::new(RetryTransport::new(Arc::new(keyed), self.retry.clone()));
        #[cfg(any(feature = "sqlite", feature = "postgres"))]
        let ledger = match (self.ledger, &self.ledger_url) {
            (None, Some(url)) => Some(
                hasdata_ledger::Location::parse(url)
                    .open(&self.base_url)
                    .map_err(|source| Error::LedgerUnavailable { source })?,
            ),
            (ledger, _) => ledger,
        };
        #[cfg(not(any(feature = "sqlite", feature = "postgres")))]
        let ledger = self.ledger;
        #[cfg(feature = "sqlite")]
        let ledger = match (ledger, self.ledger_file) {
            (Some(ledger), _) => Some(ledger),
            (None, Some(path)) => {
                let ledger = crate::ledger::SqliteLedger::open(&path, &self.base_url)
                    .map_err(|source| Error::LedgerUnavailable { source })?;
                Some(Arc::new(ledger) as Arc<dyn JobLedger>)
            }
            (None, None) => None,
        };
        Ok(Client {
            inner: Arc::new(Inner {
                transport,
                base_url: self.base_url,
                host: origin.host().to_owned(),
                retry: self.retry,
                ledger: ledger.unwrap_or_else(|| Arc::new(MemoryLedger::new())),
                page_concurrency: self.page_concurrency,
                allow_http_webhooks: self.allow_http_webhooks,
                concurrency_cap_wait: self.concurrency_cap_wait,
                validation: self.validation,
                requests: Arc::new(tokio::sync::Semaphore::new(self.max_requests)),
                max_requests: self.max_requests,
                key,
            }),
        })
    }
}

/// A response read whole.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Client {
    /// Settings to fill in.
    ///
    /// ```
    /// let client = hasdata_jobs::Client::builder()
    ///     .api_key("my-api-key")
    ///     .max_concurrent_requests(8)
    ///     .build()?;
    /// # drop(client);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client of the real API with `api_key` and every other setting at its default; see
    /// [`Client::builder`] for the rest. Fails on a key that cannot be sent in a header.
    ///
    /// ```
    /// let client = hasdata_jobs::Client::new("my-api-key")?;
    /// assert_eq!(client.base_url(), hasdata_jobs::DEFAULT_BASE_URL);
    /// # Ok::<(), hasdata_jobs::Error>(())
    /// ```
    pub fn new(api_key: impl Into<String>) -> Result<Client> {
        Client::builder().api_key(api_key).build()
    }

    /// A client from `HASDATA_API_KEY` and, when set, `HASDATA_BASE_URL`.
    ///
    /// ```
    /// # // SAFETY: a doctest is its own single-threaded process at this point.
    /// # unsafe {
    /// #     std::env::set_var("HASDATA_API_KEY", "my-api-key");
    /// #     std::env::remove_var("HASDATA_BASE_URL");
    /// # }
    /// let client = hasdata_jobs::Client::from_env()?; // HASDATA_API_KEY, optional HASDATA_BASE_URL
    /// assert_eq!(client.base_url(), hasdata_jobs::DEFAULT_BASE_URL);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_env() -> Result<Client> {
        let mut builder = Client::builder();
        if let Ok(key) = std::env::var("HASDATA_API_KEY") {
            builder = builder.api_key(key);
        }
        if let Ok(url) = std::env::var("HASDATA_BASE_URL") {
            builder = builder.base_url(url);
        }
        builder.build()
    }

    /// The API's base URL.
    ///
    /// ```
    /// let client = hasdata_jobs::Client::new("my-api-key")?;
    /// assert_eq!(client.base_url(), "https://api.hasdata.com");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The ledger that records submits.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
    /// #     job_duration: std::time::Duration::ZERO,
    /// #     ..Default::default()
    /// # }).await?;
    /// # let client = hasdata_jobs::Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).build()?;
    /// use hasdata_jobs::prelude::*;
    /// use hasdata_jobs::JobLedger;
    ///
    /// let job = client.submit(&ContactsBody::new(["https://example.com/about"])).await?;
    /// let entry = client.ledger().job(job.id()).await?.expect("recorded before submit returned");
    /// assert_eq!(entry.scraper, "contacts");
    /// # Ok(())
    /// # }
    /// ```
    pub fn ledger(&self) -> &Arc<dyn JobLedger> {
        &self.inner.ledger
    }

    pub(crate) fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<hasdata_transport::Request> {
        // Per request (a page of results is one): the URL joined without the formatting
        // machinery, the header values static rather than copied from text each time.
        let base = &self.inner.base_url;
        let mut url = String::with_capacity(base.len() + path.len());
        url.push_str(base);
        url.push_str(path);
        let json = http::HeaderValue::from_static("application/json");
        let mut builder = http::Request::builder()
            .method(method)
            .uri(url)
            .header(header::ACCEPT, json.clone());
        if body.is_some() {
            builder = builder.header(header::CONTENT_TYPE, json);
        }
        builder.body(body.unwrap_or_default()).map_err(|e| {
            Error::from(ConfigError::Request {
                path: path.to_owned(),
                reason: e.to_string(),
            })
        })
    }

    /// Sends a request and reads the whole answer. A body that breaks off is a
    /// `TransportError` of kind `Body`.
    pub(crate) async fn exchange(
        &self,
        request: hasdata_transport::Request,
    ) -> std::result::Result<Answer, TransportError> {
        self.exchange_staged(request)
            .await
            .map_err(|(error, _)| error)
    }

    /// [`Client::exchange`], saying of a failure whether it came after the headers (`true`):
    /// the transport's retries, done once the headers came, never saw it.
    async fn exchange_staged(
        &self,
        request: hasdata_transport::Request,
    ) -> std::result::Result<Answer, (TransportError, bool)> {
        let _permit = self.request_permit().await;
        let response = self
            .inner
            .transport
            .send(request)
            .await
            .map_err(|error| (error, false))?;
        let (parts, body) = response.into_parts();
        let limit = if parts.status.is_success() {
            MAX_API_BODY
        } else {
            MAX_ERROR_BODY
        };
        let body = match body.bytes_limited(limit).await {
            Ok(body) => body,
            // An error answer that breaks off still says what it is.
            Err(_) if !parts.status.is_success() => Bytes::new(),
            Err(e) => return Err((e, true)),
        };
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// An idempotent call (GET, DELETE): the transport retries failed requests; a body that
    /// breaks off after the headers (which the transport, done once the headers came, cannot
    /// see) is retried here with the same policy. Nothing else is retried here: a retry loop
    /// around the transport's own would multiply the attempts (5 x 5 against a dead host).
    pub(crate) async fn idempotent<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        job: Option<JobId>,
    ) -> Result<T> {
        self.idempotent_with(method, path, job, |body| decode::from_slice(body))
            .await
    }

    /// [`Client::idempotent`] with the answer's body turned into `T` by `parse` (a results
    /// page read as raw rows is not a `DeserializeOwned` type).
    pub(crate) async fn idempotent_with<T>(
        &self,
        method: Method,
        path: &str,
        job: Option<JobId>,
        parse: impl Fn(&Bytes) -> std::result::Result<T, decode::DecodeError>,
    ) -> Result<T> {
        let mut attempt = 0;
        let mut delayed = Duration::ZERO;
        loop {
            attempt += 1;
            let request = self.request(method.clone(), path, None)?;
            match self.exchange_staged(request).await {
                Ok(answer) => return self.decode_answer_with(answer, job, &parse),
                // Any other failure already went through the transport's retries. A GET or
                // DELETE sends no body, so a `Body` error is the answer's body breaking off;
                // so is any failure after the headers, a body gone silent (a timeout) too: a
                // results page that stalled once ended the export, never asked for again.
                Err((error, false)) if error.kind() != TransportErrorKind::Body => {
                    return Err(Error::Transport {
                        source: error,
                        job_id: job,
                        page: None,
                    });
                }
                Err((error, _)) => {
                    let decision = self.inner.retry.decide(
                        true,
                        Outcome::Error(&error),
                        attempt,
                        delayed,
                        rand::random(),
                    );
                    match decision {
                        Decision::RetryAfter(delay) => {
                            tracing::info!(attempt, error = %error, path, "retrying a call whose answer broke off");
                            tokio::time::sleep(delay).await;
                            delayed += delay;
                        }
                        Decision::Stop => {
                            return Err(Error::Transport {
                                source: error,
                                job_id: job,
                                page: None,
                            });
                        }
                    }
                }
            }
        }
    }

    /// Turns an answer into `T`, or into the API's error.
    fn decode_answer_with<T>(
        &self,
        answer: Answer,
        job: Option<JobId>,
        parse: impl Fn(&Bytes) -> std::result::Result<T, decode::DecodeError>,
    ) -> Result<T> {
        if !answer.status.is_success() {
            return Err(Error::Api {
                source: Box::new(self.api_error(&answer)),
                job_id: job,
                page: None,
            });
        }
        parse(&answer.body).map_err(|e| Error::Decode {
            source: self.scrub_decode(e),
            job_id: job,
        })
    }

    /// The API's error, with the key scrubbed should the server ever echo it.
    pub(crate) fn api_error(&self, answer: &Answer) -> ApiError {
        let mut error = ApiError::from_response_parts(answer.status, &answer.headers, &answer.body);
        error.message = self.scrub(&error.message);
        error.body_snippet = self.scrub(&error.body_snippet);
        error.details = error.details.iter().map(|d| self.scrub(d)).collect();
        error
    }

    pub(crate) fn scrub_decode(&self, mut error: decode::DecodeError) -> decode::DecodeError {
        error.snippet = self.scrub(&error.snippet);
        error.message = self.scrub(&error.message);
        error
    }

    /// Waits for room under the client's request limit. The semaphore is never closed, so
    /// there is always a permit in the end.
    pub(crate) async fn request_permit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.inner.requests.clone().acquire_owned().await.ok()
    }

    pub(crate) fn scrub(&self, text: &str) -> String {
        text.replace(self.inner.key.expose(), "[REDACTED]")
    }

    pub(crate) fn host(&self) -> &str {
        &self.inner.host
    }
}
