//! Result row types: the `data` inside each wrapped result, and each element of `data.json`.
//!
//! Every row type keeps the fields it does not model in `extra`, so decoding and re-encoding a
//! row loses nothing a user could want. (One normalisation: an optional typed field sent as
//! `null` encodes as absent.) Where a slug's row shape is unknown, its row type is [`RawRow`],
//! which keeps the whole object and makes no guess.

mod contacts;
mod crawler;
mod google_maps;
mod google_serp;
mod raw;
mod zillow;

pub use contacts::ContactsRow;
pub use crawler::CrawlerRow;
pub use google_maps::GoogleMapsRow;
pub use google_serp::GoogleSerpRow;
pub use raw::RawRow;
pub use zillow::{Photos, ZillowRow};

pub use crate::lenient::{NumberOrText, TextOrList, TextOrObject};

/// What every row type offers.
pub trait JobRow:
    serde::Serialize
    + serde::de::DeserializeOwned
    + schemars::JsonSchema
    + Clone
    + std::fmt::Debug
    + PartialEq
    + Send
    + Sync
    + 'static
{
    /// Whether the fields of this row are known (typed), or the row is kept as raw JSON.
    const SHAPE_KNOWN: bool;

    /// Modelled fields whose value did not fit their type and were kept, as sent, with the
    /// unknown fields. A reader may warn about them; the row itself is never refused.
    fn unfit_fields(&self) -> Vec<&str> {
        Vec::new()
    }
}
