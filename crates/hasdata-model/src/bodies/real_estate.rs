//! Bulk real estate: `zillow`, `redfin`, `airbnb`.

use super::{BodyRules, job_body};
use crate::field::Range;
use crate::validate::Checker;

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
    /// The body of a `zillow` job. `type` and `keyword` are seen live; the filters are
    /// *inferred* from the synchronous Zillow API.
    pub struct ZillowBody {
        required {
            /// Which listings: for sale, for rent or sold.
            listing_type: ListingStatus = "type",
            /// The location to search (`"New York, NY"`, a ZIP code).
            keyword: String = "keyword",
        }
        optional {
            /// Extra search terms.
            keywords: String = "keywords",
            /// Fetch each property's detail page (more fields, more credits).
            detailed_information: bool = "detailedInformation",
            /// Price bounds.
            price: Range = "price",
            /// Bedroom bounds.
            beds: Range = "beds",
            /// Bathroom bounds.
            baths: Range = "baths",
            /// Home types to keep.
            home_types: Vec<ZillowHomeType> = "homeTypes",
            /// Time on Zillow (sold listings).
            days_on_zillow: DaysOnZillow = "daysOnZillow",
            /// Listed by an agent or the owner.
            listed_by: ZillowListedBy = "listingType",
            /// Result order.
            sort: ZillowSort = "sort",
        }
    }
}

impl BodyRules for ZillowBody {
    fn check_rules(&self, checker: &mut Checker) {
        checker.non_blank("keyword", &self.keyword);
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
    /// The body of a `redfin` job (*inferred* from the synchronous Redfin API).
    pub struct RedfinBody {
        required {
            /// Which listings: for sale, for rent or sold.
            listing_type: ListingStatus = "type",
            /// The location to search; a ZIP code works best.
            keyword: String = "keyword",
        }
        optional {
            /// Price bounds.
            price: Range = "price",
            /// Bedroom bounds.
            beds: Range = "beds",
            /// The fewest bathrooms.
            baths: RedfinBaths = "baths",
            /// Home types to keep.
            home_types: Vec<RedfinHomeType> = "homeTypes",
            /// Result order.
            sort: RedfinSort = "sort",
        }
    }
}

impl BodyRules for RedfinBody {
    fn check_rules(&self, checker: &mut Checker) {
        checker.non_blank("keyword", &self.keyword);
    }
}

job_body! {
    /// The body of an `airbnb` job (*inferred* from the synchronous Airbnb API).
    pub struct AirbnbBody {
        required {}
        optional {
            /// Where to stay (`"New York"`).
            location: String = "location",
            /// Arrival date, `YYYY-MM-DD`.
            check_in: String = "checkIn",
            /// Departure date, `YYYY-MM-DD`.
            check_out: String = "checkOut",
            /// Adult guests.
            adults: u32 = "adults",
            /// Child guests.
            children: u32 = "children",
            /// Infant guests.
            infants: u32 = "infants",
            /// Pets.
            pets: u32 = "pets",
        }
    }
}

impl BodyRules for AirbnbBody {
    fn check_rules(&self, checker: &mut Checker) {
        if let Some(date) = &self.check_in {
            checker.date("checkIn", date);
        }
        if let Some(date) = &self.check_out {
            checker.date("checkOut", date);
        }
        checker.date_order(
            "checkOut",
            self.check_in.as_deref(),
            self.check_out.as_deref(),
        );
    }
}
