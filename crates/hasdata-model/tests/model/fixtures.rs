//! The seed page's examples, and the variants seen live, decode to the right values.

use hasdata_model::decode::from_slice;
use hasdata_model::rows::{
    ContactsRow, CrawlerRow, GoogleMapsRow, GoogleSerpRow, Photos, ZillowRow,
};
use hasdata_model::{
    Job, JobId, JobStatus, ResultsPage, TypedEvent, WebhookEvent, WebhookEventName,
};

use crate::fixture_bytes;

#[test]
fn submit_record_decodes_with_integer_id() {
    let job: Job = from_slice(&fixture_bytes("submit_record.json")).expect("decodes");
    assert_eq!(job.id, JobId::from(416349));
    assert_eq!(job.scraper_id.map(|c| c.get()), Some(26));
    assert_eq!(job.status, JobStatus::Pending);
    assert_eq!(job.credits_spent.get(), 0);
    assert_eq!(job.data_rows_count.get(), 0);
    assert_eq!(
        job.scraper.and_then(|s| s.slug).as_deref(),
        Some("contacts")
    );
    assert_eq!(job.columns.map(|c| c.len()), Some(3));
    assert!(job.data.is_none());
}

#[test]
fn finished_status_with_string_numbers_and_links_decodes() {
    let job: Job = from_slice(&fixture_bytes("status_finished_strings.json")).expect("decodes");
    assert_eq!(job.status, JobStatus::Finished);
    assert!(job.status.is_terminal());
    assert_eq!(job.credits_spent.get(), 5);
    assert_eq!(job.data_rows_count.get(), 1);
    let links = job.data.expect("links on a finished job");
    assert!(links.json.expect("json link").ends_with(".json"));
    assert!(links.csv.expect("csv link").ends_with(".csv"));
    assert!(links.xlsx.expect("xlsx link").ends_with(".xlsx"));
}

#[test]
fn status_with_integer_numbers_decodes() {
    let job: Job = from_slice(&fixture_bytes("status_integers.json")).expect("decodes");
    assert_eq!(job.status, JobStatus::InProgress);
    assert!(!job.status.is_terminal());
    assert_eq!(
        (job.credits_spent.get(), job.data_rows_count.get()),
        (40, 8)
    );
}

#[test]
fn unknown_status_and_digit_string_id_decode_and_keep_extra_fields() {
    let job: Job = from_slice(&fixture_bytes("status_unknown_value.json")).expect("decodes");
    assert_eq!(job.id, JobId::from(416351));
    assert_eq!(job.status, JobStatus::Other("exported_to_glacier".into()));
    assert!(
        !job.status.is_terminal(),
        "an unknown status keeps a waiter polling"
    );
    assert_eq!(job.stop_reason.as_deref(), Some("data_limit_exceeded"));
    assert_eq!(job.extra.get("queuePosition"), Some(&serde_json::json!(3)));
}

#[test]
fn statuses_seen_live_are_classified() {
    let job: Job = from_slice(&fixture_bytes("status_finished_with_error.json")).expect("decodes");
    assert_eq!(job.status, JobStatus::FinishedWithError);
    assert!(job.status.is_terminal() && job.status.is_unsuccessful());
    let terminal: Vec<&str> = [
        "pending",
        "in_progress",
        "exporting_data",
        "finished",
        "finished_with_error",
        "stopped",
    ]
    .into_iter()
    .filter(|s| JobStatus::from(*s).is_terminal())
    .collect();
    assert_eq!(terminal, ["finished", "finished_with_error", "stopped"]);
}

#[test]
fn results_page_is_double_wrapped() {
    let page: ResultsPage<ContactsRow> =
        from_slice(&fixture_bytes("results_page.json")).expect("decodes");
    assert_eq!(page.meta.total.get(), 1);
    assert_eq!(page.meta.per_page.get(), 100);
    assert!(page.meta.is_last());
    assert_eq!(page.meta.first_page_url.as_deref(), Some("/?page=1"));
    assert_eq!(page.meta.next_page_url, None);
    let wrapped = &page.data[0];
    assert_eq!(wrapped.job_id, Some(JobId::from(416349)));
    assert_eq!(
        wrapped.id,
        Some(serde_json::json!("9d0c6f7e-2a53-4d8e-9b0a-52a8f1d3c4e5"))
    );
    assert!(
        wrapped
            .created_at
            .as_deref()
            .is_some_and(|t| t.ends_with("+03:00"))
    );
    assert_eq!(wrapped.data.emails, ["hello@example.com"]);
    assert_eq!(wrapped.data.linkedin.len(), 1);
    assert!(wrapped.data.xcom.is_empty());
}

#[test]
fn contacts_row_decodes_and_keeps_unknown_categories() {
    let row: ContactsRow = from_slice(&fixture_bytes("contacts_row.json")).expect("decodes");
    assert_eq!(row.url, "https://example.com/about");
    assert_eq!(row.emails.len(), 2);
    assert_eq!(row.xcom, ["https://x.com/example"]);
    assert!(row.clutch.is_empty());
    assert!(row.extra.contains_key("tiktok"));
    let again = serde_json::to_value(&row).expect("encodes");
    assert_eq!(again, crate::fixture("contacts_row.json"), "nothing lost");
}

#[test]
fn contacts_row_missing_categories_become_empty_lists() {
    let row: ContactsRow = from_slice(br#"{"url": "https://a.example"}"#).expect("decodes");
    assert!(row.emails.is_empty() && row.phone_numbers.is_empty() && row.dribbble.is_empty());
}

#[test]
fn crawler_row_decodes_with_string_depth_and_json_in_a_string() {
    let row: CrawlerRow = from_slice(&fixture_bytes("crawler_row.json")).expect("decodes");
    assert_eq!(row.status_code.as_ref().map(|c| c.get()), Some(200));
    assert_eq!(row.depth.as_ref().map(|c| c.get()), Some(1));
    assert!(
        row.markdown
            .as_deref()
            .is_some_and(|m| m.starts_with("# Getting started"))
    );
    let ai = row
        .ai_response_json()
        .expect("present")
        .expect("valid JSON");
    assert_eq!(ai["steps"], 3);
    assert!(row.extra.contains_key("screenshot"));
}

#[test]
fn google_serp_row_decodes_and_keeps_rich_parts() {
    let row: GoogleSerpRow = from_slice(&fixture_bytes("google_serp_row.json")).expect("decodes");
    assert_eq!(row.position.map(|c| c.get()), Some(1));
    assert_eq!(
        row.displayed_link.as_deref(),
        Some("https://en.wikipedia.org › wiki › Coffee")
    );
    assert!(
        row.extra.contains_key("sitelinks") && row.extra.contains_key("snippetHighlightedWords")
    );
}

#[test]
fn google_maps_row_reads_numbers_in_either_form() {
    let row: GoogleMapsRow = from_slice(&fixture_bytes("google_maps_row.json")).expect("decodes");
    assert_eq!(row.rating.and_then(|r| r.as_f64()), Some(4.5));
    assert_eq!(row.reviews.and_then(|r| r.as_f64()), Some(12031.0));
    assert_eq!(row.place_id.as_deref(), Some("ChIJ-b2RmVlZwokRpb1pwEQjss0"));
    assert_eq!(
        row.extra.get("category"),
        Some(&serde_json::json!("Pizza restaurant"))
    );
}

#[test]
fn zillow_row_reads_text_prices_and_photo_lists() {
    let row: ZillowRow = from_slice(&fixture_bytes("zillow_row.json")).expect("decodes");
    assert_eq!(row.price.and_then(|p| p.as_f64()), Some(1_250_000.0));
    assert_eq!(row.bedrooms.and_then(|b| b.as_f64()), Some(2.0));
    assert!(matches!(row.photos, Some(Photos::Many(ref p)) if p.len() == 2));
    assert_eq!(row.lot_area, None);
    assert!(row.extra.contains_key("zpid"));
}

#[test]
fn webhook_events_decode_typed_with_either_job_id_form() {
    let scraped: WebhookEvent =
        from_slice(&fixture_bytes("webhook_data_scraped.json")).expect("decodes");
    assert_eq!(scraped.job(), Some(JobId::from(416349)), "a string job id");
    assert_eq!(scraped.job_status, Some(JobStatus::InProgress));
    match scraped.typed::<ContactsRow>().expect("rows decode") {
        TypedEvent::DataScraped(rows) => assert_eq!(rows[0].emails, ["hello@example.com"]),
        other => panic!("expected rows, got {other:?}"),
    }

    let finished: WebhookEvent =
        from_slice(&fixture_bytes("webhook_job_finished.json")).expect("decodes");
    assert_eq!(finished.event, WebhookEventName::JobFinished);
    assert_eq!(
        finished.typed::<ContactsRow>().expect("typed"),
        TypedEvent::JobFinished
    );
}

#[test]
fn unknown_webhook_event_decodes_without_failing() {
    let event: WebhookEvent =
        from_slice(&fixture_bytes("webhook_unknown_event.json")).expect("decodes");
    assert_eq!(
        event.event,
        WebhookEventName::Other("scraper.job.paused".into())
    );
    assert_eq!(event.job_status, Some(JobStatus::Other("paused".into())));
    assert_eq!(
        event.typed::<serde_json::Value>().expect("typed"),
        TypedEvent::Unknown("scraper.job.paused".into())
    );
    assert!(event.extra.contains_key("reason"));
}

#[test]
fn a_single_object_payload_is_one_row() {
    let event: WebhookEvent = serde_json::from_value(serde_json::json!({
        "event": "scraper.data.scraped", "jobId": 1, "data": {"url": "https://a.example"}
    }))
    .expect("decodes");
    match event.typed::<ContactsRow>().expect("typed") {
        TypedEvent::DataScraped(rows) => assert_eq!(rows.len(), 1),
        other => panic!("expected one row, got {other:?}"),
    }
}
