//! `shopify`: a multi-store crawl. The job body is taken from the synchronous Shopify API.

use super::{BodyRules, job_body};
use serde_json::{Map, Value};

use crate::validate::{Checker, Evidence};

job_body! {
    /// The body of a `shopify` job; its fields are taken from the synchronous Shopify API.
    pub struct ShopifyBody {
        required {}
        optional {
            /// Store URLs (`https://store.myshopify.com`).
            urls: Vec<String> = "urls" [I],
            /// A collection handle to restrict the crawl to.
            collection: String = "collection" [I],
        }
    }
}

impl BodyRules for ShopifyBody {
    fn check_rules(body: &Map<String, Value>, checker: &mut Checker) {
        checker.probably_needs(
            body,
            "shopify",
            &["urls"],
            "the synchronous Shopify API requires a store URL",
        );
        checker.http_urls(body, "urls", Evidence::Inferred);
    }
}
