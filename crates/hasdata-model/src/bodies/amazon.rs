//! Bulk Amazon: search, product, reviews, seller products, bestsellers. Every field here is
//! taken from the synchronous Amazon APIs (which take one item where jobs take lists) and is
//! not confirmed for jobs.

use serde_json::{Map, Value};

use super::{BodyRules, job_body};
use crate::validate::Checker;

open_enum! {
    /// The order of Amazon search results.
    strict pub enum AmazonSearchSort {
        /// Amazon's default.
        Featured = "featured",
        /// Cheapest first.
        PriceLowToHigh = "priceLowToHigh",
        /// Dearest first.
        PriceHighToLow = "priceHighToLow",
        /// Best rated first.
        AvgCustomerReview = "avgCustomerReview",
        /// Newest first.
        NewestArrivals = "newestArrivals",
        /// Best selling first.
        BestSellers = "bestSellers",
    }
}

open_enum! {
    /// The order of Amazon reviews.
    strict pub enum AmazonReviewsSort {
        /// Most helpful first.
        Helpful = "helpful",
        /// Newest first.
        Recent = "recent",
    }
}

open_enum! {
    /// Which star ratings to keep.
    strict pub enum AmazonReviewStars {
        /// Every rating.
        AllStars = "allStars",
        /// Five stars.
        FiveStar = "fiveStar",
        /// Four stars.
        FourStar = "fourStar",
        /// Three stars.
        ThreeStar = "threeStar",
        /// Two stars.
        TwoStar = "twoStar",
        /// One star.
        OneStar = "oneStar",
        /// Positive reviews.
        Positive = "positive",
        /// Critical reviews.
        Critical = "critical",
    }
}

open_enum! {
    /// Reviews of every format of a product, or only the current one.
    strict pub enum AmazonReviewFormat {
        /// All formats.
        AllFormats = "allFormats",
        /// The current format.
        CurrentFormat = "currentFormat",
    }
}

open_enum! {
    /// Reviews with or without media.
    strict pub enum AmazonReviewMedia {
        /// All reviews.
        AllReviews = "allReviews",
        /// Only reviews with images or video.
        MediaReviews = "mediaReviews",
    }
}

open_enum! {
    /// Reviews from every reviewer, or verified purchases only.
    strict pub enum AmazonReviewerType {
        /// All reviewers.
        AllReviews = "allReviews",
        /// Verified purchases only.
        VerifiedPurchaseReviews = "verifiedPurchaseReviews",
    }
}

job_body! {
    /// The body of an `amazon-search` job; its fields are taken from the synchronous Amazon
    /// Search API.
    pub struct AmazonSearchBody {
        required {}
        optional {
            /// The searches to run.
            keywords: Vec<String> = "keywords" [I],
            /// The Amazon domain (`www.amazon.com`, `www.amazon.de`, ...).
            domain: String = "domain" [I],
            /// Result order.
            sort_by: AmazonSearchSort = "sortBy" [I],
            /// Deliver-to ZIP code.
            delivery_zip: String = "deliveryZip" [I],
            /// Deliver-to country.
            shipping_location: String = "shippingLocation" [I],
            /// Page language.
            language: String = "language" [I],
        }
    }
}

impl BodyRules for AmazonSearchBody {
    fn check_rules(body: &Map<String, Value>, checker: &mut Checker) {
        checker.probably_needs(
            body,
            "amazon-search",
            &["keywords"],
            "the synchronous search API requires a query",
        );
    }
}

job_body! {
    /// The body of an `amazon-product` job; its fields are taken from the synchronous Amazon
    /// Product API.
    pub struct AmazonProductBody {
        required {}
        optional {
            /// Product ASINs.
            asins: Vec<String> = "asins" [I],
            /// The Amazon domain.
            domain: String = "domain" [I],
            /// Include other sellers' offers (the API's default is `true`).
            other_sellers: bool = "otherSellers" [I],
            /// Deliver-to ZIP code.
            delivery_zip: String = "deliveryZip" [I],
            /// Deliver-to country.
            shipping_location: String = "shippingLocation" [I],
            /// Page language.
            language: String = "language" [I],
        }
    }
}

impl BodyRules for AmazonProductBody {
    fn check_rules(body: &Map<String, Value>, checker: &mut Checker) {
        checker.probably_needs(
            body,
            "amazon-product",
            &["asins"],
            "the synchronous product API requires an ASIN",
        );
    }
}

job_body! {
    /// The body of an `amazon-product-reviews` job; its fields are taken from the synchronous
    /// Amazon Reviews API.
    pub struct AmazonProductReviewsBody {
        required {}
        optional {
            /// Product ASINs.
            asins: Vec<String> = "asins" [I],
            /// The Amazon domain.
            domain: String = "domain" [I],
            /// Review order.
            sort_by: AmazonReviewsSort = "sortBy" [I],
            /// Star filter.
            stars: AmazonReviewStars = "stars" [I],
            /// Format filter.
            format: AmazonReviewFormat = "format" [I],
            /// Media filter.
            media_type: AmazonReviewMedia = "mediaType" [I],
            /// Reviewer filter.
            reviewer_type: AmazonReviewerType = "reviewerType" [I],
            /// Only reviews containing this text.
            search_term: String = "searchTerm" [I],
        }
    }
}

impl BodyRules for AmazonProductReviewsBody {
    fn check_rules(body: &Map<String, Value>, checker: &mut Checker) {
        checker.probably_needs(
            body,
            "amazon-product-reviews",
            &["asins"],
            "the synchronous reviews API requires an ASIN",
        );
    }
}

job_body! {
    /// The body of an `amazon-seller-products` job; its fields are taken from the synchronous
    /// Amazon Seller Products API.
    pub struct AmazonSellerProductsBody {
        required {}
        optional {
            /// Seller ids (`ATQQBVXK188KS`).
            seller_ids: Vec<String> = "sellerIds" [I],
            /// The Amazon domain.
            domain: String = "domain" [I],
            /// Page language.
            language: String = "language" [I],
        }
    }
}

impl BodyRules for AmazonSellerProductsBody {
    fn check_rules(body: &Map<String, Value>, checker: &mut Checker) {
        checker.probably_needs(
            body,
            "amazon-seller-products",
            &["sellerIds"],
            "the synchronous seller API requires a seller id",
        );
    }
}

job_body! {
    /// The body of an `amazon-bestsellers` job. Its fields are not documented (category URLs
    /// or ids are likely): set what you need with `extra_field`.
    pub struct AmazonBestsellersBody {
        required {}
        optional {}
    }
}

impl BodyRules for AmazonBestsellersBody {}
