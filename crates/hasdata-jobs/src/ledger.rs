//! Where job ids are recorded the moment the server answers a submit.
//!
//! A job costs credits from the moment it exists. If the process dies between the submit's
//! answer and the caller storing the id, the job would be orphaned; the ledger is called before
//! `submit` returns, so a durable ledger (the CLI's SQLite one) closes that window.

use std::fmt;
use std::sync::Mutex;

use hasdata_model::{Job, JobId, ScraperKind};

/// One submitted job.
#[derive(Clone, Debug, PartialEq)]
pub struct LedgerEntry {
    /// The job's id.
    pub job_id: JobId,
    /// The scraper.
    pub scraper: ScraperKind,
    /// The submit record as the server sent it.
    pub record: Job,
}

/// Records submitted jobs. Implementations must be quick and must not lose an entry they
/// accepted: `record` returning `Ok` means the id is safe.
pub trait JobLedger: Send + Sync + fmt::Debug {
    /// Records a job that the server has just created.
    fn record(&self, entry: &LedgerEntry) -> Result<(), String>;
}

/// A ledger in memory: what the process submitted, for inspection and tests.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    entries: Mutex<Vec<LedgerEntry>>,
}

impl MemoryLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        MemoryLedger::default()
    }

    /// Every entry, in submit order.
    pub fn entries(&self) -> Vec<LedgerEntry> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl JobLedger for MemoryLedger {
    fn record(&self, entry: &LedgerEntry) -> Result<(), String> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(entry.clone());
        Ok(())
    }
}
