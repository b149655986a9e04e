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

/// Which jobs a listing wants: every field that is set must match. `since` is an RFC 3339
/// UTC timestamp or a prefix of one (`2026-11-29`); entries submitted at or after it match
/// (the ledger's timestamps are all UTC RFC 3339, so they compare as text).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobQuery {
    /// The latest status seen (`pending`, `finished`, ...).
    pub status: Option<String>,
    /// The scraper's slug.
    pub scraper: Option<String>,
    /// Submitted at or after this (UTC RFC 3339, or a prefix such as a date).
    pub since: Option<String>,
    /// At most this many entries (newest first).
    pub limit: Option<usize>,
}

impl JobQuery {
    /// Whether `job` matches every field that is set (`limit` aside).
    pub fn matches(&self, job: &JobEntry) -> bool {
        self.status
            .as_ref()
            .is_none_or(|s| job.status.as_ref() == Some(s))
            && self.scraper.as_ref().is_none_or(|s| &job.scraper == s)
            && self
                .since
                .as_ref()
                .is_none_or(|s| job.submitted_at.as_str() >= s.as_str())
    }

    /// The matching jobs of `jobs`, newest first (submit time, then id, as the databases sort),
    /// at most `limit` of them.
    pub fn apply(&self, mut jobs: Vec<JobEntry>) -> Vec<JobEntry> {
        jobs.retain(|job| self.matches(job));
        jobs.sort_by(|a, b| (&b.submitted_at, b.id).cmp(&(&a.submitted_at, a.id)));
        if let Some(limit) = self.limit {
            jobs.truncate(limit);
        }
        jobs
    }
}
