//! A job the ledger knows by its id: where it came from, how far it got, where its rows went.

use serde::Serialize;
use serde_json::Value;

/// A job's latest known progress.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobProgress {
    /// The status (`pending`, `in_progress`, `finished`, ...).
    pub status: String,
    /// Rows produced, when known.
    pub rows: Option<u64>,
    /// Credits spent, when known.
    pub credits: Option<u64>,
}

/// One job in the ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct JobEntry {
    /// The job id.
    pub id: u64,
    /// The scraper's slug.
    pub scraper: String,
    /// When the submit answered (RFC 3339).
    pub submitted_at: String,
    /// Where the body came from (`bodies.jsonl:3`), when the caller said.
    pub origin: Option<String>,
    /// The latest status seen.
    pub status: Option<String>,
    /// The latest row count seen.
    pub rows: Option<u64>,
    /// The latest credit count seen.
    pub credits: Option<u64>,
    /// When the rows were written out (RFC 3339).
    pub collected_at: Option<String>,
    /// Where the rows were written.
    pub output: Option<String>,
    /// The idempotency key of the submit, when it went through an intent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intent_key: Option<String>,
}

impl JobEntry {
    /// The entry as one JSON object (the CLI's `--json` form).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}
