//! `RowFields`, the CSV writer's reader of a row's top-level fields: each key and value found
//! where it is in the row's bytes, whatever the spacing, and a row that is not one JSON value
//! refused with the byte where it went wrong.

use hasdata_jobs::RowFields;
use proptest::prelude::*;
use serde_json::{Map, Value};

/// The fields of `row` as (key as sent, value's text) pairs.
fn fields(row: &str) -> Vec<(String, String)> {
    let mut reader = RowFields::new();
    let spans = reader.read(row.as_bytes()).unwrap();
    spans
        .iter()
        .map(|(key, value)| (row[key.clone()].to_owned(), row[value.clone()].to_owned()))
        .collect()
}

/// The message of `row`'s refusal.
fn refusal(row: &[u8]) -> String {
    RowFields::new().read(row).unwrap_err().message
}

#[test]
fn each_field_is_its_key_and_its_values_text_whatever_the_spacing() {
    let want = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let compact = r#"{"a":1,"b":"x","c":[1,{"d":null}],"e":{},"f":true}"#;
    let spaced =
        " {\n \"a\" :\t1 , \"b\":  \"x\"\r\n,\"c\" : [1, {\"d\": null}] ,\"e\":{ },\"f\" :true\n} ";
    assert_eq!(
        fields(compact),
        want(&[
            ("a", "1"),
            ("b", "\"x\""),
            ("c", "[1,{\"d\":null}]"),
            ("e", "{}"),
            ("f", "true")
        ])
    );
    assert_eq!(
        fields(spaced),
        want(&[
            ("a", "1"),
            ("b", "\"x\""),
            ("c", "[1, {\"d\": null}]"),
            ("e", "{ }"),
            ("f", "true")
        ])
    );
    // Keys keep their escapes as sent; a value that is one character long is found whole.
    assert_eq!(
        fields(r#"{"q\"k":0,"\u00e9":"","":-1.5e3}"#),
        want(&[(r#"q\"k"#, "0"), (r"\u00e9", r#""""#), ("", "-1.5e3")])
    );
    // An empty object, with or without spaces, has no fields; so has any other value.
    for row in [
        "{}",
        " { } ",
        "[1,2]",
        "\"text\"",
        "42",
        "null",
        " [ {\"a\": 1} ] ",
    ] {
        assert_eq!(fields(row), [], "{row:?}");
    }
}

#[test]
fn a_reader_used_again_forgets_the_last_rows_fields() {
    let mut reader = RowFields::new();
    assert_eq!(reader.read(br#"{"a":1,"b":2}"#).unwrap().len(), 2);
    assert_eq!(reader.read(br#"{"c":3}"#).unwrap(), [(2..3, 5..6)]);
    assert_eq!(reader.read(b"[]").unwrap(), []);
    assert!(reader.read(b"{").is_err());
    assert_eq!(reader.read(br#"{"d":4}"#).unwrap(), [(2..3, 5..6)]);
}

#[test]
fn a_row_that_is_not_one_json_value_is_refused_at_the_byte_that_is_wrong() {
    let cases: [(&[u8], &str); 12] = [
        (b"{\"a\":\"\xff\"}", "expected UTF-8 at byte 6"),
        (b"{\"a\":1} x", "expected nothing after the value at byte 7"),
        (b"[1] 2", "expected nothing after the value at byte 3"),
        (b"{} {}", "expected nothing after the value at byte 2"),
        (b"{a:1}", "expected a key at byte 1"),
        (b"{\"a\":1, }", "expected a key at byte 8"),
        (b"{\"a\" 1}", "expected ':' at byte 5"),
        (b"{\"a\":1 \"b\":2}", "expected ',' or '}' at byte 7"),
        (b"{\"a\":1", "expected ',' or '}' at byte 6"),
        (b"{\"a", "expected more (the row ends early) at byte 3"),
        (b"{\"a\":", "expected more (the row ends early) at byte 5"),
        (b"", "expected more (the row ends early) at byte 0"),
    ];
    for (row, message) in cases {
        assert_eq!(refusal(row), message, "{:?}", String::from_utf8_lossy(row));
    }
    let error = RowFields::new().read(b"{\"a\":tru}").unwrap_err();
    assert!(error.message.contains("at byte 5"), "{error}");
    assert!(
        error.to_string().contains("tru"),
        "the row is shown: {error}"
    );
}

/// A key: plain, or with characters JSON escapes, or non-ASCII.
fn any_key() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z]{0,4}", "[a-z\"\\\\/\n\t\u{1}é€😀 ]{0,4}"]
}

/// Any JSON value, nested a few levels.
fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        // Binary fractions with short decimals: serde_json reads them back exactly (it does
        // not promise that for every f64 without its `float_roundtrip` feature).
        (any::<i16>(), 0..8).prop_map(|(m, e)| Value::from(f64::from(m) / f64::from(1u8 << e))),
        "[a-z\"\\\\\u{7f}é ]{0,6}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((any_key(), inner), 0..4)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn the_fields_of_any_object_are_its_members_in_order(
        members in prop::collection::vec((any_key(), any_value()), 0..6),
        pretty in any::<bool>(),
    ) {
        let object: Map<String, Value> = members.into_iter().collect();
        let row = Value::Object(object.clone());
        let text = if pretty {
            serde_json::to_string_pretty(&row)
        } else {
            serde_json::to_string(&row)
        }
        .unwrap();
        let mut reader = RowFields::new();
        let spans = reader.read(text.as_bytes()).unwrap();
        prop_assert_eq!(spans.len(), object.len());
        for ((key, value), (want_key, want_value)) in spans.iter().zip(&object) {
            let key: String = serde_json::from_str(&format!("\"{}\"", &text[key.clone()])).unwrap();
            prop_assert_eq!(&key, want_key);
            let value: Value = serde_json::from_str(&text[value.clone()]).unwrap();
            prop_assert_eq!(&value, want_value);
        }
    }

    #[test]
    fn a_row_is_refused_exactly_when_serde_json_refuses_it(
        members in prop::collection::vec((any_key(), any_value()), 0..4),
        at in any::<prop::sample::Index>(),
        byte in prop::sample::select(b"\"\\{}[],:0-.eE+tfnu \x01".to_vec()),
        insert in any::<bool>(),
    ) {
        let row = Value::Object(members.into_iter().collect());
        let mut text = serde_json::to_vec_pretty(&row).unwrap();
        let at = at.index(text.len() + 1);
        if insert || at == text.len() {
            text.insert(at, byte);
        } else {
            text[at] = byte;
        }
        // Text that is not UTF-8 (a byte replaced inside a character) is never a row. Else
        // `IgnoredAny`: serde_json's check of the text alone (a `Value` would also refuse
        // numbers past f64's range, which are valid JSON).
        let serde = std::str::from_utf8(&text)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|e| e.to_string()));
        let ours = RowFields::new().read(&text).map(<[_]>::len);
        prop_assert_eq!(
            ours.is_ok(),
            serde.is_ok(),
            "{:?}: ours {:?}, serde_json {:?}",
            String::from_utf8_lossy(&text),
            ours,
            serde
        );
    }
}
