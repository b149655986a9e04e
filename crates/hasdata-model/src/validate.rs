//! Checking a request body before it is sent.
//!
//! A body that the server would reject costs a round trip at best and, for a bulk submit, a
//! confusing 422 long after the mistake. `validate()` finds every problem at once and names the
//! field path (`urls[1]`, `webhook.url`) and the rule broken.

use std::collections::BTreeMap;
use std::fmt;

use crate::open_enum::OpenEnum;

/// One broken rule in one field.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldError {
    /// Where the problem is, as a path from the body's root: `urls[1]`, `webhook.url`.
    pub path: String,
    /// What was expected, and what was found.
    pub rule: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.rule)
    }
}

/// Every problem found in a body; never empty.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors {
    errors: Vec<FieldError>,
}

impl ValidationErrors {
    /// The problems, in field order.
    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// The paths of the fields with problems.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.errors.iter().map(|e| e.path.as_str())
    }

    /// Makes an error list of one problem.
    pub fn single(path: impl Into<String>, rule: impl Into<String>) -> Self {
        ValidationErrors {
            errors: vec![FieldError {
                path: path.into(),
                rule: rule.into(),
            }],
        }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.errors.len();
        write!(
            f,
            "invalid body ({count} problem{}): ",
            if count == 1 { "" } else { "s" }
        )?;
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

/// Choices that change what `validate()` accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ValidateOptions {
    /// Accept `http://` webhook URLs. HasData calls https URLs only; a local simulator
    /// calling a local receiver is the one place plain http makes sense.
    pub allow_http_webhooks: bool,
}

/// Collects problems while a body is walked.
#[derive(Debug, Default)]
pub struct Checker {
    errors: Vec<FieldError>,
    options: ValidateOptions,
}

impl Checker {
    /// A checker applying `options`.
    pub fn new(options: ValidateOptions) -> Self {
        Checker {
            errors: Vec::new(),
            options,
        }
    }

    /// A webhook target: https, or http too when the options allow it.
    pub fn webhook_url(&mut self, path: &str, text: &str) {
        if self.options.allow_http_webhooks {
            self.http_url(path, text);
        } else {
            self.https_url(path, text);
        }
    }

    /// Records a problem.
    pub fn fail(&mut self, path: &str, rule: impl Into<String>) {
        self.errors.push(FieldError {
            path: path.to_owned(),
            rule: rule.into(),
        });
    }

    /// Ends the walk: `Ok` when nothing was recorded.
    pub fn finish(self) -> Result<(), ValidationErrors> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors {
                errors: self.errors,
            })
        }
    }

    /// A string enum must hold one of its known values.
    pub fn known<E: OpenEnum>(&mut self, path: &str, value: &E) {
        if !value.is_known() {
            self.fail(
                path,
                format!(
                    "expected one of {}, got {:?}",
                    E::KNOWN.join(", "),
                    value.as_str()
                ),
            );
        }
    }

    /// A required list must have at least one entry.
    pub fn non_empty<T>(&mut self, path: &str, list: &[T]) {
        if list.is_empty() {
            self.fail(
                path,
                "required: expected at least one entry, got an empty list",
            );
        }
    }

    /// A required text must not be blank.
    pub fn non_blank(&mut self, path: &str, text: &str) {
        if text.trim().is_empty() {
            self.fail(path, "required: expected a non-empty string");
        }
    }

    /// Each entry must be an absolute http or https URL.
    pub fn http_urls(&mut self, path: &str, urls: &[String]) {
        for (i, url) in urls.iter().enumerate() {
            self.http_url(&format!("{path}[{i}]"), url);
        }
    }

    /// An absolute http or https URL with a host.
    pub fn http_url(&mut self, path: &str, text: &str) {
        match url::Url::parse(text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {}
            Ok(url) => self.fail(
                path,
                format!(
                    "expected an http(s) URL, got scheme {:?} in {text:?}",
                    url.scheme()
                ),
            ),
            Err(e) => self.fail(path, format!("expected an http(s) URL, got {text:?} ({e})")),
        }
    }

    /// An absolute https URL with a host (webhook targets: the API calls only https).
    pub fn https_url(&mut self, path: &str, text: &str) {
        match url::Url::parse(text) {
            Ok(url) if url.scheme() == "https" && url.host().is_some() => {}
            Ok(_) => self.fail(path, format!("expected an https URL, got {text:?}")),
            Err(e) => self.fail(path, format!("expected an https URL, got {text:?} ({e})")),
        }
    }

    /// A regular expression that compiles. The API's engine is not documented; fancy-regex
    /// accepts lookaround and backreferences, so a pattern is only refused when it is broken
    /// in any common dialect.
    pub fn regex(&mut self, path: &str, pattern: &str) {
        if let Err(e) = fancy_regex::Regex::new(pattern) {
            self.fail(
                path,
                format!("expected a regular expression that compiles: {e}"),
            );
        }
    }

    /// A calendar date written `YYYY-MM-DD`.
    pub fn date(&mut self, path: &str, text: &str) {
        if !is_calendar_date(text) {
            self.fail(path, format!("expected a date as YYYY-MM-DD, got {text:?}"));
        }
    }

    /// `from` must not be later than `to`, when both are valid dates.
    pub fn date_order(&mut self, path: &str, from: Option<&str>, to: Option<&str>) {
        if let (Some(from), Some(to)) = (from, to) {
            // ISO dates compare correctly as text.
            if is_calendar_date(from) && is_calendar_date(to) && from > to {
                self.fail(
                    path,
                    format!("expected a date on or after {from}, got {to}"),
                );
            }
        }
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

/// Rules that hold for a field's type wherever it appears: enums hold known values, floats are
/// finite, nested values are checked entry by entry. Every body field is walked with this.
pub trait CheckField {
    /// Records the problems of this value, found at `path`.
    fn check_field(&self, path: &str, checker: &mut Checker);
}

macro_rules! always_valid {
    ($($ty:ty),+) => {
        $( impl CheckField for $ty {
            fn check_field(&self, _: &str, _: &mut Checker) {}
        } )+
    };
}

always_valid!(String, bool, u32, u64, serde_json::Value);

impl CheckField for f64 {
    fn check_field(&self, path: &str, checker: &mut Checker) {
        if !self.is_finite() {
            checker.fail(path, format!("expected a finite number, got {self}"));
        }
    }
}

impl<T: CheckField> CheckField for Option<T> {
    fn check_field(&self, path: &str, checker: &mut Checker) {
        if let Some(value) = self {
            value.check_field(path, checker);
        }
    }
}

impl<T: CheckField> CheckField for Vec<T> {
    fn check_field(&self, path: &str, checker: &mut Checker) {
        for (i, value) in self.iter().enumerate() {
            value.check_field(&format!("{path}[{i}]"), checker);
        }
    }
}

impl<T: CheckField> CheckField for BTreeMap<String, T> {
    fn check_field(&self, path: &str, checker: &mut Checker) {
        for (key, value) in self {
            value.check_field(&format!("{path}.{key}"), checker);
        }
    }
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
