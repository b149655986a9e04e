//! `hasdata run`: submit, wait with progress, write the rows.

use std::str::FromStr;

use hasdata_model::ScraperKind;
use serde_json::json;

use super::{Interrupt, lookup, poll_policy, read_body, results, wait};
use crate::args::RunArgs;
use crate::context::Ctx;
use crate::fail::Failure;

pub async fn run(ctx: &Ctx, args: &RunArgs) -> Result<(), Failure> {
    let mut interrupt = Interrupt::listen();
    let kind = ScraperKind::from_str(&args.slug).map_err(|e| Failure::usage(e.to_string()))?;
    let body = read_body(&args.body)?;
    let policy = poll_policy(&args.poll)?;
    let ledger = ctx.ledger()?;
    let client = ctx.client(ledger.clone(), args.output.concurrency)?;
    let job = super::submit::submit_waiting_out_429(
        &client,
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
    if ctx.global.json {
        crate::context::out_line(&json!({"submitted": id, "scraper": kind.as_str()}).to_string());
    }
    let line = ctx.display.job(format!("job {id}"));
    let done = tokio::select! {
        done = wait::follow(&client, Some(&ledger), id, policy, &line, args.max_credits) => done?,
        () = interrupt.wait() => {
            if args.stop_on_interrupt {
                line.finish("interrupted; stopping".into());
                client.stop(id).await.map_err(|e| Failure::from(e).job(id))?;
                return Err(Failure::new(crate::fail::code::INTERRUPTED, format!("interrupted; job {id} was stopped")).job(id));
            }
            line.finish("interrupted".into());
            return Err(wait::interrupted_failure(id));
        }
    };
    line.finish(lookup::summary(&done));
    let exported = results::export(
        &client,
        Some(&ledger),
        id,
        Some(&done),
        Some(kind),
        &args.output,
        false,
    )
    .await?;
    if args.output.out.is_some() || ctx.global.json {
        ctx.emit(
            || format!("{} · {} written to {}", lookup::describe(&done), super::count(exported.rows, "row"), exported.output),
            json!({"jobId": id, "status": done.status.as_str(), "reason": done.stop_reason, "rows": exported.rows, "credits": done.credits_spent.get(), "maxCredits": args.max_credits, "output": exported.output}),
        );
    }
    wait::check_outcome(&done)
}
