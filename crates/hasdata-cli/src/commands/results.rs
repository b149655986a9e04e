//! `hasdata results`, and the export every command that writes rows shares.

use std::str::FromStr;
use std::sync::Arc;

use futures::StreamExt;
use hasdata_jobs::{Client, MemoryLedger};
use hasdata_model::{JobId, JobStatus, ScraperKind};
use serde_json::{Value, json};

use crate::args::{OutputArgs, ResultsArgs, Source};
use crate::context::Ctx;
use crate::export::{RowWriter, schema_columns};
use crate::fail::Failure;
use crate::ledger::SqliteLedger;

/// Where the rows went.
pub struct Exported {
    pub rows: u64,
    pub output: String,
}

/// Streams a job's rows into the output the flags describe, in constant memory. `known` is
/// the job's status when the caller already has it (a wait just ended): `--source auto` then
/// needs no status call of its own.
pub async fn export(
    client: &Client,
    ledger: Option<&SqliteLedger>,
    id: JobId,
    known: Option<&JobStatus>,
    scraper: Option<ScraperKind>,
    output: &OutputArgs,
) -> Result<Exported, Failure> {
    let rows = match output.source {
        Source::Pages => client.results_raw(id),
        Source::File => client.download_raw(id),
        Source::Auto => {
            let status = match known {
                Some(status) => status.clone(),
                None => {
                    client
                        .status(id)
                        .await
                        .map_err(|e| Failure::from(e).job(id.get()))?
                        .status
                }
            };
            if status == JobStatus::Finished {
                client.download_raw(id)
            } else {
                client.results_raw(id)
            }
        }
    };
    let columns = scraper.map(schema_columns).unwrap_or_default();
    let mut writer = RowWriter::create(output.format, output.out.as_deref(), columns)?;
    let mut rows = rows;
    while let Some(row) = rows.next().await {
        let row: Value = row.map_err(|e| Failure::from(e).job(id.get()))?;
        writer.write(&row)?;
    }
    let count = writer.rows();
    let written = writer.finish()?;
    if let Some(ledger) = ledger
        && output.out.is_some()
    {
        let _ = ledger.set_collected(id.get(), &written);
    }
    Ok(Exported {
        rows: count,
        output: written,
    })
}

pub async fn run(ctx: &Ctx, args: &ResultsArgs) -> Result<(), Failure> {
    let client = ctx.client(Arc::new(MemoryLedger::new()), args.output.concurrency)?;
    let ledger = ctx.ledger().ok();
    let id = JobId(args.id);
    let scraper = ledger
        .as_ref()
        .and_then(|l| l.get(args.id).ok().flatten())
        .and_then(|entry| ScraperKind::from_str(&entry.scraper).ok());
    let exported = export(&client, ledger.as_deref(), id, None, scraper, &args.output).await?;
    if args.output.out.is_some() {
        ctx.emit(
            || {
                format!(
                    "job {id}: {} rows written to {}",
                    exported.rows, exported.output
                )
            },
            json!({"jobId": id, "rows": exported.rows, "output": exported.output}),
        );
    }
    Ok(())
}
