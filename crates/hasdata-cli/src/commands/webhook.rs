//! `hasdata webhook listen`: print received events as JSON lines; with a PostgreSQL
//! `--ledger`, record them in the queue's database first (`hasdata webhook events` shows them).
//!
//! An event is acknowledged (200) only once it is delivered: the receiver runs with
//! confirmation on. Without a database, delivered means its line is written and flushed. With
//! one, it means its row committed (hasdata-fleet's `WebhookEvents::record`, deduplicated by
//! the delivery's identity across every replica), and only the first copy of a delivery is
//! printed. A database error answers 503, so HasData sends the event again, to any replica.
//! When stdout breaks (its reader went away), the listener stops accepting (503) and exits 1
//! with a clear message.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hasdata_fleet::{EventFilter, Queue, Recorded, WebhookEvents};
use hasdata_jobs::webhooks::{ReceivedEvent, ReceiverConfig, WebhookReceiver};
use hasdata_ledger::Location;
use http::HeaderName;
use tokio::task::JoinSet;

use super::Signals;
use crate::args::{EventsArgs, ListenArgs};
use crate::context::{Ctx, err_line};
use crate::fail::{Failure, code};
use crate::secret;
use hasdata_cli::output::WebhookPruneOut;

/// Connections a listener keeps: events are recorded this many at a time.
const POOL_SIZE: usize = 8;

/// The queue database's events table when `--ledger` is a PostgreSQL URL; `None` for a
/// SQLite ledger (events are printed only, as without a database).
async fn events_table(ctx: &Ctx) -> Result<Option<WebhookEvents>, Failure> {
    let location = crate::ledger::location(ctx.global.ledger.as_deref())?;
    let Location::Postgres(url) = &location else {
        return Ok(None);
    };
    let pool = hasdata_ledger::postgres::pool_of_size(url, POOL_SIZE)
        .map_err(|e| crate::ledger::open_failure(&location, e))?;
    let queue = Queue::from_pool(pool).await.map_err(|e| match e {
        hasdata_fleet::FleetError::Config(message) => Failure::usage(message),
        other => Failure::new(code::OTHER, other.to_string()),
    })?;
    Ok(Some(queue.events()))
}

/// One event's line: the event as decoded. A body that is not a JSON object (`[]`, `"x"`,
/// `42`) decodes to no event at all, so it is printed whole under `unrecognisedBody`: the
/// line accounts for the delivery, and every line stays an object.
fn event_line(received: &ReceivedEvent) -> String {
    let mut line = serde_json::to_value(&received.event).unwrap_or_default();
    if let Some(raw) = received.raw.as_ref().filter(|raw| !raw.is_object())
        && let Some(object) = line.as_object_mut()
    {
        object.insert("unrecognisedBody".into(), raw.clone());
    }
    line.to_string()
}

/// Writes one event's line on stdout.
fn print_event(received: &ReceivedEvent) -> std::io::Result<()> {
    let line = event_line(received);
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").and_then(|()| out.flush())
}

fn stdout_broken(error: &std::io::Error) -> Failure {
    Failure::new(
        code::OTHER,
        format!(
            "cannot write events to stdout ({error}): stopped accepting; undelivered events were answered 503, so HasData sends them again"
        ),
    )
}

pub async fn listen(ctx: &Ctx, args: &ListenArgs) -> Result<(), Failure> {
    let mut interrupt = Signals::listen();
    let (name, value) = secret_header(args)?;
    let header = HeaderName::try_from(name.trim())
        .map_err(|_| Failure::usage(format!("{name:?} is not a header name")))?;
    let addr = args
        .bind
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], args.port)));
    let config = ReceiverConfig {
        path: args.path.clone(),
        confirm: true,
        ..ReceiverConfig::new(addr, header, value.trim().to_owned())
    };
    let table = events_table(ctx).await?;
    if args.retain.is_some() && table.is_none() {
        return Err(Failure::usage(
            "--retain prunes the events recorded in PostgreSQL: give --ledger postgres://USER@HOST/DB (or set HASDATA_LEDGER)",
        ));
    }
    let mut receiver = WebhookReceiver::bind(config)
        .await
        .map_err(|e| Failure::new(code::OTHER, format!("cannot listen on {addr}: {e}")))?;
    ctx.note(format!(
        "listening on {} (put an HTTPS proxy in front for HasData){}",
        receiver.url(),
        if table.is_some() {
            "; recording events in the queue's database"
        } else {
            ""
        }
    ));
    if !addr.ip().is_loopback() {
        ctx.note(format!(
            "{} is reachable beyond this machine and speaks plain HTTP: the secret header crosses that network in clear; let only your TLS proxy reach it",
            receiver.local_addr()
        ));
    }
    if let Some(table) = table {
        let _pruning = args
            .retain
            .map(|age| PruneTask(tokio::spawn(prune_forever(table.clone(), age))));
        let name = args
            .name
            .clone()
            .unwrap_or_else(|| format!("{}:{}", receiver.local_addr().port(), std::process::id()));
        let notes = !(ctx.global.json || ctx.global.quiet);
        return record(
            receiver,
            Arc::new(table),
            Arc::from(name),
            notes,
            &mut interrupt,
        )
        .await;
    }
    loop {
        tokio::select! {
            received = receiver.next() => match received {
                Some(received) => match print_event(&received) {
                    Ok(()) => received.delivered(),
                    Err(error) => {
                        receiver.close();
                        drop(received);
                        return Err(stdout_broken(&error));
                    }
                },
                None => return Ok(()),
            },
            _ = interrupt.wait() => return Ok(()),
        }
    }
}

/// The receiving loop with a database: each event is recorded (several at once, up to the
/// pool's size), printed when it is the delivery's first copy, and only then acknowledged.
async fn record(
    mut receiver: WebhookReceiver,
    table: Arc<WebhookEvents>,
    name: Arc<str>,
    notes: bool,
    interrupt: &mut Signals,
) -> Result<(), Failure> {
    let mut tasks: JoinSet<std::io::Result<()>> = JoinSet::new();
    loop {
        tokio::select! {
            received = receiver.next(), if tasks.len() < POOL_SIZE => match received {
                Some(received) => {
                    let (table, name) = (table.clone(), name.clone());
                    tasks.spawn(async move { record_one(&table, &name, received, notes).await });
                }
                None => return Ok(()),
            },
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                if let Ok(Err(error)) = done {
                    receiver.close();
                    return Err(stdout_broken(&error));
                }
            }
            _ = interrupt.wait() => return Ok(()),
        }
    }
}

/// The `--retain` pruning task, stopped with the listener.
struct PruneTask(tokio::task::JoinHandle<()>);

impl Drop for PruneTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How often `--retain` prunes: a quarter of the age, from 1 s to an hour.
fn prune_every(age: Duration) -> Duration {
    (age / 4).clamp(Duration::from_secs(1), Duration::from_secs(3600))
}

/// Prunes events older than `age` at once and then every [`prune_every`]; a failure is
/// reported and tried again next time (events are only kept longer).
async fn prune_forever(table: WebhookEvents, age: Duration) {
    loop {
        match table.prune(age).await {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "pruned old webhook events"),
            Err(error) => err_line(&format!(
                "could not prune old webhook events (tried again later): {error}"
            )),
        }
        tokio::time::sleep(prune_every(age)).await;
    }
}

/// Records one event; a database error leaves it unacknowledged (503: HasData sends it again).
async fn record_one(
    table: &WebhookEvents,
    name: &str,
    received: ReceivedEvent,
    notes: bool,
) -> std::io::Result<()> {
    match table.record(&received, name).await {
        Ok(Recorded::New) => {
            print_event(&received)?;
            received.delivered();
            if notes
                && let Some(job_id) = &received.event.job_id
                && let Ok(None) = table.owned_by_item(job_id).await
            {
                err_line(&format!(
                    "event {} for job {job_id}: no queue item has this job (yet); kept (hasdata webhook events --unknown)",
                    received.event.event
                ));
            }
        }
        // Stored already, by this replica or another: acknowledged, not printed again.
        Ok(Recorded::Duplicate) => received.delivered(),
        Err(error) => {
            err_line(&format!(
                "an event was not recorded and was answered 503 (HasData sends it again): {error}"
            ));
        }
    }
    Ok(())
}

/// `text` for a terminal: control characters (a NUL in a job id) escaped, as `\u{0}`.
fn visible(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `hasdata webhook events`: what the replicas recorded, with each job's queue item; or, with
/// `--prune-older-than`, delete the old ones.
pub async fn events(ctx: &Ctx, args: &EventsArgs) -> Result<(), Failure> {
    let Some(table) = events_table(ctx).await? else {
        return Err(Failure::usage(
            "webhook events are recorded in PostgreSQL: give --ledger postgres://USER@HOST/DB (or set HASDATA_LEDGER)",
        ));
    };
    if let Some(age) = args.prune_older_than {
        let pruned = table
            .prune(age)
            .await
            .map_err(|e| Failure::new(code::OTHER, e.to_string()))?;
        ctx.emit(
            || {
                format!(
                    "pruned {pruned} webhook events recorded more than {} s ago (kept those of queue items not done or failed)",
                    age.as_secs()
                )
            },
            serde_json::to_value(WebhookPruneOut {
                pruned,
                older_than_secs: age.as_secs(),
            })
            .unwrap_or_default(),
        );
        return Ok(());
    }
    let filter = EventFilter {
        job_id: args.job_id.clone(),
        unknown_jobs: args.unknown,
        limit: args.limit,
        bodies: args.body,
    };
    let list = table
        .list(&filter)
        .await
        .map_err(|e| Failure::new(code::OTHER, e.to_string()))?;
    for event in list {
        ctx.emit(
            || {
                let mut line = format!(
                    "{}\t{}\tjob {}\t{}\t{}\t{}\t{}",
                    event.received_at,
                    if event.unrecognised && event.event.is_empty() {
                        "(unrecognised)".to_owned()
                    } else {
                        visible(&event.event)
                    },
                    event.job_id.as_deref().map_or_else(|| "-".into(), visible),
                    event
                        .item_id
                        .map_or_else(|| "no item".to_owned(), |id| format!("item {id}")),
                    event
                        .job_status
                        .as_deref()
                        .map_or_else(|| "-".into(), visible),
                    super::count(u64::try_from(event.rows).unwrap_or(0), "row"),
                    event
                        .receiver
                        .as_deref()
                        .map_or_else(|| "-".into(), visible),
                );
                if let Some(body) = &event.body {
                    line.push('\t');
                    line.push_str(&visible(body));
                }
                line
            },
            serde_json::to_value(&event).unwrap_or_default(),
        );
    }
    Ok(())
}

/// The secret header's name and value: `--secret-header NAME:VALUE` (visible in process
/// listings), or `--secret-header-name NAME` with the value from `--secret-file` or
/// HASDATA_WEBHOOK_SECRET.
fn secret_header(args: &ListenArgs) -> Result<(String, String), Failure> {
    if let Some(pair) = &args.secret_header {
        return pair
            .split_once(':')
            .filter(|(name, value)| !name.trim().is_empty() && !value.trim().is_empty())
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .ok_or_else(|| {
                Failure::usage("--secret-header takes NAME:VALUE, e.g. x-hook-secret:s3cret")
            });
    }
    let name = args
        .secret_header_name
        .clone()
        .filter(|name| !name.trim().is_empty())
        .ok_or_else(|| {
            Failure::usage("--secret-header-name NAME (or --secret-header NAME:VALUE) is needed")
        })?;
    let value = match &args.secret_file {
        Some(path) => secret::read_file("--secret-file", path)?,
        None => secret::from_env("HASDATA_WEBHOOK_SECRET").ok_or_else(|| {
            Failure::usage(
                "--secret-header-name needs its value: set HASDATA_WEBHOOK_SECRET or pass --secret-file PATH",
            )
        })?,
    };
    Ok((name, value))
}
