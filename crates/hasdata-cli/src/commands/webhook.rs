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

use hasdata_fleet::{EventFilter, Queue, Recorded, WebhookEvents};
use hasdata_jobs::webhooks::{ReceivedEvent, ReceiverConfig, WebhookReceiver};
use hasdata_ledger::Location;
use http::HeaderName;
use tokio::task::JoinSet;

use super::Interrupt;
use crate::args::{EventsArgs, ListenArgs};
use crate::context::{Ctx, err_line};
use crate::fail::{Failure, code};
use crate::secret;

/// Connections a listener keeps: events are recorded this many at a time.
const POOL_SIZE: usize = 8;

/// The queue database's events table when `--ledger` is a PostgreSQL URL; `None` for a
/// SQLite ledger (events are printed only, as without a database).
async fn events_table(ctx: &Ctx) -> Result<Option<WebhookEvents>, Failure> {
    let location = crate::ledger::location(ctx.global.ledger.as_deref());
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

/// Writes one event's line on stdout.
fn print_event(received: &ReceivedEvent) -> std::io::Result<()> {
    let line = serde_json::to_string(&received.event).unwrap_or_default();
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
    let mut interrupt = Interrupt::listen();
    let (name, value) = secret_header(args)?;
    let header = HeaderName::try_from(name.trim())
        .map_err(|_| Failure::usage(format!("{name:?} is not a header name")))?;
    let config = ReceiverConfig {
        path: args.path.clone(),
        confirm: true,
        ..ReceiverConfig::new(
            SocketAddr::from(([127, 0, 0, 1], args.port)),
            header,
            value.trim().to_owned(),
        )
    };
    let table = events_table(ctx).await?;
    let mut receiver = WebhookReceiver::bind(config).await?;
    ctx.note(format!(
        "listening on {} (put an HTTPS proxy in front for HasData){}",
        receiver.url(),
        if table.is_some() {
            "; recording events in the queue's database"
        } else {
            ""
        }
    ));
    if let Some(table) = table {
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
            () = interrupt.wait() => return Ok(()),
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
    interrupt: &mut Interrupt,
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
            () = interrupt.wait() => return Ok(()),
        }
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

/// `hasdata webhook events`: what the replicas recorded, with each job's queue item.
pub async fn events(ctx: &Ctx, args: &EventsArgs) -> Result<(), Failure> {
    let Some(table) = events_table(ctx).await? else {
        return Err(Failure::usage(
            "webhook events are recorded in PostgreSQL: give --ledger postgres://USER@HOST/DB (or set HASDATA_LEDGER)",
        ));
    };
    let filter = EventFilter {
        job_id: args.job_id.clone(),
        unknown_jobs: args.unknown,
        limit: args.limit,
    };
    let list = table
        .list(&filter)
        .await
        .map_err(|e| Failure::new(code::OTHER, e.to_string()))?;
    for event in list {
        ctx.emit(
            || {
                format!(
                    "{}\t{}\tjob {}\t{}\t{}\t{} rows\t{}",
                    event.received_at,
                    event.event,
                    event.job_id.as_deref().unwrap_or("-"),
                    event
                        .item_id
                        .map_or_else(|| "no item".to_owned(), |id| format!("item {id}")),
                    event.job_status.as_deref().unwrap_or("-"),
                    event.rows,
                    event.receiver.as_deref().unwrap_or("-"),
                )
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
