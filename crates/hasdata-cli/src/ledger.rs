//! The durable job ledger: `hasdata-ledger`'s SQLite file in the user's data directory, or a
//! PostgreSQL database shared by several machines (`--ledger postgres://...`). Every submit is
//! an intent in it before its POST, and a job id in it before it is printed.

use std::path::PathBuf;
use std::sync::Arc;

pub use hasdata_ledger::JobEntry as Entry;
use hasdata_ledger::{JobLedger, JobQuery, LedgerError, Location};

/// The ledger every command shares, whichever backend holds it.
pub type Ledger = Arc<dyn JobLedger>;

/// Where the ledger lives unless `--ledger` says otherwise.
pub fn default_path() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("hasdata")
        .join("ledger.sqlite")
}

/// Where `--ledger` / `HASDATA_LEDGER` points: a path, `sqlite://PATH` or a `postgres://` URL;
/// without it, the default file. A value that names no ledger (empty, `sqlite://` alone, a
/// directory, an unknown `SCHEME://`) is bad usage naming the flag, the same for every
/// command; `main` asks this before any command that uses the ledger sends anything.
pub fn location(value: Option<&str>) -> Result<Location, crate::fail::Failure> {
    match value {
        None => Ok(Location::Sqlite(default_path())),
        Some(value) => {
            Location::checked(value).map_err(|e| open_failure(&Location::parse(value), e))
        }
    }
}

/// Why the ledger at `location` could not be opened, as every command words it: a malformed
/// URL or a file that is not there is bad usage (exit 2, naming the flag, nothing sent),
/// anything else exit 1, naming the flag too. The queue commands and the ledger commands
/// share this, so one bad `--ledger` fails alike everywhere.
pub fn open_failure(location: &Location, error: LedgerError) -> crate::fail::Failure {
    use crate::fail::{Failure, code};
    match error {
        LedgerError::BadUrl { url, reason } => Failure::usage(format!(
            "--ledger (or HASDATA_LEDGER) {url}: not a PostgreSQL connection URL: {reason}"
        )),
        LedgerError::BadLocation { location, reason } => {
            Failure::usage(format!("--ledger (or HASDATA_LEDGER) {location} {reason}"))
        }
        LedgerError::NotFound { location } => Failure::usage(format!(
            "--ledger (or HASDATA_LEDGER) {location}: no ledger is there (no such file); check the path (this command only reads the ledger, so it makes none){}",
            tilde(&location)
        )),
        LedgerError::ReadOnly { location } => Failure::new(
            code::OTHER,
            format!(
                "--ledger (or HASDATA_LEDGER) {location}: the ledger file is read-only, and this command records its jobs there before sending them: nothing was sent"
            ),
        ),
        other => Failure::new(code::OTHER, described(&other, location)),
    }
}

/// A hint for a path starting with `~`: a shell expands it, but not inside quotes, in
/// HASDATA_LEDGER from a `.env` or service file, or after `--ledger=`; the path then names a
/// directory called `~`.
pub fn tilde(path: &str) -> &'static str {
    if path.starts_with("~/") || path == "~" {
        "; `~` was not expanded (a shell does that, not hasdata): give the full path"
    } else {
        ""
    }
}

/// The flag, as an error names it: `--ledger (or HASDATA_LEDGER) LOCATION` (password hidden)
/// when one was given, else the default file and how to name another. Set once when the
/// command line is read, so any ledger error, however deep, can say which ledger it means.
static NAMED: std::sync::OnceLock<(String, Location)> = std::sync::OnceLock::new();

/// Notes the ledger the command line names (see [`NAMED`]); a value that names none is
/// refused later, by [`location`].
pub fn remember(value: Option<&str>) {
    let location = value.map_or_else(|| Location::Sqlite(default_path()), Location::parse);
    let words = match value {
        Some(_) => format!("--ledger (or HASDATA_LEDGER) {location}"),
        None => {
            format!("the ledger {location} (the default; --ledger or HASDATA_LEDGER names another)")
        }
    };
    let _ = NAMED.set((words, location));
}

/// A ledger's failure in the flag's words: which ledger (see [`which`]), then the error.
pub fn described(error: &LedgerError, location: &Location) -> String {
    format!("{}: {error}", which(error, location))
}

/// Which ledger failed: the flag and the path, or the URL without its password (the
/// default file when no flag was given), and for a database server that could not be
/// reached, its `host:port`, so the user knows which value or which server to check.
pub fn which(error: &LedgerError, location: &Location) -> String {
    let words = match NAMED.get() {
        Some((words, named)) if named == location => words.clone(),
        _ => format!("the ledger {location}"),
    };
    match (error, location.server()) {
        (LedgerError::Unavailable { .. }, Some(server)) => {
            format!("{words}: cannot reach the PostgreSQL server at {server}")
        }
        _ => words,
    }
}

/// [`which`] for the ledger the command line names, when the command line was read.
pub fn which_named(error: &LedgerError) -> Option<String> {
    NAMED.get().map(|(_, location)| which(error, location))
}

/// [`described`] for the ledger the command line names.
pub fn described_named(error: &LedgerError) -> String {
    match which_named(error) {
        Some(which) => format!("{which}: {error}"),
        None => format!("ledger: {error}"),
    }
}

/// Jobs whose rows were never written anywhere, oldest first.
pub async fn uncollected(ledger: &dyn JobLedger) -> Result<Vec<Entry>, LedgerError> {
    let mut all = ledger.query_jobs(&JobQuery::default()).await?;
    all.retain(|e| e.collected_at.is_none());
    all.reverse();
    Ok(all)
}
