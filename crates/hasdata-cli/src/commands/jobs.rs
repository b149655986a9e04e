//! `hasdata jobs list|show|resume`: the ledger.

use std::str::FromStr;

use hasdata_model::{JobId, ScraperKind};
use serde_json::json;

use super::{Interrupt, lookup, poll_policy, results, wait};
use crate::args::{Format, JobArg, OutputArgs, ResumeArgs, Source};
use crate::context::Ctx;
use crate::fail::{Failure, code};
use crate::ledger::Entry;

fn line(entry: &Entry) -> String {
    format!(
        "{:<10} {:<24} {:<20} {:>8} rows  {}  {}",
        entry.id,
        entry.scraper,
        entry.status.as_deref().unwrap_or("?"),
        entry.rows.unwrap_or(0),
        entry.submitted_at,
        entry
            .output
            .as_deref()
            .map_or("not collected".to_owned(), |o| format!("-> {o}")),
    )
}

pub fn list(ctx: &Ctx) -> Result<(), Failure> {
    for entry in ctx.ledger()?.list()? {
        ctx.emit(|| line(&entry), entry.to_json());
    }
    Ok(())
}

pub fn show(ctx: &Ctx, args: &JobArg) -> Result<(), Failure> {
    let entry = ctx.ledger()?.get(args.id)?.ok_or_else(|| {
        Failure::new(code::OTHER, format!("job {} is not in the ledger", args.id))
    })?;
    ctx.emit(
        || serde_json::to_string_pretty(&entry.to_json()).unwrap_or_default(),
        entry.to_json(),
    );
    Ok(())
}

fn extension(format: Format) -> &'static str {
    match format {
        Format::Jsonl => "jsonl",
        Format::Json => "json",
        Format::Csv => "csv",
    }
}

/// Waits for and collects every job the ledger has not collected yet. Submits nothing.
pub async fn resume(ctx: &Ctx, args: &ResumeArgs) -> Result<(), Failure> {
    let mut interrupt = Interrupt::listen();
    let ledger = ctx.ledger()?;
    let client = ctx.client(ledger.clone(), 4)?;
    let policy = poll_policy(&args.poll)?;
    let pending = ledger.uncollected()?;
    if pending.is_empty() {
        ctx.note("nothing to resume: every job in the ledger was collected");
        return Ok(());
    }
    let mut failures = 0;
    for entry in pending {
        let id = JobId(entry.id);
        let kind = ScraperKind::from_str(&entry.scraper).ok();
        let line = ctx.display.job(format!("job {id}"));
        let done = tokio::select! {
            done = wait::follow(&client, Some(&ledger), id, policy.clone(), &line, None) => done,
            () = interrupt.wait() => return Err(wait::interrupted_failure(id)),
        };
        let done = match done {
            Ok(done) => done,
            Err(failure) => {
                failures += 1;
                ctx.emit(
                    || format!("job {id}: {}", failure.message),
                    json!({"jobId": id, "error": failure.message}),
                );
                continue;
            }
        };
        line.finish(lookup::summary(&done));
        let output = OutputArgs {
            format: args.format,
            out: Some(args.dir.join(format!("{id}.{}", extension(args.format)))),
            source: Source::Auto,
            concurrency: 4,
        };
        let exported = results::export(
            &client,
            Some(&ledger),
            id,
            Some(&done),
            kind,
            &output,
            false,
        )
        .await?;
        ctx.emit(
            || format!("{} · {} rows written to {}", lookup::describe(&done), exported.rows, exported.output),
            json!({"jobId": id, "status": done.status.as_str(), "rows": exported.rows, "output": exported.output}),
        );
    }
    if failures > 0 {
        return Err(Failure::new(
            code::OTHER,
            format!("{failures} job(s) could not be collected; run `hasdata jobs resume` again"),
        ));
    }
    Ok(())
}
