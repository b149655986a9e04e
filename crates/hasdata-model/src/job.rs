//! The job record: what submit and status answer.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::job_id::JobId;
use crate::lenient::Count;
use crate::status::JobStatus;

/// A job as the API describes it. `POST /scrapers/{slug}/jobs` answers the full record
/// (`scraperId`, `scraper`, `columns` included); `GET /scrapers/jobs/{id}` answers a subset plus,
/// once finished, the download links in `data`. One type serves both: every field that only one
/// of them sends is optional.
///
/// Only `id` is required. Every other field may be absent or `null`; a value that does not fit
/// its field is kept, as sent, in `extra` (see [`Job::unfit_fields`]). Counts arrive as numbers,
/// strings (`"5"`, `"5.00"`) or `null`; all decode.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[schemars(
    description = "A job as the API describes it. `POST /scrapers/{slug}/jobs` answers the full record (`scraperId`, `scraper`, `columns` included); `GET /scrapers/jobs/{id}` answers a subset plus, once finished, the download links in `data`. Only `id` is required; every other field may be absent or `null`. Counts arrive as numbers, as text (`\"5\"`, `\"5.00\"`) or as `null` before they are populated."
)]
pub struct Job {
    /// The job handle. Persist it the moment it arrives.
    pub id: JobId,
    /// The scraper's numeric id (submit record only).
    #[serde(rename = "scraperId", default, skip_serializing_if = "Option::is_none")]
    pub scraper_id: Option<Count>,
    /// Where the job is in its life; an empty [`JobStatus::Other`] when the API sent none.
    #[serde(default)]
    #[schemars(
        with = "Option<JobStatus>",
        description = "Where the job is in its life."
    )]
    pub status: JobStatus,
    /// Credits spent so far.
    #[serde(rename = "creditsSpent", default, skip_serializing_if = "is_unset")]
    pub credits_spent: Count,
    /// Rows produced so far.
    #[serde(rename = "dataRowsCount", default, skip_serializing_if = "is_unset")]
    pub data_rows_count: Count,
    /// The body the job was submitted with, as the API echoes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    /// When the job was created, as the API wrote it.
    #[serde(rename = "createdAt", default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// When the job last changed, as the API wrote it.
    #[serde(rename = "updatedAt", default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// The scraper the job runs (submit record only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scraper: Option<ScraperInfo>,
    /// The result columns (submit record only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<Value>>,
    /// Download links, on a finished job. They expire soon: fetch them right away.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DownloadLinks>,
    /// Why the job ended early (`data_limit_exceeded`, ...), when it did.
    #[serde(
        rename = "stopReason",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub stop_reason: Option<String>,
    /// Fields this crate does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

lenient_de!(Job {
    @required { id: "id" }
    scraper_id: "scraperId",
    status: "status",
    credits_spent: "creditsSpent",
    data_rows_count: "dataRowsCount",
    input: "input",
    created_at: "createdAt",
    updated_at: "updatedAt",
    scraper: "scraper",
    columns: "columns",
    data: "data",
    stop_reason: "stopReason",
});

impl Job {
    /// `dataRowsCount` as a whole number of rows (0 while not populated), or `None` when what
    /// was sent does not read as one ([`Job::unreadable_rows_count`]): what a ledger notes or a
    /// line shows, never a 0 the server did not send.
    ///
    /// ```
    /// use hasdata_model::Job;
    ///
    /// let job: Job = serde_json::from_str(r#"{"id": 7, "dataRowsCount": "12"}"#).unwrap();
    /// assert_eq!(job.rows_reported(), Some(12));
    /// let job: Job = serde_json::from_str(r#"{"id": 7, "dataRowsCount": "abc"}"#).unwrap();
    /// assert_eq!(job.rows_reported(), None);
    /// ```
    pub fn rows_reported(&self) -> Option<u64> {
        match self.unreadable_rows_count() {
            Some(_) => None,
            None => Some(self.data_rows_count.get()),
        }
    }

    /// `dataRowsCount` as the API sent it (its JSON text), when it is not a whole number of
    /// rows: a negative number, a fraction (`1.5`), a text that is not a decimal number
    /// (`"-5"`, `"1e3"`, `"abc"`), or any other kind of value. `None` when the count reads
    /// (or was not sent, or was `null`: not populated yet).
    ///
    /// The record itself still reads (a tolerant reader: such a value is kept in `extra` and
    /// [`Job::data_rows_count`] is left unpopulated, which [`Count::get`] reads as 0), so
    /// whatever checks rows against the count asks here first: 0 is not what the server said.
    ///
    /// ```
    /// use hasdata_model::Job;
    ///
    /// let job: Job = serde_json::from_str(r#"{"id": 7, "dataRowsCount": "-5"}"#).unwrap();
    /// assert_eq!(job.unreadable_rows_count().as_deref(), Some(r#""-5""#));
    /// let job: Job = serde_json::from_str(r#"{"id": 7, "dataRowsCount": "5.00"}"#).unwrap();
    /// assert_eq!(job.unreadable_rows_count(), None);
    /// ```
    pub fn unreadable_rows_count(&self) -> Option<String> {
        if let Some(sent) = self.extra.get("dataRowsCount") {
            return Some(sent.to_string());
        }
        let fraction = self
            .data_rows_count
            .as_f64()
            .is_some_and(|count| count.fract() != 0.0);
        fraction.then(|| {
            serde_json::to_string(&self.data_rows_count)
                .unwrap_or_else(|_| self.data_rows_count.to_string())
        })
    }

    /// `creditsSpent` as the API sent it (its JSON text), when it is not a number of credits
    /// (negative, or not a number at all): kept in `extra`, [`Job::credits_spent`] left
    /// unpopulated, which reads as 0. What holds a spend to a bound asks here first: 0 spent
    /// is not what the server said.
    ///
    /// ```
    /// use hasdata_model::Job;
    ///
    /// let job: Job = serde_json::from_str(r#"{"id": 7, "creditsSpent": "n/a"}"#).unwrap();
    /// assert_eq!(job.unreadable_credits_spent().as_deref(), Some(r#""n/a""#));
    /// ```
    pub fn unreadable_credits_spent(&self) -> Option<String> {
        self.extra.get("creditsSpent").map(|sent| sent.to_string())
    }

    /// `creditsSpent`'s whole part (0 while not populated), or `None` when what was sent does
    /// not read as a number of credits ([`Job::unreadable_credits_spent`]): what a ledger
    /// notes, never a 0 the server did not send.
    pub fn credits_reported(&self) -> Option<u64> {
        match self.unreadable_credits_spent() {
            Some(_) => None,
            None => Some(self.credits_spent.get()),
        }
    }
}

fn is_unset(count: &Count) -> bool {
    !count.is_populated()
}

/// The scraper a job runs, as the submit record describes it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
pub struct ScraperInfo {
    /// The scraper's slug (`contacts`, `crawler`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    /// Fields this crate does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

lenient_de!(ScraperInfo { slug: "slug" });

/// Direct links to a finished job's result files. Live they are on a storage host that is not
/// the API's (never send the API key there); HasData's docs pages show them on the API's own
/// origin. They are short-lived. Any of them may be missing: then read the results pages.
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
pub struct DownloadLinks {
    /// The rows as CSV.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv: Option<String>,
    /// The rows as one JSON array of plain (not wrapped) rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<String>,
    /// The rows as an Excel workbook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xlsx: Option<String>,
    /// Other formats this crate does not model, kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

lenient_de!(DownloadLinks {
    csv: "csv",
    json: "json",
    xlsx: "xlsx",
});
