//! The ledger the client writes ahead of every submit: the `hasdata-ledger` crate, re-exported
//! so most programs need only this crate.
//!
//! A job costs credits from the moment it exists. The submit path records an intent before the
//! POST and its outcome after (see [`crate::Client::submit`]), so a process that dies at any
//! instant leaves either the job's id or an unresolved intent in a durable ledger.

pub use hasdata_ledger::{
    BodyDigest, Intent, IntentEntry, IntentState, JobEntry, JobLedger, JobProgress, LedgerError,
    MemoryLedger, Origin, SentJobId, Submitted,
};
