//! `crawler`: a recursive site crawl, with every Web Scraping API option applied to each page.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{BodyRules, job_body};
use crate::validate::{Checker, Evidence, text};

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
    /// The country pages are fetched from. The list is the Web Scraping API's; other
    /// countries may work.
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
            #[schemars(length(min = 1), inner(regex(pattern = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+([/?#]\S*)?$")))]
            urls: Vec<String> = "urls" [V],
        }
        optional {
            /// Hops from a seed URL.
            max_depth: u32 = "maxDepth" [V],
            /// Only follow paths matching this regular expression (case-sensitive).
            include_paths: String = "includePaths" [V],
            /// Never follow paths matching this regular expression (case-sensitive).
            exclude_paths: String = "excludePaths" [V],
            /// The formats each page is returned in.
            output_format: Vec<OutputFormat> = "outputFormat" [V],
            /// Render pages with JavaScript (the API's default is `true`; costs more credits).
            js_rendering: bool = "jsRendering" [V],
            /// The proxy kind.
            proxy_type: ProxyType = "proxyType" [V],
            /// The proxy country.
            proxy_country: ProxyCountry = "proxyCountry" [V],
            /// Milliseconds to wait after the page loads.
            wait: u64 = "wait" [V],
            /// A CSS selector to wait for.
            wait_for: String = "waitFor" [V],
            /// Block images, fonts and styles.
            block_resources: bool = "blockResources" [V],
            /// Block ads.
            block_ads: bool = "blockAds" [V],
            /// URL patterns to block.
            block_urls: Vec<String> = "blockUrls" [V],
            /// Take a screenshot of each page.
            screenshot: bool = "screenshot" [V],
            /// Extract e-mail addresses.
            extract_emails: bool = "extractEmails" [V],
            /// Extract links.
            extract_links: bool = "extractLinks" [V],
            /// Field name -> CSS selector (`"a @href"` for an attribute), or a nested rule object.
            extract_rules: BTreeMap<String, Value> = "extractRules" [V],
            /// Field name -> AI extraction rule (`{type, description, output}`).
            ai_extract_rules: BTreeMap<String, Value> = "aiExtractRules" [V],
            /// Browser actions to run on each page (`click`, `wait`, `fill`, ...).
            js_scenario: Vec<Value> = "jsScenario" [V],
            /// Extra request headers for each page.
            headers: BTreeMap<String, String> = "headers" [V],
            /// Keep only these HTML tags.
            include_only_tags: Vec<String> = "includeOnlyTags" [V],
            /// Drop these HTML tags.
            exclude_tags: Vec<String> = "excludeTags" [V],
            /// Remove inline base64 images from the output.
            remove_base64_images: bool = "removeBase64Images" [V],
        }
    }
}

impl BodyRules for CrawlerBody {
    /// The docs require `urls` (seed URLs); each must be a URL to crawl. The regexes'
    /// engine is not documented, so a pattern that does not compile here only warns.
    fn check_rules(body: &Map<String, Value>, checker: &mut Checker) {
        checker.non_empty_list(body, "urls", Evidence::Verified);
        checker.http_urls(body, "urls", Evidence::Verified);
        for key in ["includePaths", "excludePaths"] {
            if let Some(pattern) = text(body, key) {
                checker.regex(key, pattern);
            }
        }
    }
}
