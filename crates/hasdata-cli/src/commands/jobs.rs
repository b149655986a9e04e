//! `hasdata jobs list|show|retry|resume`: the ledger, its jobs and its uncertain submits.

use std::str::FromStr;

use futures::StreamExt;

use hasdata_cli::output::{IntentOut, JobOut};
use hasdata_jobs::{BodyDigest, IntentEntry, IntentState, Origin};
use hasdata_ledger::JobQuery;
use hasdata_model::{JobId, ScraperKind};
use serde_json::Value;

use super::{Signals, lookup, poll_policy, results, wait};
use crate::args::{JobArg, ListArgs, OutputArgs, ResumeArgs, RetryArgs, ShowArgs, Source};
use crate::context::Ctx;
use crate::fail::{Failure, code};
use crate::ledger::Entry;

fn line(entry: &Entry) -> String {
    format!(
        "{:<10} {:<24} {:<20} {:>13}  {}  {}",
        entry.id,
        entry.scraper,
        entry.status.as_deref().unwrap_or("?"),
        super::count(entry.rows.unwrap_or(0), "row"),
        entry.submitted_at,
        entry
            .output
            .as_deref()
            .map_or("not collected".to_owned(), |o| format!("-> {o}")),
    )
}

fn intent_line(entry: &IntentEntry) -> String {
    let state = match entry.state {
        // The state's own name first, as `jobs show` and `--json` print it.
        IntentState::Pending => "pending: no answer recorded, so uncertain".to_owned(),
        state => format!("{state}: {}", entry.detail.as_deref().unwrap_or("")),
    };
    format!(
        "{}  {:<24} {}  {}  {state}",
        entry.intent.key,
        entry.intent.slug,
        entry.intent.created_at,
        entry
            .intent
            .origin
            .as_ref()
            .map_or("-".to_owned(), |o| o.to_string()),
    )
}

fn intent_json(entry: &IntentEntry) -> Value {
    IntentOut::from_entry(entry).to_value()
}

/// Whether a status the ledger holds is one a job never leaves.
fn ended(status: Option<&str>) -> bool {
    status.is_some_and(|s| hasdata_model::JobStatus::from(s).is_terminal())
}

/// `jobs list --refresh`: polls every listed job that has not ended, `REFRESH_AT_ONCE` at a
/// time, and notes each answer in the ledger. A job that cannot be polled keeps its last known
/// status; the failures are said on stderr and counted, never fatal to the listing.
async fn refresh(ctx: &Ctx, entries: &[Entry]) -> Result<(), Failure> {
    /// Status calls in flight at once: enough to refresh a long ledger in a few round trips,
    /// few enough not to spend the account's rate limit.
    const REFRESH_AT_ONCE: usize = 4;
    let open: Vec<JobId> = entries
        .iter()
        .filter(|e| !ended(e.status.as_deref()))
        .map(|e| JobId::from(e.id))
        .collect();
    if open.is_empty() {
        return Ok(());
    }
    let client = ctx.client(std::sync::Arc::new(hasdata_jobs::MemoryLedger::new()), 1)?;
    let mut answers = futures::stream::iter(open)
        .map(|id| {
            let client = &client;
            async move { (id, client.status(id).await) }
        })
        .buffer_unordered(REFRESH_AT_ONCE);
    let mut failed = 0;
    while let Some((id, answer)) = answers.next().await {
        match answer {
            Ok(job) => {
                ctx.seen(&job).await;
            }
            Err(error) => {
                failed += 1;
                ctx.note(format!(
                    "job {id}: not refreshed: {}",
                    Failure::from(error).message
                ));
            }
        }
    }
    if failed > 0 {
        ctx.note(format!(
            "{} not refreshed; the list shows their last known status",
            super::count(failed, "job")
        ));
    }
    Ok(())
}

pub async fn list(ctx: &Ctx, args: &ListArgs) -> Result<(), Failure> {
    let ledger = ctx.reading_ledger().await?;
    let query = JobQuery {
        status: args.status.clone(),
        scraper: args.scraper.clone(),
        since: args.since.clone(),
        limit: args.limit,
    };
    if args.refresh {
        // Refreshed before the filters apply: a `--status pending` listing must not show a
        // job that has finished since.
        let candidates = ledger
            .query_jobs(&JobQuery {
                status: None,
                ..query.clone()
            })
            .await?;
        refresh(ctx, &candidates).await?;
    }
    if ctx.no_ledger_yet() {
        ctx.note(format!(
            "no jobs recorded yet: no ledger at {} (the first submit makes it)",
            crate::ledger::default_path().display()
        ));
    }
    let listed = ledger.query_jobs(&query).await?;
    for entry in &listed {
        ctx.emit(|| line(entry), JobOut::from_entry(entry).to_value());
    }
    let filtered = query != JobQuery::default();
    let unresolved: Vec<IntentEntry> = ledger
        .intents()
        .await?
        .into_iter()
        .filter(|e| e.state.is_unresolved())
        .collect();
    // Uncertain submits have no status or id yet: a filtered listing leaves them out.
    if !unresolved.is_empty() && !filtered {
        ctx.note(format!(
            "{} uncertain submit(s): a job may exist for each without its id here. Check the HasData dashboard; \
             `hasdata jobs show KEY` says more, `hasdata jobs retry KEY --yes` resends one with the same Idempotency-Key:",
            unresolved.len()
        ));
        for entry in &unresolved {
            ctx.emit(|| intent_line(entry), intent_json(entry));
        }
    }
    if listed.is_empty()
        && unresolved.is_empty()
        && !filtered
        && let Some(elsewhere) = elsewhere(ledger.as_ref()).await
    {
        ctx.note(format!(
            "no jobs in the ledger for {}; {elsewhere}",
            ctx.global.base_url
        ));
    }
    Ok(())
}

/// Where the ledger's jobs are when it has none for the base URL in use: a ledger is scoped
/// to one base URL, so `jobs list` in a shell without the simulator's HASDATA_BASE_URL (or
/// with the same server under another name) found nothing and said nothing, as if the jobs
/// were gone. `None` when the ledger holds no other base URL's jobs.
async fn elsewhere(ledger: &dyn hasdata_jobs::JobLedger) -> Option<String> {
    let others = ledger.other_base_urls().await.ok()?;
    let shown: Vec<String> = others
        .iter()
        .take(3)
        .map(|(url, n)| format!("{} for {url}", super::count(*n, "job")))
        .collect();
    if shown.is_empty() {
        return None;
    }
    let more = if others.len() > shown.len() {
        format!(" and {} more base URLs", others.len() - shown.len())
    } else {
        String::new()
    };
    Some(format!(
        "it has {}{more}: --base-url (or HASDATA_BASE_URL) picks whose jobs are shown",
        shown.join(", ")
    ))
}

/// Removes a job from the ledger; exit 1 when it was not there.
pub async fn forget(ctx: &Ctx, args: &JobArg) -> Result<(), Failure> {
    let ledger = ctx.reading_ledger().await?;
    // The ledger keeps job rows for integer ids only (others are never there).
    // What it was, printed once it is gone.
    let forgotten = ctx.known(args.id).await;
    let removed = ledger.forget_job(args.id).await?;
    if !removed {
        // Named as `jobs show` names them: a job recorded under another base URL is not
        // this one's to forget, and "not in the ledger" alone sent the user looking for a
        // typo in the id.
        let mut message = format!("job {} is not in the ledger", args.id);
        if let Some(elsewhere) = elsewhere(ledger.as_ref()).await {
            message.push_str(&format!(" for {}; {elsewhere}", ctx.global.base_url));
        }
        return Err(Failure::new(code::OTHER, message).job(args.id));
    }
    ctx.emit(
        || format!("forgot job {} (the job itself is untouched)", args.id),
        forgotten.to_value(),
    );
    Ok(())
}

pub async fn show(ctx: &Ctx, args: &ShowArgs) -> Result<(), Failure> {
    let ledger = ctx.reading_ledger().await?;
    if let Ok(id) = args.target.trim().parse::<u64>() {
        let Some(entry) = ledger.job(JobId::from(id)).await? else {
            let mut message = format!("job {id} is not in the ledger");
            if let Some(elsewhere) = elsewhere(ledger.as_ref()).await {
                message.push_str(&format!(" for {}; {elsewhere}", ctx.global.base_url));
            }
            return Err(Failure::new(code::OTHER, message));
        };
        let out = JobOut::from_entry(&entry).to_value();
        ctx.emit(
            || serde_json::to_string_pretty(&out).unwrap_or_default(),
            out.clone(),
        );
        return Ok(());
    }
    let Some(entry) = ledger.intent(args.target.trim()).await? else {
        let mut message = format!(
            "{} is neither a job id nor a submit intent in the ledger",
            args.target
        );
        if let Some(elsewhere) = elsewhere(ledger.as_ref()).await {
            message.push_str(&format!(" for {}; {elsewhere}", ctx.global.base_url));
        }
        return Err(Failure::new(code::OTHER, message));
    };
    let value = intent_json(&entry);
    ctx.emit(
        || {
            let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
            if let Some(advice) = entry.advice() {
                text.push_str(&format!("\n{advice}"));
            }
            text
        },
        value.clone(),
    );
    Ok(())
}

/// The exact bytes first sent for an intent: from `--body`, the ledger's copy (when nothing
/// was redacted from it), or the intent's line in its file. Checked against the digest.
fn original_body(entry: &IntentEntry, given: Option<&std::path::Path>) -> Result<Vec<u8>, Failure> {
    let matches = |bytes: &[u8]| BodyDigest::of(bytes) == entry.intent.digest;
    let encode = |value: &Value| serde_json::to_vec(value).unwrap_or_default();
    if let Some(path) = given {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::usage(format!("cannot read --body {}: {e}", path.display())))?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| Failure::usage(format!("--body {} is not JSON: {e}", path.display())))?;
        let bytes = encode(&value);
        return if matches(&bytes) {
            Ok(bytes)
        } else {
            Err(Failure::usage(format!(
                "--body {} is not the body first sent for intent {} (its SHA-256 differs)",
                path.display(),
                entry.intent.key
            )))
        };
    }
    if let (Some(stored), false) = (&entry.intent.body, entry.intent.body_redacted)
        && let Ok(value) = serde_json::from_str::<Value>(stored)
        && matches(&encode(&value))
    {
        return Ok(encode(&value));
    }
    if let Some(Origin {
        source,
        line: Some(line),
    }) = &entry.intent.origin
        && let Ok(text) = std::fs::read_to_string(source)
        && let Some(text) = text.lines().nth((*line as usize).saturating_sub(1))
        && let Ok(value) = serde_json::from_str::<Value>(text)
        && matches(&encode(&value))
    {
        return Ok(encode(&value));
    }
    Err(Failure::usage(format!(
        "the ledger's copy of intent {}'s body had its webhook secrets removed and its origin ({}) no longer holds it: pass the original with --body FILE",
        entry.intent.key,
        entry
            .intent
            .origin
            .as_ref()
            .map_or("none".to_owned(), |o| o.to_string())
    )))
}

/// Sends an uncertain (or refused) submit again with its own Idempotency-Key.
pub async fn retry(ctx: &Ctx, args: &RetryArgs) -> Result<(), Failure> {
    let ledger = ctx.reading_ledger().await?;
    let entry = ledger.intent(args.key.trim()).await?.ok_or_else(|| {
        Failure::usage(format!(
            "no submit intent with key {} in the ledger",
            args.key
        ))
    })?;
    if entry.state == IntentState::Submitted {
        return Err(Failure::usage(format!(
            "intent {} already created job {}: nothing to retry",
            entry.intent.key,
            entry.job_id.map(|id| id.to_string()).unwrap_or_default()
        )));
    }
    if !args.yes {
        return Err(Failure::usage(format!(
            "intent {} ({} at {}) may already have created a job. Check the HasData dashboard; if there is none, \
             run `{} jobs retry {} --yes`. HasData may not honour the Idempotency-Key: if a job exists, a retry creates and bills a second one",
            entry.intent.key,
            entry.intent.slug,
            entry.intent.created_at,
            crate::context::hasdata(),
            entry.intent.key
        )));
    }
    let body = original_body(&entry, args.body.as_deref())?;
    let client = ctx.client(ledger.clone(), 1)?;
    // As `submit` does: a signal while the resend waits out a 429 (the intent refused, no
    // job) ends it there; once its POST may be out the answer is awaited and the job recorded
    // and printed. Deaf to signals, it died at once and said nothing.
    let mut interrupt = Signals::listen();
    // The resend claims the intent in the ledger first (SQLite and PostgreSQL alike): a second
    // retry of it at once, from this machine or another, sends nothing.
    let send = client.resend_seen_intent(&entry, body.into(), None);
    let (sent, interrupted) =
        super::submit::interruptible(ledger.as_ref(), &entry.intent.key, send, &mut interrupt)
            .await?;
    let job = match sent {
        Ok(job) => job,
        Err(
            error @ hasdata_jobs::Error::Config(
                hasdata_jobs::ConfigError::IntentBeingResent(_)
                | hasdata_jobs::ConfigError::IntentResentMeanwhile { .. },
            ),
        ) => {
            return Err(Failure::new(
                code::OTHER,
                format!(
                    "{error}; `{} jobs show {}` says what became of it",
                    crate::context::hasdata(),
                    entry.intent.key
                ),
            ));
        }
        Err(error) => return Err(error.into()),
    };
    let out = ctx.seen(&job).await;
    ctx.emit(|| job.id.to_string(), out.to_value());
    match interrupted {
        Some(signal) => Err(super::submit::created_meanwhile(signal, job.id)),
        None => Ok(()),
    }
}

/// What became of one job in `resume`.
enum Collected {
    Written,
    /// It could not be waited for (said already); a rerun picks it up.
    NotEnded,
    /// Its export failed: the failure `resume` ends with.
    ExportFailed(Failure),
}

/// Waits for and collects every job the ledger has not collected yet, `--concurrency` at a
/// time. Submits nothing. An export failure does not stop the other jobs: `resume` ends with
/// the first one once all are done.
pub async fn resume(ctx: &Ctx, args: &ResumeArgs) -> Result<(), Failure> {
    let mut interrupt = Signals::listen();
    let ledger = interrupt
        .or(ctx.reading_ledger())
        .await
        .map_err(super::interrupted_opening)??;
    let client = ctx.client(ledger.clone(), 4)?;
    let policy = poll_policy(&args.poll)?;
    let pending = crate::ledger::uncollected(ledger.as_ref()).await?;
    if pending.is_empty() {
        ctx.note("nothing to resume: every job in the ledger was collected");
        return Ok(());
    }
    let collect = |entry: Entry| {
        let (client, ledger, policy) = (&client, &ledger, policy.clone());
        async move {
            let id = JobId::from(entry.id);
            let kind = ScraperKind::from_str(&entry.scraper).ok();
            let line = ctx.display.job(format!("job {id}"));
            let done = match wait::follow(
                client,
                Some(ledger.as_ref()),
                id,
                policy,
                &line,
                None,
                &wait::Ended::default(),
            )
            .await
            {
                Ok(done) => done,
                Err(failure) => {
                    let failure = failure.job(id);
                    ctx.emit(
                        || format!("job {id}: {}", failure.message),
                        failure.to_out().to_value(),
                    );
                    return Collected::NotEnded;
                }
            };
            line.finish(lookup::summary(&done));
            let output = OutputArgs {
                format: args.format,
                out: Some(
                    args.dir
                        .join(format!("{id}.{}", results::format_name(args.format))),
                ),
                source: Source::Auto,
                concurrency: 4,
            };
            match results::export(
                client,
                Some(ledger.as_ref()),
                id,
                results::JobRecord::Known(&done),
                kind,
                results::Target {
                    output: &output,
                    global: &ctx.global,
                },
                false,
            )
            .await
            {
                Ok(exported) => {
                    let mut out = ctx.seen(&done).await;
                    out.export = Some(exported.to_out(args.format));
                    ctx.emit(
                        || {
                            format!(
                                "{} · {} written to {}",
                                lookup::describe(&done),
                                super::count(exported.rows, "row"),
                                exported.output
                            )
                        },
                        out.to_value(),
                    );
                    Collected::Written
                }
                Err(failure) => Collected::ExportFailed(failure.job(id)),
            }
        }
    };
    let mut jobs = futures::stream::iter(pending)
        .map(collect)
        .buffer_unordered(args.concurrency.max(1));
    let (mut not_ended, mut export_failure) = (0, None);
    loop {
        let next = tokio::select! {
            next = jobs.next() => next,
            signal = interrupt.wait() => {
                return Err(Failure::new(
                    signal,
                    format!(
                        "interrupted; the jobs not collected yet stay in the ledger, running or ended: `{} jobs resume` picks them up",
                        crate::context::hasdata()
                    ),
                ));
            }
        };
        match next {
            None => break,
            Some(Collected::Written) => {}
            Some(Collected::NotEnded) => not_ended += 1,
            Some(Collected::ExportFailed(failure)) => {
                ctx.note(&failure.message);
                export_failure.get_or_insert(failure);
            }
        }
    }
    if let Some(failure) = export_failure {
        return Err(failure);
    }
    if not_ended > 0 {
        return Err(Failure::new(
            code::OTHER,
            format!(
                "{not_ended} job{} could not be collected; run `{} jobs resume` again",
                if not_ended == 1 { "" } else { "s" },
                crate::context::hasdata()
            ),
        ));
    }
    Ok(())
}
