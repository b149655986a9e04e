//! The ledger the client writes ahead of every submit: the `hasdata-ledger` crate, re-exported
//! so most programs need only this crate.
//!
//! A job costs credits from the moment it exists. The submit path records an intent before the
//! POST and its outcome after (see [`crate::Client::submit`]), so a process that dies at any
//! instant leaves either the job's id or an unresolved intent in a durable ledger.
//!
//! The default ledger is in memory. For one that survives the process, add `hasdata-ledger`
//! with its `sqlite` feature and pass `Arc::new(SqliteLedger::open(path, base_url)?)` to
//! [`ClientBuilder::ledger`](crate::ClientBuilder::ledger); any other store can implement
//! [`JobLedger`].

pub use hasdata_ledger::{
    BodyDigest, Intent, IntentEntry, IntentState, JobEntry, JobLedger, JobProgress, LedgerError,
    MemoryLedger, Origin, SentJobId, Submitted,
};
