//! `hasdata queue ...` and `hasdata worker`: thin over hasdata-fleet. The queue and the ledger
//! share one PostgreSQL database, named by `--ledger postgres://...` (or `HASDATA_LEDGER`).

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use hasdata_fleet::{
    ItemState, JsonlSink, NewItem, PgSink, Queue, Resolution, Sink, Worker, WorkerConfig,
};
use hasdata_jobs::{JobLedger, Submitted};
use hasdata_ledger::{PostgresLedger, SentJobId};
use hasdata_model::ScraperKind;
use serde_json::json;

use crate::args::{
    QueueAddArgs, QueueCapArgs, QueueListArgs, QueueResolveArgs, SinkKind, WorkerArgs,
};
use crate::context::Ctx;
use crate::fail::{Failure, code};
use hasdata_cli::output::{
    LineWarningsOut, QueueAddOut, QueueCountsOut, QueueStatusOut, WarningOut, WorkerReportOut,
};

/// Connections a worker's pool keeps: its claims, heartbeats, state changes and ledger writes
/// are short statements, so a few serve many items.
const POOL_SIZE: usize = 6;

fn fleet_failure(error: hasdata_fleet::FleetError) -> Failure {
    match error {
        hasdata_fleet::FleetError::Config(message) => Failure::usage(message),
        taken @ hasdata_fleet::FleetError::JobTaken { .. } => Failure::usage(taken.to_string()),
        other => Failure::new(code::OTHER, other.to_string()),
    }
}

/// The pool on `--ledger` / `HASDATA_LEDGER`, which must be a `postgres://` URL (parsed and
/// refused exactly as every ledger command parses and refuses it).
fn database_pool(ctx: &Ctx) -> Result<hasdata_ledger::postgres::Pool, Failure> {
    let location = crate::ledger::location(ctx.global.ledger.as_deref())?;
    match &location {
        hasdata_ledger::Location::Postgres(url) => {
            hasdata_ledger::postgres::pool_of_size(url, POOL_SIZE)
                .map_err(|e| crate::ledger::open_failure(&location, e))
        }
        hasdata_ledger::Location::Sqlite(_) => Err(Failure::usage(
            "the queue lives in PostgreSQL: give --ledger postgres://USER@HOST/DB (or set HASDATA_LEDGER)",
        )),
    }
}

async fn open(ctx: &Ctx) -> Result<(Queue, Arc<PostgresLedger>), Failure> {
    let pool = database_pool(ctx)?;
    let queue = Queue::from_pool(pool.clone())
        .await
        .map_err(fleet_failure)?;
    let ledger = PostgresLedger::from_pool(pool, &ctx.global.base_url).await?;
    Ok((queue, Arc::new(ledger)))
}

/// `hasdata queue add SLUG --bodies FILE.jsonl`: every line checked by the path `submit
/// --bodies` uses (`commands::check`: the same rules, `--strict`/`--no-validate`, problems
/// named `line N`, warnings on stderr and under `warnings` in `--json`) before any is added.
pub async fn add(ctx: &Ctx, args: &QueueAddArgs) -> Result<(), Failure> {
    let kind = ScraperKind::from_str(&args.slug).map_err(|e| Failure::usage(e.to_string()))?;
    let path = std::path::Path::new(&args.bodies);
    let lines = super::check::read_lines(ctx, kind, path, args.check.mode(), "queued")?;
    if !args.allow_header_secrets {
        refuse_header_secrets(&lines)?;
    }
    let source = if args.bodies == "-" {
        "stdin".to_owned()
    } else {
        super::absolute(&args.bodies)
    };
    let warnings: Vec<LineWarningsOut> = lines
        .iter()
        .filter(|line| !line.warnings.is_empty())
        .map(|line| LineWarningsOut {
            line: line.number,
            warnings: line.warnings.iter().map(WarningOut::from).collect(),
        })
        .collect();
    let items: Vec<NewItem> = lines
        .into_iter()
        .map(|line| NewItem {
            slug: kind.as_str().to_owned(),
            body: line.body,
            origin: Some(format!("{source}:{}", line.number)),
        })
        .collect();
    let (queue, _) = open(ctx).await?;
    let report = queue.add(&items).await.map_err(fleet_failure)?;
    let out = QueueAddOut {
        added: report.added,
        duplicates: report.duplicates,
        warnings,
    };
    ctx.emit(
        || {
            format!(
                "added {}, {} already queued",
                super::count(report.added, "item"),
                report.duplicates
            )
        },
        serde_json::to_value(&out).unwrap_or_default(),
    );
    Ok(())
}

/// Refuses lines whose `webhook.headers` carry values: the queue stores each body as written
/// (`fleet_items.body`, read by every worker), so a header value there is a secret at rest in
/// a shared database, readable by anyone who can read the queue. The ledger redacts its own
/// copy, but the queue's must stay sendable. The workers can add the webhook instead, so the
/// secret stays in their environment. The message names lines and fields, never values.
fn refuse_header_secrets(lines: &[super::check::Line]) -> Result<(), Failure> {
    let mut named = Vec::new();
    for line in lines {
        let mut copy = line.body.clone();
        if hasdata_ledger::redact_body(&mut copy) {
            let field = if line.body.pointer("/webhook/headers").is_some() {
                "webhook.headers"
            } else {
                "input.webhook.headers"
            };
            named.push(format!("line {}: {field}", line.number));
        }
    }
    if named.is_empty() {
        return Ok(());
    }
    let shown = named.len().min(5);
    let more = if named.len() > shown {
        format!(" (and {} more lines)", named.len() - shown)
    } else {
        String::new()
    };
    Err(Failure::usage(format!(
        "nothing was queued: {}{more} carries webhook header values, secrets the queue would keep in its database as written. \
         Queue the bodies without them and let the workers add the webhook (`{} worker --webhook-url URL \
         --webhook-secret-header-name NAME`, the secret from --webhook-secret-file or HASDATA_WEBHOOK_SECRET), \
         or pass --allow-header-secrets to store them anyway",
        named[..shown].join(", "),
        crate::context::hasdata()
    )))
}

/// `hasdata queue status`.
pub async fn status(ctx: &Ctx) -> Result<(), Failure> {
    let (queue, ledger) = open(ctx).await?;
    // Parked items whose outcome the ledger has learned since are shown where they are now.
    queue
        .recheck_parked(ledger.as_ref())
        .await
        .map_err(fleet_failure)?;
    let status = queue.status().await.map_err(fleet_failure)?;
    ctx.emit(
        || {
            let mut text = String::new();
            for (state, count) in &status.counts {
                text.push_str(&format!("{:<11} {count}\n", state.as_str()));
            }
            text.push_str(&format!("{:<11} {}\n", "total", status.total));
            text.push_str(&format!("running cap {}", status.max_running));
            let parked = status.counts.get(&ItemState::Parked).copied().unwrap_or(0);
            if parked > 0 {
                text.push_str(&format!(
                    " ({parked} held by parked items: their jobs may be running; `{} queue resolve` frees them)",
                    crate::context::hasdata()
                ));
            }
            text
        },
        serde_json::to_value(status_out(&status)).unwrap_or_default(),
    );
    Ok(())
}

/// `queue status --json`: the schema's shape (`cli.queue-status`).
fn status_out(status: &hasdata_fleet::QueueStatus) -> QueueStatusOut {
    let count = |state| status.counts.get(&state).copied().unwrap_or(0);
    QueueStatusOut {
        counts: QueueCountsOut {
            queued: count(ItemState::Queued),
            submitting: count(ItemState::Submitting),
            running: count(ItemState::Running),
            collecting: count(ItemState::Collecting),
            done: count(ItemState::Done),
            parked: count(ItemState::Parked),
            failed: count(ItemState::Failed),
        },
        total: status.total,
        max_running: status.max_running,
    }
}

/// `hasdata queue list`.
pub async fn list(ctx: &Ctx, args: &QueueListArgs) -> Result<(), Failure> {
    let state = match &args.state {
        Some(name) => Some(ItemState::parse(name).ok_or_else(|| {
            Failure::usage(format!(
                "--state {name}: expected one of queued, submitting, running, collecting, done, parked, failed"
            ))
        })?),
        None => None,
    };
    let (queue, ledger) = open(ctx).await?;
    queue
        .recheck_parked(ledger.as_ref())
        .await
        .map_err(fleet_failure)?;
    for item in queue
        .list(state, i64::try_from(args.limit).unwrap_or(i64::MAX))
        .await
        .map_err(fleet_failure)?
    {
        ctx.emit(
            || {
                format!(
                    "{}\t{}\t{}\tjob {}\t{}",
                    item.id,
                    item.state,
                    item.slug,
                    item.job_id.as_deref().unwrap_or("-"),
                    item.detail
                        .as_deref()
                        .or(item.output.as_deref())
                        .unwrap_or("")
                )
            },
            serde_json::to_value(&item).unwrap_or_default(),
        );
    }
    Ok(())
}

/// `hasdata queue cap N`.
pub async fn cap(ctx: &Ctx, args: &QueueCapArgs) -> Result<(), Failure> {
    let (queue, _) = open(ctx).await?;
    queue
        .set_max_running(args.max_running)
        .await
        .map_err(fleet_failure)?;
    ctx.emit(
        || format!("running cap {}", args.max_running),
        json!({"maxRunning": args.max_running}),
    );
    Ok(())
}

/// `hasdata queue resolve ITEM --job-id ID | --not-created`: the queue moves on, and the
/// ledger's unresolved intent is settled the same way.
pub async fn resolve(ctx: &Ctx, args: &QueueResolveArgs) -> Result<(), Failure> {
    let resolution = match &args.job_id {
        Some(id) => Resolution::Created(id.clone()),
        None => Resolution::NotCreated,
    };
    if let Some(id) = &args.job_id {
        job_exists(ctx, id).await?;
    }
    let (queue, ledger) = open(ctx).await?;
    let Some(key) = queue
        .resolve(args.item, &resolution)
        .await
        .map_err(fleet_failure)?
    else {
        // Say what the item is instead, or that there is none.
        let why = match queue.state_of(args.item).await.map_err(fleet_failure)? {
            Some(state) => format!("item {} is {state}, not parked: nothing changed", args.item),
            None => format!("the queue has no item {}", args.item),
        };
        return Err(Failure::usage(why));
    };
    if let Some(key) = key {
        let settled = match &resolution {
            Resolution::Created(id) => {
                let sent = match id.parse::<u64>() {
                    Ok(n) => SentJobId::Number(n.into()),
                    Err(_) => SentJobId::Text(id.clone()),
                };
                ledger
                    .record_submitted(
                        &key,
                        &Submitted {
                            id: sent,
                            status: None,
                            record: json!({"id": id, "resolvedBy": "hasdata queue resolve"}),
                        },
                    )
                    .await
            }
            Resolution::NotCreated => {
                ledger
                    .record_refused(
                        &key,
                        "a person confirmed no job was created (hasdata queue resolve)",
                    )
                    .await
            }
        };
        if let Err(error) = settled {
            ctx.note(format!(
                "the ledger's intent {key} was not settled: {error}"
            ));
        }
    }
    ctx.emit(
        || match &resolution {
            Resolution::Created(id) => format!("item {}: collecting job {id}", args.item),
            Resolution::NotCreated => format!("item {}: queued again", args.item),
        },
        json!({"item": args.item, "resolved": match &resolution {
            Resolution::Created(_) => "created",
            Resolution::NotCreated => "notCreated",
        }, "jobId": args.job_id}),
    );
    Ok(())
}

/// Asks the API for job `id` once before a person's `--job-id` is recorded: a mistyped id
/// would move the item to `running` and settle the ledger's intent with a job that does not
/// exist, and the worker that collects it would fail on a 404 with the item's real job lost
/// from view. A 404 is exit 1 naming the id; any other failure to ask is the call's own exit
/// code (6 after retries); either way nothing is changed.
async fn job_exists(ctx: &Ctx, id: &str) -> Result<(), Failure> {
    let job_id: hasdata_model::JobId = id
        .parse()
        .map_err(|_| Failure::usage(format!("--job-id {id} is not a job id")))?;
    let client = ctx.client(Arc::new(hasdata_jobs::MemoryLedger::new()), 1)?;
    match client.status(job_id).await {
        Ok(_) => Ok(()),
        Err(hasdata_jobs::Error::Api { source, .. }) if source.status.as_u16() == 404 => {
            Err(Failure::new(
                code::OTHER,
                format!(
                    "--job-id {id}: the API has no such job (404): nothing was changed; check the id on the HasData dashboard"
                ),
            ))
        }
        Err(error) => {
            let failure = Failure::from(error);
            Err(Failure::new(
                failure.code,
                format!(
                    "--job-id {id} could not be checked: {}: nothing was changed",
                    failure.message
                ),
            ))
        }
    }
}

/// `--out-dir`, which the file sinks need, made absolute: the queue and the ledger store where
/// each job's rows went, and `queue list` or `jobs list` read from another directory (or
/// another machine's shell) must still say where they are.
fn out_dir(args: &WorkerArgs, sink: &str) -> Result<std::path::PathBuf, Failure> {
    let dir = args
        .out_dir
        .as_deref()
        .ok_or_else(|| Failure::usage(format!("--sink {sink} writes files: give --out-dir DIR")))?;
    super::writable_dir("--out-dir", dir)
}

async fn sink(args: &WorkerArgs, ledger: &PostgresLedger) -> Result<Arc<dyn Sink>, Failure> {
    Ok(match args.sink {
        SinkKind::Jsonl => {
            Arc::new(JsonlSink::new(out_dir(args, "jsonl")?).map_err(fleet_failure)?)
        }
        SinkKind::Parquet => Arc::new(
            hasdata_fleet::parquet::ParquetSink::new(out_dir(args, "parquet")?)
                .map_err(fleet_failure)?,
        ),
        // The same database and pool as the queue and the ledger.
        SinkKind::Postgres => Arc::new(
            PgSink::new(ledger.pool().clone(), &args.sink_table)
                .await
                .map_err(fleet_failure)?,
        ),
    })
}

/// `hasdata worker`: runs until SIGTERM or Ctrl-C (then hands its leases back), or with
/// `--exit-when-idle` until nothing is left.
pub async fn worker(ctx: &Ctx, args: &WorkerArgs) -> Result<(), Failure> {
    // The sink's directory first: a file in its place is a usage error, before any connection.
    match args.sink {
        SinkKind::Jsonl => drop(out_dir(args, "jsonl")?),
        SinkKind::Parquet => drop(out_dir(args, "parquet")?),
        SinkKind::Postgres => {}
    }
    let (queue, ledger) = open(ctx).await?;
    let sink = sink(args, &ledger).await?;
    let client = ctx.client(ledger, 4)?;
    let config = WorkerConfig {
        lease: Duration::from_secs_f64(args.lease),
        concurrency: args.concurrency,
        idle_poll: Duration::from_secs_f64(args.idle_poll),
        poll: super::poll_policy(&args.poll)?,
        retry_delay: Duration::from_secs_f64(args.retry_delay),
        exit_when_idle: args.exit_when_idle,
        webhook: submit_webhook(args)?,
        ..WorkerConfig::new()
    };
    let into = match args.sink {
        SinkKind::Jsonl => out_dir(args, "jsonl")?.display().to_string(),
        SinkKind::Parquet => out_dir(args, "parquet")?.display().to_string(),
        SinkKind::Postgres => format!("table {}", args.sink_table),
    };
    ctx.note(format!(
        "worker {} draining the queue into {into} ({})",
        config.worker_id,
        sink.name()
    ));
    let left_behind = queue.clone();
    let exit_when_idle = config.exit_when_idle;
    let mut worker = Worker::new(queue, client, sink, config);
    // Waits end early on terminal events `hasdata webhook listen` replicas record in the same
    // database (one extra connection, LISTENing); without receivers, nothing changes.
    if let hasdata_ledger::Location::Postgres(url) =
        crate::ledger::location(ctx.global.ledger.as_deref())?
    {
        worker = worker
            .with_webhook_events(hasdata_fleet::EventSignals::listen(&url).map_err(fleet_failure)?);
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let signalled = stopped.clone();
    let signals = tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let report = worker.run(stopped).await;
    signals.abort();
    let report = report.map_err(fleet_failure)?;
    ctx.emit(
        || {
            format!(
                "claimed {}, submitted {}, done {}, parked {}, failed {}, {}",
                report.claimed,
                report.submitted,
                report.done,
                report.parked,
                report.failed,
                super::count(report.rows, "row")
            )
        },
        serde_json::to_value(WorkerReportOut {
            claimed: report.claimed,
            submitted: report.submitted,
            done: report.done,
            parked: report.parked,
            failed: report.failed,
            rows: report.rows,
        })
        .unwrap_or_default(),
    );
    if exit_when_idle && !*signalled.borrow() {
        undrained(&left_behind).await?;
    }
    Ok(())
}

/// After `--exit-when-idle`: the queue is drained, or an error (exit 7) saying what is left.
/// A worker exits idle when nothing more can move without a person (parked items, and the
/// queued items they keep from the cap); `worker --exit-when-idle && load-the-rows` must not
/// go on as if every body's rows were there.
async fn undrained(queue: &hasdata_fleet::Queue) -> Result<(), Failure> {
    let status = queue.status().await.map_err(fleet_failure)?;
    let count = |state| status.counts.get(&state).copied().unwrap_or(0);
    let (queued, parked) = (count(ItemState::Queued), count(ItemState::Parked));
    if queued + parked == 0 {
        return Ok(());
    }
    Err(Failure::new(
        code::INCOMPLETE,
        format!(
            "the queue is not drained: {} parked (a person decides: `{hd} queue list --state parked`, then `{hd} queue resolve`), {} queued behind them (parked items hold {} of the {} running slots)",
            count_items(parked),
            count_items(queued),
            parked.min(u64::from(status.max_running)),
            status.max_running,
            hd = crate::context::hasdata(),
        ),
    ))
}

fn count_items(n: u64) -> String {
    super::count(n, "item")
}

/// `--webhook-url` with its header and secret (from `--webhook-secret-file` or
/// HASDATA_WEBHOOK_SECRET, never the command line).
fn submit_webhook(args: &WorkerArgs) -> Result<Option<hasdata_fleet::SubmitWebhook>, Failure> {
    let (Some(url), Some(header)) = (&args.webhook_url, &args.webhook_secret_header_name) else {
        return Ok(None);
    };
    if http::HeaderName::try_from(header.trim()).is_err() {
        return Err(Failure::usage(format!(
            "--webhook-secret-header-name {header:?} is not a header name"
        )));
    }
    let secret = match &args.webhook_secret_file {
        Some(path) => crate::secret::read_file("--webhook-secret-file", path)?,
        None => crate::secret::from_env("HASDATA_WEBHOOK_SECRET")
            .filter(|secret| !secret.is_empty())
            .ok_or_else(|| {
                Failure::usage(
                    "--webhook-url needs its secret: set HASDATA_WEBHOOK_SECRET or pass --webhook-secret-file PATH",
                )
            })?,
    };
    let events: Vec<String> = args
        .webhook_events
        .iter()
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty())
        .collect();
    if events.is_empty() {
        return Err(Failure::usage(
            "--webhook-events names at least one event (scraper.job.finished ends waits)",
        ));
    }
    Ok(Some(hasdata_fleet::SubmitWebhook {
        url: url.clone(),
        events,
        header: header.trim().to_owned(),
        secret: secret.into(),
    }))
}

/// SIGTERM (how service managers stop a process) or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
