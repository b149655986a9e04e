//! Decoding server responses with errors that name the field.
//!
//! serde_json's own errors give a line and column; in a 100-row page that is useless. These
//! helpers report the JSON path of the failing field (`data[37].data.emails`) and keep the first
//! bytes of the body, so a bad response can be understood from the error alone.

use std::fmt;

use serde::de::DeserializeOwned;

/// How much of a body an error keeps.
pub const SNIPPET_LIMIT: usize = 512;

/// A response that did not have the expected shape.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct DecodeError {
    /// The JSON path of the field that failed, `.` for the root.
    pub path: String,
    /// What serde expected and found there.
    pub message: String,
    /// The first bytes of the body (at most [`SNIPPET_LIMIT`]), as lossy UTF-8.
    pub snippet: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unexpected response at `{}`: {}",
            self.path, self.message
        )?;
        if !self.snippet.is_empty() {
            write!(f, " (body starts: {})", self.snippet)?;
        }
        Ok(())
    }
}

impl DecodeError {
    /// Prefixes the path, for a value that sits inside a larger document
    /// (`page 3 row 17` plus `data.emails`).
    pub fn within(mut self, prefix: &str) -> Self {
        self.path = if self.path == "." {
            prefix.to_owned()
        } else {
            format!("{prefix}.{}", self.path)
        };
        self
    }
}

/// Cuts a body down to a snippet, on a character boundary.
pub fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(SNIPPET_LIMIT * 4)]);
    let mut end = text.len().min(SNIPPET_LIMIT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut cut = text[..end].to_owned();
    // A cut body is longer than its snippet: lossy decoding never shortens text, so a body
    // past the bytes read is also past `end`.
    if end < text.len() {
        cut.push('…');
    }
    cut
}

fn path_text(path: &serde_path_to_error::Path) -> String {
    let text = path.to_string();
    if text.is_empty() {
        ".".to_owned()
    } else {
        text
    }
}

/// Decodes JSON bytes, naming the failing field.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| DecodeError {
        path: path_text(e.path()),
        message: e.inner().to_string(),
        snippet: snippet(bytes),
    })?;
    de.end().map_err(|e| DecodeError {
        path: ".".to_owned(),
        message: e.to_string(),
        snippet: snippet(bytes),
    })?;
    Ok(value)
}

/// Decodes a JSON value already parsed, naming the failing field.
pub fn from_value<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T, DecodeError> {
    serde_path_to_error::deserialize(value).map_err(|e| DecodeError {
        path: path_text(e.path()),
        message: e.inner().to_string(),
        snippet: snippet(value.to_string().as_bytes()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_is_capped_on_a_char_boundary() {
        let body = "é".repeat(2000);
        let cut = snippet(body.as_bytes());
        assert!(cut.len() <= SNIPPET_LIMIT + '…'.len_utf8());
        assert!(cut.ends_with('…'));
        assert_eq!(snippet(b"{}"), "{}");
    }

    #[test]
    fn a_body_past_the_limit_is_marked_cut_and_a_short_one_is_not() {
        let cut = snippet(&[b'a'; SNIPPET_LIMIT + 1]);
        assert_eq!(cut, format!("{}…", "a".repeat(SNIPPET_LIMIT)));
        let whole = snippet(&[b'a'; SNIPPET_LIMIT]);
        assert_eq!(whole, "a".repeat(SNIPPET_LIMIT));
        let huge = snippet(&vec![b'a'; SNIPPET_LIMIT * 8]);
        assert_eq!(huge.len(), SNIPPET_LIMIT + '…'.len_utf8());
    }

    #[test]
    fn errors_name_the_path_within_the_document_and_show_the_body() {
        let err = from_slice::<Vec<u32>>(b"[1, \"x\"]").unwrap_err();
        assert_eq!(err.path, "[1]");
        assert_eq!(err.within("page 3").path, "page 3.[1]");
        let root = from_slice::<u32>(b"\"x\"").unwrap_err();
        assert_eq!(root.path, ".");
        assert_eq!(root.clone().within("row 2").path, "row 2");
        assert_eq!(
            root.to_string(),
            format!(
                "unexpected response at `.`: {} (body starts: \"x\")",
                root.message
            )
        );
        let bare = DecodeError {
            snippet: String::new(),
            ..root
        };
        assert!(!bare.to_string().contains("body starts"), "{bare}");
        let value = from_value::<u32>(&serde_json::json!({"a": 1})).unwrap_err();
        assert_eq!(value.snippet, r#"{"a":1}"#);
        assert_eq!(from_value::<u32>(&serde_json::json!(4)), Ok(4));
        let trailing = from_slice::<u32>(b"4 5").unwrap_err();
        assert_eq!(trailing.path, ".");
    }
}
