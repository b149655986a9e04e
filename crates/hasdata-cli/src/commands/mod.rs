//! One module per command, and what they share.

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

/// A path as the ledger stores it: absolute, so `jobs list` run from another directory still
/// says where the rows are. The path as given when the working directory is unknown.
pub fn absolute(path: &str) -> String {
    std::path::absolute(path).map_or_else(|_| path.to_owned(), |p| p.display().to_string())
}

/// Reads a JSON body from a file, or stdin for `-`.
pub fn read_body(source: &str) -> Result<Value, Failure> {
    let text = if source == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        text
    } else {
        std::fs::read_to_string(source)
            .map_err(|e| Failure::usage(format!("cannot read the body {source}: {e}")))?
    };
    serde_json::from_str(&text)
        .map_err(|e| Failure::usage(format!("the body {source} is not JSON: {e}")))
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

/// Ctrl-C, listened for from the moment it is created: a command creates it before it
/// submits, so an interrupt at any point after that is caught, never the default kill.
pub struct Interrupt {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Interrupt {
    /// Starts listening.
    pub fn listen() -> Self {
        Interrupt {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok(),
        }
    }

    /// Waits for Ctrl-C.
    pub async fn wait(&mut self) {
        #[cfg(unix)]
        if let Some(signal) = &mut self.signal {
            signal.recv().await;
            return;
        }
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// SIGINT or SIGTERM, listened for from the moment it is created; `wait` gives the exit code
/// the signal calls for (130 or 143). Used where a write is under way, so a signal removes the
/// temporary file and says so instead of killing the process mid-write.
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
