use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::JobRow;

/// A `contacts` row: what was found on one input URL. Each category is a list, empty when
/// nothing was found; the API never sends `null` for them, and a `null` is a decode error.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContactsRow {
    /// The input URL this row is about.
    pub url: String,
    /// E-mail addresses.
    #[serde(default)]
    pub emails: Vec<String>,
    /// Phone numbers.
    #[serde(rename = "phoneNumbers", default)]
    pub phone_numbers: Vec<String>,
    /// LinkedIn profiles.
    #[serde(default)]
    pub linkedin: Vec<String>,
    /// X (Twitter) profiles; the key is `xcom`.
    #[serde(default)]
    pub xcom: Vec<String>,
    /// Facebook pages.
    #[serde(default)]
    pub facebook: Vec<String>,
    /// Instagram profiles.
    #[serde(default)]
    pub instagram: Vec<String>,
    /// Dribbble profiles.
    #[serde(default)]
    pub dribbble: Vec<String>,
    /// Clutch profiles.
    #[serde(default)]
    pub clutch: Vec<String>,
    /// Fields this crate does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl JobRow for ContactsRow {
    const SHAPE_KNOWN: bool = true;
}
