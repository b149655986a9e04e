//! The durable job ledger: `hasdata-ledger`'s SQLite backend in the user's data directory.
//! Every submit is an intent in it before its POST, and a job id in it before it is printed.

use std::path::PathBuf;

pub use hasdata_ledger::{JobEntry as Entry, SqliteLedger};

/// Where the ledger lives unless `--ledger` says otherwise.
pub fn default_path() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("hasdata")
        .join("ledger.sqlite")
}
