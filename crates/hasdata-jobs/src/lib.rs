//! The typed job lifecycle of HasData's Scraper Jobs API, on `hasdata-model` and
//! `hasdata-transport`.
//!
//! - [`Client::submit`] checks a body by evidence (a broken documented rule sends nothing;
//!   other problems are warnings and the body goes as written), records an [`Intent`] in a [`JobLedger`] before
//!   sending it once, and records the job id (or a refusal, or doubt) before returning a
//!   [`JobHandle`]. [`Client::submit_raw`] does the same from a slug and raw JSON;
//!   [`Client::resend_intent`] resends an unresolved intent with its own idempotency key.
//! - [`Client::wait`] follows HasData's poll schedule (10 s, x1.5, capped at 60 s, jittered)
//!   to a deadline; [`Client::watch`] streams the snapshots for progress displays.
//! - [`Client::rows`] and [`JobHandle::rows`] read a job's rows, typed or as the bytes sent
//!   ([`RowJson`]): from `data.json` in constant memory once it has finished, from the paged
//!   API otherwise (bounded concurrency, in order, exactly once), counted against the job.
//! - [`Client::stop`] ends a job early; [`Client::run`] does submit + wait + rows.
//! - [`webhooks::WebhookReceiver`] receives HasData's callbacks; [`Client::merged_rows`]
//!   merges their rows with the API's so every row arrives early and exactly once.
//!
//! ```
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # // The README's snippet, run against the in-process simulator; the test `readme_snippet`
//! # // checks that the README shows exactly the lines that are not hidden here.
//! # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
//! #     job_duration: std::time::Duration::ZERO,
//! #     ..Default::default()
//! # }).await?;
//! # // SAFETY: a doctest is its own single-threaded process at this point.
//! # unsafe {
//! #     std::env::set_var("HASDATA_API_KEY", sim.api_key());
//! #     std::env::set_var("HASDATA_BASE_URL", sim.base_url());
//! # }
//! use hasdata_jobs::prelude::*;
//!
//! let client = Client::from_env()?; // HASDATA_API_KEY, HASDATA_BASE_URL
//! let job = client.submit(&ContactsBody::new(["https://example.com/about"])).await?;
//! # /*
//! job.wait(PollPolicy::default()).await?; // a stopped or failed job is Err(Error::JobEnded)
//! # */
//! # job.wait(PollPolicy::fast()).await?;
//! let rows: Vec<ContactsRow> = job.rows().try_collect().await?; // data.json, constant memory
//! # assert_eq!(rows.len(), 1);
//! # assert_eq!(rows[0].url, "https://example.com/about");
//! # Ok(())
//! # }
//! ```
//!
//! Every error after a submit carries the job id ([`Error::job_id`]). The API key lives in the
//! transport stack, never in `Debug` output, and only travels to the API's own origin.

// docs.rs builds with every feature and `--cfg docsrs`: feature-gated items say which feature.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod batch;
mod client;
mod download;
mod error;
mod guessers;
mod json_array;
mod json_blocks;
mod json_scan;
mod ledger;
mod page_readers;
mod poll;
mod pool;
pub mod prelude;
mod raw;
mod repeats;
mod results;
mod rows;
mod run;
mod submit;
mod wait;
#[cfg(feature = "webhooks")]
#[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
pub mod webhooks;

/// The model crate (`hasdata-model`): bodies, rows, the job record, statuses, webhook events.
/// Re-exported so one dependency and one import cover the common path.
pub use hasdata_model as model;

pub use batch::RowBatch;
pub use client::{
    Client, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_CONCURRENCY_CAP_WAIT, DEFAULT_MAX_REQUESTS,
    DEFAULT_PAGE_CONCURRENCY,
};
pub use error::{ConfigError, Error, Result};
pub use json_array::{ArraySplitter, Elements, SplitError, compact_into};
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use ledger::PostgresLedger;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use ledger::SqliteLedger;
pub use ledger::{
    BodyDigest, Intent, IntentEntry, IntentState, JobEntry, JobLedger, JobProgress, LedgerError,
    LedgerLocation, MemoryLedger, Origin, ResendClaim, SentJobId, Submitted,
};
pub use poll::{HASDATA_HOST, MIN_INTERVAL, PollPolicy};
pub use raw::{FieldSpan, RowFields, RowJson};
pub use results::PAGE_LIMIT;
pub use rows::{PageRead, RowSource, RowType, Rows};
pub use run::{RunOptions, RunOutput};
pub use submit::{JobHandle, SubmitOptions};
pub use wait::Progress;

#[cfg(test)]
mod readme {
    #[test]
    fn readme_snippet_is_the_crate_doctest() {
        let readme: Vec<&str> = include_str!("../../../README.md")
            .split("From Rust")
            .nth(1)
            .and_then(|rest| rest.split("```rust\n").nth(1))
            .and_then(|rest| rest.split("```").next())
            .expect("README.md has a Rust snippet after \"From Rust\"")
            .lines()
            .collect();
        let doctest: Vec<&str> = include_str!("lib.rs")
            .split("//! # // The README's snippet")
            .nth(1)
            .and_then(|rest| rest.split("//! ```").next())
            .expect("lib.rs has the README's doctest")
            .lines()
            .skip(1)
            .map(|line| line.trim_start_matches("//!").trim_start_matches(' '))
            .filter(|line| !line.starts_with('#'))
            .collect();
        assert_eq!(
            readme, doctest,
            "README.md's Rust snippet differs from lib.rs's doctest"
        );
    }
}
