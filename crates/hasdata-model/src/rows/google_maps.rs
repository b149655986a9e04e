use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::JobRow;
use crate::lenient::{NumberOrText, TextOrList};

/// A `google-maps` row: one place. Seen live; the columns change with `extractEmails`, so every
/// field is optional, and numbers keep the form they arrived in.
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
pub struct GoogleMapsRow {
    /// The place's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Its address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Its phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Its website.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// Average rating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<NumberOrText>,
    /// Number of reviews.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviews: Option<NumberOrText>,
    /// Google's place id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place_id: Option<String>,
    /// Latitude and longitude, as the API shapes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coordinates: Option<Value>,
    /// Opening hours, as the API shapes them.
    #[serde(
        rename = "workingHours",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub working_hours: Option<Value>,
    /// Open now, closed, ...
    #[serde(rename = "openState", default, skip_serializing_if = "Option::is_none")]
    pub open_state: Option<String>,
    /// E-mail addresses from the website (`extractEmails: true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emails: Option<TextOrList>,
    /// Other keys, kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

lenient_de!(GoogleMapsRow {
    title: "title",
    address: "address",
    phone: "phone",
    website: "website",
    rating: "rating",
    reviews: "reviews",
    place_id: "place_id",
    coordinates: "coordinates",
    working_hours: "workingHours",
    open_state: "openState",
    emails: "emails",
});

impl JobRow for GoogleMapsRow {
    const SHAPE_KNOWN: bool = true;

    fn unfit_fields(&self) -> Vec<&str> {
        GoogleMapsRow::unfit_fields(self)
    }
}
