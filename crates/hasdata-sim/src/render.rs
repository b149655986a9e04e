//! The JSON the simulator answers with, quirks included: counts turn into strings once they
//! are populated, rows are double-wrapped, timestamps carry a `+03:00` offset.

use std::time::Duration;

use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::jobs::{Phase, SimJob, Snapshot};
use crate::mix;
use crate::rows;

/// A timestamp as the API writes it: RFC 3339 with a `+03:00` offset.
pub fn timestamp(at: OffsetDateTime) -> String {
    let offset = UtcOffset::from_hms(3, 0, 0).unwrap_or(UtcOffset::UTC);
    at.to_offset(offset).format(&Rfc3339).unwrap_or_default()
}

/// A count as the live API sends it: a number while zero, a string once populated.
fn count(value: u64) -> Value {
    if value == 0 {
        json!(0)
    } else {
        json!(value.to_string())
    }
}

/// The download links of a finished job.
#[derive(Clone, Debug)]
pub struct Links {
    /// The CSV file.
    pub csv: String,
    /// The JSON file.
    pub json: String,
    /// The XLSX file.
    pub xlsx: String,
}

/// The full record the submit call answers with.
pub fn submit_record(job: &SimJob) -> Value {
    json!({
        "id": job.id,
        "scraperId": job.scraper.id(),
        "status": "pending",
        "creditsSpent": 0,
        "dataRowsCount": 0,
        "input": job.input,
        "createdAt": timestamp(job.created_wall),
        "updatedAt": timestamp(job.created_wall),
        "scraper": {"id": job.scraper.id(), "slug": job.scraper.slug(), "name": job.scraper.slug()},
        "columns": rows::columns(job.scraper, &job.input),
    })
}

/// The status response.
pub fn status(job: &SimJob, snapshot: Snapshot, links: Option<Links>) -> Value {
    let elapsed = job.duration.min(Duration::from_secs(3600));
    let updated = match snapshot.phase {
        Phase::Pending => job.created_wall,
        _ => job.created_wall + elapsed,
    };
    let mut record = json!({
        "id": job.id,
        "status": snapshot.phase.as_str(),
        "creditsSpent": count(job.credits(snapshot.rows)),
        "dataRowsCount": count(snapshot.rows),
        "input": job.input,
        "createdAt": timestamp(job.created_wall),
        "updatedAt": timestamp(updated),
    });
    if let Some(links) = links {
        record["data"] = json!({"csv": links.csv, "json": links.json, "xlsx": links.xlsx});
    }
    if snapshot.phase == Phase::Stopped {
        record["stopReason"] = json!("stopped_by_user");
    }
    record
}

/// One wrapped result row.
pub fn result_row(job: &SimJob, index: u64) -> Value {
    let at = timestamp(job.created_wall + Duration::from_millis(index));
    json!({
        "id": mix::uuid(&[job.id, index, 1]),
        "jobId": job.id,
        "dataId": mix::uuid(&[job.id, index, 2]),
        "data": rows::row(job.scraper, &job.input, job.id, index),
        "createdAt": at,
        "updatedAt": at,
    })
}

/// A results page: rows `(page-1)*limit ..` of the `visible` rows, with the full `meta`.
/// `reported_total` is what `meta.total` says (it may lag behind `visible`).
pub fn results_page(
    job: &SimJob,
    visible: u64,
    reported_total: u64,
    page: u64,
    limit: u64,
) -> Value {
    let last_page = visible.div_ceil(limit).max(1);
    let start = (page - 1).saturating_mul(limit);
    let end = start.saturating_add(limit).min(visible);
    let data: Vec<Value> = (start..end).map(|index| result_row(job, index)).collect();
    let url = |p: u64| format!("/?page={p}");
    json!({
        "meta": {
            "total": reported_total,
            "perPage": limit,
            "currentPage": page,
            "lastPage": last_page,
            "firstPage": 1,
            "firstPageUrl": url(1),
            "lastPageUrl": url(last_page),
            "nextPageUrl": if page < last_page { json!(url(page + 1)) } else { Value::Null },
            "previousPageUrl": if page > 1 { json!(url(page - 1)) } else { Value::Null },
        },
        "data": data,
    })
}

/// An API error body, in the shape HasData uses.
pub fn error(message: &str) -> Value {
    json!({"message": message})
}
