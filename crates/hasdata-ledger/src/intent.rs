//! Submit intents: the write-ahead record of a POST, and how it ended.

use std::fmt;

use hasdata_model::JobId;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::redact::redact_body;

/// Where a body came from, as the caller names it: a file and a line (`bodies.jsonl:17`), or
/// just a label (`stdin`). Bulk submits match reruns on the file's absolute path and the line.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Origin {
    /// The file (an absolute path for files) or a label.
    pub source: String,
    /// The 1-based line, for a body that is one line of a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

impl Origin {
    /// A line of a file.
    pub fn line(source: impl Into<String>, line: u64) -> Self {
        Origin {
            source: source.into(),
            line: Some(line),
        }
    }

    /// A label without a line.
    pub fn label(source: impl Into<String>) -> Self {
        Origin {
            source: source.into(),
            line: None,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}", self.source),
            None => f.write_str(&self.source),
        }
    }
}

/// The SHA-256 of the exact body bytes sent, in lowercase hex: identifies a body without
/// storing its secrets, and tells a rerun whether a line changed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct BodyDigest(String);

impl BodyDigest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        let hash = Sha256::digest(bytes);
        let mut hex = String::with_capacity(64);
        for byte in hash {
            hex.push_str(&format!("{byte:02x}"));
        }
        BodyDigest(hex)
    }

    /// A digest read back from storage (64 hex digits), or `None`.
    pub fn from_hex(hex: &str) -> Option<Self> {
        (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| BodyDigest(hex.to_ascii_lowercase()))
    }

    /// The hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BodyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A job id exactly as the server sent it: HasData sends an integer, some examples show a
/// digit string, and anything else is kept as text so it is never lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SentJobId {
    /// A JSON number, as written.
    Number(serde_json::Number),
    /// A JSON string.
    Text(String),
}

impl SentJobId {
    /// The id in a JSON value, when it is a number or a string.
    pub fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Number(n) => Some(SentJobId::Number(n.clone())),
            Value::String(s) => Some(SentJobId::Text(s.clone())),
            _ => None,
        }
    }

    /// The id as JSON (how it is stored).
    pub fn to_value(&self) -> Value {
        match self {
            SentJobId::Number(n) => Value::Number(n.clone()),
            SentJobId::Text(s) => Value::String(s.clone()),
        }
    }

    /// The integer id this SDK follows, when the id is one (a non-negative integer or a
    /// string of digits).
    pub fn job_id(&self) -> Option<JobId> {
        match self {
            SentJobId::Number(n) => n.as_u64().map(JobId::from),
            SentJobId::Text(s) => s.parse().ok(),
        }
    }
}

impl fmt::Display for SentJobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SentJobId::Number(n) => n.fmt(f),
            SentJobId::Text(s) => f.write_str(s),
        }
    }
}

impl Serialize for SentJobId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

/// A submit about to be sent: recorded before the POST.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Intent {
    /// The idempotency key (a UUID), sent as the `Idempotency-Key` header.
    pub key: String,
    /// The scraper's slug.
    pub slug: String,
    /// The digest of the exact body bytes sent.
    pub digest: BodyDigest,
    /// The body as JSON text with webhook header values redacted; `None` when the bytes are
    /// not JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Whether `body` had secrets taken out (it then cannot be resent as stored).
    pub body_redacted: bool,
    /// Where the body came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
    /// When the intent was recorded (RFC 3339).
    pub created_at: String,
}

impl Intent {
    /// An intent for `body`, the exact bytes that will be sent, recorded now.
    pub fn new(
        key: impl Into<String>,
        slug: impl Into<String>,
        body: &[u8],
        origin: Option<Origin>,
    ) -> Self {
        let (stored, redacted) = match serde_json::from_slice::<Value>(body) {
            Ok(mut value) => {
                let redacted = redact_body(&mut value);
                (Some(value.to_string()), redacted)
            }
            Err(_) => (None, false),
        };
        Intent {
            key: key.into(),
            slug: slug.into(),
            digest: BodyDigest::of(body),
            body: stored,
            body_redacted: redacted,
            origin,
            created_at: crate::now_rfc3339(),
        }
    }
}

/// How an intent ended, so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IntentState {
    /// Recorded; no outcome yet. Either the POST is in flight, or the process died before
    /// the answer was recorded: the job may exist.
    Pending,
    /// The server answered with a job id.
    Submitted,
    /// The server refused the request (4xx): no job exists.
    Refused,
    /// The request may have created a job, but no id came back (5xx, reset, timeout).
    Uncertain,
}

impl IntentState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            IntentState::Pending => "pending",
            IntentState::Submitted => "submitted",
            IntentState::Refused => "refused",
            IntentState::Uncertain => "uncertain",
        }
    }

    /// Reads a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "pending" => IntentState::Pending,
            "submitted" => IntentState::Submitted,
            "refused" => IntentState::Refused,
            "uncertain" => IntentState::Uncertain,
            _ => return None,
        })
    }

    /// Whether a job may exist that the ledger has no id for.
    pub fn is_unresolved(self) -> bool {
        matches!(self, IntentState::Pending | IntentState::Uncertain)
    }
}

impl fmt::Display for IntentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An intent and its outcome, as stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntentEntry {
    /// What was to be sent.
    #[serde(flatten)]
    pub intent: Intent,
    /// How it ended.
    pub state: IntentState,
    /// The job id as sent, once there is one.
    pub job_id: Option<SentJobId>,
    /// The refusal or the reason for doubt.
    pub detail: Option<String>,
    /// When the state last changed (RFC 3339).
    pub updated_at: String,
    /// How many times the POST was sent (1, more after explicit retries).
    pub attempts: u32,
}

impl IntentEntry {
    /// A fresh entry for a just-recorded intent.
    pub(crate) fn pending(intent: Intent) -> Self {
        IntentEntry {
            updated_at: intent.created_at.clone(),
            intent,
            state: IntentState::Pending,
            job_id: None,
            detail: None,
            attempts: 1,
        }
    }

    /// What the user should do about this intent, when anything.
    pub fn advice(&self) -> Option<String> {
        self.state.is_unresolved().then(|| {
            format!(
                "a {} job may have been created around {} without its id reaching this ledger: \
                 check the HasData dashboard; if there is no such job, \
                 `hasdata jobs retry {} --yes` sends it again with the same Idempotency-Key",
                self.intent.slug, self.intent.created_at, self.intent.key
            )
        })
    }
}

/// What a submit answered, for [`crate::JobLedger::record_submitted`].
#[derive(Clone, Debug, PartialEq)]
pub struct Submitted {
    /// The id as sent.
    pub id: SentJobId,
    /// The job's status in the answer, when it had one.
    pub status: Option<String>,
    /// The answer as JSON, webhook header values redacted (see [`redact_body`]).
    pub record: Value,
}

/// What [`crate::JobLedger::claim_resend`] found: whether the caller may resend the intent.
///
/// A resend of an unresolved intent is the one act a person confirms by hand ("no job was
/// created: send it again"); two retries of it at once (two shells, two machines) must not
/// both send, or the one confirmation bills two jobs. The claim is the ledger's own record of
/// who is resending, with a lease, so a retrier that dies does not block the intent for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResendClaim {
    /// The caller holds the intent until its lease runs out or it gives the claim back: it
    /// may resend.
    Taken,
    /// Another owner holds a claim whose lease has not run out: a resend is under way.
    Held,
    /// The intent moved on since the caller read it: it was resent meanwhile (its attempt
    /// count differs) or it created a job. Nothing should be sent.
    Moved,
}
