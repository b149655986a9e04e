//! Workers against hasdata-sim: the whole path, and picking up where a dead worker stopped.

use std::sync::Arc;
use std::time::Duration;

use hasdata_fleet::{ItemState, JsonlSink, Queue, Worker, WorkerConfig};
use hasdata_jobs::{
    Client, Intent, IntentState, JobLedger, MemoryLedger, PollPolicy, SubmitOptions,
};
use hasdata_sim::{SimConfig, SimHandle, Simulator};
use tokio::sync::watch;

use crate::{contacts_items, fresh_queue};

async fn sim(max_running: usize) -> SimHandle {
    Simulator::start(SimConfig {
        job_duration: Duration::from_millis(200),
        max_running,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

fn client(sim: &SimHandle, ledger: Arc<dyn JobLedger>) -> Client {
    Client::builder()
        .api_key(sim.api_key())
        .base_url(sim.base_url())
        .ledger(ledger)
        .build()
        .unwrap()
}

fn config(lease: Duration) -> WorkerConfig {
    WorkerConfig {
        lease,
        concurrency: 6,
        idle_poll: Duration::from_millis(50),
        poll: PollPolicy::fast(),
        retry_delay: Duration::from_millis(100),
        exit_when_idle: true,
        ..WorkerConfig::new()
    }
}

async fn drain(queue: &Queue, client: Client, out: &std::path::Path, lease: Duration) {
    let worker = Worker::new(
        queue.clone(),
        client,
        Arc::new(JsonlSink::new(out).unwrap()),
        config(lease),
    );
    let (_stop, stopped) = watch::channel(false);
    tokio::time::timeout(Duration::from_secs(120), worker.run(stopped))
        .await
        .expect("the worker drains the queue")
        .unwrap();
}

fn lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_drains_the_queue_under_the_cap_into_jsonl() {
    let Some((queue, _)) = fresh_queue().await else {
        return;
    };
    let sim = sim(4).await;
    queue.add(&contacts_items(12)).await.unwrap();
    queue.set_max_running(4).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    drain(
        &queue,
        client(&sim, Arc::new(MemoryLedger::new())),
        out.path(),
        Duration::from_secs(30),
    )
    .await;

    let status = queue.status().await.unwrap();
    assert_eq!(status.counts[&ItemState::Done], 12, "{status:?}");
    assert_eq!(sim.created_jobs().len(), 12, "one job per item");
    assert!(sim.peak_running() <= 4, "peak {}", sim.peak_running());
    assert_eq!(sim.fault_counts().get("submit:429"), None);
    for item in queue.list(None, 100).await.unwrap() {
        let job_id: u64 = item.job_id.as_deref().unwrap().parse().unwrap();
        let path = std::path::PathBuf::from(item.output.unwrap());
        assert_eq!(
            lines(&path),
            sim.expected_rows(job_id).unwrap(),
            "the rows as served"
        );
        assert_eq!(item.rows, Some(lines(&path).len() as i64));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_workers_submitted_item_carries_on_with_the_same_job() {
    let Some((queue, _)) = fresh_queue().await else {
        return;
    };
    let sim = sim(10).await;
    let ledger: Arc<dyn JobLedger> = Arc::new(MemoryLedger::new());
    let client = client(&sim, ledger.clone());
    queue.add(&contacts_items(1)).await.unwrap();
    // The dead worker claimed the item and submitted under its key, then died before the
    // queue heard of the job id.
    let item = queue
        .claim("dead", Duration::from_secs(1), "key-dead")
        .await
        .unwrap()
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&item.body).unwrap();
    let job = client
        .submit_raw_with(
            "contacts",
            &body,
            &SubmitOptions {
                idempotency_key: Some("key-dead".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    drain(&queue, client, out.path(), Duration::from_secs(30)).await;
    assert_eq!(sim.created_jobs().len(), 1, "never submitted again");
    let done = &queue.list(None, 10).await.unwrap()[0];
    assert_eq!(done.state, ItemState::Done);
    assert_eq!(done.job_id.as_deref(), Some(job.id.to_string().as_str()));
    assert_eq!(done.claims, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intent_without_an_outcome_is_parked_not_resent() {
    let Some((queue, _)) = fresh_queue().await else {
        return;
    };
    let sim = sim(10).await;
    let ledger: Arc<dyn JobLedger> = Arc::new(MemoryLedger::new());
    queue.add(&contacts_items(2)).await.unwrap();
    // Died between recording the intent and hearing the answer.
    let item = queue
        .claim("dead", Duration::from_secs(1), "key-unsure")
        .await
        .unwrap()
        .unwrap();
    ledger
        .record_intent(&Intent::new(
            "key-unsure",
            "contacts",
            item.body.as_bytes(),
            None,
        ))
        .await
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    drain(
        &queue,
        client(&sim, ledger.clone()),
        out.path(),
        Duration::from_secs(30),
    )
    .await;
    let items = queue.list(None, 10).await.unwrap();
    assert_eq!(items[0].state, ItemState::Parked);
    assert!(items[0].detail.as_deref().unwrap().contains("key-unsure"));
    assert_eq!(items[1].state, ItemState::Done);
    assert_eq!(sim.created_jobs().len(), 1, "only the other item was sent");
    assert_eq!(
        ledger.intent("key-unsure").await.unwrap().unwrap().state,
        IntentState::Pending
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_hands_back_running_items_for_another_worker() {
    let Some((queue, _)) = fresh_queue().await else {
        return;
    };
    let sim = sim(10).await;
    sim.hold(hasdata_sim::Hold::InProgress);
    let ledger: Arc<dyn JobLedger> = Arc::new(MemoryLedger::new());
    queue.add(&contacts_items(3)).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    let worker = Worker::new(
        queue.clone(),
        client(&sim, ledger.clone()),
        Arc::new(JsonlSink::new(out.path()).unwrap()),
        WorkerConfig {
            exit_when_idle: false,
            ..config(Duration::from_secs(300))
        },
    );
    let (stop, stopped) = watch::channel(false);
    let run = tokio::spawn(async move { worker.run(stopped).await });
    // Wait until all three jobs exist and are held running.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while queue.status().await.unwrap().counts[&ItemState::Running] < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "items reach running"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.send(true).unwrap();
    let report = run.await.unwrap().unwrap();
    assert_eq!(report.submitted, 3);
    // Handed back, not left to a 300 s lease: another worker takes them at once.
    sim.release();
    drain(
        &queue,
        client(&sim, ledger),
        out.path(),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(queue.status().await.unwrap().counts[&ItemState::Done], 3);
    assert_eq!(sim.created_jobs().len(), 3);
}

/// A parked item's job may be running on the API, so it holds one of the cap's slots; once the
/// ledger learns its job id (a late answer recorded), a worker collects that job and never
/// submits the item again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_item_holds_a_slot_and_follows_the_ledger_once_it_learns_the_job() {
    let Some((queue, _)) = fresh_queue().await else {
        return;
    };
    let sim = sim(10).await;
    let ledger: Arc<dyn JobLedger> = Arc::new(MemoryLedger::new());
    queue.add(&contacts_items(2)).await.unwrap();
    queue.set_max_running(1).await.unwrap();
    // A worker died after its POST reached the API and before the answer was recorded.
    let item = queue
        .claim("dead", Duration::from_secs(1), "key-late")
        .await
        .unwrap()
        .unwrap();
    ledger
        .record_intent(&Intent::new(
            "key-late",
            "contacts",
            item.body.as_bytes(),
            None,
        ))
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&item.body).unwrap();
    let job = client(&sim, Arc::new(MemoryLedger::new()))
        .submit_raw_with("contacts", &body, &SubmitOptions::default())
        .await
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    drain(
        &queue,
        client(&sim, ledger.clone()),
        out.path(),
        Duration::from_secs(30),
    )
    .await;
    let status = queue.status().await.unwrap();
    assert_eq!(status.counts[&ItemState::Parked], 1, "{status:?}");
    assert_eq!(
        status.counts[&ItemState::Queued],
        1,
        "the parked item holds the only slot: {status:?}"
    );
    assert_eq!(sim.created_jobs().len(), 1);

    // The answer turns up and is recorded: the ledger knows the job now.
    ledger
        .record_submitted(
            "key-late",
            &hasdata_ledger::Submitted {
                id: hasdata_ledger::SentJobId::Number(job.id.as_u64().unwrap().into()),
                status: None,
                record: serde_json::json!({"id": job.id.as_u64()}),
            },
        )
        .await
        .unwrap();
    drain(
        &queue,
        client(&sim, ledger.clone()),
        out.path(),
        Duration::from_secs(30),
    )
    .await;
    let items = queue.list(None, 10).await.unwrap();
    assert!(
        items.iter().all(|i| i.state == ItemState::Done),
        "{items:?}"
    );
    assert_eq!(
        items[0].job_id.as_deref(),
        Some(job.id.to_string().as_str()),
        "the late job is collected"
    );
    assert_eq!(
        sim.created_jobs().len(),
        2,
        "the parked item was never sent again"
    );
}

/// A PostgreSQL ledger whose first intent INSERT commits but whose answer never arrives (the
/// connection cut between the server's commit and its reply), as the worker sees it.
#[derive(Debug)]
struct LostCommitReply {
    inner: hasdata_ledger::PostgresLedger,
    cut: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl JobLedger for LostCommitReply {
    async fn record_intent(&self, intent: &Intent) -> Result<(), hasdata_jobs::LedgerError> {
        self.inner.record_intent(intent).await?;
        if !self.cut.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(hasdata_jobs::LedgerError::Unavailable {
                backend: "postgres",
                source: "connection closed before the commit's reply".into(),
            });
        }
        Ok(())
    }
    async fn record_resend(&self, key: &str) -> Result<(), hasdata_jobs::LedgerError> {
        self.inner.record_resend(key).await
    }
    async fn claim_resend(
        &self,
        key: &str,
        owner: &str,
        attempts: u32,
        lease: Duration,
    ) -> Result<hasdata_jobs::ResendClaim, hasdata_jobs::LedgerError> {
        self.inner.claim_resend(key, owner, attempts, lease).await
    }
    async fn release_resend(
        &self,
        key: &str,
        owner: &str,
    ) -> Result<(), hasdata_jobs::LedgerError> {
        self.inner.release_resend(key, owner).await
    }
    async fn record_submitted(
        &self,
        key: &str,
        submitted: &hasdata_jobs::Submitted,
    ) -> Result<(), hasdata_jobs::LedgerError> {
        self.inner.record_submitted(key, submitted).await
    }
    async fn record_refused(
        &self,
        key: &str,
        reason: &str,
    ) -> Result<(), hasdata_jobs::LedgerError> {
        self.inner.record_refused(key, reason).await
    }
    async fn record_uncertain(
        &self,
        key: &str,
        reason: &str,
    ) -> Result<(), hasdata_jobs::LedgerError> {
        self.inner.record_uncertain(key, reason).await
    }
    async fn intent(
        &self,
        key: &str,
    ) -> Result<Option<hasdata_jobs::IntentEntry>, hasdata_jobs::LedgerError> {
        self.inner.intent(key).await
    }
    async fn intents(&self) -> Result<Vec<hasdata_jobs::IntentEntry>, hasdata_jobs::LedgerError> {
        self.inner.intents().await
    }
    async fn intents_for(
        &self,
        origin: &hasdata_jobs::Origin,
        digest: &hasdata_jobs::BodyDigest,
    ) -> Result<Vec<hasdata_jobs::IntentEntry>, hasdata_jobs::LedgerError> {
        self.inner.intents_for(origin, digest).await
    }
    async fn record_progress(
        &self,
        id: hasdata_jobs::model::JobId,
        progress: &hasdata_jobs::JobProgress,
    ) -> Result<(), hasdata_jobs::LedgerError> {
        self.inner.record_progress(id, progress).await
    }
    async fn mark_collected(
        &self,
        id: hasdata_jobs::model::JobId,
        output: &str,
    ) -> Result<(), hasdata_jobs::LedgerError> {
        self.inner.mark_collected(id, output).await
    }
    async fn job(
        &self,
        id: hasdata_jobs::model::JobId,
    ) -> Result<Option<hasdata_jobs::JobEntry>, hasdata_jobs::LedgerError> {
        self.inner.job(id).await
    }
    async fn jobs(&self) -> Result<Vec<hasdata_jobs::JobEntry>, hasdata_jobs::LedgerError> {
        self.inner.jobs().await
    }
    async fn forget_job(
        &self,
        id: hasdata_jobs::model::JobId,
    ) -> Result<bool, hasdata_jobs::LedgerError> {
        self.inner.forget_job(id).await
    }
}

/// A worker whose intent INSERT committed but whose reply was lost knows it sent nothing (it
/// POSTs only after a confirmed intent) and still holds its fenced claim: it sends the item
/// under that intent instead of parking it. Before, it read its own pending intent back as
/// "may have been sent" and parked an item no job existed for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_sends_its_own_intent_whose_commit_reply_was_lost() {
    let Some((queue, url)) = fresh_queue().await else {
        return;
    };
    let sim = sim(10).await;
    let ledger = Arc::new(LostCommitReply {
        inner: hasdata_ledger::PostgresLedger::connect(&url, sim.base_url())
            .await
            .unwrap(),
        cut: std::sync::atomic::AtomicBool::new(false),
    });
    queue.add(&contacts_items(1)).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    drain(
        &queue,
        client(&sim, ledger.clone()),
        out.path(),
        Duration::from_secs(30),
    )
    .await;
    assert!(ledger.cut.load(std::sync::atomic::Ordering::SeqCst));
    let items = queue.list(None, 10).await.unwrap();
    assert_eq!(items[0].state, ItemState::Done, "{:?}", items[0].detail);
    assert_eq!(items[0].claims, 1, "the same claim carried on");
    let created = sim.created_jobs();
    assert_eq!(created.len(), 1, "sent exactly once");
    let key = created[0].idempotency_key.clone().unwrap();
    let intent = ledger.intent(&key).await.unwrap().unwrap();
    assert_eq!(intent.state, IntentState::Submitted);
    assert_eq!(
        items[0].job_id.as_deref(),
        Some(created[0].id.to_string().as_str())
    );
}
