//! `hasdata`: HasData Scraper Jobs from a shell.

mod args;
mod commands;
mod context;
mod export;
mod fail;
mod ledger;
mod progress;
mod secret;
mod words;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command, JobsCommand, QueueCommand, WebhookCommand};
use context::Ctx;
use fail::Failure;

/// mimalloc rather than the system allocator, for the binary only (a library leaves the choice
/// to its program). An export allocates a page's buffers on one worker and frees them on
/// another; glibc's arenas spent about 15% of a pages export in malloc and in waits on their
/// locks, mimalloc's thread-local heaps about a third of that (`docs/benchmarks.md`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Colours in log lines only on a terminal, and never when `NO_COLOR` is set (to anything
/// but the empty string; <https://no-color.org>): escape codes in a pipe or file are noise.
fn colours() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
        && std::io::stderr().is_terminal()
}

fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => tracing::Level::ERROR,
        (false, 0) => tracing::Level::WARN,
        (false, 1) => tracing::Level::INFO,
        (false, _) => tracing::Level::DEBUG,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(colours())
        .init();
}

/// Whether the command never touches a ledger: a bad `--ledger` / `HASDATA_LEDGER` does not
/// stop it (a typo in the environment need not break `hasdata completions`).
fn without_ledger(command: &Command) -> bool {
    matches!(
        command,
        Command::Scrapers
            | Command::Schema(_)
            | Command::Sim(_)
            | Command::Demo(_)
            | Command::Completions(_)
            | Command::Man(_)
    )
}

async fn dispatch(ctx: &Ctx, command: &Command) -> Result<(), Failure> {
    // A `--ledger` that names no ledger is bad usage before anything is sent, whichever
    // command reads it and whenever it would first open it (`results` asks for the status
    // first; a failed open there is only a warning).
    if !without_ledger(command) {
        ledger::location(ctx.global.ledger.as_deref())?;
    }
    match command {
        Command::Submit(args) => commands::submit::run(ctx, args).await,
        Command::Status(args) => commands::lookup::status(ctx, args).await,
        Command::Wait(args) => commands::wait::run(ctx, args).await,
        Command::Stop(args) => commands::lookup::stop(ctx, args).await,
        Command::Results(args) => commands::results::run(ctx, args).await,
        Command::Run(args) => commands::run::run(ctx, args).await,
        Command::Jobs { command } => match command {
            JobsCommand::List(args) => commands::jobs::list(ctx, args).await,
            JobsCommand::Forget(args) => commands::jobs::forget(ctx, args).await,
            JobsCommand::Show(args) => commands::jobs::show(ctx, args).await,
            JobsCommand::Retry(args) => commands::jobs::retry(ctx, args).await,
            JobsCommand::Resume(args) => commands::jobs::resume(ctx, args).await,
        },
        Command::Queue { command } => match command {
            QueueCommand::Add(args) => commands::fleet::add(ctx, args).await,
            QueueCommand::Status => commands::fleet::status(ctx).await,
            QueueCommand::List(args) => commands::fleet::list(ctx, args).await,
            QueueCommand::Cap(args) => commands::fleet::cap(ctx, args).await,
            QueueCommand::Resolve(args) => commands::fleet::resolve(ctx, args).await,
        },
        Command::Worker(args) => commands::fleet::worker(ctx, args).await,
        Command::Scrapers => commands::info::scrapers(ctx),
        Command::Schema(args) => commands::info::schema(ctx, args),
        Command::Webhook { command } => match command {
            WebhookCommand::Listen(args) => commands::webhook::listen(ctx, args).await,
            WebhookCommand::Events(args) => commands::webhook::events(ctx, args).await,
        },
        Command::Sim(args) => commands::sim::run(args).await,
        Command::Demo(args) => commands::demo::run(ctx, args).await,
        Command::Completions(args) => commands::conventions::completions(args),
        Command::Man(args) => commands::conventions::man(args),
    }
}

/// The command line, or the exit a bad one calls for. Help and `--version` print as usual;
/// a usage error is clap's text, or with `--json` anywhere on the line one JSON object
/// `{error, code: 2, jobId: null}` on stderr, as every other error is.
fn parse() -> Result<Cli, ExitCode> {
    use clap::error::ErrorKind;
    let error = match Cli::try_parse() {
        Ok(cli) => return Ok(cli),
        Err(error) => error,
    };
    let json = std::env::args_os().skip(1).any(|arg| arg == "--json");
    let informational = matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    );
    if !json || informational {
        let code = u8::try_from(error.exit_code()).unwrap_or(fail::code::USAGE);
        return Err(match print_clap(&error) {
            Ok(()) => ExitCode::from(code),
            // `hasdata --help | head -1`: the reader has what it wanted.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                ExitCode::from(fail::code::BROKEN_PIPE)
            }
            // `hasdata --help > /dev/full`: the text did not arrive, so this is no success.
            Err(e) => {
                context::err_line(&format!(
                    "hasdata: cannot write to stdout: {e}; the text is incomplete"
                ));
                ExitCode::from(fail::code::OTHER)
            }
        });
    }
    // clap's first paragraph, on one line: "the following required arguments were not
    // provided: <ID>" (the usage and the `--help` hint after it are for a terminal).
    let text = error.render().to_string();
    let first = text.trim_start().split("\n\n").next().unwrap_or_default();
    let message = first.split_whitespace().collect::<Vec<_>>().join(" ");
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    Failure::usage(if message.is_empty() {
        "bad usage"
    } else {
        message
    })
    .print(true);
    Err(ExitCode::from(fail::code::USAGE))
}

/// Prints clap's help, version or usage error and flushes it, so a write that fails (a full
/// disk, a closed pipe) is seen here rather than lost in the buffer at exit.
fn print_clap(error: &clap::Error) -> std::io::Result<()> {
    use std::io::Write;
    error.print()?;
    std::io::stdout().flush()
}

/// Whether `command` exports rows, and so runs on one runtime worker. An export's workers only
/// move bytes: its rows are read on threads of their own (a `data.json` file's splitters, a
/// paged reading's page reader). A second worker then only adds wake-ups from one worker to
/// the other for each chunk of each answer: a 1M-row pages export took about 30% more CPU on
/// two workers than on one, and was slower (docs/benchmarks.md, "The ninth stop").
fn moves_rows(command: &Command) -> bool {
    matches!(command, Command::Results(_) | Command::Run(_))
}

fn main() -> ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    init_logging(cli.global.verbose, cli.global.quiet);
    let json = cli.global.json;
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if moves_rows(&cli.command) {
        builder.worker_threads(1);
    }
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            Failure::new(fail::code::OTHER, format!("cannot start: {e}")).print(json);
            return ExitCode::from(fail::code::OTHER);
        }
    };
    let ctx = Ctx::new(cli.global);
    let command = cli.command;
    // The command runs as a task on the runtime's workers, not on this thread: an export
    // takes rows from tasks on those workers (a `data.json` reading, results pages), and a
    // task woken by a task on its own worker runs there next, where a thread outside the
    // runtime had to be woken by the kernel for each batch (half the context switches of a
    // 1M-row `data.json` export, and about a tenth of its CPU; docs/benchmarks.md).
    let command_run = runtime.spawn(async move { dispatch(&ctx, &command).await });
    let outcome = match runtime.block_on(command_run) {
        Ok(outcome) => outcome,
        Err(joined) => match joined.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(_) => Err(Failure::new(fail::code::OTHER, "the command was cancelled")),
        },
    };
    // The runtime is dropped here, joining its threads, before the exit code is returned: the
    // process then exits with one thread. Ending it with the workers still alive (28dea4a,
    // `std::mem::forget(runtime)`) saved ~0.2 ms a run, and in one run of 1,508 replayed
    // attack cases an export that printed its failure (exit 7) ended with status 0
    // (`docs/benchmarks.md`, "A run's fixed cost"). An exit code that can say success for a
    // failed export is not worth any speed.
    drop(runtime);
    match outcome {
        Ok(()) if context::stdout_failed().is_some() => {
            let error = context::stdout_failed().unwrap_or_default();
            let failure = Failure::new(
                fail::code::OTHER,
                format!("cannot write to stdout: {error}; the output is incomplete"),
            );
            failure.print(json);
            ExitCode::from(failure.code)
        }
        Ok(()) if context::stdout_closed() => ExitCode::from(fail::code::BROKEN_PIPE),
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.print(json);
            ExitCode::from(failure.code)
        }
    }
}
