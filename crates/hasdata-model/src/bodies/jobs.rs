//! Bulk job boards: `indeed`, `glassdoor`.

use serde_json::{Map, Value};

use super::{BodyRules, job_body};
use crate::validate::Checker;

open_enum! {
    /// The order of Indeed results.
    strict pub enum IndeedSort {
        /// Most relevant first.
        Relevance = "relevance",
        /// Newest first.
        Date = "date",
    }
}

job_body! {
    /// The body of an `indeed` job: one search per keyword and location. `keywords` and
    /// `locations` are seen with the live API; `domain` and `sort` are taken from the
    /// synchronous Indeed API.
    pub struct IndeedBody {
        required {}
        optional {
            /// Job titles or terms (`"software engineer"`).
            keywords: Vec<String> = "keywords" [C],
            /// Places (`"New York, NY"`, `"Remote"`).
            locations: Vec<String> = "locations" [C],
            /// The Indeed site (default `www.indeed.com`).
            domain: String = "domain" [I],
            /// Result order.
            sort: IndeedSort = "sort" [I],
        }
    }
}

impl BodyRules for IndeedBody {
    fn check_rules(body: &Map<String, Value>, checker: &mut Checker) {
        checker.probably_needs(
            body,
            "indeed",
            &["keywords"],
            "the synchronous Indeed API requires a keyword",
        );
        checker.probably_needs(
            body,
            "indeed",
            &["locations"],
            "the synchronous Indeed API requires a location",
        );
    }
}

open_enum! {
    /// The order of Glassdoor results.
    strict pub enum GlassdoorSort {
        /// Newest first.
        Recent = "recent",
        /// Most relevant first.
        Relevant = "relevant",
    }
}

job_body! {
    /// The body of a `glassdoor` job; its fields are taken from the synchronous Glassdoor API.
    pub struct GlassdoorBody {
        required {}
        optional {
            /// Job titles or terms.
            keywords: Vec<String> = "keywords" [I],
            /// Places.
            locations: Vec<String> = "locations" [I],
            /// The Glassdoor site (default `www.glassdoor.com`).
            domain: String = "domain" [I],
            /// Result order.
            sort: GlassdoorSort = "sort" [I],
        }
    }
}

impl BodyRules for GlassdoorBody {
    fn check_rules(body: &Map<String, Value>, checker: &mut Checker) {
        checker.probably_needs(
            body,
            "glassdoor",
            &["keywords"],
            "the synchronous Glassdoor API requires a keyword",
        );
        checker.probably_needs(
            body,
            "glassdoor",
            &["locations"],
            "the synchronous Glassdoor API requires a location",
        );
    }
}
