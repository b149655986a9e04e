//! One page of a job's results.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::job_id::JobId;
use crate::lenient::Count;

/// `GET /scrapers/jobs/{id}/results?page=N&limit=L`: a page of rows plus paging facts.
///
/// `meta` and `data` are required; anything else is kept in `extra`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    description = "`GET /scrapers/jobs/{id}/results?page=N&limit=L`: a page of rows plus paging facts. Only `meta` and `data` are required; other fields may appear."
)]
// What a decoding error says was expected: words for whoever reads it, not this type's name.
#[serde(expecting = "a results page (an object with `meta` and `data`)")]
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
/// `currentPage >= lastPage`, not on a row count. Every field may be missing or `null`
/// (it then reads as 0, or as `None`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
pub struct PageMeta {
    /// Rows in the whole result (may lag right after finishing).
    #[serde(default)]
    pub total: Count,
    /// Rows per page, as asked with `limit` (at most 100).
    #[serde(rename = "perPage", default)]
    pub per_page: Count,
    /// This page's number, from 1.
    #[serde(rename = "currentPage", default)]
    pub current_page: Count,
    /// The last page's number.
    #[serde(rename = "lastPage", default)]
    pub last_page: Count,
    /// The first page's number (1).
    #[serde(rename = "firstPage", default)]
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
    /// Fields this crate does not model, or whose value did not fit, kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

lenient_de!(PageMeta {
    total: "total",
    per_page: "perPage",
    current_page: "currentPage",
    last_page: "lastPage",
    first_page: "firstPage",
    first_page_url: "firstPageUrl",
    last_page_url: "lastPageUrl",
    next_page_url: "nextPageUrl",
    previous_page_url: "previousPageUrl",
});

impl PageMeta {
    /// Whether this is the last page.
    pub fn is_last(&self) -> bool {
        self.current_page >= self.last_page
    }
}

/// One row of a results page. The scraped row is `data`: the results are double-wrapped, so
/// the row a user wants is `body.data[i].data`.
///
/// Only `data` is required: HasData's docs pages show wrappers without `jobId` and `dataId`,
/// and live ones carry them.
///
/// (Its `Deserialize` is derived, unlike the other response types, so a row that fails is
/// located by its path, `data[37].data`; its optional fields read a value of another type as
/// absent.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(expecting = "a row's record (an object with `data`)")]
pub struct ResultRow<R> {
    /// The record's id (a UUID), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Value>,
    /// The job the row belongs to.
    #[serde(
        rename = "jobId",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::or_none"
    )]
    pub job_id: Option<JobId>,
    /// The id of the scraped item, as sent.
    #[serde(rename = "dataId", default, skip_serializing_if = "Option::is_none")]
    pub data_id: Option<Value>,
    /// The scraped row itself.
    pub data: R,
    /// When the row was stored (RFC 3339 with an offset, as the API wrote it).
    #[serde(
        rename = "createdAt",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::or_none"
    )]
    pub created_at: Option<String>,
    /// When the row last changed (RFC 3339 with an offset, as the API wrote it).
    #[serde(
        rename = "updatedAt",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::lenient::or_none"
    )]
    pub updated_at: Option<String>,
    /// Fields this crate does not model, or whose value did not fit, kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}
