//! The ledger the client writes ahead of every submit: the `hasdata-ledger` crate, re-exported
//! so most programs need only this crate.
//!
//! A job costs credits from the moment it exists. The submit path records an intent before the
//! POST and its outcome after (see [`crate::Client::submit`]), so a process that dies at any
//! instant leaves either the job's id or an unresolved intent in a durable ledger.
//!
//! The default ledger is in memory. For one that survives the process, enable this crate's
//! `sqlite` feature and call `ClientBuilder::ledger_file(path)`: the same SQLite file the
//! `hasdata` CLI uses (`hasdata jobs list --ledger PATH` shows what Rust code submitted).
//! Any other store can implement [`JobLedger`] and go to
//! [`ClientBuilder::ledger`](crate::ClientBuilder::ledger).

pub use hasdata_ledger::{
    BodyDigest, Intent, IntentEntry, IntentState, JobEntry, JobLedger, JobProgress, LedgerError,
    MemoryLedger, Origin, ResendClaim, SentJobId, Submitted,
};

/// Where a ledger lives, by one string: `ClientBuilder::ledger_url` and `hasdata --ledger`.
pub use hasdata_ledger::Location as LedgerLocation;
/// The ledger in a PostgreSQL database that several machines share (feature `postgres`).
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use hasdata_ledger::PostgresLedger;

/// The durable ledger in one SQLite file, shared with the `hasdata` CLI (feature `sqlite`).
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use hasdata_ledger::SqliteLedger;

/// What the client notes in its ledger after a submit, so a job submitted from Rust reads in
/// `hasdata jobs list` as one the CLI handled: every job record a call reads (a status, a
/// stop, each poll of a wait) updates the job's status, rows and credits, and a read of an
/// ended job's rows that comes to its end with every row marks the job collected. A job the
/// ledger does not have is left alone; a ledger that fails a note is logged, never an error
/// of the call (the record was read; only the bookkeeping lags).
impl crate::Client {
    /// Notes the job's status, rows and credits, as `record` says.
    pub(crate) async fn note_progress(
        &self,
        id: hasdata_model::JobId,
        record: &hasdata_model::Job,
    ) {
        let status = record.status.as_str();
        if status.is_empty() {
            return;
        }
        let progress = JobProgress {
            status: status.to_owned(),
            rows: record.rows_reported(),
            credits: record.credits_reported(),
        };
        if let Err(error) = self.ledger().record_progress(id, &progress).await {
            tracing::warn!(job_id = %id, error = %error, "the ledger could not note the job's progress");
        }
    }

    /// Notes that the job's rows were all read and went to `output`.
    pub(crate) async fn note_collected(&self, id: hasdata_model::JobId, output: &str) {
        if let Err(error) = self.ledger().mark_collected(id, output).await {
            tracing::warn!(job_id = %id, error = %error, "the ledger could not note the job collected");
        }
    }
}
