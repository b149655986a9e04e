//! Webhook delivery, as HasData does it: the subscribed events, the submitter's headers on
//! every call, up to three attempts on a non-2xx answer or a timeout, no ordering promise.
//! Faults (drop, duplicate, reorder, delay) are drawn from the seeded injector and counted.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hasdata_transport::Transport;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::jobs::Phase;
use crate::render::timestamp;
use crate::server::Shared;

/// Attempts per event, the first included.
pub const ATTEMPTS: u32 = 3;

const STARTED: &str = "scraper.job.started";
const SCRAPED: &str = "scraper.data.scraped";
const FINISHED: &str = "scraper.job.finished";

/// A job's `webhook` field as the simulator uses it: where to post, which events, and the
/// headers to send on every call. Read from the submitted JSON after the request checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hook {
    url: String,
    events: Vec<String>,
    headers: Vec<(String, String)>,
}

impl Hook {
    /// The hook a checked body asks for: `None` without a `webhook` object. Absent `events`
    /// subscribe to nothing; a header value that is a number or a boolean is sent as its JSON
    /// text, other non-string values are skipped (the docs show strings only).
    pub fn from_body(body: &Value) -> Option<Hook> {
        let hook = body.get("webhook")?.as_object()?;
        let url = hook.get("url")?.as_str()?.to_owned();
        let events = hook
            .get("events")
            .and_then(Value::as_array)
            .map(|events| {
                events
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let headers = hook
            .get("headers")
            .and_then(Value::as_object)
            .map(|headers| {
                headers
                    .iter()
                    .filter_map(|(name, value)| {
                        let text = match value {
                            Value::String(s) => s.clone(),
                            Value::Number(_) | Value::Bool(_) => value.to_string(),
                            _ => return None,
                        };
                        Some((name.clone(), text))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(Hook {
            url,
            events,
            headers,
        })
    }

    fn subscribed(&self, event: &str) -> bool {
        self.events.iter().any(|e| e == event)
    }
}

/// How one delivery attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The receiver answered with this status.
    Status(u16),
    /// No answer (refused, timeout, broken connection).
    Failed(String),
}

/// One delivery attempt, as the log records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// The job.
    pub job_id: u64,
    /// The event name.
    pub event: String,
    /// The attempt number, from 1.
    pub attempt: u32,
    /// How it ended.
    pub outcome: DeliveryOutcome,
    /// Rows carried (for `scraper.data.scraped`).
    pub rows: usize,
    /// Whether this was the second copy of a duplicated event.
    pub duplicate: bool,
}

impl WebhookDelivery {
    /// Whether the receiver acknowledged it (2xx).
    pub fn acknowledged(&self) -> bool {
        matches!(self.outcome, DeliveryOutcome::Status(s) if (200..300).contains(&s))
    }
}

/// Every delivery attempt, in the order they ended, and the work still under way.
#[derive(Debug, Default)]
pub struct WebhookLog {
    entries: Mutex<Vec<WebhookDelivery>>,
    busy: Arc<AtomicUsize>,
}

/// One job follower or one event's delivery under way; counted until dropped (finished or
/// aborted), so a test can wait until nothing more will arrive instead of sleeping.
#[derive(Debug)]
pub(crate) struct Busy(Arc<AtomicUsize>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl WebhookLog {
    fn push(&self, delivery: WebhookDelivery) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(delivery);
    }

    /// A copy of the log.
    pub fn entries(&self) -> Vec<WebhookDelivery> {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Counts a piece of webhook work as under way until the returned guard drops.
    pub(crate) fn busy(&self) -> Busy {
        self.busy.fetch_add(1, Ordering::SeqCst);
        Busy(self.busy.clone())
    }

    /// Job followers and deliveries still under way (delays and retries included).
    pub fn in_flight(&self) -> usize {
        self.busy.load(Ordering::SeqCst)
    }
}

/// Follows one job and sends its events until it ends. `busy` counts it as under way; it is
/// taken before the task is spawned, so no moment after the submit shows nothing pending.
pub(crate) async fn drive(shared: Arc<Shared>, job_id: u64, busy: Busy) {
    let _busy = busy;
    let Some(job) = shared.store.get(job_id) else {
        return;
    };
    let Some(webhook) = job.webhook.clone() else {
        return;
    };
    let tick = (job.duration / 20).clamp(Duration::from_millis(5), Duration::from_millis(250));
    let batch = shared.config.webhook_batch.max(1) as u64;
    let (mut started_sent, mut rows_sent) = (false, 0u64);
    loop {
        let Some(job) = shared.store.get(job_id) else {
            return;
        };
        let snapshot = job.snapshot(Instant::now());
        if !started_sent && snapshot.phase != Phase::Pending {
            started_sent = true;
            if webhook.subscribed(STARTED) {
                send(&shared, &webhook, job_id, STARTED, "in_progress", None, 0);
            }
        }
        if webhook.subscribed(SCRAPED) {
            while rows_sent < snapshot.rows {
                let end = (rows_sent + batch).min(snapshot.rows);
                let rows: Vec<Value> = (rows_sent..end)
                    .map(|index| crate::rows::row(job.scraper, &job.input, job.id, index))
                    .collect();
                let count = rows.len();
                send(
                    &shared,
                    &webhook,
                    job_id,
                    SCRAPED,
                    "in_progress",
                    Some(Value::Array(rows)),
                    count,
                );
                rows_sent = end;
            }
        }
        if snapshot.phase.is_terminal() {
            if webhook.subscribed(FINISHED) {
                send(
                    &shared,
                    &webhook,
                    job_id,
                    FINISHED,
                    snapshot.phase.as_str(),
                    None,
                    0,
                );
            }
            return;
        }
        tokio::time::sleep(tick).await;
    }
}

/// Queues one event, applying the webhook faults.
fn send(
    shared: &Arc<Shared>,
    webhook: &Hook,
    job_id: u64,
    event: &str,
    job_status: &str,
    data: Option<Value>,
    rows: usize,
) {
    let faults = &shared.faults;
    let spec = faults.spec().webhooks.clone();
    if faults.chance(spec.drop, "webhook:drop") {
        return;
    }
    let copies = if faults.chance(spec.duplicate, "webhook:duplicate") {
        2
    } else {
        1
    };
    let mut wait = Duration::ZERO;
    if let Some((delay, p)) = spec.delay
        && faults.chance(p, "webhook:delay")
    {
        wait += delay;
    }
    if faults.chance(spec.reorder, "webhook:reorder") {
        // Held back long enough for later events to overtake it.
        wait += Duration::from_millis(50 + (faults.draw() * 200.0) as u64);
    }
    let shape = &shared.config.shape;
    let job_id_field = if shape.text_webhook_job_id {
        json!(job_id.to_string())
    } else {
        json!(job_id)
    };
    let mut payload = json!({
        "event": event,
        "jobId": job_id_field,
        "jobStatus": job_status,
        "timestamp": timestamp(time::OffsetDateTime::now_utc(), shape),
    });
    if let Some(data) = data {
        payload["data"] = data;
    }
    let body = Bytes::from(payload.to_string());
    let shared_for_task = shared.clone();
    let webhook = webhook.clone();
    let event_name = event.to_owned();
    let busy = shared.webhooks.busy();
    let task = tokio::spawn(async move {
        let _busy = busy;
        let shared = shared_for_task;
        tokio::time::sleep(wait).await;
        let Ok(_slot) = shared.delivery_slots.acquire().await else {
            return;
        };
        for copy in 0..copies {
            for attempt in 1..=ATTEMPTS {
                let outcome = post(&shared, &webhook, body.clone()).await;
                let acknowledged =
                    matches!(outcome, DeliveryOutcome::Status(s) if (200..300).contains(&s));
                shared.webhooks.push(WebhookDelivery {
                    job_id,
                    event: event_name.clone(),
                    attempt,
                    outcome,
                    rows,
                    duplicate: copy > 0,
                });
                if acknowledged {
                    break;
                }
                if attempt < ATTEMPTS {
                    tokio::time::sleep(shared.config.webhook_retry_delay * attempt).await;
                }
            }
        }
    });
    shared.track(task.abort_handle());
}

async fn post(shared: &Shared, webhook: &Hook, body: Bytes) -> DeliveryOutcome {
    let mut request = http::Request::builder()
        .method(http::Method::POST)
        .uri(&webhook.url)
        .header(http::header::CONTENT_TYPE, "application/json");
    for (name, value) in &webhook.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let request = match request.body(body) {
        Ok(request) => request,
        Err(e) => return DeliveryOutcome::Failed(e.to_string()),
    };
    let attempt = async {
        let response = shared.webhook_http.send(request).await?;
        let status = response.status().as_u16();
        // Read the answer so the connection can be reused.
        let _ = response.into_body().bytes_limited(64 * 1024).await;
        Ok::<u16, hasdata_transport::TransportError>(status)
    };
    match tokio::time::timeout(shared.config.webhook_timeout, attempt).await {
        Ok(Ok(status)) => DeliveryOutcome::Status(status),
        Ok(Err(e)) => DeliveryOutcome::Failed(e.to_string()),
        Err(_) => DeliveryOutcome::Failed("timed out".into()),
    }
}
