//! The status of a job.

open_enum! {
    /// Where a job is in its life: `pending` -> `in_progress` -> `finished`, or `stopped`.
    ///
    /// Values seen live but not documented are modelled too, and any other string decodes as
    /// [`JobStatus::Other`], so a new server status never breaks a client mid-wait.
    open pub enum JobStatus {
        /// Accepted, not started.
        Pending = "pending",
        /// Running; rows appear as they are scraped.
        InProgress = "in_progress",
        /// Scraping is done and the result files are being written; rows are complete but the
        /// download links are not there yet. Not terminal.
        ExportingData = "exporting_data",
        /// Done; the results and the download links are ready. Terminal.
        Finished = "finished",
        /// Ended with an error (see `stopReason`, such as `data_limit_exceeded`). Rows produced
        /// so far are kept. Terminal.
        FinishedWithError = "finished_with_error",
        /// Stopped early by the user or for lack of credits. Rows produced so far are kept.
        /// Terminal: a stopped job cannot be resumed.
        Stopped = "stopped",
    }
}

impl JobStatus {
    /// Whether the job will not change any more: `finished`, `finished_with_error` and
    /// `stopped`. An unknown status is not terminal: a waiter keeps polling until its deadline
    /// rather than reading results too early.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            JobStatus::Finished | JobStatus::FinishedWithError | JobStatus::Stopped
        )
    }

    /// Whether the job ended without finishing normally: `finished_with_error` or `stopped`.
    pub fn is_unsuccessful(&self) -> bool {
        matches!(self, JobStatus::FinishedWithError | JobStatus::Stopped)
    }
}

impl Default for JobStatus {
    /// An empty [`JobStatus::Other`]: what a record that carries no status reads as. It is not
    /// terminal, so a waiter keeps polling.
    fn default() -> Self {
        JobStatus::Other(String::new())
    }
}
