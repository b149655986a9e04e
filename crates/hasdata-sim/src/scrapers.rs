//! The simulator's own list of scrapers, taken from the API page's slug table.
//!
//! Deliberately not `hasdata-model`'s list: the simulator is the client's opponent in tests,
//! so it reads the docs itself. A slug the page does not list answers 404.

/// The slugs, in the order of the API page's table. A scraper's `scraperId` is its position
/// plus 20: a stand-in for the live numbering, which the docs do not list (nothing depends
/// on it).
const SLUGS: [&str; 20] = [
    "crawler",
    "contacts",
    "sec-edgar",
    "google-serp",
    "google-maps",
    "google-maps-reviews",
    "google-trends",
    "amazon-search",
    "amazon-product",
    "amazon-product-reviews",
    "amazon-seller-products",
    "amazon-bestsellers",
    "shopify",
    "zillow",
    "redfin",
    "airbnb",
    "yelp",
    "yellow-pages",
    "indeed",
    "glassdoor",
];

/// A scraper the API lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scraper {
    index: usize,
}

/// The row families the simulator generates: the scrapers whose rows the docs or live use
/// describe, and one plausible listing shape for the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `contacts`: one row per input URL.
    Contacts,
    /// `crawler`: one page per row.
    Crawler,
    /// `google-serp`: organic results.
    GoogleSerp,
    /// `google-maps`: places.
    GoogleMaps,
    /// `zillow`: properties.
    Zillow,
    /// Every other scraper.
    Listing,
}

impl Scraper {
    /// The scraper with this slug, if the API page lists it (case-sensitive, as in URLs).
    pub fn from_slug(slug: &str) -> Option<Scraper> {
        SLUGS
            .iter()
            .position(|s| *s == slug)
            .map(|index| Scraper { index })
    }

    /// The slug.
    pub fn slug(self) -> &'static str {
        SLUGS[self.index]
    }

    /// The `scraperId` the records carry.
    pub fn id(self) -> u64 {
        self.index as u64 + 20
    }

    /// Which rows it produces.
    pub fn family(self) -> Family {
        match self.slug() {
            "contacts" => Family::Contacts,
            "crawler" => Family::Crawler,
            "google-serp" => Family::GoogleSerp,
            "google-maps" => Family::GoogleMaps,
            "zillow" => Family::Zillow,
            _ => Family::Listing,
        }
    }

    /// Whether the docs make `urls` required (crawler and contacts: V on the facts sheet).
    pub fn needs_urls(self) -> bool {
        matches!(self.family(), Family::Contacts | Family::Crawler)
    }

    /// Every scraper, in the page's order.
    #[cfg(test)]
    pub fn all() -> impl Iterator<Item = Scraper> {
        (0..SLUGS.len()).map(|index| Scraper { index })
    }
}

/// Credits charged per row, per the API's published prices (contacts 5 and google-serp 2: V;
/// the crawler as a JavaScript-rendered Web Scraping page, 10; others 5).
pub fn credits_per_row(slug: &str) -> u64 {
    match slug {
        "contacts" => 5,
        "google-serp" => 2,
        "crawler" => 10,
        _ => 5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_round_trip_and_are_distinct() {
        let slugs: Vec<&str> = Scraper::all().map(Scraper::slug).collect();
        assert_eq!(slugs.len(), 20);
        for slug in &slugs {
            assert_eq!(Scraper::from_slug(slug).map(Scraper::slug), Some(*slug));
        }
        let mut sorted = slugs.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 20);
        assert_eq!(Scraper::from_slug("Contacts"), None, "case-sensitive");
        assert_eq!(Scraper::from_slug("google-serps"), None);
    }
}
