//! Splits a JSON array arriving in chunks into its elements, holding only the element being
//! read. This is what lets a `data.json` of any size stream in constant memory: each element
//! is yielded as soon as its last byte arrives.
//!
//! Each element is scanned once ([`crate::json_scan`]): the scan finds its end, checks that
//! it is well-formed JSON in UTF-8 (exactly what serde_json accepts as a `RawValue`), and
//! notes its inner whitespace, so it comes out compacted with every other byte as sent (key
//! order, number text, escapes): a row read from `data.json` has the same bytes as the same
//! row read from a results page. A document that is not one array of such values is refused;
//! no broken element is ever yielded.
//!
//! An element a chunk ends inside of is carried over and scanned again, from its start, when
//! more bytes come; a large one only once it has doubled, so an element of any size costs
//! linear time.

use memchr::memchr2;

use crate::json_scan::{Scanner, Stop, check_utf8, is_space, skip_space};

/// A document that is not one JSON array.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("data.json is not a JSON array: {0}")]
pub struct SplitError(String);

/// Elements split from one or more chunks: their compacted bytes back to back in one buffer,
/// so a chunk of a thousand rows costs one allocation, not a thousand.
///
/// ```
/// use hasdata_jobs::{ArraySplitter, Elements};
///
/// let mut elements = Elements::default();
/// let mut splitter = ArraySplitter::new(1024);
/// splitter.push(b"[1, {\"a\": 2}, \"three\"]", &mut elements)?;
/// splitter.finish(&mut elements)?;
/// assert_eq!(elements.len(), 3);
/// assert_eq!(elements.get(1), Some(&b"{\"a\":2}"[..]));
/// elements.clear(); // reuse the buffers for the next chunk
/// assert!(elements.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Elements {
    /// Every element's bytes, back to back.
    pub bytes: Vec<u8>,
    /// Where each element ends in `bytes` (the next starts there).
    pub ends: Vec<usize>,
}

impl Elements {
    /// How many elements there are.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Element `i`'s bytes.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.bytes[start..end])
    }

    /// Every element's bytes, in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// Empties it, keeping the allocations.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }
}

/// Where the splitter puts each element it finds: compacted, with whatever the output needs
/// around it.
pub(crate) trait ElementSink {
    /// Takes the element `input[start..end]`, just scanned by `scanner` (which noted its
    /// inner whitespace).
    fn element(&mut self, scanner: &Scanner, input: &[u8], start: usize, end: usize);
}

impl ElementSink for Elements {
    fn element(&mut self, scanner: &Scanner, input: &[u8], start: usize, end: usize) {
        scanner.copy_compact(input, start, end, &mut self.bytes);
        self.ends.push(self.bytes.len());
    }
}

/// Elements as JSON lines: each compacted element followed by `\n`, so a chunk's elements are
/// one buffer ready to write; `ends` are where each line ends (just after its `\n`).
#[derive(Debug, Default)]
pub(crate) struct Lines {
    pub(crate) bytes: Vec<u8>,
    pub(crate) ends: Vec<usize>,
}

impl Lines {
    /// Empties them, keeping the allocations.
    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }
}

impl ElementSink for Lines {
    #[inline]
    fn element(&mut self, scanner: &Scanner, input: &[u8], start: usize, end: usize) {
        scanner.copy_compact(input, start, end, &mut self.bytes);
        self.bytes.push(b'\n');
        self.ends.push(self.bytes.len());
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before `[`.
    Start,
    /// After `[` (`first`) or an element's `,`: an element (or, when first, `]`) comes next.
    BeforeElement { first: bool },
    /// After an element: `,` or `]` comes next.
    AfterElement,
    /// After the closing `]`.
    End,
}

/// Carried elements shorter than this take only as much of the next chunk as they may need
/// (first this much, then twice what is carried, and so on) and are scanned again each time
/// they have grown by half (not with every chunk: a server sending a byte a chunk would
/// otherwise have each element scanned once per byte, quadratic in its size); longer ones take whole chunks and are scanned again only once
/// they have doubled.
const RESCAN_ALWAYS: usize = 64 * 1024;

/// The first helping of a chunk a carried element takes: most rows end within it.
const FIRST_TAKE: usize = 4 * 1024;

/// The splitter.
///
/// Each chunk is scanned where it lies: an element wholly inside it is scanned and copied
/// out (compacted) from the chunk itself. Only an element a chunk ends inside of is carried:
/// its start is kept, and it takes from the next chunk only as much as it needs to end.
///
/// ```
/// use hasdata_jobs::{ArraySplitter, Elements};
///
/// let mut splitter = ArraySplitter::new(1 << 20);
/// let mut rows = Elements::default();
/// // A JSON array in chunks that cut through its elements.
/// for chunk in [&b"[{\"a\": 1}, {\"b\""[..], &b": [2, 3]}]"[..]] {
///     splitter.push(chunk, &mut rows)?;
/// }
/// splitter.finish(&mut rows)?;
/// assert_eq!(rows.iter().collect::<Vec<_>>(), [&b"{\"a\":1}"[..], &b"{\"b\":[2,3]}"[..]]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ArraySplitter {
    state: State,
    /// Where in the chunk being pushed the last error was found (0 when it was found in
    /// what was carried): where a guess at an element boundary that failed is given up.
    failed_at: usize,
    /// The start of an element that the previous chunk ended inside of, as sent (it starts
    /// with the element's first byte).
    carry: Vec<u8>,
    /// The carried element is not scanned again until it is this long.
    rescan_at: usize,
    scanner: Scanner,
    max_element: usize,
    /// Bytes of carried elements scanned again, for the tests that hold it to linear work.
    #[cfg(test)]
    rescanned: usize,
}

/// How a split of one input ended.
enum Split {
    /// Everything up to this index was split; from there on is the start of an element the
    /// input ends inside of (or it is the input's length).
    Used(usize),
    /// An element boundary (an element other than the first starts here, with nothing
    /// carried) at or after the index asked for: the split stopped there.
    Boundary(usize),
}

/// How a carried element stands after taking some of a chunk.
enum Carried {
    /// It ends at this index of the chunk: go on from there in the chunk itself.
    EndsAt(usize),
    /// It still goes on: the whole chunk has been taken.
    Open,
    /// It ended in what was carried before this chunk (a large element scanned again only
    /// now), and the carry holds this whole chunk too: split the rest of the carry.
    InCarry(usize),
}

impl ArraySplitter {
    /// A splitter that refuses elements larger than `max_element` bytes (as sent).
    pub fn new(max_element: usize) -> Self {
        ArraySplitter {
            state: State::Start,
            failed_at: 0,
            carry: Vec::new(),
            rescan_at: 0,
            scanner: Scanner::default(),
            max_element,
            #[cfg(test)]
            rescanned: 0,
        }
    }

    /// A splitter as it stands just after an element's `,` (and any whitespace): where
    /// a guess at an element boundary in the middle of the document starts.
    pub(crate) fn after_comma(max_element: usize) -> Self {
        ArraySplitter {
            state: State::BeforeElement { first: false },
            ..ArraySplitter::new(max_element)
        }
    }

    /// Where in the last chunk pushed the error was found (0 when it was found in what had
    /// been carried).
    pub(crate) fn failed_at(&self) -> usize {
        self.failed_at
    }

    fn fail<T>(what: String) -> Result<T, SplitError> {
        Err(SplitError(what))
    }

    fn too_large<T>(&self) -> Result<T, SplitError> {
        Self::fail(format!(
            "an element is larger than {} bytes",
            self.max_element
        ))
    }

    /// Feeds a chunk; complete elements are appended to `out`. An element the chunk ends
    /// inside of is kept until the chunk that completes it.
    pub fn push(&mut self, chunk: &[u8], out: &mut Elements) -> Result<(), SplitError> {
        self.push_to(chunk, out)
    }

    /// [`ArraySplitter::push`] into any sink.
    pub(crate) fn push_to(
        &mut self,
        chunk: &[u8],
        out: &mut impl ElementSink,
    ) -> Result<(), SplitError> {
        self.push_until(chunk, usize::MAX, out).map(drop)
    }

    /// [`ArraySplitter::push_to`], except that it stops at the first element boundary it
    /// finds in `chunk` at or after index `stop_from`: an element other than the array's
    /// first starts there, and nothing is carried. It returns that index, and the chunk
    /// from there on is not taken: pushing `chunk[index..]` next goes on exactly as if it
    /// had not stopped. A boundary only found in what was carried (after a large element) is
    /// not looked for: `None`, and the whole chunk was taken.
    pub(crate) fn push_until(
        &mut self,
        chunk: &[u8],
        stop_from: usize,
        out: &mut impl ElementSink,
    ) -> Result<Option<usize>, SplitError> {
        self.failed_at = 0;
        let from = if self.carry.is_empty() {
            0
        } else {
            match self.complete_carried(chunk, out)? {
                Carried::EndsAt(at) => at,
                Carried::Open => return Ok(None),
                Carried::InCarry(at) => {
                    let carry = std::mem::take(&mut self.carry);
                    let split = self.split(&carry, at, usize::MAX, out);
                    self.failed_at = 0;
                    // No boundary is looked for here: either way, what is left starts at
                    // `used`.
                    let (Split::Used(used) | Split::Boundary(used)) = split?;
                    self.carry = carry;
                    self.carry.drain(..used);
                    self.note_carried();
                    return Ok(None);
                }
            }
        };
        match self.split(chunk, from, stop_from, out)? {
            Split::Used(used) => {
                self.carry.extend_from_slice(&chunk[used..]);
                self.note_carried();
                Ok(None)
            }
            Split::Boundary(at) => Ok(Some(at)),
        }
    }

    /// Sets when a carried element is next scanned: once it has grown by half while small,
    /// once it has doubled when large. Either way the rescans of one element add up to a few
    /// times its size (at most about three times while small), whatever the chunks.
    /// An element that ends in bytes held but not yet scanned comes out at the next scan, at
    /// [`ArraySplitter::settle_to`] (a body that breaks off) or at the end.
    fn note_carried(&mut self) {
        let carried = self.carry.len();
        self.rescan_at = if carried < RESCAN_ALWAYS {
            carried + (carried / 2).max(1)
        } else {
            carried * 2
        };
    }

    /// Gives the carried element as much of `chunk` as it needs to end, scanning it again
    /// with each helping; a large one takes the whole chunk and is scanned again only once
    /// it has doubled. The element, once it ends, goes to `out`.
    fn complete_carried(
        &mut self,
        chunk: &[u8],
        out: &mut impl ElementSink,
    ) -> Result<Carried, SplitError> {
        let before = self.carry.len();
        let mut taken = 0;
        loop {
            let large = self.carry.len() >= RESCAN_ALWAYS;
            let want = if large {
                chunk.len() - taken
            } else {
                self.carry.len().max(FIRST_TAKE)
            };
            let take = want.min(chunk.len() - taken);
            self.carry.extend_from_slice(&chunk[taken..taken + take]);
            taken += take;
            let all = taken == chunk.len();
            // The chunk may hold the rest of the carried element and more elements after it,
            // so its length says nothing about one element's: the scan checks the element.
            // Past the limit it is scanned at once, so what is held stays within the limit
            // plus one chunk.
            if all && self.carry.len() < self.rescan_at && self.carry.len() <= self.max_element {
                return Ok(Carried::Open);
            }
            let first = self.carry[0];
            #[cfg(test)]
            {
                self.rescanned += self.carry.len();
            }
            let end = match self.scanner.value(&self.carry, 0) {
                // A number running to the end of what is held may go on in what is not.
                Ok(end) if end == self.carry.len() && (first == b'-' || first.is_ascii_digit()) => {
                    None
                }
                Ok(end) => Some(end),
                Err(Stop::Short) => None,
                Err(Stop::Bad { at, what }) => {
                    return Self::fail(format!("expected {what} at byte {at} of an element"));
                }
            };
            match end {
                None if all => {
                    if self.carry.len() > self.max_element {
                        return self.too_large();
                    }
                    self.note_carried();
                    return Ok(Carried::Open);
                }
                None => {
                    if self.carry.len() > self.max_element {
                        return self.too_large();
                    }
                }
                Some(end) => {
                    let mut checked = None;
                    Self::emit(
                        &self.scanner,
                        self.max_element,
                        &self.carry,
                        (0, end),
                        &mut checked,
                        out,
                    )?;
                    self.state = State::AfterElement;
                    if end < before {
                        // It ended in bytes held but not scanned until now; the rest of the
                        // carry is split next, and it must hold the whole chunk (a small
                        // element took only a helping of it).
                        self.carry.extend_from_slice(&chunk[taken..]);
                        return Ok(Carried::InCarry(end));
                    }
                    self.carry.clear();
                    return Ok(Carried::EndsAt(end - before));
                }
            }
        }
    }

    /// Checks a scanned element's size and UTF-8, and hands it to `out`.
    ///
    /// The UTF-8 is checked once for the whole rest of the input, from the first element
    /// not known to be ASCII on (`valid_to`: `None` until then, then where its valid prefix ends),
    /// not element by element: an element inside that prefix is UTF-8, since it starts and
    /// ends with ASCII bytes (a value's first and last bytes always are), which are character
    /// boundaries. Only an element reaching past the prefix is checked on its own, which
    /// places the error in it exactly as checking each element would.
    #[inline(always)]
    fn emit(
        scanner: &Scanner,
        max_element: usize,
        input: &[u8],
        (start, end): (usize, usize),
        valid_to: &mut Option<usize>,
        out: &mut impl ElementSink,
    ) -> Result<(), SplitError> {
        if end - start > max_element {
            return Self::fail(format!("an element is larger than {max_element} bytes"));
        }
        // An element the scanner saw to be ASCII needs no check (most rows): the input is
        // then only checked from the first element that is not, if any.
        if scanner.ascii() {
            out.element(scanner, input, start, end);
            return Ok(());
        }
        let to = *valid_to.get_or_insert_with(|| match check_utf8(&input[start..]) {
            Ok(()) => input.len(),
            Err(bad) => start + bad,
        });
        if end > to
            && let Err(bad) = check_utf8(&input[start..end])
        {
            return Self::fail(format!("an element is not UTF-8 at its byte {bad}"));
        }
        out.element(scanner, input, start, end);
        Ok(())
    }

    /// Splits what it can of `input` from `at`, stopping at the first element boundary at
    /// or after `stop_from` (see [`Split`]). An error notes where it was found
    /// ([`ArraySplitter::failed_at`]).
    fn split(
        &mut self,
        input: &[u8],
        mut at: usize,
        stop_from: usize,
        out: &mut impl ElementSink,
    ) -> Result<Split, SplitError> {
        // Where the input's valid UTF-8 ends, once an element has been taken (see `emit`).
        let mut valid_to = None;
        let error = 'failed: loop {
            at = skip_space(input, at);
            let Some(&byte) = input.get(at) else {
                return Ok(Split::Used(input.len()));
            };
            if at >= stop_from && self.state == (State::BeforeElement { first: false }) {
                return Ok(Split::Boundary(at));
            }
            match (self.state, byte) {
                (State::Start, b'[') => {
                    self.state = State::BeforeElement { first: true };
                    at += 1;
                }
                (State::Start, _) => {
                    break SplitError(format!("expected '[', found {:?}", byte as char));
                }
                (State::BeforeElement { first: true }, b']') => {
                    self.state = State::End;
                    at += 1;
                }
                (State::BeforeElement { .. }, _) => {
                    // The easy elements in a row go straight to `out`; the first that is not
                    // comes back scanned, to be dealt with here.
                    let values = self
                        .scanner
                        .values(input, at, stop_from, self.max_element, out);
                    if values.taken > 0 {
                        self.state = State::BeforeElement { first: false };
                    }
                    at = values.at;
                    let Some(scanned) = values.scanned else {
                        continue;
                    };
                    let byte = input[at];
                    let end = match scanned {
                        // A number running to the chunk's end may go on in the next.
                        Ok(end)
                            if end == input.len() && (byte == b'-' || byte.is_ascii_digit()) =>
                        {
                            return self.short(input, at);
                        }
                        Ok(end) => end,
                        Err(Stop::Short) => return self.short(input, at),
                        Err(Stop::Bad { at: bad, what }) => {
                            break SplitError(format!(
                                "expected {what} at byte {} of an element",
                                bad - at
                            ));
                        }
                    };
                    let emitted = Self::emit(
                        &self.scanner,
                        self.max_element,
                        input,
                        (at, end),
                        &mut valid_to,
                        out,
                    );
                    if let Err(error) = emitted {
                        break 'failed error;
                    }
                    self.state = State::AfterElement;
                    at = end;
                }
                (State::AfterElement, b',') => {
                    self.state = State::BeforeElement { first: false };
                    at += 1;
                }
                (State::AfterElement, b']') => {
                    self.state = State::End;
                    at += 1;
                }
                (State::AfterElement, _) => {
                    break SplitError(format!("expected ',' or ']', found {:?}", byte as char));
                }
                (State::End, _) => {
                    break SplitError(format!(
                        "unexpected {:?} after the closing ']'",
                        byte as char
                    ));
                }
            }
        };
        self.failed_at = at;
        Err(error)
    }

    /// An element starting at `at` that `input` ends inside of: kept for the next chunk.
    fn short(&mut self, input: &[u8], at: usize) -> Result<Split, SplitError> {
        if input.len() - at > self.max_element {
            self.failed_at = at;
            return self.too_large();
        }
        Ok(Split::Used(at))
    }

    /// Splits every element held whole in what is carried (a large carried element is only
    /// scanned again once it has doubled, so the elements received after it may still be
    /// held unread), keeping the rest: what a reading that breaks off hands on before it
    /// stops, the rows that arrived whole. An error is the document's own (a carried element
    /// is only ever an element's start), and the elements before it went to `out`.
    pub(crate) fn settle_to(&mut self, out: &mut impl ElementSink) -> Result<(), SplitError> {
        if self.carry.is_empty() {
            return Ok(());
        }
        let carry = std::mem::take(&mut self.carry);
        let (Split::Used(used) | Split::Boundary(used)) = self.split(&carry, 0, usize::MAX, out)?;
        self.carry = carry;
        self.carry.drain(..used);
        self.note_carried();
        Ok(())
    }

    /// Splits what is still held (an element only scanned again once it had doubled) into
    /// `out`, and checks that the array was closed.
    pub fn finish(&mut self, out: &mut Elements) -> Result<(), SplitError> {
        self.finish_to(out)
    }

    /// [`ArraySplitter::finish`] into any sink.
    pub(crate) fn finish_to(&mut self, out: &mut impl ElementSink) -> Result<(), SplitError> {
        if !self.carry.is_empty() {
            let carry = std::mem::take(&mut self.carry);
            let (Split::Used(used) | Split::Boundary(used)) =
                self.split(&carry, 0, usize::MAX, out)?;
            if used < carry.len() {
                return Self::fail("the document ended inside an element".into());
            }
        }
        match self.state {
            State::End => Ok(()),
            _ => Self::fail("the document ended before the closing ']'".into()),
        }
    }
}

/// Appends one complete JSON value's bytes to `out` without the whitespace between its
/// tokens: what [`ArraySplitter`] does to each element. It does not check the value (the
/// splitter and the page reader do, in the same pass): give it valid JSON.
///
/// ```
/// let mut out = Vec::new();
/// hasdata_jobs::compact_into(b"{ \"a\" : [1, 2],\n \"s\": \"x y\" }", &mut out);
/// assert_eq!(out, b"{\"a\":[1,2],\"s\":\"x y\"}");
/// ```
pub fn compact_into(value: &[u8], out: &mut Vec<u8>) {
    let mut run = 0;
    let mut i = 0;
    while i < value.len() {
        match value[i] {
            b'"' => {
                i += 1;
                loop {
                    match memchr2(b'"', b'\\', &value[i..]) {
                        None => {
                            i = value.len();
                            break;
                        }
                        Some(at) if value[i + at] == b'\\' => i += at + 2,
                        Some(at) => {
                            i += at + 1;
                            break;
                        }
                    }
                    if i >= value.len() {
                        break;
                    }
                }
            }
            b if is_space(b) => {
                out.extend_from_slice(&value[run..i]);
                i += 1;
                run = i;
            }
            _ => i += 1,
        }
    }
    out.extend_from_slice(&value[run..value.len().min(i)]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn split_raw(text: &[u8], sizes: &[usize], max: usize) -> Result<Vec<Vec<u8>>, SplitError> {
        let mut splitter = ArraySplitter::new(max);
        let mut out = Elements::default();
        let mut rest = text;
        let mut k = 0;
        while !rest.is_empty() {
            let n = sizes.get(k).copied().unwrap_or(7).clamp(1, rest.len());
            splitter.push(&rest[..n], &mut out)?;
            rest = &rest[n..];
            k += 1;
        }
        splitter.finish(&mut out)?;
        Ok(out.iter().map(<[u8]>::to_vec).collect())
    }

    fn split_in_chunks(text: &[u8], sizes: &[usize]) -> Result<Vec<Value>, SplitError> {
        Ok(split_raw(text, sizes, 1 << 20)?
            .iter()
            .map(|e| serde_json::from_slice(e).expect("an element is valid JSON"))
            .collect())
    }

    #[test]
    fn splits_objects_scalars_and_tricky_strings() {
        let doc =
            json!([{"a": "x,]}\"\\", "b": [1, {"c": null}]}, 1, -2.5e3, "s]", true, null, [], {}]);
        let text = serde_json::to_vec_pretty(&doc).expect("encodes");
        let elements = split_in_chunks(&text, &[1, 2, 3]).expect("splits");
        assert_eq!(Value::Array(elements), doc);
        assert_eq!(
            split_in_chunks(b"[]", &[]).expect("empty"),
            Vec::<Value>::new()
        );
        assert_eq!(
            split_in_chunks(b" [ 1 , 2 ] \n", &[]).expect("spaces"),
            vec![json!(1), json!(2)]
        );
    }

    #[test]
    fn keeps_the_bytes_as_sent_minus_whitespace() {
        let text = br#"[ {"z": 1.0, "a" : [ 12345678901234567890123 , 1e400 ], "s": "\u00e9 \" x"} ,"t" ]"#;
        let elements = split_raw(text, &[3, 1, 5], 1 << 20).expect("splits");
        assert_eq!(
            elements,
            vec![
                br#"{"z":1.0,"a":[12345678901234567890123,1e400],"s":"\u00e9 \" x"}"#.to_vec(),
                br#""t""#.to_vec(),
            ]
        );
        let mut compacted = Vec::new();
        compact_into(&text[1..text.len() - 6], &mut compacted);
        assert_eq!(compacted, elements[0]);
    }

    #[test]
    fn a_large_element_in_small_chunks_is_scanned_in_linear_time() {
        // 4 MiB in 1 KiB chunks: scanned again with every chunk, this would be 2 TiB of work.
        let text = format!("[\"{}\", 1]", "x".repeat(4 << 20));
        let elements = split_raw(text.as_bytes(), &[1024; 8192], 8 << 20).expect("splits");
        assert_eq!(elements.len(), 2);
        assert_eq!(elements[0].len(), (4 << 20) + 2);
    }

    #[test]
    fn a_medium_element_a_byte_a_chunk_is_scanned_a_few_times_over_not_once_a_byte() {
        // Three 60 KB rows (under RESCAN_ALWAYS) a byte a chunk: scanned again with every
        // chunk, this was 60,000 scans of up to 60 KB each (found by attack4: a second of
        // CPU a row in release builds).
        let row = format!("\"{}\"", "x".repeat(60_000));
        let text = format!("[{row},{row},{row}]");
        let mut splitter = ArraySplitter::new(1 << 20);
        let mut out = Elements::default();
        for byte in text.as_bytes().chunks(1) {
            splitter.push(byte, &mut out).expect("splits");
        }
        splitter.finish(&mut out).expect("closes");
        assert_eq!(out.len(), 3);
        assert!(out.iter().all(|element| element == row.as_bytes()));
        assert!(
            splitter.rescanned < 4 * text.len(),
            "{} bytes scanned again for {} sent",
            splitter.rescanned,
            text.len()
        );
    }

    #[test]
    fn a_row_ending_in_bytes_held_unscanned_loses_nothing_of_the_large_chunk_after() {
        // Row 0 is cut, then comes a byte a chunk until what is held runs past its end (not
        // scanned again yet), then one chunk larger than a helping: the row ends in what was
        // held, and all of that chunk must still be split (it lost the chunk's rest once).
        let rows: Vec<String> = (0..400)
            .map(|i| format!("{{\"id\":{i},\"c\":\"x,{{}}[]:y\"}}"))
            .collect();
        let text = format!("[{}]", rows.join(","));
        let first_row_end = 1 + rows[0].len();
        for cut in 2..first_row_end {
            for past in 1..8 {
                let mut sizes = vec![cut];
                sizes.extend(std::iter::repeat_n(1, first_row_end - cut + past));
                sizes.push(FIRST_TAKE + 1000);
                let elements = split_raw(text.as_bytes(), &sizes, 1 << 20).expect("splits");
                let expected: Vec<Vec<u8>> = rows.iter().map(|r| r.clone().into_bytes()).collect();
                assert_eq!(
                    elements, expected,
                    "cut at {cut}, {past} past the row's end"
                );
            }
        }
    }

    #[test]
    fn elements_after_a_large_carried_one_come_out_whatever_the_chunks() {
        // A large element is scanned again only once it has doubled, so it may end well
        // before the scan: the elements after it, already held, come out of what is held.
        let big = format!("\"{}\"", "x".repeat(100_000));
        // Enough after it that the scan comes while more chunks are still to come.
        let tail = "1,".repeat(60_000);
        let text = format!("[{big},1,{{\"a\": [2]}},-3,\"y\" ,{tail}7]");
        for size in [1000, 4096, 65_537, 150_000] {
            let elements = split_raw(text.as_bytes(), &[size; 1000], 1 << 20).expect("splits");
            assert_eq!(elements.len(), 5 + 60_001, "chunks of {size}");
            assert_eq!(
                elements[..6],
                [
                    big.as_bytes().to_vec(),
                    b"1".to_vec(),
                    b"{\"a\":[2]}".to_vec(),
                    b"-3".to_vec(),
                    b"\"y\"".to_vec(),
                    b"1".to_vec(),
                ],
                "chunks of {size}"
            );
            assert_eq!(elements.last().map(Vec::as_slice), Some(&b"7"[..]));
        }
    }

    /// Splits into JSON lines (the sink the download uses).
    fn split_lines(text: &[u8], sizes: &[usize]) -> Result<Vec<u8>, SplitError> {
        let mut splitter = ArraySplitter::new(1 << 20);
        let mut out = Lines::default();
        let mut rest = text;
        let mut k = 0;
        while !rest.is_empty() {
            let n = sizes.get(k).copied().unwrap_or(7).clamp(1, rest.len());
            splitter.push_to(&rest[..n], &mut out)?;
            rest = &rest[n..];
            k += 1;
        }
        splitter.finish_to(&mut out)?;
        assert_eq!(out.ends.last().copied().unwrap_or(0), out.bytes.len());
        Ok(out.bytes)
    }

    #[test]
    fn refuses_what_is_not_one_array() {
        for bad in [
            &b"{}"[..],
            b"[1,,2]",
            b"[1 2]",
            b"[1,]",
            b"[1] 2",
            b"[{\"a\": 1}",
            b"[1}",
            b"[\"open",
            b"",
        ] {
            assert!(
                split_in_chunks(bad, &[]).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        // Every element is checked: no broken row comes out of a well-bracketed array.
        for bad in [
            &b"[tru]"[..],
            b"[1.]",
            b"[01]",
            b"[\"a\x01\"]",
            b"[\"\\x\"]",
            b"[{\"a\" 1}]",
            b"[{\"a\":1,}]",
            b"[\"\xc3\"]",
        ] {
            assert!(
                split_in_chunks(bad, &[]).is_err() && split_in_chunks(bad, &[1]).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let long = b"[\"a long string element\"]";
        assert!(split_raw(long, &[100], 8).is_err());
        assert!(
            split_raw(long, &[1], 8).is_err(),
            "the limit holds across chunks"
        );
    }

    /// Rows of one shape are compared with the last row's, and one seen to be ASCII is not
    /// checked for UTF-8 again: a row of that shape with a byte that is not UTF-8 is still
    /// refused, wherever it is among them and wherever the chunks cut, and one with other
    /// characters comes out as sent.
    #[test]
    fn rows_of_one_shape_are_each_checked_for_utf8() {
        let row = |text: &[u8]| [&b"{\"a\":1,\"s\":\""[..], text, b"\"}"].concat();
        for odd_at in 0..6 {
            for (odd, valid) in [
                (&b"x\xffy"[..], false),
                (b"x\xc3y", false),
                (b"x\xc3\xa9y", true),
            ] {
                let mut doc = b"[".to_vec();
                let mut rows = Vec::new();
                for i in 0..6 {
                    rows.push(row(if i == odd_at { odd } else { b"plain" }));
                }
                doc.extend(rows.join(&b','));
                doc.push(b']');
                for sizes in [&[1 << 20][..], &[], &[30, 1 << 20]] {
                    let split = split_raw(&doc, sizes, 1 << 20);
                    if valid {
                        assert_eq!(split.expect("UTF-8"), rows);
                    } else {
                        let error = split.expect_err("not UTF-8").to_string();
                        assert!(error.contains("UTF-8"), "{error}");
                    }
                }
            }
        }
    }

    /// A backslash-escaped quote flips the in-string bits the fast reading takes from the
    /// quotes alone, so a row's tokens can seem to be the last row's and end early: the
    /// compare then gives up (the backslash), and the row is read byte by byte to its real
    /// end. What the compare saw before its seeming end says nothing of the bytes after it:
    /// a byte that is not UTF-8 there is still refused (found by attack5).
    #[test]
    fn a_row_that_seems_to_end_early_at_an_escaped_quote_is_still_checked_for_utf8() {
        for (shape, odd) in [
            (
                &br#"{"s":"x"}"#[..],
                &b"{\"s\":\"a\\\"}\",\"t\":\"\xff\"}"[..],
            ),
            (br#"[1,"x"]"#, b"[1,\"\\\"]\",\"\xc3\"]"),
        ] {
            for before in 1..4 {
                let mut rows = vec![shape.to_vec(); before];
                rows.push(odd.to_vec());
                rows.push(shape.to_vec());
                let doc = [&b"["[..], &rows.join(&b','), b"]"].concat();
                for sizes in [&[1 << 20][..], &[]] {
                    let error = split_raw(&doc, sizes, 1 << 20)
                        .expect_err("a row that is not UTF-8")
                        .to_string();
                    assert!(error.contains("UTF-8"), "{error}");
                }
            }
        }
    }

    #[test]
    fn the_element_limit_is_per_element_wherever_the_chunks_cut() {
        // Two elements of exactly the limit, cut at every point: both come out; one byte
        // more in the second is refused wherever the cut falls.
        let element = format!("\"{}\"", "x".repeat(30));
        let max = element.len();
        let fits = format!("[{element},{element},1]");
        let over = format!("[{element},\"{}\",1]", "x".repeat(31));
        for cut in 1..fits.len() {
            let elements = split_raw(fits.as_bytes(), &[cut, 1 << 20], max)
                .unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
            assert_eq!(elements.len(), 3, "cut at {cut}");
            assert!(
                split_raw(over.as_bytes(), &[cut, 1 << 20], max).is_err(),
                "cut at {cut}"
            );
        }
        // A chunk much longer than the limit, full of small elements, is fine.
        let many = format!("[{}1]", "1,".repeat(1000));
        assert_eq!(
            split_raw(many.as_bytes(), &[3, 1 << 20], 4)
                .expect("splits")
                .len(),
            1001
        );
    }

    /// Any JSON value (serde_json's own model), nested a few levels.
    fn any_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::from),
            "[\"\\\\,\\]\\[{}: \\n\\t\u{e9}\u{1F600}]{0,8}".prop_map(Value::from),
        ];
        crate::json_scan::nested(leaf, "[a-z\"\\\\,\\]\\[{}: ]{0,5}")
    }

    /// A value the fast reading takes whole (ASCII, no escapes: the rows whose shape it
    /// keeps), nested a few levels, its strings full of punctuation and some long enough
    /// to span blocks.
    fn plain_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (0u32..100).prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "[a-z0-9 ,:{}\\[\\]]{0,12}".prop_map(Value::from),
            "[a-z]{50,130}".prop_map(Value::from),
        ];
        crate::json_scan::nested(leaf, "[a-z,:{}\\[\\] ]{0,5}")
    }

    /// Splits `rows` as one array (pretty or compact) in chunks of `sizes`, and returns the
    /// elements beside what serde_json writes for each row, compactly.
    fn split_beside_serde(
        rows: &[Value],
        sizes: &[usize],
        pretty: bool,
    ) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
        let doc = Value::Array(rows.to_vec());
        let text = if pretty {
            serde_json::to_vec_pretty(&doc)
        } else {
            serde_json::to_vec(&doc)
        }
        .expect("encodes");
        let elements = split_raw(&text, sizes, 1 << 20).expect("splits");
        let expected = rows
            .iter()
            .map(|r| serde_json::to_vec(r).expect("encodes"))
            .collect();
        (elements, expected)
    }

    proptest! {
        #[test]
        fn any_array_split_at_any_boundaries_gives_serde_jsons_elements(
            rows in prop::collection::vec(any_value(), 0..12),
            sizes in prop::collection::vec(1usize..40, 0..80),
            pretty in any::<bool>(),
        ) {
            // Byte for byte what serde_json writes for each element, compactly.
            let (elements, expected) = split_beside_serde(&rows, &sizes, pretty);
            prop_assert_eq!(&elements, &expected);
            for (row, bytes) in rows.iter().zip(&expected) {
                let pretty_row = serde_json::to_vec_pretty(row).expect("encodes");
                let mut compacted = Vec::new();
                compact_into(&pretty_row, &mut compacted);
                prop_assert_eq!(&compacted, bytes);
            }
        }

        #[test]
        fn any_long_array_in_tiny_and_large_chunks_mixed_gives_serde_jsons_elements(
            rows in prop::collection::vec(any_value(), 0..120),
            sizes in prop::collection::vec(prop_oneof![20 => 1usize..4, 1 => 4_000usize..9_000], 0..400),
            pretty in any::<bool>(),
        ) {
            // Tiny chunks leave what is held unscanned for a while; a large one then takes
            // only a helping: every mix must give what one chunk gives.
            let (elements, expected) = split_beside_serde(&rows, &sizes, pretty);
            prop_assert_eq!(&elements, &expected);
        }

        #[test]
        fn any_corrupted_array_is_split_exactly_when_serde_json_reads_it(
            rows in prop::collection::vec(any_value(), 0..6),
            at in any::<prop::sample::Index>(),
            byte in prop_oneof![any::<u8>(), prop::sample::select(b"\"\\{}[],:0-.eE+tfnu \x01".to_vec())],
            insert in any::<bool>(),
            sizes in prop::collection::vec(1usize..40, 0..80),
        ) {
            let mut text = serde_json::to_vec_pretty(&Value::Array(rows)).expect("encodes");
            let at = at.index(text.len() + 1);
            if insert || at == text.len() {
                text.insert(at, byte);
            } else {
                text[at] = byte;
            }
            let serde: Option<Vec<Vec<u8>>> = serde_json::from_slice::<Vec<&serde_json::value::RawValue>>(&text)
                .ok()
                .map(|raws| raws.iter().map(|raw| {
                    let mut out = Vec::new();
                    compact_into(raw.get().as_bytes(), &mut out);
                    out
                }).collect());
            prop_assert_eq!(split_raw(&text, &sizes, 1 << 20).ok(), serde, "{}", String::from_utf8_lossy(&text));
        }

        #[test]
        fn json_lines_are_the_elements_each_with_a_newline(
            rows in prop::collection::vec(any_value(), 0..12),
            sizes in prop::collection::vec(1usize..300, 0..80),
        ) {
            let text = serde_json::to_vec_pretty(&Value::Array(rows.clone())).expect("encodes");
            let mut expected = Vec::new();
            for row in &rows {
                expected.extend(serde_json::to_vec(row).expect("encodes"));
                expected.push(b'\n');
            }
            prop_assert_eq!(split_lines(&text, &sizes).expect("splits"), expected);
        }

        /// Runs of rows of one shape (the fast reading compares each with the last row's
        /// tokens), then a row that looks like that shape up to where the compare looks:
        /// a `\"` or a run of backslashes before one of its strings' closing quote (so the
        /// quotes' in-string bits are wrong from there, and the last row's tokens may seem
        /// to go on and end early), or a byte that is not ASCII (valid or not) in a string,
        /// with the rest of the row, and after it a member holding any such byte. Whatever
        /// the chunks, the verdict and every element's bytes are serde_json's (found by
        /// attack5: a flag the compare set before it failed said the row was ASCII).
        #[test]
        fn a_row_that_looks_like_the_last_shape_up_to_an_escape_or_odd_byte_is_read_as_serde_json_reads_it(
            shape in plain_value().prop_filter("a container", |v| v.is_object() || v.is_array()),
            pads in prop::collection::vec(0usize..140, 1..4),
            tail in prop::collection::vec(prop_oneof![
                Just(json!([])), Just(json!({})), Just(json!([1, [2, {}]])), Just(Value::Null),
                any::<bool>().prop_map(Value::from), any::<i32>().prop_map(Value::from),
                any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            ], 0..4),
            before in 1usize..5,
            which in prop::option::weighted(0.3, any::<prop::sample::Index>()),
            cut in 0usize..4,
            odd in prop::sample::select(vec![
                &b"\\\""[..], b"\\", b"\\\\", b"\\\\\\", b"\\\\\\\\", b"\\\\\\\\\"", b"\\u0022",
                b"\xff", b"\xc3", b"\xc3\xa9", b"\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x01",
            ]),
            extra in prop::sample::select(vec![
                &b""[..], b"\xff", b"\xc3", b"\xc3\xa9", b"a", b"\\\"", b"\x80",
            ]),
            sizes in prop::collection::vec(prop_oneof![1usize..80, 60usize..70, 100usize..5_000], 0..40),
        ) {
            // The shape's rows, each with a long string in front so its tokens span blocks.
            let rows: Vec<Vec<u8>> = pads
                .iter()
                .map(|&pad| {
                    // Then a last string with no quote after it (see `which`).
                    let mut row = vec![Value::from("p".repeat(pad)), shape.clone(), Value::from("z")];
                    row.extend(tail.iter().cloned());
                    let row = Value::Array(row);
                    serde_json::to_vec(&row).expect("encodes")
                })
                .collect();
            let last = &rows[rows.len() - 1];
            // The closing quotes of its strings (a naive walk: the text is serde_json's).
            let mut closers = Vec::new();
            let mut stack = Vec::new();
            let (mut in_string, mut escaped) = (false, false);
            for (i, &b) in last.iter().enumerate() {
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                        closers.push((i, stack.last().copied().unwrap_or(b'[')));
                    }
                } else {
                    match b {
                        b'"' => in_string = true,
                        b'{' | b'[' => stack.push(b),
                        b'}' | b']' => drop(stack.pop()),
                        _ => {}
                    }
                }
            }
            // Mostly the last string's closing quote: no quote follows it, so with the
            // quote escaped the rest of the row is read as the string's body, and the
            // last row's tokens seem to go on to its end.
            let (q, inside) = closers[which.map_or(closers.len() - 1, |which| which.index(closers.len()))];
            let rest = &last[q + 1..];
            // `odd` before the closing quote; then, as if that quote had closed the
            // string, the rest of the row (inside the string now, when the quote was
            // escaped), a quote, a member holding `extra`, and the rest again.
            let member: &[u8] = if inside == b'{' { b",\"t\":\"" } else { b",\"" };
            let odd_row = [&last[..q], odd, b"\"", rest, b"\"", member, extra, b"\"", rest].concat();
            // Or only the odd byte in the string, the row's tokens unchanged.
            let plain_row = [&last[..q], odd, &last[q..]].concat();
            // Each odd row in its own document (one row serde_json refuses would hide
            // the other's verdict), among runs of the shape.
            for odd_row in [odd_row, plain_row] {
                let mut all = Vec::new();
                for i in 0..before {
                    all.extend(rows.iter().cloned());
                    if i == cut {
                        all.push(odd_row.clone());
                    }
                }
                all.push(odd_row);
                all.extend(rows.iter().cloned());
                let doc = [&b"["[..], &all.join(&b','), b"]"].concat();
                let serde: Option<Vec<Vec<u8>>> =
                    serde_json::from_slice::<Vec<&serde_json::value::RawValue>>(&doc)
                        .ok()
                        .map(|raws| raws.iter().map(|raw| raw.get().as_bytes().to_vec()).collect());
                let text = String::from_utf8_lossy(&doc).into_owned();
                prop_assert_eq!(split_raw(&doc, &sizes, 1 << 20).ok(), serde.clone(), "{}", &text);
                prop_assert_eq!(split_raw(&doc, &[1 << 20], 1 << 20).ok(), serde.clone(), "{}", &text);
                let lines = serde.map(|rows| {
                    rows.iter().flat_map(|row| [&row[..], b"\n"].concat()).collect::<Vec<u8>>()
                });
                prop_assert_eq!(split_lines(&doc, &sizes).ok(), lines, "{}", &text);
            }
        }

        #[test]
        fn a_truncated_array_is_never_complete(
            rows in prop::collection::vec(any_value(), 1..6),
            cut in any::<prop::sample::Index>(),
        ) {
            let text = serde_json::to_vec(&Value::Array(rows)).expect("encodes");
            let cut = cut.index(text.len());
            prop_assert!(split_raw(&text[..cut], &[5], 1 << 20).is_err());
        }
    }
}
