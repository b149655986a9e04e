//! Numbers the API sends in more than one form.
//!
//! A status response carries `"creditsSpent": "5"` once the count is populated and `0` before
//! that; doc examples use integers throughout. Every count therefore decodes from a JSON integer
//! or a string of digits, and its schema says exactly that.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, Unexpected, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A non-negative count (credits, rows, page numbers) sent as an integer or a string of digits.
///
/// It always encodes as a JSON integer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Count(pub u64);

impl Count {
    /// The count as a plain integer.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl From<u64> for Count {
    fn from(value: u64) -> Self {
        Count(value)
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Count {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(UnsignedVisitor {
                expected: "a non-negative integer or a string of digits",
            })
            .map(Count)
    }
}

impl JsonSchema for Count {
    fn schema_name() -> Cow<'static, str> {
        "Count".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        unsigned_or_digits_schema("A non-negative count: a JSON integer, or a string of digits.")
    }
}

/// The schema shared by every value that is an integer or a string of digits.
pub(crate) fn unsigned_or_digits_schema(description: &str) -> Schema {
    json_schema!({
        "description": description,
        "anyOf": [
            { "type": "integer", "minimum": 0 },
            { "type": "string", "pattern": "^[0-9]+$" }
        ]
    })
}

/// Decodes a `u64` from a JSON integer, an integral float, or a string of ASCII digits.
///
/// Anything else (a negative number, a fraction, `"abc"`, `null`) is an error that says what was
/// expected; `serde_path_to_error` adds the field's path.
pub(crate) struct UnsignedVisitor {
    pub(crate) expected: &'static str,
}

impl UnsignedVisitor {
    fn parse_digits<E: de::Error>(&self, text: &str) -> Result<u64, E> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(E::invalid_value(Unexpected::Str(text), self));
        }
        text.parse::<u64>()
            .map_err(|_| E::invalid_value(Unexpected::Str(text), &"a number that fits in 64 bits"))
    }
}

impl Visitor<'_> for UnsignedVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expected)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
        // `5.0` is harmless; `5.5`, `-1.0` and NaN are not counts.
        if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= u64::MAX as f64 {
            Ok(v as u64)
        } else {
            Err(E::invalid_value(Unexpected::Float(v), &self))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
        self.parse_digits(v)
    }
}

/// A value that is meant to be a number but is sometimes sent as text (`"$450,000"`, `"4.5"`).
///
/// It keeps the form it arrived in, so encoding gives back exactly what was decoded; use
/// [`NumberOrText::as_f64`] to read it as a number.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum NumberOrText {
    /// Sent as a JSON number.
    Number(serde_json::Number),
    /// Sent as a JSON string.
    Text(String),
}

impl NumberOrText {
    /// The numeric value: a number as is, text with currency signs, spaces and thousands
    /// separators removed. `None` when the text holds no number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            NumberOrText::Number(n) => n.as_f64(),
            NumberOrText::Text(text) => {
                let cleaned: String = text
                    .chars()
                    .filter(|c| c.is_ascii_digit() || *c == '.' || *c == '-')
                    .collect();
                cleaned.parse().ok()
            }
        }
    }
}

/// An identifier the API sends as a string or, at times, as a number; kept as text.
pub(crate) mod text_id {
    use super::*;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<String, D::Error> {
        struct TextIdVisitor;
        impl Visitor<'_> for TextIdVisitor {
            type Value = String;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an integer identifier")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
                Ok(v.to_owned())
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
                Ok(v)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
                Ok(v.to_string())
            }
        }
        deserializer.deserialize_any(TextIdVisitor)
    }

    pub(crate) fn schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "An identifier: a string, or an integer.",
            "type": ["string", "integer"]
        })
    }
}
