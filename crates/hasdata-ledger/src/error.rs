//! The ledger's errors: what kind of failure, never a bare string, so callers can tell "the
//! disk is full" from "that key is unknown".

/// What went wrong in a ledger.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The storage failed (cannot open, write, or read).
    #[error("the {backend} ledger failed: {source}")]
    Storage {
        /// The backend (`sqlite`, `memory`, ...).
        backend: &'static str,
        /// The backend's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The storage could not be reached (a database server down, refused, or the connection
    /// lost): a passing failure, worth retrying later. Nothing was changed by the call.
    /// Only server-backed ledgers return it.
    #[error("the {backend} ledger is unreachable: {source}")]
    Unavailable {
        /// The backend (`postgres`).
        backend: &'static str,
        /// The driver's or pool's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The stored data was written by a newer version of this crate.
    #[error(
        "the ledger has schema version {found}; this program reads up to {supported}: upgrade hasdata"
    )]
    TooNew {
        /// The version in the store.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// A stored value could not be read back.
    #[error("the ledger holds an unreadable {what}: {detail}")]
    Corrupt {
        /// Which value.
        what: &'static str,
        /// Why.
        detail: String,
    },
    /// No intent has this key.
    #[error("no submit intent with key {key} in the ledger")]
    UnknownIntent {
        /// The key asked for.
        key: String,
    },
    /// The ledger's location names a backend this build does not include.
    #[error(
        "this build has no {backend} ledger: build hasdata-ledger with its `{backend}` feature"
    )]
    BackendMissing {
        /// `sqlite` or `postgres` (also the cargo feature's name).
        backend: &'static str,
    },
    /// The ledger's location cannot be read as a PostgreSQL connection URL. Nothing was
    /// connected; `url` has its password replaced by `***`.
    #[error("{url} is not a PostgreSQL connection URL: {reason}")]
    BadUrl {
        /// The URL as given, password hidden ([`crate::redact_url`]).
        url: String,
        /// What the parser refused.
        reason: String,
    },
    /// The ledger's location names no usable ledger: empty, `sqlite://` with no path, a
    /// directory, a `SCHEME://` that is neither SQLite nor PostgreSQL (a typo such as
    /// `postgress://`, another database), a SQLite `file:` URI, or a SQLite database that is
    /// not a hasdata ledger (another program's). Nothing was made, written or connected;
    /// `location` has any password replaced by `***`.
    #[error("the ledger location {location} {reason}")]
    BadLocation {
        /// The location as given (quoted when empty), password hidden.
        location: String,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// No ledger is at this location, and the caller asked not to make one (it only reads:
    /// [`crate::Location::open_existing`]). Nothing was made.
    #[error("no ledger at {location}: no such file")]
    NotFound {
        /// The location as given, password hidden.
        location: String,
    },
    /// The ledger can be read but not written (the file refuses writes: `chattr +i`, another
    /// user's file, a read-only mount), and the caller must write
    /// ([`crate::Location::open_writable`]). Nothing was written.
    #[error("the ledger at {location} is read-only: it cannot be written")]
    ReadOnly {
        /// The location as given, password hidden.
        location: String,
    },
    /// An intent with this key already exists.
    #[error("a submit intent with key {key} is already in the ledger")]
    DuplicateKey {
        /// The key.
        key: String,
    },
}

impl LedgerError {
    /// Whether the storage was unreachable ([`LedgerError::Unavailable`]): try again later.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, LedgerError::Unavailable { .. })
    }

    /// A backend failure.
    pub fn storage(
        backend: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        LedgerError::Storage {
            backend,
            source: source.into(),
        }
    }
}
