//! What every command needs: output mode, the client, the ledger, the progress display.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use hasdata_cli::output::JobOut;
use hasdata_jobs::{Client, JobLedger, JobProgress};
use hasdata_model::{Job, JobId};
use serde_json::Value;

use crate::args::Global;
use crate::fail::Failure;
use crate::ledger::{self, Ledger};
use crate::progress::Display;
use crate::secret;

/// `hasdata` with the global flags a printed command needs to reach the same jobs (see
/// [`hasdata`]); set once when the command line is read.
static HASDATA: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// `hasdata`, followed by `--base-url` when it is not the default and `--ledger` when one was
/// named (never one holding a password): the start of every command a message tells the user
/// to run, so that command reaches the same job from a shell without the same environment (a
/// simulator's job id means nothing to api.hasdata.com).
pub fn hasdata() -> &'static str {
    HASDATA.get().map_or("hasdata", String::as_str)
}

/// Set once stdout's reader has gone away (`| head`).
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Why stdout failed, when it was not its reader going away (a full disk, an I/O error): the
/// output is lost, which is a failure (exit 1), not the quiet 141 of `| head`.
static STDOUT_FAILED: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Prints one line on stdout. When the reader has gone away (a closed pipe), nothing more is
/// printed and the command goes on with its work: whatever it was doing (submits, ledger
/// updates, a file export) completes, and `hasdata` exits 141 at the end, as a Unix tool
/// killed by SIGPIPE would, without a word. Any other write error (`> file` on a full disk)
/// also stops the printing, but the command then fails at the end with exit 1 naming the
/// error (see [`stdout_failed`]). Returns whether the line was written.
pub fn out_line(text: &str) -> bool {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return false;
    }
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => true,
        Err(error) => {
            if error.kind() != std::io::ErrorKind::BrokenPipe {
                let _ = STDOUT_FAILED.set(error.to_string());
            }
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            false
        }
    }
}

/// The error stdout failed with, other than a closed pipe: what was printed is incomplete.
pub fn stdout_failed() -> Option<&'static str> {
    STDOUT_FAILED.get().map(String::as_str)
}

/// Whether stdout's reader went away during the command.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// Prints one line on stderr; a closed stderr is ignored.
pub fn err_line(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// The command's environment.
pub struct Ctx {
    pub global: Global,
    pub display: Display,
    /// The ledger, once opened.
    opened: std::sync::OnceLock<Ledger>,
    /// Set when a command that only reads found no ledger at the default location (a fresh
    /// machine) and read an empty one in memory instead of making the file.
    no_ledger_yet: AtomicBool,
    /// Set once a ledger that cannot be opened was warned about (see [`Ctx::unusable_ledger`]).
    unusable_said: AtomicBool,
}

impl Ctx {
    pub fn new(global: Global) -> Self {
        let _ = HASDATA.set(format!(
            "hasdata{}",
            crate::commands::results::global_flags(&global)
        ));
        ledger::remember(global.ledger.as_deref());
        let wanted = !(global.no_progress || global.quiet || global.json);
        Ctx {
            display: Display::new(wanted, global.verbose > 0),
            global,
            opened: std::sync::OnceLock::new(),
            no_ledger_yet: AtomicBool::new(false),
            unusable_said: AtomicBool::new(false),
        }
    }

    /// Notes a job record the command just read (a submit, a status, a stop) in the ledger,
    /// when the ledger has the job, and returns the job as `--json` prints it, the ledger's
    /// fields added. Every status the CLI sees goes through here, so `jobs list` never lags
    /// behind what a command showed.
    pub async fn seen(&self, job: &Job) -> JobOut {
        let ledger = match self.reading_ledger().await {
            Ok(ledger) => ledger,
            Err(failure) => {
                self.unusable_ledger(job.id, &failure, UNNOTED);
                return JobOut::from_record(job);
            }
        };
        let status = job.status.as_str();
        if !status.is_empty() {
            let progress = JobProgress {
                status: status.to_owned(),
                rows: job.rows_reported(),
                credits: job.credits_reported(),
            };
            if let Err(error) = ledger.record_progress(job.id, &progress).await {
                // A ledger that refuses writes (read-only, a full disk) keeps showing an old
                // status in `jobs list`: said once, naming the flag and the file.
                self.unusable_ledger(
                    job.id,
                    &Failure::from(error),
                    "the ledger could not note the job's status, so `jobs list` shows an older one",
                );
            }
        }
        Self::with_entry(&ledger, job).await
    }

    /// The job as `--json` prints it, with the ledger's fields, when the ledger has already
    /// noted this record (an export that read the status noted it): [`Ctx::seen`] without
    /// writing the same progress again, which with `synchronous=FULL` is a sync of its own.
    pub async fn noted(&self, job: &Job) -> JobOut {
        match self.reading_ledger().await {
            Ok(ledger) => Self::with_entry(&ledger, job).await,
            Err(failure) => {
                self.unusable_ledger(job.id, &failure, UNNOTED);
                JobOut::from_record(job)
            }
        }
    }

    async fn with_entry(ledger: &Ledger, job: &Job) -> JobOut {
        let out = JobOut::from_record(job);
        match ledger.job(job.id).await {
            Ok(Some(entry)) => out.with_entry(&entry),
            _ => out,
        }
    }

    /// The job as the ledger has it (only its id when the ledger lacks it).
    pub async fn known(&self, id: JobId) -> JobOut {
        let entry = match self.reading_ledger().await {
            Ok(ledger) => ledger.job(id).await.ok().flatten(),
            Err(failure) => {
                self.unusable_ledger(id, &failure, UNNOTED);
                None
            }
        };
        match entry {
            Some(entry) => JobOut::from_entry(&entry),
            None => JobOut::bare(id),
        }
    }

    /// Warns, once per command, that the ledger cannot be opened and what that costs
    /// (`consequence`): a command that only notes what it saw (`status`, `stop`, `wait`,
    /// `results`) goes on without it, but a mistyped `--ledger` must not pass unseen while the
    /// real ledger misses the note.
    /// `job` is the job the note was for, a `job_id` field as every other warning about a
    /// job has (a log filtered by `job_id` missed this one).
    pub fn unusable_ledger(&self, job: JobId, failure: &Failure, consequence: &str) {
        if !self.unusable_said.swap(true, Ordering::Relaxed) {
            tracing::warn!(job_id = %job, error = %failure.message, "{consequence}");
        }
    }

    /// Prints a result: the human line, or the JSON object with `--json`.
    pub fn emit(&self, human: impl FnOnce() -> String, json: Value) {
        if self.global.json {
            out_line(&json.to_string());
        } else if !self.global.quiet {
            let text = human();
            self.display.suspend(|| out_line(&text));
        }
    }

    /// A note on stderr (not with `--json` or `-q`).
    pub fn note(&self, text: impl AsRef<str>) {
        if !self.global.json && !self.global.quiet {
            self.display.suspend(|| err_line(text.as_ref()));
        }
    }

    /// The ledger of the base URL in use, for a command that records jobs in it (submit,
    /// run): the `--ledger` file or database (SQLite by default), opened once per command. A
    /// wait for another process's lock on the file awaits a timer, so a command that listens
    /// for signals ends on one meanwhile by dropping this future.
    ///
    /// The default file is made, with its directory, on first use: that is where a fresh
    /// machine's ledger begins. A file named by `--ledger` is made too, but not its
    /// directory: a directory that does not exist is far more often a mistyped path than a
    /// wish for a new tree, and making it would record paid jobs where the user will never
    /// look (and `jobs list` on the right path would not show them). A file that can only
    /// be read is refused here, before anything is sent, naming the flag and the file.
    pub async fn ledger(&self) -> Result<Ledger, Failure> {
        if let Some(ledger) = self.opened.get() {
            return Ok(ledger.clone());
        }
        let location = ledger::location(self.global.ledger.as_deref())?;
        // Every command that records jobs sends them: without a usable API key it can do
        // neither, and says so before a ledger file is made for nothing.
        self.api_key()?;
        if self.global.ledger.is_some()
            && let hasdata_ledger::Location::Sqlite(path) = &location
            && let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
            && !dir.is_dir()
        {
            return Err(Failure::usage(format!(
                "--ledger (or HASDATA_LEDGER) {location}: the directory {} does not exist; check the path, or make the directory first (nothing was sent){}",
                dir.display(),
                ledger::tilde(&location.to_string())
            )));
        }
        let new_file = self.global.ledger.is_some()
            && matches!(&location, hasdata_ledger::Location::Sqlite(path) if !path.exists());
        let ledger = location
            .open_writable(&self.global.base_url)
            .await
            .map_err(|e| ledger::open_failure(&location, e))?;
        if new_file {
            // A mistyped path (or a relative HASDATA_LEDGER read from another directory)
            // starts a ledger that knows none of the user's jobs: `submit --bodies` would
            // send again every line the real one has as sent. Said, so it is seen.
            self.note(format!(
                "a new ledger: {location} (--ledger or HASDATA_LEDGER) did not exist, so it knows no earlier jobs"
            ));
        }
        Ok(self.opened.get_or_init(|| ledger).clone())
    }

    /// The ledger, for a command that only reads it or notes what happened to jobs already
    /// in it (`jobs list`, `jobs show`, `wait`, `results`...): nothing is made. A file
    /// `--ledger` names that does not exist is bad usage naming the flag and the path: a
    /// mistyped path must not read as an empty ledger, the user's paid jobs seemingly gone.
    /// The default file not existing yet is a fresh machine: an empty ledger in memory is
    /// read instead ([`Ctx::no_ledger_yet`]), and no file is made.
    pub async fn reading_ledger(&self) -> Result<Ledger, Failure> {
        if let Some(ledger) = self.opened.get() {
            return Ok(ledger.clone());
        }
        let location = ledger::location(self.global.ledger.as_deref())?;
        let ledger = match (&location, self.global.ledger.is_some()) {
            (hasdata_ledger::Location::Sqlite(path), false) if !path.exists() => {
                self.no_ledger_yet.store(true, Ordering::Relaxed);
                Arc::new(hasdata_jobs::MemoryLedger::new()) as Ledger
            }
            _ => location
                .open_existing(&self.global.base_url)
                .await
                .map_err(|e| ledger::open_failure(&location, e))?,
        };
        Ok(self.opened.get_or_init(|| ledger).clone())
    }

    /// Whether the ledger read was the empty stand-in for a default file not made yet: no
    /// job was ever recorded on this machine (see [`Ctx::reading_ledger`]).
    pub fn no_ledger_yet(&self) -> bool {
        self.no_ledger_yet.load(Ordering::Relaxed)
    }

    /// The API key: from `--api-key-file` / HASDATA_API_KEY_FILE when given (a file keeps it
    /// out of process listings), else `--api-key` / HASDATA_API_KEY.
    /// A key a header cannot carry (a second line in the file, a stray control character) is
    /// refused here, naming where it came from and never the key itself.
    fn api_key(&self) -> Result<String, Failure> {
        let (key, from) = if let Some(path) = &self.global.api_key_file {
            (
                secret::read_file("--api-key-file", path)?,
                format!("--api-key-file {}", path.display()),
            )
        } else {
            let key = self
                .global
                .api_key
                .as_deref()
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| {
                    Failure::usage(
                        "no API key: set HASDATA_API_KEY or HASDATA_API_KEY_FILE, or pass --api-key-file (`hasdata demo` needs none)",
                    )
                })?;
            (key, "HASDATA_API_KEY or --api-key".to_owned())
        };
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Failure::usage(format!(
                "the API key from {from} holds spaces, control or non-ASCII characters: it must be the key alone, on one line"
            )));
        }
        Ok(key)
    }

    /// A client recording submits in `ledger`, with [`call_retries`]: the one retry layer of
    /// a call. Waits ride out failed polls on top of it, on the poll schedule (see
    /// `docs/cli.md`, "Retries").
    /// Whether the base URL is not HasData's (a simulator): http webhooks are allowed there.
    pub fn local_api(&self) -> bool {
        !self.global.base_url.contains(hasdata_jobs::HASDATA_HOST)
    }

    pub fn client(
        &self,
        ledger: Arc<dyn JobLedger>,
        page_concurrency: usize,
    ) -> Result<Client, Failure> {
        let key = self.api_key()?;
        let local = self.local_api();
        Client::builder()
            .api_key(&key)
            .base_url(&self.global.base_url)
            .ledger(ledger)
            .page_concurrency(page_concurrency)
            // A 429 on a submit (the concurrency cap) is waited out for as long as it takes:
            // Ctrl-C ends the wait.
            .concurrency_cap_wait(std::time::Duration::MAX)
            .retry_policy(call_retries())
            .allow_http_webhooks(local)
            // The commands check bodies themselves (`commands::check`), before the first
            // send and with their own flags; the library would only print the same again.
            .validation(hasdata_model::ValidationMode::Off)
            .build()
            .map_err(Failure::from)
    }
}

/// What a command that notes jobs loses when the ledger cannot be opened.
const UNNOTED: &str =
    "the ledger cannot be opened, so what this command saw of the job is not noted in it";

/// How one call is retried: 4 attempts in all, waits of at most 0.25, 0.5 and 1 s between them
/// (full jitter), and 10 s of waiting in all (a `Retry-After` up to 10 s is honoured). A dead
/// host fails in about two seconds with one line; a blip (a reset, one 503) is ridden out
/// unseen. The library's default (5 attempts, up to 2 minutes) suits a service that must
/// outlast an outage; a command someone waits on at a prompt must not sit silent that long.
/// `-v` shows each retry.
pub fn call_retries() -> hasdata_transport::RetryPolicy {
    use std::time::Duration;
    hasdata_transport::RetryPolicy {
        max_attempts: CALL_ATTEMPTS,
        base_delay: Duration::from_millis(250),
        max_delay: Duration::from_secs(1),
        max_total_delay: Duration::from_secs(10),
        max_retry_after: Duration::from_secs(10),
    }
}

/// Attempts per call, the first included (see [`call_retries`]).
pub const CALL_ATTEMPTS: u32 = 4;
