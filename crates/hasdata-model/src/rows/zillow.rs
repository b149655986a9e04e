use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::JobRow;
use crate::lenient::{NumberOrText, TextOrList, TextOrObject};

/// Photos of a listing: one URL, or a list of them (both seen).
pub type Photos = TextOrList;

/// A `zillow` row: one property. Seen live in several variants (`beds` or `bedrooms`,
/// `address` or `fullAddress`), so every field is optional, numbers keep their form, and fields seen in more than one
/// form accept each of them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
pub struct ZillowRow {
    /// Asking or sold price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<NumberOrText>,
    /// Street address: text, or an object of its parts (both seen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<TextOrObject>,
    /// Full address.
    #[serde(
        rename = "fullAddress",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub full_address: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// ZIP code: text or a number (both seen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zipcode: Option<NumberOrText>,
    /// Home type.
    #[serde(rename = "homeType", default, skip_serializing_if = "Option::is_none")]
    pub home_type: Option<String>,
    /// Bedrooms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beds: Option<NumberOrText>,
    /// Bedrooms (the other spelling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bedrooms: Option<NumberOrText>,
    /// Bathrooms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baths: Option<NumberOrText>,
    /// Listing description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Photos.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photos: Option<Photos>,
    /// Main image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Year built.
    #[serde(rename = "yearBuilt", default, skip_serializing_if = "Option::is_none")]
    pub year_built: Option<NumberOrText>,
    /// Lot area.
    #[serde(rename = "lotArea", default, skip_serializing_if = "Option::is_none")]
    pub lot_area: Option<NumberOrText>,
    /// Lot area unit.
    #[serde(
        rename = "lotAreaUnits",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub lot_area_units: Option<String>,
    /// Nearby schools, as the API shapes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schools: Option<Value>,
    /// Days on Zillow.
    #[serde(
        rename = "daysOnZillow",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub days_on_zillow: Option<NumberOrText>,
    /// Listing agent's name.
    #[serde(rename = "agentName", default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    /// Listing agent's phone.
    #[serde(
        rename = "agentPhoneNumber",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub agent_phone_number: Option<String>,
    /// Listing agent's e-mail.
    #[serde(
        rename = "agentEmail",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub agent_email: Option<String>,
    /// Other keys, kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

lenient_de!(ZillowRow {
    price: "price",
    address: "address",
    full_address: "fullAddress",
    city: "city",
    state: "state",
    zipcode: "zipcode",
    home_type: "homeType",
    beds: "beds",
    bedrooms: "bedrooms",
    baths: "baths",
    description: "description",
    photos: "photos",
    image: "image",
    year_built: "yearBuilt",
    lot_area: "lotArea",
    lot_area_units: "lotAreaUnits",
    schools: "schools",
    days_on_zillow: "daysOnZillow",
    agent_name: "agentName",
    agent_phone_number: "agentPhoneNumber",
    agent_email: "agentEmail",
});

impl JobRow for ZillowRow {
    const SHAPE_KNOWN: bool = true;

    fn unfit_fields(&self) -> Vec<&str> {
        ZillowRow::unfit_fields(self)
    }
}
