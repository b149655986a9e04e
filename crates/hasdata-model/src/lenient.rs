//! Reading what the API may send, not only what it documented.
//!
//! There is no contract beyond the docs' examples and what was seen live, and the two disagree.
//! So a response type requires only what the client cannot work without (a job's `id`, a result
//! wrapper's `data`, a page's `meta`); every other field is optional and nullable, and a value
//! that does not fit its field's type is kept as sent in the struct's `extra` map instead of
//! failing the whole response (`lenient_de!` writes those `Deserialize` impls). Fields known to
//! vary get types that accept every variant seen ([`Count`], [`NumberOrText`], [`TextOrList`],
//! [`TextOrObject`]).

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::de::{self, DeserializeOwned, Unexpected};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// A count (credits, rows, page numbers) kept exactly as the API sent it.
///
/// A status response carries `"creditsSpent": "5"` once the count is populated, a number or
/// `null` before that; decimal forms (`"5.00"`, `1.5`) are accepted too. [`Count::get`] reads
/// the whole part (`0` while not yet populated), [`Count::as_f64`] the exact value, and encoding
/// gives back the form that was decoded.
#[derive(Clone, Debug, Default)]
pub struct Count {
    /// `None`: absent or `null`, not yet populated.
    sent: Option<Sent>,
}

#[derive(Clone, Debug)]
enum Sent {
    Number(serde_json::Number),
    Text(String),
}

impl Count {
    /// The count as a whole number: the integer part of what was sent, `0` while not populated.
    pub fn get(&self) -> u64 {
        match &self.sent {
            Some(Sent::Number(n)) if n.as_u64().is_some() => return n.as_u64().unwrap_or(0),
            Some(Sent::Text(t)) => {
                // The whole part, read as digits: exact for counts beyond f64's 53 bits.
                let whole = t.trim().split('.').next().unwrap_or("");
                return whole.parse().unwrap_or(u64::MAX);
            }
            _ => {}
        }
        match self.as_f64() {
            Some(v) if v >= u64::MAX as f64 => u64::MAX,
            Some(v) if v > 0.0 => v.trunc() as u64,
            _ => 0,
        }
    }

    /// The exact value sent (`1.5` for `"1.50"`); `None` while not yet populated.
    pub fn as_f64(&self) -> Option<f64> {
        match &self.sent {
            None => None,
            Some(Sent::Number(n)) => n.as_f64(),
            Some(Sent::Text(t)) => t.trim().parse().ok(),
        }
    }

    /// Whether the API has sent a value (`null` and absent mean not yet populated).
    pub fn is_populated(&self) -> bool {
        self.sent.is_some()
    }

    /// The text the API sent, when it sent a string (`"5.00"`).
    pub fn sent_text(&self) -> Option<&str> {
        match &self.sent {
            Some(Sent::Text(t)) => Some(t),
            _ => None,
        }
    }

    /// What equality, order and hashing look at: the value, so `5`, `"5"` and `5.0` are one count.
    fn key(&self) -> (u64, u64) {
        let exact = self.as_f64().unwrap_or(0.0);
        (self.get(), exact.fract().to_bits())
    }
}

impl PartialEq for Count {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Count {}

impl PartialOrd for Count {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Count {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl std::hash::Hash for Count {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

impl From<u64> for Count {
    fn from(value: u64) -> Self {
        Count {
            sent: Some(Sent::Number(value.into())),
        }
    }
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sent {
            None => f.write_str("0"),
            Some(Sent::Number(n)) => n.fmt(f),
            Some(Sent::Text(t)) => f.write_str(t.trim()),
        }
    }
}

impl Serialize for Count {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.sent {
            None => serializer.serialize_none(),
            Some(Sent::Number(n)) => n.serialize(serializer),
            Some(Sent::Text(t)) => serializer.serialize_str(t),
        }
    }
}

const COUNT_EXPECTED: &str =
    "a non-negative number, a decimal string such as \"5\" or \"5.00\", or null";

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let sent = match Value::deserialize(deserializer)? {
            Value::Null => None,
            Value::Number(n) if n.as_f64().is_some_and(|v| v >= 0.0) => Some(Sent::Number(n)),
            Value::String(t) if is_decimal(&t) => Some(Sent::Text(t)),
            Value::Number(n) => {
                let text = n.to_string();
                return Err(de::Error::invalid_value(
                    Unexpected::Other(&text),
                    &COUNT_EXPECTED,
                ));
            }
            Value::String(t) => {
                return Err(de::Error::invalid_value(
                    Unexpected::Str(&t),
                    &COUNT_EXPECTED,
                ));
            }
            other => {
                return Err(de::Error::invalid_type(unexpected(&other), &COUNT_EXPECTED));
            }
        };
        Ok(Count { sent })
    }
}

/// Whether `text` is a non-negative decimal number (`5`, `5.00`, ` 12 `).
fn is_decimal(text: &str) -> bool {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    !whole.is_empty()
        && !fraction.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
}

/// serde's description of a JSON value's kind, for error messages.
pub(crate) fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(_) => Unexpected::Other("a number"),
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

impl JsonSchema for Count {
    fn schema_name() -> Cow<'static, str> {
        "Count".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A count: a non-negative number, a decimal string (\"5\", \"5.00\"), or null while not yet populated.",
            "anyOf": [
                { "type": "number", "minimum": 0 },
                { "type": "string", "pattern": "^\\s*[0-9]+(\\.[0-9]+)?\\s*$" },
                { "type": "null" }
            ]
        })
    }
}

/// A value that is meant to be a number but is sometimes sent as text (`"$450,000"`, `"4.5"`).
///
/// It keeps the form it arrived in, so encoding gives back exactly what was decoded; use
/// [`NumberOrText::as_f64`] to read it as a number.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
#[schemars(
    description = "A value that is meant to be a number but is sometimes sent as text (`\"$450,000\"`, `\"4.5\"`)."
)]
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

/// One text or a list of texts (photos, e-mails: both forms are seen).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum TextOrList {
    /// One value.
    One(String),
    /// Several values.
    Many(Vec<String>),
}

impl TextOrList {
    /// The values as a list: one text is a list of one.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            TextOrList::One(one) => vec![one.clone()],
            TextOrList::Many(many) => many.clone(),
        }
    }
}

/// A text, or an object that spells the same thing out (an address as `"1 Main St, Austin"` or
/// as `{streetAddress, city, ...}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum TextOrObject {
    /// Sent as a string.
    Text(String),
    /// Sent as an object, kept verbatim.
    Object(Map<String, Value>),
}

impl TextOrObject {
    /// The text, when it was sent as one.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            TextOrObject::Text(text) => Some(text),
            TextOrObject::Object(_) => None,
        }
    }
}

/// Takes `key` out of `map` and decodes it. Absent or `null` gives the default; a value that
/// does not fit is put back, so it lands in the struct's `extra` as sent.
pub(crate) fn take<T: DeserializeOwned + Default>(map: &mut Map<String, Value>, key: &str) -> T {
    match map.remove(key) {
        None | Some(Value::Null) => T::default(),
        Some(value) => match T::deserialize(&value) {
            Ok(decoded) => decoded,
            Err(_) => {
                map.insert(key.to_owned(), value);
                T::default()
            }
        },
    }
}

/// For `deserialize_with` on an optional field: a value of another type reads as `None`
/// instead of failing the whole document.
pub(crate) fn or_none<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    let value = Value::deserialize(deserializer)?;
    Ok(T::deserialize(value).ok())
}

/// Takes a field the client cannot work without: absent, `null` or unfit is an error naming it.
pub(crate) fn take_required<T: DeserializeOwned, E: de::Error>(
    map: &mut Map<String, Value>,
    key: &'static str,
) -> Result<T, E> {
    match map.remove(key) {
        None | Some(Value::Null) => Err(E::missing_field(key)),
        Some(value) => T::deserialize(&value).map_err(|e| E::custom(format_args!("`{key}`: {e}"))),
    }
}

/// The keys of `extra` that name a modelled field: values kept raw because they did not fit.
pub(crate) fn unfit<'a>(
    extra: &'a std::collections::BTreeMap<String, Value>,
    fields: &'static [&'static str],
) -> Vec<&'a str> {
    extra
        .keys()
        .map(String::as_str)
        .filter(|key| fields.contains(key))
        .collect()
}

/// Writes a tolerant `Deserialize` for a struct with an `extra: BTreeMap<String, Value>` map:
/// the listed fields are taken with [`take`] (or [`take_required`] in the `required` list),
/// everything left over (unknown keys and values that did not fit) goes to `extra`. Also
/// writes `FIELDS` (the wire names) and `unfit_fields()`.
macro_rules! lenient_de {
    (
        $name:ident {
            $(@required { $($req:ident : $req_wire:literal),* $(,)? })?
            $($field:ident : $wire:literal),* $(,)?
        }
    ) => {
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let mut map =
                    <serde_json::Map<String, serde_json::Value> as serde::Deserialize>::deserialize(
                        deserializer,
                    )?;
                $($(let $req = $crate::lenient::take_required::<_, D::Error>(&mut map, $req_wire)?;)*)?
                $(let $field = $crate::lenient::take(&mut map, $wire);)*
                Ok($name {
                    $($($req,)*)?
                    $($field,)*
                    extra: map.into_iter().collect(),
                })
            }
        }

        impl $name {
            /// The wire names of the fields this type models.
            pub const FIELDS: &'static [&'static str] = &[$($($req_wire,)*)? $($wire),*];

            /// Modelled fields whose value did not fit their type: they are kept, as sent, in
            /// `extra`. Empty when the value matched the known shape.
            pub fn unfit_fields(&self) -> Vec<&str> {
                $crate::lenient::unfit(&self.extra, Self::FIELDS)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_keep_their_form() {
        for (json, whole, exact) in [
            ("null", 0, None),
            ("5", 5, Some(5.0)),
            ("\"5\"", 5, Some(5.0)),
            ("\"5.00\"", 5, Some(5.0)),
            ("1.5", 1, Some(1.5)),
        ] {
            let count: Count = serde_json::from_str(json).unwrap();
            assert_eq!(count.get(), whole, "{json}");
            assert_eq!(count.as_f64(), exact, "{json}");
            assert_eq!(serde_json::to_string(&count).unwrap(), json, "kept as sent");
        }
        assert_eq!(
            serde_json::from_str::<Count>("\"5\"").unwrap(),
            Count::from(5)
        );
        for bad in ["-1", "\"abc\"", "\"5.\"", "true", "[]"] {
            assert!(serde_json::from_str::<Count>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn counts_compare_by_value_whatever_their_form() {
        let count = |json: &str| serde_json::from_str::<Count>(json).unwrap();
        assert_eq!(count("\"5.00\""), count("5"));
        assert_ne!(Count::from(5), Count::from(6));
        assert_ne!(count("1.5"), count("1"), "the fraction counts");
        assert!(Count::from(2) < Count::from(10));
        assert!(count("1.5") < count("\"2\""));
        assert!(count("1") < count("1.5"));
        assert_eq!(Count::default(), count("0"), "not populated reads as 0");
        let mut sorted = vec![count("3"), count("\"1.5\""), Count::from(2)];
        sorted.sort();
        assert_eq!(sorted, [count("1.5"), Count::from(2), count("3")]);
        assert_eq!(count("\" 12 \"").to_string(), "12", "text is shown trimmed");
        assert_eq!(count("\"5.00\"").to_string(), "5.00");
        assert_eq!(count("1.5").to_string(), "1.5");
        assert_eq!(Count::default().to_string(), "0");
        assert_eq!(Count::from(7).sent_text(), None, "a number has no text");
        assert_eq!(count("1e30").get(), u64::MAX, "beyond u64 saturates");
        assert_eq!(count("\"99999999999999999999\"").get(), u64::MAX);
    }

    #[test]
    fn numbers_sent_as_text_are_read_through_their_decoration() {
        let text = |t: &str| NumberOrText::Text(t.to_owned()).as_f64();
        assert_eq!(text("$450,000"), Some(450000.0));
        assert_eq!(text(" 4.5 "), Some(4.5));
        assert_eq!(text("-3"), Some(-3.0));
        assert_eq!(text("n/a"), None);
        assert_eq!(NumberOrText::Number(7.into()).as_f64(), Some(7.0));
    }

    #[test]
    fn one_or_many_texts_read_as_a_list() {
        assert_eq!(TextOrList::One("a".into()).to_vec(), ["a"]);
        assert_eq!(
            TextOrList::Many(vec!["a".into(), "b".into()]).to_vec(),
            ["a", "b"]
        );
        assert!(TextOrList::Many(Vec::new()).to_vec().is_empty());
        assert_eq!(TextOrObject::Text("x".into()).as_text(), Some("x"));
        assert_eq!(TextOrObject::Object(Map::new()).as_text(), None);
    }
}
