//! `hasdata wait`, and the waiting every command that waits shares.

use hasdata_ledger::{JobLedger, JobProgress};
use std::sync::Arc;

use futures::StreamExt;
use hasdata_jobs::{Client, MemoryLedger, PollPolicy};
use hasdata_model::{Job, JobId};

use super::{Signals, lookup, poll_policy};
use crate::args::WaitArgs;
use crate::context::Ctx;
use crate::fail::{Failure, code};
use crate::progress::JobLine;

/// The stop reason `run --max-credits` gives a job it stopped.
pub const MAX_CREDITS_REASON: &str = "max-credits";

/// Follows a job to its end, updating `line` and the ledger. With `max_credits`, the cap is a
/// bound: near it the job is polled at the floor interval, and it is stopped as soon as the
/// spend projected at the next poll would pass the cap; a job stopped so ends with the stop
/// reason "max-credits". Worst case past the cap: the spend of one floor interval (when the
/// rate jumps between two polls) plus the stop's round trip.
///
/// The final record is put in `ended` as soon as it is read, before it is noted in the
/// ledger: noting it may wait for another process's lock, and a caller that drops this
/// future on Ctrl-C meanwhile must say the job ended, not that it is still running (nor
/// stop a job that is over).
pub async fn follow(
    client: &Client,
    ledger: Option<&dyn JobLedger>,
    id: JobId,
    policy: PollPolicy,
    line: &JobLine,
    max_credits: Option<u64>,
    ended: &Ended,
) -> Result<Job, Failure> {
    let mut snapshots = match max_credits {
        Some(max) => client.watch_capped(id, policy, max),
        None => client.watch(id, policy),
    };
    let mut stop_sent = false;
    while let Some(snapshot) = snapshots.next().await {
        let snapshot = snapshot.map_err(|e| Failure::from(e).job(id))?;
        line.update(&snapshot);
        let job = &snapshot.job;
        if snapshot.is_terminal() {
            let mut job = job.clone();
            if stop_sent && job.status == hasdata_model::JobStatus::Stopped {
                job.stop_reason = Some(MAX_CREDITS_REASON.into());
            }
            let _ = ended.0.set(job);
        }
        if let Some(ledger) = ledger {
            let _ = ledger
                .record_progress(
                    id,
                    &JobProgress {
                        status: job.status.as_str().to_owned(),
                        rows: job.rows_reported(),
                        credits: job.credits_reported(),
                    },
                )
                .await;
        }
        if snapshot.is_terminal()
            && let Some(job) = ended.get()
        {
            return Ok(job.clone());
        }
        // A spend that does not read (`"creditsSpent": "-5"`) read as 0, and the bound was
        // never reached however much the job spent: a bound that cannot be checked is held by
        // stopping the job, saying why.
        if let Some(max) = max_credits
            && !stop_sent
            && let Some(sent) = job.unreadable_credits_spent()
        {
            stop_sent = true;
            line.message(format!(
                "creditsSpent is {sent}, not a number of credits, so the spend cannot be held to max {max}; stopping: max-credits"
            ));
            tracing::warn!(job_id = %id, credits_spent = %sent, max, "the job's spend does not read; stopping the job to hold --max-credits");
            client
                .stop(id)
                .await
                .map_err(|e| Failure::from(e).job(id))?;
            continue;
        }
        let spent = job.credits_spent.get();
        let projected = spent as f64
            + snapshot.credits_per_second.unwrap_or(0.0)
                * snapshot.next_poll.unwrap_or_default().as_secs_f64();
        if let Some(max) = max_credits
            && !stop_sent
            && (spent >= max || projected >= max as f64)
        {
            stop_sent = true;
            line.message(format!(
                "spent {spent} credits, {projected:.0} by the next poll (max {max}); stopping: max-credits"
            ));
            tracing::info!(job_id = %id, spent = job.credits_spent.get(), max, "credit limit reached; stopping the job");
            client
                .stop(id)
                .await
                .map_err(|e| Failure::from(e).job(id))?;
        }
    }
    Err(Failure::new(code::OTHER, "the status stream ended early").job(id))
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
        .job(job.id));
    }
    Ok(())
}

/// The job's final record, once [`follow`] has read it (see there).
#[derive(Default)]
pub struct Ended(std::sync::OnceLock<Job>);

impl Ended {
    /// The final record, when the job was seen to end.
    pub fn get(&self) -> Option<&Job> {
        self.0.get()
    }
}

/// The message of a signal (exit `code`: 130 for Ctrl-C, 143 for SIGTERM) while a job runs,
/// or, when its end was read already (`ended`: the signal came while that was being noted in
/// the ledger), that it ended and how.
pub fn interrupted_failure(code: u8, id: JobId, ended: Option<&Job>) -> Failure {
    let hd = crate::context::hasdata();
    let message = match ended {
        Some(job) => format!(
            "interrupted; job {id} already ended {status}, but the ledger may not have noted it: `{hd} wait {id}` notes it",
            status = job.status
        ),
        None => format!(
            "interrupted; job {id} is still running: `{hd} wait {id}` or `{hd} jobs resume` picks it up"
        ),
    };
    Failure::new(code, message).job(id)
}

pub async fn run(ctx: &Ctx, args: &WaitArgs) -> Result<(), Failure> {
    let mut interrupt = Signals::listen();
    let client = ctx.client(Arc::new(MemoryLedger::new()), 1)?;
    let id = args.id;
    let ledger = interrupt
        .or(ctx.reading_ledger())
        .await
        .map_err(|signal| interrupted_failure(signal, id, None))?
        .inspect_err(|failure| {
            ctx.unusable_ledger(
                id,
                failure,
                "the ledger cannot be opened, so the job's status will not be noted in it",
            );
        })
        .ok();
    let policy = poll_policy(&args.poll)?;
    let line = ctx.display.job(format!("job {id}"));
    let ended = Ended::default();
    let job = tokio::select! {
        job = follow(&client, ledger.as_deref(), id, policy, &line, None, &ended) => job?,
        signal = interrupt.wait() => return Err(interrupted_failure(signal, id, ended.get())),
    };
    line.finish(lookup::summary(&job));
    let out = ctx.seen(&job).await;
    ctx.emit(|| lookup::describe(&job), out.to_value());
    check_outcome(&job)
}
