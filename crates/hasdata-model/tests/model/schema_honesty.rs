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
fn count_schema_is_a_number_a_decimal_string_or_null() {
    let record =
        |credits: serde_json::Value| json!({"id": 1, "status": "pending", "creditsSpent": credits});
    assert!(schema_errors("job-record", &record(json!(5))).is_empty());
    assert!(schema_errors("job-record", &record(json!("5"))).is_empty());
    assert!(!schema_errors("job-record", &record(json!("five"))).is_empty());
    assert!(schema_errors("job-record", &record(json!("5.00"))).is_empty());
    assert!(schema_errors("job-record", &record(json!(1.5))).is_empty());
    assert!(schema_errors("job-record", &record(json!(null))).is_empty());
    assert!(!schema_errors("job-record", &record(json!(-1))).is_empty());
}

#[test]
fn contacts_schema_accepts_null_categories() {
    let errors = schema_errors(
        "row.contacts",
        &json!({"url": "https://a.example", "emails": null}),
    );
    assert!(errors.is_empty(), "{errors:?}");
}

/// The examples on HasData's own docs pages (getting results, polling for status, webhooks).
#[test]
fn schemas_accept_the_docs_pages_examples() {
    let page = json!({
        "meta": {"total": 1, "perPage": 100, "currentPage": 1, "lastPage": 1},
        "data": [{
            "id": "b7e0f7d6-3c1c-4d4f-9d3a-6f1c2c9a8e11",
            "data": {"url": "https://example.com", "emails": []},
            "createdAt": "2025-05-02T17:26:28.603+03:00",
            "updatedAt": "2025-05-02T17:26:28.603+03:00"
        }]
    });
    assert_eq!(schema_errors("results-page", &page), Vec::<String>::new());
    let event = json!({"event": "scraper.job.finished", "jobId": "abc123", "jobStatus": "finished",
                       "timestamp": "2025-05-02T17:26:28.603Z"});
    assert_eq!(schema_errors("webhook-event", &event), Vec::<String>::new());
    let status = json!({"id": "dd1a8c53-2d47-4444-977d-8d653a6a3c82", "status": "in_progress",
                        "creditsSpent": 0, "dataRowsCount": null});
    assert_eq!(schema_errors("job-record", &status), Vec::<String>::new());
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

#[test]
fn job_id_schema_is_a_whole_number_or_a_path_safe_text() {
    let record = |id: serde_json::Value| json!({"id": id, "status": "pending"});
    for good in [
        json!(416349),
        json!(0),
        json!("abc123"),
        json!("x".repeat(64)),
    ] {
        assert!(
            schema_errors("job-record", &record(good.clone())).is_empty(),
            "{good}"
        );
    }
    for bad in [
        json!(-1),
        json!(1.5),
        json!(""),
        json!("a b"),
        json!("x".repeat(65)),
        json!(null),
    ] {
        assert!(
            !schema_errors("job-record", &record(bad.clone())).is_empty(),
            "{bad}"
        );
    }
}
