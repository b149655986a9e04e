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
}
