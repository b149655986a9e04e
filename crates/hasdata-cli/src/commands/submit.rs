//! `hasdata submit`: one body, or one job per line of a JSONL file.
//!
//! Every body is an intent in the ledger before its POST (the library does that), with its
//! origin (`/abs/bodies.jsonl:17`). A bulk submit prints each id the moment it exists, stops
//! sending on Ctrl-C while in-flight submits finish, and on a rerun of the same file skips the
//! lines the ledger already has as submitted or uncertain, so no line is billed twice.

use std::path::Path;
use std::str::FromStr;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use hasdata_cli::output::{BulkCounts, BulkSummaryOut, IntentOut, WarningOut};
use hasdata_jobs::{BodyDigest, Client, Error, IntentState, Origin, SubmitOptions};
use hasdata_model::{Job, ScraperKind};

use super::{Signals, read_body};
use crate::args::SubmitArgs;
use crate::context::Ctx;

/// How often a run waiting for another run of the same bodies file tries the file's lock
/// again: the other run takes seconds or more, so a few tries a second lose nothing.
const LOCK_RETRY: std::time::Duration = std::time::Duration::from_millis(50);
use crate::fail::{Failure, code};
use crate::ledger::Ledger;
use crate::progress::BulkLine;

pub async fn run(ctx: &Ctx, args: &SubmitArgs) -> Result<(), Failure> {
    let kind = ScraperKind::from_str(&args.slug).map_err(|e| Failure::usage(e.to_string()))?;
    let Some(path) = &args.bodies else {
        return one(ctx, args, kind).await;
    };
    let ledger = ctx.ledger().await?;
    let client = ctx.client(ledger.clone(), 1)?;
    {
        let bulk = Bulk {
            ctx,
            progress: ctx.display.bulk(),
            client: &client,
            ledger: &ledger,
            kind,
            concurrency: args.concurrency.max(1),
            again: args.again,
            mode: args.check.mode(),
        };
        bulk.run(path).await
    }
}

/// One body. Listens for SIGINT/SIGTERM from the start, as `run` does: a signal before the
/// intent is recorded (the ledger's lock held by another process) ends it with nothing sent;
/// once the POST may be out its answer is awaited and the job recorded and printed, exit 130
/// or 143 (or the submit's own failure, uncertain with how to find out); a signal while it
/// waits out the concurrency cap ends that wait (see [`interruptible`]). Deaf to signals, it
/// died at once and said nothing, an hour's 429 waiting included.
async fn one(ctx: &Ctx, args: &SubmitArgs, kind: ScraperKind) -> Result<(), Failure> {
    let source = args.body.as_deref().unwrap_or("-");
    let body = read_body(source)?;
    let warnings = super::check::one(ctx, kind, &body, args.check.mode())?;
    // Only once the body is read: a read of stdin blocks this thread, and a signal heard
    // then would end nothing (the default action, death, is right while nothing is sent).
    let mut interrupt = Signals::listen();
    let ledger = interrupt
        .or(ctx.ledger())
        .await
        .map_err(super::interrupted_opening)??;
    let client = ctx.client(ledger.clone(), 1)?;
    let key = SubmitOptions::fresh_key();
    let options = SubmitOptions {
        origin: Some(body_origin(source)),
        idempotency_key: Some(key.clone()),
        ..Default::default()
    };
    // A 429 (the concurrency cap) created no job: the library waits it out and resends.
    let submit = client.submit_raw_with(kind.as_str(), &body, &options);
    let (job, interrupted) = interruptible(ledger.as_ref(), &key, submit, &mut interrupt).await?;
    let job = job?;
    // The ledger recorded the id before the submit returned.
    let mut out = ctx.seen(&job).await;
    out.warnings = warnings.iter().map(WarningOut::from).collect();
    ctx.emit(|| job.id.to_string(), out.to_value());
    match interrupted {
        Some(signal) => Err(created_meanwhile(signal, job.id)),
        None => Ok(()),
    }
}

/// The failure of a submit (or a resend) that a signal (exit `signal`) came for while its
/// POST was out, whose answer then created job `id`, recorded and printed: the job runs on.
pub fn created_meanwhile(signal: u8, id: hasdata_model::JobId) -> Failure {
    Failure::new(
        signal,
        format!(
            "interrupted while the submit was on its way; job {id} was created and is recorded in the ledger, and goes on running (`{hd} wait {id}`)",
            hd = crate::context::hasdata()
        ),
    )
    .job(id)
}

/// A submit under `key` that a signal (Ctrl-C, SIGTERM) may end. Until the ledger has an
/// intent under `key` nothing was sent (the intent is written before the POST, and another
/// process holding the ledger's lock can hold that write for seconds): the signal then drops
/// the submit at once, exit 130 or 143. Once the intent is there the POST may be out, so the
/// submit goes on to its end and its job is recorded as usual; the signal's exit code says one
/// came meanwhile. But while the intent reads refused the submit is waiting out HasData's
/// concurrency cap (a 429 created no job; it is resent after `Retry-After`, for up to an hour
/// in all): nothing is in flight then, so the signal ends it there, no job created, rather
/// than sitting out the hour. The intent is looked at again every [`LOOK_AGAIN`] until the
/// submit ends, since a POST in flight may come back 429 and start such a wait. The submit is
/// not polled while the ledger is asked, so it cannot record or resend its intent in between;
/// a resend's own record (refused to pending) is written before its POST. A second signal
/// while the answer is awaited ends the wait, the intent left pending (uncertain).
pub async fn interruptible(
    ledger: &dyn hasdata_jobs::JobLedger,
    key: &str,
    submit: impl Future<Output = Result<Job, Error>>,
    interrupt: &mut Signals,
) -> Result<(Result<Job, Error>, Option<u8>), Failure> {
    let mut submit = std::pin::pin!(submit);
    let signal = tokio::select! {
        biased;
        signal = interrupt.wait() => signal,
        done = &mut submit => return Ok((done, None)),
    };
    loop {
        match ledger.intent(key).await {
            Ok(None) => {
                return Err(Failure::new(
                    signal,
                    "interrupted before the submit was recorded in the ledger (another process holds its lock): nothing was sent",
                ));
            }
            Ok(Some(entry)) if entry.state == IntentState::Refused => {
                return Err(Failure::new(
                    signal,
                    format!(
                        "interrupted: HasData refused the submit ({}), so no job was created, and it is not sent again (intent {key})",
                        entry.detail.as_deref().unwrap_or("no reason recorded")
                    ),
                ));
            }
            // Recorded, or the ledger cannot say: the POST may be out, so its answer is awaited.
            _ => {}
        }
        tokio::select! {
            biased;
            done = tokio::time::timeout(LOOK_AGAIN, &mut submit) => {
                if let Ok(done) = done {
                    return Ok((done, Some(signal)));
                }
            }
            // A second signal is a person who will not wait (the POST's answer can take a
            // request timeout): the submit is dropped, its intent left pending, which is what
            // it is, and the failure says how to find out whether a job exists.
            again = interrupt.wait() => {
                return Err(Failure::new(
                    again,
                    format!(
                        "interrupted again while the submit's answer was awaited: it may have created a job (intent {key}, left pending); `{hd} jobs show {key}` shows what the ledger knows, the HasData dashboard whether the job exists",
                        hd = crate::context::hasdata()
                    ),
                ));
            }
        }
    }
}

/// How often a submit that a signal came for looks at its intent again while the POST may
/// be out: a 429's wait is seconds at least, and a look is one ledger read.
const LOOK_AGAIN: std::time::Duration = std::time::Duration::from_millis(250);

/// Where a `--body` came from, as the ledger records it: `stdin`, or the file's absolute path.
pub fn body_origin(source: &str) -> Origin {
    if source == "-" {
        Origin::label("stdin")
    } else {
        Origin::label(absolute(Path::new(source)))
    }
}

/// The absolute form of a path, for matching reruns; the path as given when that fails.
fn absolute(path: &Path) -> String {
    std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// What a bulk submit did, line by line.
#[derive(Default)]
struct Tally {
    submitted: u64,
    uncertain: u64,
    failed: u64,
    skipped: u64,
    unsent: u64,
}

struct Bulk<'a> {
    ctx: &'a Ctx,
    progress: BulkLine,
    client: &'a Client,
    ledger: &'a Ledger,
    kind: ScraperKind,
    concurrency: usize,
    again: bool,
    mode: hasdata_model::ValidationMode,
}

impl Bulk<'_> {
    async fn run(&self, path: &Path) -> Result<(), Failure> {
        let from_stdin = path.as_os_str() == "-";
        let lines = super::check::read_lines(self.ctx, self.kind, path, self.mode, "submitted")?;
        // Only once the lines are read: a read of stdin blocks this thread, and a signal
        // heard then ended nothing (nothing is sent before this, so death is right).
        let mut interrupt = Signals::listen();
        // Lines from stdin have no file to recognise a rerun by: every run sends them all.
        let source = if from_stdin {
            "stdin".to_owned()
        } else {
            absolute(path)
        };
        // Held until every line is sent: a second run of the same file waits for this one,
        // then skips what it sent (checked below, after the wait).
        let _exclusive = if from_stdin {
            None
        } else {
            self.exclusive(path, &mut interrupt).await?
        };
        let mut tally = Tally::default();
        let mut to_send = Vec::new();
        for line in lines {
            if !self.again && !from_stdin && self.already_sent(&source, &line).await? {
                tally.skipped += 1;
            } else {
                to_send.push(line);
            }
        }
        if tally.skipped > 0 {
            self.ctx.note(format!(
                "{} line(s) skipped: the ledger has them as submitted or uncertain (--again sends them anyway)",
                tally.skipped
            ));
        }
        self.progress.start(to_send.len() as u64);
        let mut queue = to_send.into_iter();
        let mut in_flight = FuturesUnordered::new();
        let mut worst: Option<Failure> = None;
        // The signal that stopped the sending (its exit code), once one came.
        let mut interrupted: Option<u8> = None;
        // Each in-flight submit's intent key and the handle that drops it, by line number.
        let mut keys = std::collections::HashMap::new();
        loop {
            while interrupted.is_none() && in_flight.len() < self.concurrency {
                let Some(line) = queue.next() else { break };
                let key = SubmitOptions::fresh_key();
                let options = SubmitOptions {
                    origin: Some(Origin::line(source.clone(), line.number)),
                    idempotency_key: Some(key.clone()),
                    ..Default::default()
                };
                let (submit, handle) = futures::future::abortable(async move {
                    self.client
                        .submit_raw_with(self.kind.as_str(), &line.body, &options)
                        .await
                });
                keys.insert(line.number, (key, handle));
                in_flight.push(async move { (line.number, line.warnings, submit.await) });
            }
            if in_flight.is_empty() {
                break;
            }
            tokio::select! {
                Some((number, warnings, result)) = in_flight.next() => {
                    keys.remove(&number);
                    match result {
                        Ok(result) => self.report(number, &warnings, result, &mut tally, &mut worst).await,
                        // Dropped on Ctrl-C before its intent was recorded: nothing was sent.
                        Err(futures::future::Aborted) => tally.unsent += 1,
                    }
                }
                signal = interrupt.wait() => {
                    if interrupted.is_some() {
                        // A second Ctrl-C: leave now. The in-flight submits' intents are in
                        // the ledger and show as uncertain.
                        tally.uncertain += in_flight.len() as u64;
                        break;
                    }
                    interrupted = Some(signal);
                    let sending = self.drop_unrecorded(&keys).await;
                    self.ctx.note(format!(
                        "interrupted: sending no more lines; waiting for {sending} in-flight submit(s) (Ctrl-C again to leave now)",
                    ));
                }
                // Once interrupted, a submit whose POST was out may come back 429 and start
                // waiting out the cap (an hour at most): looked at again, it is dropped too.
                () = tokio::time::sleep(LOOK_AGAIN), if interrupted.is_some() => {
                    self.drop_unrecorded(&keys).await;
                }
            }
        }
        tally.unsent += queue.len() as u64;
        self.summary(&tally, interrupted.is_some());
        if let Some(signal) = interrupted {
            return Err(Failure::new(
                signal,
                format!(
                    "interrupted: {} submitted, {} uncertain, {} unsent; run the same command again to send the unsent lines",
                    tally.submitted, tally.uncertain, tally.unsent
                ),
            ));
        }
        worst.map_or(Ok(()), Err)
    }

    /// On Ctrl-C: drops every in-flight submit whose intent is not in the ledger yet (it waits
    /// for the ledger's lock, held by another process, and has sent nothing) or reads refused
    /// (it waits out the concurrency cap, a 429 that created no job, to resend in up to an
    /// hour: nothing is out), and returns how many go on (their POST may be out: their answers
    /// are awaited). Both count as unsent, and a rerun sends them. The submits are not polled
    /// while the ledger is asked, so none records or resends its intent in between. Submits
    /// waiting out the cap were awaited, so the first Ctrl-C left the command waiting for the
    /// hour, and the second counted them as uncertain, which they are not.
    async fn drop_unrecorded(
        &self,
        keys: &std::collections::HashMap<u64, (String, futures::future::AbortHandle)>,
    ) -> usize {
        let mut sending = 0;
        for (key, handle) in keys.values() {
            match self.ledger.intent(key).await {
                Ok(None) => handle.abort(),
                Ok(Some(entry)) if entry.state == IntentState::Refused => handle.abort(),
                _ => sending += 1,
            }
        }
        sending
    }

    /// An advisory lock on the bodies file, taken before the ledger is asked which lines were
    /// sent. Two `submit --bodies FILE` at once (two terminals, an overlapping cron job) would
    /// otherwise both find no line sent and both send every line: each a paid job, twice. The
    /// second run waits for the first (Ctrl-C leaves), then skips the lines it sent. Where the
    /// file system has no locks the run goes on unlocked, with a warning.
    async fn exclusive(
        &self,
        path: &Path,
        interrupt: &mut Signals,
    ) -> Result<Option<std::fs::File>, Failure> {
        let file = std::fs::File::open(path)
            .map_err(|e| Failure::usage(format!("--bodies {}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => return Ok(Some(file)),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(error)) => {
                tracing::warn!(%error, file = %path.display(), "cannot lock the bodies file; a second run of it at the same time could send its lines twice");
                return Ok(None);
            }
        }
        self.ctx.note(format!(
            "another hasdata is submitting {}: waiting for it to finish, then sending only the lines it did not send",
            path.display()
        ));
        // Tried again on a timer, not waited for in a blocking `lock()` on a thread of the
        // runtime's pool: such a thread cannot be stopped, and the runtime's drop at exit
        // joins it, so a Ctrl-C printed its message and then hung until the other run ended.
        let locked = async move {
            loop {
                tokio::time::sleep(LOCK_RETRY).await;
                match file.try_lock() {
                    Ok(()) => return Ok(file),
                    Err(std::fs::TryLockError::WouldBlock) => {}
                    Err(std::fs::TryLockError::Error(error)) => return Err(error),
                }
            }
        };
        tokio::select! {
            locked = locked => match locked {
                Ok(file) => Ok(Some(file)),
                Err(e) => Err(Failure::new(code::OTHER, format!("--bodies {}: cannot lock it: {e}", path.display()))),
            },
            signal = interrupt.wait() => Err(Failure::new(
                signal,
                format!("interrupted while waiting for the other run of {}; nothing was sent", path.display()),
            )),
        }
    }

    /// Whether the ledger has this line (same file, line and body) as submitted or unresolved.
    async fn already_sent(&self, source: &str, line: &super::check::Line) -> Result<bool, Failure> {
        let bytes = serde_json::to_vec(&line.body)
            .map_err(|e| Failure::usage(format!("line {}: {e}", line.number)))?;
        let origin = Origin::line(source, line.number);
        let found = self
            .ledger
            .intents_for(&origin, &BodyDigest::of(&bytes))
            .await?;
        let Some(entry) = found
            .iter()
            .find(|e| e.state == IntentState::Submitted || e.state.is_unresolved())
        else {
            return Ok(false);
        };
        let number = line.number;
        let job = match (&entry.state, &entry.job_id) {
            (IntentState::Submitted, Some(id)) => id.job_id(),
            _ => None,
        };
        match job {
            Some(id) => {
                let mut out = self.ctx.known(id).await;
                out.line = Some(number);
                out.skipped = Some("submitted".into());
                self.ctx.emit(
                    || format!("line {number}: already submitted as job {id}; skipped"),
                    out.to_value(),
                );
            }
            None => {
                let key = entry.intent.key.clone();
                let since = entry.intent.created_at.clone();
                let mut out = IntentOut::from_entry(entry);
                out.line = Some(number);
                out.skipped = Some("uncertain".into());
                self.ctx.emit(
                    || format!("line {number}: uncertain since {since} (intent {key}); check the dashboard, then `{} jobs retry {key} --yes` if no job exists; skipped", crate::context::hasdata()),
                    out.to_value(),
                )
            }
        }
        Ok(true)
    }

    /// Prints one line's outcome the moment it is known.
    async fn report(
        &self,
        number: u64,
        warnings: &[hasdata_model::Problem],
        result: Result<Job, Error>,
        tally: &mut Tally,
        worst: &mut Option<Failure>,
    ) {
        match result {
            Ok(job) => {
                tally.submitted += 1;
                let mut out = self.ctx.seen(&job).await;
                out.line = Some(number);
                out.warnings = warnings.iter().map(WarningOut::from).collect();
                self.ctx
                    .emit(|| format!("line {number}: job {}", job.id), out.to_value());
                self.progress.submitted(number, &job.id.to_string());
            }
            Err(error) => {
                let key = match &error {
                    Error::SubmitUncertain { key, .. } => {
                        tally.uncertain += 1;
                        Some(key.clone())
                    }
                    _ => {
                        tally.failed += 1;
                        None
                    }
                };
                let failure = Failure::from(error);
                let mut out = failure.to_out();
                out.line = Some(number);
                out.key = key;
                self.ctx.emit(
                    || format!("line {number}: failed: {}", failure.message),
                    out.to_value(),
                );
                self.progress.failed(number);
                if worst.as_ref().is_none_or(|w| w.code == code::OTHER) {
                    *worst = Some(Failure::new(
                        failure.code,
                        format!("line {number} failed: {}", failure.message),
                    ));
                }
            }
        }
    }

    fn summary(&self, tally: &Tally, interrupted: bool) {
        let text = format!(
            "{} submitted, {} uncertain, {} failed, {} skipped, {} unsent",
            tally.submitted, tally.uncertain, tally.failed, tally.skipped, tally.unsent
        );
        self.progress.finish();
        if self.ctx.global.json {
            let summary = BulkSummaryOut {
                summary: BulkCounts {
                    submitted: tally.submitted,
                    uncertain: tally.uncertain,
                    failed: tally.failed,
                    skipped: tally.skipped,
                    unsent: tally.unsent,
                    interrupted,
                },
            };
            crate::context::out_line(&serde_json::to_string(&summary).unwrap_or_default());
        } else {
            self.ctx.note(text);
        }
    }
}
