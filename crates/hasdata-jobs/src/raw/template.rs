//! A results page's wrapper as one template: its text around the row, with holes where its
//! ids, times and numbers go.
//!
//! The API writes every wrapper of a job from one template, and the values around the row
//! (a UUID `id` and `dataId`, timestamps with a fixed number of digits, the job's number) keep
//! their lengths from one wrapper to the next. So once the full walk ([`super::PageScan`]) has
//! read a wrapper, the next one's text before its row and after it is, byte for byte, this
//! one's, except inside those values. The [`super::Skeleton`] compares the bytes between values
//! and reads each value (a few steps each: five values, six pieces). Here the two stretches
//! of text around the row are checked whole instead, sixteen bytes a step with no branch: each
//! byte is either the template's own byte, or in a hole, where it is only held to what the
//! full walk's reading of that value allows:
//!
//! - inside a string without escapes (its quotes are the template's bytes): anything but `"`,
//!   `\` or a control character, so the string ends exactly where the template's does, as
//!   [`super::PageScan::skip`] finds it, with no escape to read;
//! - a positive integer's digits (`1`-`9` first, then `0`-`9`; the byte after it is the
//!   template's, neither a digit, `.`, `e` nor `E`): where the full walk ends it too.
//!
//! Any other value is kept as the template's bytes: equal bytes read the same. A wrapper that
//! differs anywhere else, or has a value of another length (a string's closing quote falls
//! inside a hole, or a hole's byte lands on the template's quote), fails the check, and the
//! skeleton, then the full walk, read it. So a wrapper the template takes has the same row,
//! id and end as the full walk finds.

use std::ops::Range;

use super::Slot;

/// Bytes checked in one step.
const LANES: usize = 16;

/// What sixteen bytes of a stretch must be: each byte `b` in `low..=low + span` (wrapping),
/// and not `"` or `\` where `text` is all ones.
#[derive(Clone, Copy)]
struct Lane {
    low: [u8; LANES],
    span: [u8; LANES],
    text: [u8; LANES],
}

/// One stretch of a wrapper's text (before its row, or after it): its length, and its lanes
/// (the last one padded with bytes that take anything).
#[derive(Default)]
struct Stretch {
    len: usize,
    lanes: Vec<Lane>,
}

impl Stretch {
    /// Builds the stretch `text`, whose holes are `holes` (ranges in it, each with the byte
    /// range a hole's first byte may take; the rest of a string's hole takes what its first
    /// takes, an integer's rest takes any digit).
    fn learn(&mut self, text: &[u8], holes: &[(Range<usize>, Hole)]) {
        self.len = text.len();
        self.lanes.clear();
        let taken = text.len().div_ceil(LANES);
        self.lanes.resize(
            taken,
            Lane {
                // Past the stretch: any byte.
                low: [0; LANES],
                span: [u8::MAX; LANES],
                text: [0; LANES],
            },
        );
        for (at, &byte) in text.iter().enumerate() {
            let lane = &mut self.lanes[at / LANES];
            lane.low[at % LANES] = byte;
            lane.span[at % LANES] = 0;
        }
        for (range, hole) in holes {
            for at in range.clone() {
                let lane = &mut self.lanes[at / LANES];
                let (low, span, text) = match hole {
                    // Anything a string's body holds without escapes: no control character,
                    // no `"`, no `\` (the page is UTF-8 already).
                    Hole::Text => (b' ', u8::MAX - b' ', u8::MAX),
                    Hole::Integer if at == range.start => (b'1', 8, 0),
                    Hole::Integer => (b'0', 9, 0),
                };
                lane.low[at % LANES] = low;
                lane.span[at % LANES] = span;
                lane.text[at % LANES] = text;
            }
        }
    }

    /// Whether `input` from `at` on holds this stretch.
    #[inline(always)]
    fn holds(&self, input: &[u8], at: usize) -> bool {
        let Some(rest) = input.get(at..).filter(|rest| rest.len() >= self.len) else {
            return false;
        };
        let mut bad = [0u8; LANES];
        for (index, lane) in self.lanes.iter().enumerate() {
            let from = index * LANES;
            let bytes = match rest.get(from..).and_then(<[u8]>::first_chunk::<LANES>) {
                Some(bytes) => *bytes,
                None => {
                    // The input ends within the padding (a page's last wrapper), which
                    // takes any byte.
                    let mut bytes = [0; LANES];
                    let tail = rest.get(from..).unwrap_or_default();
                    bytes[..tail.len()].copy_from_slice(tail);
                    bytes
                }
            };
            for i in 0..LANES {
                let byte = bytes[i];
                // Not 0 when the byte is outside its range (a saturating subtraction: one
                // step for each sixteen bytes), nor where a string's `"` or `\` is.
                let outside = byte.wrapping_sub(lane.low[i]).saturating_sub(lane.span[i]);
                let closes = if byte == b'"' || byte == b'\\' {
                    u8::MAX
                } else {
                    0
                };
                bad[i] |= outside | (lane.text[i] & closes);
            }
        }
        bad == [0; LANES]
    }
}

/// What a hole holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hole {
    /// A string's body, without escapes.
    Text,
    /// A positive integer's digits.
    Integer,
}

/// Where a wrapper's id lies, in the stretch before its row (`after_row` false) or after it.
#[derive(Clone, Copy, Debug)]
struct IdAt {
    after_row: bool,
    span: (usize, usize),
}

/// The last wrapper as a template (see the module's documentation).
#[derive(Default)]
pub(super) struct Template {
    /// Whether it holds a wrapper.
    ready: bool,
    /// From the wrapper's `{` to its row's first byte.
    before: Stretch,
    /// From just after its row to its `}`.
    after: Stretch,
    /// Its id's text, as the full walk takes it (a plain string's body, else its JSON text);
    /// `None`: no id, or `null`.
    id: Option<IdAt>,
    /// The holes of the stretch being learned (kept for their allocation).
    holes: Vec<(Range<usize>, Hole)>,
}

impl Template {
    /// Learns the wrapper `input[start..end]`, which the full walk (or the skeleton) just
    /// read, with its values `found` (slot, start, end, in order; its row among them once).
    pub(super) fn learn(
        &mut self,
        input: &[u8],
        start: usize,
        end: usize,
        found: &[(Slot, usize, usize)],
    ) {
        self.ready = false;
        let Some(&(_, row_start, row_end)) = found.iter().find(|(slot, ..)| *slot == Slot::Data)
        else {
            return;
        };
        self.id = None;
        for (after_row, from, to) in [(false, start, row_start), (true, row_end, end)] {
            self.holes.clear();
            for &(slot, value, value_end) in found {
                if value < from || value_end > to || slot == Slot::Data {
                    continue;
                }
                let hole = hole(&input[value..value_end]);
                if let Some(hole) = hole {
                    let body = match hole {
                        Hole::Text => value + 1 - from..value_end - 1 - from,
                        Hole::Integer => value - from..value_end - from,
                    };
                    self.holes.push((body, hole));
                }
                if slot == Slot::Id {
                    let text = &input[value..value_end];
                    self.id = match hole {
                        Some(Hole::Text) => Some((value + 1 - from, value_end - 1 - from)),
                        _ if text == b"null" => None,
                        _ => Some((value - from, value_end - from)),
                    }
                    .map(|span| IdAt { after_row, span });
                }
            }
            let stretch = if after_row {
                &mut self.after
            } else {
                &mut self.before
            };
            stretch.learn(&input[from..to], &self.holes);
        }
        self.ready = true;
    }

    /// Where the row starts, when `input` at `at` holds the stretch before it.
    #[inline(always)]
    pub(super) fn row_start(&self, input: &[u8], at: usize) -> Option<usize> {
        (self.ready && self.before.holds(input, at)).then_some(at + self.before.len)
    }

    /// Where the wrapper ends, when `input` just after its row (`row_end`) holds the
    /// stretch after it; and its id's span (see [`super::PageScan::id`]), the wrapper
    /// having started at `start`.
    #[inline(always)]
    pub(super) fn end(
        &self,
        input: &[u8],
        start: usize,
        row_end: usize,
    ) -> Option<(usize, Option<Range<usize>>)> {
        if !self.after.holds(input, row_end) {
            return None;
        }
        let id = self.id.map(|IdAt { after_row, span }| {
            let base = if after_row { row_end } else { start };
            base + span.0..base + span.1
        });
        Some((row_end + self.after.len, id))
    }
}

/// Which hole a value is, when it is one: a string without escapes (its body), a positive
/// integer without a leading zero (its digits); `None`: kept as the template's bytes.
fn hole(value: &[u8]) -> Option<Hole> {
    match value {
        [b'"', body @ .., b'"'] if !body.contains(&b'\\') => Some(Hole::Text),
        [b'1'..=b'9', rest @ ..] if rest.iter().all(u8::is_ascii_digit) => Some(Hole::Integer),
        _ => None,
    }
}
