//! One module per command, and what they share.

pub mod check;
pub mod conventions;
pub mod demo;
pub mod fleet;
pub mod info;
pub mod jobs;
pub mod lookup;
pub mod results;
pub mod run;
pub mod sim;
pub mod submit;
pub mod wait;
pub mod webhook;

use std::io::Read;
use std::time::Duration;

use hasdata_jobs::PollPolicy;
use serde_json::Value;

use crate::args::PollArgs;
use crate::fail::Failure;

/// "1 row", "2 rows", "0 credits": a count with its noun in the right number.
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A job's rows as a line shows them: `12 rows`, or the count as sent when it does not read
/// as one (`rows "-5" (not a count)`): a count the server sent as `"-5"` was shown as `0 rows`.
pub fn rows_of(job: &hasdata_model::Job) -> String {
    match job.unreadable_rows_count() {
        Some(sent) => format!("rows {sent} (not a count)"),
        None => count(job.data_rows_count.get(), "row"),
    }
}

/// A job's spend as a line shows it: `5 credits`, or the count as sent when it does not read
/// as one (`credits "-5" (not a count)`), never a 0 the server did not send.
pub fn credits_of(job: &hasdata_model::Job) -> String {
    match job.unreadable_credits_spent() {
        Some(sent) => format!("credits {sent} (not a count)"),
        None => count(job.credits_spent.get(), "credit"),
    }
}

/// A path as the ledger stores it: absolute, so `jobs list` run from another directory still
/// says where the rows are. The path as given when the working directory is unknown.
pub fn absolute(path: &str) -> String {
    std::path::absolute(path).map_or_else(|_| path.to_owned(), |p| p.display().to_string())
}

/// Refuses, before anything is sent, an export to stdout when stdout was closed
/// ([`crate::export::stdout_was_closed`]): the rows would go nowhere and the command say it
/// wrote them all.
pub fn stdout_open(out: Option<&std::path::Path>) -> Result<(), Failure> {
    let to_stdout = out.is_none_or(|out| out.as_os_str() == "-");
    if to_stdout && crate::export::stdout_was_closed() {
        return Err(Failure::usage(
            "stdout was closed (>&-; or it is /dev/null opened for reading and writing, which is how a closed stdout looks once Rust reopens it), so the rows would be lost: give --out FILE, or --out /dev/null to discard them",
        ));
    }
    Ok(())
}

/// A directory that FLAG names, made when missing, checked writable and made absolute, before
/// anything is sent: a typo or a file in the way must cost nothing, not be found after jobs ran
/// (and were paid for). The error names the flag and the path that is in the way.
pub fn writable_dir(flag: &str, dir: &std::path::Path) -> Result<std::path::PathBuf, Failure> {
    let bad = |why: String| Failure::usage(format!("{flag} {}: {why}", dir.display()));
    let dir = std::path::absolute(dir).map_err(|e| bad(e.to_string()))?;
    if let Some(blocker) = dir.ancestors().find(|d| d.exists() && !d.is_dir()) {
        return Err(bad(format!(
            "{} is not a directory (expected a directory to write into)",
            blocker.display()
        )));
    }
    std::fs::create_dir_all(&dir).map_err(|e| bad(format!("cannot create it: {e}")))?;
    let probe = dir.join(format!(".hasdata-probe-{}", std::process::id()));
    std::fs::File::create(&probe).map_err(|e| bad(format!("cannot write into it: {e}")))?;
    let _ = std::fs::remove_file(&probe);
    Ok(dir)
}

/// Reads a JSON body from a file, or stdin for `-`.
pub fn read_body(source: &str) -> Result<Value, Failure> {
    let text = if source == "-" {
        // Named like a file's error and exit 2 like one: bytes on stdin that are not UTF-8
        // are bad input, not a failure of this program.
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::usage(format!("cannot read the body - (stdin): {e}")))?;
        text
    } else {
        std::fs::read_to_string(source)
            .map_err(|e| Failure::usage(format!("cannot read the body {source}: {e}")))?
    };
    serde_json::from_str(text.strip_prefix(BOM).unwrap_or(&text))
        .map_err(|e| Failure::usage(format!("the body {source} is not JSON: {e}")))
}

/// The byte order mark some Windows editors put first in a UTF-8 file; not part of the JSON.
const BOM: &str = "\u{feff}";

/// The lines of a JSONL file (a `--bodies` file), numbered from 1, blank ones left out: a
/// leading byte order mark and the `\r` of CRLF endings are not part of a line, and a line that
/// is not UTF-8 is an error naming its number (the rest of the file is still read, so every
/// problem can be told at once).
pub fn jsonl_lines(bytes: &[u8]) -> impl Iterator<Item = (u64, Result<&str, String>)> {
    let bytes = bytes.strip_prefix(BOM.as_bytes()).unwrap_or(bytes);
    bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .map(|(index, line)| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let text = std::str::from_utf8(line)
                .map_err(|e| format!("line {}: not UTF-8: {e}", index + 1));
            (index as u64 + 1, text)
        })
        .filter(|(_, text)| text.as_ref().map_or(true, |t| !t.trim().is_empty()))
}

fn seconds(flag: &str, value: f64) -> Result<Duration, Failure> {
    // The flags are bounded when parsed; this is the second line of defence.
    if let Ok(duration) = Duration::try_from_secs_f64(value) {
        Ok(duration)
    } else {
        Err(Failure::usage(format!(
            "--{flag} takes seconds >= 0, got {value}"
        )))
    }
}

/// The poll policy the flags describe.
pub fn poll_policy(args: &PollArgs) -> Result<PollPolicy, Failure> {
    Ok(PollPolicy {
        initial: seconds("poll-initial", args.poll_initial)?,
        factor: args.poll_factor,
        cap: seconds("poll-cap", args.poll_cap)?,
        deadline: seconds("timeout", args.timeout)?,
        allow_fast_polling: args.allow_fast_polling,
        ..PollPolicy::default()
    })
}

/// A signal (exit `code`) while the ledger is opened (another process holding its lock):
/// nothing was sent.
pub fn interrupted_opening(code: u8) -> Failure {
    Failure::new(
        code,
        "interrupted while waiting for the ledger (another process holds its lock): nothing was sent",
    )
}

/// SIGINT or SIGTERM, listened for from the moment it is created; `wait` gives the exit code
/// the signal calls for (130 or 143). A command creates it before it submits or writes, so a
/// signal at any point after that is caught, never the default kill: a service manager's
/// SIGTERM (systemd, a container's stop) is handled as Ctrl-C is, a write's temporary file
/// removed, the job's id and how to go on printed, `--stop-on-interrupt` applied.
pub struct Signals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Starts listening.
    pub fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Signals {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// Runs `work` unless a signal comes first; then `work` is dropped where it stands and
    /// the signal's exit code is the error. For a ledger call that may wait on another
    /// process's lock (a SQLite ledger's wait is a timer, so dropping it ends the wait with
    /// nothing written).
    pub async fn or<T>(&mut self, work: impl Future<Output = T>) -> Result<T, u8> {
        tokio::select! {
            biased;
            signal = self.wait() => Err(signal),
            done = work => Ok(done),
        }
    }

    /// Waits for either signal and returns its exit code.
    pub async fn wait(&mut self) -> u8 {
        #[cfg(unix)]
        {
            async fn next(signal: &mut Option<tokio::signal::unix::Signal>) {
                match signal {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                () = next(&mut self.interrupt) => crate::fail::code::INTERRUPTED,
                () = next(&mut self.terminate) => crate::fail::code::TERMINATED,
            }
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            crate::fail::code::INTERRUPTED
        }
    }
}

#[cfg(test)]
mod jsonl_tests {
    use super::jsonl_lines;

    #[test]
    fn a_bom_crlf_and_blank_lines_are_not_content_and_bad_utf8_names_its_line() {
        let bytes = b"\xef\xbb\xbf{\"a\":1}\r\n\r\n  \n{\"b\":\xff}\n{\"c\":3}";
        let lines: Vec<_> = jsonl_lines(bytes).collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[0], (1, Ok("{\"a\":1}")));
        assert_eq!(lines[1].0, 4);
        assert!(
            lines[1]
                .1
                .as_ref()
                .unwrap_err()
                .starts_with("line 4: not UTF-8")
        );
        assert_eq!(lines[2], (5, Ok("{\"c\":3}")));
    }
}
