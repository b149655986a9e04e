//! The download files of finished jobs: short-lived signed links on a second listener (another
//! origin, like the API's storage bucket), streamed without ever holding all rows.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use serde_json::Value;

use crate::cache::{Key, RenderCache};
use crate::jobs::SimJob;
use crate::mix;
use crate::rows;

/// Rows per chunk of a streamed file.
const ROWS_PER_CHUNK: u64 = 256;

/// The formats a finished job links to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `data.json`: a JSON array of plain rows.
    Json,
    /// `data.csv`: a header row, then one line per row; nested values JSON-encoded.
    Csv,
    /// `data.xlsx`: not simulated.
    Xlsx,
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }

    fn from_extension(ext: &str) -> Option<Format> {
        match ext {
            "json" => Some(Format::Json),
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn signature(secret: u64, job: u64, expires: u64, rows: u64) -> String {
    format!("{:016x}", mix::mix(&[secret, job, expires, rows]))
}

/// Signs links that expire `ttl` from now. The link carries the row count it was issued for,
/// so a file never changes under a reader.
pub fn link(
    storage_base: &str,
    secret: u64,
    job: u64,
    rows: u64,
    ttl: Duration,
    format: Format,
) -> String {
    let expires = now_millis() + ttl.as_millis() as u64;
    let sig = signature(secret, job, expires, rows);
    format!(
        "{storage_base}/files/{job}/{rows}/{expires}/{sig}/data.{}",
        format.extension()
    )
}

/// A parsed file request.
#[derive(Debug, PartialEq, Eq)]
pub enum FileRequest {
    /// A valid, unexpired link.
    Valid {
        /// The job.
        job: u64,
        /// The rows the file holds.
        rows: u64,
        /// Its format.
        format: Format,
    },
    /// A link whose time has passed.
    Expired,
    /// Not a link this simulator issued.
    Invalid,
}

/// Checks a request path against the signature and the expiry.
pub fn check(path: &str, secret: u64) -> FileRequest {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let ["files", job, rows, expires, sig, name] = parts.as_slice() else {
        return FileRequest::Invalid;
    };
    let (Ok(job), Ok(rows), Ok(expires)) = (
        job.parse::<u64>(),
        rows.parse::<u64>(),
        expires.parse::<u64>(),
    ) else {
        return FileRequest::Invalid;
    };
    let Some(format) = name.strip_prefix("data.").and_then(Format::from_extension) else {
        return FileRequest::Invalid;
    };
    if *sig != signature(secret, job, expires, rows) {
        return FileRequest::Invalid;
    }
    if now_millis() >= expires {
        return FileRequest::Expired;
    }
    FileRequest::Valid { job, rows, format }
}

/// The bytes of a file, produced chunk by chunk as the client reads. A file's chunks never
/// change (the link fixes its row count), so each is rendered once and then served from
/// `cache` while it has room.
pub fn stream(
    job: SimJob,
    rows: u64,
    format: Format,
    cache: std::sync::Arc<RenderCache>,
) -> BoxStream<'static, Bytes> {
    let chunks = rows.div_ceil(ROWS_PER_CHUNK);
    let key = move |chunk| Key::Chunk {
        job: job.id,
        rows,
        json: format == Format::Json,
        chunk,
    };
    match format {
        Format::Json => {
            let body = stream::iter(0..chunks).map(move |chunk| {
                cache.get_or_render(key(chunk), true, || {
                    let start = chunk * ROWS_PER_CHUNK;
                    let end = (start + ROWS_PER_CHUNK).min(rows);
                    let mut out = Vec::with_capacity(end.saturating_sub(start) as usize * 512);
                    for index in start..end {
                        out.extend_from_slice(if index == 0 { b"[\n" } else { b",\n" });
                        let row = rows::row(job.scraper, &job.input, job.id, index);
                        // Writing a JSON value into a Vec cannot fail.
                        let _ = serde_json::to_writer(&mut out, &row);
                    }
                    Bytes::from(out)
                })
            });
            let close = stream::once(async move {
                Bytes::from_static(if rows == 0 { b"[]\n" } else { b"\n]\n" })
            });
            body.chain(close).boxed()
        }
        Format::Csv => {
            let header = rows::columns(job.scraper, &job.input);
            let header_line = csv_line(header.iter().map(String::as_str));
            let head = stream::once(async move { header_line });
            let body = stream::iter(0..chunks).map(move |chunk| {
                cache.get_or_render(key(chunk), true, || {
                    let start = chunk * ROWS_PER_CHUNK;
                    let end = (start + ROWS_PER_CHUNK).min(rows);
                    let mut out = Vec::new();
                    for index in start..end {
                        let row = rows::row(job.scraper, &job.input, job.id, index);
                        let cells: Vec<String> =
                            header.iter().map(|column| cell(row.get(column))).collect();
                        out.extend_from_slice(&csv_line(cells.iter().map(String::as_str)));
                    }
                    Bytes::from(out)
                })
            });
            head.chain(body).boxed()
        }
        Format::Xlsx => stream::empty().boxed(),
    }
}

fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn csv_line<'a>(cells: impl Iterator<Item = &'a str>) -> Bytes {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(cells);
    Bytes::from(writer.into_inner().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_verify_and_expire() {
        let url = link(
            "http://127.0.0.1:9",
            42,
            7,
            10,
            Duration::from_secs(60),
            Format::Json,
        );
        let path = url.trim_start_matches("http://127.0.0.1:9");
        assert_eq!(
            check(path, 42),
            FileRequest::Valid {
                job: 7,
                rows: 10,
                format: Format::Json
            }
        );
        assert_eq!(check(path, 43), FileRequest::Invalid, "another secret");
        assert_eq!(
            check(&path.replace("/10/", "/11/"), 42),
            FileRequest::Invalid,
            "tampered"
        );
        let expired = link("", 42, 7, 10, Duration::ZERO, Format::Csv);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(check(&expired, 42), FileRequest::Expired);
        assert_eq!(check("/files/x", 42), FileRequest::Invalid);
    }
}
