//! Splitting `data.json` on two cores, with exactly the output of one splitter.
//!
//! The received file is cut into [`Block`]s of consecutive chunks. Each block is split on a
//! thread of its own ([`guess`]) while the blocks before it are still being split: the first
//! block from the document's start, any later one from a guessed element boundary near its
//! start (just after a `,` that looks as if it separates two elements of the array). The
//! guess may be wrong (that `,` may be inside a string, or inside a row's own array), so
//! a guessed block's elements are only taken when [`Exact`] — the one splitter that reads
//! the whole document in order — finds that an element of the array does start exactly at
//! the guessed place. Otherwise [`Exact`] splits the block itself.
//!
//! # Why a taken guess gives exactly the sequential output
//!
//! [`ArraySplitter`]'s state between two elements is its position in the array and what it
//! carries from earlier chunks. When [`Exact`] stops at an element boundary `B` in a block
//! ([`ArraySplitter::push_until`]), it has just read the `,` after the previous element and
//! the whitespace after it, and carries nothing: its state is exactly that of a splitter
//! made by [`ArraySplitter::after_comma`], whatever came before (the element limit is the
//! same). The one thing the scanner keeps from one element to the next is the row shapes it
//! has seen, and they only choose a faster way to the same verdict and the same bytes: the
//! proptests here and in `json_array` read rows with shapes remembered and without, and
//! compare. The guess was such a splitter, started at its guessed place `G` and given the
//! same bytes in the same pieces: the rest of `G`'s chunk, then the block's later chunks.
//! Its verdicts and bytes do not depend on the shapes it has or has not seen, so
//! when `G == B` (compared exactly: chunk and index) the guessed splitter's elements are the
//! ones [`Exact`] would have split from `B` to the block's end, and its final state is
//! the one [`Exact`] would have reached: [`Exact`] takes both and goes on with the next
//! block. Whatever the content (a `},{` in a string, a row's own arrays of objects), a wrong
//! guess is never `B`, since `B` is checked by the sequential reading itself, so nothing
//! depends on how good the guess is; a poor guess only costs the speed.
//!
//! A guess that meets an error is dropped (another place a little further on is tried, a
//! few times): errors are only ever found by [`Exact`], reading in order, so a bad or
//! truncated document fails at the same element, with the same elements before it, as
//! with one splitter.

use bytes::Bytes;
use memchr::{memchr, memchr2};

use crate::json_array::{ArraySplitter, Lines, SplitError};
use crate::json_scan::skip_space;
use crate::pool::Pool;

/// Consecutive chunks of the file, split as one piece of work.
#[derive(Clone, Debug, Default)]
pub(crate) struct Block {
    chunks: Vec<Bytes>,
    len: usize,
}

impl Block {
    /// How many bytes it holds.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds none.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds the next chunk received.
    pub(crate) fn push(&mut self, chunk: Bytes) {
        self.len += chunk.len();
        self.chunks.push(chunk);
    }
}

/// A block's elements, split from a guessed boundary to the block's end.
#[derive(Debug)]
pub(crate) struct Guess {
    /// Where the guessed boundary is (chunk, index in it); `None` for the document's first
    /// block, split from the document's start.
    from: Option<(usize, usize)>,
    /// The elements, as JSON lines.
    lines: Lines,
    /// The splitter as it stands after the block.
    splitter: ArraySplitter,
}

#[cfg(test)]
impl Guess {
    /// The guess's lines, for tests.
    pub(crate) fn lines_text(&self) -> &[u8] {
        &self.lines.bytes
    }
}

/// Places tried in one block before giving up on it (each is tried from beyond where the
/// one before failed, so a block is read about once whatever the number).
const MAX_TRIES: usize = 64;

/// Splits `block` on a guess (see the module's doc): from the document's start when it is
/// the `first` block, else from a place just after a `,` near its start. `None` when every
/// place tried met an error (or there was none to try): [`Exact`] splits that block.
pub(crate) fn guess(block: &Block, first: bool, max_element: usize, pool: &Pool) -> Option<Guess> {
    // Compacting only removes bytes; a newline is added per row where the file had a `,`.
    let capacity = block.len + block.len / 16 + 64;
    let mut lines = Lines {
        bytes: pool.take(capacity),
        ends: Vec::with_capacity(capacity / 64),
    };
    let guessed = guess_into(block, first, max_element, &mut lines);
    match guessed {
        Some((from, splitter)) => Some(Guess {
            from,
            lines,
            splitter,
        }),
        None => {
            pool.give(lines.bytes);
            None
        }
    }
}

/// [`guess`], into `lines`: where it started, and the splitter after the block.
fn guess_into(
    block: &Block,
    first: bool,
    max_element: usize,
    lines: &mut Lines,
) -> Option<(Option<(usize, usize)>, ArraySplitter)> {
    if first {
        let mut splitter = ArraySplitter::new(max_element);
        for chunk in &block.chunks {
            splitter.push_to(chunk, lines).ok()?;
        }
        return Some((None, splitter));
    }
    let mut search = (0, 0);
    for _ in 0..MAX_TRIES {
        let (chunk, at) = candidate(&block.chunks, search)?;
        lines.clear();
        let mut splitter = ArraySplitter::after_comma(max_element);
        match split_blocks(&mut splitter, &block.chunks, (chunk, at), lines) {
            Ok(()) => return Some((Some((chunk, at)), splitter)),
            // Try again beyond where this one failed.
            Err((failed, failed_at)) if failed == chunk => {
                search = (chunk, failed_at.max(at + 1));
            }
            Err(failed) => search = failed,
        }
    }
    None
}

/// Pushes the chunks from `(chunk, at)` on; on an error, where it was found (chunk, index).
fn split_blocks(
    splitter: &mut ArraySplitter,
    chunks: &[Bytes],
    (first, at): (usize, usize),
    lines: &mut Lines,
) -> Result<(), (usize, usize)> {
    for (i, chunk) in chunks.iter().enumerate().skip(first) {
        let from = if i == first { at } else { 0 };
        if splitter.push_to(&chunk[from..], lines).is_err() {
            return Err((i, from + splitter.failed_at()));
        }
    }
    Ok(())
}

/// The first likely element boundary at or after `(chunk, at)`: a value's first byte after
/// a `,` and whitespace in the same chunk, but not a string followed by `:` (an object's
/// key: rows are mostly objects, and their keys follow commas too).
fn candidate(chunks: &[Bytes], (first, at): (usize, usize)) -> Option<(usize, usize)> {
    for (i, chunk) in chunks.iter().enumerate().skip(first) {
        let mut from = if i == first { at } else { 0 };
        while let Some(comma) = chunk.get(from..).and_then(|rest| memchr(b',', rest)) {
            let value = skip_space(chunk, from + comma + 1);
            from += comma + 1;
            match chunk.get(value) {
                None => break,
                Some(b'{' | b'[' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => {
                    return Some((i, value));
                }
                Some(b'"') => {
                    let Some(end) = string_end(chunk, value + 1) else {
                        break;
                    };
                    match chunk.get(skip_space(chunk, end)) {
                        None => break,
                        Some(b':') => from = end,
                        Some(_) => return Some((i, value)),
                    }
                }
                Some(_) => {}
            }
        }
    }
    None
}

/// Just after the `"` closing a string whose body starts at `at`, if the chunk holds it.
fn string_end(chunk: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let found = at + memchr2(b'"', b'\\', chunk.get(at..)?)?;
        if chunk[found] == b'"' {
            return Some(found + 1);
        }
        at = found + 2;
    }
}

/// The splitter that reads the whole document in order, taking a block's guess where it is
/// proved right (see the module's doc).
#[derive(Debug)]
pub(crate) struct Exact {
    splitter: ArraySplitter,
    /// Whether a block has been split.
    started: bool,
}

impl Exact {
    /// Refuses elements larger than `max_element` bytes.
    pub(crate) fn new(max_element: usize) -> Self {
        Exact {
            splitter: ArraySplitter::new(max_element),
            started: false,
        }
    }

    /// Splits the next block into `out`, or takes its guess: then the guess's lines are
    /// returned, to be handed on after `out`'s. On an error, `out` holds every element
    /// before the bad one, as with one splitter.
    pub(crate) fn block(
        &mut self,
        block: &Block,
        guess: Option<Guess>,
        out: &mut Lines,
    ) -> Result<Option<Lines>, SplitError> {
        let started = std::mem::replace(&mut self.started, true);
        let mut rest = 0;
        match guess {
            Some(Guess {
                from: None,
                lines,
                splitter,
            }) if !started => {
                self.splitter = splitter;
                return Ok(Some(lines));
            }
            Some(Guess {
                from: Some((chunk, at)),
                lines,
                splitter,
            }) if started => {
                for piece in &block.chunks[..chunk] {
                    self.splitter.push_to(piece, out)?;
                }
                let piece = &block.chunks[chunk];
                rest = chunk + 1;
                match self.splitter.push_until(piece, at, out)? {
                    Some(boundary) if boundary == at => {
                        self.splitter = splitter;
                        return Ok(Some(lines));
                    }
                    // A wrong guess: go on from where it stopped, as if it had not.
                    Some(boundary) => self.splitter.push_to(&piece[boundary..], out)?,
                    None => {}
                }
            }
            _ => {}
        }
        out.bytes.reserve(block.len);
        for piece in &block.chunks[rest..] {
            self.splitter.push_to(piece, out)?;
        }
        Ok(None)
    }

    /// Hands on the elements held whole when the file breaks off (see
    /// [`ArraySplitter::settle_to`]).
    pub(crate) fn settle(&mut self, out: &mut Lines) -> Result<(), SplitError> {
        self.splitter.settle_to(out)
    }

    /// Checks that the document ended where it should (see [`ArraySplitter::finish`]).
    pub(crate) fn finish(&mut self, out: &mut Lines) -> Result<(), SplitError> {
        self.splitter.finish_to(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json_array::ArraySplitter;
    use proptest::prelude::*;
    use serde_json::Value;

    /// The one-splitter reading: chunks pushed in order. Lines, and the error if any.
    fn sequential(chunks: &[Bytes], max: usize) -> (Vec<u8>, Option<SplitError>) {
        let mut splitter = ArraySplitter::new(max);
        let mut out = Lines::default();
        for chunk in chunks {
            if let Err(e) = splitter.push_to(chunk, &mut out) {
                return (out.bytes, Some(e));
            }
        }
        let error = splitter.finish_to(&mut out).err();
        (out.bytes, error)
    }

    /// The block reading: chunks grouped `per_block` to a block, each block guessed (when
    /// `guessing`) and committed in order. Lines, the error if any, and how many guesses
    /// were taken.
    fn blocked(
        chunks: &[Bytes],
        per_block: usize,
        max: usize,
        guessing: bool,
    ) -> (Vec<u8>, Option<SplitError>, usize) {
        let mut exact = Exact::new(max);
        let mut all = Vec::new();
        let mut taken = 0;
        for (k, group) in chunks.chunks(per_block.max(1)).enumerate() {
            let mut block = Block::default();
            for chunk in group {
                block.push(chunk.clone());
            }
            let guessed = guessing
                .then(|| guess(&block, k == 0, max, &Pool::default()))
                .flatten();
            let mut out = Lines::default();
            let result = exact.block(&block, guessed, &mut out);
            all.extend_from_slice(&out.bytes);
            match result {
                Ok(Some(lines)) => {
                    taken += 1;
                    assert_eq!(lines.ends.last().copied().unwrap_or(0), lines.bytes.len());
                    all.extend_from_slice(&lines.bytes);
                }
                Ok(None) => {}
                Err(e) => return (all, Some(e), taken),
            }
        }
        let mut out = Lines::default();
        let error = exact.finish(&mut out).err();
        all.extend_from_slice(&out.bytes);
        (all, error, taken)
    }

    fn chunked(text: &[u8], sizes: &[usize]) -> Vec<Bytes> {
        let mut chunks = Vec::new();
        let mut rest = text;
        let mut k = 0;
        while !rest.is_empty() {
            let n = sizes.get(k).copied().unwrap_or(7).clamp(1, rest.len());
            chunks.push(Bytes::copy_from_slice(&rest[..n]));
            rest = &rest[n..];
            k += 1;
        }
        chunks
    }

    /// Rows shaped as data.json's usually are: objects, some with arrays of objects.
    fn rows(n: usize) -> Vec<u8> {
        let rows: Vec<Value> = (0..n)
            .map(|i| {
                serde_json::json!({
                    "i": i,
                    "text": format!("row {i}, with {{\"a\":[1,2]}}, commas, and \"quotes\""),
                    "items": [{"x": i, "y": [i, "],{"]}, {"z": null}],
                })
            })
            .collect();
        let mut text = b"[\n".to_vec();
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                text.extend_from_slice(b",\n");
            }
            text.extend(serde_json::to_vec(row).expect("encodes"));
        }
        text.extend_from_slice(b"\n]\n");
        text
    }

    #[test]
    fn guesses_are_taken_on_rows_with_arrays_of_objects_and_give_the_same_lines() {
        let text = rows(2000);
        let chunks = chunked(&text, &[4096; 10_000]);
        let (expected, error) = sequential(&chunks, 1 << 20);
        assert!(error.is_none());
        for per_block in [1, 2, 8] {
            let (lines, error, taken) = blocked(&chunks, per_block, 1 << 20, true);
            assert!(error.is_none(), "{error:?}");
            assert_eq!(lines, expected, "{per_block} chunks a block");
            let blocks = chunks.len().div_ceil(per_block);
            // Every block but the rare one whose guessed place is not a row's start.
            assert!(
                taken * 10 >= blocks * 9,
                "{taken} of {blocks} guesses taken"
            );
        }
    }

    #[test]
    fn a_wrong_guess_in_a_string_or_a_rows_array_is_not_taken() {
        // One row whose string and array, spanning every block, are full of what looks like
        // row boundaries: no guess inside it may be taken.
        let inner = "{\"a\":1},{\"b\":[2]}, ".repeat(400);
        let text = format!(
            "[{{\"s\":\"{}\",\"t\":[{}{{}}]}},{{\"last\":1}}]",
            inner.replace('"', "\\\""),
            inner
        );
        let chunks = chunked(text.as_bytes(), &[100; 10_000]);
        let (expected, error) = sequential(&chunks, 1 << 20);
        assert!(error.is_none(), "{error:?}");
        for per_block in [1, 3, 17] {
            let (lines, error, _) = blocked(&chunks, per_block, 1 << 20, true);
            assert!(error.is_none(), "{error:?}");
            assert_eq!(lines, expected, "{per_block} chunks a block");
        }
    }

    /// Values whose strings are full of what a guess could stop at.
    fn tricky() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<i64>().prop_map(Value::from),
            "[\",\\\\{}\\[\\]: \\n\u{e9}a]{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map("[a,\"{}\\[\\]]{0,3}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A row of one shape (ASCII, no escapes: the scanner compares each with the last
    /// row's tokens), its string `t` of any length; or, `odd`, a row like it whose `t`
    /// holds an escaped quote (so its tokens seem to end early, at `"}`), a backslash run
    /// or a byte that is not ASCII, and then a member `u` holding `bad`.
    fn shaped_row(i: usize, t: usize, odd: Option<(&[u8], &[u8])>) -> Vec<u8> {
        let mut row = format!(
            "{{\"id\":{i},\"url\":\"https://example.com/{i}\",\"tags\":[1,2.5e3,null,true],\"t\":\"{}",
            "x".repeat(t)
        )
        .into_bytes();
        if let Some((inner, bad)) = odd {
            row.extend_from_slice(inner);
            row.extend_from_slice(b"\",\"u\":\"");
            row.extend_from_slice(bad);
        }
        row.extend_from_slice(b"\"}");
        row
    }

    proptest! {
        #[test]
        fn blocks_give_exactly_the_sequential_lines_and_errors(
            rows in prop::collection::vec(tricky(), 0..16),
            pretty in any::<bool>(),
            corrupt in prop::option::of((any::<prop::sample::Index>(), prop::sample::select(b"\",{}[]:\\x\xff 1".to_vec()), any::<bool>())),
            truncate in prop::option::of(any::<prop::sample::Index>()),
            sizes in prop::collection::vec(1usize..24, 0..200),
            per_block in 1usize..6,
            max in prop_oneof![Just(1usize << 20), 8usize..64],
        ) {
            let doc = Value::Array(rows);
            let mut text = if pretty { serde_json::to_vec_pretty(&doc) } else { serde_json::to_vec(&doc) }.expect("encodes");
            if let Some((at, byte, insert)) = corrupt {
                let at = at.index(text.len() + 1);
                if insert || at == text.len() {
                    text.insert(at, byte);
                } else {
                    text[at] = byte;
                }
            }
            if let Some(cut) = truncate {
                text.truncate(cut.index(text.len() + 1));
            }
            let chunks = chunked(&text, &sizes);
            let (expected, expected_error) = sequential(&chunks, max);
            for guessing in [true, false] {
                let (lines, error, _) = blocked(&chunks, per_block, max, guessing);
                prop_assert_eq!(&lines, &expected, "{}", String::from_utf8_lossy(&text));
                prop_assert_eq!(&error, &expected_error);
            }
        }

        /// Blocks of many rows of one shape with odd rows among them (see [`shaped_row`]):
        /// a guessed block's splitter starts with a fresh scanner, the exact one with the
        /// shapes of every row before, and both give the sequential lines and errors, which
        /// are serde_json's verdict on the whole array.
        #[test]
        fn blocks_of_one_shape_with_odd_rows_give_the_sequential_lines_and_serde_jsons_verdict(
            lengths in prop::collection::vec(0usize..150, 20..120),
            odd in prop::collection::vec((any::<prop::sample::Index>(), prop::sample::select(vec![
                &b"a\\\"}"[..], b"\\\\", b"\\\\\\\"}", b"\xc3\xa9", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\\u0041",
            ]), prop::sample::select(vec![&b""[..], b"\xff", b"\xc3\xa9", b"\xc3", b"ok"])), 0..4),
            sizes in prop::collection::vec(prop_oneof![1usize..64, 200usize..3000], 0..200),
            per_block in 1usize..8,
        ) {
            let mut rows: Vec<Vec<u8>> = lengths.iter().enumerate().map(|(i, &t)| shaped_row(i, t, None)).collect();
            for (at, inner, bad) in &odd {
                let i = at.index(rows.len());
                rows[i] = shaped_row(i, lengths[i], Some((inner, bad)));
            }
            let text = [&b"["[..], &rows.join(&b","[..]), b"]"].concat();
            let serde: Option<Vec<u8>> = serde_json::from_slice::<Vec<&serde_json::value::RawValue>>(&text)
                .ok()
                .map(|raws| raws.iter().flat_map(|raw| [raw.get().as_bytes(), b"\n"].concat()).collect());
            let chunks = chunked(&text, &sizes);
            let (expected, expected_error) = sequential(&chunks, 1 << 20);
            prop_assert_eq!(expected_error.is_none().then(|| expected.clone()), serde, "{}", String::from_utf8_lossy(&text));
            for guessing in [true, false] {
                let (lines, error, _) = blocked(&chunks, per_block, 1 << 20, guessing);
                prop_assert_eq!(&lines, &expected, "{}", String::from_utf8_lossy(&text));
                prop_assert_eq!(&error, &expected_error);
            }
        }
    }
}
