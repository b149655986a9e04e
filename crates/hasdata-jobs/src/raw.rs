//! Rows as the bytes the API sent, for exports that must not change them.
//!
//! Decoding a row into `serde_json::Value` and writing it out again reorders its keys and
//! rounds numbers an `f64` cannot hold (`12345678901234567890123`, `1e400`), and costs most of
//! an export's time. A [`RowJson`] is the row's own text instead, with only the whitespace
//! between tokens removed, so the same row read from a results page or from `data.json` has
//! the same bytes. Each row is still checked to be one valid JSON value, in the same pass that
//! finds it ([`crate::json_scan`]).

use std::fmt;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use hasdata_model::decode::{self, DecodeError};
use hasdata_model::{Count, Job, JobId};
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::value::RawValue;

use crate::batch::RowBatch;
use crate::client::Client;
use crate::error::Result;
use crate::json_array::{ElementSink, Lines, compact_into};
use crate::json_scan::{Scanner, Stop, check_utf8, skip_space, string_end};
use crate::repeats::hash_id;
use crate::results::{PAGE_LIMIT, Page};

/// One row's JSON text as the API sent it (whitespace between tokens removed). Cheap to
/// clone: rows of one page or one `data.json` chunk share a buffer.
///
/// ```
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
/// #     job_duration: std::time::Duration::ZERO,
/// #     ..Default::default()
/// # }).await?;
/// # let client = hasdata_jobs::Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).build()?;
/// use hasdata_jobs::prelude::*;
///
/// # let job = client.submit(&ContactsBody::new(["https://example.com/about"])).await?;
/// # job.wait(PollPolicy::fast()).await?;
/// let rows: Vec<RowJson> = job.rows().read_as().try_collect().await?;
/// let mut jsonl = Vec::new();
/// for row in &rows {
///     jsonl.extend_from_slice(row.as_bytes()); // the bytes as sent: nothing re-encoded
///     jsonl.push(b'\n');
/// }
/// let typed: ContactsRow = rows[0].decode()?;
/// assert_eq!(typed.url, "https://example.com/about");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RowJson(Bytes);

impl RowJson {
    /// The row's bytes: one JSON value, UTF-8, no whitespace between tokens.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
    /// #     job_duration: std::time::Duration::ZERO,
    /// #     ..Default::default()
    /// # }).await?;
    /// # let client = hasdata_jobs::Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).build()?;
    /// use hasdata_jobs::prelude::*;
    ///
    /// # let job = client.submit(&ContactsBody::new(["https://example.com/about"])).await?;
    /// # job.wait(PollPolicy::fast()).await?;
    /// let row: RowJson = job.rows().read_as().try_next().await?.expect("a row");
    /// assert!(row.as_bytes().starts_with(b"{"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The row's bytes, owned.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
    /// #     job_duration: std::time::Duration::ZERO,
    /// #     ..Default::default()
    /// # }).await?;
    /// # let client = hasdata_jobs::Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).build()?;
    /// use hasdata_jobs::prelude::*;
    ///
    /// # let job = client.submit(&ContactsBody::new(["https://example.com/about"])).await?;
    /// # job.wait(PollPolicy::fast()).await?;
    /// let row: RowJson = job.rows().read_as().try_next().await?.expect("a row");
    /// let bytes: bytes::Bytes = row.into_bytes(); // for a writer that takes Bytes
    /// assert!(!bytes.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Decodes the row into any type, naming the failing field.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
    /// #     job_duration: std::time::Duration::ZERO,
    /// #     ..Default::default()
    /// # }).await?;
    /// # let client = hasdata_jobs::Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).build()?;
    /// use hasdata_jobs::prelude::*;
    ///
    /// # let job = client.submit(&ContactsBody::new(["https://example.com/about"])).await?;
    /// # job.wait(PollPolicy::fast()).await?;
    /// let row: RowJson = job.rows().read_as().try_next().await?.expect("a row");
    /// #[derive(serde::Deserialize)]
    /// struct JustTheUrl { url: String }
    /// let mine: JustTheUrl = row.decode()?;
    /// assert_eq!(mine.url, "https://example.com/about");
    /// # Ok(())
    /// # }
    /// ```
    pub fn decode<T: DeserializeOwned>(&self) -> std::result::Result<T, DecodeError> {
        decode::from_slice(&self.0)
    }

    /// Wraps bytes already checked to be one compact JSON value in UTF-8 (by the page reader
    /// or the `data.json` splitter, in the pass that found the row).
    pub(crate) fn checked(bytes: Bytes) -> RowJson {
        RowJson(bytes)
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

/// A field of a row, as ranges of the row's bytes: its key (between the quotes, escapes as
/// sent) and its value's JSON text.
pub type FieldSpan = (std::ops::Range<usize>, std::ops::Range<usize>);

/// A row's top-level fields, found in one pass that also checks the row: what a CSV writer
/// needs (each key and each value's text) without decoding the row. Reuse one for many rows:
/// it keeps its buffers.
#[derive(Debug, Default)]
pub struct RowFields {
    scanner: Scanner,
    fields: Vec<FieldSpan>,
}

impl RowFields {
    /// A reader of rows' fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// [`RowFields::read`] of a row already checked and compacted: a [`RowJson`]'s bytes, or
    /// a row of a [`RowBatch`](crate::RowBatch). It trusts the row (no check, no
    /// whitespace), so it only walks the top level, skipping strings and nested values by
    /// their delimiters: not the second full scan a checked row would otherwise get. On any
    /// other input it does not panic and its ranges lie within `row`, but what they cover
    /// is unspecified.
    ///
    /// ```
    /// let mut fields = hasdata_jobs::RowFields::new();
    /// let row = br#"{"a":[1,{"b":"]"}],"k\"ey":"v","n":null}"#;
    /// let found: Vec<(&[u8], &[u8])> = fields
    ///     .read_checked(row)
    ///     .iter()
    ///     .map(|(key, value)| (&row[key.clone()], &row[value.clone()]))
    ///     .collect();
    /// assert_eq!(found, [
    ///     (&b"a"[..], &br#"[1,{"b":"]"}]"#[..]),
    ///     (br#"k\"ey"#, br#""v""#),
    ///     (b"n", b"null"),
    /// ]);
    /// ```
    pub fn read_checked(&mut self, row: &[u8]) -> &[FieldSpan] {
        self.fields.clear();
        if row.first() != Some(&b'{') {
            return &self.fields;
        }
        let mut at = 1;
        while row.get(at) == Some(&b'"') {
            let key_end = skip_string(row, at + 1);
            let value = (key_end + 1).min(row.len());
            let value_end = skip_value(row, value);
            let key = at + 1..key_end.saturating_sub(1).max(at + 1);
            self.fields.push((key, value..value_end));
            if row.get(value_end) != Some(&b',') {
                break;
            }
            at = value_end + 1;
        }
        &self.fields
    }

    /// The fields of `row` (one JSON value's text), in order: each key's range in `row`
    /// without its quotes (escapes as sent), and its value's range (its JSON text). A row that
    /// is not an object has none. An error when `row` is not one JSON value in UTF-8.
    pub fn read(&mut self, row: &[u8]) -> std::result::Result<&[FieldSpan], DecodeError> {
        self.fields.clear();
        let failed = |at: usize, what: &str| DecodeError {
            path: ".".into(),
            message: format!("expected {what} at byte {at}"),
            snippet: decode::snippet(row),
        };
        if let Err(at) = check_utf8(row) {
            return Err(failed(at, "UTF-8"));
        }
        let stopped = |stop: Stop| match stop {
            Stop::Short => failed(row.len(), "more (the row ends early)"),
            Stop::Bad { at, what } => failed(at, what),
        };
        let start = skip_space(row, 0);
        let end = if row.get(start) == Some(&b'{') {
            let mut at = skip_space(row, start + 1);
            if row.get(at) == Some(&b'}') {
                at + 1
            } else {
                loop {
                    if row.get(at) != Some(&b'"') {
                        return Err(failed(at, "a key"));
                    }
                    let key_end = string_end(row, at + 1).map_err(stopped)?;
                    let key = at + 1..key_end - 1;
                    at = skip_space(row, key_end);
                    if row.get(at) != Some(&b':') {
                        return Err(failed(at, "':'"));
                    }
                    let value = skip_space(row, at + 1);
                    let value_end = self.scanner.value(row, value).map_err(stopped)?;
                    self.fields.push((key, value..value_end));
                    at = skip_space(row, value_end);
                    match row.get(at) {
                        Some(b',') => at = skip_space(row, at + 1),
                        Some(b'}') => break at + 1,
                        _ => return Err(failed(at, "',' or '}'")),
                    }
                }
            }
        } else {
            self.scanner.value(row, start).map_err(stopped)?
        };
        if skip_space(row, end) != row.len() {
            return Err(failed(end, "nothing after the value"));
        }
        Ok(&self.fields)
    }
}

/// In a checked row: the index just after the string whose body starts at `at` (at most the
/// row's length).
fn skip_string(row: &[u8], mut at: usize) -> usize {
    loop {
        match row
            .get(at..)
            .and_then(|rest| memchr::memchr2(b'"', b'\\', rest))
        {
            None => return row.len(),
            Some(i) if row[at + i] == b'\\' => at += i + 2,
            Some(i) => return at + i + 1,
        }
    }
}

/// In a checked, compact row: the index just after the value starting at `at` (at most the
/// row's length).
fn skip_value(row: &[u8], mut at: usize) -> usize {
    let mut depth = 0usize;
    while let Some(&byte) = row.get(at) {
        match byte {
            b'"' => at = skip_string(row, at + 1),
            b'{' | b'[' => {
                depth += 1;
                at += 1;
            }
            b'}' | b']' | b',' if depth == 0 => return at,
            b'}' | b']' => {
                depth -= 1;
                at += 1;
            }
            _ => at += 1,
        }
        if depth == 0 && matches!(row.get(at), Some(b',' | b'}' | b']') | None) {
            return at.min(row.len());
        }
    }
    row.len()
}

/// A results page with its rows kept as text: parsed once, each row's `data` copied
/// (compacted) into one buffer of JSON lines, the page's [`RowBatch`]. Only `meta.lastPage` and each wrapper's `data` are required; every other field
/// of the page and the wrappers may be missing or different. Wrapper ids and `meta.total` are
/// kept for the pager's checks.
pub(crate) struct RawPage {
    /// The rows, as JSON lines.
    lines: Lines,
    /// Text holding the wrapper ids (the page's own body, on the fast reading: no copy),
    /// and where in it each row's is (`None`: it has none).
    ids: Bytes,
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
    id_text_of(raw.get())
}

/// [`id_text`] of an id's JSON text.
fn id_text_of(text: &str) -> &str {
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

impl RawPage {
    /// Reads a page in one pass over its bytes ([`crate::json_scan`]): the page's own
    /// structure is walked here, each row's `data` is scanned (checked, and its whitespace
    /// noted) and copied into the page's JSON lines: in one piece when it has no whitespace
    /// to remove (compact input, the usual case), else compacted. This runs on the task that
    /// fetched the page, so the consumer gets a batch ready to write. `None` when the page is anything but plain
    /// (not UTF-8, malformed, a key with escapes, a field twice, a field missing, a wrapper
    /// that is not an object): [`RawPage::parse_with_serde`] then reads it, and says what
    /// is wrong if anything is, so both readings accept the same pages with the same rows.
    fn parse_fast(body: &Bytes) -> Option<RawPage> {
        // Checked as UTF-8 once, here: each id is then a slice of this text, not checked again.
        let text = simdutf8::basic::from_utf8(body).ok()?;
        let input = text.as_bytes();
        let mut scan = PageScan {
            input,
            text,
            scanner: Scanner::default(),
            lines: Lines {
                bytes: Vec::with_capacity(input.len()),
                ends: Vec::with_capacity(PAGE_LIMIT as usize),
            },
            id_spans: Vec::with_capacity(PAGE_LIMIT as usize),
            id_hashes: Vec::with_capacity(PAGE_LIMIT as usize),
        };
        let mut meta: Option<Meta> = None;
        let mut data = false;
        let at = skip_space(input, 0);
        let end = scan.object(at, |scan, key, at| match key {
            b"meta" if meta.is_none() => {
                let end = scan.scanner.value(scan.input, at).ok()?;
                meta = Some(serde_json::from_slice(&scan.input[at..end]).ok()?);
                Some(end)
            }
            b"data" if !data => {
                data = true;
                scan.wrappers(at)
            }
            b"meta" | b"data" => None,
            _ => scan.scanner.value(scan.input, at).ok(),
        })?;
        if skip_space(input, end) != input.len() || !data {
            return None;
        }
        let meta = meta?;
        Some(RawPage {
            lines: scan.lines,
            ids: body.clone(),
            id_spans: scan.id_spans,
            id_hashes: scan.id_hashes,
            total: meta.total.map_or(0, |total| total.get()),
            last_page: meta.last_page.get(),
        })
    }

    /// Reads a page with serde_json (borrowing each row's text), for pages the fast reading
    /// leaves alone; its errors name the failing field.
    fn parse_with_serde(body: &Bytes) -> std::result::Result<Self, DecodeError> {
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
        let mut lines = Lines::default();
        lines.bytes.reserve(body.len());
        let mut ids = String::new();
        let mut id_spans = Vec::with_capacity(shape.data.len());
        let mut id_hashes = Vec::with_capacity(shape.data.len());
        for wrapper in &shape.data {
            compact_into(wrapper.data.get().as_bytes(), &mut lines.bytes);
            lines.bytes.push(b'\n');
            lines.ends.push(lines.bytes.len());
            let id = wrapper.id.filter(|id| id.get() != "null").map(id_text);
            id_hashes.push(id.map(hash_id));
            id_spans.push(id.map(|id| {
                let start = ids.len();
                ids.push_str(id);
                start..ids.len()
            }));
        }
        // Each row was validated by the page's own parse.
        Ok(RawPage {
            lines,
            ids: Bytes::from(ids),
            id_spans,
            id_hashes,
            total: shape.meta.total.map_or(0, |total| total.get()),
            last_page: shape.meta.last_page.get(),
        })
    }
}

/// The fast reading of one page, as it goes.
struct PageScan<'a> {
    input: &'a [u8],
    /// `input`, checked as UTF-8 (once, for the whole page).
    text: &'a str,
    scanner: Scanner,
    /// The rows so far, as JSON lines.
    lines: Lines,
    /// Where each row's id is in `input` (see [`RawPage`]).
    id_spans: Vec<Option<std::ops::Range<usize>>>,
    id_hashes: Vec<Option<u64>>,
}

impl<'a> PageScan<'a> {
    /// The member whose key starts at `at` (its `"`): the key without its quotes, and where
    /// its value starts. `None` for anything but a key without escapes and its `:`.
    #[inline(always)]
    fn key(&mut self, at: usize) -> Option<(&'a [u8], usize)> {
        let input = self.input;
        if input.get(at) != Some(&b'"') {
            return None;
        }
        // A key with an escape (or anything wrong in it) is left to serde_json.
        let key_end = self.scanner.plain_string_end_in(input, at + 1)?;
        let key = input.get(at + 1..key_end - 1)?;
        let at = skip_space(input, key_end);
        if input.get(at) != Some(&b':') {
            return None;
        }
        Some((key, skip_space(input, at + 1)))
    }

    /// Walks the object at `at`, handing each member's key (without its quotes; `None` for
    /// a key with escapes) and its value's start to `member`, which returns the value's end.
    /// Returns where the object ends.
    fn object(
        &mut self,
        at: usize,
        mut member: impl FnMut(&mut Self, &[u8], usize) -> Option<usize>,
    ) -> Option<usize> {
        let input = self.input;
        if input.get(at) != Some(&b'{') {
            return None;
        }
        let mut at = skip_space(input, at + 1);
        if input.get(at) == Some(&b'}') {
            return Some(at + 1);
        }
        loop {
            let (key, value) = self.key(at)?;
            at = skip_space(input, member(self, key, value)?);
            match input.get(at) {
                Some(b',') => at = skip_space(input, at + 1),
                Some(b'}') => return Some(at + 1),
                _ => return None,
            }
        }
    }

    /// Where the value at `at` ends, checked as the scanner checks it. The values a wrapper
    /// holds besides its row (ids, times, a job's number) are read directly, without
    /// setting up a scan: a string to its closing quote through the scanner's block masks
    /// ([`Scanner::string_end_in`]), with the same checks the scanner makes of a string; a positive integer to its last digit (whatever follows
    /// it is then checked by the caller as the byte after a value); `null`. Anything else
    /// is scanned.
    #[inline(always)]
    fn skip(&mut self, at: usize) -> Option<usize> {
        let input = self.input;
        match input.get(at) {
            Some(b'"') => self.scanner.string_end_in(input, at + 1).ok(),
            Some(b'1'..=b'9') => {
                let mut end = at + 1;
                while input.get(end).is_some_and(u8::is_ascii_digit) {
                    end += 1;
                }
                match input.get(end) {
                    // A fraction or an exponent: the scanner reads those.
                    Some(b'.' | b'e' | b'E') | None => self.scanner.value(input, at).ok(),
                    Some(_) => Some(end),
                }
            }
            Some(b'n') if input.get(at..at + 4) == Some(b"null") => Some(at + 4),
            _ => self.scanner.value(input, at).ok(),
        }
    }

    /// The `data` array at `at`: each wrapper's row and id. Returns where the array ends.
    fn wrappers(&mut self, at: usize) -> Option<usize> {
        let input = self.input;
        if input.get(at) != Some(&b'[') {
            return None;
        }
        let mut at = skip_space(input, at + 1);
        if input.get(at) == Some(&b']') {
            return Some(at + 1);
        }
        loop {
            at = skip_space(input, self.wrapper(at)?);
            match input.get(at) {
                Some(b',') => at = skip_space(input, at + 1),
                Some(b']') => return Some(at + 1),
                _ => return None,
            }
        }
    }

    /// The wrapper object at `at`: its row (`data`, required) written as a line, its `id`
    /// (optional) noted and hashed; any other member only checked. Returns where it ends.
    fn wrapper(&mut self, at: usize) -> Option<usize> {
        let input = self.input;
        if input.get(at) != Some(&b'{') {
            return None;
        }
        let mut at = skip_space(input, at + 1);
        let mut row = false;
        let mut id: Option<Option<std::ops::Range<usize>>> = None;
        if input.get(at) != Some(&b'}') {
            loop {
                let (key, value) = self.key(at)?;
                let end = match key {
                    b"data" if !row => {
                        let end = self.scanner.value(input, value).ok()?;
                        // Written as its line now: a page that fails later is dropped whole.
                        self.lines.element(&self.scanner, input, value, end);
                        row = true;
                        end
                    }
                    b"id" if id.is_none() => {
                        // The id's text (see `id_text_of`): a string without escapes is its
                        // body, anything else its JSON text as sent.
                        let plain = match input.get(value) {
                            Some(b'"') => self.scanner.plain_string_end_in(input, value + 1),
                            _ => None,
                        };
                        let (end, text) = match plain {
                            Some(end) => (end, Some(value + 1..end - 1)),
                            None => {
                                let end = self.skip(value)?;
                                (end, (&input[value..end] != b"null").then_some(value..end))
                            }
                        };
                        id = Some(text);
                        end
                    }
                    b"data" | b"id" => return None,
                    _ => self.skip(value)?,
                };
                at = skip_space(input, end);
                match input.get(at) {
                    Some(b',') => at = skip_space(input, at + 1),
                    Some(b'}') => break,
                    _ => return None,
                }
            }
        }
        if !row {
            return None;
        }
        match id.flatten() {
            Some(span) => {
                self.id_hashes
                    .push(Some(hash_id(self.text.get(span.clone())?)));
                self.id_spans.push(Some(span));
            }
            None => {
                self.id_hashes.push(None);
                self.id_spans.push(None);
            }
        }
        Some(at + 1)
    }
}

impl Page for RawPage {
    fn parse(body: &Bytes) -> std::result::Result<Self, DecodeError> {
        match Self::parse_fast(body) {
            Some(page) => Ok(page),
            None => Self::parse_with_serde(body),
        }
    }

    fn row_count(&self) -> u64 {
        self.lines.ends.len() as u64
    }

    fn row_id(&self, index: usize) -> Option<std::borrow::Cow<'_, str>> {
        // Read only to name a repeated row: the id's text is checked again here, not while
        // the page is read.
        let span = self.id_spans.get(index)?.clone()?;
        let text = std::str::from_utf8(self.ids.get(span)?).ok()?;
        Some(std::borrow::Cow::Borrowed(text))
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
                Ok(page) => stream::iter(
                    RowBatch::from_lines(page.lines)
                        .into_rows()
                        .map(Ok)
                        .collect::<Vec<_>>(),
                ),
                Err(error) => stream::iter(vec![Err(error)]),
            })
            .boxed()
    }
}

impl Client {
    /// [`Client::raw_page_rows`] a page at a time, each page's rows as one [`RowBatch`]: the
    /// lines the page's reading built on the task that fetched it (no copy here).
    pub(crate) fn raw_page_batches(
        &self,
        id: JobId,
        concurrency: usize,
        known: Option<Job>,
    ) -> BoxStream<'static, Result<RowBatch>> {
        self.pages::<RawPage>(id, concurrency, known)
            .map(|page| page.map(|page| RowBatch::from_lines(page.lines)))
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json_scan::any_value;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    /// What a reading of a page gives, to compare the two readings: rows, ids, id hashes,
    /// `meta.total` and `lastPage`.
    type Seen = (
        Vec<Vec<u8>>,
        Vec<Option<String>>,
        Vec<Option<u64>>,
        u64,
        u64,
    );

    fn seen(page: &RawPage) -> Seen {
        (
            RowBatch::from_lines(Lines {
                bytes: page.lines.bytes.clone(),
                ends: page.lines.ends.clone(),
            })
            .iter()
            .map(<[u8]>::to_vec)
            .collect(),
            (0..page.lines.ends.len())
                .map(|i| page.row_id(i).map(|id| id.into_owned()))
                .collect(),
            page.id_hashes.clone(),
            page.meta_total(),
            page.last_page(),
        )
    }

    /// A page: wrappers with `data`, sometimes an `id` (string, number or null) and other
    /// fields, in any order; `meta` before or after `data`, numbers as numbers or strings.
    fn any_page() -> impl Strategy<Value = Value> {
        let id = prop_oneof![
            Just(None),
            Just(Some(Value::Null)),
            "[a-z0-9\\\"]{0,6}".prop_map(|s| Some(Value::from(s))),
            any::<u32>().prop_map(|n| Some(Value::from(n))),
        ];
        let wrapper = (any_value(), id, any::<bool>(), any::<bool>()).prop_map(
            |(data, id, extra, data_last)| {
                let mut wrapper = serde_json::Map::new();
                if extra {
                    wrapper.insert("url".into(), json!("https://example.com/"));
                }
                if !data_last {
                    wrapper.insert("data".into(), data.clone());
                }
                if let Some(id) = id {
                    wrapper.insert("id".into(), id);
                }
                if data_last {
                    wrapper.insert("data".into(), data);
                }
                Value::Object(wrapper)
            },
        );
        (
            prop::collection::vec(wrapper, 0..5),
            any::<bool>(),
            any::<u32>(),
            any::<bool>(),
        )
            .prop_map(|(data, meta_first, total, as_text)| {
                let number = |n: u32| {
                    if as_text {
                        json!(n.to_string())
                    } else {
                        json!(n)
                    }
                };
                let meta = json!({"lastPage": number(total % 7), "total": number(total)});
                let mut page = serde_json::Map::new();
                if meta_first {
                    page.insert("meta".into(), meta.clone());
                }
                page.insert("data".into(), Value::Array(data));
                if !meta_first {
                    page.insert("meta".into(), meta);
                }
                Value::Object(page)
            })
    }

    proptest! {
        #[test]
        fn the_fast_reading_of_any_page_is_serde_jsons(page in any_page(), pretty in any::<bool>()) {
            let text = if pretty { serde_json::to_vec_pretty(&page) } else { serde_json::to_vec(&page) }.expect("encodes");
            let body = Bytes::from(text);
            let fast = RawPage::parse_fast(&body);
            prop_assert!(fast.is_some(), "a plain page is read fast");
            let serde = RawPage::parse_with_serde(&body).expect("serde_json reads it");
            prop_assert_eq!(seen(&fast.expect("checked")), seen(&serde));
        }

        #[test]
        fn a_corrupted_page_is_read_fast_only_as_serde_json_reads_it(
            page in any_page(),
            at in any::<prop::sample::Index>(),
            byte in prop_oneof![any::<u8>(), prop::sample::select(b"\"\\{}[],:0-.eE+tfnu \x01".to_vec())],
            insert in any::<bool>(),
        ) {
            let mut text = serde_json::to_vec_pretty(&page).expect("encodes");
            let at = at.index(text.len() + 1);
            if insert || at == text.len() {
                text.insert(at, byte);
            } else {
                text[at] = byte;
            }
            let body = Bytes::from(text);
            let serde = RawPage::parse_with_serde(&body).ok();
            // When the fast reading gives up, `parse` is serde_json's reading, whatever it says.
            if let Some(fast) = RawPage::parse_fast(&body) {
                let serde = serde.expect("what the fast reading accepts, serde_json accepts");
                prop_assert_eq!(seen(&fast), seen(&serde));
            }
        }
    }

    proptest! {
        #[test]
        fn reading_a_checked_rows_fields_is_reading_them_with_the_check(value in any_value()) {
            let row = serde_json::to_vec(&value).expect("encodes");
            let mut checked = RowFields::new();
            let mut fields = RowFields::new();
            let expected = fields.read(&row).expect("a valid row").to_vec();
            prop_assert_eq!(checked.read_checked(&row).to_vec(), expected);
        }

        #[test]
        fn reading_any_bytes_as_checked_never_panics_and_stays_within_them(
            row in prop::collection::vec(prop::sample::select(b"{}[]\",:\\ab1".to_vec()), 0..40),
        ) {
            let mut fields = RowFields::new();
            for (key, value) in fields.read_checked(&row) {
                prop_assert!(key.start <= key.end && key.end <= row.len());
                prop_assert!(value.start <= value.end && value.end <= row.len());
            }
        }
    }

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
        assert_eq!(
            (page.row_id(0).as_deref(), page.row_id(1).as_deref()),
            (Some("a"), None)
        );
        assert_eq!(
            page.lines.bytes,
            &b"{\"z\":1.0,\"a\":[12345678901234567890123,1e400],\"s\":\"\\u00e9 x\"}\nnull\n"[..],
            "JSON lines: each row and a newline"
        );
        let batch = RowBatch::from_lines(page.lines);
        let rows: Vec<&[u8]> = batch.iter().collect();
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
        // A broken row breaks its page: no row of it comes out.
        let body =
            Bytes::from_static(br#"{"meta": {"lastPage": 1}, "data": [{"data": {"a": tru}}]}"#);
        let error = RawPage::parse(&body).err().expect("fails");
        assert!(error.path.starts_with("data[0]"), "{error}");
    }

    /// Whitespace put after every `{`, `[`, `,` and `:` outside strings of compact JSON
    /// text, and before every `}` and `]`, taken in turn from `spaces` (`""` mostly).
    fn spaced(compact: &str, spaces: &[&str]) -> String {
        let mut out = String::with_capacity(compact.len() * 2);
        let mut next = spaces.iter().cycle();
        let (mut in_string, mut escaped) = (false, false);
        for c in compact.chars() {
            if in_string {
                out.push(c);
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            if matches!(c, '}' | ']') {
                out.push_str(next.next().unwrap_or(&""));
            }
            out.push(c);
            match c {
                '"' => in_string = true,
                '{' | '[' | ',' | ':' => out.push_str(next.next().unwrap_or(&"")),
                _ => {}
            }
        }
        out
    }

    /// A wrapper's members as JSON text, in any order: `data` (mostly once), an `id` (mostly
    /// a string), and other members of any value, some with keys that hold escapes (one of
    /// them spells `id`, another `data`) or are `data` nested deeper.
    fn any_wrapper_text() -> impl Strategy<Value = String> {
        let id = prop_oneof![
            "[a-f0-9-]{0,36}".prop_map(Value::from),
            "[a-z0-9\\\"\\\\\u{e9}]{0,6}".prop_map(Value::from),
            any::<u32>().prop_map(Value::from),
            Just(Value::Null),
            any_value(),
        ];
        let extra_key = prop::sample::select(vec![
            r#""url""#,
            r#""dataId""#,
            r#""createdAt""#,
            r#""jobId""#,
            r#""Data""#,
            r#""x\"y""#,
            r#""\u0069d""#,
            r#""d\u0061ta""#,
            r#""ids""#,
            r#""""#,
        ]);
        let extra = (extra_key, any_value()).prop_map(|(key, value)| {
            format!("{key}:{}", serde_json::to_string(&value).expect("encodes"))
        });
        let nested = any_value().prop_map(|row| json!({"data": row, "id": "inner"}));
        (
            prop_oneof![8 => any_value(), 1 => nested],
            prop::collection::vec(id, 0..2),
            prop::collection::vec(extra, 0..4),
            0..20u8,
        )
            .prop_flat_map(|(data, ids, extras, data_count)| {
                let data = serde_json::to_string(&data).expect("encodes");
                // Mostly once; sometimes missing or twice (both: the page is bad).
                let copies = match data_count {
                    0 => 0,
                    1 => 2,
                    _ => 1,
                };
                let mut members: Vec<String> = vec![format!(r#""data":{data}"#); copies];
                members.extend(ids.iter().map(|id| format!(r#""id":{id}"#)));
                members.extend(extras);
                Just(members).prop_shuffle()
            })
            .prop_map(|members| format!("{{{}}}", members.join(",")))
    }

    /// A page as text: its wrappers from [`any_wrapper_text`] (now and then something that
    /// is not a wrapper), `meta` and other members in any order, whitespace anywhere
    /// between tokens.
    fn any_page_text() -> impl Strategy<Value = String> {
        let wrapper = prop_oneof![
            20 => any_wrapper_text(),
            1 => any_value().prop_map(|v| serde_json::to_string(&v).expect("encodes")),
        ];
        let space = prop::sample::select(vec!["", "", "", "", " ", "\n  ", "\t", "\r\n"]);
        (
            prop::collection::vec(wrapper, 0..6),
            any::<u16>(),
            prop::collection::vec(any_value(), 0..2),
            prop::collection::vec(space, 1..12),
        )
            .prop_flat_map(|(wrappers, total, extras, spaces)| {
                let meta = format!(
                    r#""meta":{{"total":{total},"perPage":100,"lastPage":"{}"}}"#,
                    total % 9
                );
                let mut members = vec![meta, format!(r#""data":[{}]"#, wrappers.join(","))];
                members.extend(extras.iter().enumerate().map(|(i, v)| {
                    format!(
                        r#""extra{i}":{}"#,
                        serde_json::to_string(v).expect("encodes")
                    )
                }));
                (Just(members).prop_shuffle(), Just(spaces))
            })
            .prop_map(|(members, spaces)| spaced(&format!("{{{}}}", members.join(",")), &spaces))
    }

    proptest! {
        #[test]
        fn the_wrapper_walk_reads_odd_pages_as_serde_json_does(text in any_page_text()) {
            let body = Bytes::from(text.clone());
            let serde = RawPage::parse_with_serde(&body);
            match RawPage::parse_fast(&body) {
                Some(fast) => {
                    let serde = serde.map_err(|e| TestCaseError::fail(format!("serde_json refuses what the fast reading took: {e}\n{text}")))?;
                    prop_assert_eq!(seen(&fast), seen(&serde), "{}", text);
                }
                // Only a page with an escaped key, a missing or repeated field or something
                // that is not a wrapper is left to serde_json; a plain good page is read fast.
                None => prop_assert!(
                    serde.is_err() || text.contains(r#"\u0069d""#) || text.contains(r#"d\u0061ta""#) || text.contains(r#"x\"y""#)
                        || serde_json::from_str::<Value>(&text).is_ok_and(|page| page["data"].as_array().is_some_and(|w| w.iter().any(|w| !w.is_object()))),
                    "a plain page left to serde_json: {}", text
                ),
            }
        }
    }
}
