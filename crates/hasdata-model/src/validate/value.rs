//! The walk over a body's JSON value: each field checked as its type would read it.
//!
//! A value of the wrong type is reported instead of stopping the walk, so one pass finds every
//! problem. A value the API can plausibly read anyway (a number written as text, `"3"` for a
//! depth) is a warning whatever the field's evidence: nothing documents that the API refuses
//! it. Any other mismatch carries the field's own evidence.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{Checker, Evidence};

/// How a field's type reads a JSON value; implemented by every type a body field can have.
pub trait CheckValue {
    /// What the type expects, for messages: `a whole number`, `a list of text`.
    fn expected() -> String;

    /// Records the problems of `value`, found at `path` in a field of evidence `field`.
    fn check_value(value: &Value, path: &str, field: Evidence, checker: &mut Checker);
}

/// One field of a body: its wire name, its evidence, whether the docs require it, and how its
/// type reads a value. The `job_body!` macro writes one per field.
#[derive(Clone, Copy)]
pub struct FieldSpec {
    /// The field's name on the wire.
    pub wire: &'static str,
    /// How well the field is documented for jobs.
    pub evidence: Evidence,
    /// Whether a body must carry it (an error when verified, a warning otherwise).
    pub required: bool,
    /// What the field's type expects.
    pub expected: fn() -> String,
    /// The field's type check.
    pub check: fn(&Value, &str, Evidence, &mut Checker),
}

impl std::fmt::Debug for FieldSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FieldSpec")
            .field("wire", &self.wire)
            .field("evidence", &self.evidence)
            .field("required", &self.required)
            .finish()
    }
}

/// What kind of JSON value this is, for messages.
pub(crate) fn kind_of(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("{b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the text {s:?}"),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// Records a type mismatch with the field's evidence.
fn mismatch<T: CheckValue + ?Sized>(value: &Value, path: &str, field: Evidence, c: &mut Checker) {
    c.report(
        path,
        field,
        format!("expected {}, got {}", T::expected(), kind_of(value)),
    );
}

/// Records a number written as text: the API very probably reads it, so a warning.
fn number_as_text(path: &str, text: &str, c: &mut Checker) {
    c.report(
        path,
        Evidence::Inferred,
        format!("a number written as text ({text:?}); sent as written: the API probably reads it as a number"),
    );
}

impl CheckValue for String {
    fn expected() -> String {
        "text".to_owned()
    }

    fn check_value(value: &Value, path: &str, field: Evidence, c: &mut Checker) {
        match value {
            Value::String(_) => {}
            Value::Number(n) => c.report(
                path,
                Evidence::Inferred,
                format!("expected text, got the number {n}; sent as written: the API probably reads it as text"),
            ),
            other => mismatch::<Self>(other, path, field, c),
        }
    }
}

impl CheckValue for bool {
    fn expected() -> String {
        "true or false".to_owned()
    }

    fn check_value(value: &Value, path: &str, field: Evidence, c: &mut Checker) {
        match value {
            Value::Bool(_) => {}
            Value::String(s) if s == "true" || s == "false" => c.report(
                path,
                Evidence::Inferred,
                format!("a boolean written as text ({s:?}); sent as written: the API probably reads it as {s}"),
            ),
            other => mismatch::<Self>(other, path, field, c),
        }
    }
}

/// A whole number from 0 to `max`, as a number or (with a warning) as text.
fn check_whole(value: &Value, path: &str, field: Evidence, max: u64, c: &mut Checker) {
    let expected = || format!("a whole number from 0 to {max}");
    match value {
        Value::Number(n) => {
            let fits = match (n.as_u64(), n.as_f64()) {
                (Some(v), _) => v <= max,
                // 3.0 is a whole number too.
                (None, Some(f)) => f.fract() == 0.0 && f >= 0.0 && f <= max as f64,
                (None, None) => false,
            };
            if !fits {
                c.report(path, field, format!("expected {}, got {n}", expected()));
            }
        }
        Value::String(s) => match s.trim().parse::<f64>() {
            Ok(f) if f.fract() == 0.0 && f >= 0.0 && f <= max as f64 => number_as_text(path, s, c),
            _ => c.report(
                path,
                field,
                format!("expected {}, got {}", expected(), kind_of(value)),
            ),
        },
        other => c.report(
            path,
            field,
            format!("expected {}, got {}", expected(), kind_of(other)),
        ),
    }
}

impl CheckValue for u32 {
    fn expected() -> String {
        "a whole number".to_owned()
    }

    fn check_value(value: &Value, path: &str, field: Evidence, c: &mut Checker) {
        check_whole(value, path, field, u64::from(u32::MAX), c);
    }
}

impl CheckValue for u64 {
    fn expected() -> String {
        "a whole number".to_owned()
    }

    fn check_value(value: &Value, path: &str, field: Evidence, c: &mut Checker) {
        check_whole(value, path, field, u64::MAX, c);
    }
}

impl CheckValue for f64 {
    fn expected() -> String {
        "a number".to_owned()
    }

    fn check_value(value: &Value, path: &str, field: Evidence, c: &mut Checker) {
        match value {
            Value::Number(_) => {}
            Value::String(s) if s.trim().parse::<f64>().is_ok_and(f64::is_finite) => {
                number_as_text(path, s, c);
            }
            other => mismatch::<Self>(other, path, field, c),
        }
    }
}

impl CheckValue for Value {
    fn expected() -> String {
        "any JSON value".to_owned()
    }

    fn check_value(_: &Value, _: &str, _: Evidence, _: &mut Checker) {}
}

impl<T: CheckValue> CheckValue for Vec<T> {
    fn expected() -> String {
        format!("a list of {}", plural(&T::expected()))
    }

    fn check_value(value: &Value, path: &str, field: Evidence, c: &mut Checker) {
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    T::check_value(item, &format!("{path}[{i}]"), field, c);
                }
            }
            other => mismatch::<Self>(other, path, field, c),
        }
    }
}

impl<T: CheckValue> CheckValue for BTreeMap<String, T> {
    fn expected() -> String {
        format!("an object of {}", plural(&T::expected()))
    }

    fn check_value(value: &Value, path: &str, field: Evidence, c: &mut Checker) {
        match value {
            Value::Object(entries) => {
                for (key, item) in entries {
                    T::check_value(item, &format!("{path}.{key}"), field, c);
                }
            }
            other => mismatch::<Self>(other, path, field, c),
        }
    }
}

/// `a whole number` -> `whole numbers`, `a list of text` -> `lists of text`, `text` -> `text`,
/// for messages about lists.
fn plural(expected: &str) -> String {
    match expected {
        "true or false" => return "booleans".to_owned(),
        "any JSON value" => return "any JSON values".to_owned(),
        _ => {}
    }
    let Some(bare) = expected
        .strip_prefix("a ")
        .or_else(|| expected.strip_prefix("an "))
    else {
        return expected.to_owned();
    };
    match bare.split_once(" of ") {
        Some((head, tail)) => format!("{head}s of {tail}"),
        None => format!("{bare}s"),
    }
}

/// The first segment of a path: `urls` for `urls[2]`, `webhook` for `webhook.url`.
fn root(path: &str) -> &str {
    let end = path.find(['.', '[']).unwrap_or(path.len());
    &path[..end]
}

/// How far apart two names are (edits of one character), for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            current.push(
                (previous[j] + cost)
                    .min(previous[j + 1] + 1)
                    .min(current[j] + 1),
            );
        }
        previous = current;
    }
    previous[b.len()]
}

/// Checks a body given as JSON against its fields and its rules, and orders the problems by
/// field (the order of `fields`), the body itself first and unknown fields last.
pub fn check_body(
    slug: &str,
    body: &Value,
    fields: &[FieldSpec],
    rules: fn(&Map<String, Value>, &mut Checker),
    checker: &mut Checker,
) {
    let Value::Object(map) = body else {
        checker.report(
            ".",
            Evidence::Verified,
            format!("expected a JSON object, got {}", kind_of(body)),
        );
        return;
    };
    for spec in fields {
        match map.get(spec.wire) {
            None | Some(Value::Null) if spec.required => checker.report(
                spec.wire,
                spec.evidence,
                format!(
                    "missing: {slug} needs `{}` ({}){}",
                    spec.wire,
                    (spec.expected)(),
                    if spec.evidence == Evidence::Verified {
                        ""
                    } else {
                        "; sent as written"
                    }
                ),
            ),
            None => {}
            Some(Value::Null) => checker.report(
                spec.wire,
                Evidence::Inferred,
                "null; sent as written: the API probably reads it as not set",
            ),
            Some(value) => (spec.check)(value, spec.wire, spec.evidence, checker),
        }
    }
    for key in map.keys() {
        if fields.iter().any(|spec| spec.wire == key) {
            continue;
        }
        let close = fields
            .iter()
            .filter(|spec| key.len() >= 3 && distance(key, spec.wire) <= 2)
            .min_by_key(|spec| distance(key, spec.wire));
        if let Some(spec) = close {
            checker.report(
                key,
                Evidence::Inferred,
                format!(
                    "not a field this client knows for {slug}; did you mean `{}`? sent as written",
                    spec.wire
                ),
            );
        }
    }
    rules(map, checker);
    let rank = |path: &str| -> usize {
        let root = root(path);
        if root.is_empty() {
            return 0;
        }
        fields
            .iter()
            .position(|spec| spec.wire == root)
            .map_or(fields.len() + 1, |i| i + 1)
    };
    // A stable sort: within a field, problems stay in the order they were found.
    checker.problems_mut().sort_by_key(|p| rank(&p.path));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plural_forms() {
        assert_eq!(plural("text"), "text");
        assert_eq!(plural("a whole number"), "whole numbers");
        assert_eq!(plural("a number"), "numbers");
        assert_eq!(plural("a list of text"), "lists of text");
        assert_eq!(plural("true or false"), "booleans");
    }

    #[test]
    fn distances() {
        assert_eq!(distance("maxdepth", "maxDepth"), 0);
        assert_eq!(distance("url", "urls"), 1);
        assert_eq!(distance("", "abc"), 3);
    }

    #[test]
    fn each_type_says_what_it_expects() {
        assert_eq!(String::expected(), "text");
        assert_eq!(bool::expected(), "true or false");
        assert_eq!(u32::expected(), "a whole number");
        assert_eq!(u64::expected(), "a whole number");
        assert_eq!(f64::expected(), "a number");
        assert_eq!(Value::expected(), "any JSON value");
        assert_eq!(Vec::<u32>::expected(), "a list of whole numbers");
        assert_eq!(
            BTreeMap::<String, Vec<String>>::expected(),
            "an object of lists of text"
        );
    }
}
