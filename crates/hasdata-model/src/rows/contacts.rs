use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::JobRow;

/// A `contacts` row: what was found on one input URL. Each category is a list, empty when
/// nothing was found (the docs say never `null`; a `null` reads as an empty list).
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
#[schemars(
    description = "A `contacts` row: what was found on one input URL. Each category is a list, empty when nothing was found."
)]
pub struct ContactsRow {
    /// The input URL this row is about.
    pub url: String,
    /// E-mail addresses.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub emails: Vec<String>,
    /// Phone numbers.
    #[serde(rename = "phoneNumbers", default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub phone_numbers: Vec<String>,
    /// LinkedIn profiles.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub linkedin: Vec<String>,
    /// X (Twitter) profiles; the key is `xcom`.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub xcom: Vec<String>,
    /// Facebook pages.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub facebook: Vec<String>,
    /// Instagram profiles.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub instagram: Vec<String>,
    /// Dribbble profiles.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub dribbble: Vec<String>,
    /// Clutch profiles.
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub clutch: Vec<String>,
    /// Fields this crate does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

lenient_de!(ContactsRow {
    url: "url",
    emails: "emails",
    phone_numbers: "phoneNumbers",
    linkedin: "linkedin",
    xcom: "xcom",
    facebook: "facebook",
    instagram: "instagram",
    dribbble: "dribbble",
    clutch: "clutch",
});

impl JobRow for ContactsRow {
    const SHAPE_KNOWN: bool = true;

    fn unfit_fields(&self) -> Vec<&str> {
        ContactsRow::unfit_fields(self)
    }
}
