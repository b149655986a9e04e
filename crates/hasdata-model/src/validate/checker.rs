//! The collector of problems, and the rules on text values (URLs, regexes, dates).

use serde_json::{Map, Value};

use super::{Evidence, Problem, Report, ValidateOptions};

/// Collects problems while a body is walked.
#[derive(Debug, Default)]
pub struct Checker {
    problems: Vec<Problem>,
    options: ValidateOptions,
}

impl Checker {
    /// A checker applying `options`.
    pub fn new(options: ValidateOptions) -> Self {
        Checker {
            problems: Vec::new(),
            options,
        }
    }

    /// Records a broken rule of this evidence at `path`: an error when the rule is verified,
    /// a warning otherwise.
    pub fn report(&mut self, path: &str, evidence: Evidence, message: impl Into<String>) {
        self.problems.push(Problem {
            path: if path.is_empty() {
                ".".to_owned()
            } else {
                path.to_owned()
            },
            message: message.into(),
            evidence,
            severity: evidence.severity(),
        });
    }

    /// Ends the walk.
    pub fn finish(self) -> Report {
        Report::new(self.problems)
    }

    /// The problems so far, for the walk's ordering step.
    pub(crate) fn problems_mut(&mut self) -> &mut Vec<Problem> {
        &mut self.problems
    }

    /// A webhook target: an https URL (verified: HasData calls https only), or http too when
    /// the options allow it (a local simulator).
    pub fn webhook_url(&mut self, path: &str, text: &str) {
        let allowed: &[&str] = if self.options.allow_http_webhooks {
            &["https", "http"]
        } else {
            &["https"]
        };
        self.url(path, text, allowed, Evidence::Verified);
    }

    /// An absolute http or https URL with a host.
    pub fn http_url(&mut self, path: &str, text: &str, evidence: Evidence) {
        self.url(path, text, &["http", "https"], evidence);
    }

    fn url(&mut self, path: &str, text: &str, schemes: &[&str], evidence: Evidence) {
        let wanted = if schemes == ["https"] {
            "an https URL"
        } else {
            "an http(s) URL"
        };
        match url::Url::parse(text) {
            Ok(url) if schemes.contains(&url.scheme()) && url.host().is_some() => {}
            Ok(url) if schemes.contains(&url.scheme()) => {
                self.report(
                    path,
                    evidence,
                    format!("expected {wanted} with a host, got {text:?}"),
                );
            }
            Ok(url) => self.report(
                path,
                evidence,
                format!(
                    "expected {wanted}, got scheme {:?} in {text:?}",
                    url.scheme()
                ),
            ),
            Err(e) => self.report(
                path,
                evidence,
                format!("expected {wanted}, got {text:?} ({e})"),
            ),
        }
    }

    /// A regular expression that compiles. The API's engine is not documented (it may well
    /// be JavaScript's), so a pattern this crate cannot compile is only a warning.
    pub fn regex(&mut self, path: &str, pattern: &str) {
        if let Err(e) = fancy_regex::Regex::new(pattern) {
            self.report(
                path,
                Evidence::Inferred,
                format!(
                    "this pattern does not compile as a regular expression here ({e}); the API's regex engine is not documented, so it is sent as written"
                ),
            );
        }
    }

    /// A calendar date written `YYYY-MM-DD`, with the evidence of the field's format.
    pub fn date(&mut self, path: &str, text: &str, evidence: Evidence) {
        if !is_calendar_date(text) {
            self.report(
                path,
                evidence,
                format!("expected a date as YYYY-MM-DD, got {text:?}; sent as written"),
            );
        }
    }

    /// `from` must not be later than `to`, when both are valid dates.
    pub fn date_order(
        &mut self,
        path: &str,
        from: Option<&str>,
        to: Option<&str>,
        evidence: Evidence,
    ) {
        if let (Some(from), Some(to)) = (from, to) {
            // ISO dates compare correctly as text.
            if is_calendar_date(from) && is_calendar_date(to) && from > to {
                self.report(
                    path,
                    evidence,
                    format!("expected a date on or after {from}, got {to}"),
                );
            }
        }
    }

    /// A text that should not be blank.
    pub fn non_blank(&mut self, path: &str, text: &str, evidence: Evidence) {
        if text.trim().is_empty() {
            self.report(path, evidence, "expected a non-empty string");
        }
    }

    /// A value from a closed list that is only known from the synchronous API: a value
    /// outside it is a warning, since the server's own 422 lists what it accepts.
    pub fn known_value(&mut self, path: &str, text: &str, known: &[&str], evidence: Evidence) {
        if known.contains(&text) {
            return;
        }
        let hint = known
            .iter()
            .find(|k| k.eq_ignore_ascii_case(text))
            .map(|k| format!(" (did you mean {k:?}? values are case-sensitive)"))
            .unwrap_or_default();
        let tail = match evidence {
            Evidence::Verified => String::new(),
            _ => "; sent as written: the server's answer lists the values it accepts".to_owned(),
        };
        self.report(
            path,
            evidence,
            format!(
                "expected one of {}, got {text:?}{hint}{tail}",
                known.join(", ")
            ),
        );
    }

    /// Each entry of a list of URLs (a string where the list belongs is left to the field's
    /// type check).
    pub fn http_urls(&mut self, body: &Map<String, Value>, key: &str, evidence: Evidence) {
        for (i, text) in texts(body, key) {
            self.http_url(&format!("{key}[{i}]"), text, evidence);
        }
    }

    /// A list the docs require to have at least one entry.
    pub fn non_empty_list(&mut self, body: &Map<String, Value>, key: &str, evidence: Evidence) {
        if matches!(body.get(key), Some(Value::Array(items)) if items.is_empty()) {
            self.report(
                key,
                evidence,
                "required: expected at least one entry, got an empty list",
            );
        }
    }

    /// A field that the synchronous API requires: its absence is a warning naming what the
    /// scraper probably needs. `any_of` lists alternatives (`placeIds` or `dataIds`).
    pub fn probably_needs(
        &mut self,
        body: &Map<String, Value>,
        slug: &str,
        any_of: &[&str],
        why: &str,
    ) {
        let present = any_of
            .iter()
            .any(|key| !matches!(body.get(*key), None | Some(Value::Null)));
        if !present {
            let names = any_of
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(" or ");
            self.report(
                any_of.first().copied().unwrap_or("."),
                Evidence::Inferred,
                format!("{slug} probably needs {names} ({why}); sent as written"),
            );
        }
    }
}

/// The text of a field, when it is text.
pub(crate) fn text<'a>(body: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    body.get(key).and_then(Value::as_str)
}

/// The text entries of a list field, with their indexes (other entries are the type check's).
pub(crate) fn texts<'a>(body: &'a Map<String, Value>, key: &str) -> Vec<(usize, &'a str)> {
    match body.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| item.as_str().map(|s| (i, s)))
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether `text` is a real date in the form `YYYY-MM-DD`.
pub fn is_calendar_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    if !text.is_ascii() || bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return false;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = &text[range];
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let (Some(year), Some(month), Some(day)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days_in_month).contains(&day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_dates() {
        for good in ["2024-01-01", "2024-02-29", "2000-02-29", "1999-12-31"] {
            assert!(is_calendar_date(good), "{good}");
        }
        for bad in [
            "2023-02-29",
            "1900-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-1-01",
            "24-01-01",
            "2024/01/01",
            "2024-01-32",
            "",
            "2024-01-0a",
            "２０２４-01-01",
            "1é3-01-01x",
            "20é-01-012",
        ] {
            assert!(!is_calendar_date(bad), "{bad}");
        }
    }
}
