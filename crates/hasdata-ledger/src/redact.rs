//! Webhook header values are secrets (they authenticate HasData to the receiver): they never
//! reach the ledger's storage.

use serde_json::Value;

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Replaces every value of `webhook.headers` in a body, and of `input.webhook.headers` in a
/// job record that echoes its body. Returns whether anything was replaced.
pub fn redact_body(value: &mut Value) -> bool {
    let mut redacted = false;
    let Some(object) = value.as_object_mut() else {
        return false;
    };
    if let Some(headers) = object.get_mut("webhook").and_then(|w| w.get_mut("headers")) {
        match headers {
            Value::Object(headers) => {
                for header in headers.values_mut() {
                    *header = Value::String(REDACTED.to_owned());
                    redacted = true;
                }
            }
            // Not the documented shape (an array of pairs, a "Name: value" string): the server
            // will refuse it, but the intent is stored before the POST, so it is redacted whole.
            Value::Null => {}
            other => {
                *other = Value::String(REDACTED.to_owned());
                redacted = true;
            }
        }
    }
    if let Some(input) = object.get_mut("input") {
        redacted |= redact_body(input);
    }
    redacted
}

/// `url` with its password replaced by `***`, for messages and `Debug`: handles
/// `postgres://user:secret@host/db` URLs, `?password=secret` parameters, and `password=secret`
/// in `key=value` connection strings.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_owned();
    // The userinfo of a URL: between "://" and the last '@' of the authority.
    if let Some(scheme_end) = out.find("://") {
        let rest = scheme_end + 3;
        let authority_end = out[rest..]
            .find(['/', '?', '#'])
            .map_or(out.len(), |i| rest + i);
        if let Some(at) = out[rest..authority_end].rfind('@') {
            let userinfo = &out[rest..rest + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest + colon + 1..rest + at, "***");
            }
        }
    }
    // `password=...` anywhere (a query parameter or a key=value pair), quoted or not.
    let mut search_from = 0;
    while let Some(found) = out[search_from..].find("password=") {
        let start = search_from + found + "password=".len();
        let end = if out[start..].starts_with('\'') {
            out[start + 1..]
                .find('\'')
                .map_or(out.len(), |i| start + 1 + i + 1)
        } else {
            out[start..]
                .find(|c: char| c == '&' || c == '#' || c.is_whitespace())
                .map_or(out.len(), |i| start + i)
        };
        out.replace_range(start..end, "***");
        search_from = start + 3;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Found by reasoning about the `ledger_intent` fuzz harness: headers in a shape the API
    /// does not document still carry the secret, and must not reach storage either.
    #[test]
    fn webhook_headers_in_an_undocumented_shape_are_redacted_whole() {
        for headers in [
            json!([["x-secret", "s3cret"]]),
            json!(["x-secret: s3cret"]),
            json!("x-secret: s3cret"),
        ] {
            let mut body = json!({"webhook": {"url": "https://h", "headers": headers}});
            assert!(redact_body(&mut body));
            assert_eq!(body["webhook"]["headers"], json!(REDACTED));
            assert!(!body.to_string().contains("s3cret"));
        }
        let mut body = json!({"webhook": {"url": "https://h", "headers": null}});
        assert!(!redact_body(&mut body), "nothing to hide in a null");
    }

    #[test]
    fn webhook_header_values_are_replaced_in_bodies_and_echoed_inputs() {
        let mut body = json!({"urls": ["https://a"], "webhook": {"url": "https://h", "headers": {"x-secret": "s3cret", "y": "t"}}});
        assert!(redact_body(&mut body));
        assert_eq!(body["webhook"]["headers"]["x-secret"], REDACTED);
        assert_eq!(body["webhook"]["headers"]["y"], REDACTED);
        assert_eq!(body["webhook"]["url"], "https://h");

        let mut record = json!({"id": 1, "input": {"webhook": {"headers": {"k": "v"}}}});
        assert!(redact_body(&mut record));
        assert!(!record.to_string().contains("\"v\""));

        let mut plain = json!({"urls": ["https://a"]});
        assert!(!redact_body(&mut plain));
        let mut odd = json!({"webhook": {"headers": "x-secret: s3cret"}});
        assert!(redact_body(&mut odd), "a string may carry the secret too");
        assert_eq!(odd["webhook"]["headers"], REDACTED);
    }

    #[test]
    fn passwords_never_survive_redaction() {
        for (url, shown) in [
            (
                "postgres://app:s3cret@db.example:5432/hasdata",
                "postgres://app:***@db.example:5432/hasdata",
            ),
            (
                "postgresql://app:p%40ss@db/x?sslmode=disable",
                "postgresql://app:***@db/x?sslmode=disable",
            ),
            (
                "postgres://db/x?user=app&password=s3cret&sslmode=require",
                "postgres://db/x?user=app&password=***&sslmode=require",
            ),
            (
                "host=db user=app password='s 3cret' dbname=x",
                "host=db user=app password=*** dbname=x",
            ),
            ("postgres://app@db/x", "postgres://app@db/x"),
            ("host=db password=s3cret", "host=db password=***"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }
}
