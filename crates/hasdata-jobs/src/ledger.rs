//! The ledger the client writes ahead of every submit: the `hasdata-ledger` crate, re-exported
//! so most programs need only this crate.
//!
//! A job costs credits from the moment it exists. The submit path records an intent before the
//! POST and its outcome after (see [`crate::Client::submit`]), so a process that dies at any
//! instant leaves either the job's id or an unresolved intent in a durable ledger.
//!
//! The default ledger is in memory. For one that survives the process, enable this crate's
//! `sqlite` feature and call `ClientBuilder::ledger_file(path)`: the same SQLite file the
//! `hasdata` CLI uses (`hasdata jobs list --ledger PATH` shows what Rust code submitted).
//! Any other store can implement [`JobLedger`] and go to
//! [`ClientBuilder::ledger`](crate::ClientBuilder::ledger).

pub use hasdata_ledger::{
    BodyDigest, Intent, IntentEntry, IntentState, JobEntry, JobLedger, JobProgress, LedgerError,
    MemoryLedger, Origin, SentJobId, Submitted,
};

/// Where a ledger lives, by one string: `ClientBuilder::ledger_url` and `hasdata --ledger`.
pub use hasdata_ledger::Location as LedgerLocation;
/// The ledger in a PostgreSQL database that several machines share (feature `postgres`).
#[cfg(feature = "postgres")]
pub use hasdata_ledger::PostgresLedger;

/// The durable ledger in one SQLite file, shared with the `hasdata` CLI (feature `sqlite`).
#[cfg(feature = "sqlite")]
pub use hasdata_ledger::SqliteLedger;
