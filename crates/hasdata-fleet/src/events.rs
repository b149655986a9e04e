//! Webhook events in the queue's database: recorded by any number of `hasdata webhook listen`
//! replicas behind one URL, read by workers waiting on their jobs.
//!
//! Why it is safe with several replicas and retries:
//!
//! - A delivery's identity is the SHA-256 of its body's canonical JSON
//!   ([`ReceivedEvent::delivery`]): HasData's calls carry no id, and a retry repeats the body.
//!   It is the table's primary key, and [`WebhookEvents::record`] inserts with
//!   `ON CONFLICT DO NOTHING`: two replicas given the same delivery at once store it once, and
//!   each learns whether it was the first.
//! - The receiver answers 200 only after that insert has committed, so a replica killed
//!   mid-request has acknowledged nothing it did not store; HasData's retry reaches any replica.
//! - A terminal event (its `jobStatus` is `finished`, `finished_with_error` or `stopped`) sends
//!   `NOTIFY` on [`CHANNEL`] with the job id in the same transaction, so a worker waiting on
//!   that job wakes at once ([`EventSignals`]); the notification goes out only if the row
//!   committed.
//!
//! Events are attached to queue items by job id (`fleet_items.job_id`) when read, never
//! dropped: an event for a job no item owns (yet: a `started` event can beat the worker's
//! own record of its job id) is kept and shown by [`WebhookEvents::list`] with no item.
//! Nothing stored comes from the request's headers, so the shared secret never reaches the
//! database.

use std::time::Duration;

use deadpool_postgres::Pool;
use futures::StreamExt;
use hasdata_jobs::model::JobStatus;
use hasdata_jobs::webhooks::ReceivedEvent;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::broadcast;
use tokio_postgres::AsyncMessage;

use crate::error::{Result, db, error_text, pool};

/// The `LISTEN`/`NOTIFY` channel a terminal event is announced on; the payload is the job id.
pub const CHANNEL: &str = "hasdata_fleet_webhook";

/// What [`WebhookEvents::record`] did with a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Recorded {
    /// Stored now: this was the first copy of the delivery any replica saw.
    New,
    /// Stored before (by this or another replica): a retry or a duplicate.
    Duplicate,
}

/// One recorded event, with the queue item that owns its job, if any: what `hasdata webhook
/// events` prints (its `--json` schema is `schemas/cli.webhook-event.schema.json`).
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct EventSummary {
    /// The delivery's identity: SHA-256 (hex) of its body's canonical JSON.
    pub delivery: String,
    /// The job id as sent (its exact text: a NUL character or an integer past 64 bits
    /// included).
    pub job_id: Option<String>,
    /// The queue item whose job this is; null (`None`): no item owns the job.
    pub item_id: Option<i64>,
    /// The event's name (`scraper.job.finished`, ...; empty when the body had none).
    pub event: String,
    /// The job's status in the event.
    pub job_status: Option<String>,
    /// Whether that status is terminal.
    pub terminal: bool,
    /// Rows the event carried.
    pub rows: i64,
    /// Which replica recorded it.
    pub receiver: Option<String>,
    /// When it was recorded (RFC 3339, UTC).
    pub received_at: String,
    /// Whether the delivery did not match the documented event shape (JSON that is not an
    /// object, no job id, a field of another type): kept all the same.
    pub unrecognised: bool,
    /// The body as received (JSON text), when asked for (`webhook events --body`,
    /// `EventFilter::bodies`) or the delivery is unrecognised; absent for events recorded
    /// before bodies were kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// A terminal event recorded for a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerminalEvent {
    /// The job's status in the event.
    pub job_status: String,
    /// Rows carried by every event recorded for the job (webhook rows, not the job's count).
    pub webhook_rows: i64,
}

/// Which recorded events [`WebhookEvents::list`] returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only this job's.
    pub job_id: Option<String>,
    /// Only events of jobs no queue item owns.
    pub unknown_jobs: bool,
    /// At most this many, newest first (100 when 0).
    pub limit: i64,
    /// Every event's body too (unrecognised deliveries always have theirs).
    pub bodies: bool,
}

/// Rows deleted per statement when pruning, so no statement holds its locks for long.
const PRUNE_BATCH: i64 = 5000;

/// Item states after which no worker reads the item's job's events again.
const FINAL_STATES: [&str; 2] = ["done", "failed"];

/// How a text from a webhook body goes into a PostgreSQL text column, which cannot hold
/// U+0000: as is, or (when it holds one) as its JSON string literal, `escaped` set.
fn storable(text: &str) -> (String, bool) {
    if text.contains('\0') {
        (serde_json::to_string(text).unwrap_or_default(), true)
    } else {
        (text.to_owned(), false)
    }
}

/// The text a column held: `escaped` values are JSON string literals ([`storable`]).
fn unescaped(stored: String, escaped: bool) -> String {
    if escaped {
        serde_json::from_str(&stored).unwrap_or(stored)
    } else {
        stored
    }
}

/// Whether `value` holds U+0000 in a string or a key, which jsonb cannot.
fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map
            .iter()
            .any(|(key, value)| key.contains('\0') || holds_nul(value)),
        _ => false,
    }
}

/// `value` when jsonb can hold it (the body keeps it otherwise).
fn jsonb(value: Option<Value>) -> Option<Value> {
    value.filter(|value| !holds_nul(value))
}

/// The webhook events table, on the queue's pool (see [`crate::Queue::events`]).
#[derive(Clone)]
pub struct WebhookEvents {
    pool: Pool,
}

impl std::fmt::Debug for WebhookEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookEvents").finish_non_exhaustive()
    }
}

/// The rows an event carried: `data` when it is an array (`scraper.data.scraped`).
fn carried_rows(event: &ReceivedEvent) -> Option<&Vec<Value>> {
    event.event.data.as_ref().and_then(Value::as_array)
}

impl WebhookEvents {
    /// The table on `pool`, which must be migrated already (by [`crate::Queue::from_pool`]).
    pub(crate) fn new(pool: Pool) -> Self {
        WebhookEvents { pool }
    }

    /// Records a received delivery once, whichever replica gets it first, and announces a
    /// terminal event to waiting workers. `receiver` names the replica (for people). Call it
    /// before acknowledging the delivery: an error means nothing was stored, so the caller
    /// answers 503 and HasData sends it again.
    pub async fn record(&self, received: &ReceivedEvent, receiver: &str) -> Result<Recorded> {
        let event = &received.event;
        let status = event.job_status.as_ref();
        let terminal = status.is_some_and(JobStatus::is_terminal);
        let rows = carried_rows(received);
        let row_count = rows.map_or(0, |rows| i64::try_from(rows.len()).unwrap_or(i64::MAX));
        let rows = jsonb(rows.map(|rows| Value::Array(rows.clone())));
        // Texts from the body go into text columns, which cannot hold U+0000: such a value is
        // stored escaped and named in `escaped` (the body keeps the bytes as sent).
        let mut escaped: Vec<&str> = Vec::new();
        let mut text = |column: &'static str, value: &str| {
            let (stored, was_escaped) = storable(value);
            if was_escaped {
                escaped.push(column);
            }
            stored
        };
        let job_id = event.job_id.as_deref().map(|id| text("job_id", id));
        let name = text("event", &event.event.to_string());
        let status = status.map(|s| text("job_status", s.as_str()));
        // Only a job id the API could have given (a `JobId`: at most 64 printable characters,
        // so never escaped, and within NOTIFY's 8,000-byte payload) can have a waiting worker.
        let announce = terminal && event.job().is_some();
        let sent_at = jsonb(event.timestamp.clone());
        let raw = jsonb(received.raw.clone());
        let unrecognised = received.raw.is_some();
        let body: &[u8] = &received.body;
        let mut client = self.pool.get().await.map_err(pool)?;
        let tx = client
            .transaction()
            .await
            .map_err(db("recording a webhook event"))?;
        let inserted = tx
            .execute(
                "INSERT INTO fleet_webhook_events
                    (delivery, job_id, event, job_status, terminal, row_count, rows, sent_at, raw,
                     receiver, body, escaped, unrecognised)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                 ON CONFLICT (delivery) DO NOTHING",
                &[
                    &received.delivery,
                    &job_id,
                    &name,
                    &status,
                    &terminal,
                    &row_count,
                    &rows,
                    &sent_at,
                    &raw,
                    &receiver,
                    &body,
                    &escaped,
                    &unrecognised,
                ],
            )
            .await
            .map_err(db("recording a webhook event"))?;
        if inserted == 1
            && announce
            && let Some(job_id) = &job_id
        {
            tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, job_id])
                .await
                .map_err(db("announcing a webhook event"))?;
        }
        tx.commit().await.map_err(db("recording a webhook event"))?;
        Ok(if inserted == 1 {
            Recorded::New
        } else {
            Recorded::Duplicate
        })
    }

    /// Whether a queue item owns `job_id` (an event for a job no item owns is kept all the same).
    pub async fn owned_by_item(&self, job_id: &str) -> Result<Option<i64>> {
        if job_id.contains('\0') {
            // No job the API gives has one (and a text column cannot hold it).
            return Ok(None);
        }
        let client = self.pool.get().await.map_err(pool)?;
        let row = client
            .query_opt(
                "SELECT id FROM fleet_items WHERE job_id = $1 ORDER BY id LIMIT 1",
                &[&job_id],
            )
            .await
            .map_err(db("finding a webhook event's item"))?;
        Ok(row.map(|r| r.get(0)))
    }

    /// The terminal event recorded for `job_id`, if any (the first one recorded).
    pub async fn terminal(&self, job_id: &str) -> Result<Option<TerminalEvent>> {
        let client = self.pool.get().await.map_err(pool)?;
        let row = client
            .query_opt(
                "SELECT job_status,
                        (SELECT COALESCE(sum(row_count), 0)::bigint FROM fleet_webhook_events
                         WHERE job_id = $1)
                 FROM fleet_webhook_events
                 WHERE job_id = $1 AND terminal AND NOT 'job_id' = ANY(escaped)
                 ORDER BY received_at LIMIT 1",
                &[&job_id],
            )
            .await
            .map_err(db("reading a job's webhook events"))?;
        Ok(row.map(|r| TerminalEvent {
            job_status: r.get::<_, Option<String>>(0).unwrap_or_default(),
            webhook_rows: r.get(1),
        }))
    }

    /// Recorded events, newest first, with the item that owns each one's job. Texts are
    /// given back as sent (a job id with a NUL character included, which the table keeps
    /// escaped); `filter.job_id` is the id as sent too.
    pub async fn list(&self, filter: &EventFilter) -> Result<Vec<EventSummary>> {
        let limit = if filter.limit <= 0 { 100 } else { filter.limit };
        let job_id = filter.job_id.as_deref().map(|id| storable(id).0);
        let client = self.pool.get().await.map_err(pool)?;
        let rows = client
            .query(
                "SELECT e.delivery, e.job_id,
                        (SELECT i.id FROM fleet_items i WHERE i.job_id = e.job_id
                         AND NOT 'job_id' = ANY(e.escaped)
                         ORDER BY i.id LIMIT 1) AS item_id,
                        e.event, e.job_status, e.terminal, e.row_count, e.receiver,
                        to_char(e.received_at AT TIME ZONE 'UTC',
                                'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),
                        e.escaped, e.unrecognised,
                        CASE WHEN $4 OR e.unrecognised THEN e.body END
                 FROM fleet_webhook_events e
                 WHERE ($1::text IS NULL OR e.job_id = $1)
                   AND (NOT $2 OR NOT EXISTS
                        (SELECT 1 FROM fleet_items i WHERE i.job_id = e.job_id
                         AND NOT 'job_id' = ANY(e.escaped)))
                 ORDER BY e.received_at DESC, e.delivery LIMIT $3",
                &[&job_id, &filter.unknown_jobs, &limit, &filter.bodies],
            )
            .await
            .map_err(db("listing webhook events"))?;
        Ok(rows
            .iter()
            .map(|row| {
                let escaped: Vec<String> = row.get(9);
                let text = |column: &str, stored: String| {
                    unescaped(stored, escaped.iter().any(|c| c == column))
                };
                EventSummary {
                    delivery: row.get(0),
                    job_id: row.get::<_, Option<String>>(1).map(|id| text("job_id", id)),
                    item_id: row.get(2),
                    event: text("event", row.get(3)),
                    job_status: row
                        .get::<_, Option<String>>(4)
                        .map(|status| text("job_status", status)),
                    terminal: row.get(5),
                    rows: row.get(6),
                    receiver: row.get(7),
                    received_at: row.get(8),
                    unrecognised: row.get(10),
                    body: row
                        .get::<_, Option<Vec<u8>>>(11)
                        .map(|body| String::from_utf8_lossy(&body).into_owned()),
                }
            })
            .collect())
    }

    /// Deletes events recorded more than `age` ago, except the events of jobs whose queue
    /// item is not finished (`done` or `failed`): a worker waiting on such a job reads its
    /// terminal event and the rows of all its events ([`WebhookEvents::terminal`]), however
    /// old. Events of jobs no item owns are pruned by age alone. Deletes in batches, so a
    /// large backlog does not hold long locks; returns how many were deleted.
    pub async fn prune(&self, age: Duration) -> Result<u64> {
        let seconds = age.as_secs_f64();
        let final_states: Vec<&str> = FINAL_STATES.to_vec();
        let client = self.pool.get().await.map_err(pool)?;
        let mut deleted = 0;
        loop {
            let batch = client
                .execute(
                    "DELETE FROM fleet_webhook_events WHERE delivery IN (
                         SELECT e.delivery FROM fleet_webhook_events e
                         WHERE e.received_at < now() - make_interval(secs => $1)
                           AND NOT EXISTS (
                               SELECT 1 FROM fleet_items i
                               WHERE i.job_id = e.job_id AND NOT i.state = ANY($2))
                         LIMIT $3)",
                    &[&seconds, &final_states, &PRUNE_BATCH],
                )
                .await
                .map_err(db("pruning webhook events"))?;
            deleted += batch;
            if batch < PRUNE_BATCH.unsigned_abs() {
                return Ok(deleted);
            }
        }
    }
}

/// Terminal-event announcements for one process's waiting workers: one dedicated connection
/// `LISTEN`s on [`CHANNEL`] (a pooled connection cannot: the pool drops notifications), and
/// each announced job id is broadcast to every waiter. The connection is remade when it
/// breaks; waiters are told (an empty job id: look again) so a notification missed meanwhile
/// costs at most a database read, and they look in the table at every poll anyway.
#[derive(Debug)]
pub struct EventSignals {
    sender: broadcast::Sender<String>,
    task: tokio::task::AbortHandle,
}

/// What a waiter hears from [`EventSignals`]: a job id with a terminal event, or "" (some
/// announcements may have been missed: look again).
pub type Signal = broadcast::Receiver<String>;

impl EventSignals {
    /// Starts listening on `url` (the queue's database) in a task of its own. Never fails:
    /// while the database cannot be reached, it tries again every few seconds and waiters
    /// rely on their polls.
    pub fn listen(url: &str) -> Result<EventSignals> {
        let (config, tls) = hasdata_ledger::postgres::connection_parts(url)?;
        let (sender, _) = broadcast::channel(1024);
        let task = tokio::spawn(listen_forever(config, tls, sender.clone())).abort_handle();
        Ok(EventSignals { sender, task })
    }

    /// A new waiter's receiver: subscribe before looking in the table, so nothing recorded
    /// in between is missed.
    pub fn subscribe(&self) -> Signal {
        self.sender.subscribe()
    }
}

impl Drop for EventSignals {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn listen_forever(
    config: tokio_postgres::Config,
    tls: hasdata_ledger::postgres::RustlsConnector,
    sender: broadcast::Sender<String>,
) {
    let mut delay = Duration::from_millis(500);
    loop {
        match config.connect(tls.clone()).await {
            Ok((client, mut connection)) => {
                let (ready, mut notes) = tokio::sync::mpsc::unbounded_channel();
                let driver = tokio::spawn(async move {
                    let mut messages =
                        futures::stream::poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(message) = messages.next().await {
                        match message {
                            Ok(AsyncMessage::Notification(note)) => {
                                if ready.send(note.payload().to_owned()).is_err() {
                                    return;
                                }
                            }
                            Ok(_) => {}
                            Err(error) => {
                                tracing::warn!(error = %error_text(&error), "the webhook listener's connection broke; reconnecting");
                                return;
                            }
                        }
                    }
                });
                match client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                    Ok(()) => {
                        delay = Duration::from_millis(500);
                        // Anything announced while no connection listened: look again.
                        let _ = sender.send(String::new());
                        while let Some(job_id) = notes.recv().await {
                            let _ = sender.send(job_id);
                        }
                    }
                    Err(error) => {
                        tracing::warn!(error = %error_text(&error), "cannot LISTEN for webhook events; retrying");
                    }
                }
                driver.abort();
            }
            Err(error) => {
                tracing::warn!(error = %error_text(&error), "cannot connect to listen for webhook events; retrying");
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}

#[cfg(test)]
mod tests {
    use super::{holds_nul, storable, unescaped};

    proptest::proptest! {
        /// Any text goes into a text column (no NUL left) and comes back as it was.
        #[test]
        fn any_text_is_stored_and_read_back_as_sent(text in "(\\PC|\\u{0}|\\\\|\"){0,12}") {
            let (stored, escaped) = storable(&text);
            proptest::prop_assert!(!stored.contains('\0'));
            proptest::prop_assert_eq!(escaped, text.contains('\0'));
            proptest::prop_assert_eq!(unescaped(stored, escaped), text);
        }
    }

    #[test]
    fn a_nul_anywhere_keeps_a_value_out_of_jsonb() {
        let with = serde_json::json!({"rows": [{"t": "x\u{0}y"}]});
        let in_key = serde_json::json!([{"k\u{0}": 1}]);
        let without = serde_json::json!({"rows": [{"t": "x\\u0000y"}], "n": 0});
        assert!(holds_nul(&with) && holds_nul(&in_key));
        assert!(!holds_nul(&without));
    }
}
