//! Checking a request body before it is sent, by evidence.
//!
//! HasData's docs verify only a few rules for job bodies (`crawler` and `contacts` need `urls`,
//! URLs must parse, webhooks are https). Most of what this crate knows about bodies is taken
//! from the synchronous API for the same site and was never confirmed for jobs. Refusing a body
//! on such a rule would refuse bodies the API may well accept, so every rule carries its
//! [`Evidence`]: a broken *verified* rule is an error (nothing is sent), anything else is a
//! warning (the body is sent as written, and the server's own answer decides).
//!
//! The walk reads the JSON value, not a decoded struct, so it reports every problem of a body
//! at once, each with its path (`urls[1]`, `webhook.headers.x-n`), including values of the
//! wrong type.

use std::fmt;

mod checker;
mod value;

pub use checker::{Checker, is_calendar_date};
pub(crate) use checker::{text, texts};
pub(crate) use value::kind_of;
pub use value::{CheckValue, FieldSpec, check_body};

/// How well a rule is backed by HasData's own documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Evidence {
    /// HasData's docs or the API's own page state it (`V` in the facts file).
    Verified,
    /// Seen with the live API by people who used it, not in the docs (`C`).
    Community,
    /// Taken from the synchronous API for the same site; not confirmed for jobs (`I`).
    Inferred,
}

impl Evidence {
    /// `Evidence::V`: short form used in the body tables.
    pub const V: Evidence = Evidence::Verified;
    /// `Evidence::C`: short form used in the body tables.
    pub const C: Evidence = Evidence::Community;
    /// `Evidence::I`: short form used in the body tables.
    pub const I: Evidence = Evidence::Inferred;

    /// The one-letter mark: `V`, `C` or `I`.
    pub fn mark(self) -> &'static str {
        match self {
            Evidence::Verified => "V",
            Evidence::Community => "C",
            Evidence::Inferred => "I",
        }
    }

    /// A sentence for users saying where the rule comes from.
    pub fn note(self) -> &'static str {
        match self {
            Evidence::Verified => "Documented by HasData for jobs.",
            Evidence::Community => "Seen with the live API; not in HasData's docs.",
            Evidence::Inferred => "Taken from the synchronous API; not confirmed for jobs.",
        }
    }

    /// What breaking a rule of this evidence is: only a verified rule is an error.
    pub fn severity(self) -> Severity {
        match self {
            Evidence::Verified => Severity::Error,
            Evidence::Community | Evidence::Inferred => Severity::Warning,
        }
    }
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mark())
    }
}

impl serde::Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.mark())
    }
}

/// Whether a problem stops the body from being sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The body is refused; nothing is sent.
    Error,
    /// The body is sent as written; the problem is reported.
    Warning,
}

/// One broken rule in one field.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// Where the problem is, as a path from the body's root: `urls[1]`, `webhook.url`; `.`
    /// for the body itself.
    pub path: String,
    /// What was expected, and what was found.
    pub message: String,
    /// How well the broken rule is documented.
    pub evidence: Evidence,
    /// Error (nothing sent) or warning (sent as written).
    pub severity: Severity,
}

impl Problem {
    /// Whether this problem stops the body from being sent.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} [{}]", self.path, self.message, self.evidence)
    }
}

/// How strictly a body is checked before it is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ValidationMode {
    /// Errors refuse the body; warnings are reported and the body is sent as written.
    #[default]
    Default,
    /// Warnings refuse the body too.
    Strict,
    /// Nothing is checked: the body is sent untouched.
    Off,
}

/// Every problem found in a body, errors and warnings, in a stable order (by field, then as
/// found). Checking the same body twice gives the same report.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    problems: Vec<Problem>,
}

impl Report {
    /// A report of these problems.
    pub fn new(problems: Vec<Problem>) -> Self {
        Report { problems }
    }

    /// Every problem, errors and warnings together.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The problems that stop the body from being sent.
    pub fn errors(&self) -> Vec<&Problem> {
        self.problems.iter().filter(|p| p.is_error()).collect()
    }

    /// The problems reported while the body is sent as written.
    pub fn warnings(&self) -> Vec<&Problem> {
        self.problems.iter().filter(|p| !p.is_error()).collect()
    }

    /// Whether any problem is an error.
    pub fn has_errors(&self) -> bool {
        self.problems.iter().any(Problem::is_error)
    }

    /// Whether nothing at all was found.
    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    /// The report as `mode` reads it: `Strict` makes every warning an error, `Off` drops
    /// everything.
    pub fn with_mode(mut self, mode: ValidationMode) -> Self {
        match mode {
            ValidationMode::Default => {}
            ValidationMode::Strict => {
                for problem in &mut self.problems {
                    problem.severity = Severity::Error;
                }
            }
            ValidationMode::Off => self.problems.clear(),
        }
        self
    }

    /// `Ok` with the warnings when nothing is an error; the whole report as
    /// [`ValidationErrors`] otherwise.
    pub fn into_result(self) -> Result<Report, ValidationErrors> {
        if self.has_errors() {
            Err(ValidationErrors { report: self })
        } else {
            Ok(self)
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            let kind = if problem.is_error() {
                "error"
            } else {
                "warning"
            };
            write!(f, "{kind}: {problem}")?;
        }
        Ok(())
    }
}

/// A body refused before sending: its report has at least one error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors {
    report: Report,
}

impl ValidationErrors {
    /// The problems that refused the body, in field order.
    pub fn errors(&self) -> Vec<&Problem> {
        self.report.errors()
    }

    /// The warnings found alongside.
    pub fn warnings(&self) -> Vec<&Problem> {
        self.report.warnings()
    }

    /// The whole report.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// The paths of the fields with errors.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.report
            .problems
            .iter()
            .filter(|p| p.is_error())
            .map(|p| p.path.as_str())
    }

    /// A refusal of one problem (a body that is not JSON, for instance).
    pub fn single(path: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationErrors {
            report: Report::new(vec![Problem {
                path: path.into(),
                message: message.into(),
                evidence: Evidence::Verified,
                severity: Severity::Error,
            }]),
        }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self.errors();
        let count = errors.len();
        write!(
            f,
            "invalid body ({count} problem{}): ",
            if count == 1 { "" } else { "s" }
        )?;
        for (i, error) in errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{error}")?;
        }
        let warnings = self.warnings().len();
        if warnings > 0 {
            write!(
                f,
                " (and {warnings} warning{})",
                if warnings == 1 { "" } else { "s" }
            )?;
        }
        Ok(())
    }
}

/// Choices that change what a check accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ValidateOptions {
    /// Accept `http://` webhook URLs. HasData calls https URLs only; a local simulator
    /// calling a local receiver is the one place plain http makes sense.
    pub allow_http_webhooks: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(path: &str, evidence: Evidence) -> Problem {
        Problem {
            path: path.to_owned(),
            message: "bad".to_owned(),
            evidence,
            severity: evidence.severity(),
        }
    }

    #[test]
    fn a_refusal_lists_every_error_then_counts_the_warnings() {
        let report = Report::new(vec![
            problem("urls[0]", Evidence::V),
            problem("depth", Evidence::I),
            problem("webhook.url", Evidence::V),
        ]);
        assert_eq!(
            report.to_string(),
            "error: urls[0]: bad [V]; warning: depth: bad [I]; error: webhook.url: bad [V]"
        );
        let refused = report.into_result().expect_err("two errors");
        assert_eq!(
            refused.to_string(),
            "invalid body (2 problems): urls[0]: bad [V]; webhook.url: bad [V] (and 1 warning)"
        );
        let single = ValidationErrors::single(".", "not JSON");
        assert_eq!(
            single.to_string(),
            "invalid body (1 problem): .: not JSON [V]"
        );
        let warned = Report::new(vec![problem("a", Evidence::C), problem("b", Evidence::I)]);
        assert!(!warned.has_errors());
        let strict = warned.with_mode(ValidationMode::Strict).into_result();
        assert!(
            strict
                .expect_err("strict refuses warnings")
                .to_string()
                .ends_with("a: bad [C]; b: bad [I]"),
        );
    }
}
