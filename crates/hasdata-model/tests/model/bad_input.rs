//! Server input that does not fit: the client keeps what it can and fails only over what it
//! cannot work without, with an error that names the field and keeps a snippet of the body.

use hasdata_model::decode::from_slice;
use hasdata_model::rows::{ContactsRow, CrawlerRow, GoogleMapsRow, ZillowRow};
use hasdata_model::{Job, JobId, ResultsPage, TextOrList, TextOrObject, WebhookEvent};
use serde_json::json;

#[test]
fn null_emails_reads_as_no_emails() {
    let row = from_slice::<ContactsRow>(br#"{"url": "https://a.example", "emails": null}"#)
        .expect("null is not yet populated");
    assert!(row.emails.is_empty());
    assert!(row.unfit_fields().is_empty());
}

#[test]
fn job_ids_are_kept_as_sent_and_only_a_missing_id_fails() {
    let job = from_slice::<Job>(br#"{"id": "abc", "status": "pending"}"#).expect("text id");
    assert_eq!(job.id.to_string(), "abc");
    let uuid = from_slice::<Job>(br#"{"id": "0b9c7a52-1f0e-4c41-a7c9-5e6f0e8d2a11"}"#)
        .expect("a UUID id and no status");
    assert_eq!(uuid.id.to_string(), "0b9c7a52-1f0e-4c41-a7c9-5e6f0e8d2a11");
    assert!(
        !uuid.status.is_terminal(),
        "a missing status is not terminal"
    );
    assert_eq!(" 42 ".parse::<JobId>(), Ok(JobId::from(42)));

    let missing = from_slice::<Job>(br#"{"status": "pending"}"#).unwrap_err();
    assert!(missing.to_string().contains("`id`"), "{missing}");
    let null = from_slice::<Job>(br#"{"id": null}"#).unwrap_err();
    assert!(null.to_string().contains("`id`"), "{null}");
    let object = from_slice::<Job>(br#"{"id": {"x": 1}}"#).unwrap_err();
    assert!(object.to_string().contains("`id`"), "{object}");
}

#[test]
fn counts_in_any_documented_form_decode_and_nonsense_is_kept_aside() {
    let job = from_slice::<Job>(
        br#"{"id": 1, "status": "in_progress", "creditsSpent": "5.00", "dataRowsCount": null}"#,
    )
    .expect("decodes");
    assert_eq!(job.credits_spent.get(), 5);
    assert_eq!(job.credits_spent.sent_text(), Some("5.00"));
    assert!(!job.data_rows_count.is_populated());
    assert_eq!(job.data_rows_count.get(), 0);

    let job = from_slice::<Job>(br#"{"id": 1, "creditsSpent": -5, "dataRowsCount": 1.5}"#)
        .expect("a nonsense count does not fail the status call");
    assert_eq!(job.unfit_fields(), ["creditsSpent"]);
    assert_eq!(job.extra["creditsSpent"], json!(-5), "kept as sent");
    assert_eq!(job.data_rows_count.as_f64(), Some(1.5));
    assert_eq!(
        serde_json::to_value(&job).expect("encodes")["creditsSpent"],
        json!(-5)
    );
}

#[test]
fn the_docs_results_wrapper_without_job_id_decodes() {
    let body = br#"{"meta": {"total": 2, "perPage": 100, "currentPage": 1, "lastPage": 1},
        "data": [
          {"id": "a", "data": {"url": "https://a.example"}, "createdAt": "2025-05-02T17:26:28.603+03:00", "updatedAt": null},
          {"id": "b", "jobId": 1, "dataId": null, "data": {"url": "https://b.example", "phoneNumbers": "none"}}
        ]}"#;
    let page = from_slice::<ResultsPage<ContactsRow>>(body).expect("decodes");
    assert_eq!(page.data[0].job_id, None);
    assert_eq!(page.data[1].job_id, Some(JobId::from(1)));
    assert_eq!(page.data[1].data.unfit_fields(), ["phoneNumbers"]);
    assert_eq!(page.data[1].data.extra["phoneNumbers"], json!("none"));
}

#[test]
fn a_wrapper_without_data_is_located() {
    let body = br#"{"meta": {"currentPage": 1, "lastPage": 1},
        "data": [{"id": "a", "data": {}}, {"id": "b"}]}"#;
    let err = from_slice::<ResultsPage<ContactsRow>>(body).unwrap_err();
    assert!(err.to_string().contains("data[1]"), "{err}");
    let err = from_slice::<ResultsPage<ContactsRow>>(br#"{"data": []}"#).unwrap_err();
    assert!(err.to_string().contains("`meta`"), "{err}");
}

#[test]
fn rows_take_every_variant_seen() {
    let zillow: ZillowRow = from_slice(
        br#"{"address": {"streetAddress": "1 Main St", "city": "Austin"}, "zipcode": 78701}"#,
    )
    .expect("decodes");
    assert!(matches!(zillow.address, Some(TextOrObject::Object(_))));
    assert_eq!(
        zillow.zipcode.as_ref().and_then(|z| z.as_f64()),
        Some(78701.0)
    );
    assert!(zillow.unfit_fields().is_empty());

    let maps: GoogleMapsRow = from_slice(br#"{"emails": "a@b.example"}"#).expect("decodes");
    assert_eq!(maps.emails, Some(TextOrList::One("a@b.example".into())));

    let crawler: CrawlerRow =
        from_slice(br#"{"url": "https://a.example", "aiResponse": {"steps": 3}}"#)
            .expect("decodes");
    let ai = crawler.ai_response_json().expect("present").expect("JSON");
    assert_eq!(ai["steps"], 3);
}

#[test]
fn webhook_events_keep_any_job_id_as_text() {
    for (body, id) in [
        (
            &br#"{"event": "scraper.job.finished", "jobId": "abc123"}"#[..],
            "abc123",
        ),
        (
            br#"{"event": "scraper.job.started", "jobId": "dd1a8c53-2d47-4444-977d-8d653a6a3c82"}"#,
            "dd1a8c53-2d47-4444-977d-8d653a6a3c82",
        ),
        (
            br#"{"event": "scraper.job.started", "jobId": 416349}"#,
            "416349",
        ),
    ] {
        let event: WebhookEvent = from_slice(body).expect("decodes");
        assert_eq!(event.job_id.as_deref(), Some(id));
        assert_eq!(event.job().map(|j| j.to_string()).as_deref(), Some(id));
        assert!(event.matches_known_shape());
    }
    let odd: WebhookEvent = from_slice(br#"{"jobId": [1], "hello": true}"#).expect("decodes");
    assert!(!odd.matches_known_shape());
    assert_eq!(odd.unfit_fields(), ["jobId"]);
}

#[test]
fn truncated_and_trailing_garbage_bodies_are_errors() {
    assert!(from_slice::<Job>(br#"{"id": 1, "status": "pen"#).is_err());
    assert!(from_slice::<Job>(br#"{"id": 1, "status": "pending"} trailing"#).is_err());
    assert!(
        from_slice::<Job>(b"<html>502 Bad Gateway</html>")
            .unwrap_err()
            .snippet
            .contains("502")
    );
}
