//! Rows as the bytes the API sent, for exports that must not change them.
//!
//! Decoding a row into `serde_json::Value` and writing it out again reorders its keys and
//! rounds numbers an `f64` cannot hold (`12345678901234567890123`, `1e400`), and costs most of
//! an export's time. A [`RowJson`] is the row's own text instead, with only the whitespace
//! between tokens removed, so the same row read from a results page or from `data.json` has
//! the same bytes. Each row is still checked to be one valid JSON value.

use std::fmt;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use hasdata_model::decode::{self, DecodeError};
use hasdata_model::{Count, Job, JobId};
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::value::RawValue;

use crate::client::Client;
use crate::error::Result;
use crate::json_array::{Elements, compact_into};
use crate::repeats::hash_id;
use crate::results::Page;

/// One row's JSON text as the API sent it (whitespace between tokens removed). Cheap to
/// clone: rows of one page or one `data.json` chunk share a buffer.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RowJson(Bytes);

impl RowJson {
    /// The row's bytes: one JSON value, UTF-8, no whitespace between tokens.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The row's bytes, owned.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Decodes the row into any type, naming the failing field.
    pub fn decode<T: DeserializeOwned>(&self) -> std::result::Result<T, DecodeError> {
        decode::from_slice(&self.0)
    }

    /// Checks that `bytes` hold one JSON value and wraps them. `bytes` should already be
    /// compact (see [`compact_into`]); nothing is rewritten here.
    pub(crate) fn checked(bytes: Bytes) -> std::result::Result<RowJson, DecodeError> {
        // `IgnoredAny` walks the value without building it: the check costs a scan.
        if serde_json::from_slice::<IgnoredAny>(&bytes).is_err() {
            decode::from_slice::<IgnoredAny>(&bytes)?;
        }
        Ok(RowJson(bytes))
    }
}

impl AsRef<[u8]> for RowJson {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for RowJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RowJson({})", String::from_utf8_lossy(&self.0))
    }
}

impl fmt::Display for RowJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

/// Splits `elements` into rows sharing its buffer (no copy).
pub(crate) fn rows_of(elements: Elements) -> Vec<Bytes> {
    let buffer = Bytes::from(elements.bytes);
    let mut start = 0;
    elements
        .ends
        .iter()
        .map(|&end| {
            let row = buffer.slice(start..end);
            start = end;
            row
        })
        .collect()
}

/// A results page with its rows kept as text: parsed once, each row's `data` compacted into
/// one buffer. Only `meta.lastPage` and each wrapper's `data` are required; every other field
/// of the page and the wrappers may be missing or different. Wrapper ids and `meta.total` are
/// kept for the pager's checks.
pub(crate) struct RawPage {
    rows: Vec<RowJson>,
    /// The wrapper ids, back to back, and where each row's is (`None`: it has none).
    ids: String,
    id_spans: Vec<Option<std::ops::Range<usize>>>,
    /// Each id's hash for the repeat check, computed here, off the consumer's task.
    id_hashes: Vec<Option<u64>>,
    total: u64,
    last_page: u64,
}

#[derive(Deserialize)]
struct Shape<'a> {
    meta: Meta,
    #[serde(borrow)]
    data: Vec<Wrapper<'a>>,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(rename = "lastPage")]
    last_page: Count,
    #[serde(default)]
    total: Option<Count>,
}

#[derive(Deserialize)]
struct Wrapper<'a> {
    #[serde(borrow)]
    data: &'a RawValue,
    /// A string or a number; only compared with other ids.
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
}

/// An id's text: a plain string's contents, else its JSON text as sent.
fn id_text(raw: &RawValue) -> &str {
    let text = raw.get();
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) if !inner.contains('\\') => inner,
        _ => text,
    }
}

/// The same shape, owned, only to name the failing field when a page does not parse.
#[derive(Deserialize)]
#[allow(dead_code)] // read by serde only
struct OwnedShape {
    meta: Meta,
    data: Vec<OwnedWrapper>,
}

#[derive(Deserialize)]
#[allow(dead_code)] // read by serde only
struct OwnedWrapper {
    data: IgnoredAny,
}

impl Page for RawPage {
    fn parse(body: &Bytes) -> std::result::Result<Self, DecodeError> {
        let shape: Shape<'_> = match serde_json::from_slice(body) {
            Ok(shape) => shape,
            Err(error) => {
                decode::from_slice::<OwnedShape>(body)?;
                // Both readings should fail alike; report serde's words if they do not.
                return Err(DecodeError {
                    path: ".".into(),
                    message: error.to_string(),
                    snippet: decode::snippet(body),
                });
            }
        };
        let mut elements = Elements::default();
        elements.bytes.reserve(body.len());
        let mut ids = String::new();
        let mut id_spans = Vec::with_capacity(shape.data.len());
        let mut id_hashes = Vec::with_capacity(shape.data.len());
        for wrapper in &shape.data {
            compact_into(wrapper.data.get().as_bytes(), &mut elements.bytes);
            elements.ends.push(elements.bytes.len());
            let id = wrapper.id.filter(|id| id.get() != "null").map(id_text);
            id_hashes.push(id.map(hash_id));
            id_spans.push(id.map(|id| {
                let start = ids.len();
                ids.push_str(id);
                start..ids.len()
            }));
        }
        // Each row was validated by the page's own parse.
        let rows = rows_of(elements).into_iter().map(RowJson).collect();
        Ok(RawPage {
            rows,
            ids,
            id_spans,
            id_hashes,
            total: shape.meta.total.map_or(0, |total| total.get()),
            last_page: shape.meta.last_page.get(),
        })
    }

    fn row_count(&self) -> u64 {
        self.rows.len() as u64
    }

    fn row_id(&self, index: usize) -> Option<&str> {
        let span = self.id_spans.get(index)?.clone()?;
        self.ids.get(span)
    }

    fn row_id_hash(&self, index: usize) -> Option<u64> {
        self.id_hashes.get(index).copied().flatten()
    }

    fn meta_total(&self) -> u64 {
        self.total
    }

    fn last_page(&self) -> u64 {
        self.last_page
    }
}

impl Client {
    /// A job's rows as the bytes the API sent (see [`RowJson`]), from the paged results, in
    /// order, each exactly once. Pages are fetched `concurrency` at once and parsed once
    /// each, off the consumer's task.
    pub(crate) fn raw_page_rows(
        &self,
        id: JobId,
        concurrency: usize,
        known: Option<Job>,
    ) -> BoxStream<'static, Result<RowJson>> {
        self.pages::<RawPage>(id, concurrency, known)
            .flat_map(|page| match page {
                Ok(page) => stream::iter(page.rows.into_iter().map(Ok).collect::<Vec<_>>()),
                Err(error) => stream::iter(vec![Err(error)]),
            })
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_keeps_each_rows_text() {
        let body = Bytes::from_static(
            br#"{"meta": {"lastPage": "3", "total": 1}, "data": [
                {"id": "a", "data": {"z": 1.0, "a": [12345678901234567890123, 1e400], "s": "\u00e9 x"}},
                {"data": null}
            ]}"#,
        );
        let page = RawPage::parse(&body).expect("parses");
        assert_eq!(page.last_page(), 3);
        assert_eq!(page.meta_total(), 1);
        assert_eq!((page.row_id(0), page.row_id(1)), (Some("a"), None));
        let rows: Vec<&[u8]> = page.rows.iter().map(RowJson::as_bytes).collect();
        assert_eq!(
            rows,
            vec![
                &br#"{"z":1.0,"a":[12345678901234567890123,1e400],"s":"\u00e9 x"}"#[..],
                b"null"
            ]
        );
    }

    #[test]
    fn a_bad_page_names_the_field() {
        let body = Bytes::from_static(br#"{"meta": {"lastPage": 1}, "data": [{"id": 1}]}"#);
        let error = RawPage::parse(&body).err().expect("fails");
        assert!(error.path.starts_with("data[0]"), "{error}");
        let error = RowJson::checked(Bytes::from_static(b"{\"a\":tru}")).expect_err("fails");
        assert!(!error.message.is_empty());
    }
}
