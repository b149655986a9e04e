//! The fast reading of a container: its tokens found in bulk, 64 bytes a step, then walked.
//!
//! A byte-at-a-time scan is a chain: where the next token starts depends on where this one
//! ended, so each token waits for the last (a row of short strings and small numbers has a
//! token every six bytes). Here a block's tokens are found at once from its classes (see
//! [`super::block`]): which bytes are inside strings (a prefix xor of its quotes), and of the
//! rest, the punctuation, each string's opening quote and each number's or literal's first
//! byte. The walk then takes the tokens in order, checking the grammar on each, a key and
//! its colon in one step. A number or literal runs up to the next token, so its bytes are
//! known before they are read: short integers and the literals are compared whole, other
//! numbers read as the full scan reads them ([`super::number_end`]), off the chain.
//!
//! A row whose tokens are byte for byte the last row's (the usual case: rows of one job share
//! their keys and kinds of values) is not walked at all: its tokens are compared with the
//! last row's a block at a time ([`same_shape_end`]).
//!
//! It reads the common case only: no backslash and no control character in the value, no
//! whitespace between its tokens. Anything else (and anything wrong or cut short) makes it
//! give up, and the value is read again by the byte-at-a-time scan, which handles
//! everything and says what is wrong and where. So this reading never has to be right about
//! a value it refuses, only about the ones it accepts: those end where the full scan says
//! and have no whitespace to note.

use super::block::Specials;
use super::number_end;

/// What the grammar expects of the next token.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A value (after `:`, after `,` in an array).
    Value,
    /// After `{`: a key or `}`.
    FirstKey,
    /// After `[`: a value or `]`.
    FirstValue,
    /// After `,` in an object: a key.
    Key,
    /// After a value: `,` or the container's close.
    Next,
}

/// The tokens of the input from the value's start on, a block at a time.
struct Tokens<'a, S> {
    how: S,
    input: &'a [u8],
    /// Where the block `tokens` holds starts.
    start: usize,
    /// The block's tokens not taken yet.
    tokens: u64,
    /// The block's tokens that start a number or literal.
    scalars: u64,
    /// The block's bytes of numbers and literals (all of each one's bytes).
    runs: u64,
    /// The first byte this reading gives up at (a backslash, a control character or a
    /// space outside strings): a token past it means the value holds it.
    limit: usize,
    /// The first byte of 0x80 or above (past the input's end when there is none yet).
    first_high: usize,
    /// All ones when the last block ended inside a string.
    in_string: u64,
    /// 1 when the last block ended with a byte of a number or literal.
    in_scalar: u64,
    /// The input's last block, padded with spaces, once it has been read.
    tail: [u8; 64],
}

impl<'a, S: Specials> Tokens<'a, S> {
    /// Before the first block of a value starting at `start`.
    #[inline(always)]
    fn new(how: S, input: &'a [u8], start: usize) -> Self {
        Tokens {
            how,
            input,
            start: start.wrapping_sub(64),
            tokens: 0,
            scalars: 0,
            runs: 0,
            limit: usize::MAX,
            first_high: usize::MAX,
            in_string: 0,
            in_scalar: 0,
            tail: [b' '; 64],
        }
    }

    /// The bytes of the block [`Tokens::read`] read last, padded with spaces.
    #[inline(always)]
    fn block(&self) -> &[u8; 64] {
        self.input
            .get(self.start..)
            .and_then(<[u8]>::first_chunk::<64>)
            .unwrap_or(&self.tail)
    }

    /// Reads the block after this one; `None` at the input's end.
    #[inline(always)]
    fn read(&mut self) -> Option<()> {
        let start = self.start.wrapping_add(64);
        let rest = self.input.get(start..).filter(|rest| !rest.is_empty())?;
        let classes = match rest.first_chunk::<64>() {
            Some(block) => self.how.classes(block),
            None => {
                // Padded with spaces: past the input's end nothing is a token.
                self.tail = [b' '; 64];
                self.tail[..rest.len()].copy_from_slice(rest);
                self.how.classes(&self.tail)
            }
        };
        self.start = start;
        let quote = classes.quote;
        let in_string = self.how.prefix_xor(quote) ^ self.in_string;
        self.in_string = ((in_string as i64) >> 63) as u64;
        let outside = !in_string;
        let scalar = !(classes.punctuation | quote | classes.space | classes.control) & outside;
        let scalar_starts = scalar & !((scalar << 1) | self.in_scalar);
        self.in_scalar = scalar >> 63;
        self.scalars = scalar_starts;
        self.runs = scalar;
        self.tokens = (classes.punctuation & outside) | (quote & in_string) | scalar_starts;
        let give_up = classes.backslash | classes.control | (classes.space & outside);
        // One test for both: rows are mostly ASCII and need neither.
        if give_up | classes.high != 0 {
            if give_up != 0 {
                self.limit = self.limit.min(start + give_up.trailing_zeros() as usize);
            }
            if classes.high != 0 {
                self.first_high = self
                    .first_high
                    .min(start + classes.high.trailing_zeros() as usize);
            }
        }
        Some(())
    }

    /// Where the next token is, without taking it; `None` when there is none or it lies
    /// past [`Tokens::limit`].
    #[inline(always)]
    fn peek(&mut self) -> Option<usize> {
        while self.tokens == 0 {
            self.read()?;
        }
        let at = self.start + self.tokens.trailing_zeros() as usize;
        (at < self.limit).then_some(at)
    }

    /// Takes the next token.
    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        let at = self.peek()?;
        self.tokens &= self.tokens - 1;
        Some(at)
    }
}

/// Whether `text` (the bytes of a number or literal, up to the token after it) is one whole
/// number, `true`, `false` or `null`: short runs of digits directly, the rest as the full scan
/// reads them.
#[inline(always)]
fn is_scalar(input: &[u8], at: usize, end: usize) -> Option<()> {
    let text = input.get(at..end)?;
    match text {
        [b'1'..=b'9', rest @ ..] if rest.len() < 8 && rest.iter().all(u8::is_ascii_digit) => {
            Some(())
        }
        [b'0'..=b'9'] | b"null" | b"true" | b"false" => Some(()),
        [b'-' | b'0'..=b'9', ..] => (number_end(input, at).ok()? == end).then_some(()),
        _ => None,
    }
}

/// Whether each number or literal starting at the set bits of `starts` in `block` is an
/// integer without a leading zero, or `null` (the scalars of most rows), checked for the
/// whole block at once rather than one by one: `runs` are the bytes of numbers and literals
/// (a run of bytes that are not punctuation, quotes, whitespace or control characters,
/// outside strings), none running on into the next block. `false` says only that it is not
/// known: the caller then reads each one.
///
/// Every run in `runs` has its first byte in `starts`, except one that began in an earlier
/// block (read on its own by the caller): its bytes here must be digits.
#[inline(always)]
fn plain_scalars<S: Specials>(how: S, block: &[u8; 64], starts: u64, runs: u64) -> bool {
    if runs >> 63 != 0 {
        // It may go on in the next block.
        return false;
    }
    let digits = how.digits(block);
    let other = runs & !digits;
    let zeros = starts & how.equal(block, b'0');
    // A `0` that is not a run of its own has digits after it.
    let mut plain = zeros & (runs >> 1) == 0;
    if other != 0 {
        // Each `null`: its `n` starts a run, `ull` follows, and the run ends there; its four
        // bytes are then all the run's bytes that are not digits.
        let n = starts & how.equal(block, b'n');
        let l = how.equal(block, b'l');
        let null = n & (how.equal(block, b'u') >> 1) & (l >> 2) & (l >> 3);
        let null_bytes = null | (null << 1) | (null << 2) | (null << 3);
        // (An `n` that starts no `null` is left in `other`: no `null`'s bytes are `n`.)
        plain &= other == null_bytes && (null << 4) & runs == 0;
    }
    plain
}

/// Where the object or array starting at `start` ends, when it is in the common case this
/// reading takes (see the module's doc); `None` otherwise, whatever the reason. `stack` is
/// the scanner's, for the open containers; `shape` is left holding the value's [shape] when
/// it is read (more than [`MAX_SHAPE`] bytes: too long to keep).
///
/// [shape]: same_shape_end
#[inline(always)]
pub(super) fn container_end<S: Specials>(
    how: S,
    input: &[u8],
    start: usize,
    stack: &mut Vec<bool>,
    shape: &mut Vec<u8>,
    ascii: &mut bool,
) -> Option<usize> {
    shape.clear();
    let mut tokens = Tokens::new(how, input, start);
    let mut expect = Expect::Value;
    loop {
        let at = tokens.next()?;
        let byte = *input.get(at)?;
        if shape.len() <= MAX_SHAPE {
            shape.push(if byte == b'-' || byte.is_ascii_digit() {
                b'0'
            } else {
                byte
            });
        }
        let close = match (expect, byte) {
            (Expect::Next | Expect::FirstValue, b']') => {
                if stack.pop()? {
                    return None;
                }
                true
            }
            (Expect::Value | Expect::FirstValue, b'{') => {
                stack.push(true);
                expect = Expect::FirstKey;
                false
            }
            (Expect::Value | Expect::FirstValue, b'[') => {
                stack.push(false);
                expect = Expect::FirstValue;
                false
            }
            (Expect::Value | Expect::FirstValue, b'"') => {
                expect = Expect::Next;
                false
            }
            (Expect::Value | Expect::FirstValue, _) => {
                // It must run up to the next token, a `,` or a close: no token lies inside
                // it (its bytes are all of one run), and nothing but a token ends it.
                let end = tokens.peek()?;
                if !matches!(input.get(end), Some(b',' | b']' | b'}')) {
                    return None;
                }
                is_scalar(input, at, end)?;
                expect = Expect::Next;
                false
            }
            (Expect::FirstKey | Expect::Key, b'"') => {
                // A key and its colon, in one step.
                let colon = tokens.next()?;
                if input.get(colon) != Some(&b':') {
                    return None;
                }
                if shape.len() <= MAX_SHAPE {
                    shape.push(b':');
                }
                expect = Expect::Value;
                false
            }
            (Expect::Next, b',') => {
                expect = if *stack.last()? {
                    Expect::Key
                } else {
                    Expect::Value
                };
                false
            }
            (Expect::Next | Expect::FirstKey, b'}') => {
                if !stack.pop()? {
                    return None;
                }
                true
            }
            _ => return None,
        };
        if close {
            if stack.is_empty() {
                *ascii = tokens.first_high > at;
                return Some(at + 1);
            }
            expect = Expect::Next;
        }
    }
}

/// Values with more tokens than this leave no shape.
pub(super) const MAX_SHAPE: usize = 1024;

/// Where the object or array starting at `start` ends, when its tokens are byte for byte
/// those of an earlier value that [`container_end`] read (the first `len` bytes of `shape`,
/// which has 64 more after them: each token's byte, a number's first byte as `0`), in the
/// common case that reading takes; `None` otherwise.
///
/// Rows of one job mostly share their keys and the kinds of their values, so their tokens
/// match the last row's: the grammar walk over that sequence was already done and would
/// take the same steps, so the tokens are compared a block at a time (packed and compared
/// in a few instructions where the CPU can) instead of walked one by one. What the tokens
/// do not say is still checked: each number and literal is read, and no backslash, control
/// character or space outside strings may lie before the end.
#[inline(always)]
pub(super) fn same_shape_end<S: Specials>(
    how: S,
    input: &[u8],
    start: usize,
    shape: &[u8],
    len: usize,
    ascii: &mut bool,
) -> Option<usize> {
    let mut tokens = Tokens::new(how, input, start);
    let mut matched = 0;
    // A number or literal whose following token is in a later block.
    let mut scalar_from: Option<usize> = None;
    loop {
        tokens.read()?;
        let all = tokens.tokens;
        if all == 0 {
            continue;
        }
        if let Some(from) = scalar_from.take() {
            is_scalar(input, from, tokens.start + all.trailing_zeros() as usize)?;
        }
        let in_block = all.count_ones() as usize;
        let count = in_block.min(len - matched);
        // The block's first `count` tokens.
        let taken = if count == in_block {
            all
        } else {
            how.lowest_bits(all, count)
        };
        let expected = shape.get(matched..)?.first_chunk::<64>()?;
        if !how.tokens_are(tokens.block(), taken, expected) {
            return None;
        }
        let mut scalars = tokens.scalars & taken;
        if S::BULK_SCALARS && scalars != 0 {
            // The tokens after the value's end (the next row's) are not its own: only the
            // bytes before the first of them are looked at.
            let rest = all & !taken;
            let before = rest.wrapping_sub(1) & !rest;
            if plain_scalars(how, tokens.block(), scalars, tokens.runs & before) {
                scalars = 0;
            }
        }
        while scalars != 0 {
            let at = scalars.trailing_zeros();
            scalars &= scalars - 1;
            let after = all & (u64::MAX << at << 1);
            let from = tokens.start + at as usize;
            if after == 0 {
                scalar_from = Some(from);
            } else {
                is_scalar(input, from, tokens.start + after.trailing_zeros() as usize)?;
            }
        }
        matched += count;
        if matched == len {
            let end = tokens.start + (64 - taken.leading_zeros()) as usize;
            if end > tokens.limit {
                // Not this reading's value, whose real end may lie further on (an escaped
                // quote makes the quotes' in-string bits wrong): nothing is known of it.
                return None;
            }
            *ascii = tokens.first_high >= end;
            return Some(end);
        }
    }
}

impl super::Scanner {
    /// Forgets the block masks kept between calls ([`super::Scanner::string_end_in`]): for a
    /// scanner kept to read another input.
    pub(crate) fn new_input(&mut self) {
        self.base = super::NO_BLOCK;
    }

    /// Where the string whose body starts at `at` ends ([`super::string_end`]), through the
    /// block masks the scanner keeps between calls: for a walk over many short strings near
    /// each other outside any value's scan (a results page's wrapper objects: keys, ids,
    /// times), one block of 64 bytes is classified per 64 bytes walked, and each string's end
    /// is a shift and a count of zeros, rather than sixteen-byte steps from every string's
    /// start. `input` must be the same as in this scanner's other calls (one scanner per
    /// input): the masks kept describe it.
    #[inline(always)]
    pub(crate) fn string_end_in(&mut self, input: &[u8], at: usize) -> Result<usize, super::Stop> {
        #[cfg(target_arch = "x86_64")]
        let how = super::block::Sse2;
        #[cfg(not(target_arch = "x86_64"))]
        let how = super::block::Portable;
        self.string_end(how, input, at)
    }

    /// [`super::Scanner::string_end_in`] of a string without escapes: its end when the first `"`,
    /// `\` or control character from `at` is its closing quote; `None` when it holds a
    /// backslash or a control character, or the input ends first (then
    /// [`super::Scanner::string_end_in`] says which, and reads any escapes).
    #[inline(always)]
    pub(crate) fn plain_string_end_in(&mut self, input: &[u8], at: usize) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        let how = super::block::Sse2;
        #[cfg(not(target_arch = "x86_64"))]
        let how = super::block::Portable;
        let end = self.next_special(how, input, at);
        (input.get(end) == Some(&b'"')).then_some(end + 1)
    }
}
