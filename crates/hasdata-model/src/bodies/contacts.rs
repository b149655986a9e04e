//! `contacts`: a list of pages to extract e-mails, phones and social profiles from.

use super::{BodyRules, job_body};
use serde_json::{Map, Value};

use crate::validate::{Checker, Evidence};

job_body! {
    /// The body of a `contacts` job. One row comes back per input URL.
    pub struct ContactsBody {
        required {
            /// The pages to read; at least one. With only a domain, find pages first
            /// (a `google-serp` job for `site:example.com`).
            #[schemars(length(min = 1), inner(regex(pattern = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+([/?#]\S*)?$")))]
            urls: Vec<String> = "urls" [V],
        }
        optional {}
    }
}

impl BodyRules for ContactsBody {
    /// The docs require `urls`, the pages to read.
    fn check_rules(body: &Map<String, Value>, checker: &mut Checker) {
        checker.non_empty_list(body, "urls", Evidence::Verified);
        checker.http_urls(body, "urls", Evidence::Verified);
    }
}
