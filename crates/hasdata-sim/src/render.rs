//! The JSON the simulator answers with, quirks included: counts turn into strings once they
//! are populated, rows are double-wrapped, timestamps carry a `+03:00` offset. The
//! [`Shape`] in force picks the forms the docs pages and live use show beyond the seed.

use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use time::{OffsetDateTime, UtcOffset};

use crate::jobs::{Phase, SimJob, Snapshot};
use crate::mix;
use crate::rows;
use crate::shape::Shape;

/// A timestamp as the API writes it: RFC 3339 with a `+03:00` offset; whole seconds in the
/// seed shape, milliseconds in the docs' (`2025-05-02T17:26:28.603+03:00`).
pub fn timestamp(at: OffsetDateTime, shape: &Shape) -> String {
    let offset = UtcOffset::from_hms(3, 0, 0).unwrap_or(UtcOffset::UTC);
    let at = at.to_offset(offset);
    let (date, clock) = (at.date(), at.time());
    let whole = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        date.year(),
        u8::from(date.month()),
        date.day(),
        clock.hour(),
        clock.minute(),
        clock.second()
    );
    if shape.millis_timestamps {
        format!("{whole}.{:03}+03:00", clock.millisecond())
    } else {
        format!("{whole}+03:00")
    }
}

/// A count: as the live API sends it, a number while zero and a string once populated; a
/// number always in the docs' shape; `null` while unpopulated (zero on a job that has not
/// ended) in the `null-counts` shape.
fn count(value: u64, ended: bool, shape: &Shape) -> Value {
    if value == 0 && !ended && shape.null_counts {
        Value::Null
    } else if value == 0 || shape.number_counts {
        json!(value)
    } else {
        json!(value.to_string())
    }
}

/// The download links of a finished job.
#[derive(Clone, Debug)]
pub struct Links {
    /// The CSV file.
    pub csv: String,
    /// The JSON file (absent in the `no-json-link` shape).
    pub json: Option<String>,
    /// The XLSX file.
    pub xlsx: String,
}

/// The full record the submit call answers with.
pub fn submit_record(job: &SimJob, shape: &Shape) -> Value {
    json!({
        "id": job.id,
        "scraperId": job.scraper.id(),
        "status": "pending",
        "creditsSpent": count(0, false, shape),
        "dataRowsCount": count(0, false, shape),
        "input": job.input,
        "createdAt": timestamp(job.created_wall, shape),
        "updatedAt": timestamp(job.created_wall, shape),
        "scraper": {"id": job.scraper.id(), "slug": job.scraper.slug(), "name": job.scraper.slug()},
        "columns": rows::columns(job.scraper, &job.input),
    })
}

/// The status response.
pub fn status(job: &SimJob, snapshot: Snapshot, links: Option<Links>, shape: &Shape) -> Value {
    let elapsed = job.duration.min(Duration::from_secs(3600));
    let updated = match snapshot.phase {
        Phase::Pending => job.created_wall,
        _ => job.created_wall + elapsed,
    };
    let ended = snapshot.phase.is_terminal() || snapshot.phase == Phase::ExportingData;
    let mut record = json!({
        "id": job.id,
        "status": snapshot.phase.as_str(),
        "creditsSpent": count(job.credits(snapshot.rows), ended, shape),
        "dataRowsCount": count(snapshot.rows, ended, shape),
        "input": job.input,
        "createdAt": timestamp(job.created_wall, shape),
        "updatedAt": timestamp(updated, shape),
    });
    if let Some(links) = links {
        let mut data = json!({"csv": links.csv, "xlsx": links.xlsx});
        if let Some(json) = links.json {
            data["json"] = json!(json);
        }
        record["data"] = data;
    }
    if let Some(reason) = snapshot.stop_reason {
        record["stopReason"] = json!(reason);
    }
    record
}

/// One wrapped result row.
pub fn result_row(job: &SimJob, index: u64, shape: &Shape) -> Value {
    let at = timestamp(job.created_wall + Duration::from_millis(index), shape);
    if shape.no_wrapper_ids {
        return json!({
            "id": mix::uuid(&[job.id, index, 1]),
            "data": rows::row(job.scraper, &job.input, job.id, index),
            "createdAt": at,
            "updatedAt": at,
        });
    }
    json!({
        "id": mix::uuid(&[job.id, index, 1]),
        "jobId": job.id,
        "dataId": mix::uuid(&[job.id, index, 2]),
        "data": rows::row(job.scraper, &job.input, job.id, index),
        "createdAt": at,
        "updatedAt": at,
    })
}

/// A results page: rows `(page-1)*limit ..` of the `visible` rows, with the full `meta`
/// first, as the seed shows it. `reported_total` is what `meta.total` says (it may lag behind
/// `visible`). Written straight into one buffer, row by row: no page-sized `Value` tree.
pub fn results_page(
    job: &SimJob,
    visible: u64,
    reported_total: u64,
    page: u64,
    limit: u64,
    shape: &Shape,
) -> Bytes {
    let last_page = visible.div_ceil(limit).max(1);
    let start = (page - 1).saturating_mul(limit);
    let end = start.saturating_add(limit).min(visible);
    let url = |p: u64| format!("/?page={p}");
    let meta = json!({
        "total": reported_total,
        "perPage": limit,
        "currentPage": page,
        "lastPage": last_page,
        "firstPage": 1,
        "firstPageUrl": url(1),
        "lastPageUrl": url(last_page),
        "nextPageUrl": if page < last_page { json!(url(page + 1)) } else { Value::Null },
        "previousPageUrl": if page > 1 { json!(url(page - 1)) } else { Value::Null },
    });
    let mut out = Vec::with_capacity(256 + end.saturating_sub(start) as usize * 512);
    out.extend_from_slice(b"{\"meta\":");
    // Writing JSON values into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut out, &meta);
    out.extend_from_slice(b",\"data\":[");
    for index in start..end {
        if index > start {
            out.push(b',');
        }
        let _ = serde_json::to_writer(&mut out, &result_row(job, index, shape));
    }
    out.extend_from_slice(b"]}");
    Bytes::from(out)
}

/// An API error body, in the shape HasData uses.
pub fn error(message: &str) -> Value {
    json!({"message": message})
}
