use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::JobRow;
use crate::lenient::Count;

/// A `crawler` row: one crawled page, with one key per output format asked for.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CrawlerRow {
    /// The page's URL.
    pub url: String,
    /// The HTTP status the page answered with.
    #[serde(
        rename = "statusCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub status_code: Option<Count>,
    /// The HTTP status text.
    #[serde(
        rename = "statusText",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub status_text: Option<String>,
    /// The page's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The page's visible text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Hops from the seed URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<Count>,
    /// Why the page failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The page as Markdown (`outputFormat: ["markdown"]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub markdown: Option<String>,
    /// The page as HTML (`outputFormat: ["html"]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// The AI extraction result: a **JSON document inside a string**; see
    /// [`CrawlerRow::ai_response_json`].
    #[serde(
        rename = "aiResponse",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ai_response: Option<String>,
    /// Other keys (`json`, `screenshot`, ...), kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl CrawlerRow {
    /// Parses [`CrawlerRow::ai_response`], which the API sends as a string holding JSON.
    pub fn ai_response_json(&self) -> Option<Result<Value, serde_json::Error>> {
        self.ai_response.as_deref().map(serde_json::from_str)
    }
}

impl JobRow for CrawlerRow {
    const SHAPE_KNOWN: bool = true;
}
