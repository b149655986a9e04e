//! Bulk Google: `google-serp`, `google-maps`, `google-maps-reviews`, `google-trends`.

use super::{BodyRules, job_body};

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
    /// documented; the other fields are *inferred* from the synchronous SERP API.
    pub struct GoogleSerpBody {
        required {}
        optional {
            /// The queries to run.
            keywords: Vec<String> = "keywords",
            /// One location for every query (`"Austin,Texas,United States"`).
            location: String = "location",
            /// The Google domain (`google.com`, `google.de`, ...).
            domain: String = "domain",
            /// Two-letter country code.
            gl: String = "gl",
            /// Two-letter interface language.
            hl: String = "hl",
            /// The device to search from.
            device_type: DeviceType = "deviceType",
            /// SafeSearch.
            safe: SafeSearch = "safe",
            /// Results per query.
            num: u32 = "num",
            /// Google's advanced search filter string.
            tbs: String = "tbs",
            /// Google's encoded location.
            uule: String = "uule",
            /// Restrict to languages (`lang_en`, `lang_de`, ...).
            lr: Vec<String> = "lr",
        }
    }
}

impl BodyRules for GoogleSerpBody {}

job_body! {
    /// The body of a `google-maps` job: one search per keyword and location.
    pub struct GoogleMapsBody {
        required {}
        optional {
            /// The queries to run (`"pizza"`).
            keywords: Vec<String> = "keywords",
            /// Where to search: `"CUSTOM>New York, NY"` or `"Area, City"`.
            locations: Vec<String> = "locations",
            /// Visit each place's website for e-mail addresses (more credits per row).
            extract_emails: bool = "extractEmails",
            /// Place categories from the API's fixed list; a wrong one is answered with a 422
            /// that lists the allowed values.
            categories: Vec<String> = "categories",
            /// The Google domain (*inferred*).
            domain: String = "domain",
            /// Two-letter country code (*inferred*).
            gl: String = "gl",
            /// Two-letter interface language (*inferred*).
            hl: String = "hl",
        }
    }
}

impl BodyRules for GoogleMapsBody {}

job_body! {
    /// The body of a `google-maps-reviews` job (*inferred*).
    pub struct GoogleMapsReviewsBody {
        required {}
        optional {
            /// Google place ids (`ChIJ...`).
            place_ids: Vec<String> = "placeIds",
            /// Google Maps data ids (`0x...:0x...`).
            data_ids: Vec<String> = "dataIds",
            /// Review order.
            sort_by: MapsReviewsSort = "sortBy",
            /// Two-letter interface language.
            hl: String = "hl",
            /// Restrict to one review topic.
            topic_id: String = "topicId",
        }
    }
}

impl BodyRules for GoogleMapsReviewsBody {}

job_body! {
    /// The body of a `google-trends` job (*inferred*).
    pub struct GoogleTrendsBody {
        required {}
        optional {
            /// The search terms to compare.
            keywords: Vec<String> = "keywords",
            /// Region code (`US`, `US-NY`).
            geo: String = "geo",
            /// Sub-region breakdown.
            region: String = "region",
            /// Time range (`today 12-m`, `2024-01-01 2024-06-30`).
            date: String = "date",
            /// Category id.
            cat: String = "cat",
            /// Property: web, `images`, `news`, `froogle`, `youtube`.
            gprop: String = "gprop",
            /// Which data to return (`TIMESERIES`, `GEO_MAP`, ...).
            data_type: String = "dataType",
            /// Time-zone offset in minutes.
            tz: f64 = "tz",
        }
    }
}

impl BodyRules for GoogleTrendsBody {}
