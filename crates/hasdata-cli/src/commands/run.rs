//! `hasdata run`: submit, wait with progress, write the rows.

use std::str::FromStr;
use std::sync::Arc;

use hasdata_model::ScraperKind;

use super::{Signals, lookup, poll_policy, read_body, results, wait};
use crate::args::RunArgs;
use crate::context::Ctx;
use crate::fail::Failure;

pub async fn run(ctx: &Ctx, args: &RunArgs) -> Result<(), Failure> {
    let kind = ScraperKind::from_str(&args.slug).map_err(|e| Failure::usage(e.to_string()))?;
    super::stdout_open(args.output.out.as_deref())?;
    let body = read_body(&args.body)?;
    let warnings = super::check::one(ctx, kind, &body, args.check.mode())?;
    // Only once the body is read: a read of stdin (`--body -`) blocks this thread, and a
    // signal heard then ended nothing (Ctrl-C left `run` hanging on a terminal's stdin); until
    // now nothing is sent, so the default action, death, is right.
    let mut interrupt = Signals::listen();
    let policy = poll_policy(&args.poll)?;
    let ledger = interrupt
        .or(ctx.ledger())
        .await
        .map_err(super::interrupted_opening)??;
    let client = ctx.client(ledger.clone(), args.output.concurrency)?;
    let key = hasdata_jobs::SubmitOptions::fresh_key();
    let options = hasdata_jobs::SubmitOptions {
        origin: Some(super::submit::body_origin(&args.body)),
        idempotency_key: Some(key.clone()),
        ..Default::default()
    };
    let submit = client.submit_raw_with(kind.as_str(), &body, &options);
    let (job, interrupted) =
        super::submit::interruptible(ledger.as_ref(), &key, submit, &mut interrupt).await?;
    let job = job?;
    let id = job.id;
    ctx.note(format!("submitted job {id} ({kind})"));
    let mut submitted = ctx.seen(&job).await;
    submitted.warnings = warnings
        .iter()
        .map(hasdata_cli::output::WarningOut::from)
        .collect();
    results::emit_job(ctx, &args.output, submitted.to_value(), String::new);
    let line = ctx.display.job(format!("job {id}"));
    if let Some(signal) = interrupted {
        return Err(on_interrupt(signal, ctx, &client, args, id, &line, None).await);
    }
    // The wait reads statuses through a client of its own that notes nothing (`follow` notes
    // each in the ledger itself): the client above would note each status inside its call,
    // before `follow` sees it, so a Ctrl-C while that note waits for another process's lock
    // could not know the job had ended, and would call it running (or stop it).
    let watcher = ctx.client(Arc::new(hasdata_jobs::MemoryLedger::new()), 1)?;
    let ended = wait::Ended::default();
    let done = tokio::select! {
        done = wait::follow(&watcher, Some(ledger.as_ref()), id, policy, &line, args.max_credits, &ended) => done?,
        signal = interrupt.wait() => {
            return Err(on_interrupt(signal, ctx, &client, args, id, &line, ended.get()).await);
        }
    };
    line.finish(lookup::summary(&done));
    let exported = results::export(
        &client,
        Some(ledger.as_ref()),
        id,
        results::JobRecord::Known(&done),
        Some(kind),
        results::Target {
            output: &args.output,
            global: &ctx.global,
        },
        false,
    )
    .await?;
    let mut out = ctx.seen(&done).await;
    out.export = Some(exported.to_out(args.output.format));
    results::emit_job(ctx, &args.output, out.to_value(), || {
        format!(
            "{} · {} written to {}",
            lookup::describe(&done),
            super::count(exported.rows, "row"),
            exported.output
        )
    });
    wait::check_outcome(&done)
}

/// A signal (exit `signal`: Ctrl-C 130, SIGTERM 143) once job `id` exists: it is stopped
/// with `--stop-on-interrupt`, else left running; the failure says which and how to get its
/// rows. A job whose end was read already (`ended`: the signal came while that was noted in
/// the ledger) is neither running nor stopped: the failure says how it ended, and no stop is
/// sent.
async fn on_interrupt(
    signal: u8,
    ctx: &Ctx,
    client: &hasdata_jobs::Client,
    args: &RunArgs,
    id: hasdata_model::JobId,
    line: &crate::progress::JobLine,
    ended: Option<&hasdata_model::Job>,
) -> Failure {
    if let Some(job) = ended {
        line.finish("interrupted".into());
        return ended_failure(signal, ctx, args, job);
    }
    if args.stop_on_interrupt {
        line.finish("interrupted; stopping".into());
        let stopped = match client.stop(id).await {
            Ok(stopped) => stopped,
            Err(e) => return Failure::from(e).job(id),
        };
        ctx.seen(&stopped).await;
        if stopped.status.is_terminal() && stopped.status != hasdata_model::JobStatus::Stopped {
            // It ended before the stop reached it.
            return ended_failure(signal, ctx, args, &stopped);
        }
        return Failure::new(
            signal,
            format!(
                "interrupted; job {id} was stopped (its rows so far: `{}`)",
                results::finishing_command(id, &args.output, &ctx.global)
            ),
        )
        .job(id);
    }
    line.finish("interrupted".into());
    Failure::new(
        signal,
        format!(
            "interrupted; job {id} is still running: `{}` finishes this output (`{} jobs resume` collects it into its own directory)",
            results::finishing_command(id, &args.output, &ctx.global),
            crate::context::hasdata()
        ),
    )
    .job(id)
}

/// A signal (exit `signal`) after job `job` ended (see [`on_interrupt`]): how it ended and
/// how to get its rows.
fn ended_failure(signal: u8, ctx: &Ctx, args: &RunArgs, job: &hasdata_model::Job) -> Failure {
    Failure::new(
        signal,
        format!(
            "interrupted; job {id} already ended {status}, but the ledger may not have noted it: `{command}` writes its rows",
            id = job.id,
            status = job.status,
            command = results::finishing_command(job.id, &args.output, &ctx.global)
        ),
    )
    .job(job.id)
}
