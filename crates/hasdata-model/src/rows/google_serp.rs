use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::JobRow;
use crate::lenient::Count;

/// A `google-serp` row: one organic result of one keyword (and location).
/// Highlighted words, rich snippets and sitelinks stay in `extra`: their shapes vary.
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
pub struct GoogleSerpRow {
    /// The result's rank on the page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Count>,
    /// The keyword searched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyword: Option<String>,
    /// The result's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The result's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// The URL as Google shows it.
    #[serde(
        rename = "displayedLink",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub displayed_link: Option<String>,
    /// The text under the title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
    /// The site's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Other keys, kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

lenient_de!(GoogleSerpRow {
    position: "position",
    keyword: "keyword",
    title: "title",
    link: "link",
    displayed_link: "displayedLink",
    snippet: "snippet",
    source: "source",
});

impl JobRow for GoogleSerpRow {
    const SHAPE_KNOWN: bool = true;

    fn unfit_fields(&self) -> Vec<&str> {
        GoogleSerpRow::unfit_fields(self)
    }
}
