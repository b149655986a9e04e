//! Submits check bodies by evidence: a broken documented rule sends nothing, anything else is
//! a warning kept on the handle, and the body goes out byte for byte as the caller wrote it.

use std::sync::Arc;

use hasdata_jobs::{Client, Error, MemoryLedger};
use hasdata_model::bodies::{CrawlerBody, JobBody, ProxyCountry};
use hasdata_model::{Evidence, ValidationMode};
use hasdata_transport::RetryPolicy;
use hasdata_transport::test_util::CaptureTransport;
use serde_json::json;

const RECORD: &str = r#"{"id": 7, "status": "pending"}"#;

fn client(capture: &Arc<CaptureTransport>, mode: ValidationMode) -> Client {
    Client::builder()
        .api_key("hd-validation-test")
        .base_url("https://api.test")
        .transport(capture.clone())
        .retry_policy(RetryPolicy::never())
        .ledger(Arc::new(MemoryLedger::new()))
        .validation(mode)
        .build()
        .unwrap()
}

fn sent_bodies(capture: &CaptureTransport) -> Vec<Vec<u8>> {
    capture
        .requests()
        .iter()
        .map(|r| r.body().to_vec())
        .collect()
}

#[tokio::test]
async fn warnings_are_kept_on_the_handle_and_the_body_is_sent_as_written() {
    let capture = Arc::new(CaptureTransport::answering(200, RECORD));
    let client = client(&capture, ValidationMode::Default);
    let body =
        CrawlerBody::new(["https://docs.example.com"]).proxy_country(ProxyCountry::from("ES"));
    let handle = client.submit(&body).await.unwrap();
    let warnings: Vec<&str> = handle.warnings().iter().map(|w| w.path.as_str()).collect();
    assert_eq!(warnings, ["proxyCountry"]);
    assert_eq!(handle.warnings()[0].evidence, Evidence::Inferred);
    assert_eq!(sent_bodies(&capture), [serde_json::to_vec(&body).unwrap()]);
    assert_eq!(client.check(&body).warnings().len(), 1);
}

#[tokio::test]
async fn raw_bodies_with_inferred_problems_go_out_untouched() {
    let capture = Arc::new(CaptureTransport::answering(200, RECORD));
    let client = client(&capture, ValidationMode::Default);
    let body = json!({"urls": ["https://docs.example.com"], "maxDepth": "3", "limit": "10",
        "includePaths": "/docs/[^]*", "proxyCountry": "ES"});
    let report = client.check_raw("crawler", &body).unwrap();
    assert!(!report.has_errors());
    assert_eq!(report.warnings().len(), 4, "{report}");
    client.submit_raw("crawler", &body).await.unwrap();
    let sent = sent_bodies(&capture);
    assert_eq!(sent.len(), 1);
    let sent: serde_json::Value = serde_json::from_slice(&sent[0]).unwrap();
    assert_eq!(sent, body, "no field was converted or dropped");
}

#[tokio::test]
async fn errors_send_nothing_and_name_every_problem() {
    let capture = Arc::new(CaptureTransport::answering(200, RECORD));
    let client = client(&capture, ValidationMode::Default);
    let error = client
        .submit_raw(
            "contacts",
            &json!({"urls": ["not a url", "ftp://x", ""], "limit": -5}),
        )
        .await
        .unwrap_err();
    let Error::InvalidBody(errors) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(
        errors.paths().collect::<Vec<_>>(),
        ["urls[0]", "urls[1]", "urls[2]", "limit"]
    );
    let error = client.submit_raw("contacts", &json!({})).await.unwrap_err();
    assert!(error.to_string().contains("needs `urls`"), "{error}");
    assert!(capture.requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn strict_refuses_warnings_and_off_sends_anything() {
    let capture = Arc::new(CaptureTransport::answering(200, RECORD));
    let strict = client(&capture, ValidationMode::Strict);
    let body =
        CrawlerBody::new(["https://docs.example.com"]).proxy_country(ProxyCountry::from("ES"));
    let error = strict.submit(&body).await.unwrap_err();
    assert!(matches!(error, Error::InvalidBody(_)), "{error:?}");
    assert!(strict.check(&body).has_errors());
    assert!(capture.requests().is_empty());

    let off = client(&capture, ValidationMode::Off);
    off.submit_raw("contacts", &json!({})).await.unwrap();
    let handle = off.submit(&body).await.unwrap();
    assert!(handle.warnings().is_empty());
    assert!(off.check(&body).is_empty());
    assert_eq!(
        sent_bodies(&capture),
        [b"{}".to_vec(), serde_json::to_vec(&body).unwrap()]
    );
    assert!(
        body.check().warnings().len() == 1,
        "the model still sees it"
    );
}
