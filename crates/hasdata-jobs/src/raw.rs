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
use crate::repeats::{hash_id, hash_id_bytes};
use crate::results::{PAGE_LIMIT, Page};

mod template;

use template::Template;

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
    /// a row of a [`RowBatch`]. It trusts the row (no check, no
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

/// A count at `at` written plainly, and where it ends: a JSON integer or a string of digits
/// (as [`Count`] reads both: its whole value), at most 19 digits (below `u64::MAX`). `None`
/// for anything else, left to serde_json: `null`, a sign, a fraction or an exponent, more
/// digits, an integer with a leading zero (not JSON), a string holding anything but digits.
fn plain_count(input: &[u8], at: usize) -> Option<(u64, usize)> {
    let quoted = input.get(at) == Some(&b'"');
    let digits_at = at + usize::from(quoted);
    let mut end = digits_at;
    while input.get(end).is_some_and(u8::is_ascii_digit) {
        end += 1;
    }
    let digits = input.get(digits_at..end)?;
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let value = digits
        .iter()
        .fold(0u64, |value, digit| value * 10 + u64::from(digit - b'0'));
    if quoted {
        return (input.get(end) == Some(&b'"')).then_some((value, end + 1));
    }
    if (digits.len() > 1 && digits[0] == b'0')
        || matches!(input.get(end), Some(b'.' | b'e' | b'E') | None)
    {
        return None;
    }
    Some((value, end))
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

/// The same shape, owned, only to name the failing field when a page does not parse. Its
/// errors say what was expected in words, not by this type's name.
#[derive(Deserialize)]
#[serde(expecting = "a results page (an object with `meta` and `data`)")]
#[allow(dead_code)] // read by serde only
struct OwnedShape {
    meta: Meta,
    data: Vec<OwnedWrapper>,
}

#[derive(Deserialize)]
#[serde(expecting = "a row's record (an object with `data`)")]
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
    /// Most wrappers are read through the last one's [`Skeleton`].
    fn parse_fast(body: &Bytes) -> Option<RawPage> {
        thread_local! {
            static WORKSPACE: std::cell::RefCell<Workspace> = std::cell::RefCell::default();
        }
        WORKSPACE
            .with(|workspace| match workspace.try_borrow_mut() {
                Ok(mut workspace) => Self::read_fast(body, Reading::Templates, &mut workspace),
                // Not reached (a page is read in one call, with no page read inside it); a
                // fresh one reads the same.
                Err(_) => Self::read_fast(body, Reading::Templates, &mut Workspace::default()),
            })
            .map(|(page, _)| page)
    }

    /// [`RawPage::parse_fast`] with `workspace` (whatever pages it read before), read as
    /// `reading` says (tests compare the three), and how many wrappers were read otherwise
    /// than by the full walk.
    fn read_fast(
        body: &Bytes,
        reading: Reading,
        workspace: &mut Workspace,
    ) -> Option<(RawPage, Taken)> {
        // Checked as UTF-8 once, here: each id is then a slice of this text, not checked again.
        let text = simdutf8::basic::from_utf8(body).ok()?;
        let input = text.as_bytes();
        // The scanner's block masks describe the last input it read, not this one.
        workspace.scanner.new_input();
        let mut scan = PageScan {
            reading,
            taken: Taken::default(),
            input,
            scanner: &mut workspace.scanner,
            lines: Lines {
                bytes: Vec::with_capacity(input.len()),
                ends: Vec::with_capacity(PAGE_LIMIT as usize),
            },
            id_spans: Vec::with_capacity(PAGE_LIMIT as usize),
            id_hashes: Vec::with_capacity(PAGE_LIMIT as usize),
            skeleton: &mut workspace.skeleton,
            template: &mut workspace.template,
        };
        // `lastPage` and `total`.
        let mut meta: Option<(u64, u64)> = None;
        let mut data = false;
        let at = skip_space(input, 0);
        let end = scan.object(at, |scan, key, at| match key {
            b"meta" if meta.is_none() => {
                let (counts, end) = match scan.counts(at) {
                    Some(read) => read,
                    None => {
                        let end = scan.scanner.value(scan.input, at).ok()?;
                        let meta: Meta = serde_json::from_slice(&scan.input[at..end]).ok()?;
                        let total = meta.total.map_or(0, |total| total.get());
                        ((meta.last_page.get(), total), end)
                    }
                };
                meta = Some(counts);
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
        let (last_page, total) = meta?;
        let page = RawPage {
            lines: scan.lines,
            ids: body.clone(),
            id_spans: scan.id_spans,
            id_hashes: scan.id_hashes,
            total,
            last_page,
        };
        Some((page, scan.taken))
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

/// What reading a page needs besides the page, kept by each thread from one page to the
/// next: the scanner (the rows' shapes it learned, its buffers) and the last wrapper's
/// skeleton, so a page's first row and first wrapper are compared with the last page's, and
/// reading a page allocates only what it hands on.
#[derive(Default)]
struct Workspace {
    scanner: Scanner,
    skeleton: Skeleton,
    template: Template,
}

/// How the fast reading takes a page's wrappers (all three read the same; tests compare
/// them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reading {
    /// Each by the full walk ([`PageScan::wrapper`]).
    Walk,
    /// Each first compared with the last one's [`Skeleton`].
    #[cfg_attr(not(test), allow(dead_code))]
    Skeletons,
    /// Each first held to the last one's [`Template`], then its skeleton: the usual reading.
    Templates,
}

/// Wrappers read otherwise than by the full walk: through a [`Skeleton`], through a
/// [`Template`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Taken {
    skeleton: usize,
    template: usize,
}

/// The fast reading of one page, as it goes.
struct PageScan<'a, 'w> {
    reading: Reading,
    /// Wrappers read through a skeleton or a template.
    taken: Taken,
    /// The page, checked as UTF-8 (once, for the whole page).
    input: &'a [u8],
    scanner: &'w mut Scanner,
    /// The rows so far, as JSON lines.
    lines: Lines,
    /// Where each row's id is in `input` (see [`RawPage`]).
    id_spans: Vec<Option<std::ops::Range<usize>>>,
    id_hashes: Vec<Option<u64>>,
    /// The last wrapper the full walk read, for the next ones to be compared with.
    skeleton: &'w mut Skeleton,
    /// The last wrapper the full walk or its skeleton read, as a template.
    template: &'w mut Template,
}

/// What a wrapper's value is to the page: its row, its id, or anything else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Data,
    Id,
    Other,
}

/// A wrapper as the full walk ([`PageScan::wrapper`]) read it, less its values: the bytes
/// between them (`{`, keys, `:`, `,`, whitespace, `}`) and which value each is.
///
/// The wrappers of a page share their keys and their layout (the API writes them from one
/// template), so the next wrapper is first compared with this one: where its bytes between
/// values are these bytes, the full walk would take the same steps over them, reaching each
/// value where this reading does, so only the values are read (each as the full walk reads
/// it). Any difference (a key changed or spelled with an escape, a value of another length
/// moving nothing but also ending elsewhere, whitespace) fails a compare, and the wrapper is
/// read again by the full walk, which remembers it in turn. So both readings take and refuse
/// the same wrappers, with the same rows and ids.
#[derive(Default)]
struct Skeleton {
    /// The bytes between values, one piece after another (only pieces longer than
    /// [`Piece::SHORT`] are read from here).
    bytes: Vec<u8>,
    /// Each value with the piece before it (the first runs from the wrapper's `{`).
    values: Vec<(Piece, Slot)>,
    /// The piece after the last value, to the wrapper's `}`; `None`: no skeleton yet.
    last: Option<Piece>,
    /// The values the full walk found in the wrapper it is reading: slot, start and end.
    found: Vec<(Slot, usize, usize)>,
}

/// Bytes between a wrapper's values, as a [`Skeleton`] holds them.
#[derive(Clone, Copy)]
struct Piece {
    /// Where it is in the skeleton's `bytes`, and its length.
    start: usize,
    len: usize,
    /// A short piece's bytes as a number (little-endian), and the mask of its bytes: one
    /// compare of sixteen bytes.
    word: u128,
    mask: u128,
}

impl Piece {
    /// Pieces of at most this many bytes are compared as one number.
    const SHORT: usize = 16;

    /// Where the piece ends, when `input` at `at` holds it.
    #[inline(always)]
    fn at(&self, bytes: &[u8], input: &[u8], at: usize) -> Option<usize> {
        let end = at + self.len;
        if self.len <= Self::SHORT
            && let Some(theirs) = input
                .get(at..)
                .and_then(<[u8]>::first_chunk::<{ Self::SHORT }>)
        {
            return ((u128::from_le_bytes(*theirs) ^ self.word) & self.mask == 0).then_some(end);
        }
        (input.get(at..end)? == bytes.get(self.start..self.start + self.len)?).then_some(end)
    }
}

impl Skeleton {
    /// Remembers the wrapper `input[start..end]` that the full walk just read, whose values
    /// it noted in `found`.
    fn remember(&mut self, input: &[u8], start: usize, end: usize) {
        self.bytes.clear();
        self.values.clear();
        let mut from = start;
        for index in 0..self.found.len() {
            let (slot, value, value_end) = self.found[index];
            let piece = self.piece(&input[from..value]);
            self.values.push((piece, slot));
            from = value_end;
        }
        self.last = Some(self.piece(&input[from..end]));
    }

    /// Keeps `bytes` as the next piece.
    fn piece(&mut self, bytes: &[u8]) -> Piece {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(bytes);
        let mut short = [0; Piece::SHORT];
        let len = bytes.len().min(Piece::SHORT);
        short[..len].copy_from_slice(&bytes[..len]);
        Piece {
            start,
            len: bytes.len(),
            word: u128::from_le_bytes(short),
            mask: u128::MAX
                .checked_shr(8 * (Piece::SHORT - len) as u32)
                .unwrap_or(0),
        }
    }
}

impl<'a> PageScan<'a, '_> {
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

    /// The `meta` object at `at`, when its `lastPage` (required) and `total` (optional) are
    /// written plainly ([`plain_count`]) and each only once: those two counts, as [`Meta`]
    /// reads them, and where the object ends; its other members are only checked. `None`
    /// for anything else (a count that is `null`, a fraction or a sign, a key with escapes,
    /// a member twice, not an object): serde_json reads it then, as [`Meta`].
    fn counts(&mut self, at: usize) -> Option<((u64, u64), usize)> {
        let (mut last_page, mut total) = (None, None);
        let end = self.object(at, |scan, key, at| {
            let count = match key {
                b"lastPage" => &mut last_page,
                b"total" => &mut total,
                _ => return scan.scanner.value(scan.input, at).ok(),
            };
            if count.is_some() {
                return None;
            }
            let (value, end) = plain_count(scan.input, at)?;
            *count = Some(value);
            Some(end)
        })?;
        Some(((last_page?, total.unwrap_or(0)), end))
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
            let end = match self.like_the_template(at) {
                Some(end) => end,
                None => match self.like_the_last(at) {
                    Some(end) => end,
                    None => self.wrapper(at)?,
                },
            };
            at = skip_space(input, end);
            match input.get(at) {
                Some(b',') => at = skip_space(input, at + 1),
                Some(b']') => return Some(at + 1),
                _ => return None,
            }
        }
    }

    /// The wrapper at `at` read through the last one's [`Skeleton`]: only its values are
    /// read, each as [`PageScan::wrapper`] reads it. `None` (with nothing of it kept) when
    /// it differs from the skeleton anywhere, or something in it is wrong: the full walk
    /// then reads it.
    #[inline(always)]
    fn like_the_last(&mut self, at: usize) -> Option<usize> {
        if self.reading == Reading::Walk {
            return None;
        }
        let last = self.skeleton.last?;
        let (bytes, ends) = (self.lines.bytes.len(), self.lines.ends.len());
        let read = self
            .values_like_the_last(at, last)
            .and_then(|(end, id)| self.note_id(id).map(|()| end));
        match read {
            Some(end) => {
                self.taken.skeleton += 1;
                if self.reading == Reading::Templates {
                    // The template did not take it: its values' lengths changed, say. The
                    // next wrappers are likelier to be laid out as this one.
                    self.template
                        .learn(self.input, at, end, &self.skeleton.found);
                }
            }
            None => {
                self.lines.bytes.truncate(bytes);
                self.lines.ends.truncate(ends);
            }
        }
        read
    }

    /// The wrapper at `at` held to the last one's [`Template`]: its text around its row
    /// checked whole, its row read, its id taken from where the template has it. `None`
    /// (with nothing of it kept) when it differs from the template anywhere, or its row is
    /// wrong: the skeleton, then the full walk, read it.
    #[inline(always)]
    fn like_the_template(&mut self, at: usize) -> Option<usize> {
        if self.reading != Reading::Templates {
            return None;
        }
        let input = self.input;
        let row = self.template.row_start(input, at)?;
        // As for a skeleton: the full walk skips whitespace before the row.
        if input.get(row).is_none_or(|&byte| byte <= b' ') {
            return None;
        }
        let (bytes, ends) = (self.lines.bytes.len(), self.lines.ends.len());
        let read = self
            .row(row)
            .and_then(|row_end| self.template.end(input, at, row_end))
            .and_then(|(end, id)| self.note_id(id).map(|()| end));
        match read {
            Some(_) => self.taken.template += 1,
            None => {
                self.lines.bytes.truncate(bytes);
                self.lines.ends.truncate(ends);
            }
        }
        read
    }

    /// [`PageScan::like_the_last`]'s reading: where the wrapper ends, and its id's span.
    #[inline(always)]
    fn values_like_the_last(
        &mut self,
        mut at: usize,
        last: Piece,
    ) -> Option<(usize, Option<std::ops::Range<usize>>)> {
        let input = self.input;
        let mut id = None;
        // The values, for a template to be learned from this wrapper.
        self.skeleton.found.clear();
        for index in 0..self.skeleton.values.len() {
            let (piece, slot) = self.skeleton.values[index];
            at = piece.at(&self.skeleton.bytes, input, at)?;
            // The full walk skips whitespace before a value: a value here must not start
            // with any (nor a wrong byte, which its reading refuses anyway).
            if input.get(at).is_none_or(|&byte| byte <= b' ') {
                return None;
            }
            let value = at;
            at = match slot {
                Slot::Data => self.row(at)?,
                Slot::Id => {
                    let (end, text) = self.id(at)?;
                    id = text;
                    end
                }
                Slot::Other => self.skip(at)?,
            };
            self.skeleton.found.push((slot, value, at));
        }
        Some((last.at(&self.skeleton.bytes, input, at)?, id))
    }

    /// The row (a wrapper's `data`) at `at`, checked and written as its line now (a page
    /// that fails later is dropped whole). Returns where it ends.
    #[inline(always)]
    fn row(&mut self, at: usize) -> Option<usize> {
        let end = self.scanner.value(self.input, at).ok()?;
        self.lines.element(self.scanner, self.input, at, end);
        Some(end)
    }

    /// The id (a wrapper's `id`) at `at`: where it ends, and its text (see `id_text_of`):
    /// a string without escapes is its body, anything else its JSON text as sent; `None`
    /// for `null`.
    #[inline(always)]
    fn id(&mut self, at: usize) -> Option<(usize, Option<std::ops::Range<usize>>)> {
        let input = self.input;
        let plain = match input.get(at) {
            Some(b'"') => self.scanner.plain_string_end_in(input, at + 1),
            _ => None,
        };
        Some(match plain {
            Some(end) => (end, Some(at + 1..end - 1)),
            None => {
                let end = self.skip(at)?;
                (end, (&input[at..end] != b"null").then_some(at..end))
            }
        })
    }

    /// Notes a wrapper's id (its span in the page, and its hash), or that it has none.
    #[inline(always)]
    fn note_id(&mut self, id: Option<std::ops::Range<usize>>) -> Option<()> {
        match id {
            Some(span) => {
                // The span's ends are ASCII (quotes, a value's first and last bytes) in
                // text checked as UTF-8: its bytes are hashed as its text would be.
                self.id_hashes
                    .push(Some(hash_id_bytes(self.input.get(span.clone())?)));
                self.id_spans.push(Some(span));
            }
            None => {
                self.id_hashes.push(None);
                self.id_spans.push(None);
            }
        }
        Some(())
    }

    /// The wrapper object at `at`: its row (`data`, required) written as a line, its `id`
    /// (optional) noted and hashed; any other member only checked. Returns where it ends.
    /// The wrapper is remembered as the [`Skeleton`] the next ones are compared with.
    fn wrapper(&mut self, start: usize) -> Option<usize> {
        let input = self.input;
        if input.get(start) != Some(&b'{') {
            return None;
        }
        let mut at = skip_space(input, start + 1);
        let mut row = false;
        let mut id: Option<Option<std::ops::Range<usize>>> = None;
        self.skeleton.found.clear();
        if input.get(at) != Some(&b'}') {
            loop {
                let (key, value) = self.key(at)?;
                let (slot, end) = match key {
                    b"data" if !row => {
                        row = true;
                        (Slot::Data, self.row(value)?)
                    }
                    b"id" if id.is_none() => {
                        let (end, text) = self.id(value)?;
                        id = Some(text);
                        (Slot::Id, end)
                    }
                    b"data" | b"id" => return None,
                    _ => (Slot::Other, self.skip(value)?),
                };
                self.skeleton.found.push((slot, value, end));
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
        self.note_id(id.flatten())?;
        self.skeleton.remember(input, start, at + 1);
        if self.reading == Reading::Templates {
            self.template
                .learn(input, start, at + 1, &self.skeleton.found);
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

    /// serde_json's reading of `text`, which must accept a page a fast reading took.
    fn serde_seen(text: &str) -> Result<Seen, TestCaseError> {
        let page = RawPage::parse_with_serde(&Bytes::from(text.to_owned())).map_err(|e| {
            TestCaseError::fail(format!(
                "serde_json refuses what the fast reading took: {e}\n{text}"
            ))
        })?;
        Ok(seen(&page))
    }

    /// Whether serde_json refuses the page `text`.
    fn serde_refuses(text: &str) -> bool {
        RawPage::parse_with_serde(&Bytes::from(text.to_owned())).is_err()
    }

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
            match RawPage::parse_fast(&Bytes::from(text.clone())) {
                Some(fast) => prop_assert_eq!(seen(&fast), serde_seen(&text)?, "{}", text),
                // Only a page with an escaped key, a missing or repeated field or something
                // that is not a wrapper is left to serde_json; a plain good page is read fast.
                None => prop_assert!(
                    serde_refuses(&text) || text.contains(r#"\u0069d""#) || text.contains(r#"d\u0061ta""#) || text.contains(r#"x\"y""#)
                        || serde_json::from_str::<Value>(&text).is_ok_and(|page| page["data"].as_array().is_some_and(|w| w.iter().any(|w| !w.is_object()))),
                    "a plain page left to serde_json: {}", text
                ),
            }
        }
    }

    /// A wrapper's members as the template of [`any_templated_page_text`] holds them: each
    /// key's JSON text (quotes included) and what its values are.
    #[derive(Clone, Copy, Debug)]
    enum Kind {
        Row,
        Id,
        Time,
        Number,
        Anything,
    }

    /// How one wrapper of a templated page differs from the template.
    #[derive(Clone, Debug)]
    enum Change {
        /// Not at all: new values of the same kinds.
        None,
        /// One byte of a key (`member`) becomes `byte`.
        KeyByte {
            member: usize,
            at: usize,
            byte: u8,
        },
        /// A key's first letter spelled as a `\u` escape: the same key to serde_json.
        EscapedKey {
            member: usize,
        },
        /// A value replaced with this text (another type, or another length).
        Value {
            member: usize,
            text: String,
        },
        /// Whitespace added at one of the four places around a member.
        Space {
            member: usize,
            place: u8,
            space: &'static str,
        },
        /// A member dropped, repeated, or one more added.
        Dropped {
            member: usize,
        },
        Repeated {
            member: usize,
        },
        Added {
            text: String,
        },
        /// The wrapper's text with one byte replaced.
        Corrupt {
            at: usize,
            byte: u8,
        },
    }

    /// One wrapper of a templated page: its values, and its change.
    type Drawn = (Value, String, u8, u32, Value, Change);

    fn any_change() -> impl Strategy<Value = Change> {
        let member = 0..8usize;
        prop_oneof![
            40 => Just(Change::None),
            1 => (member.clone(), 0..10usize, prop::sample::select(b"aAdzZ_0\"\\ ".to_vec()))
                .prop_map(|(member, at, byte)| Change::KeyByte { member, at, byte }),
            1 => member.clone().prop_map(|member| Change::EscapedKey { member }),
            1 => (member.clone(), prop_oneof![
                    any_value().prop_map(|v| serde_json::to_string(&v).expect("encodes")),
                    any::<u32>().prop_map(|n| n.to_string()),
                    Just("null".to_owned()),
                    Just("\"\"".to_owned()),
                    "\"[a-f0-9]{7,9}\"",
                    "\"[a-f0-9]{3}\\\\[nt\"][a-f0-9]{3}\"",
                    Just("1.5".to_owned()),
                    Just("0".to_owned()),
                    Just("-3".to_owned()),
                    Just("12e3".to_owned()),
                ])
                .prop_map(|(member, text)| Change::Value { member, text }),
            1 => (member.clone(), 0..4u8, prop::sample::select(vec![" ", "\n", "\t ", "\r\n  "]))
                .prop_map(|(member, place, space)| Change::Space { member, place, space }),
            1 => member.clone().prop_map(|member| Change::Dropped { member }),
            1 => member.clone().prop_map(|member| Change::Repeated { member }),
            1 => prop::sample::select(vec![r#""extra":1"#, r#""data":null"#, r#""id":"x""#, r#""ids":2"#])
                .prop_map(|text| Change::Added { text: text.to_owned() }),
            1 => (0..400usize, prop::sample::select(b"\"\\{}[],:0-.eE+tfnu \x01a".to_vec()))
                .prop_map(|(at, byte)| Change::Corrupt { at, byte }),
        ]
    }

    /// A wrapper as text: the template's members with `drawn`'s values, changed as it says.
    fn templated_wrapper(template: &[(String, Kind)], space: &str, drawn: &Drawn) -> String {
        let (row, id, second, number, anything, change) = drawn;
        let mut members: Vec<(String, String)> = template
            .iter()
            .map(|(key, kind)| {
                let value = match kind {
                    Kind::Row => serde_json::to_string(row).expect("encodes"),
                    Kind::Id => format!("\"{id}\""),
                    Kind::Time => format!("\"2026-11-30T15:28:{:02}+03:00\"", second % 60),
                    Kind::Number => (u64::from(*number) + 1).to_string(),
                    Kind::Anything => serde_json::to_string(anything).expect("encodes"),
                };
                (key.clone(), value)
            })
            .collect();
        let count = members.len().max(1);
        let pick = |member: &usize| member % count;
        let mut places = [space; 4];
        let mut spaced_member = None;
        match change {
            Change::None | Change::Corrupt { .. } => {}
            Change::KeyByte { member, at, byte } => {
                let key = &mut members[pick(member)].0;
                let inner = key.len() - 2;
                if inner > 0 {
                    let at = 1 + at % inner;
                    let mut bytes = std::mem::take(key).into_bytes();
                    bytes[at] = *byte;
                    *key = String::from_utf8(bytes).expect("ASCII");
                }
            }
            Change::EscapedKey { member } => {
                let key = &mut members[pick(member)].0;
                if let Some(first) = key[1..].chars().next().filter(char::is_ascii_alphabetic) {
                    *key = format!("\"\\u{:04x}{}", u32::from(first), &key[2..]);
                }
            }
            Change::Value { member, text } => members[pick(member)].1 = text.clone(),
            Change::Space {
                member,
                place,
                space,
            } => {
                spaced_member = Some((pick(member), *place as usize, *space));
            }
            Change::Dropped { member } => {
                members.remove(pick(member));
            }
            Change::Repeated { member } => {
                let again = members[pick(member)].clone();
                members.push(again);
            }
            Change::Added { text } => {
                let (key, value) = text.split_once(':').expect("a member");
                members.insert(1.min(members.len()), (key.to_owned(), value.to_owned()));
            }
        }
        let text = members
            .iter()
            .enumerate()
            .map(|(index, (key, value))| {
                let mut these = places;
                if let Some((member, place, space)) = spaced_member
                    && member == index
                {
                    these[place] = space;
                }
                format!(
                    "{}{key}{}:{}{value}{}",
                    these[0], these[1], these[2], these[3]
                )
            })
            .collect::<Vec<_>>()
            .join(",");
        places = [space; 4];
        let mut text = format!("{{{text}{}}}", places[0]);
        if let Change::Corrupt { at, byte } = change {
            let at = at % text.len();
            let mut bytes = text.into_bytes();
            bytes[at] = *byte;
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    }

    /// A page whose wrappers mostly share one layout, as the API writes them: each is the
    /// template's members (keys in any order, `data` mostly among them, `id` often) with new
    /// values of the same kinds (ids and times of the same length, numbers and rows of any),
    /// or the template changed in one way ([`Change`]): a key changed by one byte or spelled
    /// with an escape, a value of another type or length, whitespace somewhere, a member
    /// dropped, repeated or added, a byte corrupted.
    fn any_templated_page_text() -> impl Strategy<Value = String> {
        let keys = prop::sample::subsequence(
            vec![
                (r#""createdAt""#, Kind::Time),
                (r#""data""#, Kind::Row),
                (r#""dataId""#, Kind::Id),
                (r#""id""#, Kind::Id),
                (r#""jobId""#, Kind::Number),
                (r#""updatedAt""#, Kind::Time),
                (r#""url""#, Kind::Anything),
                (r#""""#, Kind::Anything),
            ],
            1..8,
        )
        .prop_shuffle();
        let drawn = (
            prop_oneof![4 => crawler_row(), 1 => any_value()],
            "[a-f0-9]{8}",
            any::<u8>(),
            prop_oneof![0..10u32, any::<u32>()],
            any_value(),
            any_change(),
        );
        (
            keys,
            prop::sample::select(vec!["", "", "", " ", "\n  "]),
            prop::collection::vec(drawn, 1..12),
        )
            .prop_map(|(keys, space, wrappers)| {
                let mut template: Vec<(String, Kind)> = keys
                    .into_iter()
                    .map(|(k, kind)| (k.to_owned(), kind))
                    .collect();
                // Mostly a wrapper with a row: without one, every page is refused.
                if !template.iter().any(|(key, _)| key == r#""data""#) && wrappers.len() % 4 != 0 {
                    template.push((r#""data""#.to_owned(), Kind::Row));
                }
                let wrappers: Vec<String> = wrappers
                    .iter()
                    .map(|drawn| templated_wrapper(&template, space, drawn))
                    .collect();
                format!(
                    r#"{{"meta":{{"lastPage":3,"total":250}},"data":[{}]}}"#,
                    wrappers.join(",")
                )
            })
    }

    /// A crawler row of the simulator's shape, with values of any length.
    fn crawler_row() -> impl Strategy<Value = Value> {
        (0..4u8, prop::option::of("[a-z ]{0,12}"), any::<u16>(), "[a-zA-Z .]{0,40}")
            .prop_map(|(depth, error, code, text)| {
                json!({"depth": depth, "error": error, "statusCode": code, "text": text, "url": "https://example.com/"})
            })
    }

    /// What the fast reading of a page gives by the full walk alone, with skeletons (and
    /// how many wrappers a skeleton read), and with templates too (and how many wrappers a
    /// skeleton and a template read).
    type Readings = (Option<Seen>, Option<(Seen, usize)>, Option<(Seen, Taken)>);

    /// The [`Readings`] of `text`. The last two must read what the first does; each caller
    /// compares.
    fn readings(text: &str) -> Readings {
        let body = Bytes::from(text.to_owned());
        let walked = RawPage::read_fast(&body, Reading::Walk, &mut Workspace::default()).map(
            |(page, taken)| {
                assert_eq!(taken, Taken::default(), "the full walk reads every wrapper");
                seen(&page)
            },
        );
        let skeletons = RawPage::read_fast(&body, Reading::Skeletons, &mut Workspace::default())
            .map(|(page, taken)| {
                assert_eq!(taken.template, 0, "no template without templates");
                (seen(&page), taken.skeleton)
            });
        let templates = RawPage::read_fast(&body, Reading::Templates, &mut Workspace::default())
            .map(|(page, taken)| (seen(&page), taken));
        (walked, skeletons, templates)
    }

    /// [`readings`], checked to agree: the full walk's reading, and how many wrappers a
    /// skeleton read (skeletons alone), and a skeleton or a template (both).
    fn both_readings(text: &str) -> (Option<Seen>, Option<(Seen, usize)>) {
        let (walked, skeletons, templates) = readings(text);
        let skeleton_seen = skeletons.clone().map(|(seen, _)| seen);
        assert_eq!(walked, skeleton_seen, "skeletons: {text}");
        let template_seen = templates.clone().map(|(seen, _)| seen);
        assert_eq!(walked, template_seen, "templates: {text}");
        if let (Some((_, by_skeleton)), Some((_, taken))) = (&skeletons, &templates) {
            // A wrapper a skeleton reads, a template or a skeleton reads (the full walk
            // remembers the same wrappers either way).
            assert_eq!(
                taken.skeleton + taken.template,
                *by_skeleton,
                "wrappers not walked: {text}"
            );
        }
        (walked, skeletons)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn a_wrapper_read_through_the_last_ones_skeleton_is_read_as_the_full_walk_reads_it(
            text in any_templated_page_text(),
        ) {
            let (walked, fast) = both_readings(&text);
            prop_assert_eq!(walked.clone(), fast.clone().map(|(seen, _)| seen), "{}", text);
            // And as serde_json reads it.
            if let Some(walked) = walked {
                prop_assert_eq!(walked, serde_seen(&text)?, "{}", text);
            }
        }

        #[test]
        fn a_workspace_kept_from_other_pages_reads_a_page_as_a_fresh_one_does(
            pages in prop::collection::vec(prop_oneof![any_templated_page_text(), any_page_text()], 1..5),
            pretty in any::<bool>(),
        ) {
            // What a thread's workspace holds after some pages (the scanner's shapes and
            // block masks, the last skeleton) changes nothing in the next page's reading.
            let mut kept = Workspace::default();
            for text in pages {
                let text = match serde_json::from_str::<Value>(&text) {
                    Ok(value) if pretty => serde_json::to_string_pretty(&value).expect("encodes"),
                    _ => text,
                };
                let body = Bytes::from(text.clone());
                let fresh = RawPage::read_fast(&body, Reading::Templates, &mut Workspace::default()).map(|(page, _)| seen(&page));
                let again = RawPage::read_fast(&body, Reading::Templates, &mut kept).map(|(page, _)| seen(&page));
                prop_assert_eq!(again, fresh, "{}", text);
            }
        }

        #[test]
        fn wrappers_of_one_layout_are_read_through_the_skeleton(
            template in any_templated_page_text(),
            space in prop::sample::select(vec!["", " ", "\n  "]),
        ) {
            // The page's first wrapper, as the template for more: the same text again and
            // again reads through the skeleton after the first.
            let Ok(page) = serde_json::from_str::<Value>(&template) else { return Ok(()) };
            let Some(first) = page["data"].as_array().and_then(|w| w.first()).filter(|w| w.get("data").is_some()) else { return Ok(()) };
            let first = serde_json::to_string(first).expect("encodes");
            let text = format!(r#"{{"meta":{{"lastPage":1}},"data":[{}]}}"#, vec![first; 5].join(&format!(",{space}")));
            let (walked, fast) = both_readings(&text);
            if walked.is_some() {
                prop_assert_eq!(fast.map(|(_, taken)| taken), Some(4), "{}", text);
            }
        }
    }

    /// A count in `meta` as any of the forms a server may write (what [`Count`] reads, and
    /// what it refuses).
    fn any_count_text() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => any::<u64>().prop_map(|n| n.to_string()),
            2 => (0..1000u64).prop_map(|n| n.to_string()),
            2 => "[0-9]{1,21}".prop_map(|digits| format!("\"{digits}\"")),
            1 => "[0-9]{1,21}",
            1 => prop::sample::select(vec![
                "null", "-1", "1.5", "1e2", "2E0", "0.0", "\"1.50\"", "\" 5\"", "\"\"",
                "\"-3\"", "\"\\u0035\"", "true", "[1]", "{}", "18446744073709551615",
                "18446744073709551616", "\"18446744073709551615\"",
            ])
            .prop_map(str::to_owned),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]
        #[test]
        fn a_pages_counts_are_read_as_serde_json_reads_them(
            last_page in prop::option::of(any_count_text()),
            total in prop::option::of(any_count_text()),
            again in prop::option::of(any_count_text()),
            escaped in any::<bool>(),
            others in prop::collection::vec(any_value(), 0..3),
            order in any::<prop::sample::Index>(),
            space in prop::sample::select(vec!["", " ", "\n  "]),
        ) {
            let mut members: Vec<String> = others
                .iter()
                .enumerate()
                .map(|(i, v)| format!(r#""other{i}":{space}{}"#, serde_json::to_string(v).expect("encodes")))
                .collect();
            let key = if escaped { r#""last\u0050age""# } else { r#""lastPage""# };
            members.extend(last_page.map(|count| format!("{key}:{space}{count}")));
            members.extend(total.map(|count| format!(r#""total":{count}{space}"#)));
            // A count twice: serde_json refuses the page's `meta` (a field twice).
            members.extend(again.map(|count| format!(r#""total":{count}"#)));
            let turn = order.index(members.len().max(1));
            members.rotate_left(turn);
            let text = format!(
                r#"{{"data":[{{"data":1,"id":"a"}},{{"data":2,"id":"b"}}],"meta":{{{}}}}}"#,
                members.join(",")
            );
            match RawPage::parse_fast(&Bytes::from(text.clone())) {
                Some(fast) => prop_assert_eq!(seen(&fast), serde_seen(&text)?, "{}", text),
                None => prop_assert!(serde_refuses(&text), "a good page left to serde_json: {}", text),
            }
        }
    }

    #[test]
    fn a_plain_count_is_read_where_it_is_plain() {
        let read = |text: &str| plain_count(text.as_bytes(), 0);
        assert_eq!(read("0,"), Some((0, 1)));
        assert_eq!(read("1234}"), Some((1234, 4)));
        assert_eq!(read("\"0012\","), Some((12, 6)));
        assert_eq!(
            read("9999999999999999999,"),
            Some((9_999_999_999_999_999_999, 19))
        );
        for refused in [
            "01,",
            "1.5,",
            "1e2,",
            "12",
            "-1,",
            "null,",
            "\"\",",
            "\"1.0\",",
            "\" 1\",",
            "\"12",
            "99999999999999999999,",
            "\"99999999999999999999\",",
        ] {
            assert_eq!(read(refused), None, "{refused}");
        }
    }

    /// A wrapper as the API lays them out (the simulator's): a time, the row, two UUIDs, the
    /// job's number, a time; `id` names its UUIDs, `second` its times.
    fn api_wrapper(id: u64, second: u64, job: u64, row: &str) -> String {
        let uuid = |n: u64| {
            let hex = format!("{:032x}", u128::from(n) * 0x9e37_79b9_7f4a_7c15);
            format!(
                "{}-{}-{}-{}-{}",
                &hex[..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..]
            )
        };
        let at = format!(
            "2026-11-30T15:{:02}:{:02}.{:03}+03:00",
            second / 60 % 60,
            second % 60,
            id % 1000
        );
        format!(
            r#"{{"createdAt":"{at}","data":{row},"dataId":"{}","id":"{}","jobId":{job},"updatedAt":"{at}"}}"#,
            uuid(2 * id),
            uuid(2 * id + 1)
        )
    }

    #[test]
    fn wrappers_of_the_apis_layout_are_read_through_the_template() {
        let page = |first: u64, job: &dyn Fn(u64) -> u64| {
            let wrappers: Vec<String> = (first..first + 100)
                .map(|i| {
                    let row = format!(r#"{{"depth":{},"url":"https://example.com/{i}"}}"#, i % 3);
                    api_wrapper(i, i, job(i), &row)
                })
                .collect();
            format!(
                r#"{{"meta":{{"lastPage":9,"total":900}},"data":[{}]}}"#,
                wrappers.join(",")
            )
        };
        // The job's number gets a digit more halfway: the skeleton reads that wrapper, and
        // the template is learned again from it.
        let text = page(0, &|i| if i < 50 { 99 } else { 100 });
        let (walked, _) = both_readings(&text);
        let (_, _, templates) = readings(&text);
        assert!(walked.is_some());
        assert_eq!(
            templates.map(|(_, taken)| taken),
            Some(Taken {
                skeleton: 1,
                template: 98
            })
        );
        // A thread's next page: its first wrapper is held to the last page's template.
        let mut kept = Workspace::default();
        let first = Bytes::from(text);
        let second = Bytes::from(page(100, &|_| 100));
        RawPage::read_fast(&first, Reading::Templates, &mut kept).expect("read");
        let (page, taken) =
            RawPage::read_fast(&second, Reading::Templates, &mut kept).expect("read");
        assert_eq!(
            taken,
            Taken {
                skeleton: 0,
                template: 100
            }
        );
        assert_eq!(
            seen(&page),
            seen(&RawPage::parse_with_serde(&second).expect("reads"))
        );
    }

    #[test]
    fn each_change_in_a_hole_is_read_as_the_full_walk_reads_it() {
        let row = r#"{"depth":1,"text":"t"}"#;
        let usual = |i: u64| api_wrapper(i, i, 12, row);
        let id = |text: &str| {
            let wrapper = usual(2);
            let at = wrapper.find(r#""id":""#).expect("an id") + 6;
            format!("{}{text}{}", &wrapper[..at], &wrapper[at + 1..])
        };
        let time = |text: &str| usual(2).replacen("2026", text, 1);
        let job = |text: &str| usual(2).replace(r#""jobId":12"#, &format!(r#""jobId":{text}"#));
        let cases = [
            // (the third wrapper, whether the page is read fast, whether the template takes
            // it: the same lengths, and bytes the full walk reads the same way)
            (usual(2), true, true),
            (job("19"), true, true),
            (job("99"), true, true),
            (job("02"), false, false),
            (job("0"), true, false),
            (job("1"), true, false),
            (job("120"), true, false),
            (job("-1"), true, false),
            (job("1e"), false, false),
            (job("1e1"), true, false),
            (job("1."), false, false),
            (job("1 "), true, false),
            (job("\"12\""), true, false),
            (job("ab"), false, false),
            (job("1:"), false, false),
            (job("1/"), false, false),
            (job(":1"), false, false),
            // The first byte of the id's UUID replaced.
            (id("f"), true, true),
            (id("\u{7f}"), true, true),
            (id(" "), true, true),
            (id("\""), false, false),
            (id("\\"), false, false),
            (id("\\n"), true, false),
            (id("\u{1}"), false, false),
            (id("\u{1f}"), false, false),
            (id("\u{e9}"), true, false),
            (id("\u{e9}\u{e9}"), true, false),
            (id(""), true, false),
            (time("\u{e9}\u{e9}"), true, true),
            (time("20\u{1}6"), false, false),
            (time("20\\u0032"), true, false),
            (time("20\"6"), false, false),
            (time("20\\\"6"), true, false),
        ];
        for (odd, fast, templated) in cases {
            let text = format!(
                r#"{{"meta":{{"lastPage":1}},"data":[{},{},{odd},{},{}]}}"#,
                usual(0),
                usual(1),
                usual(3),
                usual(4)
            );
            let (walked, _) = both_readings(&text);
            let (_, _, templates) = readings(&text);
            assert_eq!(walked.is_some(), fast, "{text}");
            let serde = RawPage::parse_with_serde(&Bytes::from(text.clone()));
            if let (Some(walked), Some((_, taken))) = (walked, templates) {
                assert_eq!(walked, seen(&serde.expect("serde_json reads it")), "{text}");
                // After the first, the usual ones are held to the template; the odd one
                // (when it differs) is read by the skeleton, and the template learned from
                // it holds the one after it only when its values have the usual lengths.
                assert_eq!(taken.template == 4, templated, "{taken:?} {text}");
            }
        }
    }

    /// A page of [`api_wrapper`]s, one of them changed at one byte (`at`, from the wrapper's
    /// start): replaced by or with `byte` inserted, a byte that ends, escapes or lengthens a
    /// value or breaks the page.
    fn any_api_page_text() -> impl Strategy<Value = String> {
        let byte = prop::sample::select(
            [
                "\"", "\\", "\u{1}", "\u{1f}", " ", "0", "1", "9", "a", ".", "e", "E", "-", ",",
                "}", "{", ":", "\u{e9}", "\u{7f}", "\\n", "\\u0041",
            ]
            .to_vec(),
        );
        (
            2..8u64,
            any::<u64>(),
            prop_oneof![Just(7u64), Just(1234u64), 1..2000u64],
            prop::option::of((
                any::<prop::sample::Index>(),
                any::<prop::sample::Index>(),
                any::<bool>(),
                byte,
                any::<bool>(),
            )),
        )
            .prop_map(|(count, first, job, change)| {
                let first = first % 1_000_000;
                let mut wrappers: Vec<String> = (first..first + count)
                    .map(|i| {
                        let row = format!(r#"{{"depth":{},"text":"t{i}"}}"#, i % 3);
                        api_wrapper(i, i * 7, job, &row)
                    })
                    .collect();
                if let Some((which, at, near_an_edge, byte, insert)) = change {
                    let wrapper = &mut wrappers[which.index(count as usize)];
                    // Mostly at a value's first or last byte, or just outside it, where a
                    // hole's check is most likely to be wrong.
                    let edges: Vec<usize> = wrapper
                        .bytes()
                        .enumerate()
                        .filter(|(_, byte)| matches!(byte, b':' | b',' | b'"' | b'}'))
                        .flat_map(|(at, _)| [at.saturating_sub(1), at, at + 1])
                        .collect();
                    let mut at = if near_an_edge {
                        edges[at.index(edges.len())]
                    } else {
                        at.index(wrapper.len())
                    }
                    .min(wrapper.len() - 1);
                    while !wrapper.is_char_boundary(at) {
                        at -= 1;
                    }
                    if !insert {
                        wrapper.remove(at);
                    }
                    wrapper.insert_str(at, byte);
                }
                format!(
                    r#"{{"meta":{{"lastPage":9,"total":900}},"data":[{}]}}"#,
                    wrappers.join(",")
                )
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]
        #[test]
        fn a_wrapper_held_to_the_template_is_read_as_the_full_walk_and_serde_json_read_it(
            text in any_api_page_text(),
        ) {
            // `both_readings` holds the three readings to one result.
            let (walked, _) = both_readings(&text);
            let serde = RawPage::parse_with_serde(&Bytes::from(text.clone()));
            match walked {
                Some(walked) => prop_assert_eq!(walked, seen(&serde.expect("serde_json reads what the fast reading took")), "{}", text),
                // Only a page that is not plain is left to serde_json.
                None => prop_assert!(serde.is_err() || text.contains('\\'), "{}", text),
            }
        }
    }

    #[test]
    fn each_difference_from_the_last_wrapper_is_read_by_the_full_walk() {
        let wrapper = |id: &str, key: &str, data: &str, space: &str| {
            format!(
                r#"{{"createdAt":"2026-11-30T15:28:41+03:00",{key}:{space}{data},"id":{id},"jobId":7}}"#
            )
        };
        let usual = || wrapper(r#""a1""#, r#""data""#, r#"{"n":1}"#, "");
        let cases = [
            // (the wrapper between usual ones, whether the page is read fast, whether it is
            // laid out as they are: only its values differ)
            (usual(), true, true),
            (
                wrapper(r#""a2""#, r#""data""#, r#"{"n":[1,2]}"#, ""),
                true,
                true,
            ),
            (
                wrapper(r#""a123456""#, r#""data""#, r#"{"n":1}"#, ""),
                true,
                true,
            ),
            (wrapper("12", r#""data""#, r#"{"n":1}"#, ""), true, true),
            (wrapper("null", r#""data""#, r#"{"n":1}"#, ""), true, true),
            (
                wrapper(r#""a\"1""#, r#""data""#, r#"{"n":1}"#, ""),
                true,
                true,
            ),
            (
                wrapper(r#""a1""#, r#""datb""#, r#"{"n":1}"#, ""),
                false,
                false,
            ),
            (
                wrapper(r#""a1""#, r#""d\u0061ta""#, r#"{"n":1}"#, ""),
                false,
                false,
            ),
            (
                wrapper(r#""a1""#, r#""data""#, r#"{"n":1}"#, " "),
                true,
                false,
            ),
            (wrapper(r#""a1""#, r#""data""#, "[true]", ""), true, true),
            (
                wrapper(r#""a1""#, r#""data""#, r#""text""#, "\n"),
                true,
                false,
            ),
            (
                wrapper(r#"{"x":1}"#, r#""data""#, r#"{"n":1}"#, ""),
                true,
                true,
            ),
            (
                wrapper(r#""a1""#, r#""data""#, r#"{"n":tru}"#, ""),
                false,
                false,
            ),
            (usual().replace("jobId", "jobID"), true, false),
            (
                usual().replace(r#""jobId":7"#, r#""jobId":7.5"#),
                true,
                true,
            ),
            (usual().replace(r#""jobId":7"#, r#""jobId":-7"#), true, true),
            (
                usual().replace(r#""jobId":7"#, r#""jobId":07"#),
                false,
                false,
            ),
            (
                usual().replace(r#""jobId":7"#, r#""jobId":"7""#),
                true,
                true,
            ),
            (
                usual().replace(r#""jobId":7"#, r#""jobId" :7"#),
                true,
                false,
            ),
            (usual().replace(r#""jobId":7"#, r#""data":7"#), false, false),
            (usual().replace(r#""id":"a1""#, r#""ID":"a1""#), true, false),
            (usual().replace("}", " }"), true, false),
            (usual().replace("2026", "20\u{1}6"), false, false),
            (usual().replace("2026", "20\\u0032"), true, true),
        ];
        for (odd, fast, same_layout) in cases {
            let text = format!(
                r#"{{"meta":{{"lastPage":1}},"data":[{},{},{odd},{},{}]}}"#,
                usual(),
                usual(),
                usual(),
                usual()
            );
            let (walked, read) = both_readings(&text);
            assert_eq!(walked, read.clone().map(|(seen, _)| seen), "{text}");
            assert_eq!(walked.is_some(), fast, "{text}");
            let serde = RawPage::parse_with_serde(&Bytes::from(text.clone()));
            if let (Some(walked), Some((_, taken))) = (walked, read) {
                assert_eq!(walked, seen(&serde.expect("serde_json reads it")), "{text}");
                // The usual ones after the first read through a skeleton; the odd one (when
                // laid out otherwise) and the one after it by the full walk.
                assert_eq!(taken, if same_layout { 4 } else { 2 }, "{text}");
            }
        }
    }
}
