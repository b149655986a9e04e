//! Errors as the shell sees them: one clear line (or one JSON object), and an exit code.

use hasdata_jobs::Error;
use hasdata_model::JobId;

/// Exit codes (see `hasdata --help`).
pub mod code {
    /// Anything not listed below.
    pub const OTHER: u8 = 1;
    /// Bad usage or an invalid body.
    pub const USAGE: u8 = 2;
    /// 401 or 403.
    pub const AUTH: u8 = 3;
    /// The job ended stopped or with an error.
    pub const JOB_FAILED: u8 = 4;
    /// The wait's deadline passed.
    pub const DEADLINE: u8 = 5;
    /// Transient failures outlasted the retries.
    pub const GAVE_UP: u8 = 6;
    /// An export came short of the job's row count (or the server repeated rows); what was
    /// written is kept as `FILE.partial`.
    pub const INCOMPLETE: u8 = 7;
    /// Ctrl-C (SIGINT).
    pub const INTERRUPTED: u8 = 130;
    /// stdout was closed by its reader (`| head`): the program ends quietly, as a Unix tool
    /// killed by SIGPIPE would (128 + 13).
    pub const BROKEN_PIPE: u8 = 141;
    /// SIGTERM.
    pub const TERMINATED: u8 = 143;
}

/// A failed command.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: u8,
    /// One line saying what went wrong and, where it helps, what to do.
    pub message: String,
    /// The job concerned: printed, so paid work is never lost track of.
    pub job_id: Option<JobId>,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
            job_id: None,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Failure::new(code::USAGE, message)
    }

    pub fn job(mut self, id: JobId) -> Self {
        self.job_id.get_or_insert(id);
        self
    }

    /// The failure as `--json` prints it.
    pub fn to_out(&self) -> hasdata_cli::output::ErrorOut {
        hasdata_cli::output::ErrorOut {
            error: self.message.clone(),
            code: self.code,
            job_id: self.job_id,
            line: None,
            key: None,
        }
    }

    /// stdout was closed by its reader: nothing to say, exit 141.
    pub fn broken_pipe() -> Self {
        Failure::new(code::BROKEN_PIPE, "")
    }

    /// Prints the failure on stderr: a line, or a JSON object with `--json`. A closed stdout
    /// prints nothing; a closed stderr is ignored.
    pub fn print(&self, json: bool) {
        use std::io::Write;
        if self.code == code::BROKEN_PIPE && self.message.is_empty() {
            return;
        }
        let line = if json {
            self.to_out().to_value().to_string()
        } else {
            match self.job_id {
                Some(id) if !self.message.contains(&id.to_string()) => {
                    format!("hasdata: error: {} (job {id})", self.message)
                }
                _ => format!("hasdata: error: {}", self.message),
            }
        };
        let _ = writeln!(std::io::stderr(), "{line}");
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        let code = match &error {
            Error::InvalidBody(_) | Error::UnknownScraper(_) | Error::Config(_) => code::USAGE,
            Error::Api { .. } if error.is_auth() => code::AUTH,
            Error::Api { .. } | Error::Transport { .. } if error.is_transient() => code::GAVE_UP,
            Error::WaitDeadline { .. } => code::DEADLINE,
            Error::NoDownload { .. } => code::JOB_FAILED,
            Error::Incomplete { .. } | Error::RepeatedRow { .. } | Error::UncheckedRows { .. } => {
                code::INCOMPLETE
            }
            _ => code::OTHER,
        };
        let message = match &error {
            Error::WaitDeadline { job_id, .. } => format!(
                "{error}; it goes on running: `{hd} wait {job_id}` or `{hd} jobs resume` picks it up",
                hd = crate::context::hasdata()
            ),
            Error::SubmitUncertain { key, .. } => format!(
                "{error}; check the HasData dashboard before sending it again; `{hd} jobs show {key}` shows what was recorded",
                hd = crate::context::hasdata()
            ),
            _ if code == code::GAVE_UP => format!(
                "{}; gave up after retrying (-v shows each attempt)",
                crate::words::in_flags(error.to_string())
            ),
            // The SDK's words say the ledger failed; the user needs to know which one (the
            // flag, the file or the server) to check.
            Error::LedgerUnavailable { source } | Error::Ledger { source, .. } => {
                match crate::ledger::which_named(source) {
                    Some(which) => format!("{error} ({which})"),
                    None => error.to_string(),
                }
            }
            _ => crate::words::in_flags(error.to_string()),
        };
        Failure {
            code,
            message,
            job_id: error.job_id(),
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            return Failure::broken_pipe();
        }
        Failure::new(code::OTHER, error.to_string())
    }
}

impl From<hasdata_ledger::LedgerError> for Failure {
    fn from(error: hasdata_ledger::LedgerError) -> Self {
        Failure::new(code::OTHER, crate::ledger::described_named(&error))
    }
}
