//! Webhooks: a receiver for HasData's callbacks, and a feed that merges their rows with the
//! API's results so every row arrives early and exactly once.
//!
//! HasData's webhooks are best-effort: three attempts, no order, no signature, only a shared
//! secret pinned in `webhook.headers`. [`WebhookReceiver`] checks that secret in constant time,
//! acknowledges an event only once it is queued (503 when the queue is full, so HasData
//! retries), and yields a repeated delivery once. [`Client::merged_rows`](crate::Client::merged_rows)
//! yields webhook rows as they arrive and, when the job ends, adds the rows the webhooks missed
//! from the results API.
//!
//! ```
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
//! #     job_duration: std::time::Duration::ZERO,
//! #     allow_http_webhooks: true,
//! #     ..Default::default()
//! # }).await?;
//! use hasdata_jobs::prelude::*;
//! use hasdata_jobs::webhooks::{ReceiverConfig, WebhookReceiver};
//!
//! let client = Client::builder()
//!     .api_key(sim.api_key())
//!     .base_url(sim.base_url())
//!     .allow_http_webhooks(true) // the simulator calls http://; HasData only https://
//!     .build()?;
//! let config = ReceiverConfig::new("127.0.0.1:0".parse()?, "x-hook-secret".parse()?, "s3cret");
//! let mut receiver = WebhookReceiver::bind(config).await?;
//! let hook = Webhook::new(receiver.url())
//!     .event(WebhookEventName::JobFinished)
//!     .header("x-hook-secret", "s3cret");
//! let job = client.submit(&ContactsBody::new(["https://example.com/about"]).webhook(hook)).await?;
//! let received = receiver.next().await.expect("the finished event");
//! assert_eq!(received.event.job(), Some(job.id()));
//! # Ok(())
//! # }
//! ```

mod merge;
mod receiver;
mod router;

pub use merge::{MergeOptions, MergedRow, RowOrigin};
pub use receiver::{ReceivedEvent, ReceiverConfig, ReceiverStats, WebhookReceiver, WebhookService};
pub use router::WebhookRouter;
