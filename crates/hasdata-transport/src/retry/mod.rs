//! Retries that never send a job twice by accident.
//!
//! The decision ([`RetryPolicy::decide`]) is a pure function of the request's idempotency, the
//! outcome, the attempt number and the delay spent so far, so it is tested on its own (tables
//! and proptest); [`RetryTransport`] only applies it.

mod policy;
mod transport;

pub use policy::{Decision, Outcome, RetryPolicy};
pub use transport::RetryTransport;
