//! `contacts`: a list of pages to extract e-mails, phones and social profiles from.

use super::{BodyRules, job_body};
use crate::validate::Checker;

job_body! {
    /// The body of a `contacts` job. One row comes back per input URL.
    pub struct ContactsBody {
        required {
            /// The pages to read; at least one. With only a domain, find pages first
            /// (a `google-serp` job for `site:example.com`).
            urls: Vec<String> = "urls",
        }
        optional {}
    }
}

impl BodyRules for ContactsBody {
    fn check_rules(&self, checker: &mut Checker) {
        checker.non_empty("urls", &self.urls);
        checker.http_urls("urls", &self.urls);
    }
}
