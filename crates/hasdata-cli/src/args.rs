//! The command line, as clap sees it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit codes, listed in `--help`.
pub const EXIT_CODES: &str = "Exit codes:
  0    ok
  1    any other error (an unknown job, a file or the ledger unusable, an unreadable answer)
  2    bad usage or an invalid body
  3    authentication (401, 403)
  4    the job ended stopped or with an error
  5    the wait deadline passed (the job id is printed)
  6    gave up after retries
  7    incomplete export: fewer rows than the job reports (kept as FILE.partial)
  130  interrupted (SIGINT)
  141  stdout was closed by its reader (as a tool killed by SIGPIPE)
  143  terminated (SIGTERM)";

/// The longest duration any flag takes: 30 days. Bounded when the flags are read, so no later
/// arithmetic on it can overflow.
pub const MAX_SECONDS: f64 = 30.0 * 24.0 * 3600.0;

/// Seconds from 0 to [`MAX_SECONDS`], checked when the flags are parsed (exit 2 otherwise).
fn seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if value.is_finite() && (0.0..=MAX_SECONDS).contains(&value) => Ok(value),
        _ => Err(format!(
            "expected seconds from 0 to {MAX_SECONDS} (30 days), got {text:?}"
        )),
    }
}

/// A count from 1 up (`--concurrency`, `--limit`, the queue's cap): 0 would do nothing, or
/// wait forever, so it is refused when the flags are read (exit 2, nothing sent).
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(value) if value >= 1 => Ok(value),
        _ => Err(format!("expected a whole number from 1 up, got {text:?}")),
    }
}

/// [`at_least_one`] as a `u32` (the queue's running-jobs cap).
fn cap(text: &str) -> Result<u32, String> {
    at_least_one(text).and_then(|n| {
        u32::try_from(n).map_err(|_| {
            format!(
                "expected a whole number from 1 to {}, got {text:?}",
                u32::MAX
            )
        })
    })
}

/// A lease: from 1 s (a worker extends it every third of it, so shorter leases would be lost
/// to a slow round trip) to [`MAX_SECONDS`].
fn lease_seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if value.is_finite() && (1.0..=MAX_SECONDS).contains(&value) => Ok(value),
        _ => Err(format!(
            "expected seconds from 1 to {MAX_SECONDS} (30 days), got {text:?}"
        )),
    }
}

/// A pause above 0 (a worker's idle poll: 0 would hammer the database) up to [`MAX_SECONDS`].
fn pause_seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 && value <= MAX_SECONDS => Ok(value),
        _ => Err(format!(
            "expected seconds above 0, up to {MAX_SECONDS} (30 days), got {text:?}"
        )),
    }
}

/// A job id typed by a person for a job HasData created (`queue resolve --job-id`): a whole
/// number from 1 (what the submit answer carries) or a UUID (the form HasData's docs pages
/// show). Anything else is a typo the worker would follow forever.
fn typed_job_id(text: &str) -> Result<String, String> {
    let id = text.trim();
    let number = !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_digit())
        && !id.starts_with('0')
        && id.parse::<u64>().is_ok();
    if number || uuid::Uuid::try_parse(id).is_ok() {
        return Ok(id.to_owned());
    }
    Err(format!(
        "expected the job's id as HasData shows it: a whole number such as 416349 (or a UUID), got {text:?}"
    ))
}

/// The longest age `--retain` and `--prune-older-than` take: ten years.
const MAX_AGE_SECONDS: u64 = 3650 * 24 * 3600;

/// An age: a whole number with a unit, `s`, `m`, `h` or `d` (`7d`, `36h`), from 1 s to ten
/// years; a bare number is seconds.
fn age(text: &str) -> Result<std::time::Duration, String> {
    let fail = || {
        format!("expected an age such as 7d, 36h, 30m or 90s (from 1 s to 3650 days), got {text:?}")
    };
    let trimmed = text.trim();
    let (digits, unit) = match trimmed.char_indices().last() {
        Some((at, unit)) if unit.is_ascii_alphabetic() => (&trimmed[..at], unit),
        _ => (trimmed, 's'),
    };
    let scale = match unit.to_ascii_lowercase() {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return Err(fail()),
    };
    let count: u64 = digits.trim().parse().map_err(|_| fail())?;
    match count.checked_mul(scale) {
        Some(secs) if (1..=MAX_AGE_SECONDS).contains(&secs) => {
            Ok(std::time::Duration::from_secs(secs))
        }
        _ => Err(fail()),
    }
}

/// A listening address, `ADDR:PORT` (`0.0.0.0:8088`, `[::1]:8088`, `10.0.0.5:0`).
fn bind_addr(text: &str) -> Result<std::net::SocketAddr, String> {
    text.trim().parse().map_err(|_| {
        format!(
            "expected ADDR:PORT such as 127.0.0.1:8088, 0.0.0.0:8088 or [::1]:8088, got {text:?}"
        )
    })
}

/// A poll interval factor from 1 to 10.
fn factor(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if value.is_finite() && (1.0..=10.0).contains(&value) => Ok(value),
        _ => Err(format!("expected a factor from 1 to 10, got {text:?}")),
    }
}

/// HasData Scraper Jobs from a shell: submit, wait, export, with a durable job ledger.
#[derive(Debug, Parser)]
#[command(name = "hasdata", version, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes, listed under their own heading in every command's help.
/// Its `Debug` shows whether a key was given, never the key.
#[derive(Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// The API key (never printed). Visible to other users in process listings when given as
    /// a flag: prefer HASDATA_API_KEY or --api-key-file.
    #[arg(long, env = "HASDATA_API_KEY", global = true, hide_env_values = true)]
    pub api_key: Option<String>,
    /// A file holding the API key (surrounding whitespace ignored); wins over --api-key.
    #[arg(long, env = "HASDATA_API_KEY_FILE", global = true, value_name = "PATH")]
    pub api_key_file: Option<PathBuf>,
    /// The API's base URL.
    #[arg(long, env = "HASDATA_BASE_URL", global = true, default_value = hasdata_jobs::DEFAULT_BASE_URL, value_parser = base_url)]
    pub base_url: String,
    /// The job ledger: a SQLite file (a path or sqlite://PATH), or a postgres:// URL that
    /// several machines share (its password is never printed). Default: the user's data
    /// directory, hasdata/ledger.sqlite.
    #[arg(
        long,
        env = "HASDATA_LEDGER",
        global = true,
        value_name = "PATH|URL",
        hide_env_values = true
    )]
    pub ledger: Option<String>,
    /// Machine output: one JSON object per line on stdout; errors as JSON on stderr.
    #[arg(long, global = true)]
    pub json: bool,
    /// More logging (repeat for more).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// No progress display (it is off anyway when stderr is not a terminal).
    #[arg(long, global = true)]
    pub no_progress: bool,
}

impl std::fmt::Debug for Global {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Global")
            .field("api_key", &self.api_key.as_ref().map(|_| "[REDACTED]"))
            .field("api_key_file", &self.api_key_file)
            .field("base_url", &self.base_url)
            .field(
                "ledger",
                &self.ledger.as_deref().map(hasdata_ledger::redact_url),
            )
            .field("json", &self.json)
            .field("verbose", &self.verbose)
            .field("quiet", &self.quiet)
            .field("no_progress", &self.no_progress)
            .finish()
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Submit a job (or one per line of a JSONL file) and print its id.
    Submit(SubmitArgs),
    /// Show a job's status.
    Status(JobArg),
    /// Wait for a job to end, showing progress.
    Wait(WaitArgs),
    /// Stop a job early (rows produced so far are kept).
    Stop(JobArg),
    /// Write a job's rows to a file or stdout.
    Results(ResultsArgs),
    /// Submit, wait and write the rows, in one go.
    Run(RunArgs),
    /// The job ledger: what was submitted from here.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// List the scrapers, one slug per line.
    Scrapers,
    /// Print the JSON Schema of a scraper's body (or its row, with --row).
    Schema(SchemaArgs),
    /// Receive webhooks and print the events as JSON lines.
    Webhook {
        #[command(subcommand)]
        command: WebhookCommand,
    },
    /// The shared queue (PostgreSQL, `--ledger postgres://...`): add bodies, see counts.
    Queue {
        #[command(subcommand)]
        command: QueueCommand,
    },
    /// Drain the shared queue: claim, submit, wait, write rows, on any number of machines.
    Worker(WorkerArgs),
    /// Run the local simulator of the API.
    Sim(hasdata_sim::cli::SimArgs),
    /// Run a contacts job and a crawler job end to end against an in-process simulator.
    Demo(DemoArgs),
    /// Print a shell completion script (e.g. `hasdata completions bash > ~/.local/share/bash-completion/completions/hasdata`).
    Completions(CompletionsArgs),
    /// Print the manual page (roff), or write one page per command into a directory.
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct JobArg {
    /// The job id.
    pub id: hasdata_model::JobId,
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The scraper slug (see `hasdata scrapers`).
    pub slug: String,
    /// The body: a JSON file, or - for stdin.
    #[arg(long, conflicts_with = "bodies", required_unless_present = "bodies")]
    pub body: Option<String>,
    /// Many bodies: a JSONL file, one job per line, or - for stdin.
    #[arg(long)]
    pub bodies: Option<PathBuf>,
    /// Submits in flight at once with --bodies.
    #[arg(long, default_value_t = 2, value_parser = at_least_one)]
    pub concurrency: usize,
    /// With --bodies, send lines this ledger already recorded as submitted or uncertain
    /// (they are skipped otherwise).
    #[arg(long, requires = "bodies")]
    pub again: bool,
    #[command(flatten)]
    pub check: CheckArgs,
}

/// How a body is checked before it is sent.
#[derive(Clone, Copy, Debug, Args)]
pub struct CheckArgs {
    /// Refuse a body on warnings too (rules HasData does not document), not only on errors.
    #[arg(long, conflicts_with = "no_validate")]
    pub strict: bool,
    /// Send the body as it is, unchecked.
    #[arg(long)]
    pub no_validate: bool,
}

impl CheckArgs {
    /// The validation mode these flags ask for.
    pub fn mode(self) -> hasdata_model::ValidationMode {
        crate::commands::check::mode(self.strict, self.no_validate)
    }
}

#[derive(Clone, Debug, Args)]
pub struct PollArgs {
    /// Seconds before the first poll after the first (HasData: at least 10).
    #[arg(long, default_value_t = 10.0, value_parser = seconds)]
    pub poll_initial: f64,
    /// Each interval is the previous times this.
    #[arg(long, default_value_t = 1.5, value_parser = factor)]
    pub poll_factor: f64,
    /// The longest interval, in seconds.
    #[arg(long, default_value_t = 60.0, value_parser = seconds)]
    pub poll_cap: f64,
    /// Give up waiting after this many seconds (the job goes on running).
    #[arg(long, default_value_t = 3600.0, value_parser = seconds)]
    pub timeout: f64,
    /// Allow a first interval under 10 s against api.hasdata.com.
    #[arg(long)]
    pub allow_fast_polling: bool,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The job id.
    pub id: hasdata_model::JobId,
    #[command(flatten)]
    pub poll: PollArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per line.
    Jsonl,
    /// One JSON array.
    Json,
    /// CSV: columns from the row schema and the rows seen; nested values JSON-encoded.
    Csv,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Source {
    /// data.json when the job finished, else the pages.
    Auto,
    /// The paged results API.
    Pages,
    /// The data.json file (falls back to the pages when it cannot be had).
    File,
}

#[derive(Clone, Debug, Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,
    /// Write here (a temporary file beside it, renamed when complete; `-` is stdout; a device
    /// or FIFO is written straight through) instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Where the rows come from.
    #[arg(long, value_enum, default_value_t = Source::Auto)]
    pub source: Source,
    /// Result pages fetched at once (8 by default: see docs/benchmarks.md).
    #[arg(long, default_value_t = hasdata_jobs::DEFAULT_PAGE_CONCURRENCY, value_parser = at_least_one)]
    pub concurrency: usize,
}

#[derive(Debug, Args)]
pub struct ResultsArgs {
    /// The job id.
    pub id: hasdata_model::JobId,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Write the rows of a job that has not ended (they are not all there yet; the job is not
    /// marked collected).
    #[arg(long)]
    pub partial: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scraper slug.
    pub slug: String,
    /// The body: a JSON file, or - for stdin.
    #[arg(long)]
    pub body: String,
    #[command(flatten)]
    pub poll: PollArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Stop the job once it has spent this many credits.
    #[arg(long)]
    pub max_credits: Option<u64>,
    /// On Ctrl-C, stop the job instead of leaving it running.
    #[arg(long)]
    pub stop_on_interrupt: bool,
    #[command(flatten)]
    pub check: CheckArgs,
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// The jobs in the ledger, newest first (filters combine).
    List(ListArgs),
    /// Remove a job from the ledger (the job itself is untouched; `resume` stops collecting it).
    Forget(JobArg),
    /// One job's ledger entry (by id), or one submit intent (by its key).
    Show(ShowArgs),
    /// Send an uncertain submit again, with its own Idempotency-Key, after checking the
    /// dashboard shows no such job.
    Retry(RetryArgs),
    /// Wait for and collect every job not collected yet, without submitting anything.
    Resume(ResumeArgs),
}

/// A `--since` value: a date (`2026-11-29`) or an RFC 3339 time, as the UTC text the ledger
/// stores (so entries compare as text).
/// A `--status` filter: one of the statuses the API documents, in any case. A typo (or the
/// old help's `error`) would otherwise list nothing and exit 0, as if no job had it.
fn job_status(text: &str) -> Result<String, String> {
    use hasdata_model::OpenEnum;
    let status = text.trim().to_ascii_lowercase();
    if hasdata_model::JobStatus::from(status.as_str()).is_known() {
        Ok(status)
    } else {
        Err(format!(
            "expected one of {}, got {text:?}",
            <hasdata_model::JobStatus as OpenEnum>::KNOWN.join(", ")
        ))
    }
}

/// A `--scraper` filter: one of the 20 slugs (`hasdata scrapers`).
fn scraper_slug(text: &str) -> Result<String, String> {
    text.trim()
        .parse::<hasdata_model::ScraperKind>()
        .map(|kind| kind.as_str().to_owned())
        .map_err(|e| e.to_string())
}

fn since(text: &str) -> Result<String, String> {
    use time::format_description::well_known::Rfc3339;
    let text = text.trim();
    let error = || {
        format!(
            "expected a date (2026-11-29) or an RFC 3339 time (2026-11-29T08:00:00Z), got {text:?}"
        )
    };
    if let Ok(at) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return at
            .to_offset(time::UtcOffset::UTC)
            .format(&Rfc3339)
            .map_err(|_| error());
    }
    let mut parts = text.splitn(3, '-');
    let mut number = || parts.next().and_then(|part| part.parse::<u16>().ok());
    let (Some(year), Some(month), Some(day)) = (number(), number(), number()) else {
        return Err(error());
    };
    let month = u8::try_from(month)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok())
        .ok_or_else(error)?;
    let day = u8::try_from(day).map_err(|_| error())?;
    time::Date::from_calendar_date(i32::from(year), month, day)
        .map(|date| date.to_string())
        .map_err(|_| error())
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only jobs whose latest known status is this (pending, in_progress, exporting_data,
    /// finished, finished_with_error, stopped).
    #[arg(long, value_name = "STATUS", value_parser = job_status)]
    pub status: Option<String>,
    /// Only jobs of this scraper.
    #[arg(long, value_name = "SLUG", value_parser = scraper_slug)]
    pub scraper: Option<String>,
    /// Only jobs submitted at or after this date or time (UTC unless the time says).
    #[arg(long, value_name = "DATE", value_parser = since)]
    pub since: Option<String>,
    /// At most this many jobs.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// First ask the API for the status of every listed job that has not ended (4 at a
    /// time) and note the answers in the ledger.
    #[arg(long)]
    pub refresh: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A job id, or the key of a submit intent (see `hasdata jobs list`).
    pub target: String,
}

#[derive(Debug, Args)]
pub struct RetryArgs {
    /// The intent's key (see `hasdata jobs list`).
    pub key: String,
    /// Confirms that the dashboard shows no job for this submit: if HasData did create one and
    /// does not honour the Idempotency-Key, a second job is created and billed.
    #[arg(long)]
    pub yes: bool,
    /// The original body (needed when the ledger's copy had webhook secrets removed and its
    /// line is not in its file any more).
    #[arg(long)]
    pub body: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// Where collected rows go: one `ID.FORMAT` file per job.
    #[arg(long, default_value = "hasdata-results")]
    pub dir: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,
    /// Jobs waited for and collected at once.
    #[arg(long, default_value_t = 2, value_name = "N", value_parser = at_least_one)]
    pub concurrency: usize,
    #[command(flatten)]
    pub poll: PollArgs,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The scraper slug.
    pub slug: String,
    /// The row schema instead of the body schema.
    #[arg(long)]
    pub row: bool,
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Listen for webhook calls and print each event as a JSON line. With --ledger
    /// postgres://... (or HASDATA_LEDGER), record each event in the queue's database first:
    /// any number of replicas behind one URL store a delivery once, and workers waiting on its
    /// job finish early.
    Listen(ListenArgs),
    /// Show the webhook events recorded in the queue's database (--ledger postgres://...),
    /// newest first, with the queue item that owns each job.
    Events(EventsArgs),
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Only this job's events.
    #[arg(long, value_name = "ID")]
    pub job_id: Option<String>,
    /// Only events of jobs no queue item owns.
    #[arg(long)]
    pub unknown: bool,
    /// At most this many events.
    #[arg(long, default_value_t = 100)]
    pub limit: i64,
    /// Print each event's body as received too (unrecognised deliveries always have theirs).
    #[arg(long)]
    pub body: bool,
    /// Delete the events recorded longer ago than AGE (7d, 36h, 30m, 90s) instead of listing,
    /// except those of jobs whose queue item is not done or failed yet (a worker waiting on
    /// the job reads them). Prints how many were deleted.
    #[arg(long, value_name = "AGE", value_parser = age, conflicts_with_all = ["job_id", "unknown", "body"])]
    pub prune_older_than: Option<std::time::Duration>,
}

/// Its `Debug` never shows the secret of `--secret-header`.
#[derive(Args)]
pub struct ListenArgs {
    /// Port on 127.0.0.1 (0 picks one; the URL is printed on stderr).
    #[arg(long, default_value_t = 8088, conflicts_with = "bind")]
    pub port: u16,
    /// Listen on ADDR:PORT instead of 127.0.0.1:PORT (0.0.0.0:8088, a private interface's
    /// address, or an IPv6 address in brackets). Beyond loopback, anyone who reaches the port can call it: the
    /// receiver speaks plain HTTP, so the secret header crosses that network in clear. Bind
    /// a private interface that only your TLS-terminating proxy or load balancer reaches,
    /// never a public one.
    #[arg(long, value_name = "ADDR:PORT", value_parser = bind_addr)]
    pub bind: Option<std::net::SocketAddr>,
    /// With --ledger postgres://...: delete recorded events older than AGE (7d, 36h) at
    /// start and then periodically (every quarter of AGE, at most hourly), except those of
    /// jobs whose queue item is not done or failed yet. Any replica may prune; one is enough.
    #[arg(long, value_name = "AGE", value_parser = age)]
    pub retain: Option<std::time::Duration>,
    /// The shared secret header, as NAME:VALUE. Visible to other users in process listings:
    /// prefer --secret-header-name with HASDATA_WEBHOOK_SECRET or --secret-file.
    #[arg(long, value_name = "NAME:VALUE", conflicts_with_all = ["secret_header_name", "secret_file"])]
    pub secret_header: Option<String>,
    /// The shared secret header's name; its value comes from --secret-file or the
    /// HASDATA_WEBHOOK_SECRET environment variable.
    #[arg(long, value_name = "NAME", required_unless_present = "secret_header")]
    pub secret_header_name: Option<String>,
    /// A file holding the secret header's value (surrounding whitespace ignored); wins over
    /// HASDATA_WEBHOOK_SECRET.
    #[arg(long, value_name = "PATH", requires = "secret_header_name")]
    pub secret_file: Option<PathBuf>,
    /// The path HasData posts to.
    #[arg(long, default_value = "/hasdata-hook")]
    pub path: String,
    /// This replica's name in the recorded events (with --ledger postgres://...); by default
    /// its port and process id.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}

impl std::fmt::Debug for ListenArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenArgs")
            .field("port", &self.port)
            .field("bind", &self.bind)
            .field("retain", &self.retain)
            .field(
                "secret_header",
                &self
                    .secret_header
                    .as_ref()
                    .map(|pair| format!("{}:[REDACTED]", pair.split(':').next().unwrap_or(""))),
            )
            .field("secret_header_name", &self.secret_header_name)
            .field("secret_file", &self.secret_file)
            .field("path", &self.path)
            .field("name", &self.name)
            .finish()
    }
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the rows go.
    #[arg(long, default_value = "hasdata-demo")]
    pub dir: PathBuf,
    /// Seconds each demo job takes in the simulator.
    #[arg(long, default_value_t = 4.0, value_parser = seconds)]
    pub job_duration: f64,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write hasdata.1 and one page per command (hasdata-submit.1, ...) here instead of
    /// printing hasdata.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Cli;

    #[test]
    fn debug_never_shows_the_key_or_the_webhook_secret() {
        let cli = Cli::try_parse_from([
            "hasdata",
            "--api-key",
            "key-8e1f",
            "webhook",
            "listen",
            "--secret-header",
            "x-hook:secret-77a2",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let shown = format!("{cli:?}");
        assert!(
            !shown.contains("key-8e1f") && !shown.contains("secret-77a2"),
            "{shown}"
        );
        assert!(shown.contains("x-hook:[REDACTED]"), "{shown}");
    }

    #[test]
    fn ages_take_a_unit_and_refuse_zero_and_nonsense() {
        use std::time::Duration;
        for (text, secs) in [
            ("7d", 7 * 86_400),
            ("36h", 36 * 3600),
            ("30m", 1800),
            ("90s", 90),
            ("90", 90),
            (" 2D ", 2 * 86_400),
            ("3650d", 3650 * 86_400),
        ] {
            assert_eq!(super::age(text), Ok(Duration::from_secs(secs)), "{text}");
        }
        for text in [
            "",
            "0",
            "0d",
            "-1d",
            "1.5d",
            "7w",
            "d",
            "3651d",
            "99999999999999999999d",
        ] {
            let error = super::age(text).expect_err(text);
            assert!(error.contains("7d"), "{error}");
        }
        assert_eq!(
            super::bind_addr("[::1]:0").map(|a| a.ip().is_loopback()),
            Ok(true)
        );
        assert!(super::bind_addr("localhost:80").is_err());
        assert!(super::bind_addr("0.0.0.0").is_err(), "a port is needed");
    }
}

/// `hasdata queue ...`: the shared queue in the PostgreSQL database `--ledger` names.
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Add one item per line of a JSONL file (the same slug and body twice is one item).
    Add(QueueAddArgs),
    /// Items per state, and the fleet-wide running-jobs cap.
    Status,
    /// The items (oldest first), with their job ids and why any is parked or failed.
    List(QueueListArgs),
    /// Set the fleet-wide cap on running jobs (your plan's concurrency); workers read it at
    /// every claim.
    Cap(QueueCapArgs),
    /// Decide a parked item: its job exists (`--job-id`) or was never created (`--not-created`).
    Resolve(QueueResolveArgs),
}

#[derive(Debug, Args)]
pub struct QueueAddArgs {
    /// The scraper's slug (`hasdata scrapers` lists them).
    pub slug: String,
    /// A JSONL file: one body per line (blank lines skipped); `-` for stdin.
    #[arg(long, value_name = "FILE.jsonl")]
    pub bodies: String,
    /// Store bodies whose `webhook.headers` carry values (secrets) in the queue's database as
    /// written. Without it such a line is refused: give the webhook to the workers instead
    /// (`hasdata worker --webhook-url URL --webhook-secret-header-name NAME`, the secret from
    /// `--webhook-secret-file` or `HASDATA_WEBHOOK_SECRET`).
    #[arg(long)]
    pub allow_header_secrets: bool,
    #[command(flatten)]
    pub check: CheckArgs,
}

#[derive(Debug, Args)]
pub struct QueueListArgs {
    /// Only items in this state (queued, submitting, running, collecting, done, parked, failed).
    #[arg(long)]
    pub state: Option<String>,
    /// At most this many items.
    #[arg(long, default_value_t = 100, value_parser = at_least_one)]
    pub limit: usize,
}

#[derive(Debug, Args)]
pub struct QueueCapArgs {
    /// Running jobs allowed at once across the fleet (at least 1).
    #[arg(value_parser = cap)]
    pub max_running: u32,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("answer").required(true))]
pub struct QueueResolveArgs {
    /// The item's id (`hasdata queue list --state parked`).
    pub item: i64,
    /// The job exists (found on the dashboard): collect it. A whole number (or a UUID).
    #[arg(long, group = "answer", value_parser = typed_job_id)]
    pub job_id: Option<String>,
    /// No job was created: submit the item again.
    #[arg(long, group = "answer")]
    pub not_created: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SinkKind {
    /// One JSONL file per job, OUT_DIR/JOBID.jsonl.
    Jsonl,
    /// One row per result in the --sink-table of the --ledger database: (job id, row index,
    /// row as jsonb), stored once per job and index.
    Postgres,
    /// One Parquet file per job, OUT_DIR/JOBID.parquet: columns from the row schema, nested
    /// values as JSON text, anything else in `extra`.
    Parquet,
}

/// `hasdata worker`: drain the shared queue.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Where the jsonl sink writes (required for it).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// How rows are stored.
    #[arg(long, value_enum, default_value_t = SinkKind::Jsonl)]
    pub sink: SinkKind,
    /// The table of `--sink postgres` (`name` or `schema.name`), created when missing.
    #[arg(long, value_name = "TABLE", default_value = "hasdata_rows")]
    pub sink_table: String,
    /// Items this worker carries at once (at least 1).
    #[arg(long, default_value_t = 8, value_parser = at_least_one)]
    pub concurrency: usize,
    /// Seconds a claim lasts without a heartbeat (at least 1): a dead worker's items are taken
    /// over after it.
    #[arg(long, default_value_t = 30.0, value_parser = lease_seconds)]
    pub lease: f64,
    /// Seconds between claims when there is nothing to do (above 0).
    #[arg(long, default_value_t = 1.0, value_parser = pause_seconds)]
    pub idle_poll: f64,
    /// Seconds before an item whose step failed for a passing reason is tried again.
    #[arg(long, default_value_t = 5.0, value_parser = seconds)]
    pub retry_delay: f64,
    /// Exit once nothing is queued or in progress (parked and failed items wait for a person).
    #[arg(long)]
    pub exit_when_idle: bool,
    /// Add a webhook to every body submitted (a body with its own keeps it): the URL of your
    /// `hasdata webhook listen` replicas, so waits end as soon as HasData calls. Its secret
    /// comes from --webhook-secret-file or HASDATA_WEBHOOK_SECRET and is never stored in the
    /// queue.
    #[arg(long, value_name = "URL", requires = "webhook_secret_header_name")]
    pub webhook_url: Option<String>,
    /// The header HasData sends the webhook secret in (the receivers' --secret-header-name).
    #[arg(long, value_name = "NAME", requires = "webhook_url")]
    pub webhook_secret_header_name: Option<String>,
    /// A file holding the webhook secret (surrounding whitespace ignored); wins over
    /// HASDATA_WEBHOOK_SECRET.
    #[arg(long, value_name = "PATH", requires = "webhook_url")]
    pub webhook_secret_file: Option<PathBuf>,
    /// The events the added webhook subscribes to, comma-separated.
    #[arg(
        long,
        value_name = "EVENTS",
        default_value = "scraper.job.finished",
        value_delimiter = ','
    )]
    pub webhook_events: Vec<String>,
    #[command(flatten)]
    pub poll: PollArgs,
}

/// `--base-url` without trailing `/`s, as the library's client takes it
/// (`ClientBuilder::base_url`): the ledger scopes its jobs by this text, so `http://host/`
/// kept the CLI's jobs apart from `http://host`'s and from a Rust program's on the same
/// ledger (which `jobs list` then did not show).
fn base_url(value: &str) -> Result<String, String> {
    Ok(value.trim_end_matches('/').to_owned())
}
