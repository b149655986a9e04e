//! The integer job handle.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::lenient::{UnsignedVisitor, unsigned_or_digits_schema};

/// The handle of a job: the integer `id` of the submit record (for example `416349`).
///
/// It is the only way back to a job's status, results and stop call, so callers should persist
/// it the moment a submit answers. Some doc examples show it as a digit string, so it decodes
/// from either form; anything else (a UUID, `"abc"`, a negative number) is a decode error.
/// It always encodes as a JSON integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub u64);

impl JobId {
    /// The id as a plain integer.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl From<u64> for JobId {
    fn from(value: u64) -> Self {
        JobId(value)
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The error of parsing a [`JobId`] from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid job id {given:?}: expected a positive integer such as 416349")]
pub struct ParseJobIdError {
    /// The text that was given.
    pub given: String,
}

impl FromStr for JobId {
    type Err = ParseJobIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseJobIdError {
                given: s.to_owned(),
            });
        }
        trimmed.parse().map(JobId).map_err(|_| ParseJobIdError {
            given: s.to_owned(),
        })
    }
}

impl Serialize for JobId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for JobId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(UnsignedVisitor {
                expected: "a job id: an integer or a string of digits",
            })
            .map(JobId)
    }
}

impl JsonSchema for JobId {
    fn schema_name() -> Cow<'static, str> {
        "JobId".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        unsigned_or_digits_schema(
            "The integer job handle; some responses send it as a string of digits.",
        )
    }
}
