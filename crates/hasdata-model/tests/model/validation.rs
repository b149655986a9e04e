//! `validate()` reports every problem, each with its field path, before anything is sent.

use hasdata_model::bodies::*;
use hasdata_model::{Range, ScraperKind, Webhook, WebhookEventName};
use serde_json::json;

fn paths(result: Result<(), hasdata_model::ValidationErrors>) -> Vec<String> {
    result
        .expect_err("invalid")
        .paths()
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_valid_contacts_body_passes() {
    let body = ContactsBody::new(["https://example.com/about", "http://example.com/team"])
        .limit(0)
        .webhook(Webhook::all_events("https://my.app/hook").header("x-shared-secret", "s3cret"));
    body.validate().expect("valid");
    assert_eq!(body.row_limit(), Some(0));
    assert_eq!(body.webhook_config().map(|w| w.events.len()), Some(3));
}

#[test]
fn three_broken_fields_are_all_reported_by_path() {
    let body = CrawlerBody::new(["ftp://files.example.com", "not a url"])
        .include_paths("/docs/(unclosed")
        .webhook(Webhook::new("http://insecure.example/hook").event(WebhookEventName::JobFinished));
    let errors = body.validate().expect_err("invalid");
    let paths: Vec<&str> = errors.paths().collect();
    assert_eq!(paths, ["urls[0]", "urls[1]", "includePaths", "webhook.url"]);
    let text = errors.to_string();
    assert!(text.contains("4 problems"), "{text}");
    assert!(text.contains("expected an https URL"), "{text}");
    assert!(text.contains("regular expression"), "{text}");
}

#[test]
fn required_urls_must_be_present_and_non_empty() {
    assert_eq!(
        paths(ContactsBody::new(Vec::<String>::new()).validate()),
        ["urls"]
    );
    let missing = ScraperKind::Contacts
        .validate_json(&json!({"limit": 5}))
        .expect_err("invalid");
    assert_eq!(missing.errors()[0].path, ".");
    assert!(missing.errors()[0].rule.contains("urls"), "{missing}");
    let wrong_type = ScraperKind::Crawler
        .validate_json(&json!({"urls": "https://a.example"}))
        .expect_err("invalid");
    assert_eq!(wrong_type.errors()[0].path, "urls");
}

#[test]
fn raw_bodies_with_unknown_enum_values_name_the_field_and_the_allowed_values() {
    let errors = ScraperKind::Zillow
        .validate_json(
            &json!({"type": "toLease", "keyword": "Austin", "homeTypes": ["house", "castle"]}),
        )
        .expect_err("invalid");
    let paths: Vec<&str> = errors.paths().collect();
    assert_eq!(paths, ["type", "homeTypes[1]"]);
    assert!(errors.errors()[0].rule.contains("forSale, forRent, sold"));
}

#[test]
fn dates_must_be_real_and_ordered() {
    let body = SecEdgarBody::new()
        .ciks(["AAPL", " "])
        .filing_types("10-K, ,8-K")
        .start_date("2025-12-31")
        .end_date("2024-02-30");
    assert_eq!(
        paths(body.validate()),
        ["ciks[1]", "filingTypes", "endDate"]
    );

    let body = SecEdgarBody::new()
        .start_date("2025-06-01")
        .end_date("2024-01-01");
    assert_eq!(paths(body.validate()), ["endDate"]);
    let body = AirbnbBody::new()
        .check_in("2026-01-01")
        .check_out("2026-01-05")
        .adults(2);
    body.validate().expect("valid");
}

#[test]
fn webhook_rules() {
    let body = ContactsBody::new(["https://a.example"]).webhook(
        Webhook::new("https://my.app/hook")
            .header("bad header", "x")
            .header("x-ok", "line\r\nbreak"),
    );
    assert_eq!(
        paths(body.validate()),
        ["webhook.headers.bad header", "webhook.headers.x-ok"]
    );
    let raw = json!({"urls": ["https://a.example"], "webhook": {"url": "https://a.example", "events": ["scraper.job.done"]}});
    let errors = ScraperKind::Contacts
        .validate_json(&raw)
        .expect_err("invalid");
    assert_eq!(errors.paths().collect::<Vec<_>>(), ["webhook.events[0]"]);
}

#[test]
fn ranges_and_blank_required_text() {
    let body = ZillowBody::new(ListingStatus::ForSale, " ").price(Range::between(500.0, 100.0));
    assert_eq!(paths(body.validate()), ["keyword", "price"]);
    let ok = ZillowBody::new(ListingStatus::Sold, "Austin, TX")
        .home_types([ZillowHomeType::House, ZillowHomeType::Condo])
        .days_on_zillow(DaysOnZillow::TwelveMonths)
        .beds(Range::at_least(2.0));
    ok.validate().expect("valid");
    let encoded = serde_json::to_value(&ok).expect("encodes");
    assert_eq!(
        encoded,
        json!({"type": "sold", "keyword": "Austin, TX", "homeTypes": ["house", "condo"], "daysOnZillow": "12m", "beds": {"min": 2.0}})
    );
}

#[test]
fn extra_fields_are_sent_but_cannot_shadow_typed_ones() {
    let body = GoogleSerpBody::new()
        .keywords(["coffee"])
        .extra_field("newParam", json!(true))
        .extra_field("keywords", json!(["shadow"]));
    assert_eq!(paths(body.validate()), ["keywords"]);
    let body = GoogleSerpBody::new()
        .keywords(["coffee"])
        .extra_field("newParam", 7);
    body.validate().expect("valid");
    assert_eq!(
        serde_json::to_value(&body).expect("encodes"),
        json!({"keywords": ["coffee"], "newParam": 7})
    );
}

#[test]
fn the_seed_examples_are_valid_bodies() {
    let crawler = json!({
        "urls": ["https://docs.example.com"], "maxDepth": 5, "includePaths": "/docs/.+",
        "outputFormat": ["markdown"], "excludeTags": ["script", "style", "nav", "footer"], "limit": 2000
    });
    ScraperKind::Crawler.validate_json(&crawler).expect("valid");
    let sec = json!({"limit": 100, "ciks": ["AAPL", "789019", "Alphabet Inc."], "filingTypes": "10-K, 10-Q, 8-K",
        "startDate": "2024-01-01", "endDate": "2025-12-31"});
    ScraperKind::SecEdgar.validate_json(&sec).expect("valid");
    let indeed = json!({"keywords": ["software engineer", "data scientist"], "locations": ["New York, NY", "Remote"],
        "limit": 500, "webhook": {"url": "https://your.app/hasdata-hook",
        "events": ["scraper.data.scraped", "scraper.job.finished"], "headers": {"x-shared-secret": "s"}}});
    ScraperKind::Indeed.validate_json(&indeed).expect("valid");
}

#[test]
fn http_webhooks_pass_only_when_the_options_allow_them() {
    let body = ContactsBody::new(["https://a.example"])
        .webhook(Webhook::new("http://127.0.0.1:8088/hook"));
    assert_eq!(paths(body.validate()), ["webhook.url"]);
    let local = hasdata_model::ValidateOptions {
        allow_http_webhooks: true,
    };
    body.validate_with(local).expect("a local receiver");
    let raw = serde_json::to_value(&body).expect("encodes");
    assert!(ScraperKind::Contacts.validate_json(&raw).is_err());
    ScraperKind::Contacts
        .validate_json_with(&raw, local)
        .expect("a local receiver");
    let ftp =
        ContactsBody::new(["https://a.example"]).webhook(Webhook::new("ftp://127.0.0.1/hook"));
    assert_eq!(
        paths(ftp.validate_with(local)),
        ["webhook.url"],
        "http, not anything"
    );
}
