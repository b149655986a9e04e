//! Fuzz harnesses for every parser that takes bytes from outside: the `data.json` splitter,
//! response decoding (job record, status, results page, errors), webhook events, body
//! validation and the ledger's stored intents.
//!
//! Each harness takes arbitrary bytes and returns normally for every input; it panics only when
//! an invariant breaks (a crash in the code under test, or a harness `assert!`). The harnesses
//! live in a workspace crate, not in `fuzz/`, so that `cargo test` replays the checked-in corpus
//! through them (`tests/corpus.rs`) and `cargo clippy --workspace` keeps them compiling as the
//! APIs they call change. `fuzz/` holds only the cargo-fuzz wrappers
//! (`cargo xtask fuzz TARGET --seconds N`).

use hasdata_model::{Job, JobId, ResultsPage, ScraperKind, WebhookEvent};
use serde_json::Value;

/// A harness: arbitrary bytes in, a panic only on a broken invariant.
pub type Harness = fn(&[u8]);

/// Every harness by target name; `fuzz/fuzz_targets/NAME.rs` wraps the one of the same name,
/// and `fuzz/corpus/NAME/` holds its seeds.
pub const HARNESSES: &[(&str, Harness)] = &[
    ("json_array_splitter", json_array_splitter),
    ("response_decoding", response_decoding),
    ("webhook_event", webhook_event),
    ("body_validation", body_validation),
    ("api_error", api_error),
    ("ledger_intent", ledger_intent),
];

/// The `data.json` splitter, fed the input in chunks of a size the input's first byte picks.
///
/// Oracle: serde_json reading the whole input as an array of raw values. The splitter must
/// accept exactly the documents serde_json accepts (it checks every element as it splits, so
/// no broken row ever comes out), and yield serde_json's elements, in order, byte for byte as
/// sent minus the whitespace between tokens; and never panic. Compacting an element again is
/// the identity.
pub fn json_array_splitter(data: &[u8]) {
    let Some((&first, document)) = data.split_first() else {
        return;
    };
    let chunk_size = usize::from(first % 64) + 1;
    let mut splitter = hasdata_jobs::ArraySplitter::new(1 << 20);
    let mut elements = hasdata_jobs::Elements::default();
    let mut split = Ok(());
    for chunk in document.chunks(chunk_size) {
        split = splitter.push(chunk, &mut elements);
        if split.is_err() {
            break;
        }
    }
    let split = split.and_then(|()| splitter.finish(&mut elements));
    match serde_json::from_slice::<Vec<&serde_json::value::RawValue>>(document) {
        Ok(expected) => {
            assert!(
                split.is_ok(),
                "serde_json reads an array the splitter refused: {split:?}"
            );
            assert_eq!(elements.len(), expected.len(), "element count");
            for (element, expected) in elements.iter().zip(&expected) {
                let mut compacted = Vec::new();
                hasdata_jobs::compact_into(expected.get().as_bytes(), &mut compacted);
                assert_eq!(element, compacted, "an element's bytes");
                // Elements come out compacted: compacting again changes nothing.
                let mut again = Vec::new();
                hasdata_jobs::compact_into(element, &mut again);
                assert_eq!(again, element, "an element was not fully compacted");
            }
        }
        Err(error) => assert!(
            split.is_err(),
            "the splitter accepted what serde_json refuses ({error})"
        ),
    }
}

/// Every response shape the client decodes: the job record (submit), the status, a results
/// page and a bare job id. Decoding may fail; it must not panic, and what decodes must print.
pub fn response_decoding(data: &[u8]) {
    match hasdata_model::decode::from_slice::<Job>(data) {
        Ok(job) => drop(format!("{job:?} {}", job.id)),
        Err(error) => drop(error.to_string()),
    }
    if let Ok(page) = hasdata_model::decode::from_slice::<ResultsPage<Value>>(data) {
        let _ = format!("{page:?}");
    }
    if let Ok(id) = hasdata_model::decode::from_slice::<JobId>(data) {
        let _ = id.to_string();
    }
}

/// A webhook delivery: the event, then its typed view.
pub fn webhook_event(data: &[u8]) {
    if let Ok(event) = hasdata_model::decode::from_slice::<WebhookEvent>(data) {
        let _ = format!("{event:?}");
        if let Ok(typed) = event.typed::<Value>() {
            let _ = format!("{typed:?}");
        }
    }
}

/// Body validation for the scraper the first byte picks: any JSON value, never a panic, and
/// every reported problem names a field path.
pub fn body_validation(data: &[u8]) {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let kind = ScraperKind::ALL[usize::from(first) % ScraperKind::ALL.len()];
    let Ok(body) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    if let Err(errors) = kind.validate_json(&body) {
        let text = errors.to_string();
        assert!(!text.is_empty(), "a refusal says why");
    }
}

/// An error answer: any status from 400 to 599 (the first byte), any body.
pub fn api_error(data: &[u8]) {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let status = http::StatusCode::from_u16(400 + u16::from(first) % 200)
        .expect("400..600 are valid status codes");
    let error =
        hasdata_transport::ApiError::from_response_parts(status, &http::HeaderMap::new(), body);
    let _ = format!("{error} {error:?}");
}

/// The ledger's stored records: an intent built from any body bytes (what `submit --body FILE`
/// stores before the POST) and the stored state names read back.
///
/// Oracle: the stored body is JSON, and no string under its `webhook.headers` (or an echoed
/// `input.webhook.headers`) survives except the redaction marker: webhook header values are
/// secrets and must never reach storage, whatever shape the user gave them.
pub fn ledger_intent(data: &[u8]) {
    let intent = hasdata_ledger::Intent::new("key", "contacts", data, None);
    if let Some(stored) = &intent.body {
        let value: Value = serde_json::from_str(stored).expect("a stored body is JSON");
        for path in ["/webhook/headers", "/input/webhook/headers"] {
            if let Some(headers) = value.pointer(path) {
                assert_only_redacted(headers, path);
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Some(state) = hasdata_ledger::IntentState::parse(text)
    {
        assert_eq!(state.as_str(), text, "a state name reads back as itself");
    }
}

fn assert_only_redacted(value: &Value, path: &str) {
    match value {
        Value::String(text) => assert_eq!(
            text,
            hasdata_ledger::REDACTED,
            "a webhook header string at {path} reached storage"
        ),
        Value::Array(items) => items
            .iter()
            .for_each(|item| assert_only_redacted(item, path)),
        Value::Object(object) => object
            .values()
            .for_each(|item| assert_only_redacted(item, path)),
        _ => {}
    }
}
