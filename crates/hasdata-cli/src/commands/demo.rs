//! `hasdata demo`: the whole lifecycle against an in-process simulator. No key, no network.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hasdata_jobs::{Client, MemoryLedger, PollPolicy};
use hasdata_model::bodies::{ContactsBody, CrawlerBody, OutputFormat};
use hasdata_model::{Job, ScraperKind};
use hasdata_sim::{SimConfig, Simulator};

use super::{lookup, results, wait};
use crate::args::{DemoArgs, Format, OutputArgs, Source};
use crate::context::Ctx;
use crate::fail::Failure;

struct Outcome {
    job: Job,
    rows: u64,
    output: String,
}

async fn follow_and_export(
    ctx: &Ctx,
    client: &Client,
    job: Job,
    kind: ScraperKind,
    dir: &std::path::Path,
) -> Result<Outcome, Failure> {
    let line = ctx.display.job(format!("{kind:<9} job {}", job.id));
    let policy = PollPolicy {
        initial: Duration::from_millis(250),
        cap: Duration::from_secs(1),
        allow_fast_polling: true,
        ..PollPolicy::default()
    };
    let done = wait::follow(
        client,
        None,
        job.id,
        policy,
        &line,
        None,
        &wait::Ended::default(),
    )
    .await?;
    line.finish(lookup::summary(&done));
    let output = OutputArgs {
        format: Format::Jsonl,
        out: Some(dir.join(format!("{kind}.jsonl"))),
        source: Source::Auto,
        concurrency: 4,
    };
    let exported = results::export(
        client,
        None,
        done.id,
        results::JobRecord::Known(&done),
        Some(kind),
        results::Target {
            output: &output,
            global: &ctx.global,
        },
        false,
    )
    .await?;
    Ok(Outcome {
        job: done,
        rows: exported.rows,
        output: exported.output,
    })
}

pub async fn run(ctx: &Ctx, args: &DemoArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let duration = Duration::try_from_secs_f64(args.job_duration)
        .map_err(|_| Failure::usage("--job-duration takes seconds >= 0"))?;
    super::writable_dir("--dir", &args.dir)?;
    let sim = Simulator::start(SimConfig {
        job_duration: duration,
        ..SimConfig::default()
    })
    .await?;
    ctx.note(format!(
        "simulator running at {} (no key or network needed)",
        sim.base_url()
    ));
    let client = Client::builder()
        .api_key(sim.api_key())
        .base_url(sim.base_url())
        .ledger(Arc::new(MemoryLedger::new()))
        .build()?;

    let contacts = ContactsBody::new([
        "https://acme.example/about",
        "https://acme.example/team",
        "https://globex.example/contact",
    ]);
    let crawler = CrawlerBody::new(["https://docs.acme.example"])
        .max_depth(3)
        .include_paths("/(docs|guides)/.+")
        .output_format([OutputFormat::Markdown])
        .limit(40);
    let contacts_job = client.submit(&contacts).await?;
    let crawler_job = client.submit(&crawler).await?;
    ctx.note(format!(
        "submitted contacts job {} and crawler job {}",
        contacts_job.id(),
        crawler_job.id()
    ));
    let (contacts_record, crawler_record) = (
        contacts_job.record().cloned(),
        crawler_job.record().cloned(),
    );
    let (Some(contacts_record), Some(crawler_record)) = (contacts_record, crawler_record) else {
        return Err(Failure::new(
            crate::fail::code::OTHER,
            "the submit records are missing",
        ));
    };
    let (first, second) = tokio::join!(
        follow_and_export(
            ctx,
            &client,
            contacts_record,
            ScraperKind::Contacts,
            &args.dir
        ),
        follow_and_export(
            ctx,
            &client,
            crawler_record,
            ScraperKind::Crawler,
            &args.dir
        ),
    );
    let outcomes = [first?, second?];
    let elapsed = started.elapsed().as_secs_f64();
    for outcome in &outcomes {
        ctx.emit(
            || {
                format!(
                    "{} -> {} ({})",
                    lookup::describe(&outcome.job),
                    outcome.output,
                    super::count(outcome.rows, "row")
                )
            },
            {
                let mut out = hasdata_cli::output::JobOut::from_record(&outcome.job);
                out.export = Some(hasdata_cli::output::ExportOut {
                    rows: outcome.rows,
                    output: super::absolute(&outcome.output),
                    format: "jsonl".into(),
                    partial: false,
                });
                out.to_value()
            },
        );
    }
    let credits: u64 = outcomes.iter().map(|o| o.job.credits_spent.get()).sum();
    let rows: u64 = outcomes.iter().map(|o| o.rows).sum();
    ctx.note(format!(
        "demo done in {elapsed:.1}s: 2 jobs, {}, {} simulated, files in {}",
        super::count(rows, "row"),
        super::count(credits, "credit"),
        args.dir.display()
    ));
    Ok(())
}
