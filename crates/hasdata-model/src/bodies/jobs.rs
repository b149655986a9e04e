//! Bulk job boards: `indeed`, `glassdoor`.

use super::{BodyRules, job_body};

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
    /// `locations` are seen live; `domain` and `sort` are *inferred*.
    pub struct IndeedBody {
        required {}
        optional {
            /// Job titles or terms (`"software engineer"`).
            keywords: Vec<String> = "keywords",
            /// Places (`"New York, NY"`, `"Remote"`).
            locations: Vec<String> = "locations",
            /// The Indeed site (default `www.indeed.com`).
            domain: String = "domain",
            /// Result order.
            sort: IndeedSort = "sort",
        }
    }
}

impl BodyRules for IndeedBody {}

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
    /// The body of a `glassdoor` job (*inferred*).
    pub struct GlassdoorBody {
        required {}
        optional {
            /// Job titles or terms.
            keywords: Vec<String> = "keywords",
            /// Places.
            locations: Vec<String> = "locations",
            /// The Glassdoor site (default `www.glassdoor.com`).
            domain: String = "domain",
            /// Result order.
            sort: GlassdoorSort = "sort",
        }
    }
}

impl BodyRules for GlassdoorBody {}
