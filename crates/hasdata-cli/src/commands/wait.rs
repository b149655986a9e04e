//! `hasdata wait`, and the waiting every command that waits shares.

use std::sync::Arc;

use futures::StreamExt;
use hasdata_jobs::{Client, MemoryLedger, PollPolicy};
use hasdata_model::{Job, JobId};

use super::{Interrupt, lookup, poll_policy};
use crate::args::WaitArgs;
use crate::context::Ctx;
use crate::fail::{Failure, code};
use crate::ledger::SqliteLedger;
use crate::progress::JobLine;

/// Follows a job to its end, updating `line` and the ledger. With `max_credits`, stops the job
/// once it has spent that much.
pub async fn follow(
    client: &Client,
    ledger: Option<&SqliteLedger>,
    id: JobId,
    policy: PollPolicy,
    line: &JobLine,
    max_credits: Option<u64>,
) -> Result<Job, Failure> {
    let mut snapshots = client.watch(id, policy);
    let mut stop_sent = false;
    while let Some(snapshot) = snapshots.next().await {
        let snapshot = snapshot.map_err(|e| Failure::from(e).job(id.get()))?;
        line.update(&snapshot);
        let job = &snapshot.job;
        if let Some(ledger) = ledger {
            let _ = ledger.set_status(
                id.get(),
                job.status.as_str(),
                job.data_rows_count.get(),
                job.credits_spent.get(),
            );
        }
        if snapshot.is_terminal() {
            return Ok(snapshot.job);
        }
        if let Some(max) = max_credits
            && !stop_sent
            && job.credits_spent.get() >= max
        {
            stop_sent = true;
            line.message(format!(
                "spent {} credits (max {max}); stopping",
                job.credits_spent
            ));
            tracing::info!(job_id = %id, spent = job.credits_spent.get(), max, "credit limit reached; stopping the job");
            client
                .stop(id)
                .await
                .map_err(|e| Failure::from(e).job(id.get()))?;
        }
    }
    Err(Failure::new(code::OTHER, "the status stream ended early").job(id.get()))
}

/// A job that ended stopped or with an error is a failure (exit 4), after its rows are kept.
pub fn check_outcome(job: &Job) -> Result<(), Failure> {
    if job.status.is_unsuccessful() {
        let reason = job
            .stop_reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        return Err(Failure::new(
            code::JOB_FAILED,
            format!("job {} ended {}{reason}", job.id, job.status),
        )
        .job(job.id.get()));
    }
    Ok(())
}

/// The message and exit code of a Ctrl-C while a job runs.
pub fn interrupted_failure(id: JobId) -> Failure {
    Failure::new(
        code::INTERRUPTED,
        format!("interrupted; job {id} is still running: `hasdata wait {id}` or `hasdata jobs resume` picks it up"),
    )
    .job(id.get())
}

pub async fn run(ctx: &Ctx, args: &WaitArgs) -> Result<(), Failure> {
    let mut interrupt = Interrupt::listen();
    let client = ctx.client(Arc::new(MemoryLedger::new()), 1)?;
    let ledger = ctx.ledger().ok();
    let id = JobId(args.id);
    let policy = poll_policy(&args.poll)?;
    let line = ctx.display.job(format!("job {id}"));
    let job = tokio::select! {
        job = follow(&client, ledger.as_deref(), id, policy, &line, None) => job?,
        () = interrupt.wait() => return Err(interrupted_failure(id)),
    };
    line.finish(lookup::summary(&job));
    ctx.emit(
        || lookup::describe(&job),
        serde_json::to_value(&job).unwrap_or_default(),
    );
    check_outcome(&job)
}
