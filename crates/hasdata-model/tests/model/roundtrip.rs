//! For every body and row type of all 20 scrapers: encode then decode is the identity,
//! unknown fields survive, and the encoded value validates against the published schema.

use hasdata_model::{Scraper, ScraperKind, ScraperVisitor, decode};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

use crate::gen_from_schema::{Options, values};
use crate::{schema, schema_errors};

/// Round-trips generated JSON through one scraper's body type. Bodies leave unset fields out
/// and have no lenient fields, so the encoded JSON must equal the input exactly.
struct BodyRoundTrip(Value);

impl ScraperVisitor for BodyRoundTrip {
    type Output = Result<Value, String>;
    fn visit<S: Scraper>(self) -> Self::Output {
        let body: S::Body = decode::from_value(&self.0).map_err(|e| e.to_string())?;
        let encoded = serde_json::to_value(&body).map_err(|e| e.to_string())?;
        let again: S::Body = decode::from_value(&encoded).map_err(|e| e.to_string())?;
        if again != body {
            return Err(format!(
                "decode(encode(body)) != body: {again:?} vs {body:?}"
            ));
        }
        Ok(encoded)
    }
}

/// Round-trips generated JSON through one scraper's row type. Rows decode leniently (a count
/// sent as `"5"` encodes as `5`), so the identity is checked on the typed value, and unknown
/// keys must come back exactly as sent.
struct RowRoundTrip(Value);

impl ScraperVisitor for RowRoundTrip {
    type Output = Result<Value, String>;
    fn visit<S: Scraper>(self) -> Self::Output {
        let row: S::Row = decode::from_value(&self.0).map_err(|e| e.to_string())?;
        let encoded = serde_json::to_value(&row).map_err(|e| e.to_string())?;
        let again: S::Row = decode::from_value(&encoded).map_err(|e| e.to_string())?;
        if again != row {
            return Err(format!("decode(encode(row)) != row: {again:?} vs {row:?}"));
        }
        Ok(encoded)
    }
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    })
}

fn declared_properties(schema: &Value) -> Vec<String> {
    schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn every_body_round_trips_exactly_and_matches_its_schema() {
    for kind in ScraperKind::ALL.iter().copied() {
        let name = format!("body.{kind}");
        let schema = schema(&name);
        let strategy = values(&schema, &schema, Options { nulls: false });
        runner()
            .run(&strategy, |input| {
                let encoded = kind
                    .visit(BodyRoundTrip(input.clone()))
                    .map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
                prop_assert_eq!(&encoded, &input, "{} lost or changed something", name);
                let errors = schema_errors(&name, &encoded);
                prop_assert!(errors.is_empty(), "{}: {:?}", name, errors);
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn every_row_round_trips_keeps_unknown_fields_and_matches_its_schema() {
    for kind in ScraperKind::ALL.iter().copied() {
        let name = format!("row.{kind}");
        let schema = schema(&name);
        let declared = declared_properties(&schema);
        let strategy = values(&schema, &schema, Options { nulls: true });
        runner()
            .run(&strategy, |input| {
                let encoded = kind
                    .visit(RowRoundTrip(input.clone()))
                    .map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
                for (key, value) in input.as_object().into_iter().flatten() {
                    if !declared.contains(key) {
                        prop_assert_eq!(
                            encoded.get(key),
                            Some(value),
                            "{} dropped unknown {}",
                            name,
                            key
                        );
                    }
                }
                let errors = schema_errors(&name, &encoded);
                prop_assert!(errors.is_empty(), "{}: {:?}", name, errors);
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn generated_bodies_exercise_unknown_fields() {
    // Guards the generator itself: if it stopped producing unknown keys, the round-trip
    // property above would pass without checking that they survive.
    let schema = schema("body.contacts");
    let strategy = values(&schema, &schema, Options { nulls: false });
    let mut runner = runner();
    let found = (0..200).any(|_| {
        let value = strategy.new_tree(&mut runner).expect("generates").current();
        value.as_object().is_some_and(|o| {
            o.keys()
                .any(|k| k != "urls" && k != "limit" && k != "webhook")
        })
    });
    assert!(found, "the generator never produced an unknown field");
}

proptest! {
    #[test]
    fn counts_decode_from_any_integer_or_its_digit_string(n in any::<u64>()) {
        let from_number: hasdata_model::Count = serde_json::from_value(Value::from(n)).expect("integer");
        let from_text: hasdata_model::Count = serde_json::from_value(Value::from(n.to_string())).expect("digits");
        prop_assert_eq!(from_number.get(), n);
        prop_assert_eq!(from_text.get(), n);
        prop_assert_eq!(serde_json::to_value(&from_text).expect("encodes"), Value::from(n.to_string()), "kept as sent");
        prop_assert_eq!(from_number, from_text);
    }

    #[test]
    fn job_ids_keep_any_path_safe_text_and_echo_it(text in "\\PC{0,70}") {
        let decoded: Result<hasdata_model::JobId, _> = serde_json::from_value(Value::from(text.clone()));
        let trimmed = text.trim();
        let path_safe = !trimmed.is_empty()
            && trimmed.len() <= 38
            && trimmed.bytes().all(|b| b.is_ascii_graphic() && !b"/?#%".contains(&b));
        prop_assert_eq!(decoded.is_ok(), path_safe);
        if let Ok(id) = decoded {
            let canonical_number = trimmed.parse::<u64>().ok().filter(|n| n.to_string() == trimmed);
            prop_assert_eq!(id.as_u64(), canonical_number);
            prop_assert_eq!(id.to_string(), trimmed);
        }
    }

    #[test]
    fn validate_never_panics_on_any_json_body(body in crate::gen_from_schema::any_json(), index in 0usize..20) {
        let kind = ScraperKind::ALL[index];
        let _ = kind.validate_json(&body);
    }

    /// Bodies made of the scraper's own field names (and near misses) with any values: the
    /// check never panics, gives the same report twice, reports errors only for verified
    /// rules, and `Strict` refuses exactly when the report has any problem.
    #[test]
    fn checks_of_known_fields_with_any_values_are_deterministic(
        index in 0usize..20,
        picks in prop::collection::vec((0usize..64, crate::gen_from_schema::any_json(), any::<bool>()), 0..8),
    ) {
        let kind = ScraperKind::ALL[index];
        let names: Vec<&str> = field_names(kind);
        let mut body = serde_json::Map::new();
        for (pick, value, near_miss) in picks {
            let name = names[pick % names.len()];
            let key = if near_miss { name.to_uppercase() } else { name.to_owned() };
            body.insert(key, value);
        }
        let body = Value::Object(body);
        let first = kind.check_json(&body);
        let second = kind.check_json(&body);
        prop_assert_eq!(&first, &second);
        for problem in first.problems() {
            prop_assert!(!problem.path.is_empty() && !problem.message.is_empty());
            prop_assert_eq!(problem.is_error(), problem.evidence == hasdata_model::Evidence::Verified);
        }
        let strict = first.clone().with_mode(hasdata_model::ValidationMode::Strict);
        prop_assert_eq!(strict.into_result().is_err(), !first.is_empty());
    }
}

/// The wire names a scraper's body knows, from its field table.
fn field_names(kind: ScraperKind) -> Vec<&'static str> {
    struct Names;
    impl hasdata_model::ScraperVisitor for Names {
        type Output = Vec<&'static str>;
        fn visit<S: hasdata_model::Scraper>(self) -> Self::Output {
            <S::Body as hasdata_model::bodies::JobBody>::FIELDS
                .iter()
                .map(|f| f.wire)
                .collect()
        }
    }
    kind.visit(Names)
}
