//! `shopify`: a multi-store crawl. The job body is *inferred* from the synchronous API.

use super::{BodyRules, job_body};
use crate::validate::Checker;

job_body! {
    /// The body of a `shopify` job (*inferred*).
    pub struct ShopifyBody {
        required {}
        optional {
            /// Store URLs (`https://store.myshopify.com`).
            urls: Vec<String> = "urls",
            /// A collection handle to restrict the crawl to.
            collection: String = "collection",
        }
    }
}

impl BodyRules for ShopifyBody {
    fn check_rules(&self, checker: &mut Checker) {
        if let Some(urls) = &self.urls {
            checker.http_urls("urls", urls);
        }
    }
}
