//! Bulk local listings: `yelp`, `yellow-pages` (*inferred* from the synchronous APIs).

use super::{BodyRules, job_body};

job_body! {
    /// The body of a `yelp` job (*inferred*).
    pub struct YelpBody {
        required {}
        optional {
            /// What to search for (`"McDonald's"`).
            keyword: String = "keyword",
            /// Where (`"New York, NY"`).
            location: String = "location",
            /// The Yelp domain (`www.yelp.com`, `www.yelp.de`, ...).
            domain: String = "domain",
        }
    }
}

impl BodyRules for YelpBody {}

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
    /// The body of a `yellow-pages` job (*inferred*).
    pub struct YellowPagesBody {
        required {}
        optional {
            /// What to search for (`"Plumbers"`).
            keyword: String = "keyword",
            /// Where (`"New York, NY"`).
            location: String = "location",
            /// The site.
            domain: YellowPagesDomain = "domain",
            /// Result order.
            sort: YellowPagesSort = "sort",
        }
    }
}

impl BodyRules for YellowPagesBody {}
