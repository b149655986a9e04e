//! Bulk real estate: `zillow`, `redfin`, `airbnb`.

use super::{BodyRules, job_body};
use crate::field::Range;
use serde_json::{Map, Value};

use crate::validate::{Checker, Evidence, text};

open_enum! {
    /// Which listings to search.
    strict pub enum ListingStatus {
        /// For sale.
        ForSale = "forSale",
        /// For rent.
        ForRent = "forRent",
        /// Recently sold.
        Sold = "sold",
    }
}

open_enum! {
    /// Zillow home types.
    strict pub enum ZillowHomeType {
        /// Houses.
        House = "house",
        /// Townhomes.
        Townhome = "townhome",
        /// Multi-family.
        MultiFamily = "multiFamily",
        /// Condos and co-ops.
        Condo = "condo",
        /// Lots and land.
        Lot = "lot",
        /// Apartments.
        Apartment = "apartment",
        /// Manufactured homes.
        Manufactured = "manufactured",
    }
}

open_enum! {
    /// How long a sold listing may have been on Zillow.
    strict pub enum DaysOnZillow {
        /// Six months.
        SixMonths = "6m",
        /// Twelve months.
        TwelveMonths = "12m",
        /// Twenty-four months.
        TwentyFourMonths = "24m",
        /// Thirty-six months.
        ThirtySixMonths = "36m",
    }
}

open_enum! {
    /// Who lists the home.
    strict pub enum ZillowListedBy {
        /// An agent.
        ByAgent = "byAgent",
        /// The owner.
        ByOwner = "byOwner",
    }
}

open_enum! {
    /// The order of Zillow results.
    strict pub enum ZillowSort {
        /// Verified source first.
        VerifiedSource = "verifiedSource",
        /// Zillow's recommendation.
        HomesForYou = "homesForYou",
        /// Dearest first.
        PriceHighToLow = "priceHighToLow",
        /// Cheapest first.
        PriceLowToHigh = "priceLowToHigh",
        /// Highest payment first.
        PaymentHighToLow = "paymentHighToLow",
        /// Lowest payment first.
        PaymentLowToHigh = "paymentLowToHigh",
        /// Newest first.
        Newest = "newest",
        /// Most bedrooms first.
        Bedrooms = "bedrooms",
        /// Most bathrooms first.
        Bathrooms = "bathrooms",
        /// Largest first.
        SquareFeet = "squareFeet",
        /// Largest lot first.
        LotSize = "lotSize",
    }
}

job_body! {
    /// The body of a `zillow` job. `type`, `keyword`, `keywords` and `detailedInformation`
    /// are seen with the live API; the filters are taken from the synchronous Zillow API.
    pub struct ZillowBody {
        required {
            /// Which listings: for sale, for rent or sold.
            listing_type: ListingStatus = "type" [C],
            /// The location to search (`"New York, NY"`, a ZIP code).
            keyword: String = "keyword" [C],
        }
        optional {
            /// Extra search terms.
            keywords: String = "keywords" [C],
            /// Fetch each property's detail page (more fields, more credits).
            detailed_information: bool = "detailedInformation" [C],
            /// Price bounds.
            price: Range = "price" [I],
            /// Bedroom bounds.
            beds: Range = "beds" [I],
            /// Bathroom bounds.
            baths: Range = "baths" [I],
            /// Home types to keep.
            home_types: Vec<ZillowHomeType> = "homeTypes" [I],
            /// Time on Zillow (sold listings).
            days_on_zillow: DaysOnZillow = "daysOnZillow" [I],
            /// Listed by an agent or the owner.
            listed_by: ZillowListedBy = "listingType" [I],
            /// Result order.
            sort: ZillowSort = "sort" [I],
        }
    }
}

impl BodyRules for ZillowBody {
    fn check_rules(body: &Map<String, Value>, checker: &mut Checker) {
        if let Some(keyword) = text(body, "keyword") {
            checker.non_blank("keyword", keyword, Evidence::Community);
        }
    }
}

open_enum! {
    /// Redfin home types.
    strict pub enum RedfinHomeType {
        /// Houses.
        House = "house",
        /// Townhouses.
        Townhouse = "townhouse",
        /// Townhomes.
        Townhome = "townhome",
        /// Condos.
        Condo = "condo",
        /// Land.
        Land = "land",
        /// Multi-family.
        MultiFamily = "multiFamily",
        /// Mobile homes.
        Mobile = "mobile",
        /// Co-ops.
        CoOp = "coOp",
        /// Anything else.
        OtherType = "other",
        /// Apartments.
        Apartment = "apartment",
    }
}

open_enum! {
    /// The fewest bathrooms on Redfin.
    strict pub enum RedfinBaths {
        /// 1+.
        One = "one",
        /// 1.5+.
        OneAndHalf = "oneAndHalf",
        /// 2+.
        Two = "two",
        /// 2.5+.
        TwoAndHalf = "twoAndHalf",
        /// 3+.
        Three = "three",
        /// 4+.
        Four = "four",
    }
}

open_enum! {
    /// The order of Redfin results.
    strict pub enum RedfinSort {
        /// Redfin's recommendation.
        Recommended = "recommended",
        /// Newest first.
        Newest = "newest",
        /// Oldest first.
        Oldest = "oldest",
        /// Cheapest first.
        PriceLowToHigh = "priceLowToHigh",
        /// Dearest first.
        PriceHighToLow = "priceHighToLow",
        /// Smallest first.
        MinSquareFeet = "minSquareFeet",
        /// Largest first.
        MaxSquareFeet = "maxSquareFeet",
        /// Most bedrooms first.
        Bedrooms = "bedrooms",
        /// Most bathrooms first.
        Bathrooms = "bathrooms",
        /// Largest lot first.
        LotSize = "lotSize",
        /// Cheapest per square foot first.
        SquareFeetPrice = "squareFeetPrice",
        /// Most recently sold first.
        MostRecentlySold = "mostRecentlySold",
    }
}

job_body! {
    /// The body of a `redfin` job; its fields are taken from the synchronous Redfin API.
    pub struct RedfinBody {
        required {
            /// Which listings: for sale, for rent or sold.
            listing_type: ListingStatus = "type" [I],
            /// The location to search; a ZIP code works best.
            keyword: String = "keyword" [I],
        }
        optional {
            /// Price bounds.
            price: Range = "price" [I],
            /// Bedroom bounds.
            beds: Range = "beds" [I],
            /// The fewest bathrooms.
            baths: RedfinBaths = "baths" [I],
            /// Home types to keep.
            home_types: Vec<RedfinHomeType> = "homeTypes" [I],
            /// Result order.
            sort: RedfinSort = "sort" [I],
        }
    }
}

impl BodyRules for RedfinBody {
    fn check_rules(body: &Map<String, Value>, checker: &mut Checker) {
        if let Some(keyword) = text(body, "keyword") {
            checker.non_blank("keyword", keyword, Evidence::Inferred);
        }
    }
}

job_body! {
    /// The body of an `airbnb` job; its fields are taken from the synchronous Airbnb API.
    pub struct AirbnbBody {
        required {}
        optional {
            /// Where to stay (`"New York"`).
            location: String = "location" [I],
            /// Arrival date, `YYYY-MM-DD`.
            check_in: String = "checkIn" [I],
            /// Departure date, `YYYY-MM-DD`.
            check_out: String = "checkOut" [I],
            /// Adult guests.
            adults: u32 = "adults" [I],
            /// Child guests.
            children: u32 = "children" [I],
            /// Infant guests.
            infants: u32 = "infants" [I],
            /// Pets.
            pets: u32 = "pets" [I],
        }
    }
}

impl BodyRules for AirbnbBody {
    fn check_rules(body: &Map<String, Value>, checker: &mut Checker) {
        let i = Evidence::Inferred;
        checker.probably_needs(
            body,
            "airbnb",
            &["location"],
            "the synchronous Airbnb API requires it",
        );
        checker.probably_needs(
            body,
            "airbnb",
            &["checkIn"],
            "the synchronous Airbnb API requires it",
        );
        for key in ["checkIn", "checkOut"] {
            if let Some(date) = text(body, key) {
                checker.date(key, date, i);
            }
        }
        checker.date_order("checkOut", text(body, "checkIn"), text(body, "checkOut"), i);
    }
}
