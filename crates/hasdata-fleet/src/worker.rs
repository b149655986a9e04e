//! The worker loop: claim an item, carry it through submit, wait and collect, mark it done.
//!
//! Every step starts from what the database says, never from memory, so any worker can pick up
//! any item where a dead one left it:
//!
//! - `submitting`: the item's intent key is stored. The ledger's intent under it decides:
//!   none (the POST was never sent) → submit with that key; `submitted` → carry on with its
//!   job id; `refused` → queued again (a 429, or a request never sent) or failed (any other
//!   refusal); `pending`/`uncertain` → parked for a person, never sent again.
//! - `running`: wait for the job by id (polling, or an early end from webhook rows).
//! - `collecting`: the rows go to the sink (complete or absent), then `done`.
//!
//! Leases are extended by one heartbeat task per worker. On shutdown (SIGTERM), a submit in
//! flight is let finish (its outcome must be recorded), waits and collections are dropped at
//! once, and every lease is handed back so another worker carries on without waiting for it
//! to expire.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use hasdata_jobs::model::{JobId, JobStatus};
use hasdata_jobs::{Client, Error, IntentState, Origin, PollPolicy, SubmitOptions};
use serde_json::Value;
use tokio::sync::watch;

use crate::error::{FleetError, Result};
use crate::item::{Claimed, ItemState};
use crate::queue::Queue;
use crate::sink::{Sink, SinkJob};

/// How a worker behaves.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// This worker's name in the queue's leases (unique per process).
    pub worker_id: String,
    /// How long a claim lasts without a heartbeat (30 s). A dead worker's items are taken
    /// over after this.
    pub lease: Duration,
    /// Items this worker carries at once (8).
    pub concurrency: usize,
    /// The pause before claiming again when there was nothing to claim (1 s).
    pub idle_poll: Duration,
    /// How jobs are waited for.
    pub poll: PollPolicy,
    /// The wait before an item whose step failed for a passing reason (a 429, the API or
    /// database unreachable) is tried again (5 s; a 429's `Retry-After` when longer).
    pub retry_delay: Duration,
    /// Stop once the queue has nothing left that any worker could do (tests, batch runs).
    pub exit_when_idle: bool,
}

impl WorkerConfig {
    /// The defaults, with a fresh worker id.
    pub fn new() -> Self {
        WorkerConfig {
            worker_id: format!(
                "{}-{}",
                std::process::id(),
                uuid::Builder::from_random_bytes(rand::random()).into_uuid()
            ),
            lease: Duration::from_secs(30),
            concurrency: 8,
            idle_poll: Duration::from_secs(1),
            poll: PollPolicy::default(),
            retry_delay: Duration::from_secs(5),
            exit_when_idle: false,
        }
    }
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig::new()
    }
}

/// What a worker did before it stopped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct WorkerReport {
    /// Items claimed.
    pub claimed: u64,
    /// Jobs submitted by this worker.
    pub submitted: u64,
    /// Items taken to `done`.
    pub done: u64,
    /// Items parked.
    pub parked: u64,
    /// Items failed.
    pub failed: u64,
    /// Rows written.
    pub rows: u64,
}

/// A worker: a queue, a client (with the shared ledger), a sink.
#[derive(Clone, Debug)]
pub struct Worker {
    queue: Queue,
    client: Client,
    sink: Arc<dyn Sink>,
    config: WorkerConfig,
}

/// What one step left the item as.
enum Next {
    /// Carry on with the item in this state.
    Continue(Claimed),
    /// This worker is done with the item.
    Stop,
}

fn fresh_key() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string()
}

impl Worker {
    /// A worker on `queue`, submitting through `client` (whose ledger must be the fleet's
    /// shared ledger: a restarted worker reads intents other workers recorded) into `sink`.
    pub fn new(queue: Queue, client: Client, sink: Arc<dyn Sink>, config: WorkerConfig) -> Self {
        Worker {
            queue,
            client,
            sink,
            config,
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &WorkerConfig {
        &self.config
    }

    /// Runs until `shutdown` turns true (or, with `exit_when_idle`, until nothing is left),
    /// then hands back its leases.
    pub async fn run(&self, shutdown: watch::Receiver<bool>) -> Result<WorkerReport> {
        if self.config.concurrency == 0 {
            return Err(FleetError::Config(
                "--concurrency must be at least 1".into(),
            ));
        }
        if self.config.lease < Duration::from_secs(1) {
            return Err(FleetError::Config("--lease must be at least 1 s".into()));
        }
        let heartbeat = {
            let queue = self.queue.clone();
            let worker = self.config.worker_id.clone();
            let lease = self.config.lease;
            let mut stop = shutdown.clone();
            tokio::spawn(async move {
                let every = lease / 3;
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(every) => {}
                        _ = stopping(&mut stop) => return,
                    }
                    if let Err(error) = queue.heartbeat(&worker, lease).await {
                        tracing::warn!(%error, "heartbeat failed; leases run out unless the next one succeeds");
                    }
                }
            })
        };
        let slots = (0..self.config.concurrency).map(|_| self.slot(shutdown.clone()));
        let reports = futures::future::join_all(slots).await;
        heartbeat.abort();
        let released = self.queue.release_all(&self.config.worker_id).await;
        let mut total = WorkerReport::default();
        let mut first_error = None;
        for report in reports {
            match report {
                Ok(r) => {
                    total.claimed += r.claimed;
                    total.submitted += r.submitted;
                    total.done += r.done;
                    total.parked += r.parked;
                    total.failed += r.failed;
                    total.rows += r.rows;
                }
                Err(e) => first_error = first_error.or(Some(e)),
            }
        }
        released?;
        match first_error {
            Some(error) => Err(error),
            None => Ok(total),
        }
    }

    /// One of the worker's `concurrency` loops.
    async fn slot(&self, mut shutdown: watch::Receiver<bool>) -> Result<WorkerReport> {
        let mut report = WorkerReport::default();
        loop {
            let stop_now = *shutdown.borrow();
            if stop_now {
                return Ok(report);
            }
            let claimed = match self
                .queue
                .claim(&self.config.worker_id, self.config.lease, &fresh_key())
                .await
            {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::warn!(%error, "claim failed; trying again");
                    None
                }
            };
            let Some(item) = claimed else {
                if self.config.exit_when_idle && self.nothing_left().await? {
                    return Ok(report);
                }
                tokio::select! {
                    _ = tokio::time::sleep(self.config.idle_poll) => {}
                    _ = stopping(&mut shutdown) => {}
                }
                continue;
            };
            report.claimed += 1;
            let id = item.id;
            if let Err(error) = self.carry(item, &mut shutdown, &mut report).await {
                // The lease runs out and another claim retries the step.
                tracing::warn!(item = id, %error, "step failed; the item is handed back");
            }
        }
    }

    /// Whether no item is queued or held (parked and failed ones wait for a person).
    async fn nothing_left(&self) -> Result<bool> {
        let status = self.queue.status().await?;
        let open: u64 = [
            ItemState::Queued,
            ItemState::Submitting,
            ItemState::Running,
            ItemState::Collecting,
        ]
        .iter()
        .map(|s| status.counts.get(s).copied().unwrap_or(0))
        .sum();
        Ok(open == 0)
    }

    /// Takes one item as far as it goes.
    async fn carry(
        &self,
        mut item: Claimed,
        shutdown: &mut watch::Receiver<bool>,
        report: &mut WorkerReport,
    ) -> Result<()> {
        loop {
            let state = item.state;
            let step = match state {
                // A submit is never abandoned halfway: its outcome must reach the ledger.
                ItemState::Submitting => self.submit(item, report).await,
                ItemState::Running | ItemState::Collecting => {
                    let id = item.id;
                    let step = async {
                        if state == ItemState::Running {
                            self.wait(item, report).await
                        } else {
                            self.collect(item, report).await
                        }
                    };
                    tokio::select! {
                        next = step => next,
                        _ = stopping(shutdown) => {
                            self.queue
                                .hand_back(id, &self.config.worker_id, state, None, Duration::ZERO)
                                .await?;
                            return Ok(());
                        }
                    }
                }
                _ => return Ok(()),
            };
            match step {
                Ok(Next::Continue(next)) => item = next,
                Ok(Next::Stop) => return Ok(()),
                Err((id, error)) => {
                    let detail = error.to_string();
                    self.queue
                        .hand_back(
                            id,
                            &self.config.worker_id,
                            state,
                            Some(&detail),
                            self.config.retry_delay,
                        )
                        .await?;
                    return Err(error);
                }
            }
        }
    }

    /// `submitting`: settle the intent under the item's key, or send it.
    async fn submit(
        &self,
        item: Claimed,
        report: &mut WorkerReport,
    ) -> std::result::Result<Next, (i64, FleetError)> {
        let worker = self.config.worker_id.as_str();
        let id = item.id;
        let queue_error = |e: FleetError| (id, e);
        let Some(key) = item.intent_key.clone() else {
            // Cannot happen (the claim sets it); never send without a stored key.
            let _ = self
                .queue
                .park(
                    id,
                    worker,
                    ItemState::Submitting,
                    "no intent key was stored",
                )
                .await;
            report.parked += 1;
            return Ok(Next::Stop);
        };
        let ledger = self.client.ledger();
        // Read-send-reread: a DuplicateKey means another holder recorded the intent meanwhile.
        for _ in 0..2 {
            let entry = ledger.intent(&key).await.map_err(|e| (id, e.into()))?;
            if let Some(entry) = entry {
                return match entry.state {
                    IntentState::Submitted => {
                        let job_id = entry.job_id.map(|j| j.to_string()).unwrap_or_default();
                        self.to_running(item, &job_id).await.map_err(queue_error)
                    }
                    IntentState::Refused => {
                        let detail = entry.detail.unwrap_or_default();
                        if retryable_refusal(&detail) {
                            self.queue
                                .requeue(id, worker, &detail, self.config.retry_delay)
                                .await
                                .map_err(queue_error)?;
                        } else {
                            self.queue
                                .fail(id, worker, ItemState::Submitting, &detail)
                                .await
                                .map_err(queue_error)?;
                            report.failed += 1;
                        }
                        Ok(Next::Stop)
                    }
                    IntentState::Pending | IntentState::Uncertain => {
                        let detail = format!(
                            "the submit under intent {key} has no recorded outcome: the job may exist. {}",
                            entry.detail.unwrap_or_default()
                        );
                        self.queue
                            .park(id, worker, ItemState::Submitting, detail.trim_end())
                            .await
                            .map_err(queue_error)?;
                        report.parked += 1;
                        Ok(Next::Stop)
                    }
                };
            }
            let body: Value = match serde_json::from_str(&item.body) {
                Ok(body) => body,
                Err(e) => {
                    self.queue
                        .fail(
                            id,
                            worker,
                            ItemState::Submitting,
                            &format!("the stored body is not JSON: {e}"),
                        )
                        .await
                        .map_err(queue_error)?;
                    report.failed += 1;
                    return Ok(Next::Stop);
                }
            };
            let options = SubmitOptions {
                origin: Some(Origin::label(
                    item.origin
                        .clone()
                        .unwrap_or_else(|| format!("queue item {id}")),
                )),
                idempotency_key: Some(key.clone()),
                // The queue waits out the cap itself (the item goes back, the lease is
                // freed): the first 429 comes back here.
                concurrency_cap_wait: Some(Duration::ZERO),
            };
            let outcome = self
                .client
                .submit_raw_with(&item.slug, &body, &options)
                .await;
            let (state, detail, delay) = match outcome {
                Ok(job) => {
                    report.submitted += 1;
                    return self
                        .to_running(item, &job.id.to_string())
                        .await
                        .map_err(queue_error);
                }
                Err(Error::LedgerUnavailable {
                    source: hasdata_jobs::LedgerError::DuplicateKey { .. },
                }) => continue,
                Err(Error::LedgerUnavailable { source }) => return Err((id, source.into())),
                Err(Error::Ledger {
                    job_id: Some(job_id),
                    ..
                }) => {
                    // The job exists and its id is here, though the ledger missed it.
                    report.submitted += 1;
                    return self
                        .to_running(item, &job_id.to_string())
                        .await
                        .map_err(queue_error);
                }
                Err(Error::Api { source, .. }) if source.status.as_u16() == 429 => {
                    let delay = source
                        .retry_after
                        .unwrap_or_default()
                        .max(self.config.retry_delay);
                    (ItemState::Queued, source.to_string(), delay)
                }
                Err(error @ Error::Transport { job_id: None, .. }) => (
                    ItemState::Queued,
                    error.to_string(),
                    self.config.retry_delay,
                ),
                Err(
                    error @ (Error::Api { .. }
                    | Error::InvalidBody(_)
                    | Error::UnknownScraper(_)
                    | Error::Config(_)),
                ) => (ItemState::Failed, error.to_string(), Duration::ZERO),
                // SubmitUncertain, UnsupportedJobId, anything else after the POST may have
                // reached the server.
                Err(error) => (ItemState::Parked, error.to_string(), Duration::ZERO),
            };
            match state {
                ItemState::Queued => self.queue.requeue(id, worker, &detail, delay).await,
                ItemState::Failed => {
                    report.failed += 1;
                    self.queue
                        .fail(id, worker, ItemState::Submitting, &detail)
                        .await
                }
                _ => {
                    report.parked += 1;
                    self.queue
                        .park(id, worker, ItemState::Submitting, &detail)
                        .await
                }
            }
            .map_err(queue_error)?;
            return Ok(Next::Stop);
        }
        Err((
            id,
            FleetError::Config(format!("intent {key} was recorded and then vanished")),
        ))
    }

    async fn to_running(&self, mut item: Claimed, job_id: &str) -> Result<Next> {
        if !self
            .queue
            .set_running(item.id, &self.config.worker_id, job_id)
            .await?
        {
            return Ok(Next::Stop);
        }
        item.state = ItemState::Running;
        item.job_id = Some(job_id.to_owned());
        Ok(Next::Continue(item))
    }

    fn job_id(item: &Claimed) -> std::result::Result<JobId, (i64, FleetError)> {
        item.job_id
            .as_deref()
            .and_then(|j| j.parse().ok())
            .ok_or_else(|| {
                (
                    item.id,
                    FleetError::Config(format!(
                        "item {} has no job id this client can follow ({:?})",
                        item.id, item.job_id
                    )),
                )
            })
    }

    /// `running`: wait for the job to end.
    async fn wait(
        &self,
        mut item: Claimed,
        report: &mut WorkerReport,
    ) -> std::result::Result<Next, (i64, FleetError)> {
        let id = item.id;
        let worker = self.config.worker_id.as_str();
        let job_id = Self::job_id(&item)?;
        match self.client.wait(job_id, self.config.poll.clone()).await {
            Ok(_) => {
                if !self
                    .queue
                    .set_collecting(id, worker)
                    .await
                    .map_err(|e| (id, e))?
                {
                    return Ok(Next::Stop);
                }
                item.state = ItemState::Collecting;
                Ok(Next::Continue(item))
            }
            Err(error @ Error::JobEnded { .. }) => {
                self.queue
                    .fail(id, worker, ItemState::Running, &error.to_string())
                    .await
                    .map_err(|e| (id, e))?;
                report.failed += 1;
                Ok(Next::Stop)
            }
            Err(error) => Err((id, FleetError::Config(error.to_string()))),
        }
    }

    /// `collecting`: every row into the sink, checked against the job's row count.
    async fn collect(
        &self,
        item: Claimed,
        report: &mut WorkerReport,
    ) -> std::result::Result<Next, (i64, FleetError)> {
        let id = item.id;
        let fail = |e: FleetError| (id, e);
        let job_id = Self::job_id(&item)?;
        let record = self
            .client
            .status(job_id)
            .await
            .map_err(|e| fail(FleetError::Config(e.to_string())))?;
        if record.status != JobStatus::Finished {
            return Err(fail(FleetError::Config(format!(
                "job {job_id} is {} while collecting",
                record.status.as_str()
            ))));
        }
        let expected = record.data_rows_count.get();
        let job = SinkJob {
            job_id: job_id.to_string(),
            slug: item.slug.clone(),
            item_id: id,
        };
        let mut writer = self.sink.begin(&job).await.map_err(fail)?;
        let mut rows = self.client.rows::<hasdata_jobs::RowJson>(job_id).pages();
        let mut index = 0u64;
        while let Some(row) = rows.next().await {
            let row = row.map_err(|e| fail(FleetError::Config(e.to_string())))?;
            writer
                .write_row(index, row.as_bytes())
                .await
                .map_err(fail)?;
            index += 1;
        }
        if index != expected {
            return Err(fail(FleetError::Config(format!(
                "job {job_id}: got {index} rows of the {expected} it reports"
            ))));
        }
        let output = writer.commit().await.map_err(fail)?;
        if let Err(error) = self.client.ledger().mark_collected(job_id, &output).await {
            tracing::warn!(%error, job = %job_id, "the ledger did not note the collection");
        }
        if self
            .queue
            .finish(id, &self.config.worker_id, index, &output)
            .await
            .map_err(fail)?
        {
            report.done += 1;
            report.rows += index;
        }
        Ok(Next::Stop)
    }
}

/// Resolves once `shutdown` turns true (never, should its sender be gone).
async fn stopping(shutdown: &mut watch::Receiver<bool>) {
    let closed = shutdown.wait_for(|s| *s).await.is_err();
    if closed {
        std::future::pending::<()>().await;
    }
}

/// A refusal that created no job and may pass: the concurrency cap (429), or a request that
/// never left (the intent records "never sent").
fn retryable_refusal(detail: &str) -> bool {
    detail.starts_with("HTTP 429") || detail.starts_with("never sent")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_429_or_an_unsent_request_is_tried_again() {
        assert!(retryable_refusal("HTTP 429: too many requests"));
        assert!(retryable_refusal("never sent: connection refused"));
        assert!(!retryable_refusal("HTTP 422: urls is required"));
        assert!(!retryable_refusal(""));
    }
}
