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

/// Where a block's in-string bits stand after a prefix xor of its quotes: bit `i` is the xor
/// of bits `0..=i` (a string's opening quote and body are inside it, its closing quote is not).
#[inline(always)]
fn prefix_xor(mut bits: u64) -> u64 {
    bits ^= bits << 1;
    bits ^= bits << 2;
    bits ^= bits << 4;
    bits ^= bits << 8;
    bits ^= bits << 16;
    bits ^= bits << 32;
    bits
}

/// The tokens of the input from the value's start on, a block at a time.
struct Tokens<'a, S> {
    how: S,
    input: &'a [u8],
    /// Where the block `tokens` holds starts.
    start: usize,
    /// The block's tokens not taken yet.
    tokens: u64,
    /// The first byte this reading gives up at (a backslash, a control character or a
    /// space outside strings): a token past it means the value holds it.
    limit: usize,
    /// All ones when the last block ended inside a string.
    in_string: u64,
    /// 1 when the last block ended with a byte of a number or literal.
    in_scalar: u64,
}

impl<S: Specials> Tokens<'_, S> {
    /// Reads the block after this one; `None` at the input's end.
    #[inline(always)]
    fn read(&mut self) -> Option<()> {
        let start = self.start.wrapping_add(64);
        let rest = self.input.get(start..).filter(|rest| !rest.is_empty())?;
        let classes = match rest.first_chunk::<64>() {
            Some(block) => self.how.classes(block),
            None => {
                // Padded with spaces: past the input's end nothing is a token.
                let mut block = [b' '; 64];
                block[..rest.len()].copy_from_slice(rest);
                self.how.classes(&block)
            }
        };
        self.start = start;
        let quote = classes.quote;
        let in_string = prefix_xor(quote) ^ self.in_string;
        self.in_string = ((in_string as i64) >> 63) as u64;
        let outside = !in_string;
        let scalar = !(classes.punctuation | quote | classes.space | classes.control) & outside;
        let scalar_starts = scalar & !((scalar << 1) | self.in_scalar);
        self.in_scalar = scalar >> 63;
        self.tokens = (classes.punctuation & outside) | (quote & in_string) | scalar_starts;
        let give_up = classes.backslash | classes.control | (classes.space & outside);
        if give_up != 0 {
            self.limit = self.limit.min(start + give_up.trailing_zeros() as usize);
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

/// Where the object or array starting at `start` ends, when it is in the common case this
/// reading takes (see the module's doc); `None` otherwise, whatever the reason. `stack` is
/// the scanner's, for the open containers.
#[inline(always)]
pub(super) fn container_end<S: Specials>(
    how: S,
    input: &[u8],
    start: usize,
    stack: &mut Vec<bool>,
) -> Option<usize> {
    let mut tokens = Tokens {
        how,
        input,
        start: start.wrapping_sub(64),
        tokens: 0,
        limit: usize::MAX,
        in_string: 0,
        in_scalar: 0,
    };
    let mut expect = Expect::Value;
    loop {
        let at = tokens.next()?;
        let byte = *input.get(at)?;
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
                return Some(at + 1);
            }
            expect = Expect::Next;
        }
    }
}
