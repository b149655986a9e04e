//! A shared job queue in PostgreSQL, drained by any number of hasdata workers on any number of
//! machines.
//!
//! `hasdata queue add` stores bodies as [items](NewItem) (the same slug and body twice is one
//! item); [`Worker`]s [claim](Queue::claim) them with leases kept alive by heartbeats, submit
//! through the ledger's write-ahead path under a key stored in the item first, wait, write the
//! rows into a [`Sink`] and mark the item done. A fleet-wide cap on running jobs is held in the
//! database and checked inside each claim, so the fleet never storms the API with 429s.
//!
//! The guarantees, whatever worker dies when:
//!
//! - **a submitted item is never submitted again**: its intent key is stored before the POST,
//!   and the ledger refuses to record a key twice; the next holder reads the ledger's intent;
//! - **an uncertain submit is parked** (state `parked`) for a person (`hasdata queue resolve`);
//! - **a job's rows land once**: sinks are complete-or-absent and idempotent per job.
//!
//! This crate is a library first: a team can run [`Worker::run`] inside its own service; the
//! CLI's `queue` and `worker` commands are thin.

mod error;
mod events;
mod item;
#[cfg(feature = "parquet")]
pub mod parquet;
mod pg_sink;
mod queue;
pub mod sink;
mod worker;

pub use error::{FleetError, Result};
pub use events::{
    CHANNEL, EventFilter, EventSignals, EventSummary, Recorded, Signal, TerminalEvent,
    WebhookEvents,
};
pub use item::{Claimed, ItemState, NewItem, canonical_body, item_digest};
pub use pg_sink::PgSink;
pub use queue::{
    AddReport, CLAIM_LOCK, DEFAULT_MAX_RUNNING, ItemSummary, MIGRATION_TABLE, Queue, QueueStatus,
    Recheck, Resolution, SCHEMA_VERSION,
};
pub use sink::{JsonlSink, Sink, SinkJob, SinkWriter};
pub use worker::{SubmitWebhook, Worker, WorkerConfig, WorkerReport};
