use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::JobRow;

/// A row of a scraper whose row shape is not known: the whole JSON object, kept verbatim.
///
/// This is deliberate. A guessed struct would fail on the first real row that differs; a raw
/// object never does, and typed access can be added once the shape is confirmed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RawRow(pub Map<String, Value>);

impl RawRow {
    /// A field of the row.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }
}

impl JsonSchema for RawRow {
    fn schema_name() -> Cow<'static, str> {
        "RawRow".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A row whose fields are not documented: any JSON object.",
            "type": "object"
        })
    }
}

impl JobRow for RawRow {
    const SHAPE_KNOWN: bool = false;
}

impl JobRow for Value {
    const SHAPE_KNOWN: bool = false;
}
