//! Bulk Google: `google-serp`, `google-maps`, `google-maps-reviews`, `google-trends`.

use serde_json::{Map, Value};

use super::{BodyRules, job_body};
use crate::validate::Checker;

open_enum! {
    /// The device a search is made from.
    strict pub enum DeviceType {
        /// A desktop browser.
        Desktop = "desktop",
        /// A phone.
        Mobile = "mobile",
        /// A tablet.
        Tablet = "tablet",
    }
}

open_enum! {
    /// Google's SafeSearch setting.
    strict pub enum SafeSearch {
        /// Filter explicit results.
        Active = "active",
        /// No filtering.
        Off = "off",
    }
}

open_enum! {
    /// The order of Google Maps reviews.
    strict pub enum MapsReviewsSort {
        /// Most relevant first.
        QualityScore = "qualityScore",
        /// Newest first.
        NewestFirst = "newestFirst",
        /// Highest rating first.
        RatingHigh = "ratingHigh",
        /// Lowest rating first.
        RatingLow = "ratingLow",
    }
}

job_body! {
    /// The body of a `google-serp` job: one search per keyword. `keywords` and `location` are
    /// documented for jobs; the other fields are taken from the synchronous SERP API.
    pub struct GoogleSerpBody {
        required {}
        optional {
            /// The queries to run.
            keywords: Vec<String> = "keywords" [V],
            /// One location for every query (`"Austin,Texas,United States"`).
            location: String = "location" [V],
            /// The Google domain (`google.com`, `google.de`, ...).
            domain: String = "domain" [I],
            /// Two-letter country code.
            gl: String = "gl" [I],
            /// Two-letter interface language.
            hl: String = "hl" [I],
            /// The device to search from.
            device_type: DeviceType = "deviceType" [I],
            /// SafeSearch.
            safe: SafeSearch = "safe" [I],
            /// Results per query.
            num: u32 = "num" [I],
            /// Google's advanced search filter string.
            tbs: String = "tbs" [I],
            /// Google's encoded location.
            uule: String = "uule" [I],
            /// Restrict to languages (`lang_en`, `lang_de`, ...).
            lr: Vec<String> = "lr" [I],
        }
    }
}

impl BodyRules for GoogleSerpBody {
    fn check_rules(body: &Map<String, Value>, checker: &mut Checker) {
        checker.probably_needs(
            body,
            "google-serp",
            &["keywords"],
            "the synchronous SERP API requires a query",
        );
    }
}

job_body! {
    /// The body of a `google-maps` job: one search per keyword and location. `keywords` and
    /// `locations` are documented for jobs; `extractEmails` and `categories` are seen with the
    /// live API.
    pub struct GoogleMapsBody {
        required {}
        optional {
            /// The queries to run (`"pizza"`).
            keywords: Vec<String> = "keywords" [V],
            /// Where to search: `"CUSTOM>New York, NY"` or `"Area, City"`.
            locations: Vec<String> = "locations" [V],
            /// Visit each place's website for e-mail addresses (more credits per row).
            extract_emails: bool = "extractEmails" [C],
            /// Place categories from the API's fixed list; a wrong one is answered with a 422
            /// that lists the allowed values.
            categories: Vec<String> = "categories" [C],
            /// The Google domain.
            domain: String = "domain" [I],
            /// Two-letter country code.
            gl: String = "gl" [I],
            /// Two-letter interface language.
            hl: String = "hl" [I],
        }
    }
}

impl BodyRules for GoogleMapsBody {
    fn check_rules(body: &Map<String, Value>, checker: &mut Checker) {
        checker.probably_needs(
            body,
            "google-maps",
            &["keywords"],
            "the synchronous Maps API requires a query",
        );
    }
}

job_body! {
    /// The body of a `google-maps-reviews` job; its fields are taken from the synchronous
    /// Google Maps Reviews API.
    pub struct GoogleMapsReviewsBody {
        required {}
        optional {
            /// Google place ids (`ChIJ...`).
            place_ids: Vec<String> = "placeIds" [I],
            /// Google Maps data ids (`0x...:0x...`).
            data_ids: Vec<String> = "dataIds" [I],
            /// Review order.
            sort_by: MapsReviewsSort = "sortBy" [I],
            /// Two-letter interface language.
            hl: String = "hl" [I],
            /// Restrict to one review topic.
            topic_id: String = "topicId" [I],
        }
    }
}

impl BodyRules for GoogleMapsReviewsBody {
    fn check_rules(body: &Map<String, Value>, checker: &mut Checker) {
        checker.probably_needs(
            body,
            "google-maps-reviews",
            &["placeIds", "dataIds"],
            "the synchronous reviews API reads one place by its id",
        );
    }
}

job_body! {
    /// The body of a `google-trends` job; its fields are taken from the synchronous Google
    /// Trends API.
    pub struct GoogleTrendsBody {
        required {}
        optional {
            /// The search terms to compare.
            keywords: Vec<String> = "keywords" [I],
            /// Region code (`US`, `US-NY`).
            geo: String = "geo" [I],
            /// Sub-region breakdown.
            region: String = "region" [I],
            /// Time range (`today 12-m`, `2024-01-01 2024-06-30`).
            date: String = "date" [I],
            /// Category id.
            cat: String = "cat" [I],
            /// Property: web, `images`, `news`, `froogle`, `youtube`.
            gprop: String = "gprop" [I],
            /// Which data to return (`TIMESERIES`, `GEO_MAP`, ...).
            data_type: String = "dataType" [I],
            /// Time-zone offset in minutes.
            tz: f64 = "tz" [I],
        }
    }
}

impl BodyRules for GoogleTrendsBody {
    fn check_rules(body: &Map<String, Value>, checker: &mut Checker) {
        checker.probably_needs(
            body,
            "google-trends",
            &["keywords"],
            "the synchronous Trends API requires a query",
        );
    }
}
