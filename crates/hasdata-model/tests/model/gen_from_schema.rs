//! proptest strategies that produce JSON values described by our published schemas.
//!
//! Driving generation from the schema means every body and row type, all 20 scrapers, gets a
//! property test without a hand-written strategy per field; the properties then check the
//! types against the schema from the other side (decode, encode, validate).

use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Whether `null` may be produced where a schema allows it. Bodies never encode `null` (an
/// unset field is left out), so their generators skip it.
#[derive(Clone, Copy)]
pub struct Options {
    pub nulls: bool,
}

/// A strategy for values of `schema`, resolving `$ref`s against `root`.
pub fn values(schema: &Value, root: &Value, options: Options) -> BoxedStrategy<Value> {
    value_for(schema, root, options, 0)
}

const EXTRA_KEYS: &[&str] = &["x_unknown_a", "xUnknownB", "zz-later-field"];

fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference.trim_start_matches("#/$defs/");
            let target = &root["$defs"][name];
            assert!(!target.is_null(), "unresolved {reference}");
            resolve(target, root)
        }
        None => schema,
    }
}

/// Any small JSON value: what an unknown field may hold.
pub fn any_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Value::from),
        (-1000i64..1000).prop_map(Value::from),
        "[a-z ]{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
            prop::collection::btree_map("[a-z]{1,4}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

fn value_for(schema: &Value, root: &Value, options: Options, depth: u32) -> BoxedStrategy<Value> {
    let schema = resolve(schema, root);
    if schema == &Value::Bool(true)
        || schema
            .as_object()
            .is_some_and(|o| o.keys().all(|k| k == "description"))
    {
        return any_json();
    }
    if let Some(choices) = schema.get("enum").and_then(Value::as_array) {
        return proptest::sample::select(choices.clone()).boxed();
    }
    if let Some(variants) = schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array)
    {
        let strategies: Vec<BoxedStrategy<Value>> = variants
            .iter()
            .filter(|v| options.nulls || resolve(v, root).get("type") != Some(&json!("null")))
            .map(|v| value_for(v, root, options, depth))
            .collect();
        return proptest::strategy::Union::new(strategies).boxed();
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| options.nulls || *t != "null")
            .collect(),
        _ => return any_json(),
    };
    let strategies: Vec<BoxedStrategy<Value>> = types
        .into_iter()
        .map(|t| typed_value(t, schema, root, options, depth))
        .collect();
    proptest::strategy::Union::new(strategies).boxed()
}

fn typed_value(
    kind: &str,
    schema: &Value,
    root: &Value,
    options: Options,
    depth: u32,
) -> BoxedStrategy<Value> {
    match kind {
        "null" => Just(Value::Null).boxed(),
        "boolean" => any::<bool>().prop_map(Value::from).boxed(),
        "integer" => {
            let min = schema
                .get("minimum")
                .and_then(Value::as_i64)
                .unwrap_or(-1_000_000);
            (min..1_000_000i64).prop_map(Value::from).boxed()
        }
        "number" => (
            schema
                .get("minimum")
                .and_then(Value::as_i64)
                .unwrap_or(-1_000_000)..1_000_000,
            0u32..4,
        )
            .prop_map(|(n, scale)| json!(n as f64 / 10f64.powi(scale as i32)))
            .boxed(),
        "string" => match schema.get("pattern").and_then(Value::as_str) {
            Some("^[0-9]+$") => "[0-9]{1,9}".prop_map(Value::from).boxed(),
            Some("^\\s*[0-9]+(\\.[0-9]+)?\\s*$") => {
                "[0-9]{1,9}(\\.[0-9]{1,2})?".prop_map(Value::from).boxed()
            }
            Some("^[!-~]+$") => "[a-z0-9-]{1,36}".prop_map(Value::from).boxed(),
            Some("^[Hh][Tt][Tt][Pp][Ss]?://[^\\s/?#]+([/?#]\\S*)?$") => {
                "[Hh][Tt]{2}[Pp][Ss]?://[a-z0-9]{1,8}\\.example(/[a-z0-9]{0,6})?"
                    .prop_map(Value::from)
                    .boxed()
            }
            Some(other) => panic!("no generator for pattern {other}"),
            None => "[a-zA-Z0-9 :/._-]{0,12}".prop_map(Value::from).boxed(),
        },
        "array" => {
            let items = schema.get("items").cloned().unwrap_or(Value::Bool(true));
            let min_items = schema.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
            prop::collection::vec(
                value_for(&items, root, options, depth + 1),
                min_items..min_items + 3,
            )
            .prop_map(Value::from)
            .boxed()
        }
        "object" => object_value(schema, root, options, depth),
        other => panic!("no generator for type {other}"),
    }
}

fn object_value(
    schema: &Value,
    root: &Value,
    options: Options,
    depth: u32,
) -> BoxedStrategy<Value> {
    let empty = Map::new();
    let properties = schema
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();

    // Each declared property: always there when required, there half the time otherwise.
    let mut fields: Vec<BoxedStrategy<Option<(String, Value)>>> = Vec::new();
    for (name, property) in properties {
        let value = value_for(property, root, options, depth + 1);
        let name = name.clone();
        if required.contains(&name.as_str()) {
            fields.push(value.prop_map(move |v| Some((name.clone(), v))).boxed());
        } else {
            fields.push(prop::option::of(value.prop_map(move |v| (name.clone(), v))).boxed());
        }
    }

    // Keys no type declares: free-form maps get generated entries, open structs get unknown
    // fields that must survive a round trip.
    let additional = match schema.get("additionalProperties") {
        Some(Value::Bool(false)) => None,
        Some(Value::Object(inner)) => Some(value_for(
            &Value::Object(inner.clone()),
            root,
            options,
            depth + 1,
        )),
        _ if depth < 3 => Some(any_json()),
        _ => None,
    };
    let extras: BoxedStrategy<Vec<(String, Value)>> = match additional {
        Some(values) => prop::collection::vec((proptest::sample::select(EXTRA_KEYS), values), 0..3)
            .prop_map(|pairs| pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            .boxed(),
        None => Just(Vec::new()).boxed(),
    };

    (fields, extras)
        .prop_map(|(fields, extras)| {
            let mut object = Map::new();
            for (key, value) in extras {
                object.insert(key, value);
            }
            for (key, value) in fields.into_iter().flatten() {
                object.insert(key, value);
            }
            Value::Object(object)
        })
        .boxed()
}
