//! The job handle, kept as the API sent it.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Unexpected, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest text id kept; a UUID needs 36 bytes.
pub const MAX_TEXT_ID: usize = 64;

/// The handle of a job: the `id` of the submit record.
///
/// Live, the API sends an integer (`416349`); HasData's docs pages show UUIDs and short strings
/// (`"abc123"`). The client only echoes the id back in paths, so it is kept as sent: an integer,
/// or a text of up to [`MAX_TEXT_ID`] printable ASCII characters without `/`, `?`, `#`, `%` or
/// spaces (so it can go into a path verbatim). A digit string without leading zeros is the same
/// id as the integer (`"416349"` equals `416349`), so a webhook that sends the id as text finds
/// the job submitted with the integer.
///
/// It is `Copy` and two words long: a text id is interned once per process (see
/// [`MAX_DISTINCT_TEXT_IDS`]), so error types that carry an id stay small.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(Repr);

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Repr {
    Number(u64),
    Text(&'static str),
}

/// How many distinct text ids one process keeps (at most 64 bytes each, so 4 MiB): live ids
/// are integers, so text ids are rare; the bound keeps a flood of made-up ids from growing
/// memory without end. Past it, new text ids fail to parse.
pub const MAX_DISTINCT_TEXT_IDS: usize = 1 << 16;

/// Returns the one `'static` copy of `text`, keeping it on first sight.
fn intern(text: &str) -> Option<&'static str> {
    static TEXTS: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut texts = TEXTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(kept) = texts.get(text) {
        return Some(kept);
    }
    if texts.len() >= MAX_DISTINCT_TEXT_IDS {
        return None;
    }
    let kept: &'static str = Box::leak(text.to_owned().into_boxed_str());
    texts.insert(kept);
    Some(kept)
}

impl JobId {
    /// The id as an integer, when it is one (the normal case live).
    pub fn as_u64(&self) -> Option<u64> {
        match self.0 {
            Repr::Number(n) => Some(n),
            Repr::Text(_) => None,
        }
    }

    /// The id as text, exactly as it goes into a path.
    pub fn as_text(&self) -> Cow<'_, str> {
        match self.0 {
            Repr::Number(n) => Cow::Owned(n.to_string()),
            Repr::Text(text) => Cow::Borrowed(text),
        }
    }

    /// Whether the id arrived as (or is) an integer.
    pub fn is_number(&self) -> bool {
        matches!(self.0, Repr::Number(_))
    }
}

impl From<u64> for JobId {
    fn from(value: u64) -> Self {
        JobId(Repr::Number(value))
    }
}

/// So calls that take `impl Into<JobId>` take `&id` too (`ids.iter()`).
impl From<&JobId> for JobId {
    fn from(id: &JobId) -> Self {
        *id
    }
}

/// A job's record stands for its id: `client.rows(&job)`.
impl From<&crate::Job> for JobId {
    fn from(job: &crate::Job) -> Self {
        job.id
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Repr::Number(n) => n.fmt(f),
            Repr::Text(_) => f.write_str(&self.as_text()),
        }
    }
}

impl fmt::Debug for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Repr::Number(n) => write!(f, "JobId({n})"),
            Repr::Text(_) => write!(f, "JobId({:?})", self.as_text()),
        }
    }
}

/// The error of reading a [`JobId`] from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid job id {given:?}: expected an integer such as 416349, or an id of at most 64 \
     printable characters without spaces, '/', '?', '#' or '%'"
)]
pub struct ParseJobIdError {
    /// The text that was given.
    pub given: String,
}

impl FromStr for JobId {
    type Err = ParseJobIdError;

    /// Surrounding whitespace is ignored; a canonical digit string (no leading zero) becomes the
    /// integer id; any other allowed text is kept verbatim.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fail = || ParseJobIdError {
            given: s.to_owned(),
        };
        let text = s.trim();
        if text.is_empty() || text.len() > MAX_TEXT_ID {
            return Err(fail());
        }
        let canonical_digits =
            text.bytes().all(|b| b.is_ascii_digit()) && (text == "0" || !text.starts_with('0'));
        if canonical_digits && let Ok(n) = text.parse::<u64>() {
            return Ok(JobId(Repr::Number(n)));
        }
        let allowed = |b: u8| b.is_ascii_graphic() && !b"/?#%".contains(&b);
        if !text.bytes().all(allowed) {
            return Err(fail());
        }
        intern(text)
            .map(|kept| JobId(Repr::Text(kept)))
            .ok_or_else(fail)
    }
}

impl Serialize for JobId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Repr::Number(n) => serializer.serialize_u64(n),
            Repr::Text(_) => serializer.serialize_str(&self.as_text()),
        }
    }
}

struct JobIdVisitor;

impl Visitor<'_> for JobIdVisitor {
    type Value = JobId;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a job id: an integer, or a string such as a UUID")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<JobId, E> {
        Ok(JobId::from(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<JobId, E> {
        u64::try_from(v)
            .map(JobId::from)
            .map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<JobId, E> {
        if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= u64::MAX as f64 {
            Ok(JobId::from(v as u64))
        } else {
            Err(E::invalid_value(Unexpected::Float(v), &self))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<JobId, E> {
        v.parse()
            .map_err(|_| E::invalid_value(Unexpected::Str(v), &self))
    }
}

impl<'de> Deserialize<'de> for JobId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JobIdVisitor)
    }
}

impl JsonSchema for JobId {
    fn schema_name() -> Cow<'static, str> {
        "JobId".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The job handle, kept as sent: an integer live (416349); HasData's docs pages also show strings such as a UUID or \"abc123\".",
            "anyOf": [
                { "type": "integer", "minimum": 0 },
                { "type": "string", "minLength": 1, "maxLength": MAX_TEXT_ID, "pattern": "^[!-~]+$" }
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_kept_and_digit_strings_match_integers() {
        assert_eq!("416349".parse::<JobId>(), Ok(JobId::from(416349)));
        let uuid: JobId = "dd1a8c53-2d47-4444-977d-8d653a6a3c82".parse().unwrap();
        assert_eq!(uuid.to_string(), "dd1a8c53-2d47-4444-977d-8d653a6a3c82");
        assert_eq!(uuid.as_u64(), None);
        let padded: JobId = "007".parse().unwrap();
        assert_eq!(padded.to_string(), "007", "leading zeros are kept as sent");
        assert!("a/b".parse::<JobId>().is_err());
        assert!("".parse::<JobId>().is_err());
        assert!("x".repeat(65).parse::<JobId>().is_err());
        let json = serde_json::to_string(&uuid).unwrap();
        assert_eq!(json, "\"dd1a8c53-2d47-4444-977d-8d653a6a3c82\"");
        assert_eq!(serde_json::to_string(&JobId::from(5)).unwrap(), "5");
    }

    #[test]
    fn the_two_forms_answer_for_themselves() {
        let number = JobId::from(416349);
        assert!(number.is_number());
        assert_eq!(number.as_u64(), Some(416349));
        assert_eq!(number.as_text(), "416349");
        assert_eq!(format!("{number:?}"), "JobId(416349)");
        let text: JobId = "abc123".parse().unwrap();
        assert!(!text.is_number());
        assert_eq!(text.as_text(), "abc123");
        assert_eq!(format!("{text:?}"), "JobId(\"abc123\")");
        assert_eq!(JobId::from(&text), text, "a reference stands for its id");
        assert_eq!(
            "0".parse::<JobId>(),
            Ok(JobId::from(0)),
            "zero is canonical"
        );
        assert!(!"00".parse::<JobId>().unwrap().is_number());
        assert!(
            " a b ".parse::<JobId>().is_err(),
            "inner spaces cannot go into a path"
        );
        assert_eq!(
            "a%2F".parse::<JobId>().unwrap_err().given,
            "a%2F",
            "the error names what was given"
        );
    }

    #[test]
    fn json_numbers_must_be_whole_and_non_negative() {
        let id = |json: &str| serde_json::from_str::<JobId>(json);
        assert_eq!(id("416349").unwrap(), JobId::from(416349));
        assert_eq!(
            id("416349.0").unwrap(),
            JobId::from(416349),
            "a whole float"
        );
        assert_eq!(id("\"416349\"").unwrap(), JobId::from(416349));
        for bad in ["-1", "-1.0", "1.5", "1e300", "true", "null", "[]", "\"\""] {
            let err = id(bad).unwrap_err().to_string();
            assert!(err.contains("a job id"), "{bad}: {err}");
        }
    }
}
