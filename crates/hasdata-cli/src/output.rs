//! What `hasdata --json` prints: one object per thing, the same object wherever that thing
//! appears. A job is a [`JobOut`] in every command (submit, status, wait, stop, bulk submit,
//! run, results, the `jobs` commands), with every key present (`null` when not known) and the
//! ledger's fields filled where the ledger has the job; a command adds its own context under
//! its own key (`line`, `skipped`, `export`), never by renaming the job's.
//!
//! `cargo xtask schemas` writes each shape's JSON Schema to `schemas/cli.*.schema.json`
//! ([`schemas`]), and the CLI's tests validate every command's output against them.

use hasdata_ledger::{IntentEntry, JobEntry};
use hasdata_model::schemas::{NamedSchema, serialize_schema};
use hasdata_model::{Count, DownloadLinks, Job, JobId};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

/// A job, as every command prints it.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct JobOut {
    /// The job id, as the API sent it (an integer, or text).
    pub id: JobId,
    /// The scraper's slug (`contacts`, ...), from the submit record or the ledger.
    pub scraper: Option<String>,
    /// The latest status seen: `pending`, `in_progress`, `finished`, `stopped`,
    /// `finished_with_error`, or whatever else the API said.
    pub status: Option<String>,
    /// Rows produced so far, as the API sent the count (the ledger's when no call was made).
    pub data_rows_count: Count,
    /// Credits spent so far, as the API sent the count (the ledger's when no call was made).
    pub credits_spent: Count,
    /// Why the job ended early, when it did (`max-credits` when `run --max-credits` stopped it).
    pub stop_reason: Option<String>,
    /// When the job was created, as the API wrote it.
    pub created_at: Option<String>,
    /// When the job last changed, as the API wrote it.
    pub updated_at: Option<String>,
    /// Download links of a finished job, as the API sent them (short-lived).
    pub data: Option<DownloadLinks>,
    /// Ledger: when the submit answered (RFC 3339); `null` when the ledger lacks the job.
    pub submitted_at: Option<String>,
    /// Ledger: where the body came from (`/abs/bodies.jsonl:3`, `stdin`).
    pub origin: Option<String>,
    /// Ledger: when the rows were written out (RFC 3339).
    pub collected_at: Option<String>,
    /// Ledger: where the rows were written (an absolute path; `read by PROGRAM`, or the
    /// program's own words, when a Rust program read them with hasdata-jobs).
    pub collected_to: Option<String>,
    /// Ledger: the Idempotency-Key of the submit.
    pub intent_key: Option<String>,
    /// `submit --bodies`: the line of the file this job came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// `submit --bodies`: `submitted` when the line was not sent again because the ledger has
    /// it as this job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// `run`, `results`, `jobs resume`, `demo`: the rows this command wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<ExportOut>,
    /// `submit`, `run`: what the body's check found that did not stop it (rules HasData does
    /// not document); the body was sent as written. Left out when there is nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<WarningOut>,
}

/// One problem found in a body that was sent anyway.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct WarningOut {
    /// Where in the body: `proxyCountry`, `urls[1]`, `webhook.headers.x-n`.
    pub path: String,
    /// What was expected, and what was found.
    pub message: String,
    /// How well the rule is documented: `V` verified, `C` seen with the live API, `I` taken
    /// from the synchronous API.
    pub evidence: String,
}

impl From<&hasdata_model::Problem> for WarningOut {
    fn from(problem: &hasdata_model::Problem) -> Self {
        WarningOut {
            path: problem.path.clone(),
            message: problem.message.clone(),
            evidence: problem.evidence.mark().to_owned(),
        }
    }
}

/// The rows one command wrote.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ExportOut {
    /// Rows written.
    pub rows: u64,
    /// Where: an absolute path, `stdout`, or the device or FIFO written through.
    pub output: String,
    /// `jsonl`, `json` or `csv`.
    pub format: String,
    /// The job had not ended (`results --partial`): the rows so far, not marked collected.
    pub partial: bool,
}

impl JobOut {
    /// A job known only by its id.
    pub fn bare(id: JobId) -> JobOut {
        JobOut {
            id,
            scraper: None,
            status: None,
            data_rows_count: Count::default(),
            credits_spent: Count::default(),
            stop_reason: None,
            created_at: None,
            updated_at: None,
            data: None,
            submitted_at: None,
            origin: None,
            collected_at: None,
            collected_to: None,
            intent_key: None,
            line: None,
            skipped: None,
            export: None,
            warnings: Vec::new(),
        }
    }

    /// The job as an API record describes it.
    pub fn from_record(job: &Job) -> JobOut {
        let status = job.status.as_str();
        JobOut {
            scraper: job.scraper.as_ref().and_then(|s| s.slug.clone()),
            status: (!status.is_empty()).then(|| status.to_owned()),
            data_rows_count: job.data_rows_count.clone(),
            credits_spent: job.credits_spent.clone(),
            stop_reason: job.stop_reason.clone(),
            created_at: job.created_at.clone(),
            updated_at: job.updated_at.clone(),
            data: job.data.clone(),
            ..JobOut::bare(job.id)
        }
    }

    /// The job as the ledger has it.
    pub fn from_entry(entry: &JobEntry) -> JobOut {
        JobOut::bare(JobId::from(entry.id)).with_entry(entry)
    }

    /// Adds the ledger's fields; what the job itself said (a record just read) is kept, the
    /// ledger's progress fills only what is not known.
    pub fn with_entry(mut self, entry: &JobEntry) -> JobOut {
        self.scraper.get_or_insert_with(|| entry.scraper.clone());
        if self.status.is_none() {
            self.status = entry.status.clone();
        }
        if !self.data_rows_count.is_populated()
            && let Some(rows) = entry.rows
        {
            self.data_rows_count = Count::from(rows);
        }
        if !self.credits_spent.is_populated()
            && let Some(credits) = entry.credits
        {
            self.credits_spent = Count::from(credits);
        }
        self.submitted_at = Some(entry.submitted_at.clone());
        self.origin = entry.origin.clone();
        self.collected_at = entry.collected_at.clone();
        self.collected_to = entry.output.clone();
        self.intent_key = entry.intent_key.clone();
        self
    }

    /// The object as one JSON line's value.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// A failure: on stderr for the command's own failure (exit code `code`), on stdout for one
/// line of a bulk submit or one job of `jobs resume` that failed while the others went on.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ErrorOut {
    /// One line saying what went wrong and, where it helps, what to do.
    pub error: String,
    /// The exit code this failure means (see `hasdata --help`).
    pub code: u8,
    /// The job concerned, when there is one.
    pub job_id: Option<JobId>,
    /// `submit --bodies`: the line that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// `submit --bodies`: the intent key of a submit left uncertain (`hasdata jobs show KEY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl ErrorOut {
    /// The object as one JSON line's value.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// A submit intent (written before its POST), as `jobs list`, `jobs show KEY` and a bulk
/// submit's skipped lines print it.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct IntentOut {
    /// The intent's key, also sent as `Idempotency-Key`.
    pub key: String,
    /// The scraper's slug.
    pub scraper: String,
    /// `pending` (no answer recorded), `submitted`, `refused` or `uncertain`.
    pub state: String,
    /// When the intent was recorded (RFC 3339).
    pub created_at: String,
    /// When its state last changed (RFC 3339).
    pub updated_at: String,
    /// Where the body came from (`/abs/bodies.jsonl:3`, `stdin`).
    pub origin: Option<String>,
    /// The job it created, as the API sent the id, once known.
    pub job_id: Option<Value>,
    /// The refusal, or the reason for doubt.
    pub detail: Option<String>,
    /// How many times the POST was sent.
    pub attempts: u32,
    /// The SHA-256 of the exact body bytes sent (hex).
    pub body_sha256: String,
    /// The body as stored (webhook header values replaced by `[REDACTED]`).
    pub body: Option<String>,
    /// Whether anything was redacted from `body`.
    pub body_redacted: bool,
    /// What to do about an unresolved intent.
    pub advice: Option<String>,
    /// `submit --bodies`: the line of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// `submit --bodies`: `uncertain` when the line was not sent again because the ledger has
    /// it as this unresolved intent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

impl IntentOut {
    /// The intent as the ledger has it.
    pub fn from_entry(entry: &IntentEntry) -> IntentOut {
        IntentOut {
            key: entry.intent.key.clone(),
            scraper: entry.intent.slug.clone(),
            state: entry.state.to_string(),
            created_at: entry.intent.created_at.clone(),
            updated_at: entry.updated_at.clone(),
            origin: entry.intent.origin.as_ref().map(ToString::to_string),
            job_id: entry.job_id.as_ref().map(|id| id.to_value()),
            detail: entry.detail.clone(),
            attempts: entry.attempts,
            body_sha256: entry.intent.digest.to_string(),
            body: entry.intent.body.clone(),
            body_redacted: entry.intent.body_redacted,
            advice: entry.advice(),
            line: None,
            skipped: None,
        }
    }

    /// The object as one JSON line's value.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// The last line of a bulk submit.
#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct BulkSummaryOut {
    /// The counts, under their own key.
    pub summary: BulkCounts,
}

/// What a bulk submit did with its lines.
#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct BulkCounts {
    /// Lines that became jobs.
    pub submitted: u64,
    /// Lines whose submit may or may not have created a job (see `hasdata jobs list`).
    pub uncertain: u64,
    /// Lines refused or failed (no job).
    pub failed: u64,
    /// Lines not sent because the ledger has them as submitted or uncertain.
    pub skipped: u64,
    /// Lines not sent because of Ctrl-C.
    pub unsent: u64,
    /// Whether Ctrl-C ended the submit early.
    pub interrupted: bool,
}

/// One scraper, as `hasdata scrapers --json` prints it.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ScraperOut {
    /// The slug, as in `POST /scrapers/{slug}/jobs`.
    pub slug: String,
    /// Whether its rows have a known shape (a row schema with properties; CSV columns).
    pub row_shape_known: bool,
}

/// The warnings of one line of a `--bodies` file that was queued anyway (`queue add`), as a
/// bulk submit prints them: the line, and its problems.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct LineWarningsOut {
    /// The line of the file.
    pub line: u64,
    /// What the check found on it that did not stop it.
    pub warnings: Vec<WarningOut>,
}

/// What `queue add` did.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct QueueAddOut {
    /// New items.
    pub added: u64,
    /// Lines whose slug and body were queued already (in any state).
    pub duplicates: u64,
    /// The lines with warnings (none: empty).
    pub warnings: Vec<LineWarningsOut>,
}

/// Items per state, every state present (zero included).
#[derive(Clone, Debug, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct QueueCountsOut {
    /// Waiting for a worker.
    pub queued: u64,
    /// Claimed; the POST may be under way.
    pub submitting: u64,
    /// The job exists; a worker waits for it.
    pub running: u64,
    /// The job ended; its rows are being written.
    pub collecting: u64,
    /// Rows written.
    pub done: u64,
    /// The submit's outcome is unknown: waits for `hasdata queue resolve` (holds a running
    /// slot meanwhile).
    pub parked: u64,
    /// Refused by the API, or the job ended without finishing.
    pub failed: u64,
}

/// `queue status`.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct QueueStatusOut {
    /// Items per state.
    pub counts: QueueCountsOut,
    /// All items.
    pub total: u64,
    /// The fleet-wide cap on running jobs (`submitting`, `running` and `parked` items hold
    /// its slots).
    pub max_running: u32,
}

/// What a `worker` did before it stopped (its last line).
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct WorkerReportOut {
    /// Items claimed.
    pub claimed: u64,
    /// Jobs this worker submitted.
    pub submitted: u64,
    /// Items it took to `done`.
    pub done: u64,
    /// Items it parked.
    pub parked: u64,
    /// Items it failed.
    pub failed: u64,
    /// Rows it wrote.
    pub rows: u64,
}

/// `webhook events --prune-older-than`.
#[derive(Clone, Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct WebhookPruneOut {
    /// Events deleted.
    pub pruned: u64,
    /// The age they were older than, in seconds.
    pub older_than_secs: u64,
}

/// The schema of every object `--json` prints, named `cli.<thing>` (written to
/// `schemas/cli.<thing>.schema.json` by `cargo xtask schemas`).
pub fn schemas() -> Vec<NamedSchema> {
    vec![
        NamedSchema {
            name: "cli.job".into(),
            schema: serialize_schema::<JobOut>(),
        },
        NamedSchema {
            name: "cli.error".into(),
            schema: serialize_schema::<ErrorOut>(),
        },
        NamedSchema {
            name: "cli.intent".into(),
            schema: serialize_schema::<IntentOut>(),
        },
        NamedSchema {
            name: "cli.bulk-summary".into(),
            schema: serialize_schema::<BulkSummaryOut>(),
        },
        NamedSchema {
            name: "cli.scraper".into(),
            schema: serialize_schema::<ScraperOut>(),
        },
        NamedSchema {
            name: "cli.queue-add".into(),
            schema: serialize_schema::<QueueAddOut>(),
        },
        NamedSchema {
            name: "cli.queue-status".into(),
            schema: serialize_schema::<QueueStatusOut>(),
        },
        NamedSchema {
            name: "cli.queue-item".into(),
            schema: serialize_schema::<hasdata_fleet::ItemSummary>(),
        },
        NamedSchema {
            name: "cli.worker-report".into(),
            schema: serialize_schema::<WorkerReportOut>(),
        },
        NamedSchema {
            name: "cli.webhook-event".into(),
            schema: serialize_schema::<hasdata_fleet::EventSummary>(),
        },
        NamedSchema {
            name: "cli.webhook-prune".into(),
            schema: serialize_schema::<WebhookPruneOut>(),
        },
    ]
}
