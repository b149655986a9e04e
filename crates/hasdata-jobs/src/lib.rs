//! The typed job lifecycle of HasData's Scraper Jobs API, on `hasdata-model` and
//! `hasdata-transport`.
//!
//! - [`Client::submit`] validates a body, records an [`Intent`] in a [`JobLedger`] before
//!   sending it once, and records the job id (or a refusal, or doubt) before returning a
//!   [`JobHandle`]. [`Client::submit_raw`] does the same from a slug and raw JSON;
//!   [`Client::resend_intent`] resends an unresolved intent with its own idempotency key.
//! - [`Client::wait`] follows HasData's poll schedule (10 s, x1.5, capped at 60 s, jittered)
//!   to a deadline; [`Client::watch`] streams the snapshots for progress displays.
//! - [`Client::results`] streams rows from the paged API (bounded concurrency, in order,
//!   exactly once); [`Client::download`] streams them from `data.json` in constant memory.
//! - [`Client::stop`] ends a job early; [`Client::run`] does submit + wait + rows.
//! - [`webhooks::WebhookReceiver`] receives HasData's callbacks; [`Client::merged_rows`]
//!   merges their rows with the API's so every row arrives early and exactly once.
//!
//! Every error after a submit carries the job id ([`Error::job_id`]). The API key lives in the
//! transport stack, never in `Debug` output, and only travels to the API's own origin.

mod client;
mod download;
mod error;
mod json_array;
mod ledger;
mod poll;
mod raw;
mod results;
mod run;
mod submit;
mod wait;
#[cfg(feature = "webhooks")]
pub mod webhooks;

pub use client::{Client, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_MAX_REQUESTS};
pub use error::{Error, Result};
pub use json_array::{ArraySplitter, Elements, SplitError, compact_into};
pub use ledger::{
    BodyDigest, Intent, IntentEntry, IntentState, JobEntry, JobLedger, JobProgress, LedgerError,
    MemoryLedger, Origin, SentJobId, Submitted,
};
pub use poll::{HASDATA_HOST, MIN_INTERVAL, PollPolicy};
pub use raw::RowJson;
pub use results::PAGE_LIMIT;
pub use run::{RowSource, RunOptions, RunOutput};
pub use submit::{JobHandle, SubmitOptions};
pub use wait::Progress;
