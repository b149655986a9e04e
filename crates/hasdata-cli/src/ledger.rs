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
/// URL is bad usage (exit 2, naming the flag, nothing sent), anything else exit 1. The queue
/// commands and the ledger commands share this, so one bad `--ledger` fails alike everywhere.
pub fn open_failure(location: &Location, error: LedgerError) -> crate::fail::Failure {
    use crate::fail::{Failure, code};
    match error {
        LedgerError::BadUrl { url, reason } => Failure::usage(format!(
            "--ledger (or HASDATA_LEDGER) {url}: not a PostgreSQL connection URL: {reason}"
        )),
        LedgerError::BadLocation { location, reason } => {
            Failure::usage(format!("--ledger (or HASDATA_LEDGER) {location} {reason}"))
        }
        other => Failure::new(
            code::OTHER,
            format!("cannot open the ledger at {location}: {other}"),
        ),
    }
}

/// Jobs whose rows were never written anywhere, oldest first.
pub async fn uncollected(ledger: &dyn JobLedger) -> Result<Vec<Entry>, LedgerError> {
    let mut all = ledger.query_jobs(&JobQuery::default()).await?;
    all.retain(|e| e.collected_at.is_none());
    all.reverse();
    Ok(all)
}
