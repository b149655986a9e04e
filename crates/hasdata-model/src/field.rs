//! Small building blocks of request bodies.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::validate::{CheckValue, Checker, Evidence, kind_of};

/// Conversion used by body setters, so `.keywords(["a", "b"])` and `.domain("www.amazon.de")`
/// work without `.to_string()` on every literal.
pub trait IntoFieldValue<T> {
    /// Converts into the field's type.
    fn into_field_value(self) -> T;
}

impl<T> IntoFieldValue<T> for T {
    fn into_field_value(self) -> T {
        self
    }
}

impl IntoFieldValue<String> for &str {
    fn into_field_value(self) -> String {
        self.to_owned()
    }
}

impl<S: Into<E>, E, const N: usize> IntoFieldValue<Vec<E>> for [S; N] {
    fn into_field_value(self) -> Vec<E> {
        self.into_iter().map(Into::into).collect()
    }
}

impl IntoFieldValue<Vec<String>> for Vec<&str> {
    fn into_field_value(self) -> Vec<String> {
        self.into_iter().map(str::to_owned).collect()
    }
}

impl IntoFieldValue<Vec<String>> for &[&str] {
    fn into_field_value(self) -> Vec<String> {
        self.iter().map(|s| (*s).to_owned()).collect()
    }
}

/// A numeric filter with optional bounds, sent as `{"min": .., "max": ..}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Range {
    /// The lower bound, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// The upper bound, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Fields this crate does not model yet, sent as given.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Range {
    /// A range with both bounds.
    pub fn between(min: f64, max: f64) -> Self {
        Range {
            min: Some(min),
            max: Some(max),
            extra: BTreeMap::new(),
        }
    }

    /// A range with only a lower bound.
    pub fn at_least(min: f64) -> Self {
        Range {
            min: Some(min),
            max: None,
            extra: BTreeMap::new(),
        }
    }

    /// A range with only an upper bound.
    pub fn at_most(max: f64) -> Self {
        Range {
            min: None,
            max: Some(max),
            extra: BTreeMap::new(),
        }
    }
}

impl CheckValue for Range {
    fn expected() -> String {
        "an object {\"min\": number, \"max\": number}".to_owned()
    }

    /// Bounds are numbers (text that reads as one is a warning); `min` above `max` is a
    /// warning too: the ranges come from the synchronous API.
    fn check_value(value: &Value, path: &str, field: Evidence, checker: &mut Checker) {
        let Value::Object(bounds) = value else {
            checker.report(
                path,
                field,
                format!("expected {}, got {}", Self::expected(), kind_of(value)),
            );
            return;
        };
        let mut read = |key: &str| -> Option<f64> {
            let bound = bounds.get(key)?;
            <f64 as CheckValue>::check_value(bound, &format!("{path}.{key}"), field, checker);
            match bound {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }
        };
        let (min, max) = (read("min"), read("max"));
        if let (Some(min), Some(max)) = (min, max)
            && min > max
        {
            checker.report(
                path,
                Evidence::Inferred,
                format!("expected min <= max, got min {min} > max {max}; sent as written"),
            );
        }
    }
}
