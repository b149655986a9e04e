//! Splits a JSON array arriving in chunks into its elements, holding only the element being
//! read. This is what lets a `data.json` of any size stream in constant memory: each element
//! is yielded as soon as its last byte arrives.
//!
//! It is a scanner, not a parser: string bodies are skipped with `memchr2` (the next `"` or
//! `\`), and only the bytes between strings (brackets, commas, numbers, whitespace) are looked
//! at one by one. Elements come out with the whitespace between their tokens removed and every
//! other byte as it was sent (key order, number text, escapes), so a row read from `data.json`
//! has the same bytes as the same row read from a results page (see [`compact_into`]).
//! Whether an element is valid JSON is not checked here: the caller decodes or validates it.

use memchr::memchr2;

/// A document that is not one JSON array.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("data.json is not a JSON array: {0}")]
pub struct SplitError(String);

/// Elements split from one or more chunks: their compacted bytes back to back in one buffer,
/// so a chunk of a thousand rows costs one allocation, not a thousand.
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before `[`.
    Start,
    /// After `[` (`first`) or an element's `,`: an element (or, when first, `]`) comes next.
    BeforeElement { first: bool },
    /// Inside an element.
    InElement,
    /// After an element: `,` or `]` comes next.
    AfterElement,
    /// After the closing `]`.
    End,
}

/// The splitter.
#[derive(Debug)]
pub struct ArraySplitter {
    state: State,
    /// The start of an element that the previous chunk ended inside of, compacted.
    carry: Vec<u8>,
    depth: u32,
    in_string: bool,
    /// The previous chunk ended just after a `\` inside a string.
    escaped: bool,
    max_element: usize,
}

/// JSON's own whitespace (not `is_ascii_whitespace`, which also takes form feed).
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\n' | b'\r' | b'\t')
}

impl ArraySplitter {
    /// A splitter that refuses elements larger than `max_element` bytes (compacted).
    pub fn new(max_element: usize) -> Self {
        ArraySplitter {
            state: State::Start,
            carry: Vec::new(),
            depth: 0,
            in_string: false,
            escaped: false,
            max_element,
        }
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
        let mut i = 0;
        // The current element's first byte in `out.bytes`.
        let mut element_start = out.bytes.len();
        if self.state == State::InElement {
            out.bytes.extend_from_slice(&self.carry);
            self.carry.clear();
        }
        while i < chunk.len() {
            match self.state {
                State::InElement => {
                    let (next, done) = self.scan_element(chunk, i, &mut out.bytes);
                    i = next;
                    if done {
                        if out.bytes.len() - element_start > self.max_element {
                            return self.too_large();
                        }
                        out.ends.push(out.bytes.len());
                        self.state = State::AfterElement;
                    }
                }
                state => {
                    let byte = chunk[i];
                    i += 1;
                    if is_space(byte) {
                        continue;
                    }
                    match (state, byte) {
                        (State::Start, b'[') => self.state = State::BeforeElement { first: true },
                        (State::Start, _) => {
                            return Self::fail(format!("expected '[', found {:?}", byte as char));
                        }
                        (State::BeforeElement { first: true }, b']') => self.state = State::End,
                        (State::BeforeElement { .. }, b']' | b',') => {
                            return Self::fail(format!(
                                "expected an element, found {:?}",
                                byte as char
                            ));
                        }
                        (State::BeforeElement { .. }, _) => {
                            self.state = State::InElement;
                            self.depth = 0;
                            self.in_string = false;
                            self.escaped = false;
                            element_start = out.bytes.len();
                            i -= 1; // this byte is the element's first
                        }
                        (State::AfterElement, b',') => {
                            self.state = State::BeforeElement { first: false }
                        }
                        (State::AfterElement, b']') => self.state = State::End,
                        (State::AfterElement, _) => {
                            return Self::fail(format!(
                                "expected ',' or ']', found {:?}",
                                byte as char
                            ));
                        }
                        (State::End, _) => {
                            return Self::fail(format!(
                                "unexpected {:?} after the closing ']'",
                                byte as char
                            ));
                        }
                        (State::InElement, _) => unreachable!("handled above"),
                    }
                }
            }
        }
        if self.state == State::InElement {
            if out.bytes.len() - element_start > self.max_element {
                return self.too_large();
            }
            self.carry.extend_from_slice(&out.bytes[element_start..]);
            out.bytes.truncate(element_start);
        }
        Ok(())
    }

    /// Scans an element from `chunk[i..]`, appending its bytes (without the whitespace
    /// between tokens) to `out`. Returns where scanning stopped and whether the element
    /// ended there; the byte that ends a scalar (`,`, `]` or whitespace) is left unread.
    fn scan_element(&mut self, chunk: &[u8], mut i: usize, out: &mut Vec<u8>) -> (usize, bool) {
        // Bytes from `run` to `i` are part of the element and not yet copied.
        let mut run = i;
        if self.escaped {
            // The byte after a `\` that ended the previous chunk.
            self.escaped = false;
            i += 1;
        }
        while i < chunk.len() {
            if self.in_string {
                match memchr2(b'"', b'\\', &chunk[i..]) {
                    None => i = chunk.len(),
                    Some(at) if chunk[i + at] == b'\\' => {
                        if i + at + 1 < chunk.len() {
                            i += at + 2;
                        } else {
                            self.escaped = true;
                            i = chunk.len();
                        }
                    }
                    Some(at) => {
                        i += at + 1;
                        self.in_string = false;
                        if self.depth == 0 {
                            out.extend_from_slice(&chunk[run..i]);
                            return (i, true);
                        }
                    }
                }
                continue;
            }
            let byte = chunk[i];
            match byte {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' if self.depth > 0 => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        out.extend_from_slice(&chunk[run..=i]);
                        return (i + 1, true);
                    }
                }
                // A scalar ends at the array's own delimiter (or an unbalanced closer, which
                // the array's state then refuses).
                b',' | b']' | b'}' if self.depth == 0 => {
                    out.extend_from_slice(&chunk[run..i]);
                    return (i, true);
                }
                b if is_space(b) => {
                    out.extend_from_slice(&chunk[run..i]);
                    if self.depth == 0 {
                        return (i, true);
                    }
                    run = i + 1;
                }
                _ => {}
            }
            i += 1;
        }
        out.extend_from_slice(&chunk[run..i]);
        (i, false)
    }

    /// Checks that the array was closed.
    pub fn finish(&self) -> Result<(), SplitError> {
        match self.state {
            State::End => Ok(()),
            _ => Self::fail("the document ended before the closing ']'".into()),
        }
    }
}

/// Appends one complete JSON value's bytes to `out` without the whitespace between its
/// tokens: what [`ArraySplitter`] does to each element, for a row taken from a results page.
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
        splitter.finish()?;
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
        let long = b"[\"a long string element\"]";
        assert!(split_raw(long, &[100], 8).is_err());
        assert!(
            split_raw(long, &[1], 8).is_err(),
            "the limit holds across chunks"
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
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("[a-z\"\\\\,\\]\\[{}: ]{0,5}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_array_split_at_any_boundaries_gives_serde_jsons_elements(
            rows in prop::collection::vec(any_value(), 0..12),
            sizes in prop::collection::vec(1usize..40, 0..80),
            pretty in any::<bool>(),
        ) {
            let doc = Value::Array(rows.clone());
            let text = if pretty { serde_json::to_vec_pretty(&doc) } else { serde_json::to_vec(&doc) }.expect("encodes");
            let elements = split_raw(&text, &sizes, 1 << 20).expect("splits");
            // Byte for byte what serde_json writes for each element, compactly.
            let expected: Vec<Vec<u8>> = rows.iter().map(|r| serde_json::to_vec(r).expect("encodes")).collect();
            prop_assert_eq!(&elements, &expected);
            for (row, bytes) in rows.iter().zip(&expected) {
                let pretty_row = serde_json::to_vec_pretty(row).expect("encodes");
                let mut compacted = Vec::new();
                compact_into(&pretty_row, &mut compacted);
                prop_assert_eq!(&compacted, bytes);
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
