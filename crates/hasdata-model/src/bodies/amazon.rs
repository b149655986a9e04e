//! Bulk Amazon: search, product, reviews, seller products, bestsellers. Every field here is
//! *inferred* from the synchronous Amazon APIs (which take one item where jobs take lists).

use super::{BodyRules, job_body};

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
    /// The body of an `amazon-search` job (*inferred*).
    pub struct AmazonSearchBody {
        required {}
        optional {
            /// The searches to run.
            keywords: Vec<String> = "keywords",
            /// The Amazon domain (`www.amazon.com`, `www.amazon.de`, ...).
            domain: String = "domain",
            /// Result order.
            sort_by: AmazonSearchSort = "sortBy",
            /// Deliver-to ZIP code.
            delivery_zip: String = "deliveryZip",
            /// Deliver-to country.
            shipping_location: String = "shippingLocation",
            /// Page language.
            language: String = "language",
        }
    }
}

impl BodyRules for AmazonSearchBody {}

job_body! {
    /// The body of an `amazon-product` job (*inferred*).
    pub struct AmazonProductBody {
        required {}
        optional {
            /// Product ASINs.
            asins: Vec<String> = "asins",
            /// The Amazon domain.
            domain: String = "domain",
            /// Include other sellers' offers (the API's default is `true`).
            other_sellers: bool = "otherSellers",
            /// Deliver-to ZIP code.
            delivery_zip: String = "deliveryZip",
            /// Deliver-to country.
            shipping_location: String = "shippingLocation",
            /// Page language.
            language: String = "language",
        }
    }
}

impl BodyRules for AmazonProductBody {}

job_body! {
    /// The body of an `amazon-product-reviews` job (*inferred*).
    pub struct AmazonProductReviewsBody {
        required {}
        optional {
            /// Product ASINs.
            asins: Vec<String> = "asins",
            /// The Amazon domain.
            domain: String = "domain",
            /// Review order.
            sort_by: AmazonReviewsSort = "sortBy",
            /// Star filter.
            stars: AmazonReviewStars = "stars",
            /// Format filter.
            format: AmazonReviewFormat = "format",
            /// Media filter.
            media_type: AmazonReviewMedia = "mediaType",
            /// Reviewer filter.
            reviewer_type: AmazonReviewerType = "reviewerType",
            /// Only reviews containing this text.
            search_term: String = "searchTerm",
        }
    }
}

impl BodyRules for AmazonProductReviewsBody {}

job_body! {
    /// The body of an `amazon-seller-products` job (*inferred*).
    pub struct AmazonSellerProductsBody {
        required {}
        optional {
            /// Seller ids (`ATQQBVXK188KS`).
            seller_ids: Vec<String> = "sellerIds",
            /// The Amazon domain.
            domain: String = "domain",
            /// Page language.
            language: String = "language",
        }
    }
}

impl BodyRules for AmazonSellerProductsBody {}

job_body! {
    /// The body of an `amazon-bestsellers` job. Nothing about it is documented (category URLs
    /// or ids are likely): set what you need with `extra_field`.
    pub struct AmazonBestsellersBody {
        required {}
        optional {}
    }
}

impl BodyRules for AmazonBestsellersBody {}
