//! Bulk local listings: `yelp`, `yellow-pages` (fields taken from the synchronous APIs).

use serde_json::{Map, Value};

use super::{BodyRules, job_body};
use crate::validate::Checker;

job_body! {
    /// The body of a `yelp` job; its fields are taken from the synchronous Yelp API.
    pub struct YelpBody {
        required {}
        optional {
            /// What to search for (`"McDonald's"`).
            keyword: String = "keyword" [I],
            /// Where (`"New York, NY"`).
            location: String = "location" [I],
            /// The Yelp domain (`www.yelp.com`, `www.yelp.de`, ...).
            domain: String = "domain" [I],
        }
    }
}

impl BodyRules for YelpBody {
    fn check_rules(body: &Map<String, Value>, checker: &mut Checker) {
        checker.probably_needs(
            body,
            "yelp",
            &["keyword"],
            "the synchronous Yelp API requires it",
        );
        checker.probably_needs(
            body,
            "yelp",
            &["location"],
            "the synchronous Yelp API requires it",
        );
    }
}

open_enum! {
    /// The Yellow Pages site.
    strict pub enum YellowPagesDomain {
        /// The United States.
        Us = "www.yellowpages.com",
        /// Canada.
        Ca = "www.yellowpages.ca",
    }
}

open_enum! {
    /// The order of Yellow Pages results.
    strict pub enum YellowPagesSort {
        /// The site's default.
        Default = "default",
        /// Nearest first.
        Distance = "distance",
        /// Best rated first.
        AverageRating = "averageRating",
        /// By name.
        Name = "name",
    }
}

job_body! {
    /// The body of a `yellow-pages` job; its fields are taken from the synchronous Yellow
    /// Pages API.
    pub struct YellowPagesBody {
        required {}
        optional {
            /// What to search for (`"Plumbers"`).
            keyword: String = "keyword" [I],
            /// Where (`"New York, NY"`).
            location: String = "location" [I],
            /// The site.
            domain: YellowPagesDomain = "domain" [I],
            /// Result order.
            sort: YellowPagesSort = "sort" [I],
        }
    }
}

impl BodyRules for YellowPagesBody {
    fn check_rules(body: &Map<String, Value>, checker: &mut Checker) {
        checker.probably_needs(
            body,
            "yellow-pages",
            &["keyword"],
            "the synchronous Yellow Pages API requires it",
        );
        checker.probably_needs(
            body,
            "yellow-pages",
            &["location"],
            "the synchronous Yellow Pages API requires it",
        );
    }
}
