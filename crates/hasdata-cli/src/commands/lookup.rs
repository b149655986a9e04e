//! `hasdata status` and `hasdata stop`.

use std::sync::Arc;

use hasdata_jobs::MemoryLedger;
use hasdata_model::Job;

use crate::args::JobArg;
use crate::context::Ctx;
use crate::fail::Failure;

/// One line about a job.
pub fn describe(job: &Job) -> String {
    format!("job {}: {}", job.id, summary(job))
}

/// A job's state without its id (for lines already labelled with it).
pub fn summary(job: &Job) -> String {
    let mut line = format!(
        "{} · {} · {}",
        job.status,
        super::rows_of(job),
        super::credits_of(job)
    );
    if let Some(reason) = &job.stop_reason {
        line.push_str(&format!(" · stop reason {reason}"));
    }
    if job.data.as_ref().and_then(|d| d.json.as_ref()).is_some() {
        line.push_str(" · files ready");
    }
    line
}

/// Notes the job's state in the ledger (when it is there) and prints it.
async fn report(ctx: &Ctx, job: &Job) {
    let out = ctx.seen(job).await;
    ctx.emit(|| describe(job), out.to_value());
}

pub async fn status(ctx: &Ctx, args: &JobArg) -> Result<(), Failure> {
    let client = ctx.client(Arc::new(MemoryLedger::new()), 1)?;
    let job = client.status(args.id).await?;
    report(ctx, &job).await;
    Ok(())
}

pub async fn stop(ctx: &Ctx, args: &JobArg) -> Result<(), Failure> {
    let client = ctx.client(Arc::new(MemoryLedger::new()), 1)?;
    let job = client.stop(args.id).await?;
    report(ctx, &job).await;
    Ok(())
}
