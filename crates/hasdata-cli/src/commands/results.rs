//! `hasdata results`, and the export every command that writes rows shares.

use std::str::FromStr;
use std::sync::Arc;

use futures::StreamExt;
use hasdata_cli::output::ExportOut;
use hasdata_jobs::{Client, JobLedger, JobProgress, MemoryLedger, RowJson, RowSource};
use hasdata_model::{Job, JobId, ScraperKind};
use serde_json::Value;

use super::Signals;
use crate::args::{Format, OutputArgs, ResultsArgs, Source};
use crate::context::Ctx;
use crate::export::{Kept, RowWriter, schema_columns};
use crate::fail::{Failure, code};

/// Where the rows went.
pub struct Exported {
    pub rows: u64,
    /// An absolute path, `stdout`, or the device written through.
    pub output: String,
    /// The job had not ended (`--partial`): the rows are those so far.
    pub partial: bool,
    /// The job as read for the export, when the caller did not know it already.
    pub job: Option<Job>,
}

impl Exported {
    /// The export as `--json` prints it, under the job's `export` key.
    pub fn to_out(&self, format: Format) -> ExportOut {
        ExportOut {
            rows: self.rows,
            output: self.output.clone(),
            format: format_name(format).into(),
            partial: self.partial,
        }
    }
}

/// A format's name, as `--format` takes it (and as the file extension `jobs resume` uses).
pub fn format_name(format: Format) -> &'static str {
    match format {
        Format::Jsonl => "jsonl",
        Format::Json => "json",
        Format::Csv => "csv",
    }
}

/// A path as a shell word: as it is when it is plain, else in single quotes.
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./-+=:@%,".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The `hasdata results` command that writes job `id`'s rows where `output` says, in its
/// format and from its source.
pub fn results_command(id: JobId, output: &OutputArgs) -> String {
    let mut command = format!("hasdata results {id}");
    if let Some(out) = output.out.as_deref().filter(|p| p.as_os_str() != "-") {
        let path = super::absolute(&out.display().to_string());
        command.push_str(&format!(" --out {}", shell_word(&path)));
    }
    if output.format != Format::Jsonl {
        command.push_str(&format!(" --format {}", format_name(output.format)));
    }
    match output.source {
        Source::Auto => {}
        Source::Pages => command.push_str(" --source pages"),
        Source::File => command.push_str(" --source file"),
    }
    command
}

/// The command that finishes what a `run` with `output` left undone: `hasdata results`
/// refuses a job that has not ended, so a `wait` comes first.
pub fn finishing_command(id: JobId, output: &OutputArgs, global: &crate::args::Global) -> String {
    let flags = global_flags(global);
    let results = results_command(id, output);
    let results = results.strip_prefix("hasdata").unwrap_or(&results);
    format!("hasdata{flags} wait {id} && hasdata{flags}{results}")
}

/// The global flags a printed command needs to reach the same job: the base URL unless it is
/// the default (a simulator's job id means nothing to api.hasdata.com), and the ledger when one
/// was named and its text holds no password (a URL with one came from the environment or a
/// flag the user still has; it is never printed).
pub fn global_flags(global: &crate::args::Global) -> String {
    let mut flags = String::new();
    if global.base_url != hasdata_jobs::DEFAULT_BASE_URL {
        flags.push_str(&format!(" --base-url {}", shell_word(&global.base_url)));
    }
    if let Some(ledger) = global.ledger.as_deref()
        && hasdata_ledger::redact_url(ledger) == ledger
    {
        let ledger = if ledger.contains("://") {
            ledger.to_owned()
        } else {
            super::absolute(ledger)
        };
        flags.push_str(&format!(" --ledger {}", shell_word(&ledger)));
    }
    flags
}

/// Prints a job object where it does not mix with rows: on stdout, unless the rows went
/// there; then, with `--json`, as a JSON line on stderr, and without it not at all (the
/// human line is skipped when empty).
pub fn emit_job(ctx: &Ctx, output: &OutputArgs, json: Value, human: impl FnOnce() -> String) {
    let rows_on_stdout = output.out.as_deref().is_none_or(|p| p.as_os_str() == "-");
    if ctx.global.json {
        if rows_on_stdout {
            crate::context::err_line(&json.to_string());
        } else {
            crate::context::out_line(&json.to_string());
        }
    } else if !ctx.global.quiet && !rows_on_stdout {
        let text = human();
        if !text.is_empty() {
            crate::context::out_line(&text);
        }
    }
}

/// What an export knows of its job as it starts.
pub enum JobRecord<'a> {
    /// The record as the caller already has it (a wait just ended): no status call is made.
    Known(&'a Job),
    /// A status call the caller started (`tokio::spawn`) before doing other work, such as
    /// opening the ledger, so the two overlap; the export waits for its answer. `signals`
    /// were listened for before the call was sent, so a Ctrl-C while it hangs (the API may
    /// take minutes) ends the export at once instead of when the call does.
    Asked {
        status: tokio::task::JoinHandle<hasdata_jobs::Result<Job>>,
        signals: Signals,
    },
}

/// The failure of an export that SIGINT or SIGTERM ended (`signal` is its exit code): one
/// line naming the target and the command that writes it again, with the global flags that
/// reach the same job ([`global_flags`]): without them it went to api.hasdata.com.
fn stopped(signal: u8, id: JobId, output: &OutputArgs, global: &crate::args::Global) -> Failure {
    let shown = output
        .out
        .as_deref()
        .map_or("stdout".into(), |p| p.display().to_string());
    let what = if signal == code::TERMINATED {
        "terminated"
    } else {
        "interrupted"
    };
    Failure::new(
        signal,
        format!(
            "{what}; the export to {shown} was not completed (`hasdata{}{}` writes it again)",
            global_flags(global),
            results_command(id, output)
                .strip_prefix("hasdata")
                .unwrap_or_default()
        ),
    )
    .job(id)
}

/// Where an export writes, and the global flags that reach its job again (named in the
/// command an interrupted export prints).
pub struct Target<'a> {
    /// The output flags.
    pub output: &'a OutputArgs,
    /// The global flags the command was given.
    pub global: &'a crate::args::Global,
}

/// Streams a job's rows into the output the flags describe, in constant memory, and checks
/// them against the job: an ended job's `dataRowsCount` must be met, or the export fails with
/// exit 7 and what was written is kept only as `FILE.partial`. `known` is the job as the caller
/// already has it (a wait just ended), or its status call on its way. A job that has not ended
/// is refused unless `allow_running` (`results --partial`); such an export is never marked
/// collected. SIGINT or SIGTERM during the export removes the temporary file.
pub async fn export(
    client: &Client,
    ledger: Option<&dyn JobLedger>,
    id: JobId,
    known: JobRecord<'_>,
    scraper: Option<ScraperKind>,
    target: Target<'_>,
    allow_running: bool,
) -> Result<Exported, Failure> {
    let Target { output, global } = target;
    let read = matches!(known, JobRecord::Asked { .. });
    let (mut signals, job) = match known {
        JobRecord::Known(job) => (Signals::listen(), job.clone()),
        JobRecord::Asked {
            mut status,
            mut signals,
        } => {
            let joined = tokio::select! {
                biased;
                signal = signals.wait() => {
                    status.abort();
                    return Err(stopped(signal, id, output, global));
                }
                joined = &mut status => joined,
            };
            let answer = match joined {
                Ok(answer) => answer,
                Err(joined) => match joined.try_into_panic() {
                    Ok(panic) => std::panic::resume_unwind(panic),
                    Err(_) => {
                        return Err(
                            Failure::new(code::OTHER, "the status call was cancelled").job(id)
                        );
                    }
                },
            };
            let job = answer.map_err(|e| Failure::from(e).job(id))?;
            if let Some(ledger) = ledger {
                let progress = JobProgress {
                    status: job.status.as_str().to_owned(),
                    rows: job.rows_reported(),
                    credits: job.credits_reported(),
                };
                // Nothing is written yet: a signal while another process holds the
                // ledger's lock ends the export as it would a moment later.
                let noted = signals.or(ledger.record_progress(id, &progress)).await;
                if let Err(signal) = noted {
                    return Err(stopped(signal, id, output, global));
                }
            }
            (signals, job)
        }
    };
    let ended = job.status.is_terminal();
    if !ended && !allow_running {
        return Err(Failure::new(
            code::OTHER,
            format!(
                "job {id} is {} and has not ended, so its rows are not all there: `{} wait {id}` first, or pass --partial for the rows so far",
                job.status,
                crate::context::hasdata()
            ),
        )
        .job(id));
    }
    // Auto: `data.json` once finished with a link, the pages otherwise (a finished job without
    // a link included). The job is marked collected below, once the output is complete on
    // disk (rows to stdout never mark it), not when the last row is read.
    // The record just read goes with the rows, so they need no status call of their own.
    let rows = client
        .rows::<RowJson>(id)
        .source(match output.source {
            Source::Pages => RowSource::Pages,
            Source::File => RowSource::File,
            Source::Auto => RowSource::Auto,
        })
        .keep_uncollected()
        .known(job.clone())
        // Many rows a stream item: one buffer of JSON lines per stretch of the file or page.
        .batches();
    let columns = scraper.map(schema_columns).unwrap_or_default();
    // A failure to write names the job, as every other failure of an export does.
    let mut writer = RowWriter::create(output.format, output.out.as_deref(), columns)
        .map_err(|e| Failure::from(e).job(id))?;
    // Rows come in batches, so the signal check and the stream's wake-up are paid per batch,
    // not per row.
    let mut rows = rows;
    let expected = job.data_rows_count.get();
    loop {
        let batch = tokio::select! {
            biased;
            signal = signals.wait() => {
                drop(writer);
                return Err(stopped(signal, id, output, global));
            }
            next = rows.next() => next,
        };
        let Some(batch) = batch else {
            break;
        };
        match batch {
            Ok(batch) => writer
                .write_batch(batch)
                .map_err(|e| Failure::from(e).job(id))?,
            Err(error) => return Err(incomplete(writer, id, ended, expected, error)),
        }
    }
    let count = writer.rows();
    if ended && count < expected {
        let error = hasdata_jobs::Error::Incomplete {
            job_id: id,
            rows: count,
            expected,
        };
        return Err(incomplete(writer, id, ended, expected, error));
    }
    let written = writer.finish().map_err(|e| Failure::from(e).job(id))?;
    let to_file = output.out.as_deref().is_some_and(|p| p.as_os_str() != "-");
    let written = if to_file {
        super::absolute(&written)
    } else {
        written
    };
    if let Some(ledger) = ledger
        && to_file
        && ended
    {
        // The rows are written whatever the ledger says; a ledger that cannot note it only
        // means `jobs list` shows the job uncollected (and `jobs resume` exports it again), so
        // it is a warning, never silence.
        match signals.or(ledger.mark_collected(id, &written)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::warn!(job_id = %id, %error, "the rows are written, but the ledger could not note the job collected");
            }
            // Another process holds the ledger's lock and a signal came: the file is
            // complete, only the note is missing.
            Err(signal) => {
                let what = if signal == code::TERMINATED {
                    "terminated"
                } else {
                    "interrupted"
                };
                return Err(Failure::new(
                    signal,
                    format!(
                        "{what} while waiting for the ledger: the rows are written to {written}, but job {id} is not noted collected (`{hd} jobs list` shows it uncollected)",
                        hd = crate::context::hasdata()
                    ),
                )
                .job(id));
            }
        }
    }
    Ok(Exported {
        rows: count,
        output: written,
        partial: !ended,
        job: read.then_some(job),
    })
}

/// The failure of an export whose rows stream ended in error: what was written is kept as
/// `FILE.partial` (never under the final name) and the message says where and how much. An
/// ended job's export that came short is exit 7 whatever broke it (the cause is in the message).
fn incomplete(
    writer: RowWriter,
    id: JobId,
    ended: bool,
    expected: u64,
    error: hasdata_jobs::Error,
) -> Failure {
    let rows = writer.rows();
    let short = error.is_incomplete() || (ended && rows < expected);
    // More rows than the job reports (after a second look at its count): the output is not
    // the job's as reported, so it is an incomplete export too, with both counts named.
    let mismatch = match &error {
        hasdata_jobs::Error::RowCountMismatch { rows, expected, .. } => Some((*rows, *expected)),
        _ => None,
    };
    // A count that does not read: the rows may be all there, but nothing says so, and "of 0"
    // would misstate what the server sent; the message quotes it.
    let unchecked = matches!(error, hasdata_jobs::Error::UncheckedRows { .. });
    let mut failure = Failure::from(error).job(id);
    if failure.code == code::BROKEN_PIPE {
        return failure;
    }
    let kept = match writer.keep_partial() {
        Kept::Partial(path) => format!("; kept as {}", path.display()),
        Kept::Through(shown) => format!("; they went to {shown}"),
        Kept::Nothing => String::new(),
    };
    if unchecked {
        failure.code = code::INCOMPLETE;
        failure.message = format!(
            "{}; wrote {}{kept}; not marked collected",
            failure.message,
            super::count(rows, "row")
        );
    } else if let Some((served, reported)) = mismatch {
        failure.code = code::INCOMPLETE;
        failure.message = format!(
            "inconsistent: the results hold {served} rows but job {id} reports {reported} (its status read twice); wrote {}{kept}; not marked collected",
            super::count(rows, "row")
        );
    } else if short {
        failure.code = code::INCOMPLETE;
        failure.message = format!(
            "incomplete: wrote {rows} of {expected} rows{kept} ({}); not marked collected",
            failure.message
        );
    } else {
        failure.message = format!(
            "{} after {}{kept}",
            failure.message,
            super::count(rows, "row")
        );
    }
    failure
}

pub async fn run(ctx: &Ctx, args: &ResultsArgs) -> Result<(), Failure> {
    super::stdout_open(args.output.out.as_deref())?;
    let client = ctx.client(Arc::new(MemoryLedger::new()), args.output.concurrency)?;
    let id = args.id;
    // The status call goes first, and the ledger is opened while its answer is on the way:
    // the task is spawned and this one yields, so the request is sent before the ledger's
    // file is opened here (a task merely spawned would wait in this worker's next-task slot
    // until this one yields, and no other worker takes it from there).
    // Listened for before the call is sent: a signal while it hangs ends the export.
    let mut signals = Signals::listen();
    let asked = tokio::spawn({
        let client = client.clone();
        async move { client.status(id).await }
    });
    tokio::task::yield_now().await;
    // The rows are written without a ledger, but a file written then is never noted
    // collected (`jobs list` shows the job uncollected): a warning, never silence, as when the
    // ledger fails to note it later.
    // Opening waits while another process holds the file's lock: a signal ends that too.
    let opened = match signals.or(ctx.reading_ledger()).await {
        Ok(opened) => opened,
        Err(signal) => {
            asked.abort();
            return Err(stopped(signal, id, &args.output, &ctx.global));
        }
    };
    let ledger = match opened {
        Ok(ledger) => Some(ledger),
        Err(failure) => {
            if args
                .output
                .out
                .as_deref()
                .is_some_and(|p| p.as_os_str() != "-")
            {
                ctx.unusable_ledger(
                    id,
                    &failure,
                    "the ledger cannot be opened, so the job will not be noted collected",
                );
            }
            None
        }
    };
    let known = match &ledger {
        Some(ledger) => ledger.job(args.id).await.ok().flatten(),
        None => None,
    };
    let scraper = known.and_then(|entry| ScraperKind::from_str(&entry.scraper).ok());
    let exported = export(
        &client,
        ledger.as_deref(),
        id,
        JobRecord::Asked {
            status: asked,
            signals,
        },
        scraper,
        Target {
            output: &args.output,
            global: &ctx.global,
        },
        args.partial,
    )
    .await?;
    if exported.partial {
        ctx.note(format!(
            "partial: job {id} has not ended; {} so far, not marked collected",
            super::count(exported.rows, "row")
        ));
    }
    // The export noted the record it read in the ledger; reading it back is enough.
    let mut out = match &exported.job {
        Some(job) => ctx.noted(job).await,
        None => ctx.known(id).await,
    };
    out.export = Some(exported.to_out(args.output.format));
    emit_job(ctx, &args.output, out.to_value(), || {
        format!(
            "job {id}: {} written to {}",
            super::count(exported.rows, "row"),
            exported.output
        )
    });
    Ok(())
}
