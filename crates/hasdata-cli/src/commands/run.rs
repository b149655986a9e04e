//! `hasdata run`: submit, wait with progress, write the rows.

use std::str::FromStr;

use hasdata_model::ScraperKind;

use super::{Interrupt, lookup, poll_policy, read_body, results, wait};
use crate::args::RunArgs;
use crate::context::Ctx;
use crate::fail::Failure;

pub async fn run(ctx: &Ctx, args: &RunArgs) -> Result<(), Failure> {
    let mut interrupt = Interrupt::listen();
    let kind = ScraperKind::from_str(&args.slug).map_err(|e| Failure::usage(e.to_string()))?;
    let body = read_body(&args.body)?;
    let warnings = super::check::one(ctx, kind, &body, args.check.mode())?;
    let policy = poll_policy(&args.poll)?;
    let ledger = ctx.ledger()?;
    let client = ctx.client(ledger.clone(), args.output.concurrency)?;
    let job = client
        .submit_raw_with(
            kind.as_str(),
            &body,
            &hasdata_jobs::SubmitOptions {
                origin: Some(super::submit::body_origin(&args.body)),
                ..Default::default()
            },
        )
        .await?;
    let id = job.id;
    ctx.note(format!("submitted job {id} ({kind})"));
    let mut submitted = ctx.seen(&job).await;
    submitted.warnings = warnings
        .iter()
        .map(hasdata_cli::output::WarningOut::from)
        .collect();
    results::emit_job(ctx, &args.output, submitted.to_value(), String::new);
    let line = ctx.display.job(format!("job {id}"));
    let done = tokio::select! {
        done = wait::follow(&client, Some(ledger.as_ref()), id, policy, &line, args.max_credits) => done?,
        () = interrupt.wait() => {
            if args.stop_on_interrupt {
                line.finish("interrupted; stopping".into());
                let stopped = client.stop(id).await.map_err(|e| Failure::from(e).job(id))?;
                ctx.seen(&stopped).await;
                return Err(Failure::new(
                    crate::fail::code::INTERRUPTED,
                    format!(
                        "interrupted; job {id} was stopped (its rows so far: `{}`)",
                        results::finishing_command(id, &args.output, &ctx.global)
                    ),
                )
                .job(id));
            }
            line.finish("interrupted".into());
            return Err(Failure::new(
                crate::fail::code::INTERRUPTED,
                format!(
                    "interrupted; job {id} is still running: `{}` finishes this output (`{} jobs resume` collects it into its own directory)",
                    results::finishing_command(id, &args.output, &ctx.global),
                    crate::context::hasdata()
                ),
            )
            .job(id));
        }
    };
    line.finish(lookup::summary(&done));
    let exported = results::export(
        &client,
        Some(ledger.as_ref()),
        id,
        results::JobRecord::Known(&done),
        Some(kind),
        &args.output,
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
