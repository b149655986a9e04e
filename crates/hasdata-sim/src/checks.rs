//! The request checks: what the real API is documented to refuse, and nothing more.
//!
//! Written from the docs and the facts sheet (`api-facts.md`), not from the client's model, so
//! a rule the client invented cannot hide in both. Each rule names its evidence; a rule that is
//! only inferred (closed enums, date formats, numbers sent as strings) is not a rule here: the
//! simulator accepts the body, as the real API may. Every problem is reported at once, in the
//! API's 422 shape `{status: "error", message, errors: [{field, message}]}`.

use serde_json::{Value, json};

use crate::scrapers::Scraper;

/// The webhook events the docs list (V seed).
pub const WEBHOOK_EVENTS: [&str; 3] = [
    "scraper.job.started",
    "scraper.data.scraped",
    "scraper.job.finished",
];

/// One refused field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The field's path (`urls[0]`, `webhook.url`).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

fn problem(field: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem {
        field: field.into(),
        message: message.into(),
    }
}

/// The 422 body listing `problems`.
pub fn refusal(problems: &[Problem]) -> Value {
    let errors: Vec<Value> = problems
        .iter()
        .map(|p| json!({"field": p.field, "message": p.message}))
        .collect();
    json!({"status": "error", "message": "Validation failed", "errors": errors})
}

/// Whether `text` is an absolute http(s) URL with a host, read as a web server reads one (the
/// WHATWG URL standard, as browsers and Node's `URL` do): an international domain name, a space
/// or a non-ASCII character in the path are accepted and encoded, as the real API's stack most
/// likely does; RFC 3986's stricter grammar (`http::Uri`) refused them, which made the
/// simulator refuse bodies no evidence says HasData refuses.
fn web_url(text: &str) -> Result<&'static str, String> {
    let url = url::Url::parse(text).map_err(|e| format!("{text:?} is not a valid URL ({e})"))?;
    let scheme = match url.scheme() {
        "https" => "https",
        "http" => "http",
        other => return Err(format!("{text:?}: scheme {other:?} is not http or https")),
    };
    match url.host_str() {
        Some(host) if !host.is_empty() => Ok(scheme),
        _ => Err(format!("{text:?} has no host")),
    }
}

/// Checks a submit body (already known to be a JSON object) for `scraper`. Returns every
/// problem, in body order of the rules below.
pub fn check(scraper: Scraper, body: &Value, allow_http_webhooks: bool) -> Vec<Problem> {
    let mut problems = Vec::new();
    // `urls` is required for crawler and contacts, and each is a URL to fetch (V).
    if scraper.needs_urls() {
        match body.get("urls") {
            None | Some(Value::Null) => problems.push(problem("urls", "urls is required")),
            Some(Value::Array(urls)) if urls.is_empty() => {
                problems.push(problem("urls", "urls must list at least one URL"));
            }
            Some(Value::Array(urls)) => {
                for (i, url) in urls.iter().enumerate() {
                    let field = format!("urls[{i}]");
                    match url.as_str() {
                        Some(text) => {
                            if let Err(e) = web_url(text) {
                                problems.push(problem(field, e));
                            }
                        }
                        None => problems.push(problem(field, "must be a string")),
                    }
                }
            }
            Some(_) => problems.push(problem("urls", "urls must be an array of URLs")),
        }
    }
    // `limit` is a whole number, 0 meaning no cap (V). A digit string is taken as the number
    // it spells: nothing says the API refuses one.
    if let Some(limit) = body.get("limit")
        && !limit.is_null()
        && limit_value(limit).is_none()
    {
        problems.push(problem(
            "limit",
            format!("limit must be a whole number from 0, got {limit}"),
        ));
    }
    if let Some(hook) = body.get("webhook")
        && !hook.is_null()
    {
        check_webhook(hook, allow_http_webhooks, &mut problems);
    }
    problems
}

/// The row cap a `limit` value asks for: a non-negative integer, or a string of digits.
pub fn limit_value(limit: &Value) -> Option<u64> {
    match limit {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `webhook: {url (https), events: [...], headers: {...}}` (V seed).
fn check_webhook(hook: &Value, allow_http: bool, problems: &mut Vec<Problem>) {
    let Some(fields) = hook.as_object() else {
        problems.push(problem("webhook", "webhook must be an object"));
        return;
    };
    match fields.get("url").and_then(Value::as_str) {
        None => problems.push(problem("webhook.url", "webhook.url is required")),
        Some(url) => match web_url(url) {
            Ok("https") => {}
            Ok(_) if allow_http => {}
            Ok(_) => problems.push(problem("webhook.url", "webhook.url must use https")),
            Err(e) => problems.push(problem("webhook.url", e)),
        },
    }
    match fields.get("events") {
        None | Some(Value::Null) => {}
        Some(Value::Array(events)) => {
            for (i, event) in events.iter().enumerate() {
                if !event.as_str().is_some_and(|e| WEBHOOK_EVENTS.contains(&e)) {
                    problems.push(problem(
                        format!("webhook.events[{i}]"),
                        format!(
                            "unknown event {event}: allowed values are {}",
                            WEBHOOK_EVENTS.join(", ")
                        ),
                    ));
                }
            }
        }
        Some(_) => problems.push(problem(
            "webhook.events",
            "webhook.events must be an array of event names",
        )),
    }
    match fields.get("headers") {
        None | Some(Value::Null | Value::Object(_)) => {}
        Some(_) => problems.push(problem(
            "webhook.headers",
            "webhook.headers must be an object of header names and values",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(slug: &str, body: Value) -> Vec<String> {
        check(Scraper::from_slug(slug).unwrap(), &body, false)
            .into_iter()
            .map(|p| p.field)
            .collect()
    }

    #[test]
    fn urls_are_read_as_web_servers_read_them() {
        for good in [
            "https://bücher.example/a",
            "https://xn--bcher-kva.example/",
            "https://a.example/ä ö",
            "https://a.example/x\u{0}y",
            "http://[::1]:8080/",
            "HTTPS://A.EXAMPLE",
        ] {
            assert_eq!(
                fields("contacts", json!({"urls": [good]})),
                Vec::<String>::new(),
                "{good}"
            );
        }
        for bad in [
            "not a url",
            "ftp://a.example",
            "https://",
            "https://a.example:99999/",
            "mailto:a@b.example",
            "/relative",
        ] {
            assert_eq!(
                fields("contacts", json!({"urls": [bad]})),
                ["urls[0]"],
                "{bad}"
            );
        }
    }

    #[test]
    fn documented_rules_refuse_and_report_every_problem() {
        assert_eq!(fields("contacts", json!({})), ["urls"]);
        assert_eq!(fields("crawler", json!({"urls": []})), ["urls"]);
        assert_eq!(
            fields(
                "crawler",
                json!({"urls": ["not a url", "ftp://x", "", 3], "limit": -5,
                       "webhook": {"url": "http://hooks.example", "events": ["nope"], "headers": []}})
            ),
            [
                "urls[0]",
                "urls[1]",
                "urls[2]",
                "urls[3]",
                "limit",
                "webhook.url",
                "webhook.events[0]",
                "webhook.headers"
            ]
        );
    }

    #[test]
    fn inferred_rules_are_not_enforced() {
        for (slug, body) in [
            (
                "crawler",
                json!({"urls": ["https://a.example"], "proxyCountry": "ES", "maxDepth": "3",
                               "limit": "10", "includePaths": "/(?<year>\\d{4})/.+/i"}),
            ),
            (
                "sec-edgar",
                json!({"startDate": "2024-01", "filingTypes": ["10-K"]}),
            ),
            ("zillow", json!({"price": {"min": "100000"}})),
            ("google-serp", json!({})),
            (
                "contacts",
                json!({"urls": ["https://a.example"],
                                "webhook": {"url": "https://h.example", "headers": {"x-n": 5}}}),
            ),
        ] {
            assert_eq!(
                fields(slug, body.clone()),
                Vec::<String>::new(),
                "{slug} {body}"
            );
        }
    }

    #[test]
    fn http_webhooks_only_when_allowed() {
        let body =
            json!({"urls": ["https://a.example"], "webhook": {"url": "http://127.0.0.1:9/h"}});
        let contacts = Scraper::from_slug("contacts").unwrap();
        assert_eq!(check(contacts, &body, false).len(), 1);
        assert!(check(contacts, &body, true).is_empty());
    }
}
