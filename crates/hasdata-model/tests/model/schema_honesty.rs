//! Every fixture validates against its published schema: the schemas say what the types accept.

use serde_json::json;

use crate::{fixture, schema_errors};

fn assert_valid(schema_name: &str, fixture_name: &str) {
    let errors = schema_errors(schema_name, &fixture(fixture_name));
    assert!(
        errors.is_empty(),
        "{fixture_name} under {schema_name}: {errors:#?}"
    );
}

#[test]
fn job_records_and_statuses_validate() {
    for name in [
        "submit_record.json",
        "status_finished_strings.json",
        "status_integers.json",
        "status_unknown_value.json",
        "status_finished_with_error.json",
    ] {
        assert_valid("job-record", name);
    }
}

#[test]
fn pages_rows_and_events_validate() {
    assert_valid("results-page", "results_page.json");
    assert_valid("row.contacts", "contacts_row.json");
    assert_valid("row.crawler", "crawler_row.json");
    assert_valid("row.google-serp", "google_serp_row.json");
    assert_valid("row.google-maps", "google_maps_row.json");
    assert_valid("row.zillow", "zillow_row.json");
    assert_valid("webhook-event", "webhook_data_scraped.json");
    assert_valid("webhook-event", "webhook_job_finished.json");
    assert_valid("webhook-event", "webhook_unknown_event.json");
}

#[test]
fn count_schema_is_integer_or_digit_string_exactly() {
    let record =
        |credits: serde_json::Value| json!({"id": 1, "status": "pending", "creditsSpent": credits});
    assert!(schema_errors("job-record", &record(json!(5))).is_empty());
    assert!(schema_errors("job-record", &record(json!("5"))).is_empty());
    assert!(!schema_errors("job-record", &record(json!("five"))).is_empty());
    assert!(!schema_errors("job-record", &record(json!(-1))).is_empty());
    assert!(!schema_errors("job-record", &record(json!(null))).is_empty());
}

#[test]
fn contacts_schema_refuses_null_categories() {
    let errors = schema_errors(
        "row.contacts",
        &json!({"url": "https://a.example", "emails": null}),
    );
    assert!(!errors.is_empty());
}

#[test]
fn body_schemas_hold_enum_values_and_required_fields() {
    assert!(schema_errors("body.contacts", &json!({"urls": ["https://a.example"]})).is_empty());
    assert!(
        !schema_errors("body.contacts", &json!({})).is_empty(),
        "urls is required"
    );
    let zillow = |kind: &str| json!({"type": kind, "keyword": "Austin, TX"});
    assert!(schema_errors("body.zillow", &zillow("forRent")).is_empty());
    assert!(!schema_errors("body.zillow", &zillow("toLease")).is_empty());
}

#[test]
fn every_published_schema_compiles() {
    for named in hasdata_model::schemas::all() {
        jsonschema::validator_for(&named.schema.to_value())
            .unwrap_or_else(|e| panic!("{}: {e}", named.name));
    }
}
