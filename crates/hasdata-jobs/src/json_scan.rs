//! One pass over a JSON value's bytes that finds where it ends, checks that it is well formed,
//! and notes where the whitespace between its tokens is, so it can be copied out compacted.
//!
//! This is what rows are read with: a results page's rows and `data.json`'s elements are each
//! scanned once, never decoded into a tree and never parsed twice (once to split, once to
//! check). String bodies, nearly all of a row's bytes, are skipped with a mask of the 64 bytes
//! ahead (one bit for each `"`, `\` and control character, built with vector compares: see
//! [`block`]), so a string's end is a shift and a count of trailing zeros away; only the bytes
//! between strings (brackets, commas, colons, numbers, literals) are looked at one by one, and
//! whitespace costs one compare where there is none (compact input, the usual case).
//!
//! It accepts exactly what serde_json accepts as a `RawValue`: the same number grammar, the
//! same escapes (`\u` needs four hex digits; a lone surrogate is accepted, as serde_json does
//! when it skips a value), no control characters in strings, any depth (nesting is kept on a
//! heap stack, never the call stack). Text outside strings must be ASCII by the grammar; the
//! UTF-8 of string bodies is checked by the caller, once over the whole input
//! ([`check_utf8`]), as serde_json does for a borrowed `RawValue`. Property tests hold it
//! to serde_json for every generated value, whitespace and corruption.

/// Whether `input` is UTF-8; when not, where its first bad byte is. Vector instructions over
/// the whole input (simdutf8; a page of rows is almost all ASCII), and std's reading only to
/// place an error.
pub(crate) fn check_utf8(input: &[u8]) -> Result<(), usize> {
    if simdutf8::basic::from_utf8(input).is_ok() {
        return Ok(());
    }
    match std::str::from_utf8(input) {
        Ok(_) => Ok(()),
        Err(error) => Err(error.valid_up_to()),
    }
}

/// Why a scan stopped before the value's end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The input ended inside the value: more bytes may complete it.
    Short,
    /// Not JSON: at byte `at`, `what` was expected.
    Bad { at: usize, what: &'static str },
}

fn bad<T>(at: usize, what: &'static str) -> Result<T, Stop> {
    Err(Stop::Bad { at, what })
}

/// JSON's own whitespace (not `is_ascii_whitespace`, which also takes form feed).
pub(crate) fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\n' | b'\r' | b'\t')
}

/// The first index at or after `at` that is not whitespace (or the input's length).
pub(crate) fn skip_space(input: &[u8], mut at: usize) -> usize {
    while at < input.len() && is_space(input[at]) {
        at += 1;
    }
    at
}

mod block;
mod fast;

use block::Specials;

use crate::json_array::ElementSink;

const ONES: u64 = u64::MAX / 255;
const HIGH: u64 = ONES << 7;

/// Whether a byte ends a run of plain string bytes: `"`, `\\` or a control character.
/// Written without short-circuits, so the loops over sixteen bytes below compile to vector
/// compares.
#[inline(always)]
fn is_special(byte: u8) -> bool {
    (byte == b'"') | (byte == b'\\') | (byte < 0x20)
}

/// Whether any of sixteen bytes [`is_special`]: one vector compare and mask (the loop has no
/// early exit, so the compiler vectorises it).
#[inline(always)]
fn any_special(chunk: &[u8; 16]) -> bool {
    let mut found = 0u8;
    for &byte in chunk {
        found |= u8::from(is_special(byte));
    }
    found != 0
}

/// The first [`is_special`] byte of a word (little-endian), if any: a byte below 0x20, or
/// equal to `"` or `\\` after an xor, sets its high bit in `w - 0x0101.. & !w`; the lowest
/// such byte is exact (a borrow only ever runs upwards, into bytes after it).
#[inline(always)]
fn special_in_word(word: u64) -> u64 {
    let control = word.wrapping_sub(ONES * 0x20) & !word;
    let quote = word ^ (ONES * u64::from(b'"'));
    let quote = quote.wrapping_sub(ONES) & !quote;
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let backslash = backslash.wrapping_sub(ONES) & !backslash;
    (control | quote | backslash) & HIGH
}

/// The index in `chunk` of its first [`is_special`] byte (16 when there is none).
#[inline(always)]
fn first_special(chunk: &[u8; 16]) -> usize {
    let (low, high) = chunk.split_at(8);
    let word = |half: &[u8]| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(half);
        u64::from_le_bytes(bytes)
    };
    let found = special_in_word(word(low));
    if found != 0 {
        return (found.trailing_zeros() / 8) as usize;
    }
    let found = special_in_word(word(high));
    8 + (found.trailing_zeros() / 8) as usize
}

/// The first index at or after `at` holding `"`, `\\` or a control character (or the input's
/// length). Sixteen bytes a step.
#[inline(always)]
fn skip_plain(input: &[u8], mut at: usize) -> usize {
    while let Some(chunk) = input.get(at..).and_then(<[u8]>::first_chunk::<16>) {
        if any_special(chunk) {
            return at + first_special(chunk);
        }
        at += 16;
    }
    while at < input.len() && !is_special(input[at]) {
        at += 1;
    }
    at
}

/// Where a string whose body starts at `at` (just after its opening `"`) ends: the index just
/// after its closing `"`.
#[inline(always)]
pub(crate) fn string_end(input: &[u8], mut at: usize) -> Result<usize, Stop> {
    loop {
        at = skip_plain(input, at);
        match input.get(at) {
            Some(b'"') => return Ok(at + 1),
            Some(b'\\') => at = escape_end(input, at + 1)?,
            None => return Err(Stop::Short),
            Some(_) => return bad(at, "no control character in a string (escape it)"),
        }
    }
}

/// Where the escape whose letter is at `at` (just after a `\`) ends.
fn escape_end(input: &[u8], at: usize) -> Result<usize, Stop> {
    match input.get(at) {
        None => Err(Stop::Short),
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(at + 1),
        Some(b'u') => {
            for i in at + 1..at + 5 {
                match input.get(i) {
                    None => return Err(Stop::Short),
                    Some(b) if b.is_ascii_hexdigit() => {}
                    Some(_) => return bad(i, "four hex digits after \\u"),
                }
            }
            Ok(at + 5)
        }
        Some(_) => bad(at, "an escape (one of \"\\/bfnrtu) after \\"),
    }
}

/// Where the digits starting at `at` end.
fn digits_end(input: &[u8], mut at: usize) -> usize {
    while at < input.len() && input[at].is_ascii_digit() {
        at += 1;
    }
    at
}

/// Where the number starting at `at` ends: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
/// A number that runs to the end of the input ends there: whether more digits could follow
/// is for the caller to say (inside a container, the container's own end is still missing).
fn number_end(input: &[u8], mut at: usize) -> Result<usize, Stop> {
    if input.get(at) == Some(&b'-') {
        at += 1;
    }
    match input.get(at) {
        None => return Err(Stop::Short),
        Some(b'0') => at += 1,
        Some(b'1'..=b'9') => at = digits_end(input, at + 1),
        Some(_) => return bad(at, "a digit"),
    }
    if input.get(at) == Some(&b'.') {
        match input.get(at + 1) {
            None => return Err(Stop::Short),
            Some(b) if b.is_ascii_digit() => at = digits_end(input, at + 2),
            Some(_) => return bad(at + 1, "a digit after the decimal point"),
        }
    }
    if let Some(b'e' | b'E') = input.get(at) {
        at += 1;
        if let Some(b'+' | b'-') = input.get(at) {
            at += 1;
        }
        match input.get(at) {
            None => return Err(Stop::Short),
            Some(b) if b.is_ascii_digit() => at = digits_end(input, at + 1),
            Some(_) => return bad(at, "a digit in the exponent"),
        }
    }
    Ok(at)
}

/// Where the literal `word` (`true`, `false`, `null`) starting at `at` ends.
fn literal_end(input: &[u8], at: usize, word: &'static [u8]) -> Result<usize, Stop> {
    let have = input.get(at..).unwrap_or_default();
    if have.len() >= word.len() {
        if &have[..word.len()] == word {
            return Ok(at + word.len());
        }
    } else if word.starts_with(have) {
        return Err(Stop::Short);
    }
    bad(at, "a value (true, false and null are spelled out)")
}

/// Scans values; keeps its stack and its list of gaps between calls, so scanning a page of a
/// hundred rows allocates nothing after the first.
#[derive(Debug)]
pub(crate) struct Scanner {
    /// The open containers, innermost last: `true` for an object.
    stack: Vec<bool>,
    /// The last value's whitespace between tokens, as `(start, end)` ranges of the input.
    gaps: Vec<(usize, usize)>,
    /// Where the block of 64 input bytes that `specials` describes starts ([`NO_BLOCK`]
    /// before the first of a value).
    base: usize,
    /// Bit `i`: `input[base + i]` is `"`, `\\` or a control character.
    specials: u64,
    /// How blocks are read on this CPU, chosen once.
    kind: Kind,
    /// The tokens of the last container the fast reading took, for the next value to be
    /// compared with ([`fast::same_shape_end`]), and 64 bytes of padding.
    shape: Vec<u8>,
    /// How many bytes of `shape` are tokens; 0 when there is no shape.
    shape_len: usize,
    /// The shape before it, and its length (0: none), tried when `shape` does not match:
    /// rows of a job may come in two shapes (an `error` that is `null` or a string, say),
    /// mixed.
    other_shape: Vec<u8>,
    other_len: usize,
    /// Whether the last value was seen to be all ASCII (see [`Scanner::ascii`]).
    ascii: bool,
}

/// Where [`Scanner::values`] stopped.
#[derive(Debug)]
pub(crate) struct Values {
    /// The start of the value it stopped at, or the place after a `,` (and whitespace) that
    /// is at or past `stop_from` or the input's end.
    pub(crate) at: usize,
    /// The values handed on.
    pub(crate) taken: usize,
    /// The scan of the value at `at` ([`Scanner::value`]'s result), which was not handed on;
    /// `None` when it stopped before scanning one.
    pub(crate) scanned: Option<Result<usize, Stop>>,
}

/// No block yet: `at - NO_BLOCK` wraps to `at + 64`, never inside a block.
const NO_BLOCK: usize = usize::MAX - 63;

/// Which [`block::Specials`] this CPU runs: AVX-512 where it has it, else SSE2 (x86-64),
/// else words.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Off x86-64; on it, only in tests.
    #[cfg(any(test, not(target_arch = "x86_64")))]
    Portable,
    /// Words, with the scalars checked a block at once (as AVX-512 does them): only in
    /// tests, so that reading is tested on any CPU.
    #[cfg(test)]
    PortableBulk,
    #[cfg(target_arch = "x86_64")]
    Sse2,
    #[cfg(target_arch = "x86_64")]
    Avx512(block::Avx512),
}

impl Kind {
    fn detect() -> Kind {
        #[cfg(target_arch = "x86_64")]
        {
            // AVX2 is not tried: on this project's machine it read crawler rows at about
            // two thirds of SSE2's speed (docs/benchmarks.md).
            if let Some(avx512) = block::Avx512::detect() {
                return Kind::Avx512(avx512);
            }
            Kind::Sse2
        }
        #[cfg(not(target_arch = "x86_64"))]
        Kind::Portable
    }
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner {
            stack: Vec::new(),
            gaps: Vec::new(),
            base: NO_BLOCK,
            specials: 0,
            kind: Kind::detect(),
            shape: Vec::new(),
            shape_len: 0,
            other_shape: Vec::new(),
            other_len: 0,
            ascii: false,
        }
    }
}

impl Scanner {
    /// One scanner for each way of reading blocks this CPU can run (the portable one
    /// first), so a test can hold each to the same verdicts.
    #[cfg(test)]
    pub(crate) fn every_kind() -> Vec<Self> {
        #[allow(unused_mut)]
        let mut kinds = vec![Kind::Portable, Kind::PortableBulk];
        #[cfg(target_arch = "x86_64")]
        {
            kinds.push(Kind::Sse2);
            kinds.extend(block::Avx512::detect().map(Kind::Avx512));
        }
        kinds
            .into_iter()
            .map(|kind| Scanner {
                kind,
                ..Scanner::default()
            })
            .collect()
    }

    /// The first index at or after `at` (at most the input's length) holding `"`, `\\` or a
    /// control character, or the input's length: from the block mask, reading the next
    /// block when `at` is past this one.
    #[inline(always)]
    fn next_special<S: Specials>(&mut self, how: S, input: &[u8], mut at: usize) -> usize {
        loop {
            let offset = at.wrapping_sub(self.base);
            if offset < 64 {
                let ahead = self.specials >> offset;
                if ahead != 0 {
                    return at + ahead.trailing_zeros() as usize;
                }
                at = self.base + 64;
            }
            if at >= input.len() {
                return input.len();
            }
            self.read_block(how, input, at);
        }
    }

    /// Reads the block starting at `at` (before the input's end). A block the input ends
    /// inside of is read from a copy padded with plain bytes: a search through it runs on
    /// to the input's end.
    #[inline(always)]
    fn read_block<S: Specials>(&mut self, how: S, input: &[u8], at: usize) {
        self.base = at;
        self.specials = match input.get(at..).and_then(<[u8]>::first_chunk::<64>) {
            Some(block) => how.specials(block),
            None => {
                let rest = input.get(at..).unwrap_or_default();
                let mut block = [b' '; 64];
                block[..rest.len()].copy_from_slice(rest);
                how.specials(&block)
            }
        };
    }

    /// [`string_end`] through the block masks.
    #[inline(always)]
    fn string_end<S: Specials>(
        &mut self,
        how: S,
        input: &[u8],
        mut at: usize,
    ) -> Result<usize, Stop> {
        loop {
            at = self.next_special(how, input, at);
            match input.get(at) {
                Some(b'"') => return Ok(at + 1),
                Some(b'\\') => at = escape_end(input, at + 1)?,
                None => return Err(Stop::Short),
                Some(_) => return bad(at, "no control character in a string (escape it)"),
            }
        }
    }

    /// Skips whitespace inside a value, noting it as a gap.
    #[inline(always)]
    fn space(&mut self, input: &[u8], at: usize) -> usize {
        // Compact input has none: one compare, and no call.
        match input.get(at) {
            Some(&byte) if byte <= b' ' => self.gap(input, at),
            _ => at,
        }
    }

    /// The whitespace from `at` on, noted as a gap (none when `at` is not whitespace).
    fn gap(&mut self, input: &[u8], at: usize) -> usize {
        let end = skip_space(input, at);
        if end > at {
            self.gaps.push((at, end));
        }
        end
    }

    /// After an object's `{` or `,` (and the whitespace after it): a key, `:`, and the
    /// whitespace before the value. Returns where the value starts.
    #[inline(always)]
    fn key<S: Specials>(&mut self, how: S, input: &[u8], at: usize) -> Result<usize, Stop> {
        match input.get(at) {
            None => return Err(Stop::Short),
            Some(b'"') => {}
            Some(_) => return bad(at, "a key (a string)"),
        }
        let end = self.string_end(how, input, at + 1)?;
        let at = self.space(input, end);
        match input.get(at) {
            None => Err(Stop::Short),
            Some(b':') => Ok(self.space(input, at + 1)),
            Some(_) => bad(at, "':' after a key"),
        }
    }

    /// Forgets what the last value's scan noted (its open containers, whitespace, block mask
    /// and ASCII verdict), before the next value is scanned.
    #[inline(always)]
    fn forget_value(&mut self) {
        self.stack.clear();
        self.gaps.clear();
        self.base = NO_BLOCK;
        self.ascii = false;
    }

    /// Scans the one value starting at `start` (its first byte, not whitespace) and returns
    /// where it ends (just after its last byte). Its inner whitespace is noted for
    /// [`Scanner::copy_compact`]. A number running to the input's end ends there (see
    /// [`number_end`]).
    pub(crate) fn value(&mut self, input: &[u8], start: usize) -> Result<usize, Stop> {
        self.forget_value();
        match self.kind {
            #[cfg(any(test, not(target_arch = "x86_64")))]
            Kind::Portable => self.walk(block::Portable, input, start),
            #[cfg(test)]
            Kind::PortableBulk => self.walk(block::Bulk(block::Portable), input, start),
            #[cfg(target_arch = "x86_64")]
            Kind::Sse2 => self.walk(block::Sse2, input, start),
            #[cfg(target_arch = "x86_64")]
            Kind::Avx512(how) => block::with_avx512(how, || self.walk(how, input, start)),
        }
    }

    /// Scans values one after another from `start` (a value's first byte) as long as each is
    /// the common case of an array's element, handing each to `out`: all ASCII, at most
    /// `max_element` bytes, followed by `,` (and whitespace). It stops before the first
    /// value that is not, and returns that value's scan ([`Scanner::value`]'s result, for the
    /// caller to deal with as it would any value); or, with `None`, at the first value's
    /// start at or after `stop_from`, or at the end of `input`, after a `,`. The position is
    /// the value's start (or that place), and the count is the values handed on.
    ///
    /// This is [`Scanner::value`] and the caller's steps between values in one loop, run
    /// once a block of rows is compiled for the CPU's vector instructions rather than once a
    /// row: a `data.json` row was a call into that code, a turn of the caller's state
    /// machine for the value and another for the `,`, and the checks around them.
    pub(crate) fn values<O: ElementSink>(
        &mut self,
        input: &[u8],
        start: usize,
        stop_from: usize,
        max_element: usize,
        out: &mut O,
    ) -> Values {
        match self.kind {
            #[cfg(any(test, not(target_arch = "x86_64")))]
            Kind::Portable => {
                self.values_with(block::Portable, input, start, stop_from, max_element, out)
            }
            #[cfg(test)]
            Kind::PortableBulk => self.values_with(
                block::Bulk(block::Portable),
                input,
                start,
                stop_from,
                max_element,
                out,
            ),
            #[cfg(target_arch = "x86_64")]
            Kind::Sse2 => self.values_with(block::Sse2, input, start, stop_from, max_element, out),
            #[cfg(target_arch = "x86_64")]
            Kind::Avx512(how) => block::with_avx512(how, || {
                self.values_with(how, input, start, stop_from, max_element, out)
            }),
        }
    }

    /// [`Scanner::values`] with blocks read by `how`.
    #[inline(always)]
    fn values_with<S: Specials, O: ElementSink>(
        &mut self,
        how: S,
        input: &[u8],
        start: usize,
        stop_from: usize,
        max_element: usize,
        out: &mut O,
    ) -> Values {
        let mut at = start;
        let mut taken = 0;
        loop {
            self.forget_value();
            let scanned = self.walk(how, input, at);
            let next = match scanned {
                Ok(end) if self.ascii && end - at <= max_element => {
                    let comma = skip_space(input, end);
                    (input.get(comma) == Some(&b',')).then_some((end, comma))
                }
                _ => None,
            };
            let Some((end, comma)) = next else {
                return Values {
                    at,
                    taken,
                    scanned: Some(scanned),
                };
            };
            out.element(self, input, at, end);
            taken += 1;
            at = skip_space(input, comma + 1);
            if at >= input.len() || at >= stop_from {
                return Values {
                    at,
                    taken,
                    scanned: None,
                };
            }
        }
    }

    /// [`Scanner::value`] with blocks read by `how`.
    #[inline(always)]
    fn walk<S: Specials>(&mut self, how: S, input: &[u8], start: usize) -> Result<usize, Stop> {
        if matches!(input.get(start), Some(b'{' | b'[')) {
            if self.shape_len > 0
                && let Some(end) = fast::same_shape_end(
                    how,
                    input,
                    start,
                    &self.shape,
                    self.shape_len,
                    &mut self.ascii,
                )
            {
                return Ok(end);
            }
            if self.other_len > 0
                && let Some(end) = fast::same_shape_end(
                    how,
                    input,
                    start,
                    &self.other_shape,
                    self.other_len,
                    &mut self.ascii,
                )
            {
                // The last shape matched is tried first.
                std::mem::swap(&mut self.shape, &mut self.other_shape);
                std::mem::swap(&mut self.shape_len, &mut self.other_len);
                return Ok(end);
            }
            // The walk below writes a new shape: the last one becomes the other.
            if self.shape_len > 0 {
                std::mem::swap(&mut self.shape, &mut self.other_shape);
                self.other_len = self.shape_len;
            }
            self.shape_len = 0;
            if let Some(end) = fast::container_end(
                how,
                input,
                start,
                &mut self.stack,
                &mut self.shape,
                &mut self.ascii,
            ) {
                if self.shape.len() <= fast::MAX_SHAPE {
                    // Padded, so each block's bytes can be compared 64 at once.
                    self.shape_len = self.shape.len();
                    self.shape.resize(self.shape_len + 64, 0);
                }
                return Ok(end);
            }
            self.stack.clear();
            // Whatever a fast reading saw before it gave up is not this value's.
            self.ascii = false;
        }
        let mut at = start;
        'value: loop {
            // `at` is a value's first byte.
            match input.get(at) {
                None => return Err(Stop::Short),
                Some(b'{') => {
                    at = self.space(input, at + 1);
                    match input.get(at) {
                        None => return Err(Stop::Short),
                        Some(b'}') => at += 1,
                        Some(_) => {
                            at = self.key(how, input, at)?;
                            self.stack.push(true);
                            continue 'value;
                        }
                    }
                }
                Some(b'[') => {
                    at = self.space(input, at + 1);
                    match input.get(at) {
                        None => return Err(Stop::Short),
                        Some(b']') => at += 1,
                        Some(_) => {
                            self.stack.push(false);
                            continue 'value;
                        }
                    }
                }
                Some(b'"') => at = self.string_end(how, input, at + 1)?,
                Some(b'-' | b'0'..=b'9') => at = number_end(input, at)?,
                Some(b't') => at = literal_end(input, at, b"true")?,
                Some(b'f') => at = literal_end(input, at, b"false")?,
                Some(b'n') => at = literal_end(input, at, b"null")?,
                Some(_) => return bad(at, "a value"),
            }
            // A value ended at `at`: close what it ends.
            loop {
                let Some(&object) = self.stack.last() else {
                    return Ok(at);
                };
                at = self.space(input, at);
                match input.get(at) {
                    None => return Err(Stop::Short),
                    Some(b',') => {
                        at = self.space(input, at + 1);
                        if object {
                            at = self.key(how, input, at)?;
                        }
                        continue 'value;
                    }
                    Some(b'}') if object => {
                        at += 1;
                        self.stack.pop();
                    }
                    Some(b']') if !object => {
                        at += 1;
                        self.stack.pop();
                    }
                    Some(_) if object => return bad(at, "',' or '}'"),
                    Some(_) => return bad(at, "',' or ']'"),
                }
            }
        }
    }

    /// Whether the last value scanned, when it was one (not `Short` or `Bad`), is all ASCII,
    /// and so UTF-8, without a check of its own: known when the fast reading took it, which
    /// sorts every one of its bytes anyway ([`fast`]). `false` says only that it is not
    /// known.
    pub(crate) fn ascii(&self) -> bool {
        self.ascii
    }

    /// Appends the last value scanned, `input[start..end]`, to `out` without the whitespace
    /// between its tokens.
    #[inline]
    pub(crate) fn copy_compact(&self, input: &[u8], start: usize, end: usize, out: &mut Vec<u8>) {
        if self.gaps.is_empty() {
            // Compact rows (the usual case): one copy.
            out.extend_from_slice(&input[start..end]);
            return;
        }
        let mut from = start;
        for &(gap, after) in &self.gaps {
            out.extend_from_slice(&input[from..gap]);
            from = after;
        }
        out.extend_from_slice(&input[from..end]);
    }
}

/// Any JSON value (serde_json's own model, so every string is UTF-8), nested a few levels,
/// with strings full of the bytes a scanner could trip on; for property tests.
#[cfg(test)]
pub(crate) fn any_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
        // Long enough for the sixteen-byte steps over string bodies.
        "\\PC{13,48}".prop_map(Value::from),
        "[\"\\\\,\\]\\[{}: \\n\\t\u{1}\u{1f}\u{e9}\u{1F600}]{0,8}".prop_map(Value::from),
    ];
    nested(leaf, "[a-z\"\\\\,\\]\\[{}: ]{0,5}")
}

/// Arrays and objects of `leaf` values, nested a few levels, with keys matching the regex
/// `keys`; for property tests (the one nesting every `any_value`-like strategy shares).
#[cfg(test)]
pub(crate) fn nested(
    leaf: impl proptest::strategy::Strategy<Value = serde_json::Value> + 'static,
    keys: &'static str,
) -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
    use proptest::prelude::*;
    use serde_json::Value;
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(keys, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::value::RawValue;

    /// Checks that `input` is one JSON value (whitespace around it allowed) in UTF-8, as
    /// serde_json would read it into a `RawValue`, and appends it compacted to `out`.
    pub(crate) fn compact_checked(
        scanner: &mut Scanner,
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Stop> {
        if let Err(at) = check_utf8(input) {
            return bad(at, "UTF-8");
        }
        let start = skip_space(input, 0);
        let end = scanner.value(input, start)?;
        if skip_space(input, end) != input.len() {
            return bad(end, "nothing after the value");
        }
        scanner.copy_compact(input, start, end, out);
        Ok(())
    }

    /// serde_json's verdict on one value: its raw text, compacted by serde_json itself (the
    /// text as sent, when there was no whitespace to remove).
    fn serde_verdict(input: &[u8]) -> Option<Vec<u8>> {
        let raw: &RawValue = serde_json::from_slice(input).ok()?;
        // Compacting through `Value` would rewrite numbers and keys; only whitespace goes.
        Some(strip_spaces(raw.get().as_bytes()))
    }

    /// Removes whitespace outside strings, naively (a byte at a time): the oracle.
    fn strip_spaces(text: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let (mut in_string, mut escaped) = (false, false);
        for &b in text {
            if in_string {
                out.push(b);
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                }
            } else if b == b'"' {
                in_string = true;
                out.push(b);
            } else if !is_space(b) {
                out.push(b);
            }
        }
        out
    }

    /// Our verdict on one value, the same from every way of reading blocks (the verdict
    /// itself, `Short` or `Bad` and where, not only whether).
    fn ours(input: &[u8]) -> Option<Vec<u8>> {
        let mut verdicts = Scanner::every_kind().into_iter().map(|mut scanner| {
            let mut out = Vec::new();
            let verdict = compact_checked(&mut scanner, input, &mut out).map(|()| out);
            if let (Ok(out), true) = (&verdict, scanner.ascii()) {
                assert!(out.is_ascii(), "{}", String::from_utf8_lossy(input));
            }
            verdict
        });
        let first = verdicts.next().expect("the portable scanner");
        for other in verdicts {
            assert_eq!(other, first, "{}", String::from_utf8_lossy(input));
        }
        first.ok()
    }

    #[test]
    fn agrees_with_serde_json_on_edge_cases() {
        let cases: &[&[u8]] = &[
            b"0",
            b"-0",
            b"01",
            b"-",
            b"1.",
            b"1.5e",
            b"1e+",
            b"1E-7",
            b"12345678901234567890123",
            b"1e400",
            b"-0.0e-0",
            b".5",
            b"+1",
            b"tru",
            b"true",
            b"truex",
            b"nul",
            b"null ",
            b" [ ] ",
            b"[,]",
            b"[1,]",
            b"[1 2]",
            b"{}",
            b"{,}",
            b"{\"a\" : 1 , }",
            b"{\"a\" 1}",
            b"{1:2}",
            b"{\"a\":1}}",
            b"[1]]",
            b"\"\\u00e9\\ud800\"",
            b"\"\\u00g9\"",
            b"\"\\x\"",
            b"\"a\tb\"",
            b"\"a\x7fb\"",
            b"\"caf\xc3\xa9\"",
            b"\"bad \xc3\"",
            b"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
            b"[\"unterminated",
            b"",
            b"   ",
            b"\xef\xbb\xbf[]",
            b"[1]\x0c",
            b"{\"a\":[{\"b\":[[],{}]}],\"c\":null}",
        ];
        for &case in cases {
            assert_eq!(
                ours(case),
                serde_verdict(case),
                "{}",
                String::from_utf8_lossy(case)
            );
        }
        // Any depth, as serde_json's RawValue (which skips values without recursing).
        let deep = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
        assert_eq!(ours(deep.as_bytes()), serde_verdict(deep.as_bytes()));
        assert!(ours(deep.as_bytes()).is_some());
    }

    /// Rows of one shape whose numbers and literals change (the fast reading takes their
    /// tokens as the last row's, and checks the scalars a block at a time): every verdict is
    /// a fresh scanner's, with each scalar at every offset of a block (a leading zero, a
    /// `null` cut or run on, a number running into the next block, the next row's scalars
    /// in the same block).
    #[test]
    fn same_shape_rows_with_changed_scalars_get_a_fresh_scanners_verdicts() {
        let scalars: &[&str] = &[
            "1",
            "0",
            "7",
            "10",
            "01",
            "00",
            "0123",
            "-1",
            "-0",
            "1.5",
            "1e3",
            "0.0",
            "null",
            "nul",
            "nulll",
            "nullx",
            "null0",
            "0null",
            "nnull",
            "true",
            "false",
            "n",
            "nu",
            "9999999999999999999999",
            "1a",
            "a1",
            "1\u{e9}",
        ];
        // `x` at one place, `y` at every offset.
        let row = |pad: usize, x: &str, y: &str| {
            let pad = "p".repeat(pad);
            let mut row = format!("{{\"a\":{x},\"b\":\"{pad}\",\"c\":[{y}],\"d\":[true,0]}}");
            row.push_str(",{\"a\":-1.5e3,\"q\":nul}");
            row.into_bytes()
        };
        for pad in 0..70 {
            let base = row(pad, "1", "null");
            for mut scanner in Scanner::every_kind() {
                for x in scalars {
                    for y in scalars {
                        let input = row(pad, x, y);
                        assert!(scanner.value(&base, 0).is_ok());
                        let mut fresh = Scanner::every_kind().swap_remove(0);
                        assert_eq!(
                            scanner.value(&input, 0),
                            fresh.value(&input, 0),
                            "{}",
                            String::from_utf8_lossy(&input)
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_cut_value_is_short_and_a_scalar_at_the_end_ends_there() {
        let mut scanner = Scanner::default();
        let text = br#"{"a": [1, "x\"y", {"b": null}], "c": "\u00e9"}"#;
        let end = scanner.value(text, 0).expect("complete");
        assert_eq!(end, text.len());
        for cut in 1..text.len() {
            assert_eq!(
                scanner.value(&text[..cut], 0),
                Err(Stop::Short),
                "cut at {cut}"
            );
        }
        assert_eq!(scanner.value(b"12", 0), Ok(2));
        // Known to be ASCII when the fast reading took it, and only when it is.
        for mut scanner in Scanner::every_kind() {
            for _ in 0..2 {
                assert_eq!(scanner.value(br#"{"a":[1,"x"],"b":null}"#, 0), Ok(22));
                assert!(scanner.ascii());
                let text = "{\"a\":[1,\"\u{e9}\"],\"b\":null}";
                assert_eq!(scanner.value(text.as_bytes(), 0), Ok(text.len()));
                assert!(!scanner.ascii());
            }
            // An escaped quote: the compare with the last row's shape ends early, at the
            // `}` inside the string, and gives up; the real value goes on to a byte that is
            // not ASCII.
            let text = "{\"s\":\"a\\\"}\",\"t\":\"\u{e9}\"}";
            for _ in 0..2 {
                assert_eq!(scanner.value(br#"{"s":"x"}"#, 0), Ok(9));
                assert!(scanner.ascii());
                assert_eq!(scanner.value(text.as_bytes(), 0), Ok(text.len()));
                assert!(!scanner.ascii(), "{text}");
            }
        }
        assert_eq!(scanner.value(b"tr", 0), Err(Stop::Short));
    }

    /// `text` with whitespace put between tokens: after each byte outside strings that
    /// `spaces` picks, one of the four whitespace bytes.
    fn spaced(text: &[u8], spaces: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let (mut in_string, mut escaped) = (false, false);
        for (i, &b) in text.iter().enumerate() {
            out.push(b);
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                }
            } else if b == b'"' {
                in_string = true;
            }
            let pick = spaces.get(i % spaces.len().max(1)).copied().unwrap_or(0);
            // A space inside a number or literal would split it: only after punctuation.
            if !in_string
                && matches!(b, b'[' | b']' | b'{' | b'}' | b',' | b':' | b'"')
                && pick % 3 == 0
            {
                out.push([b' ', b'\n', b'\r', b'\t'][usize::from(pick / 3) % 4]);
            }
        }
        out
    }

    proptest! {
        #[test]
        fn any_value_with_any_spacing_compacts_to_serde_jsons_text(
            value in any_value(),
            spaces in prop::collection::vec(any::<u8>(), 0..64),
            pretty in any::<bool>(),
        ) {
            let text = if pretty { serde_json::to_vec_pretty(&value) } else { serde_json::to_vec(&value) }.expect("encodes");
            let text = spaced(&text, &spaces);
            let compact = serde_json::to_vec(&value).expect("encodes");
            prop_assert_eq!(ours(&text), Some(compact.clone()));
            prop_assert_eq!(serde_verdict(&text), Some(compact));
        }

        #[test]
        fn any_corruption_is_refused_exactly_when_serde_json_refuses_it(
            value in any_value(),
            at in any::<prop::sample::Index>(),
            byte in prop_oneof![any::<u8>(), prop::sample::select(b"\"\\{}[],:0-.eE+tfnu \x01".to_vec())],
            insert in any::<bool>(),
            pretty in any::<bool>(),
        ) {
            // Compact text is what the fast reading takes ([`fast`]); pretty text it leaves.
            let mut text = if pretty { serde_json::to_vec_pretty(&value) } else { serde_json::to_vec(&value) }.expect("encodes");
            let at = at.index(text.len() + 1);
            if insert || at == text.len() {
                text.insert(at, byte);
            } else {
                text[at] = byte;
            }
            prop_assert_eq!(ours(&text), serde_verdict(&text), "{}", String::from_utf8_lossy(&text));
        }

        /// The vector UTF-8 check says what std says, and places an error where std does.
        #[test]
        fn check_utf8_is_stds_verdict(
            text in "\\PC{0,80}",
            bad in prop::collection::vec(any::<u8>(), 0..4),
            at in any::<prop::sample::Index>(),
        ) {
            let mut bytes = text.into_bytes();
            let at = at.index(bytes.len() + 1);
            bytes.splice(at..at, bad);
            let std = std::str::from_utf8(&bytes).map(drop).map_err(|e| e.valid_up_to());
            prop_assert_eq!(check_utf8(&bytes), std);
        }

        /// Strings long enough that their bodies go through the sixteen-byte steps, with a
        /// byte that ends a plain run (or an escape, or a control character) at any place.
        #[test]
        fn a_long_string_with_anything_anywhere_is_read_as_serde_json_reads_it(
            body in prop::collection::vec(
                prop_oneof![
                    8 => prop::sample::select(b"abcxyz 019~\x7f".to_vec()),
                    1 => prop::sample::select(b"\"\\\x00\x01\x1f\t\nu/bfnr\xc3\xa9\xff".to_vec()),
                ],
                0..160,
            ),
            lead in 0usize..70,
        ) {
            let mut text = vec![b'['];
            text.extend(std::iter::repeat_n(b' ', lead));
            text.push(b'"');
            text.extend_from_slice(&body);
            text.extend_from_slice(b"\"]");
            prop_assert_eq!(ours(&text), serde_verdict(&text), "{}", String::from_utf8_lossy(&text));
        }

        #[test]
        fn any_cut_is_short_never_complete(value in any_value(), cut in any::<prop::sample::Index>()) {
            let text = serde_json::to_vec(&serde_json::Value::Array(vec![value])).expect("encodes");
            let cut = cut.index(text.len());
            for mut scanner in Scanner::every_kind() {
                prop_assert_eq!(scanner.value(&text[..cut], 0), Err(Stop::Short));
            }
        }

        /// One scanner reading value after value, as a splitter does (so each is compared
        /// with the shapes of ones read before it, two kinds mixed): every verdict is a
        /// fresh scanner's, for
        /// edits that keep the tokens (a byte put into a string or a number) and edits that
        /// do not.
        #[test]
        fn values_read_one_after_another_get_a_fresh_scanners_verdicts(
            value in any_value(),
            other in any_value(),
            edits in prop::collection::vec(
                (
                    any::<prop::sample::Index>(),
                    prop_oneof![
                        any::<u8>(),
                        prop::sample::select(b"\"\\{}[],:0-.eE+ a\x01".to_vec()),
                        // Into a number or a `null`, read a block at a time when the
                        // shape matches.
                        prop::sample::select(b"019nul".to_vec()),
                    ],
                    any::<bool>(),
                ),
                1..6,
            ),
        ) {
            let text = serde_json::to_vec(&serde_json::Value::Array(vec![value])).expect("encodes");
            // A second shape, mixed in (the scanner keeps two).
            let other = serde_json::to_vec(&serde_json::Value::Array(vec![other])).expect("encodes");
            let mut inputs = vec![text.clone(), other.clone(), text.clone(), other.clone()];
            for &(at, byte, insert) in &edits {
                let mut edited = text.clone();
                let at = at.index(edited.len());
                if insert {
                    edited.insert(at, byte);
                } else {
                    edited[at] = byte;
                }
                inputs.push(edited);
                inputs.push(text.clone());
                inputs.push(other.clone());
            }
            for mut scanner in Scanner::every_kind() {
                for input in &inputs {
                    let mut fresh = Scanner::every_kind().swap_remove(0);
                    let verdict = scanner.value(input, 0);
                    prop_assert_eq!(
                        verdict,
                        fresh.value(input, 0),
                        "{}",
                        String::from_utf8_lossy(input)
                    );
                    // ASCII only when it is (the edits put any byte anywhere).
                    if let (Ok(end), true) = (verdict, scanner.ascii()) {
                        prop_assert!(input[..end].is_ascii(), "{}", String::from_utf8_lossy(input));
                    }
                }
            }
        }

        /// A value starting anywhere in its input (so blocks, read from the value's first
        /// string on, end at every offset of it), read by every way of reading blocks:
        /// where it ends, or why not, is the same.
        #[test]
        fn a_value_anywhere_in_its_input_reads_the_same_every_way(
            value in any_value(),
            lead in prop::collection::vec(prop::sample::select(b" \"\\x{".to_vec()), 0..70),
            cut in any::<prop::sample::Index>(),
            trail in prop::collection::vec(any::<u8>(), 0..70),
        ) {
            let text = serde_json::to_vec(&value).expect("encodes");
            let mut input = lead.clone();
            input.extend_from_slice(&text);
            input.extend_from_slice(&trail);
            let cut = lead.len() + cut.index(text.len() + 1);
            let mut verdicts = Vec::new();
            for mut scanner in Scanner::every_kind() {
                verdicts.push((scanner.value(&input, lead.len()), scanner.value(&input[..cut], lead.len())));
            }
            // A number runs on into trailing digits; anything else ends where it ends.
            let whole = (!(text[0].is_ascii_digit() || text[0] == b'-'))
                .then_some(lead.len() + text.len());
            for verdict in &verdicts {
                prop_assert_eq!(verdict, &verdicts[0]);
                if let Some(end) = whole {
                    prop_assert_eq!(verdict.0, Ok(end));
                }
            }
        }
    }
}
