//! Queue items: their states, their identity (the digest of slug and canonical body), and the
//! claimed form a worker acts on.

use std::fmt;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Where an item is in its life. Only `submitting` and `running` hold one of the fleet's
/// running-job slots (the API's concurrency): `collecting` jobs have ended on the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ItemState {
    /// Waiting for a worker.
    Queued,
    /// Claimed; its intent key is stored; the POST may be under way. The ledger's intent under
    /// that key says how far it got.
    Submitting,
    /// The job exists (its id is stored); waiting for it to end.
    Running,
    /// The job ended; its rows are being written to the sink.
    Collecting,
    /// Rows written, completely.
    Done,
    /// The submit's outcome is unknown (the job may exist): a person decides
    /// (`hasdata queue resolve`).
    Parked,
    /// The API refused the body, or the job ended without finishing.
    Failed,
}

impl ItemState {
    /// Every state, in life order.
    pub const ALL: [ItemState; 7] = [
        ItemState::Queued,
        ItemState::Submitting,
        ItemState::Running,
        ItemState::Collecting,
        ItemState::Done,
        ItemState::Parked,
        ItemState::Failed,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Queued => "queued",
            ItemState::Submitting => "submitting",
            ItemState::Running => "running",
            ItemState::Collecting => "collecting",
            ItemState::Done => "done",
            ItemState::Parked => "parked",
            ItemState::Failed => "failed",
        }
    }

    /// Reads a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        ItemState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl fmt::Display for ItemState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A body's canonical text: compact JSON with object keys sorted (serde_json's map is ordered
/// by key here; the workspace never enables `preserve_order`), so two lines that differ only in
/// spacing or key order are the same item, and the text is exactly what a worker sends.
pub fn canonical_body(body: &Value) -> String {
    body.to_string()
}

/// The item's identity: SHA-256 of the slug, a newline and the canonical body, in hex.
pub fn item_digest(slug: &str, body: &Value) -> String {
    let mut hash = Sha256::new();
    hash.update(slug.as_bytes());
    hash.update(b"\n");
    hash.update(canonical_body(body).as_bytes());
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// An item to add.
#[derive(Clone, Debug, PartialEq)]
pub struct NewItem {
    /// The scraper's slug.
    pub slug: String,
    /// The body (a JSON object).
    pub body: Value,
    /// Where it came from (`bodies.jsonl:3`).
    pub origin: Option<String>,
}

/// An item a worker holds the lease of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimed {
    /// The item's id.
    pub id: i64,
    /// The scraper's slug.
    pub slug: String,
    /// The canonical body text.
    pub body: String,
    /// Where it came from.
    pub origin: Option<String>,
    /// The state it was claimed in: `submitting` (fresh or resumed), `running` or
    /// `collecting` (a previous holder's lease ran out).
    pub state: ItemState,
    /// The intent key (always set from `submitting` on).
    pub intent_key: Option<String>,
    /// The job id as sent, once known.
    pub job_id: Option<String>,
    /// How many times the item was claimed, this claim included.
    pub claims: i32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spacing_and_key_order_do_not_make_a_new_item() {
        let a: Value = serde_json::from_str(r#"{"urls": ["x"], "limit": 3}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"limit":3,"urls":["x"]}"#).unwrap();
        assert_eq!(item_digest("contacts", &a), item_digest("contacts", &b));
        assert_eq!(canonical_body(&a), r#"{"limit":3,"urls":["x"]}"#);
        assert_ne!(
            item_digest("contacts", &a),
            item_digest("crawler", &a),
            "the slug is part of the identity"
        );
        assert_ne!(
            item_digest("contacts", &a),
            item_digest("contacts", &json!({"urls": ["x"], "limit": 4}))
        );
    }

    #[test]
    fn state_names_read_back() {
        for state in ItemState::ALL {
            assert_eq!(ItemState::parse(state.as_str()), Some(state));
        }
        assert_eq!(ItemState::parse("lost"), None);
    }
}
