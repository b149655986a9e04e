//! The fleet's errors: which part failed (the queue database, a sink, the ledger), so a worker
//! can tell "retry this item later" from "stop".

/// What went wrong in the queue, a worker or a sink.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    /// The queue's database failed (cannot connect, a statement failed).
    #[error("the queue database failed: {0}")]
    Database(String),
    /// The queue's database could not be reached (down, refused, the connection lost): a
    /// passing failure. A worker rides it out (backs off and tries again).
    #[error("the queue database is unreachable: {0}")]
    Unreachable(String),
    /// The database's queue schema is newer than this build.
    #[error(
        "the queue has schema version {found}; this program reads up to {supported}: upgrade hasdata"
    )]
    TooNew {
        /// The version in the database.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// A line of a bodies file is not a JSON object, or a slug is unknown.
    #[error("{origin}: {reason}")]
    BadItem {
        /// Where the item came from (`bodies.jsonl:3`).
        origin: String,
        /// Why it was refused.
        reason: String,
    },
    /// A sink could not write or commit a job's rows.
    #[error("the {sink} sink failed: {detail}")]
    Sink {
        /// The sink (`jsonl`, `parquet`, `postgres`).
        sink: &'static str,
        /// Why.
        detail: String,
    },
    /// The ledger failed.
    #[error(transparent)]
    Ledger(#[from] hasdata_ledger::LedgerError),
    /// `queue resolve --job-id` named a job another item already has: two items must never
    /// collect (and write) one job's rows.
    #[error("job {job_id} already belongs to item {item}: nothing changed")]
    JobTaken {
        /// The job id given.
        job_id: String,
        /// The item that has it.
        item: i64,
    },
    /// A setting is out of range (names the flag or field).
    #[error("{0}")]
    Config(String),
}

impl FleetError {
    /// Whether the database (the queue's, or the ledger's in it) could not be reached: worth
    /// trying again once it is back, rather than giving the item up.
    pub fn is_unreachable(&self) -> bool {
        match self {
            FleetError::Unreachable(_) => true,
            FleetError::Ledger(error) => error.is_unavailable(),
            _ => false,
        }
    }

    /// A sink error.
    pub fn sink(sink: &'static str, detail: impl std::fmt::Display) -> Self {
        FleetError::Sink {
            sink,
            detail: detail.to_string(),
        }
    }
}

/// A database error, with the statement's context. The connection URL never appears: the
/// driver's errors do not carry it.
pub(crate) fn db(context: &str) -> impl Fn(tokio_postgres::Error) -> FleetError + '_ {
    move |error| {
        let text = format!("{context}: {}", error_text(&error));
        if hasdata_ledger::postgres::is_unreachable(&error) {
            FleetError::Unreachable(text)
        } else {
            FleetError::Database(text)
        }
    }
}

/// A driver error with its server message (the `Display` of a server error is just "db error").
pub(crate) fn error_text(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(server) => format!("{} ({})", server.message(), server.code().code()),
        None => with_causes(error),
    }
}

/// An error followed by its causes: a driver's `Display` alone is often only "db error" or
/// "error connecting to server", leaving out what the server said or why the socket failed
/// (wrong password, no such database, connection refused). No cause carries the URL's password:
/// the URL is parsed, and its errors worded, before any connection is made.
pub(crate) fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        let shown = next.to_string();
        if !text.contains(&shown) {
            text.push_str(": ");
            text.push_str(&shown);
        }
        cause = next.source();
    }
    text
}

/// A pool error.
pub(crate) fn pool(error: deadpool_postgres::PoolError) -> FleetError {
    let text = format!("connecting: {}", with_causes(&error));
    if hasdata_ledger::postgres::pool_error_is_unreachable(&error) {
        FleetError::Unreachable(text)
    } else {
        FleetError::Database(text)
    }
}

/// The fleet's results.
pub type Result<T, E = FleetError> = std::result::Result<T, E>;
