//! One page of a job's results.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::job_id::JobId;
use crate::lenient::Count;

/// `GET /scrapers/jobs/{id}/results?page=N&limit=L`: a page of rows plus paging facts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResultsPage<R> {
    /// Where this page sits.
    pub meta: PageMeta,
    /// The rows, each wrapped in its record.
    pub data: Vec<ResultRow<R>>,
    /// Fields this crate does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Paging facts. `total` can lag for a short while after a job finishes, so stop on
/// `currentPage >= lastPage`, not on a row count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PageMeta {
    /// Rows in the whole result (may lag right after finishing).
    pub total: Count,
    /// Rows per page, as asked with `limit` (at most 100).
    #[serde(rename = "perPage")]
    pub per_page: Count,
    /// This page's number, from 1.
    #[serde(rename = "currentPage")]
    pub current_page: Count,
    /// The last page's number.
    #[serde(rename = "lastPage")]
    pub last_page: Count,
    /// The first page's number (1).
    #[serde(rename = "firstPage", default = "first_page")]
    pub first_page: Count,
    /// A relative link to the first page.
    #[serde(rename = "firstPageUrl", default)]
    pub first_page_url: Option<String>,
    /// A relative link to the last page.
    #[serde(rename = "lastPageUrl", default)]
    pub last_page_url: Option<String>,
    /// A relative link to the next page; `null` on the last.
    #[serde(rename = "nextPageUrl", default)]
    pub next_page_url: Option<String>,
    /// A relative link to the previous page; `null` on the first.
    #[serde(rename = "previousPageUrl", default)]
    pub previous_page_url: Option<String>,
}

fn first_page() -> Count {
    Count(1)
}

impl PageMeta {
    /// Whether this is the last page.
    pub fn is_last(&self) -> bool {
        self.current_page >= self.last_page
    }
}

/// One row of a results page. The scraped row is `data`: the results are double-wrapped, so
/// the row a user wants is `body.data[i].data`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResultRow<R> {
    /// The record's id (a UUID).
    #[serde(deserialize_with = "crate::lenient::text_id::deserialize")]
    #[schemars(schema_with = "crate::lenient::text_id::schema")]
    pub id: String,
    /// The job the row belongs to.
    #[serde(rename = "jobId")]
    pub job_id: JobId,
    /// The id of the scraped item.
    #[serde(
        rename = "dataId",
        default,
        deserialize_with = "crate::lenient::text_id::deserialize"
    )]
    #[schemars(schema_with = "crate::lenient::text_id::schema")]
    pub data_id: String,
    /// The scraped row itself.
    pub data: R,
    /// When the row was stored (RFC 3339 with an offset, as the API wrote it).
    #[serde(rename = "createdAt", default)]
    pub created_at: String,
    /// When the row last changed (RFC 3339 with an offset, as the API wrote it).
    #[serde(rename = "updatedAt", default)]
    pub updated_at: String,
}
