//! The worker loop: claim an item, carry it through submit, wait and collect, mark it done.
//!
//! Every step starts from what the database says, never from memory, so any worker can pick up
//! any item where a dead one left it:
//!
//! - `submitting`: the item's intent key is stored. The ledger's intent under it decides:
//!   none (the POST was never sent) → submit with that key; `submitted` → carry on with its
//!   job id; `refused` → queued again (a 429, or a request never sent) or failed (any other
//!   refusal); `pending`/`uncertain` → parked for a person, never sent again. A parked item
//!   holds a running-job slot (its job may be running on the API), and workers look its
//!   intent up again when idle: once the ledger learns the job id, the item runs again and is
//!   collected ([`Queue::recheck_parked`]).
//! - `running`: wait for the job by id: polling, and, with
//!   [`Worker::with_webhook_events`], the terminal webhook event replicated receivers recorded
//!   for it (announced by `NOTIFY`, and looked up at every poll): then one status call confirms
//!   the end and gives the row count, and polling stops.
//! - `collecting`: the rows go to the sink (complete or absent), checked against the job's
//!   row count, then `done`.
//!
//! Leases are extended by one heartbeat task per worker. On shutdown (SIGTERM), a submit in
//! flight is let finish (its outcome must be recorded), waits and collections are dropped at
//! once, and every lease is handed back so another worker carries on without waiting for it
//! to expire.
//!
//! **Fencing per claim.** Each claim holds its lease under its own name, `WORKER#N`, and every
//! change names it: once a lease runs out and another claim takes the item (another worker's,
//! or another slot of this one), the old claim's changes match nothing and it lets go.
//!
//! **Database outages are ridden out.** A failure to reach PostgreSQL (refused, the connection
//! lost, the server restarting) is never a reason to stop or to give an item up: the worker
//! backs off (0.2 s doubling to 10 s, jittered), logs the outage once when it starts and once
//! when it ends, and carries on. Its heartbeats may fail meanwhile, so its leases may run out;
//! therefore, before acting as an owner (sending a submit, committing rows to the sink) it
//! renews its lease with a fenced statement ([`Queue::confirm`]) and lets the item go if
//! another claim took it.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::StreamExt;
use hasdata_jobs::model::{Job, JobId, JobStatus};
use hasdata_jobs::{
    Client, ConfigError, Error, IntentEntry, IntentState, Origin, PollPolicy, SubmitOptions,
};
use serde_json::Value;
use tokio::sync::watch;

use crate::error::{FleetError, Result};
use crate::events::{EventSignals, Signal, WebhookEvents};
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
    /// The webhook added to every body this worker submits (a body with a `webhook` of its
    /// own keeps it): HasData then calls the receivers, and the secret stays in the workers'
    /// memory instead of in every queued body.
    pub webhook: Option<SubmitWebhook>,
}

/// A webhook a worker adds to the bodies it submits (see [`WorkerConfig::webhook`]). The
/// ledger's copy of the sent body has the secret redacted, like any webhook header.
#[derive(Clone, Debug)]
pub struct SubmitWebhook {
    /// Where HasData posts: the receivers' public URL.
    pub url: String,
    /// The events to subscribe to (`scraper.job.finished` is the one that ends waits).
    pub events: Vec<String>,
    /// The header HasData sends the secret in.
    pub header: String,
    /// The shared secret (`Debug` shows it redacted).
    pub secret: secrecy::SecretString,
}

impl SubmitWebhook {
    /// `body` with this webhook, unless it has one of its own.
    fn add_to(&self, body: &mut Value) {
        use secrecy::ExposeSecret;
        if let Some(fields) = body.as_object_mut()
            && !fields.contains_key("webhook")
        {
            fields.insert(
                "webhook".into(),
                serde_json::json!({
                    "url": self.url,
                    "events": self.events,
                    "headers": {self.header.clone(): self.secret.expose_secret()},
                }),
            );
        }
    }
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
            webhook: None,
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

/// The first wait after the database failed to answer.
const BACKOFF_START: Duration = Duration::from_millis(200);
/// The longest wait between two tries while the database is unreachable.
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// A worker: a queue, a client (with the shared ledger), a sink.
#[derive(Clone, Debug)]
pub struct Worker {
    queue: Queue,
    client: Client,
    sink: Arc<dyn Sink>,
    config: WorkerConfig,
    /// The per-claim owner names of the items in hand: the heartbeat extends these only, so
    /// an item this worker let go of runs out and is taken by another claim.
    held: Arc<Mutex<BTreeSet<String>>>,
    /// Numbers this worker's claims (`WORKER#N`).
    claims: Arc<AtomicU64>,
    /// When parked items were last looked up in the ledger.
    rechecked: Arc<Mutex<Option<Instant>>>,
    outage: Arc<Outage>,
    /// Webhook events recorded by replicated receivers, and their announcements.
    events: Option<(WebhookEvents, Arc<EventSignals>)>,
    /// Whether "parked items hold every slot" was logged (once per worker, not per task).
    warned_blocked: Arc<std::sync::atomic::AtomicBool>,
}

/// Whether the database is unreachable, so an outage is logged once when it starts and once
/// when it ends, however many calls fail meanwhile.
#[derive(Debug, Default)]
struct Outage {
    since: Mutex<Option<Instant>>,
}

impl Outage {
    fn down(&self, error: &FleetError) {
        let mut since = self.since.lock().unwrap_or_else(PoisonError::into_inner);
        if since.is_none() {
            *since = Some(Instant::now());
            tracing::warn!(
                %error,
                "the database is unreachable; riding it out (retrying every {}s at most; \
                 leases are checked again before acting on them)",
                BACKOFF_MAX.as_secs()
            );
        }
    }

    fn up(&self) {
        let mut since = self.since.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(start) = since.take() {
            tracing::warn!(
                "the database is back after {:.1}s; carrying on",
                start.elapsed().as_secs_f64()
            );
        }
    }
}

/// `delay` with jitter (half to all of it), so a fleet does not reconnect in step.
fn jittered(delay: Duration) -> Duration {
    delay.mul_f64(0.5 + rand::random::<f64>() / 2.0)
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
            held: Arc::default(),
            claims: Arc::default(),
            rechecked: Arc::default(),
            outage: Arc::default(),
            events: None,
            warned_blocked: Arc::default(),
        }
    }

    /// Ends waits early from webhook events that `hasdata webhook listen --ledger
    /// postgres://...` replicas record in the queue's database: a job whose terminal event is
    /// recorded is confirmed with one status call (which also gives the row count the
    /// collection is checked against) instead of being polled until the next tick finds it.
    /// Polling goes on as before for jobs without one (webhooks are best-effort). `signals`
    /// listens on the same database (see [`EventSignals::listen`]).
    pub fn with_webhook_events(mut self, signals: EventSignals) -> Self {
        self.events = Some((self.queue.events(), Arc::new(signals)));
        self
    }

    /// Runs `op` until it succeeds, fails for a reason other than an unreachable database, or
    /// `shutdown` turns true while the database is away (then its last error).
    async fn persist<T, Fut>(
        &self,
        shutdown: &watch::Receiver<bool>,
        mut op: impl FnMut() -> Fut,
    ) -> Result<T>
    where
        Fut: Future<Output = Result<T>>,
    {
        let mut delay = BACKOFF_START;
        let mut stop = shutdown.clone();
        loop {
            match op().await {
                Err(error) if error.is_unreachable() => {
                    self.outage.down(&error);
                    tokio::select! {
                        _ = tokio::time::sleep(jittered(delay)) => {}
                        _ = stopping(&mut stop) => return Err(error),
                    }
                    delay = (delay * 2).min(BACKOFF_MAX);
                }
                other => {
                    self.outage.up();
                    return other;
                }
            }
        }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, BTreeSet<String>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
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
        self.recheck_parked(true).await;
        let heartbeat = {
            let this = self.clone();
            let lease = self.config.lease;
            let mut stop = shutdown.clone();
            tokio::spawn(async move {
                let every = lease / 3;
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(every) => {}
                        _ = stopping(&mut stop) => return,
                    }
                    let owners: Vec<String> = this.held().iter().cloned().collect();
                    match this.queue.extend(&owners, lease).await {
                        Ok(_) => this.outage.up(),
                        Err(error) if error.is_unreachable() => this.outage.down(&error),
                        Err(error) => {
                            tracing::warn!(%error, "heartbeat failed; leases run out unless the next one succeeds");
                        }
                    }
                }
            })
        };
        let slots = (0..self.config.concurrency).map(|_| self.slot(shutdown.clone()));
        let reports = futures::future::join_all(slots).await;
        heartbeat.abort();
        // With the database away, the leases run out on their own: nothing is lost.
        if let Err(error) = self.queue.release_all(&self.config.worker_id).await {
            tracing::warn!(%error, "could not hand the leases back; they run out in {:?}", self.config.lease);
        }
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
        match first_error {
            Some(error) => Err(error),
            None => Ok(total),
        }
    }

    /// One of the worker's `concurrency` loops.
    async fn slot(&self, mut shutdown: watch::Receiver<bool>) -> Result<WorkerReport> {
        let mut report = WorkerReport::default();
        let mut backoff = BACKOFF_START;
        loop {
            let stop_now = *shutdown.borrow();
            if stop_now {
                return Ok(report);
            }
            let owner = format!(
                "{}#{}",
                self.config.worker_id,
                self.claims.fetch_add(1, Ordering::Relaxed)
            );
            let claimed = match self
                .queue
                .claim(&owner, self.config.lease, &fresh_key())
                .await
            {
                Ok(claimed) => {
                    self.outage.up();
                    backoff = BACKOFF_START;
                    claimed
                }
                Err(error) if error.is_unreachable() => {
                    self.outage.down(&error);
                    tokio::select! {
                        _ = tokio::time::sleep(jittered(backoff)) => {}
                        _ = stopping(&mut shutdown) => {}
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    continue;
                }
                Err(error) => {
                    tracing::warn!(%error, "claim failed; trying again");
                    None
                }
            };
            let Some(item) = claimed else {
                self.recheck_parked(self.config.exit_when_idle).await;
                if self.config.exit_when_idle {
                    match self.persist(&shutdown, || self.nothing_left()).await {
                        Ok(true) => return Ok(report),
                        Ok(false) => {}
                        Err(_) if *shutdown.borrow() => return Ok(report),
                        Err(error) => return Err(error),
                    }
                }
                tokio::select! {
                    _ = tokio::time::sleep(self.config.idle_poll) => {}
                    _ = stopping(&mut shutdown) => {}
                }
                continue;
            };
            report.claimed += 1;
            let id = item.id;
            self.held().insert(owner.clone());
            let carried = self.carry(item, &owner, &mut shutdown, &mut report).await;
            self.held().remove(&owner);
            if let Err(error) = carried {
                // The lease runs out and another claim retries the step.
                tracing::warn!(item = id, %error, "step failed; the item is handed back");
            }
        }
    }

    /// Whether nothing is left that any worker could do: nothing held, and nothing queued
    /// that could be claimed (queued items wait for good while parked items fill the cap).
    /// Parked and failed items wait for a person.
    async fn nothing_left(&self) -> Result<bool> {
        let status = self.queue.status().await?;
        let count = |state| status.counts.get(&state).copied().unwrap_or(0);
        let held =
            count(ItemState::Submitting) + count(ItemState::Running) + count(ItemState::Collecting);
        let claimable = count(ItemState::Queued) > 0
            && count(ItemState::Parked) < u64::from(status.max_running);
        if held == 0
            && !claimable
            && count(ItemState::Queued) > 0
            && !self
                .warned_blocked
                .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            // Once per worker: its tasks all reach this point together.
            tracing::warn!(
                parked = count(ItemState::Parked),
                cap = status.max_running,
                "parked items hold every running-job slot: queued items wait until they are resolved (hasdata queue resolve)"
            );
        }
        Ok(held == 0 && !claimable)
    }

    /// Moves parked items on whose outcome the ledger has learned ([`Queue::recheck_parked`]),
    /// at most every five idle polls per worker unless `now`.
    async fn recheck_parked(&self, now: bool) {
        let due = {
            let mut last = self
                .rechecked
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let due =
                now || last.is_none_or(|at: Instant| at.elapsed() >= self.config.idle_poll * 5);
            if due {
                *last = Some(Instant::now());
            }
            due
        };
        if !due {
            return;
        }
        match self
            .queue
            .recheck_parked(self.client.ledger().as_ref())
            .await
        {
            Ok(moved) if moved.running + moved.queued > 0 => tracing::warn!(
                running = moved.running,
                queued = moved.queued,
                "parked items moved on: the ledger learned how their submits ended"
            ),
            Ok(_) => {}
            Err(error) if error.is_unreachable() => self.outage.down(&error),
            Err(error) => tracing::warn!(%error, "rechecking parked items failed"),
        }
    }

    /// Takes one item as far as it goes, holding it as `owner`.
    async fn carry(
        &self,
        mut item: Claimed,
        owner: &str,
        shutdown: &mut watch::Receiver<bool>,
        report: &mut WorkerReport,
    ) -> Result<()> {
        // The record the wait ended with, so the collection need not ask for it again.
        let mut ended: Option<Job> = None;
        loop {
            let state = item.state;
            let step = match state {
                // A submit is never abandoned halfway: its outcome must reach the ledger.
                ItemState::Submitting => self.submit(item, owner, shutdown, report).await,
                ItemState::Running | ItemState::Collecting => {
                    let id = item.id;
                    let watching = shutdown.clone();
                    let ended = &mut ended;
                    let step = async {
                        if state == ItemState::Running {
                            self.wait(item, owner, &watching, report, ended).await
                        } else {
                            self.collect(item, owner, &watching, report, ended.take())
                                .await
                        }
                    };
                    tokio::select! {
                        next = step => next,
                        _ = stopping(shutdown) => {
                            // With the database away the lease runs out instead.
                            if let Err(error) = self
                                .queue
                                .hand_back(id, owner, state, None, Duration::ZERO)
                                .await
                            {
                                tracing::warn!(item = id, %error, "could not hand the item back; its lease runs out");
                            }
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
                    self.persist(shutdown, || {
                        self.queue.hand_back(
                            id,
                            owner,
                            state,
                            Some(&detail),
                            self.config.retry_delay,
                        )
                    })
                    .await?;
                    return Err(error);
                }
            }
        }
    }

    /// Whether `owner` still holds item `id` in `from`, renewing its lease if so: asked before
    /// acting as the owner, since heartbeats may have failed (a database outage) and the lease
    /// run out meanwhile.
    async fn still_held(
        &self,
        id: i64,
        owner: &str,
        from: ItemState,
        shutdown: &watch::Receiver<bool>,
    ) -> Result<bool> {
        let held = self
            .persist(shutdown, || {
                self.queue.confirm(id, owner, from, self.config.lease)
            })
            .await?;
        if !held {
            tracing::warn!(
                item = id,
                "another claim took the item while this one's lease ran out; letting it go"
            );
        }
        Ok(held)
    }

    /// `submitting`: settle the intent under the item's key, or send it.
    async fn submit(
        &self,
        item: Claimed,
        owner: &str,
        shutdown: &watch::Receiver<bool>,
        report: &mut WorkerReport,
    ) -> std::result::Result<Next, (i64, FleetError)> {
        let worker = owner;
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
        let mut duplicates = 0;
        let mut unreachable = BACKOFF_START;
        // Whether this claim tried to record the intent and the ledger's answer never came
        // (the database went away mid-call): the INSERT may have committed, but the POST was
        // never sent, since it only follows a confirmed intent.
        let mut unsent = false;
        while duplicates < 2 {
            let entry = self
                .persist(shutdown, || async {
                    ledger.intent(&key).await.map_err(FleetError::from)
                })
                .await
                .map_err(queue_error)?;
            let mut resend = None;
            if let Some(entry) = entry {
                if entry.state == IntentState::Pending && unsent {
                    // This claim's own intent, never sent: no other claim can have recorded or
                    // sent it, which the fenced check below (after this read) confirms, so it
                    // is sent under its own key instead of being parked.
                    tracing::info!(
                        item = id,
                        key = %key,
                        "the intent was recorded though its answer was lost; nothing was sent: sending it now"
                    );
                    resend = Some(entry);
                } else {
                    return self
                        .settled(item, owner, shutdown, report, &key, entry)
                        .await;
                }
            }
            let mut body: Value = match serde_json::from_str(&item.body) {
                Ok(body) => body,
                Err(e) => {
                    let detail = format!("the stored body is not JSON: {e}");
                    self.persist(shutdown, || {
                        self.queue.fail(id, worker, ItemState::Submitting, &detail)
                    })
                    .await
                    .map_err(queue_error)?;
                    report.failed += 1;
                    return Ok(Next::Stop);
                }
            };
            if let Some(webhook) = &self.config.webhook {
                webhook.add_to(&mut body);
            }
            // The POST is the one act that cannot be taken back: only the lease's holder
            // sends it.
            if !self
                .still_held(id, owner, ItemState::Submitting, shutdown)
                .await
                .map_err(queue_error)?
            {
                return Ok(Next::Stop);
            }
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
            let outcome = match &resend {
                None => {
                    self.client
                        .submit_raw_with(&item.slug, &body, &options)
                        .await
                }
                // The same bytes as the first try (the digest is checked), the same key.
                Some(entry) => match serde_json::to_vec(&body) {
                    Ok(bytes) => {
                        self.client
                            .resend_seen_intent(entry, bytes.into(), options.concurrency_cap_wait)
                            .await
                    }
                    Err(e) => Err(Error::Config(ConfigError::BodyEncoding(e.to_string()))),
                },
            };
            let (state, detail, delay) = match outcome {
                Ok(job) => {
                    report.submitted += 1;
                    return self
                        .to_running(item, owner, shutdown, &job.id.to_string())
                        .await
                        .map_err(queue_error);
                }
                Err(Error::LedgerUnavailable {
                    source: hasdata_jobs::LedgerError::DuplicateKey { .. },
                }) => {
                    duplicates += 1;
                    continue;
                }
                // The intent could not be written: nothing was sent. Read it again once the
                // database answers (the write may have landed before the connection broke).
                Err(Error::LedgerUnavailable { source }) if source.is_unavailable() => {
                    unsent = true;
                    self.outage.down(&FleetError::Ledger(source));
                    tokio::time::sleep(jittered(unreachable)).await;
                    unreachable = (unreachable * 2).min(BACKOFF_MAX);
                    continue;
                }
                Err(Error::LedgerUnavailable { source }) => return Err((id, source.into())),
                Err(Error::Ledger {
                    job_id: Some(job_id),
                    ..
                }) => {
                    // The job exists and its id is here, though the ledger missed it.
                    report.submitted += 1;
                    return self
                        .to_running(item, owner, shutdown, &job_id.to_string())
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
                // A person is resending the intent (`hasdata jobs retry`), or did: theirs.
                Err(
                    error @ Error::Config(
                        ConfigError::IntentBeingResent(_)
                        | ConfigError::IntentResentMeanwhile { .. },
                    ),
                ) => (ItemState::Parked, error.to_string(), Duration::ZERO),
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
                ItemState::Queued => {
                    self.persist(shutdown, || self.queue.requeue(id, worker, &detail, delay))
                        .await
                }
                ItemState::Failed => {
                    report.failed += 1;
                    self.persist(shutdown, || {
                        self.queue.fail(id, worker, ItemState::Submitting, &detail)
                    })
                    .await
                }
                _ => {
                    report.parked += 1;
                    self.persist(shutdown, || {
                        self.queue.park(id, worker, ItemState::Submitting, &detail)
                    })
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

    /// `submitting` with an intent already under the item's key: carry on as its outcome says
    /// (a job id → `running`; refused → queued again or failed; pending or uncertain → parked,
    /// since whoever recorded it may have sent it).
    async fn settled(
        &self,
        item: Claimed,
        owner: &str,
        shutdown: &watch::Receiver<bool>,
        report: &mut WorkerReport,
        key: &str,
        entry: IntentEntry,
    ) -> std::result::Result<Next, (i64, FleetError)> {
        let worker = owner;
        let id = item.id;
        let queue_error = |e: FleetError| (id, e);
        match entry.state {
            IntentState::Submitted => {
                let job_id = entry.job_id.map(|j| j.to_string()).unwrap_or_default();
                self.to_running(item, owner, shutdown, &job_id)
                    .await
                    .map_err(queue_error)
            }
            IntentState::Refused => {
                let detail = entry.detail.unwrap_or_default();
                if retryable_refusal(&detail) {
                    self.persist(shutdown, || {
                        self.queue
                            .requeue(id, worker, &detail, self.config.retry_delay)
                    })
                    .await
                    .map_err(queue_error)?;
                } else {
                    self.persist(shutdown, || {
                        self.queue.fail(id, worker, ItemState::Submitting, &detail)
                    })
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
                self.persist(shutdown, || {
                    self.queue
                        .park(id, worker, ItemState::Submitting, detail.trim_end())
                })
                .await
                .map_err(queue_error)?;
                report.parked += 1;
                Ok(Next::Stop)
            }
        }
    }

    async fn to_running(
        &self,
        mut item: Claimed,
        owner: &str,
        shutdown: &watch::Receiver<bool>,
        job_id: &str,
    ) -> Result<Next> {
        // The job exists: its id must reach the queue, however long the database is away.
        if !self
            .persist(shutdown, || self.queue.set_running(item.id, owner, job_id))
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
        owner: &str,
        shutdown: &watch::Receiver<bool>,
        report: &mut WorkerReport,
        ended: &mut Option<Job>,
    ) -> std::result::Result<Next, (i64, FleetError)> {
        let id = item.id;
        let job_id = Self::job_id(&item)?;
        let waited = match &self.events {
            Some((table, signals)) => self.wait_with_events(job_id, table, signals).await,
            None => self.client.wait(job_id, self.config.poll.clone()).await,
        };
        match waited {
            Ok(job) => {
                *ended = Some(job);
                if !self
                    .persist(shutdown, || self.queue.set_collecting(id, owner))
                    .await
                    .map_err(|e| (id, e))?
                {
                    return Ok(Next::Stop);
                }
                item.state = ItemState::Collecting;
                Ok(Next::Continue(item))
            }
            Err(error @ Error::JobEnded { .. }) => {
                let detail = error.to_string();
                self.persist(shutdown, || {
                    self.queue.fail(id, owner, ItemState::Running, &detail)
                })
                .await
                .map_err(|e| (id, e))?;
                report.failed += 1;
                Ok(Next::Stop)
            }
            Err(error) => Err((id, FleetError::Config(error.to_string()))),
        }
    }

    /// [`Client::wait`], ended early by a recorded terminal webhook event: the event is looked
    /// up before the first poll, whenever its announcement arrives, and at every poll; one
    /// status call then confirms it (a webhook is the API's word only once the API agrees).
    /// Should the API not agree, the wait goes on polling and the event is not asked again.
    async fn wait_with_events(
        &self,
        job_id: JobId,
        table: &WebhookEvents,
        signals: &EventSignals,
    ) -> hasdata_jobs::Result<Job> {
        let key = job_id.to_string();
        // Subscribed before the first look, so an event recorded in between is heard.
        let mut heard: Option<Signal> = Some(signals.subscribe());
        let mut asked = false;
        let mut look = true;
        let mut polls = self.client.watch(job_id, self.config.poll.clone());
        loop {
            if look && !asked {
                match table.terminal(&key).await {
                    Ok(Some(_)) => {
                        asked = true;
                        let job = self.client.status(job_id).await?;
                        if job.status.is_terminal() {
                            return job_end(job);
                        }
                    }
                    Ok(None) => {}
                    Err(error) => {
                        tracing::warn!(%error, job = %key, "cannot read webhook events; polling");
                    }
                }
            }
            look = false;
            let signal = async {
                match heard.as_mut() {
                    Some(signal) => Some(signal.recv().await),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                polled = polls.next() => match polled {
                    Some(Ok(progress)) if progress.is_terminal() => return job_end(progress.job),
                    Some(Ok(_)) => look = true,
                    Some(Err(error)) => return Err(error),
                    None => {
                        return Err(hasdata_jobs::Error::WaitDeadline {
                            job_id,
                            waited: Duration::ZERO,
                            last_status: None,
                        });
                    }
                },
                note = signal => match note {
                    Some(Ok(job)) => look = job == key || job.is_empty(),
                    Some(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => look = true,
                    Some(Err(tokio::sync::broadcast::error::RecvError::Closed)) | None => {
                        heard = None;
                    }
                },
            }
        }
    }

    /// `collecting`: every row into the sink, checked against the job's row count (from
    /// `ended`, the record the wait ended with, when this worker waited; else asked now).
    async fn collect(
        &self,
        item: Claimed,
        owner: &str,
        shutdown: &watch::Receiver<bool>,
        report: &mut WorkerReport,
        ended: Option<Job>,
    ) -> std::result::Result<Next, (i64, FleetError)> {
        let id = item.id;
        let fail = |e: FleetError| (id, e);
        let job_id = Self::job_id(&item)?;
        let record = match ended {
            Some(record) if record.id == job_id => record,
            _ => self
                .client
                .status(job_id)
                .await
                .map_err(|e| fail(FleetError::Config(e.to_string())))?,
        };
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
        // Collected once the sink has committed (below), not when the last row is read.
        let mut rows = self
            .client
            .rows::<hasdata_jobs::RowJson>(job_id)
            .pages()
            .known(record.clone())
            .keep_uncollected();
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
        // Rows are committed by the lease's holder only (the writer is dropped otherwise,
        // leaving nothing behind).
        if !self
            .still_held(id, owner, ItemState::Collecting, shutdown)
            .await
            .map_err(fail)?
        {
            return Ok(Next::Stop);
        }
        let output = writer.commit().await.map_err(fail)?;
        if let Err(error) = self.client.ledger().mark_collected(job_id, &output).await {
            tracing::warn!(%error, job = %job_id, "the ledger did not note the collection");
        }
        if self
            .persist(shutdown, || self.queue.finish(id, owner, index, &output))
            .await
            .map_err(fail)?
        {
            report.done += 1;
            report.rows += index;
        }
        Ok(Next::Stop)
    }
}

/// A wait's end as [`Client::wait`] gives it: `Ok` only for `finished`.
fn job_end(job: Job) -> hasdata_jobs::Result<Job> {
    if job.status == JobStatus::Finished {
        Ok(job)
    } else {
        Err(hasdata_jobs::Error::JobEnded { job: Box::new(job) })
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
    fn the_workers_webhook_is_added_unless_the_body_has_its_own() {
        let hook = SubmitWebhook {
            url: "https://hooks.example/h".into(),
            events: vec!["scraper.job.finished".into()],
            header: "x-hook-secret".into(),
            secret: "s3cret".into(),
        };
        let mut plain = serde_json::json!({"urls": ["https://a.example"]});
        hook.add_to(&mut plain);
        assert_eq!(
            plain["webhook"],
            serde_json::json!({"url": "https://hooks.example/h", "events": ["scraper.job.finished"], "headers": {"x-hook-secret": "s3cret"}})
        );
        let own = serde_json::json!({"urls": [], "webhook": {"url": "https://mine.example"}});
        let mut kept = own.clone();
        hook.add_to(&mut kept);
        assert_eq!(kept, own);
        assert!(!format!("{hook:?}").contains("s3cret"));
    }

    #[test]
    fn only_a_429_or_an_unsent_request_is_tried_again() {
        assert!(retryable_refusal("HTTP 429: too many requests"));
        assert!(retryable_refusal("never sent: connection refused"));
        assert!(!retryable_refusal("HTTP 422: urls is required"));
        assert!(!retryable_refusal(""));
    }
}
