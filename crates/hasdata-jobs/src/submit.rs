//! Submitting a job: validate, record the intent, send once, record the id before returning.

use std::marker::PhantomData;
use std::time::Duration;

use bytes::Bytes;
use hasdata_model::bodies::JobBody;
use hasdata_model::{
    Job, JobId, Problem, Report, Scraper, ScraperKind, ValidateOptions, ValidationMode, decode,
};
use http::{Method, StatusCode};
use serde::Deserialize;
use serde_json::Value;

use crate::client::{Answer, Client};
use crate::error::{ConfigError, Error, Result};
use crate::ledger::{
    BodyDigest, Intent, IntentEntry, IntentState, Origin, ResendClaim, SentJobId, Submitted,
};
use crate::poll::PollPolicy;
use crate::rows::Rows;
use hasdata_ledger::redact_body;

/// A submitted job of scraper `S`: its id, the record the submit answered with, and the calls
/// that concern it.
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
///
/// let job: JobHandle<Contacts> =
///     client.submit(&ContactsBody::new(["https://example.com/about"])).await?;
/// let done = job.wait(PollPolicy::fast()).await?;
/// let rows: Vec<ContactsRow> = job.rows().try_collect().await?;
/// assert_eq!(rows.len() as u64, done.data_rows_count.get());
/// # Ok(())
/// # }
/// ```
pub struct JobHandle<S: Scraper> {
    client: Client,
    id: JobId,
    record: Option<Job>,
    warnings: Vec<Problem>,
    scraper: PhantomData<fn() -> S>,
}

impl<S: Scraper> Clone for JobHandle<S> {
    fn clone(&self) -> Self {
        JobHandle {
            client: self.client.clone(),
            id: self.id,
            record: self.record.clone(),
            warnings: self.warnings.clone(),
            scraper: PhantomData,
        }
    }
}

impl<S: Scraper> std::fmt::Debug for JobHandle<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobHandle")
            .field("scraper", &S::SLUG)
            .field("id", &self.id)
            .finish()
    }
}

impl<S: Scraper> JobHandle<S> {
    /// The job's id.
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
    ///
    /// let job = client.submit(&ContactsBody::new(["https://example.com/about"])).await?;
    /// let id: JobId = job.id(); // keep it: it is the only way back to the job
    /// assert_eq!(client.status(id).await?.id, id);
    /// # Ok(())
    /// # }
    /// ```
    pub fn id(&self) -> JobId {
        self.id
    }

    /// The submit record, when this handle came from a submit.
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
    ///
    /// let job = client.submit(&ContactsBody::new(["https://example.com/about"])).await?;
    /// assert_eq!(job.record().map(|record| record.id), Some(job.id()));
    /// assert!(client.job::<Contacts>(job.id()).record().is_none(), "a handle made from an id");
    /// # Ok(())
    /// # }
    /// ```
    pub fn record(&self) -> Option<&Job> {
        self.record.as_ref()
    }

    /// The warnings the body's check found (rules HasData does not document; the body was
    /// sent as written). Empty for a handle that did not come from a submit.
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
    ///
    /// let job = client.submit(&ContactsBody::new(["https://example.com/about"])).await?;
    /// for warning in job.warnings() {
    ///     eprintln!("{}: {}", warning.path, warning.message);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }

    /// The job's status now.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
    /// #     job_duration: std::time::Duration::from_secs(3600),
    /// #     ..Default::default()
    /// # }).await?;
    /// # let client = hasdata_jobs::Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).build()?;
    /// use hasdata_jobs::prelude::*;
    ///
    /// let job = client.submit(&ContactsBody::new(["https://example.com/about"])).await?;
    /// let now = job.status().await?;
    /// assert!(!now.status.is_terminal(), "an hour-long job is still running");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn status(&self) -> Result<Job> {
        self.client.status(self.id).await
    }

    /// Waits until the job ends; see [`Client::wait`]: a job that ends `stopped` or
    /// `finished_with_error` is [`Error::JobEnded`], not `Ok`.
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
    ///
    /// let job = client.submit(&ContactsBody::new(["https://example.com/about"])).await?;
    /// # /*
    /// let done = job.wait(PollPolicy::default()).await?; // 10 s, x1.5, 60 s; at most an hour
    /// # */
    /// # let done = job.wait(PollPolicy::fast()).await?;
    /// assert_eq!(done.status, JobStatus::Finished);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait(&self, policy: PollPolicy) -> Result<Job> {
        self.client.wait(self.id, policy).await
    }

    /// The job's rows, typed for its scraper: from `data.json` once it has finished, from
    /// the pages otherwise, counted against the job (see [`Rows`]). `.read_as::<RowJson>()`
    /// reads them as the bytes the API sent.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
    /// #     job_duration: std::time::Duration::ZERO,
    /// #     ..Default::default()
    /// # }).await?;
    /// use hasdata_jobs::prelude::*;
    ///
    /// let client = Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).build()?;
    /// let job = client.submit(&ContactsBody::new(["https://example.com/about"])).await?;
    /// job.wait(PollPolicy::fast()).await?;
    /// let mut rows = job.rows();
    /// while let Some(row) = rows.try_next().await? {
    ///     println!("{}: {:?}", row.url, row.emails);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn rows(&self) -> Rows<S::Row> {
        self.client.rows(self.id)
    }

    /// Stops the job; rows produced so far are kept.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
    /// #     job_duration: std::time::Duration::from_secs(3600),
    /// #     ..Default::default()
    /// # }).await?;
    /// # let client = hasdata_jobs::Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).build()?;
    /// use hasdata_jobs::prelude::*;
    ///
    /// let job = client.submit(&ContactsBody::new(["https://example.com/about"])).await?;
    /// let stopped = job.stop().await?;
    /// assert_eq!(stopped.status, JobStatus::Stopped);
    /// // Its rows so far are kept and can still be read.
    /// let _so_far: Vec<ContactsRow> = job.rows().try_collect().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn stop(&self) -> Result<Job> {
        self.client.stop(self.id).await
    }
}

impl<S: Scraper> From<&JobHandle<S>> for JobId {
    fn from(handle: &JobHandle<S>) -> JobId {
        handle.id
    }
}

/// The longest pause between submits refused with 429 (without a longer `Retry-After`).
const MAX_CAP_BACKOFF: Duration = Duration::from_secs(30);

/// A fresh idempotency key: a random (version 4) UUID, sent as `Idempotency-Key` as HasData's
/// own CLI does, and the intent's key in the ledger.
/// How long a resend's claim on its intent lasts unless renewed (every third of it): what a
/// killed retrier blocks its intent for, at most.
const RESEND_LEASE: Duration = Duration::from_secs(60);

fn idempotency_key() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string()
}

/// How one submit is recorded.
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
/// use hasdata_jobs::{Origin, SubmitOptions};
///
/// let options = SubmitOptions {
///     origin: Some(Origin::line("/data/bodies.jsonl", 17)),
///     idempotency_key: Some("order-4711".into()), // found again after a crash
///     ..SubmitOptions::default()
/// };
/// let job = client.submit_with(&ContactsBody::new(["https://example.com/about"]), &options).await?;
/// let intent = client.ledger().intent("order-4711").await?.expect("recorded");
/// assert_eq!(intent.job_id.and_then(|id| id.job_id()), Some(job.id()));
/// # use hasdata_jobs::JobLedger as _;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct SubmitOptions {
    /// Where the body came from (`bodies.jsonl:17`), recorded with the intent and the job.
    pub origin: Option<Origin>,
    /// The idempotency key to record the intent under and send, instead of a fresh UUID. A
    /// caller that must find its submit again after a crash (a queue worker) stores the key
    /// first; the ledger refuses a key it already has ([`crate::LedgerError::DuplicateKey`],
    /// as [`Error::LedgerUnavailable`]) before anything is sent, so one key is never POSTed
    /// twice by this path.
    pub idempotency_key: Option<String>,
    /// How long a submit refused with 429 (HasData's concurrency cap; no job created) is
    /// waited out in all before the 429 is returned; `None` takes the client's
    /// ([`ClientBuilder::concurrency_cap_wait`](crate::ClientBuilder::concurrency_cap_wait),
    /// 1 hour by default). `Some(Duration::ZERO)` returns the first 429.
    pub concurrency_cap_wait: Option<Duration>,
}

impl SubmitOptions {
    /// A fresh idempotency key, as a submit without one makes (a random UUID), for a caller
    /// that must look its intent up while the submit is under way: until the ledger has an
    /// intent under that key, nothing was sent, so dropping the submit then costs nothing
    /// (the CLI ends on Ctrl-C so while another process holds the ledger's lock).
    ///
    /// ```
    /// let key = hasdata_jobs::SubmitOptions::fresh_key();
    /// assert_eq!(key.len(), 36);
    /// assert_ne!(key, hasdata_jobs::SubmitOptions::fresh_key());
    /// ```
    pub fn fresh_key() -> String {
        idempotency_key()
    }
}

/// Only the id of a submit answer: read before anything else, so no other field (a `null`
/// count, a new shape) can lose it.
#[derive(Deserialize)]
struct IdOnly {
    #[serde(default)]
    id: Option<Value>,
}

impl Client {
    /// Submits a job. The body is checked first ([`Client::check`]): a broken rule that
    /// HasData's docs verify sends nothing ([`Error::InvalidBody`]); other problems are
    /// warnings, logged and kept on the handle ([`JobHandle::warnings`]), and the body is
    /// sent as written. [`ClientBuilder::validation`](crate::ClientBuilder::validation)
    /// makes warnings refuse too, or turns the check off.
    ///
    /// A 429 (HasData's concurrency cap: every slot of the account is busy, no job was
    /// created) is waited out, honouring `Retry-After`, for up to
    /// [`ClientBuilder::concurrency_cap_wait`](crate::ClientBuilder::concurrency_cap_wait)
    /// (1 hour by default), and the body resent under the same intent.
    ///
    /// Write-ahead: an [`Intent`] is recorded in the ledger before the POST;
    /// the POST is sent once; the job id is recorded before this returns. An error after the
    /// job may have been created says so ([`Error::SubmitUncertain`]) and leaves the intent
    /// unresolved in the ledger.
    ///
    /// The body's type names the scraper ([`JobBody::Scraper`]), so
    /// `client.submit(&ContactsBody::new([..]))` is a `JobHandle<Contacts>`.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = hasdata_sim::Simulator::start(Default::default()).await?;
    /// use hasdata_jobs::prelude::*;
    ///
    /// let client = Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).build()?;
    /// let job: JobHandle<Contacts> =
    ///     client.submit(&ContactsBody::new(["https://example.com/about"])).await?;
    /// // The id is in the client's ledger already; a later process gets the job back by id.
    /// let again = client.job::<Contacts>(job.id());
    /// assert_eq!(again.id(), job.id());
    /// assert!(client.ledger().job(job.id()).await?.is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn submit<B: JobBody>(&self, body: &B) -> Result<JobHandle<B::Scraper>> {
        self.submit_with(body, &SubmitOptions::default()).await
    }

    /// [`Client::submit`] with options: where the body came from, the intent's key, how long
    /// a 429 (the concurrency cap) is waited out.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
    /// #     max_running: 1,
    /// #     job_duration: std::time::Duration::from_secs(3600),
    /// #     ..Default::default()
    /// # }).await?;
    /// use std::time::Duration;
    /// use hasdata_jobs::prelude::*;
    /// use hasdata_jobs::SubmitOptions;
    ///
    /// let client = Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).build()?;
    /// let body = ContactsBody::new(["https://example.com/about"]);
    /// client.submit(&body).await?; // takes the account's only slot
    /// // Don't wait for a slot: the 429 comes back at once, and no job was created.
    /// let now = SubmitOptions { concurrency_cap_wait: Some(Duration::ZERO), ..Default::default() };
    /// let refused = client.submit_with(&body, &now).await.unwrap_err();
    /// assert_eq!(refused.status().map(|s| s.as_u16()), Some(429));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn submit_with<B: JobBody>(
        &self,
        body: &B,
        options: &SubmitOptions,
    ) -> Result<JobHandle<B::Scraper>> {
        let kind = <B::Scraper as Scraper>::KIND;
        let warnings = self.admit(kind, || body.check_with(self.validate_options()))?;
        let bytes =
            serde_json::to_vec(body).map_err(|e| ConfigError::BodyEncoding(e.to_string()))?;
        let record = self
            .submit_bytes(
                <B::Scraper as Scraper>::KIND,
                Bytes::from(bytes),
                Send::Fresh(options.origin.clone(), options.idempotency_key.clone()),
                self.cap_wait(options),
            )
            .await?;
        Ok(JobHandle {
            client: self.clone(),
            id: record.id,
            record: Some(record),
            warnings,
            scraper: PhantomData,
        })
    }

    /// Checks a body as [`Client::submit`] would, under this client's
    /// [validation mode](crate::ClientBuilder::validation), without sending anything: every
    /// problem, errors and warnings, each with its path and evidence.
    ///
    /// ```
    /// use hasdata_jobs::prelude::*;
    ///
    /// let client = Client::new("my-api-key")?;
    /// assert!(!client.check(&ContactsBody::new(["https://example.com/about"])).has_errors());
    /// let report = client.check(&ContactsBody::new(["not a url"]));
    /// for problem in report.errors() {
    ///     println!("{}: {}", problem.path, problem.message); // what submit would refuse
    /// }
    /// assert!(report.has_errors());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check<B: JobBody>(&self, body: &B) -> Report {
        body.check_with(self.validate_options())
            .with_mode(self.inner.validation)
    }

    /// [`Client::check`] for a JSON body and a slug known only at runtime, as
    /// [`Client::submit_raw`] would check it. Fails only on an unknown slug.
    ///
    /// ```
    /// let client = hasdata_jobs::Client::new("my-api-key")?;
    /// let report = client.check_raw("contacts", &serde_json::json!({"urls": []}))?;
    /// assert!(report.has_errors());
    /// assert!(client.check_raw("no-such-scraper", &serde_json::json!({})).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_raw(&self, slug: &str, body: &Value) -> Result<Report> {
        let kind: ScraperKind = slug.parse()?;
        Ok(kind
            .check_json_with(body, self.validate_options())
            .with_mode(self.inner.validation))
    }

    /// Applies the validation mode to a body's check: errors refuse the body (nothing is
    /// sent), warnings are logged and returned. With [`ValidationMode::Off`] nothing is
    /// checked at all.
    fn admit(&self, kind: ScraperKind, check: impl FnOnce() -> Report) -> Result<Vec<Problem>> {
        if self.inner.validation == ValidationMode::Off {
            return Ok(Vec::new());
        }
        let report = check().with_mode(self.inner.validation).into_result()?;
        for warning in report.warnings() {
            tracing::warn!(
                scraper = kind.as_str(),
                path = %warning.path,
                evidence = warning.evidence.mark(),
                "body sent as written despite: {}",
                warning.message
            );
        }
        Ok(report.problems().to_vec())
    }

    /// Submits a job when only the slug is known (a CLI, a config file). The slug and the
    /// body are checked first, with the same rules as [`Client::submit`].
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
    ///
    /// // The slug and the body from a config file, say.
    /// let body = serde_json::json!({"urls": ["https://example.com/about"]});
    /// let job: Job = client.submit_raw("contacts", &body).await?;
    /// let done = client.wait(job.id, PollPolicy::fast()).await?;
    /// assert_eq!(done.status, JobStatus::Finished);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn submit_raw(&self, slug: &str, body: &Value) -> Result<Job> {
        self.submit_raw_with(slug, body, &SubmitOptions::default())
            .await
    }

    /// [`Client::submit_raw`], recording where the body came from.
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
    /// use hasdata_jobs::{JobLedger, Origin, SubmitOptions};
    ///
    /// let body = serde_json::json!({"urls": ["https://example.com/about"]});
    /// let options = SubmitOptions { origin: Some(Origin::line("/data/bodies.jsonl", 3)), ..Default::default() };
    /// let job = client.submit_raw_with("contacts", &body, &options).await?;
    /// let entry = client.ledger().job(job.id).await?.expect("recorded");
    /// assert_eq!(entry.origin.as_deref(), Some("/data/bodies.jsonl:3"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn submit_raw_with(
        &self,
        slug: &str,
        body: &Value,
        options: &SubmitOptions,
    ) -> Result<Job> {
        let kind: ScraperKind = slug.parse()?;
        self.admit(kind, || kind.check_json_with(body, self.validate_options()))?;
        let bytes =
            serde_json::to_vec(body).map_err(|e| ConfigError::BodyEncoding(e.to_string()))?;
        self.submit_bytes(
            kind,
            Bytes::from(bytes),
            Send::Fresh(options.origin.clone(), options.idempotency_key.clone()),
            self.cap_wait(options),
        )
        .await
    }

    /// How long this submit waits out the concurrency cap.
    fn cap_wait(&self, options: &SubmitOptions) -> Duration {
        options
            .concurrency_cap_wait
            .unwrap_or(self.inner.concurrency_cap_wait)
    }

    /// Sends an unresolved (or refused) intent again, with its own idempotency key, after the
    /// caller checked that no job was created. `body` must be the exact bytes of the first
    /// send (their digest is checked): the ledger keeps bodies with webhook secrets redacted,
    /// so the caller supplies them.
    ///
    /// Whether HasData honours `Idempotency-Key` is not documented: if the first send did
    /// create a job, this may create a second one.
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
    /// use hasdata_jobs::{IntentState, JobLedger};
    ///
    /// let client = Client::builder()
    ///     .api_key(sim.api_key())
    ///     .base_url(sim.base_url())
    ///     .concurrency_cap_wait(Duration::ZERO)
    ///     .build()?;
    /// let first = client.submit(&ContactsBody::new(["https://example.com/a"])).await?;
    /// let body = ContactsBody::new(["https://example.com/b"]);
    /// assert!(client.submit(&body).await.is_err()); // 429: the only slot is busy, no job created
    /// let refused = client.ledger().intents().await?.into_iter()
    ///     .find(|intent| intent.state == IntentState::Refused).expect("the refused intent");
    /// first.stop().await?; // a slot frees up
    /// let bytes = serde_json::to_vec(&body)?; // the exact bytes of the first send
    /// let job = client.resend_intent(&refused.intent.key, bytes.into()).await?;
    /// assert_ne!(job.id, first.id());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn resend_intent(&self, key: &str, body: Bytes) -> Result<Job> {
        let entry = self
            .inner
            .ledger
            .intent(key)
            .await
            .map_err(|source| Error::LedgerUnavailable { source })?
            .ok_or_else(|| ConfigError::NoSuchIntent(key.to_owned()))?;
        self.resend_seen_intent(&entry, body, None).await
    }

    /// [`Client::resend_intent`] for the intent as the caller read it (and showed a person):
    /// nothing is sent when it changed since (resent by another process:
    /// [`ConfigError::IntentResentMeanwhile`]), or while another resend of it is under way
    /// ([`ConfigError::IntentBeingResent`]). `cap_wait` replaces the client's
    /// `concurrency_cap_wait` for this send (`Some(Duration::ZERO)`: a 429 comes back at once).
    ///
    /// Two resends of one intent never both send: each first claims the intent in the ledger
    /// ([`JobLedger::claim_resend`](crate::JobLedger::claim_resend), one atomic statement in
    /// SQLite and PostgreSQL alike, so two machines sharing a database are covered), holds the
    /// claim while it sends (a lease of one minute, renewed every 20 s) and gives it back once
    /// the outcome is recorded. A process killed meanwhile leaves a claim that lapses within the
    /// minute.
    pub async fn resend_seen_intent(
        &self,
        seen: &IntentEntry,
        body: Bytes,
        cap_wait: Option<Duration>,
    ) -> Result<Job> {
        let ledger = &self.inner.ledger;
        let key = seen.intent.key.as_str();
        let entry = seen;
        if entry.state == IntentState::Submitted {
            return Err(ConfigError::IntentSubmitted {
                key: key.to_owned(),
                job: entry
                    .job_id
                    .as_ref()
                    .map(|id| id.to_string())
                    .unwrap_or_default(),
            }
            .into());
        }
        if BodyDigest::of(&body) != entry.intent.digest {
            return Err(ConfigError::IntentBodyDiffers(key.to_owned()).into());
        }
        let kind: ScraperKind = entry.intent.slug.parse()?;
        let value: Value =
            serde_json::from_slice(&body).map_err(|e| ConfigError::IntentBodyNotJson {
                key: key.to_owned(),
                reason: e.to_string(),
            })?;
        self.admit(kind, || {
            kind.check_json_with(&value, self.validate_options())
        })?;
        let wait = cap_wait.unwrap_or(self.inner.concurrency_cap_wait);
        let owner = idempotency_key();
        let ledger_error = |source| Error::LedgerUnavailable { source };
        match ledger
            .claim_resend(key, &owner, entry.attempts, RESEND_LEASE)
            .await
            .map_err(ledger_error)?
        {
            ResendClaim::Taken => {}
            ResendClaim::Held => return Err(ConfigError::IntentBeingResent(key.to_owned()).into()),
            ResendClaim::Moved => {
                let state = ledger
                    .intent(key)
                    .await
                    .map_err(ledger_error)?
                    .map_or_else(|| "gone".to_owned(), |now| now.state.to_string());
                return Err(ConfigError::IntentResentMeanwhile {
                    key: key.to_owned(),
                    state,
                }
                .into());
            }
        }
        let send = self.submit_bytes(kind, body, Send::Again(key.to_owned()), wait);
        tokio::pin!(send);
        // The claim is renewed while the send (and any wait for the cap) goes on.
        let result = loop {
            tokio::select! {
                result = &mut send => break result,
                () = tokio::time::sleep(RESEND_LEASE / 3) => {
                    match ledger.claim_resend(key, &owner, entry.attempts, RESEND_LEASE).await {
                        Ok(ResendClaim::Taken) => {}
                        Ok(_) => tracing::warn!(key, "the resend's claim lapsed (the ledger was away) and another retry holds it now"),
                        Err(error) => tracing::warn!(key, %error, "could not renew the resend's claim in the ledger"),
                    }
                }
            }
        };
        if let Err(error) = ledger.release_resend(key, &owner).await {
            tracing::warn!(key, %error, "could not give the resend's claim back; it lapses within a minute");
        }
        result
    }

    /// A handle to a job submitted earlier (from the ledger, or another process).
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
    ///
    /// # let id = client.submit(&ContactsBody::new(["https://example.com/about"])).await?.id();
    /// // An id from the ledger, or from another process, and the scraper it was submitted to:
    /// let job = client.job::<Contacts>(id);
    /// job.wait(PollPolicy::fast()).await?;
    /// let rows: Vec<ContactsRow> = job.rows().try_collect().await?;
    /// assert_eq!(rows.len(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn job<S: Scraper>(&self, id: impl Into<JobId>) -> JobHandle<S> {
        JobHandle {
            client: self.clone(),
            id: id.into(),
            record: None,
            warnings: Vec::new(),
            scraper: PhantomData,
        }
    }

    /// What `validate()` accepts from this client: http webhooks only for a simulator.
    fn validate_options(&self) -> ValidateOptions {
        ValidateOptions {
            allow_http_webhooks: self.inner.allow_http_webhooks,
        }
    }

    /// The write-ahead submit: intent, POST, outcome.
    async fn submit_bytes(
        &self,
        kind: ScraperKind,
        body: Bytes,
        send: Send,
        cap_wait: Duration,
    ) -> Result<Job> {
        let slug = kind.as_str();
        let ledger = &self.inner.ledger;
        let key = match send {
            Send::Fresh(origin, key) => {
                let key = key.unwrap_or_else(idempotency_key);
                let intent = Intent::new(key.clone(), slug, &body, origin);
                ledger
                    .record_intent(&intent)
                    .await
                    .map_err(|source| Error::LedgerUnavailable { source })?;
                key
            }
            Send::Again(key) => {
                ledger
                    .record_resend(&key)
                    .await
                    .map_err(|source| Error::LedgerUnavailable { source })?;
                key
            }
        };
        let answer = self
            .post_waiting_out_the_cap(slug, &key, body, cap_wait)
            .await?;
        // The id first, from the raw bytes; nothing else in the answer can lose it.
        let sent_id = serde_json::from_slice::<IdOnly>(&answer.body)
            .ok()
            .and_then(|only| only.id)
            .as_ref()
            .and_then(SentJobId::from_value);
        let Some(sent_id) = sent_id else {
            let reason = format!(
                "the answer ({}) has no job id: {}",
                answer.status,
                self.scrub(&String::from_utf8_lossy(
                    &answer.body[..answer.body.len().min(200)]
                ))
            );
            return Err(self.uncertain(slug, &key, reason).await);
        };
        let mut raw: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        redact_body(&mut raw);
        let submitted = Submitted {
            id: sent_id.clone(),
            status: raw.get("status").and_then(Value::as_str).map(str::to_owned),
            record: raw,
        };
        ledger
            .record_submitted(&key, &submitted)
            .await
            .map_err(|source| Error::Ledger {
                job_id: sent_id.job_id(),
                sent_id: sent_id.to_string(),
                source,
            })?;
        let Some(id) = sent_id.job_id() else {
            return Err(Error::UnsupportedJobId {
                id: sent_id.to_string(),
                key,
            });
        };
        tracing::info!(job_id = %id, scraper = slug, key = %key, "job submitted");
        self.lenient_record(id, &answer.body, &submitted)
    }

    /// POSTs the body under `key` until an answer creates a job or says why not. A 429 is
    /// HasData's concurrency cap: the server created no job, so the intent is marked refused
    /// while this waits (`Retry-After` when sent, else 1 s doubling to 30 s) and then resent
    /// under the same key, for at most `cap_wait` in all. The same key, not a new intent:
    /// it is one logical submit, the ledger keeps one intent for it (a crash while waiting
    /// leaves it refused, which is true: no job exists), a `--bodies` rerun recognises the
    /// line by it, and a server that honours `Idempotency-Key` sees one operation. Only the
    /// final answer is returned; a 429 past `cap_wait` is [`Error::Api`] with status 429.
    async fn post_waiting_out_the_cap(
        &self,
        slug: &str,
        key: &str,
        body: Bytes,
        cap_wait: Duration,
    ) -> Result<Answer> {
        let mut waited = Duration::ZERO;
        let mut backoff = Duration::from_secs(1);
        loop {
            let mut request = self.request(
                Method::POST,
                &format!("/scrapers/{slug}/jobs"),
                Some(body.clone()),
            )?;
            if let Ok(value) = http::HeaderValue::from_str(key) {
                request.headers_mut().insert("idempotency-key", value);
            }
            let answer = match self.exchange(request).await {
                Ok(answer) => answer,
                Err(error) if !error.may_have_reached_server() => {
                    self.settle_failed(key, IntentState::Refused, &format!("never sent: {error}"))
                        .await;
                    return Err(Error::Transport {
                        source: error,
                        job_id: None,
                        page: None,
                    });
                }
                Err(error) => {
                    let reason = self.scrub(&error.to_string());
                    return Err(self.uncertain(slug, key, reason).await);
                }
            };
            if answer.status.is_server_error() {
                let reason = self.api_error(&answer).to_string();
                return Err(self.uncertain(slug, key, reason).await);
            }
            if answer.status.is_success() {
                return Ok(answer);
            }
            // 4xx: the server refused the request; no job exists.
            let error = self.api_error(&answer);
            let pause = error.retry_after.unwrap_or(backoff).min(MAX_CAP_BACKOFF);
            let busy = answer.status == StatusCode::TOO_MANY_REQUESTS;
            if !busy || waited.saturating_add(pause) > cap_wait {
                self.settle_failed(key, IntentState::Refused, &error.to_string())
                    .await;
                return Err(Error::Api {
                    source: Box::new(error),
                    job_id: None,
                    page: None,
                });
            }
            let reason =
                format!("{error}; the concurrency cap: resending under the same key in {pause:?}");
            self.settle_failed(key, IntentState::Refused, &reason).await;
            tracing::info!(
                key,
                scraper = slug,
                wait_ms = pause.as_millis() as u64,
                "concurrency cap reached (429, no job created); waiting to resend"
            );
            tokio::time::sleep(pause).await;
            waited += pause;
            backoff = (backoff * 2).min(MAX_CAP_BACKOFF);
            self.inner
                .ledger
                .record_resend(key)
                .await
                .map_err(|source| Error::LedgerUnavailable { source })?;
        }
    }

    /// The submit record, decoded; when some field does not decode, a record with the id and
    /// the status only (the id is recorded already; the rest of a record must never fail the
    /// submit).
    fn lenient_record(&self, id: JobId, body: &[u8], submitted: &Submitted) -> Result<Job> {
        let error = match decode::from_slice::<Job>(body) {
            Ok(mut record) => {
                record.id = id;
                return Ok(record);
            }
            Err(e) => e,
        };
        tracing::warn!(job_id = %id, error = %self.scrub(&error.to_string()), "the submit record did not decode in full; keeping its id and status");
        let status = submitted.status.as_deref().unwrap_or("pending");
        serde_json::from_value(serde_json::json!({"id": id, "status": status}))
            .or_else(|_| serde_json::from_value(serde_json::json!({"id": id, "status": "pending"})))
            .map_err(|_| Error::Decode {
                source: self.scrub_decode(error),
                job_id: Some(id),
            })
    }

    /// Marks the intent uncertain and builds the error that says so.
    async fn uncertain(&self, slug: &str, key: &str, reason: String) -> Error {
        self.settle_failed(key, IntentState::Uncertain, &reason)
            .await;
        Error::SubmitUncertain {
            slug: slug.to_owned(),
            key: key.to_owned(),
            reason,
        }
    }

    /// Records a submit that produced no id. Should the ledger fail here, the intent stays
    /// pending, which reads as unresolved: still safe, so only a warning.
    async fn settle_failed(&self, key: &str, state: IntentState, reason: &str) {
        let ledger = &self.inner.ledger;
        let result = match state {
            IntentState::Refused => ledger.record_refused(key, reason).await,
            _ => ledger.record_uncertain(key, reason).await,
        };
        if let Err(error) = result {
            tracing::warn!(key, error = %error, "the ledger could not record a submit's outcome; the intent stays pending");
        }
    }

    /// A job's status now. The record is noted in the client's ledger (status, rows,
    /// credits) when the ledger has the job, as every record a call reads is: a wait's polls
    /// too, so `hasdata jobs list` shows what this program last saw.
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
    ///
    /// # let id = client.submit(&ContactsBody::new(["https://example.com/about"])).await?.id();
    /// let job = client.status(id).await?;
    /// println!("job {}: {}, {} rows, {} credits", job.id, job.status, job.data_rows_count, job.credits_spent);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn status(&self, id: impl Into<JobId>) -> Result<Job> {
        let id = id.into();
        let job: Job = self
            .idempotent(Method::GET, &format!("/scrapers/jobs/{id}"), Some(id))
            .await?;
        self.note_progress(id, &job).await;
        Ok(job)
    }

    /// Stops a job early. Rows produced so far are kept; `stopped` is terminal. The answer
    /// is noted in the client's ledger, as [`Client::status`]'s is.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
    /// #     job_duration: std::time::Duration::from_secs(3600),
    /// #     ..Default::default()
    /// # }).await?;
    /// # let client = hasdata_jobs::Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).build()?;
    /// use hasdata_jobs::prelude::*;
    ///
    /// # let id = client.submit(&ContactsBody::new(["https://example.com/about"])).await?.id();
    /// let stopped = client.stop(id).await?;
    /// assert!(stopped.status.is_terminal());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn stop(&self, id: impl Into<JobId>) -> Result<Job> {
        let id = id.into();
        let job: Job = self
            .idempotent(Method::DELETE, &format!("/scrapers/jobs/{id}"), Some(id))
            .await?;
        self.note_progress(id, &job).await;
        Ok(job)
    }
}

/// A first send (with where the body came from), or an explicit resend of an intent.
enum Send {
    Fresh(Option<Origin>, Option<String>),
    Again(String),
}
