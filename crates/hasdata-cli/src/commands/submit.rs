//! `hasdata submit`: one body, or one job per line of a JSONL file.

use std::str::FromStr;
use std::time::Duration;

use futures::StreamExt;
use hasdata_jobs::{Client, Error};
use hasdata_model::{Job, ScraperKind};
use serde_json::{Value, json};

use super::read_body;
use crate::args::SubmitArgs;
use crate::context::Ctx;
use crate::fail::{Failure, code};

/// The longest wait between submits refused with 429.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Submits, waiting out 429 (the concurrency cap): a 429 proves no job was created, so the
/// POST is safe to send again. Anything else is returned as is.
pub async fn submit_waiting_out_429(
    client: &Client,
    slug: &str,
    body: &Value,
) -> Result<Job, Error> {
    let mut delay = Duration::from_secs(1);
    loop {
        match client.submit_raw(slug, body).await {
            Err(Error::Api { source, .. }) if source.status.as_u16() == 429 => {
                let wait = source.retry_after.unwrap_or(delay).min(MAX_BACKOFF);
                tracing::info!(
                    wait_ms = wait.as_millis() as u64,
                    "concurrency cap reached; waiting"
                );
                tokio::time::sleep(wait).await;
                delay = (delay * 2).min(MAX_BACKOFF);
            }
            other => return other,
        }
    }
}

pub async fn run(ctx: &Ctx, args: &SubmitArgs) -> Result<(), Failure> {
    let kind = ScraperKind::from_str(&args.slug).map_err(|e| Failure::usage(e.to_string()))?;
    let ledger = ctx.ledger()?;
    let client = ctx.client(ledger.clone(), 1)?;
    if let Some(path) = &args.bodies {
        return bulk(ctx, &client, &ledger, kind, path, args.concurrency.max(1)).await;
    }
    let body = read_body(args.body.as_deref().unwrap_or("-"))?;
    let job = client.submit_raw(kind.as_str(), &body).await?;
    // The ledger recorded the id before submit_raw returned.
    ctx.emit(
        || job.id.to_string(),
        serde_json::to_value(&job).unwrap_or_default(),
    );
    Ok(())
}

async fn bulk(
    ctx: &Ctx,
    client: &Client,
    ledger: &crate::ledger::SqliteLedger,
    kind: ScraperKind,
    path: &std::path::Path,
    concurrency: usize,
) -> Result<(), Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
    // Every line is checked before any is sent: a typo on line 900 must not leave 899 jobs
    // running and the rest unsent.
    let mut bodies = Vec::new();
    let mut problems = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(body) => match kind.validate_json(&body) {
                Ok(()) => bodies.push((number, body)),
                Err(errors) => problems.push(format!("line {number}: {errors}")),
            },
            Err(e) => problems.push(format!("line {number}: not JSON: {e}")),
        }
    }
    if !problems.is_empty() {
        return Err(Failure::usage(format!(
            "nothing was submitted: {}",
            problems.join("; ")
        )));
    }
    let origin = path.display().to_string();
    let results: Vec<(usize, Result<Job, Error>)> = futures::stream::iter(bodies)
        .map(|(number, body)| async move {
            (
                number,
                submit_waiting_out_429(client, kind.as_str(), &body).await,
            )
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut results = results;
    results.sort_by_key(|(number, _)| *number);
    let mut worst: Option<Failure> = None;
    for (number, result) in results {
        match result {
            Ok(job) => {
                let _ = ledger.set_origin(job.id.get(), &format!("{origin}:{number}"));
                ctx.emit(
                    || format!("line {number}: job {}", job.id),
                    json!({"line": number, "id": job.id}),
                );
            }
            Err(error) => {
                let failure = Failure::from(error);
                ctx.emit(
                    || format!("line {number}: failed: {}", failure.message),
                    json!({"line": number, "error": failure.message, "jobId": failure.job_id}),
                );
                if worst.as_ref().is_none_or(|w| w.code == code::OTHER) {
                    worst = Some(Failure::new(
                        failure.code,
                        format!("line {number} failed: {}", failure.message),
                    ));
                }
            }
        }
    }
    worst.map_or(Ok(()), Err)
}
