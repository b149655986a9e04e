//! The registry of every JSON Schema this crate publishes.
//!
//! Body schemas describe what a body serializes to (what the server receives); record, status,
//! page, row and event schemas describe what decodes (what the server may send, quirks
//! included). `cargo xtask schemas` writes each one to `schemas/<name>.schema.json`.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};

use crate::job::Job;
use crate::page::ResultsPage;
use crate::scraper::ScraperKind;
use crate::status::JobStatus;
use crate::webhook::WebhookEvent;

/// A schema and the name of its file (without `.schema.json`).
#[derive(Clone, Debug)]
pub struct NamedSchema {
    /// `body.contacts`, `row.crawler`, `job-record`, ...
    pub name: String,
    /// The schema (draft 2020-12).
    pub schema: Schema,
}

/// The schema of what `T` serializes to.
pub fn serialize_schema<T: JsonSchema>() -> Schema {
    SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<T>()
}

/// The schema of what `T` deserializes from.
pub fn deserialize_schema<T: JsonSchema>() -> Schema {
    SchemaSettings::draft2020_12()
        .for_deserialize()
        .into_generator()
        .into_root_schema_for::<T>()
}

/// Every published schema, sorted by name.
pub fn all() -> Vec<NamedSchema> {
    let mut all = vec![
        NamedSchema {
            name: "job-record".into(),
            schema: deserialize_schema::<Job>(),
        },
        NamedSchema {
            name: "job-status".into(),
            schema: deserialize_schema::<JobStatus>(),
        },
        NamedSchema {
            name: "results-page".into(),
            schema: deserialize_schema::<ResultsPage<serde_json::Value>>(),
        },
        NamedSchema {
            name: "webhook-event".into(),
            schema: deserialize_schema::<WebhookEvent>(),
        },
    ];
    for kind in ScraperKind::ALL {
        all.push(NamedSchema {
            name: format!("body.{kind}"),
            schema: kind.body_schema(),
        });
        all.push(NamedSchema {
            name: format!("row.{kind}"),
            schema: kind.row_schema(),
        });
    }
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all
}
