use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::JobRow;
use crate::lenient::Count;

/// A `crawler` row: one crawled page, with one key per output format asked for.
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
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
    /// The AI extraction result: documented as a **JSON document inside a string**, but a
    /// plain JSON value is accepted too; see [`CrawlerRow::ai_response_json`].
    #[serde(
        rename = "aiResponse",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(
        description = "The AI extraction result: documented as a JSON document inside a string; a plain JSON value is seen too."
    )]
    pub ai_response: Option<Value>,
    /// Other keys (`json`, `screenshot`, ...), kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

lenient_de!(CrawlerRow {
    url: "url",
    status_code: "statusCode",
    status_text: "statusText",
    title: "title",
    text: "text",
    depth: "depth",
    error: "error",
    markdown: "markdown",
    html: "html",
    ai_response: "aiResponse",
});

impl CrawlerRow {
    /// Reads [`CrawlerRow::ai_response`] as JSON: a string is parsed (the documented form), any
    /// other value is taken as it is.
    pub fn ai_response_json(&self) -> Option<Result<Value, serde_json::Error>> {
        self.ai_response.as_ref().map(|value| match value {
            Value::String(text) => serde_json::from_str(text),
            other => Ok(other.clone()),
        })
    }
}

impl JobRow for CrawlerRow {
    const SHAPE_KNOWN: bool = true;

    fn unfit_fields(&self) -> Vec<&str> {
        CrawlerRow::unfit_fields(self)
    }
}
