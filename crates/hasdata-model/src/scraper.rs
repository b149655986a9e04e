//! The 20 scrapers: the `Scraper` trait, one marker type per slug, and `ScraperKind`.
//!
//! One table below lists every scraper once (marker, slug, body, row); the enum, the markers,
//! the slug parsing and the dispatch by slug are all generated from it, so they cannot drift.

use std::fmt;
use std::str::FromStr;

use schemars::Schema;

use crate::bodies::{self, JobBody};
use crate::rows::{self, JobRow};
use crate::schemas;
use crate::validate::{Report, ValidateOptions, ValidationErrors};

/// A scraper, known at compile time: its slug, body type and row type.
///
/// ```
/// use hasdata_model::{Scraper, scrapers::Contacts};
/// assert_eq!(Contacts::SLUG, "contacts");
/// let body = <Contacts as Scraper>::Body::new(["https://example.com/about"]);
/// # let _ = body;
/// ```
pub trait Scraper: Send + Sync + 'static {
    /// The slug in `POST /scrapers/{slug}/jobs`.
    const SLUG: &'static str;
    /// The same scraper as a runtime value.
    const KIND: ScraperKind;
    /// The job body.
    type Body: JobBody;
    /// One result row.
    type Row: JobRow;
}

/// The scraper of each body type, from the table below; `JobBody::Scraper` reads it, so the
/// link between a body and its scraper is written once. Not part of the API.
#[doc(hidden)]
pub trait BodyOf {
    /// The body's scraper.
    type Scraper: Scraper;
}

/// The error of parsing an unknown slug; its message lists every valid one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown scraper {given:?}: expected one of {}", ScraperKind::slugs().join(", "))]
pub struct UnknownScraper {
    /// The slug that was given.
    pub given: String,
}

macro_rules! scrapers {
    ( $( $(#[$meta:meta])* $marker:ident => $slug:literal, $body:ty, $row:ty; )+ ) => {
        /// Marker types, one per scraper, for the typed API (`client.job::<Contacts>(id)`; a body names its own).
        pub mod markers {
            $(
                $(#[$meta])*
                #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
                pub struct $marker;
            )+
        }

        $(
            impl BodyOf for $body {
                type Scraper = markers::$marker;
            }

            impl Scraper for markers::$marker {
                const SLUG: &'static str = $slug;
                const KIND: ScraperKind = ScraperKind::$marker;
                type Body = $body;
                type Row = $row;
            }
        )+

        /// Every scraper as a runtime value, for when only a slug string is known.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ScraperKind {
            $( $(#[$meta])* $marker, )+
        }

        impl ScraperKind {
            /// All scrapers, in the order of the API's page.
            pub const ALL: &'static [ScraperKind] = &[$(ScraperKind::$marker),+];

            /// The slug.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( ScraperKind::$marker => $slug, )+
                }
            }

            /// Runs code that is generic over the scraper type for a scraper known only at
            /// runtime (from a slug string).
            pub fn visit<V: ScraperVisitor>(self, visitor: V) -> V::Output {
                match self {
                    $( ScraperKind::$marker => visitor.visit::<markers::$marker>(), )+
                }
            }
        }
    };
}

scrapers! {
    /// `crawler`: recursive site crawl.
    Crawler => "crawler", bodies::CrawlerBody, rows::CrawlerRow;
    /// `contacts`: URLs to e-mails, phones and social profiles.
    Contacts => "contacts", bodies::ContactsBody, rows::ContactsRow;
    /// `sec-edgar`: bulk SEC filings.
    SecEdgar => "sec-edgar", bodies::SecEdgarBody, rows::RawRow;
    /// `google-serp`: bulk Google search.
    GoogleSerp => "google-serp", bodies::GoogleSerpBody, rows::GoogleSerpRow;
    /// `google-maps`: bulk Google Maps search.
    GoogleMaps => "google-maps", bodies::GoogleMapsBody, rows::GoogleMapsRow;
    /// `google-maps-reviews`: Google Maps reviews.
    GoogleMapsReviews => "google-maps-reviews", bodies::GoogleMapsReviewsBody, rows::RawRow;
    /// `google-trends`: Google Trends.
    GoogleTrends => "google-trends", bodies::GoogleTrendsBody, rows::RawRow;
    /// `amazon-search`: Amazon search results.
    AmazonSearch => "amazon-search", bodies::AmazonSearchBody, rows::RawRow;
    /// `amazon-product`: Amazon products.
    AmazonProduct => "amazon-product", bodies::AmazonProductBody, rows::RawRow;
    /// `amazon-product-reviews`: Amazon reviews.
    AmazonProductReviews => "amazon-product-reviews", bodies::AmazonProductReviewsBody, rows::RawRow;
    /// `amazon-seller-products`: a seller's products.
    AmazonSellerProducts => "amazon-seller-products", bodies::AmazonSellerProductsBody, rows::RawRow;
    /// `amazon-bestsellers`: Amazon bestseller lists.
    AmazonBestsellers => "amazon-bestsellers", bodies::AmazonBestsellersBody, rows::RawRow;
    /// `shopify`: multi-store crawl.
    Shopify => "shopify", bodies::ShopifyBody, rows::RawRow;
    /// `zillow`: Zillow listings.
    Zillow => "zillow", bodies::ZillowBody, rows::ZillowRow;
    /// `redfin`: Redfin listings.
    Redfin => "redfin", bodies::RedfinBody, rows::RawRow;
    /// `airbnb`: Airbnb listings.
    Airbnb => "airbnb", bodies::AirbnbBody, rows::RawRow;
    /// `yelp`: Yelp places.
    Yelp => "yelp", bodies::YelpBody, rows::RawRow;
    /// `yellow-pages`: Yellow Pages places.
    YellowPages => "yellow-pages", bodies::YellowPagesBody, rows::RawRow;
    /// `indeed`: Indeed jobs.
    Indeed => "indeed", bodies::IndeedBody, rows::RawRow;
    /// `glassdoor`: Glassdoor jobs.
    Glassdoor => "glassdoor", bodies::GlassdoorBody, rows::RawRow;
}

/// Code generic over a [`Scraper`], run through [`ScraperKind::visit`].
pub trait ScraperVisitor {
    /// What the code returns.
    type Output;
    /// Runs for scraper `S`.
    fn visit<S: Scraper>(self) -> Self::Output;
}

struct CheckJson<'a>(&'a serde_json::Value, ValidateOptions);

impl ScraperVisitor for CheckJson<'_> {
    type Output = Report;
    fn visit<S: Scraper>(self) -> Report {
        <S::Body as JobBody>::check_json(self.0, self.1)
    }
}

struct BodySchema;

impl ScraperVisitor for BodySchema {
    type Output = Schema;
    fn visit<S: Scraper>(self) -> Schema {
        schemas::serialize_schema::<S::Body>()
    }
}

struct RowSchema;

impl ScraperVisitor for RowSchema {
    type Output = Schema;
    fn visit<S: Scraper>(self) -> Schema {
        schemas::deserialize_schema::<S::Row>()
    }
}

struct RowShapeKnown;

impl ScraperVisitor for RowShapeKnown {
    type Output = bool;
    fn visit<S: Scraper>(self) -> bool {
        <S::Row as JobRow>::SHAPE_KNOWN
    }
}

impl ScraperKind {
    /// Checks a JSON body for this scraper by evidence: every problem at once, each with its
    /// path, its evidence and whether it is an error (a rule HasData's docs verify) or a
    /// warning (the body can be sent as written). Nothing is decoded, so values of the wrong
    /// type are reported too, all of them.
    pub fn check_json(self, body: &serde_json::Value) -> Report {
        self.check_json_with(body, ValidateOptions::default())
    }

    /// [`ScraperKind::check_json`] with `options` (a local simulator's http webhooks).
    pub fn check_json_with(self, body: &serde_json::Value, options: ValidateOptions) -> Report {
        self.visit(CheckJson(body, options))
    }

    /// [`ScraperKind::check_json`] as a result: `Ok` with the warnings, or the errors.
    pub fn validate_json(self, body: &serde_json::Value) -> Result<Report, ValidationErrors> {
        self.check_json(body).into_result()
    }

    /// [`ScraperKind::validate_json`] with `options` (a local simulator's http webhooks).
    pub fn validate_json_with(
        self,
        body: &serde_json::Value,
        options: ValidateOptions,
    ) -> Result<Report, ValidationErrors> {
        self.check_json_with(body, options).into_result()
    }

    /// The JSON Schema of this scraper's body: what a valid body serializes to.
    pub fn body_schema(self) -> Schema {
        self.visit(BodySchema)
    }

    /// The JSON Schema of one result row: what rows decode from.
    pub fn row_schema(self) -> Schema {
        self.visit(RowSchema)
    }

    /// Whether the row's fields are known; when not, rows are kept as raw objects.
    pub fn row_shape_known(self) -> bool {
        self.visit(RowShapeKnown)
    }

    /// Every slug, in the order of [`ScraperKind::ALL`].
    pub fn slugs() -> Vec<&'static str> {
        ScraperKind::ALL.iter().map(|k| k.as_str()).collect()
    }
}

impl fmt::Display for ScraperKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ScraperKind {
    type Err = UnknownScraper;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ScraperKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownScraper {
                given: s.to_owned(),
            })
    }
}

impl serde::Serialize for ScraperKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ScraperKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let slug = String::deserialize(deserializer)?;
        slug.parse().map_err(serde::de::Error::custom)
    }
}
