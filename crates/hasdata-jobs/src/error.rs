//! One error type for the lifecycle. Every error after a submit carries the job id, so paid
//! work is never orphaned by a failure.

use std::time::Duration;

use hasdata_ledger::LedgerError;
use hasdata_model::decode::DecodeError;
use hasdata_model::{Job, JobId, JobStatus, UnknownScraper, ValidationErrors};
use hasdata_transport::{ApiError, TransportError};

/// What went wrong.
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
/// # let job = client.submit(&ContactsBody::new(["https://example.com/about"])).await?;
/// # job.stop().await?;
/// match job.wait(PollPolicy::fast()).await {
///     Ok(done) => println!("finished: {} rows", done.data_rows_count),
///     Err(Error::JobEnded { job }) => println!("ended {} ({:?})", job.status, job.stop_reason),
///     Err(error) if error.is_transient() => println!("try again later: {error}"),
///     Err(error) => return Err(error.into()),
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The body is invalid; nothing was sent.
    #[error(transparent)]
    InvalidBody(#[from] ValidationErrors),
    /// The slug is not a scraper; nothing was sent.
    #[error(transparent)]
    UnknownScraper(#[from] UnknownScraper),
    /// The client, a policy or a call's arguments are misconfigured; nothing was sent. The
    /// [`ConfigError`] says what.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// The API answered with an error status.
    #[error("{source}{}", job_suffix(*job_id, *page))]
    Api {
        /// The answer. Boxed: it is most of the variant's size, and every `Result` of this
        /// crate is as large as its largest error (clippy's `result_large_err` bound, 128
        /// bytes, was reached once the page was added).
        source: Box<ApiError>,
        /// The job concerned, when there is one.
        job_id: Option<JobId>,
        /// The results page asked for, when the call was a page of a paged reading: a 404 or
        /// a 500 on page 37 of 900 is a different fault from one on the job, and a reading
        /// that names no page leaves the user to guess which (the bad-JSON error names it
        /// in its path already).
        page: Option<u64>,
    },
    /// No answer (after the transport's retries).
    #[error("{source}{}", job_suffix(*job_id, *page))]
    Transport {
        /// What failed.
        source: TransportError,
        /// The job concerned, when there is one.
        job_id: Option<JobId>,
        /// The results page asked for, as in [`Error::Api`]: a body cut off on page 37 says so.
        page: Option<u64>,
    },
    /// The answer did not have the expected shape.
    #[error("{source}{}", job_suffix(*job_id, None))]
    Decode {
        /// Where and what.
        source: DecodeError,
        /// The job concerned, when there is one.
        job_id: Option<JobId>,
    },
    /// A submit failed in a way that does not prove the job was not created: it may exist
    /// and be spending credits. Its intent stays unresolved in the ledger under `key`; check
    /// the account before sending it again (with the same key: [`crate::Client::resend_intent`]).
    #[error(
        "submit to {slug} failed after the request may have reached HasData, so the job may exist (intent {key}): {reason}"
    )]
    SubmitUncertain {
        /// The scraper.
        slug: String,
        /// The intent's idempotency key.
        key: String,
        /// What happened.
        reason: String,
    },
    /// The ledger could not record the intent, so nothing was sent.
    #[error("the ledger could not record the submit, so nothing was sent: {source}")]
    LedgerUnavailable {
        /// The ledger's error.
        source: LedgerError,
    },
    /// The job was created but the ledger could not record its id. The id is here: keep it.
    #[error("job {sent_id} was created but the ledger could not record it: {source}")]
    Ledger {
        /// The new job, when its id is an integer.
        job_id: Option<JobId>,
        /// The id as the server sent it.
        sent_id: String,
        /// The ledger's error.
        source: LedgerError,
    },
    /// The server created a job whose id is not an integer, which this SDK cannot follow. The
    /// id is recorded with the intent `key`.
    #[error(
        "the server created job {id:?}, which is not an integer id this client can follow; it is recorded in the ledger under intent {key}"
    )]
    UnsupportedJobId {
        /// The id as sent.
        id: String,
        /// The intent's idempotency key.
        key: String,
    },
    /// The wait's deadline passed before the job ended. The job goes on running.
    #[error("job {job_id} did not finish within {waited:?} (last status: {})", last_status.as_ref().map_or("unknown", |s| s.as_str()))]
    WaitDeadline {
        /// The job.
        job_id: JobId,
        /// How long the wait lasted.
        waited: Duration,
        /// The last status seen, if any poll succeeded.
        last_status: Option<JobStatus>,
    },
    /// The job ended without finishing: `stopped` (by a user, or for lack of credits) or
    /// `finished_with_error` (see `stopReason`, such as `data_limit_exceeded`). `job` is its
    /// final record; the rows it produced so far are kept and can still be read by its id.
    #[error("job {} ended {}{}", job.id, job.status.as_str(), job.stop_reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default())]
    JobEnded {
        /// The final record, `stop_reason` included.
        job: Box<Job>,
    },
    /// The rows ended short of what the ended job reports (`dataRowsCount`, and for pages
    /// `meta.total`), after `data.json` and the pages fallback were both tried. The rows that
    /// came are not the job's whole output.
    #[error("incomplete: got {rows} of {expected} rows (job {job_id})")]
    Incomplete {
        /// The job.
        job_id: JobId,
        /// Rows that came.
        rows: u64,
        /// Rows the job reports.
        expected: u64,
    },
    /// The rows came to more than the ended job reports (`dataRowsCount`), and a fresh status
    /// read after them still disagreed: the job's output is not what its record says, and the
    /// rows read cannot be trusted to be its rows. `expected` is the fresh status's count.
    #[error(
        "inconsistent: the results hold {rows} rows but job {job_id} reports {expected} (read twice)"
    )]
    RowCountMismatch {
        /// The job.
        job_id: JobId,
        /// Rows that came.
        rows: u64,
        /// Rows the job reports.
        expected: u64,
    },
    /// The ended job's `dataRowsCount` is not a number of rows this client can read (`"-5"`,
    /// `"abc"`, `1.5`, ...: `sent` is its JSON text, as sent), so the rows cannot be checked
    /// against it. Every row was read and handed on first (the pages up to `lastPage` and
    /// `meta.total`, or `data.json` whole): they may well be all of them, but nothing says so,
    /// and reading the count as 0 would claim the job held none.
    #[error(
        "unchecked: job {job_id} reports dataRowsCount {sent}, which is not a number of rows, so the rows read cannot be checked against it"
    )]
    UncheckedRows {
        /// The job.
        job_id: JobId,
        /// The count as sent (JSON text: `"-5"` for a string, `-5` for a number).
        sent: String,
    },
    /// The results pages repeated a row (the same wrapper `id` twice): a server error, such as
    /// a server that ignores `page`. The repeat is not a row.
    #[error(
        "the results repeated row {row_id} on page {page} (job {job_id}): the server's paging is broken"
    )]
    RepeatedRow {
        /// The job.
        job_id: JobId,
        /// The repeated wrapper id.
        row_id: String,
        /// The page it came on again.
        page: u64,
    },
    /// The tokio runtime shut down while rows were being read.
    #[error("the runtime shut down while rows were being read")]
    Shutdown,
    /// The job has no downloadable file (not finished, or no `data.json` link).
    #[error("job {job_id} has no data.json to download (status {status})")]
    NoDownload {
        /// The job.
        job_id: JobId,
        /// Its status.
        status: JobStatus,
    },
}

/// What is misconfigured, for [`Error::Config`]. Nothing was sent.
///
/// ```
/// use hasdata_jobs::{Client, ConfigError, Error};
///
/// match Client::builder().api_key("k").base_url("localhost:8080").build() {
///     Err(Error::Config(ConfigError::BaseUrl { url, reason })) => println!("{url}: {reason}"),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No API key was given.
    #[error("no API key: set HASDATA_API_KEY or call api_key()")]
    MissingApiKey,
    /// The API key cannot be sent in a header (empty, or not visible ASCII).
    #[error("{0}")]
    InvalidApiKey(String),
    /// The base URL is not an absolute http(s) URL.
    #[error("base URL {url:?}: {reason}")]
    BaseUrl {
        /// The URL as given.
        url: String,
        /// Why it is refused.
        reason: String,
    },
    /// `allow_http_webhooks` with the real API, which calls https webhook URLs only.
    #[error("HasData calls https webhook URLs only: allow_http_webhooks is for a simulator")]
    HttpWebhooksAgainstHasData,
    /// The default HTTP client could not be built (its TLS setup).
    #[error("the HTTP client could not be built: {0}")]
    HttpClient(String),
    /// The poll factor is not a finite number of at least 1.
    #[error("poll factor must be a number >= 1, got {0}")]
    PollFactor(f64),
    /// The poll jitter is outside `[0, 1)`.
    #[error("poll jitter must be in [0, 1), got {0}")]
    PollJitter(f64),
    /// The poll cap is shorter than the first interval.
    #[error("poll cap {cap:?} is shorter than the first interval {initial:?}")]
    PollCapBelowInitial {
        /// The cap.
        cap: Duration,
        /// The first interval.
        initial: Duration,
    },
    /// A first poll interval under 10 s against api.hasdata.com without `allow_fast_polling`.
    #[error(
        "a first poll interval of {0:?} is under HasData's 10 s minimum and spends the account's concurrency cap; set allow_fast_polling to override"
    )]
    PollTooFast(Duration),
    /// The body could not be encoded as JSON.
    #[error("body does not encode: {0}")]
    BodyEncoding(String),
    /// A request could not be built (a path the `http` crate refuses).
    #[error("bad request for {path}: {reason}")]
    Request {
        /// The API path.
        path: String,
        /// Why.
        reason: String,
    },
    /// `resend_intent` with a key the ledger does not have.
    #[error("no submit intent with key {0} in the ledger")]
    NoSuchIntent(String),
    /// `resend_intent` on an intent that already created a job.
    #[error("intent {key} already created job {job}: nothing to resend")]
    IntentSubmitted {
        /// The intent's key.
        key: String,
        /// The job it created, as sent.
        job: String,
    },
    /// `resend_intent` while another resend of the same intent holds its claim in the ledger
    /// (another process is sending it now): nothing was sent.
    #[error(
        "intent {0} is being resent by another process right now: nothing was sent; look at the intent again once it is done"
    )]
    IntentBeingResent(String),
    /// `resend_intent` on an intent that moved on since the caller read it (another process
    /// resent it meanwhile): nothing was sent.
    #[error(
        "intent {key} was resent by another process meanwhile (it is {state} now): nothing was sent"
    )]
    IntentResentMeanwhile {
        /// The intent's key.
        key: String,
        /// Its state now.
        state: String,
    },
    /// `resend_intent` with a body whose digest is not the intent's.
    #[error("the body given for intent {0} is not the one first sent (its SHA-256 differs)")]
    IntentBodyDiffers(String),
    /// `resend_intent` with a body that is not JSON.
    #[error("the body of intent {key} is not JSON: {reason}")]
    IntentBodyNotJson {
        /// The intent's key.
        key: String,
        /// The parser's words.
        reason: String,
    },
}

/// ` (job 7)`, ` (job 7, page 37)`, or nothing: what an error was about, after its words.
fn job_suffix(job_id: Option<JobId>, page: Option<u64>) -> String {
    match (job_id, page) {
        (Some(id), Some(page)) => format!(" (job {id}, page {page})"),
        (Some(id), None) => format!(" (job {id})"),
        (None, Some(page)) => format!(" (page {page})"),
        (None, None) => String::new(),
    }
}

impl Error {
    /// The job this error is about, when it is about one.
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
    /// # let job = client.submit(&ContactsBody::new(["https://example.com/about"])).await?;
    /// # job.stop().await?;
    /// let error = job.wait(PollPolicy::fast()).await.unwrap_err();
    /// assert_eq!(error.job_id(), Some(job.id())); // paid work is never orphaned by an error
    /// # Ok(())
    /// # }
    /// ```
    pub fn job_id(&self) -> Option<JobId> {
        match self {
            Error::Api { job_id, .. }
            | Error::Transport { job_id, .. }
            | Error::Decode { job_id, .. }
            | Error::Ledger { job_id, .. } => *job_id,
            Error::JobEnded { job } => Some(job.id),
            Error::WaitDeadline { job_id, .. }
            | Error::NoDownload { job_id, .. }
            | Error::Incomplete { job_id, .. }
            | Error::RowCountMismatch { job_id, .. }
            | Error::UncheckedRows { job_id, .. }
            | Error::RepeatedRow { job_id, .. } => Some(*job_id),
            _ => None,
        }
    }

    /// The results page this error came from, when it came from one: an answer or a failure
    /// of a page of a paged reading (a page whose text did not read names it in the
    /// [`DecodeError`]'s path instead, `page 50.data[99].data`).
    pub fn page(&self) -> Option<u64> {
        match self {
            Error::Api { page, .. } | Error::Transport { page, .. } => *page,
            _ => None,
        }
    }

    /// This error, said to have come from results page `number` (an answer or a failure of
    /// that page's request).
    pub(crate) fn on_page(mut self, number: u64) -> Self {
        if let Error::Api { page, .. } | Error::Transport { page, .. } = &mut self {
            page.get_or_insert(number);
        }
        self
    }

    /// The final record of a job that ended `stopped` or `finished_with_error`
    /// ([`Error::JobEnded`]); its `stop_reason` says why.
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
    /// # let job = client.submit(&ContactsBody::new(["https://example.com/about"])).await?;
    /// # job.stop().await?;
    /// let error = job.wait(PollPolicy::fast()).await.unwrap_err();
    /// let ended = error.ended_job().expect("stopped, not finished");
    /// assert_eq!(ended.status, JobStatus::Stopped);
    /// # Ok(())
    /// # }
    /// ```
    pub fn ended_job(&self) -> Option<&Job> {
        match self {
            Error::JobEnded { job } => Some(job),
            _ => None,
        }
    }

    /// Whether the rows came short, repeated, came to more than the job reports (after a
    /// second look at its count), or could not be checked against a count that does not read
    /// ([`Error::UncheckedRows`]): what was read is not known to be the job's output as reported.
    ///
    /// ```
    /// use hasdata_jobs::{Error, model::JobId};
    ///
    /// let short = Error::Incomplete { job_id: JobId::from(7), rows: 90, expected: 100 };
    /// assert!(short.is_incomplete()); // what was read is not the job's whole output
    /// ```
    pub fn is_incomplete(&self) -> bool {
        matches!(
            self,
            Error::Incomplete { .. }
                | Error::RepeatedRow { .. }
                | Error::RowCountMismatch { .. }
                | Error::UncheckedRows { .. }
        )
    }

    /// The HTTP status, for an API error.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
    /// #     job_duration: std::time::Duration::ZERO,
    /// #     ..Default::default()
    /// # }).await?;
    /// let client = hasdata_jobs::Client::builder().api_key("wrong-key").base_url(sim.base_url()).build()?;
    /// let error = client.status(1).await.unwrap_err();
    /// assert_eq!(error.status(), Some(http::StatusCode::UNAUTHORIZED));
    /// # Ok(())
    /// # }
    /// ```
    pub fn status(&self) -> Option<http::StatusCode> {
        match self {
            Error::Api { source, .. } => Some(source.status),
            _ => None,
        }
    }

    /// 401 or 403: a wrong key, or no credits left.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
    /// #     job_duration: std::time::Duration::ZERO,
    /// #     ..Default::default()
    /// # }).await?;
    /// let client = hasdata_jobs::Client::builder().api_key("wrong-key").base_url(sim.base_url()).build()?;
    /// let error = client.status(1).await.unwrap_err();
    /// assert!(error.is_auth() && !error.is_transient()); // retrying will not help
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_auth(&self) -> bool {
        matches!(self, Error::Api { source, .. } if source.is_auth())
    }

    /// Whether trying the same call again later may succeed: no answer, a broken body, 429,
    /// or a 5xx. A wait keeps polling through these.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use hasdata_transport::RetryPolicy;
    ///
    /// # let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port(); // closed below
    /// let client = hasdata_jobs::Client::builder()
    ///     .api_key("my-api-key")
    ///     .base_url(format!("http://127.0.0.1:{port}")) // nothing listens there
    ///     .retry_policy(RetryPolicy { max_attempts: 1, ..RetryPolicy::default() })
    ///     .build()?;
    /// let error = client.status(1).await.unwrap_err();
    /// assert!(error.is_transient(), "a refused connection may pass: {error}");
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Transport { source, .. } => !matches!(
                source.kind(),
                hasdata_transport::TransportErrorKind::Tls
                    | hasdata_transport::TransportErrorKind::Request
            ),
            Error::Api { source, .. } => {
                source.status.as_u16() == 429 || source.status.is_server_error()
            }
            Error::Decode { .. } => true,
            _ => false,
        }
    }

    pub(crate) fn with_job(mut self, id: JobId) -> Self {
        match &mut self {
            Error::Api { job_id, .. }
            | Error::Transport { job_id, .. }
            | Error::Decode { job_id, .. } => {
                job_id.get_or_insert(id);
            }
            _ => {}
        }
        self
    }
}

/// The lifecycle's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use hasdata_transport::TransportErrorKind;

    fn transport(kind: TransportErrorKind) -> Error {
        Error::Transport {
            source: TransportError::new(kind, true, "failed"),
            job_id: None,
            page: None,
        }
    }

    fn api(status: u16) -> Error {
        Error::Api {
            source: Box::new(ApiError::from_response_parts(
                http::StatusCode::from_u16(status).expect("a status"),
                &http::HeaderMap::new(),
                b"{}",
            )),
            job_id: Some(JobId::from(3)),
            page: None,
        }
    }

    #[test]
    fn no_answer_a_broken_body_429_and_5xx_are_transient_and_nothing_else() {
        for kind in [
            TransportErrorKind::Connect,
            TransportErrorKind::Timeout,
            TransportErrorKind::Body,
            TransportErrorKind::Other,
        ] {
            assert!(transport(kind).is_transient(), "{kind:?}");
        }
        // A TLS failure or a request that could not be built fails the same way next time.
        for kind in [TransportErrorKind::Tls, TransportErrorKind::Request] {
            assert!(!transport(kind).is_transient(), "{kind:?}");
        }
        for status in [429, 500, 502, 503, 599] {
            assert!(api(status).is_transient(), "{status}");
        }
        for status in [400, 401, 403, 404, 409, 422] {
            assert!(!api(status).is_transient(), "{status}");
        }
        assert_eq!(api(503).status().map(|s| s.as_u16()), Some(503));
        assert_eq!(api(503).job_id(), Some(JobId::from(3)));
        assert_eq!(transport(TransportErrorKind::Connect).status(), None);
    }
}
