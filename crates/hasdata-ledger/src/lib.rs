//! The durable job ledger of hasdata-rs: what was about to be submitted, what the server
//! answered, and where each job's rows went.
//!
//! A HasData job costs credits from the moment it exists, and its integer id is the only way
//! back to it. A process can die at any instant of a submit, so the ledger is written *ahead*:
//!
//! 1. [`JobLedger::record_intent`] durably records an [`Intent`] (its idempotency key, the
//!    scraper, the digest of the exact body bytes, where the body came from, the time)
//!    **before** the POST is sent;
//! 2. the answer settles it: [`JobLedger::record_submitted`] with the id as the server sent it,
//!    [`JobLedger::record_refused`] for a 4xx (no job exists), or
//!    [`JobLedger::record_uncertain`] when the job may or may not exist (5xx, reset, timeout).
//!
//! An intent that never got an outcome (the process was killed) reads back as
//! [`IntentState::Pending`], which callers show as uncertain. So every job the server created
//! is either in the ledger with its id or covered by an uncertain intent; nothing is resent on
//! its own.
//!
//! Backends: [`MemoryLedger`] (tests, short-lived programs) and, with the default `sqlite`
//! feature, `SqliteLedger` (one file, versioned migrations, `synchronous=FULL`), and with the
//! `postgres` feature, `PostgresLedger` (one database shared by several machines; refinery
//! migrations; safe under concurrent writers). The trait
//! speaks only in this crate's types and [`hasdata_model::JobId`], so a server database can
//! implement it too. This crate knows nothing of HTTP or of the job lifecycle.

mod error;
mod intent;
mod job;
mod location;
mod memory;
#[cfg(feature = "postgres")]
mod pg_tls;
#[cfg(feature = "postgres")]
pub mod postgres;
mod redact;
#[cfg(feature = "sqlite")]
pub mod sqlite;

use async_trait::async_trait;
use hasdata_model::JobId;

pub use error::LedgerError;
pub use intent::{
    BodyDigest, Intent, IntentEntry, IntentState, Origin, ResendClaim, SentJobId, Submitted,
};
pub use job::{JobEntry, JobProgress, JobQuery};
pub use location::Location;
pub use memory::MemoryLedger;
#[cfg(feature = "postgres")]
pub use postgres::PostgresLedger;
pub use redact::{REDACTED, redact_body, redact_url};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteLedger;

/// Where submits and their jobs are recorded. `Ok` from any `record_*` call means the fact is
/// durable for this backend: a crash right after it loses nothing.
///
/// Every method is called from async code and must return quickly (an embedded database's
/// write, a round trip to a server database).
#[async_trait]
pub trait JobLedger: Send + Sync + std::fmt::Debug {
    /// Records an intent before its POST is sent. A key recorded twice is an error
    /// ([`LedgerError::DuplicateKey`]): keys are fresh UUIDs.
    async fn record_intent(&self, intent: &Intent) -> Result<(), LedgerError>;

    /// Records that an intent is about to be sent again with the same key (an explicit retry):
    /// it is pending again and its attempt count goes up.
    async fn record_resend(&self, key: &str) -> Result<(), LedgerError>;

    /// Claims the right to resend intent `key` for `lease`, for `owner` (a fresh name per
    /// resend), in one atomic step: taken when `owner` holds it already (the lease is
    /// extended: how a long resend keeps it), or when no live claim is held and the intent is
    /// as the caller read it (`attempts` unchanged, no job recorded). Otherwise
    /// [`ResendClaim::Held`] (another live claim) or [`ResendClaim::Moved`]. A claim ends with
    /// [`JobLedger::release_resend`], or when its lease runs out (a killed retrier). An unknown
    /// key is [`LedgerError::UnknownIntent`].
    async fn claim_resend(
        &self,
        key: &str,
        owner: &str,
        attempts: u32,
        lease: std::time::Duration,
    ) -> Result<ResendClaim, LedgerError>;

    /// Gives back `owner`'s claim on intent `key` (nothing when another owner holds it now).
    async fn release_resend(&self, key: &str, owner: &str) -> Result<(), LedgerError>;

    /// The server answered with a job: the id as sent, and the job's entry when the id is an
    /// integer this SDK can follow.
    async fn record_submitted(&self, key: &str, submitted: &Submitted) -> Result<(), LedgerError>;

    /// The server refused the request (4xx): no job exists.
    async fn record_refused(&self, key: &str, reason: &str) -> Result<(), LedgerError>;

    /// The request may have created a job, but no id came back.
    async fn record_uncertain(&self, key: &str, reason: &str) -> Result<(), LedgerError>;

    /// One intent.
    async fn intent(&self, key: &str) -> Result<Option<IntentEntry>, LedgerError>;

    /// Every intent, newest first.
    async fn intents(&self) -> Result<Vec<IntentEntry>, LedgerError>;

    /// The intents recorded for this origin (path and line) with this body, newest first: what
    /// a rerun of a bulk file checks before sending a line again.
    async fn intents_for(
        &self,
        origin: &Origin,
        digest: &BodyDigest,
    ) -> Result<Vec<IntentEntry>, LedgerError>;

    /// Notes a job's latest progress (status, rows, credits).
    async fn record_progress(&self, id: JobId, progress: &JobProgress) -> Result<(), LedgerError>;

    /// Notes that a job's rows were written, completely, to `output`.
    async fn mark_collected(&self, id: JobId, output: &str) -> Result<(), LedgerError>;

    /// One job.
    async fn job(&self, id: JobId) -> Result<Option<JobEntry>, LedgerError>;

    /// Every job, newest first.
    async fn jobs(&self) -> Result<Vec<JobEntry>, LedgerError>;

    /// The jobs `query` asks for, newest first (`hasdata jobs list` and its filters). The
    /// default filters [`JobLedger::jobs`]; durable backends ask their database instead.
    async fn query_jobs(&self, query: &JobQuery) -> Result<Vec<JobEntry>, LedgerError> {
        Ok(query.apply(self.jobs().await?))
    }

    /// Stops tracking a job (its intent stays, settled); the job itself is untouched. Returns
    /// whether the ledger had it.
    async fn forget_job(&self, id: JobId) -> Result<bool, LedgerError>;

    /// The other base URLs this ledger's store holds jobs for, each with its count of jobs,
    /// most first. A ledger is scoped to one base URL, so a list for another one (the
    /// simulator's, or the same server under another name) reads
    /// as empty: this lets a program say where the jobs are instead of showing none. The
    /// default, for a store that holds one base URL only, is none.
    async fn other_base_urls(&self) -> Result<Vec<(String, u64)>, LedgerError> {
        Ok(Vec::new())
    }
}

/// The current time as RFC 3339 (UTC), the form every timestamp in the ledger takes.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
