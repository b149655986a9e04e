//! Webhooks: the `webhook` field of a body, and the events HasData posts to it.
//!
//! Delivery is best-effort: three attempts on a non-2xx answer, no ordering, no signature. The
//! only authentication is a shared secret that the submitter pins in [`Webhook::headers`], so a
//! receiver must check it and a client should still poll.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::decode::{self, DecodeError};
use crate::job_id::JobId;
use crate::lenient::take;
use crate::open_enum::OpenEnum;
use crate::status::JobStatus;
use crate::validate::{CheckValue, Checker, Evidence, kind_of};

open_enum! {
    /// The events a webhook can subscribe to.
    strict pub enum WebhookEventName {
        /// The job started running.
        JobStarted = "scraper.job.started",
        /// A batch of rows was scraped; fires many times per job.
        DataScraped = "scraper.data.scraped",
        /// The job reached a terminal status.
        JobFinished = "scraper.job.finished",
    }
}

impl Default for WebhookEventName {
    /// An empty [`WebhookEventName::Other`]: what an event without a name reads as.
    fn default() -> Self {
        WebhookEventName::Other(String::new())
    }
}

/// Where and how HasData calls back while a job runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Webhook {
    /// The https URL to post events to.
    pub url: String,
    /// The events to send; any subset of the three.
    #[serde(default)]
    pub events: Vec<WebhookEventName>,
    /// Headers sent on every call. Pin a shared secret here and check it in the receiver:
    /// the API signs nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    /// Fields this crate does not model yet, sent as given.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Webhook {
    /// A webhook to `url` with no events yet.
    pub fn new(url: impl Into<String>) -> Self {
        Webhook {
            url: url.into(),
            events: Vec::new(),
            headers: None,
            extra: BTreeMap::new(),
        }
    }

    /// A webhook to `url` subscribed to all three events.
    pub fn all_events(url: impl Into<String>) -> Self {
        Webhook::new(url)
            .event(WebhookEventName::JobStarted)
            .event(WebhookEventName::DataScraped)
            .event(WebhookEventName::JobFinished)
    }

    /// Subscribes to one more event.
    pub fn event(mut self, event: WebhookEventName) -> Self {
        if !self.events.contains(&event) {
            self.events.push(event);
        }
        self
    }

    /// Adds a header sent on every call (a shared secret, typically).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers
            .get_or_insert_with(BTreeMap::new)
            .insert(name.into(), value.into());
        self
    }
}

impl CheckValue for Webhook {
    fn expected() -> String {
        "an object {url, events, headers}".to_owned()
    }

    /// The seed page documents the webhook: an https `url`, `events` from the three names,
    /// `headers` sent on every call. Those rules are verified; a header value that is not
    /// text (a number) is only a warning, since HasData probably sends it as text.
    fn check_value(value: &Value, path: &str, _: Evidence, checker: &mut Checker) {
        let v = Evidence::Verified;
        let Value::Object(webhook) = value else {
            checker.report(
                path,
                v,
                format!("expected {}, got {}", Self::expected(), kind_of(value)),
            );
            return;
        };
        let url_path = format!("{path}.url");
        match webhook.get("url") {
            Some(Value::String(url)) => checker.webhook_url(&url_path, url),
            None | Some(Value::Null) => {
                checker.report(&url_path, v, "missing: a webhook needs `url`, an https URL")
            }
            Some(other) => checker.report(
                &url_path,
                v,
                format!("expected an https URL, got {}", kind_of(other)),
            ),
        }
        let events_path = format!("{path}.events");
        match webhook.get("events") {
            None | Some(Value::Null) => {}
            Some(Value::Array(events)) => {
                for (i, event) in events.iter().enumerate() {
                    let event_path = format!("{events_path}[{i}]");
                    match event {
                        Value::String(name) => {
                            checker.known_value(&event_path, name, WebhookEventName::KNOWN, v);
                        }
                        other => checker.report(
                            &event_path,
                            v,
                            format!("expected an event name, got {}", kind_of(other)),
                        ),
                    }
                }
            }
            Some(other) => checker.report(
                &events_path,
                v,
                format!("expected a list of event names, got {}", kind_of(other)),
            ),
        }
        let headers_path = format!("{path}.headers");
        match webhook.get("headers") {
            None | Some(Value::Null) => {}
            Some(Value::Object(headers)) => {
                for (name, value) in headers {
                    check_header(&format!("{headers_path}.{name}"), name, value, checker);
                }
            }
            Some(other) => checker.report(
                &headers_path,
                v,
                format!(
                    "expected an object of header names to values, got {}",
                    kind_of(other)
                ),
            ),
        }
    }
}

/// One webhook header: a name HTTP can carry, and a value on one line.
fn check_header(path: &str, name: &str, value: &Value, checker: &mut Checker) {
    let v = Evidence::Verified;
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(token) {
        checker.report(
            path,
            v,
            "expected a header name made of letters, digits and -_.",
        );
    }
    match value {
        Value::String(text) => {
            if text.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
                checker.report(path, v, "expected a header value without line breaks");
            }
        }
        Value::Number(_) | Value::Bool(_) => checker.report(
            path,
            Evidence::Inferred,
            format!(
                "a header value that is not text ({}); sent as written: HasData probably sends it as text",
                kind_of(value)
            ),
        ),
        other => checker.report(
            path,
            v,
            format!("expected a header value as text, got {}", kind_of(other)),
        ),
    }
}

/// One event as HasData posts it: `{event, jobId, jobStatus, timestamp, data?}`.
///
/// Nothing is required, so a receiver can acknowledge whatever HasData sends instead of making
/// it retry and then drop the event: unknown event names decode as [`WebhookEventName::Other`]
/// (an empty one when `event` is missing), and a value that does not fit its field is kept in
/// `extra` (see [`WebhookEvent::unfit_fields`]). The docs show `jobId` as `"abc123"` and as a
/// UUID, live traffic probably as an integer: it is kept as text, and [`WebhookEvent::job`]
/// reads it as a [`JobId`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, JsonSchema)]
#[schemars(
    description = "One event as HasData posts it: `{event, jobId, jobStatus, timestamp, data?}`. Nothing is required. The docs show `jobId` as `\"abc123\"` and as a UUID; live it is probably an integer."
)]
pub struct WebhookEvent {
    /// Which event this is.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub event: WebhookEventName,
    /// The job it is about, as text (an integer id is written in digits).
    #[serde(rename = "jobId", default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<JobId>")]
    pub job_id: Option<String>,
    /// The job's status when the event was sent.
    #[serde(rename = "jobStatus", default, skip_serializing_if = "Option::is_none")]
    pub job_status: Option<JobStatus>,
    /// When the event was sent, as the API wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Value>,
    /// The payload: for `scraper.data.scraped`, an array of rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// Fields this crate does not model, or whose value did not fit, kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl<'de> Deserialize<'de> for WebhookEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut map = Map::<String, Value>::deserialize(deserializer)?;
        // An integer id becomes its digits; anything else that is not text stays in `extra`.
        let job_id = match map.remove("jobId") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(other) => {
                map.insert("jobId".to_owned(), other);
                None
            }
        };
        Ok(WebhookEvent {
            event: take(&mut map, "event"),
            job_id,
            job_status: take(&mut map, "jobStatus"),
            timestamp: take(&mut map, "timestamp"),
            data: take(&mut map, "data"),
            extra: map.into_iter().collect(),
        })
    }
}

impl WebhookEvent {
    /// The wire names of the fields this type models.
    pub const FIELDS: &'static [&'static str] =
        &["event", "jobId", "jobStatus", "timestamp", "data"];

    /// The job id as a [`JobId`], when `jobId` is one (an integer, a UUID, `"abc123"`).
    pub fn job(&self) -> Option<JobId> {
        self.job_id.as_deref().and_then(|text| text.parse().ok())
    }

    /// Whether the event has the documented shape: a known event name, a job id, and every
    /// modelled field of the expected type. A receiver acknowledges other events too.
    pub fn matches_known_shape(&self) -> bool {
        self.event.is_known() && self.job().is_some() && self.unfit_fields().is_empty()
    }

    /// Modelled fields whose value did not fit their type, kept as sent in `extra`.
    pub fn unfit_fields(&self) -> Vec<&str> {
        crate::lenient::unfit(&self.extra, Self::FIELDS)
    }
}

/// A [`WebhookEvent`] with its payload decoded for one scraper's row type.
#[derive(Clone, Debug, PartialEq)]
pub enum TypedEvent<R> {
    /// `scraper.job.started`.
    JobStarted,
    /// `scraper.data.scraped` with its rows, in the order of the payload.
    DataScraped(Vec<R>),
    /// `scraper.job.finished`.
    JobFinished,
    /// An event name this crate does not know.
    Unknown(String),
}

impl WebhookEvent {
    /// Decodes the payload. A `scraper.data.scraped` event whose `data` is one object rather
    /// than an array yields that one row; a missing `data` yields none.
    pub fn typed<R: DeserializeOwned>(&self) -> Result<TypedEvent<R>, DecodeError> {
        Ok(match &self.event {
            WebhookEventName::JobStarted => TypedEvent::JobStarted,
            WebhookEventName::JobFinished => TypedEvent::JobFinished,
            WebhookEventName::DataScraped => TypedEvent::DataScraped(match &self.data {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(rows)) => rows
                    .iter()
                    .enumerate()
                    .map(|(i, row)| {
                        decode::from_value(row).map_err(|e| e.within(&format!("data[{i}]")))
                    })
                    .collect::<Result<_, _>>()?,
                Some(row) => vec![decode::from_value(row).map_err(|e| e.within("data"))?],
            }),
            WebhookEventName::Other(name) => TypedEvent::Unknown(name.clone()),
        })
    }
}
