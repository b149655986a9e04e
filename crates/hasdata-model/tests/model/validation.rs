//! Validation by evidence: every problem of a body at once, each with its path; only rules
//! HasData's docs verify are errors, the rest are warnings and the body goes as written.

use hasdata_model::bodies::*;
use hasdata_model::{
    Evidence, Range, Report, ScraperKind, Severity, ValidationMode, Webhook, WebhookEventName,
};
use serde_json::{Value, json};

fn paths(result: Result<Report, hasdata_model::ValidationErrors>) -> Vec<String> {
    result
        .expect_err("invalid")
        .paths()
        .map(str::to_owned)
        .collect()
}

/// `(path, severity)` of every problem, in report order.
fn problems(report: &Report) -> Vec<(String, Severity)> {
    report
        .problems()
        .iter()
        .map(|p| (p.path.clone(), p.severity))
        .collect()
}

const E: Severity = Severity::Error;
const W: Severity = Severity::Warning;

#[test]
fn a_valid_contacts_body_passes() {
    let body = ContactsBody::new(["https://example.com/about", "http://example.com/team"])
        .limit(0)
        .webhook(Webhook::all_events("https://my.app/hook").header("x-shared-secret", "s3cret"));
    assert!(body.validate().expect("valid").is_empty());
    assert_eq!(body.row_limit(), Some(0));
    assert_eq!(body.webhook_config().map(|w| w.events.len()), Some(3));
}

#[test]
fn four_problems_are_reported_as_four() {
    let report = ScraperKind::Contacts
        .check_json(&json!({"urls": ["not a url", "ftp://x", ""], "limit": -5}));
    assert_eq!(
        problems(&report),
        [
            ("urls[0]".into(), E),
            ("urls[1]".into(), E),
            ("urls[2]".into(), E),
            ("limit".into(), E)
        ],
        "{report}"
    );
    let errors = report.into_result().expect_err("refused");
    assert!(errors.to_string().contains("4 problems"), "{errors}");
}

#[test]
fn type_errors_do_not_stop_the_walk() {
    let report = ScraperKind::Crawler.check_json(&json!({
        "urls": "https://a.example", "maxDepth": {"deep": true}, "jsRendering": "yes",
        "limit": "ten", "outputFormat": "markdown"
    }));
    assert_eq!(
        problems(&report),
        [
            ("urls".into(), E),
            ("maxDepth".into(), E),
            ("outputFormat".into(), E),
            ("jsRendering".into(), E),
            ("limit".into(), E)
        ],
        "{report}"
    );
}

#[test]
fn verified_rules_are_errors_with_their_evidence() {
    let body = CrawlerBody::new(["ftp://files.example.com", "not a url"])
        .include_paths("/docs/(unclosed")
        .webhook(Webhook::new("http://insecure.example/hook").event(WebhookEventName::JobFinished));
    let errors = body.validate().expect_err("invalid");
    let paths: Vec<&str> = errors.paths().collect();
    assert_eq!(paths, ["urls[0]", "urls[1]", "webhook.url"]);
    assert!(
        errors
            .errors()
            .iter()
            .all(|p| p.evidence == Evidence::Verified)
    );
    // The regex this crate cannot compile is only a warning: the API's engine is unknown.
    let warnings = errors.warnings();
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].path, "includePaths");
    assert_eq!(warnings[0].evidence, Evidence::Inferred);
    let text = errors.to_string();
    assert!(text.contains("3 problems"), "{text}");
    assert!(text.contains("expected an https URL"), "{text}");
    assert!(text.contains("and 1 warning"), "{text}");
}

#[test]
fn an_empty_body_is_refused_naming_the_field_the_docs_require() {
    for kind in [ScraperKind::Contacts, ScraperKind::Crawler] {
        let errors = kind.validate_json(&json!({})).expect_err("refused");
        assert_eq!(errors.paths().collect::<Vec<_>>(), ["urls"], "{kind}");
        assert!(errors.to_string().contains("needs `urls`"), "{errors}");
    }
    assert_eq!(
        paths(ContactsBody::new(Vec::<String>::new()).validate()),
        ["urls"]
    );
    let missing = ScraperKind::Contacts
        .validate_json(&json!({"limit": 5, "urls": null}))
        .expect_err("invalid");
    assert_eq!(missing.errors()[0].path, "urls");
    let not_an_object = ScraperKind::Contacts
        .validate_json(&json!(["https://a.example"]))
        .expect_err("invalid");
    assert_eq!(not_an_object.errors()[0].path, ".");
}

#[test]
fn an_empty_body_warns_what_the_synchronous_api_requires() {
    for (kind, needs) in [
        (ScraperKind::GoogleSerp, vec!["keywords"]),
        (ScraperKind::AmazonProduct, vec!["asins"]),
        (ScraperKind::SecEdgar, vec!["ciks"]),
        (ScraperKind::Indeed, vec!["keywords", "locations"]),
        (ScraperKind::GoogleMapsReviews, vec!["placeIds"]),
        (ScraperKind::Zillow, vec!["type", "keyword"]),
    ] {
        let report = kind.check_json(&json!({}));
        assert!(!report.has_errors(), "{kind}: {report}");
        let warned: Vec<&str> = report.warnings().iter().map(|p| p.path.as_str()).collect();
        assert_eq!(warned, needs, "{kind}: {report}");
        assert!(
            report
                .warnings()
                .iter()
                .all(|p| p.message.contains(kind.as_str())),
            "{report}"
        );
    }
    let report = ScraperKind::GoogleMapsReviews.check_json(&json!({}));
    assert!(
        report.to_string().contains("`placeIds` or `dataIds`"),
        "{report}"
    );
    assert!(
        ScraperKind::AmazonBestsellers
            .check_json(&json!({}))
            .is_empty()
    );
}

#[test]
fn the_over_strict_bodies_of_the_issue_go_through_with_warnings() {
    let contacts = |extra: Value| {
        let mut body = json!({"urls": ["https://a.example"]});
        body.as_object_mut()
            .expect("object")
            .extend(extra.as_object().expect("object").clone());
        body
    };
    let cases: Vec<(ScraperKind, Value, Vec<&str>)> = vec![
        (
            ScraperKind::Crawler,
            json!({"urls": ["https://a.example"], "proxyCountry": "ES"}),
            vec!["proxyCountry"],
        ),
        (
            ScraperKind::Crawler,
            json!({"urls": ["https://a.example"], "maxDepth": "3"}),
            vec!["maxDepth"],
        ),
        (
            ScraperKind::Crawler,
            json!({"urls": ["https://a.example"], "limit": "10"}),
            vec!["limit"],
        ),
        (
            ScraperKind::Contacts,
            contacts(json!({"limit": "10"})),
            vec!["limit"],
        ),
        // JavaScript regex syntax: `[^]` (any character) and `[]` (nothing).
        (
            ScraperKind::Crawler,
            json!({"urls": ["https://a.example"], "includePaths": "/docs/[^]*"}),
            vec!["includePaths"],
        ),
        (
            ScraperKind::Crawler,
            json!({"urls": ["https://a.example"], "excludePaths": "/(?:[]|drafts)/"}),
            vec!["excludePaths"],
        ),
        (
            ScraperKind::SecEdgar,
            json!({"ciks": ["AAPL"], "startDate": "2024-01"}),
            vec!["startDate"],
        ),
        (
            ScraperKind::Zillow,
            json!({"type": "forSale", "keyword": "Austin, TX", "price": {"min": "100000"}}),
            vec!["price.min"],
        ),
        (
            ScraperKind::Contacts,
            contacts(
                json!({"webhook": {"url": "https://my.app/hook", "headers": {"x-tenant": 42}}}),
            ),
            vec!["webhook.headers.x-tenant"],
        ),
    ];
    for (kind, body, warned) in cases {
        let report = kind
            .validate_json(&body)
            .unwrap_or_else(|e| panic!("{kind} {body}: {e}"));
        let paths: Vec<&str> = report.warnings().iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, warned, "{kind} {body}: {report}");
        assert!(
            report
                .warnings()
                .iter()
                .all(|p| p.evidence != Evidence::Verified)
        );
        assert!(report.to_string().contains("sent as written"), "{report}");
    }
}

#[test]
fn closed_lists_name_the_known_values_and_hint_at_case() {
    let report = ScraperKind::Crawler
        .check_json(&json!({"urls": ["https://a.example"], "proxyCountry": "us", "outputFormat": ["markdown", "pdf"]}));
    assert_eq!(
        problems(&report),
        [("outputFormat[1]".into(), W), ("proxyCountry".into(), W)],
        "{report}"
    );
    let text = report.to_string();
    assert!(text.contains("did you mean \"US\""), "{text}");
    assert!(text.contains("html, text, markdown, json"), "{text}");
    let zillow = ScraperKind::Zillow.check_json(
        &json!({"type": "toLease", "keyword": "Austin", "homeTypes": ["house", "castle"]}),
    );
    assert_eq!(
        problems(&zillow),
        [("type".into(), W), ("homeTypes[1]".into(), W)]
    );
    assert!(
        zillow.problems()[0]
            .message
            .contains("forSale, forRent, sold")
    );
}

#[test]
fn strict_makes_warnings_errors_and_off_checks_nothing() {
    let body = json!({"urls": ["https://a.example"], "proxyCountry": "ES"});
    let report = ScraperKind::Crawler.check_json(&body);
    assert!(report.clone().into_result().is_ok());
    let strict = report.clone().with_mode(ValidationMode::Strict);
    assert_eq!(strict.errors().len(), 1);
    assert!(strict.into_result().is_err());
    let broken = ScraperKind::Contacts.check_json(&json!({}));
    assert!(broken.has_errors());
    assert!(broken.with_mode(ValidationMode::Off).is_empty());
}

#[test]
fn dates_are_checked_but_only_warn() {
    let body = SecEdgarBody::new()
        .ciks(["AAPL", " "])
        .filing_types("10-K, ,8-K")
        .start_date("2025-12-31")
        .end_date("2024-02-30");
    let report = body.validate().expect("only warnings");
    assert_eq!(
        problems(&report),
        [
            ("ciks[1]".into(), W),
            ("filingTypes".into(), W),
            ("endDate".into(), W)
        ]
    );
    let body = SecEdgarBody::new()
        .ciks(["AAPL"])
        .start_date("2025-06-01")
        .end_date("2024-01-01");
    assert_eq!(problems(&body.check()), [("endDate".into(), W)]);
    let body = AirbnbBody::new()
        .location("New York")
        .check_in("2026-01-01")
        .check_out("2026-01-05")
        .adults(2);
    assert!(body.validate().expect("valid").is_empty());
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
        .expect_err("the three events are documented");
    assert_eq!(errors.paths().collect::<Vec<_>>(), ["webhook.events[0]"]);
    let raw = json!({"urls": ["https://a.example"], "webhook": {"events": [], "headers": ["x"]}});
    assert_eq!(
        paths(ScraperKind::Contacts.validate_json(&raw)),
        ["webhook.url", "webhook.headers"]
    );
}

#[test]
fn ranges_and_blank_required_text_warn() {
    let body = ZillowBody::new(ListingStatus::ForSale, " ").price(Range::between(500.0, 100.0));
    assert_eq!(
        problems(&body.check()),
        [("keyword".into(), W), ("price".into(), W)]
    );
    let ok = ZillowBody::new(ListingStatus::Sold, "Austin, TX")
        .home_types([ZillowHomeType::House, ZillowHomeType::Condo])
        .days_on_zillow(DaysOnZillow::TwelveMonths)
        .beds(Range::at_least(2.0));
    assert!(ok.validate().expect("valid").is_empty());
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
    assert!(body.validate().expect("valid").is_empty());
    assert_eq!(
        serde_json::to_value(&body).expect("encodes"),
        json!({"keywords": ["coffee"], "newParam": 7})
    );
}

#[test]
fn a_near_miss_field_name_is_a_warning_with_a_suggestion() {
    let report = ScraperKind::Crawler
        .check_json(&json!({"urls": ["https://a.example"], "maxdepth": 2, "someNewOption": true}));
    assert_eq!(problems(&report), [("maxdepth".into(), W)], "{report}");
    assert!(
        report.to_string().contains("did you mean `maxDepth`"),
        "{report}"
    );
}

#[test]
fn the_seed_examples_are_clean_bodies() {
    let crawler = json!({
        "urls": ["https://docs.example.com"], "maxDepth": 5, "includePaths": "/docs/.+",
        "outputFormat": ["markdown"], "excludeTags": ["script", "style", "nav", "footer"], "limit": 2000
    });
    assert!(ScraperKind::Crawler.check_json(&crawler).is_empty());
    let sec = json!({"limit": 100, "ciks": ["AAPL", "789019", "Alphabet Inc."], "filingTypes": "10-K, 10-Q, 8-K",
        "startDate": "2024-01-01", "endDate": "2025-12-31"});
    assert!(ScraperKind::SecEdgar.check_json(&sec).is_empty());
    let indeed = json!({"keywords": ["software engineer", "data scientist"], "locations": ["New York, NY", "Remote"],
        "limit": 500, "webhook": {"url": "https://your.app/hasdata-hook",
        "events": ["scraper.data.scraped", "scraper.job.finished"], "headers": {"x-shared-secret": "s"}}});
    assert!(ScraperKind::Indeed.check_json(&indeed).is_empty());
    let contacts = json!({"urls": ["https://example.com/about", "https://example.com/team"]});
    assert!(ScraperKind::Contacts.check_json(&contacts).is_empty());
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

#[test]
fn reports_serialize_with_path_message_evidence_and_severity() {
    let report = ScraperKind::Crawler.check_json(&json!({"urls": ["x"], "maxDepth": "3"}));
    let value = serde_json::to_value(&report).expect("serializes");
    assert_eq!(value["problems"][0]["path"], "urls[0]");
    assert_eq!(value["problems"][0]["evidence"], "V");
    assert_eq!(value["problems"][0]["severity"], "error");
    assert_eq!(value["problems"][1]["path"], "maxDepth");
    assert_eq!(value["problems"][1]["evidence"], "I");
    assert_eq!(value["problems"][1]["severity"], "warning");
}

#[test]
fn a_value_of_the_wrong_type_is_named_in_its_message() {
    let report =
        ScraperKind::Crawler.check_json(&json!({"urls": [7, {"a": 1}, null], "maxDepth": [3]}));
    let messages: Vec<&str> = report
        .problems()
        .iter()
        .map(|p| p.message.as_str())
        .collect();
    for found in [
        "got the number 7",
        "got an object",
        "got null",
        "got a list",
    ] {
        assert!(
            messages.iter().any(|m| m.contains(found)),
            "{found}: {messages:?}"
        );
    }
}
