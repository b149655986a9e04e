//! Turning a non-2xx answer into a readable error.
//!
//! HasData's error bodies come in several shapes (`{message}`, `{error}`, `{errors: [...]}`,
//! `{status: "error", message, errors}`); some answers are not JSON at all (a proxy's HTML
//! page). [`ApiError::from_response_parts`] reads any of them.

use std::fmt;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode, header::RETRY_AFTER};
use serde_json::Value;

/// How much of an error body is kept.
pub const BODY_SNIPPET_LIMIT: usize = 512;

/// A non-2xx answer from the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The server's message, or the status text when the body had none.
    pub message: String,
    /// Individual problems listed in `errors` (a 422 names the allowed values there).
    pub details: Vec<String>,
    /// How long the server asked to wait before retrying, from `Retry-After`.
    pub retry_after: Option<Duration>,
    /// The start of the body (at most [`BODY_SNIPPET_LIMIT`] bytes, lossy UTF-8).
    pub body_snippet: String,
}

impl ApiError {
    /// Reads the status, `Retry-After` and body of an answer.
    pub fn from_response_parts(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Self {
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let (message, details) = match serde_json::from_slice::<Value>(body) {
            Ok(json) => message_and_details(&json),
            Err(_) => (None, Vec::new()),
        };
        let message = message
            .or_else(|| details.first().cloned())
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
        ApiError {
            status,
            message,
            details,
            retry_after,
            body_snippet: snippet(body),
        }
    }

    /// 401 or 403: the key is wrong, or credits ran out. Never worth retrying.
    pub fn is_auth(&self) -> bool {
        matches!(
            self.status,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        )
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}: {}", self.status.as_u16(), self.message)?;
        for detail in self.details.iter().filter(|d| **d != self.message) {
            write!(f, "; {detail}")?;
        }
        // A body in no known shape (a 422 listing allowed values under a key of its own)
        // is shown as sent: the server's own words are the best explanation there is. An
        // HTML error page from a proxy says nothing the status does not.
        let fallback = self.status.canonical_reason().unwrap_or("error");
        let body = self.body_snippet.trim();
        if self.details.is_empty()
            && self.message == fallback
            && !body.is_empty()
            && !body.starts_with('<')
        {
            write!(f, ": {body}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        // A blank message says nothing: let the next field or the status speak.
        Value::String(_) => None,
        Value::Object(object) => object
            .get("message")
            .or_else(|| object.get("error"))
            .or_else(|| object.get("msg"))
            .and_then(text_of)
            .map(|text| {
                match object
                    .get("field")
                    .or_else(|| object.get("path"))
                    .and_then(Value::as_str)
                {
                    Some(field) => format!("{field}: {text}"),
                    None => text,
                }
            }),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn message_and_details(json: &Value) -> (Option<String>, Vec<String>) {
    let message = json
        .get("message")
        .and_then(text_of)
        .or_else(|| json.get("error").and_then(text_of));
    let details = match json.get("errors") {
        Some(Value::Array(items)) => items.iter().filter_map(text_of).collect(),
        Some(Value::Object(fields)) => fields
            .iter()
            .filter_map(|(field, problem)| {
                let text = match problem {
                    Value::Array(items) => items
                        .iter()
                        .filter_map(text_of)
                        .collect::<Vec<_>>()
                        .join(", "),
                    other => text_of(other)?,
                };
                Some(format!("{field}: {text}"))
            })
            .collect(),
        Some(other) => text_of(other).into_iter().collect(),
        None => Vec::new(),
    };
    (message, details)
}

/// Reads `Retry-After`: a number of seconds, or an HTTP date (a date in the past means now).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The start of a body, cut on a character boundary.
pub fn snippet(body: &[u8]) -> String {
    let head = &body[..body.len().min(BODY_SNIPPET_LIMIT)];
    let mut text = String::from_utf8_lossy(head).into_owned();
    if body.len() > BODY_SNIPPET_LIMIT {
        // A multi-byte character cut in half became U+FFFD; drop it.
        while text.ends_with('\u{FFFD}') {
            text.pop();
        }
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(status: u16, body: &str) -> ApiError {
        ApiError::from_response_parts(
            StatusCode::from_u16(status).expect("status"),
            &HeaderMap::new(),
            body.as_bytes(),
        )
    }

    #[test]
    fn every_known_shape_gives_its_message() {
        assert_eq!(
            parse(401, r#"{"message": "Invalid API key"}"#).message,
            "Invalid API key"
        );
        assert_eq!(
            parse(403, r#"{"error": "Not enough credits"}"#).message,
            "Not enough credits"
        );
        let listed = parse(
            422,
            r#"{"errors": [{"field": "categories", "message": "must be one of: bar, cafe"}, "limit is too large"]}"#,
        );
        assert_eq!(listed.message, "categories: must be one of: bar, cafe");
        assert_eq!(
            listed.details,
            [
                "categories: must be one of: bar, cafe",
                "limit is too large"
            ]
        );
        let status_error = parse(
            422,
            r#"{"status": "error", "message": "Validation failed", "errors": {"urls": ["is required"]}}"#,
        );
        assert_eq!(status_error.message, "Validation failed");
        assert_eq!(status_error.details, ["urls: is required"]);
        assert_eq!(
            status_error.to_string(),
            "HTTP 422: Validation failed; urls: is required"
        );
        assert_eq!(
            parse(404, r#"{"error": {"message": "Job not found"}}"#).message,
            "Job not found"
        );
        // A shape no parser knows is shown verbatim, so a 422's allowed values are seen.
        let unknown = r#"{"detail": [{"loc": ["proxyCountry"], "allowed": ["US", "UK"]}]}"#;
        assert_eq!(
            parse(422, unknown).to_string(),
            format!("HTTP 422: Unprocessable Entity: {unknown}")
        );
        assert_eq!(
            parse(422, "proxyCountry must be one of US, UK").to_string(),
            "HTTP 422: Unprocessable Entity: proxyCountry must be one of US, UK"
        );
        assert_eq!(parse(503, "").to_string(), "HTTP 503: Service Unavailable");
        assert_eq!(
            parse(502, "<html>bad gateway</html>").to_string(),
            "HTTP 502: Bad Gateway"
        );
    }

    #[test]
    fn a_body_of_exactly_the_limit_is_not_cut() {
        let exact = "x".repeat(BODY_SNIPPET_LIMIT);
        assert_eq!(snippet(exact.as_bytes()), exact, "nothing cut, no ellipsis");
        let over = "x".repeat(BODY_SNIPPET_LIMIT + 1);
        assert!(snippet(over.as_bytes()).ends_with('…'));
    }

    #[test]
    fn only_401_and_403_are_auth_errors() {
        for status in [401, 403] {
            assert!(parse(status, "{}").is_auth(), "{status}");
        }
        for status in [400, 404, 422, 429, 500, 503] {
            assert!(!parse(status, "{}").is_auth(), "{status}");
        }
    }

    #[test]
    fn a_blank_message_gives_way_to_the_next_one() {
        assert_eq!(
            parse(500, r#"{"message": "   ", "error": "boom"}"#).message,
            "boom"
        );
        assert_eq!(
            parse(503, r#"{"message": ""}"#).message,
            "Service Unavailable",
            "nothing usable: the status's reason"
        );
    }

    #[test]
    fn non_json_bodies_fall_back_to_the_status_and_keep_a_snippet() {
        let html = parse(502, "<html><body>502 Bad Gateway</body></html>");
        assert_eq!(html.message, "Bad Gateway");
        assert!(html.body_snippet.contains("502 Bad Gateway"));
        let long = parse(500, &"x".repeat(10_000));
        assert_eq!(long.body_snippet.chars().count(), BODY_SNIPPET_LIMIT + 1);
        let cut = parse(500, &"é".repeat(1_000));
        assert!(!cut.body_snippet.contains('\u{FFFD}'));
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }
}
