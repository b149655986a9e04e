//! Transports for tests: deterministic, no sockets. Enabled by the `test-util` feature.

mod capture;
mod never;
mod replay;

pub use capture::CaptureTransport;
pub use never::NeverTransport;
pub use replay::{CannedResponse, ExpectedRequest, ReplayTransport};
