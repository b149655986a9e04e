//! What the common path needs, in one import: `use hasdata_jobs::prelude::*;`.
//!
//! The client and its settings, the poll policy, every scraper's body, row and marker type, the
//! job record and its id and status, the error type, the rows reader ([`Rows`], [`RowJson`]),
//! and the stream extension traits that `try_collect`, `try_next` and `next` come from.
//! Anything rarer (the ledger's types, the webhook receiver) is imported by name from the
//! crate root.
//!
//! ```
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
//! #     job_duration: std::time::Duration::ZERO,
//! #     ..Default::default()
//! # }).await?;
//! use hasdata_jobs::prelude::*;
//!
//! let client: Client = Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).build()?;
//! let job: JobHandle<GoogleSerp> =
//!     client.submit(&GoogleSerpBody::new().keywords(["coffee"]).limit(10)).await?;
//! let done: Job = job.wait(PollPolicy::fast()).await?;
//! assert_eq!(done.status, JobStatus::Finished);
//! let mut rows: Rows<GoogleSerpRow> = job.rows();
//! while let Some(row) = rows.try_next().await? { // TryStreamExt, from the prelude
//!     println!("{}", row.title.as_deref().unwrap_or(""));
//! }
//! # Ok(())
//! # }
//! ```

pub use futures::{StreamExt as _, TryStreamExt as _};
pub use hasdata_model::bodies::*;
pub use hasdata_model::rows::{
    ContactsRow, CrawlerRow, GoogleMapsRow, GoogleSerpRow, JobRow, RawRow, ZillowRow,
};
pub use hasdata_model::scrapers::*;
pub use hasdata_model::{
    Job, JobId, JobStatus, Scraper, ValidationMode, Webhook, WebhookEventName,
};

pub use crate::model;
pub use crate::{
    Client, ClientBuilder, Error, JobHandle, PollPolicy, Result, RowJson, RowSource, Rows,
    RunOptions,
};
