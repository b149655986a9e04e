//! hasdata-model's integration tests: one binary, one link step.

#![allow(clippy::unwrap_used)]

mod bad_input;
mod fixtures;
mod gen_from_schema;
mod roundtrip;
mod schema_honesty;
mod scrapers;
mod validation;

use serde_json::Value;

/// A fixture from `tests/fixtures/`, as bytes.
pub fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A fixture from `tests/fixtures/`, parsed.
pub fn fixture(name: &str) -> Value {
    serde_json::from_slice(&fixture_bytes(name)).expect("fixtures are JSON")
}

/// The published schema with this registry name.
pub fn schema(name: &str) -> Value {
    hasdata_model::schemas::all()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no schema named {name}"))
        .schema
        .to_value()
}

/// The problems of `instance` under the published schema `name` (empty when valid).
pub fn schema_errors(name: &str, instance: &Value) -> Vec<String> {
    let schema = schema(name);
    let validator = jsonschema::validator_for(&schema).expect("published schemas compile");
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}
