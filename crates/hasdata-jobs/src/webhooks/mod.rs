//! Webhooks: a receiver for HasData's callbacks, and a feed that merges their rows with the
//! API's results so every row arrives early and exactly once.
//!
//! HasData's webhooks are best-effort: three attempts, no order, no signature, only a shared
//! secret pinned in `webhook.headers`. [`WebhookReceiver`] checks that secret in constant time,
//! acknowledges an event only once it is queued (503 when the queue is full, so HasData
//! retries), and yields a repeated delivery once. [`Client::merged_rows`](crate::Client::merged_rows)
//! yields webhook rows as they arrive and, when the job ends, adds the rows the webhooks missed
//! from the results API.

mod merge;
mod receiver;
mod router;

pub use merge::{MergeOptions, MergedRow, RowOrigin};
pub use receiver::{ReceivedEvent, ReceiverConfig, ReceiverStats, WebhookReceiver, WebhookService};
pub use router::WebhookRouter;
