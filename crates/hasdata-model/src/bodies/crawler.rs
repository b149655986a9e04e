//! `crawler`: a recursive site crawl, with every Web Scraping API option applied to each page.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{BodyRules, job_body};
use crate::validate::Checker;

open_enum! {
    /// A format the crawler writes each page in; each becomes a key of the row.
    strict pub enum OutputFormat {
        /// Raw HTML.
        Html = "html",
        /// Visible text.
        Text = "text",
        /// Markdown.
        Markdown = "markdown",
        /// Structured JSON.
        Json = "json",
    }
}

open_enum! {
    /// The kind of proxy pages are fetched through; residential costs more credits.
    strict pub enum ProxyType {
        /// Datacenter proxies.
        Datacenter = "datacenter",
        /// Residential proxies.
        Residential = "residential",
    }
}

open_enum! {
    /// The country pages are fetched from.
    strict pub enum ProxyCountry {
        /// United States.
        Us = "US",
        /// United Kingdom.
        Uk = "UK",
        /// Germany.
        De = "DE",
        /// Ireland.
        Ie = "IE",
        /// France.
        Fr = "FR",
        /// Italy.
        It = "IT",
        /// Sweden.
        Se = "SE",
        /// Brazil.
        Br = "BR",
        /// Canada.
        Ca = "CA",
        /// Japan.
        Jp = "JP",
        /// Singapore.
        Sg = "SG",
        /// India.
        In = "IN",
        /// Indonesia.
        Id = "ID",
    }
}

job_body! {
    /// The body of a `crawler` job: seed URLs, crawl bounds, and page options.
    pub struct CrawlerBody {
        required {
            /// Seed URLs to start crawling from; at least one.
            urls: Vec<String> = "urls",
        }
        optional {
            /// Hops from a seed URL.
            max_depth: u32 = "maxDepth",
            /// Only follow paths matching this regular expression (case-sensitive).
            include_paths: String = "includePaths",
            /// Never follow paths matching this regular expression (case-sensitive).
            exclude_paths: String = "excludePaths",
            /// The formats each page is returned in.
            output_format: Vec<OutputFormat> = "outputFormat",
            /// Render pages with JavaScript (the API's default is `true`; costs more credits).
            js_rendering: bool = "jsRendering",
            /// The proxy kind.
            proxy_type: ProxyType = "proxyType",
            /// The proxy country.
            proxy_country: ProxyCountry = "proxyCountry",
            /// Milliseconds to wait after the page loads.
            wait: u64 = "wait",
            /// A CSS selector to wait for.
            wait_for: String = "waitFor",
            /// Block images, fonts and styles.
            block_resources: bool = "blockResources",
            /// Block ads.
            block_ads: bool = "blockAds",
            /// URL patterns to block.
            block_urls: Vec<String> = "blockUrls",
            /// Take a screenshot of each page.
            screenshot: bool = "screenshot",
            /// Extract e-mail addresses.
            extract_emails: bool = "extractEmails",
            /// Extract links.
            extract_links: bool = "extractLinks",
            /// Field name -> CSS selector (`"a @href"` for an attribute), or a nested rule object.
            extract_rules: BTreeMap<String, Value> = "extractRules",
            /// Field name -> AI extraction rule (`{type, description, output}`).
            ai_extract_rules: BTreeMap<String, Value> = "aiExtractRules",
            /// Browser actions to run on each page (`click`, `wait`, `fill`, ...).
            js_scenario: Vec<Value> = "jsScenario",
            /// Extra request headers for each page.
            headers: BTreeMap<String, String> = "headers",
            /// Keep only these HTML tags.
            include_only_tags: Vec<String> = "includeOnlyTags",
            /// Drop these HTML tags.
            exclude_tags: Vec<String> = "excludeTags",
            /// Remove inline base64 images from the output.
            remove_base64_images: bool = "removeBase64Images",
        }
    }
}

impl BodyRules for CrawlerBody {
    fn check_rules(&self, checker: &mut Checker) {
        checker.non_empty("urls", &self.urls);
        checker.http_urls("urls", &self.urls);
        if let Some(pattern) = &self.include_paths {
            checker.regex("includePaths", pattern);
        }
        if let Some(pattern) = &self.exclude_paths {
            checker.regex("excludePaths", pattern);
        }
    }
}
