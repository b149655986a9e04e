//! The scraper table: slugs, parsing, and the typed markers agree.

use std::str::FromStr;

use hasdata_model::scrapers::{Contacts, Crawler, GoogleSerp, Zillow};
use hasdata_model::{Scraper, ScraperKind};

#[test]
fn there_are_twenty_distinct_slugs_that_parse_back() {
    assert_eq!(ScraperKind::ALL.len(), 20);
    let mut slugs = ScraperKind::slugs();
    for kind in ScraperKind::ALL {
        assert_eq!(ScraperKind::from_str(kind.as_str()), Ok(*kind));
        assert_eq!(kind.to_string(), kind.as_str());
    }
    slugs.sort_unstable();
    slugs.dedup();
    assert_eq!(slugs.len(), 20);
    for expected in [
        "crawler",
        "contacts",
        "sec-edgar",
        "google-serp",
        "amazon-product",
        "zillow",
        "indeed",
        "yellow-pages",
    ] {
        assert!(slugs.contains(&expected), "{expected}");
    }
}

#[test]
fn an_unknown_slug_error_lists_every_valid_one() {
    let err = ScraperKind::from_str("google-serps").unwrap_err();
    let message = err.to_string();
    assert!(message.contains("\"google-serps\""));
    for slug in ScraperKind::slugs() {
        assert!(message.contains(slug), "{slug} missing from {message}");
    }
}

#[test]
fn markers_carry_their_slug_and_kind() {
    assert_eq!(Contacts::SLUG, "contacts");
    assert_eq!(Crawler::KIND, ScraperKind::Crawler);
    assert_eq!(GoogleSerp::SLUG, "google-serp");
    assert_eq!(Zillow::KIND.as_str(), "zillow");
}

#[test]
fn rows_with_unknown_shapes_say_so() {
    assert!(ScraperKind::Contacts.row_shape_known());
    assert!(ScraperKind::Zillow.row_shape_known());
    assert!(!ScraperKind::SecEdgar.row_shape_known());
    assert!(!ScraperKind::Indeed.row_shape_known());
    assert_eq!(
        ScraperKind::Indeed.row_schema().to_value()["type"],
        "object"
    );
}

#[test]
fn scraper_kind_serializes_as_its_slug() {
    let json = serde_json::to_string(&ScraperKind::GoogleMapsReviews).expect("encodes");
    assert_eq!(json, "\"google-maps-reviews\"");
    let back: ScraperKind = serde_json::from_str(&json).expect("decodes");
    assert_eq!(back, ScraperKind::GoogleMapsReviews);
    assert!(serde_json::from_str::<ScraperKind>("\"nope\"").is_err());
}
