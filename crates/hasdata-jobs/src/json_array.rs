//! Splits a JSON array arriving in chunks into its elements, holding only the element being
//! read. This is what lets a `data.json` of any size stream in constant memory: each element
//! is decoded and yielded as soon as its last byte arrives.

/// A document that is not one JSON array.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("data.json is not a JSON array: {0}")]
pub struct SplitError(String);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before `[`.
    Start,
    /// After `[` or an element's `,`: an element or `]` comes next.
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
    element: Vec<u8>,
    depth: u32,
    in_string: bool,
    escaped: bool,
    max_element: usize,
}

impl ArraySplitter {
    /// A splitter that refuses elements larger than `max_element` bytes.
    pub fn new(max_element: usize) -> Self {
        ArraySplitter {
            state: State::Start,
            element: Vec::new(),
            depth: 0,
            in_string: false,
            escaped: false,
            max_element,
        }
    }

    fn fail<T>(&self, what: String) -> Result<T, SplitError> {
        Err(SplitError(what))
    }

    /// Feeds a chunk; complete elements are appended to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<Vec<u8>>) -> Result<(), SplitError> {
        let mut i = 0;
        while i < chunk.len() {
            let byte = chunk[i];
            match self.state {
                State::Start | State::BeforeElement { .. } | State::AfterElement | State::End
                    if byte.is_ascii_whitespace() => {}
                State::Start if byte == b'[' => self.state = State::BeforeElement { first: true },
                State::Start => {
                    return self.fail(format!("expected '[', found {:?}", byte as char));
                }
                State::BeforeElement { first: true } if byte == b']' => self.state = State::End,
                State::BeforeElement { .. } if byte == b']' || byte == b',' => {
                    return self.fail(format!("expected an element, found {:?}", byte as char));
                }
                State::BeforeElement { .. } => {
                    self.state = State::InElement;
                    self.depth = 0;
                    self.in_string = false;
                    self.escaped = false;
                    continue; // read this byte as part of the element
                }
                State::InElement => {
                    if let Some(done) = self.element_byte(byte)? {
                        if done.complete_before {
                            // A scalar ended at a delimiter that belongs to the array.
                            out.push(std::mem::take(&mut self.element));
                            self.state = State::AfterElement;
                            continue;
                        }
                        out.push(std::mem::take(&mut self.element));
                        self.state = State::AfterElement;
                    }
                }
                State::AfterElement if byte == b',' => {
                    self.state = State::BeforeElement { first: false }
                }
                State::AfterElement if byte == b']' => self.state = State::End,
                State::AfterElement => {
                    return self.fail(format!("expected ',' or ']', found {:?}", byte as char));
                }
                State::End => {
                    return self.fail(format!(
                        "unexpected {:?} after the closing ']'",
                        byte as char
                    ));
                }
            }
            i += 1;
        }
        Ok(())
    }

    /// Reads one byte of an element; says when the element is complete.
    fn element_byte(&mut self, byte: u8) -> Result<Option<Done>, SplitError> {
        if self.in_string {
            self.element.push(byte);
            if self.escaped {
                self.escaped = false;
            } else if byte == b'\\' {
                self.escaped = true;
            } else if byte == b'"' {
                self.in_string = false;
                if self.depth == 0 {
                    return Ok(Some(Done {
                        complete_before: false,
                    }));
                }
            }
        } else {
            match byte {
                b'"' => {
                    self.in_string = true;
                    self.element.push(byte);
                }
                b'{' | b'[' => {
                    self.depth += 1;
                    self.element.push(byte);
                }
                b'}' | b']' if self.depth > 0 => {
                    self.depth -= 1;
                    self.element.push(byte);
                    if self.depth == 0 {
                        return Ok(Some(Done {
                            complete_before: false,
                        }));
                    }
                }
                b',' | b']' if self.depth == 0 => {
                    return Ok(Some(Done {
                        complete_before: true,
                    }));
                }
                b if b.is_ascii_whitespace() && self.depth == 0 => {
                    return Ok(Some(Done {
                        complete_before: false,
                    }));
                }
                b'}' => return self.fail("unbalanced '}'".into()),
                _ => self.element.push(byte),
            }
        }
        if self.element.len() > self.max_element {
            return self.fail(format!(
                "an element is larger than {} bytes",
                self.max_element
            ));
        }
        Ok(None)
    }

    /// Checks that the array was closed.
    pub fn finish(&self) -> Result<(), SplitError> {
        match self.state {
            State::End => Ok(()),
            _ => self.fail("the document ended before the closing ']'".into()),
        }
    }
}

struct Done {
    /// The byte that ended the element is the array's own delimiter, not part of the element.
    complete_before: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn split_in_chunks(text: &[u8], sizes: &[usize]) -> Result<Vec<Value>, SplitError> {
        let mut splitter = ArraySplitter::new(1 << 20);
        let mut out = Vec::new();
        let mut rest = text;
        let mut k = 0;
        while !rest.is_empty() {
            let n = sizes.get(k).copied().unwrap_or(7).clamp(1, rest.len());
            splitter.push(&rest[..n], &mut out)?;
            rest = &rest[n..];
            k += 1;
        }
        splitter.finish()?;
        Ok(out
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
    fn refuses_what_is_not_one_array() {
        for bad in [
            &b"{}"[..],
            b"[1,,2]",
            b"[1 2]",
            b"[1,]",
            b"[1] 2",
            b"[{\"a\": 1}",
        ] {
            assert!(
                split_in_chunks(bad, &[]).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let mut small = ArraySplitter::new(8);
        assert!(
            small
                .push(b"[\"a long string element\"]", &mut Vec::new())
                .is_err()
        );
    }

    proptest! {
        #[test]
        fn any_array_split_at_any_boundaries_gives_its_elements(
            rows in prop::collection::vec(
                prop_oneof![
                    any::<i64>().prop_map(Value::from),
                    "\\PC{0,12}".prop_map(Value::from),
                    prop::collection::btree_map("[a-z\"\\\\,\\]\\[{}]{1,5}", "\\PC{0,8}", 0..4)
                        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k, Value::from(v))).collect())),
                ],
                0..20,
            ),
            sizes in prop::collection::vec(1usize..40, 0..50),
            pretty in any::<bool>(),
        ) {
            let doc = Value::Array(rows);
            let text = if pretty { serde_json::to_vec_pretty(&doc) } else { serde_json::to_vec(&doc) }.expect("encodes");
            let elements = split_in_chunks(&text, &sizes).expect("splits");
            prop_assert_eq!(Value::Array(elements), doc);
        }
    }
}
