//! One request body type per scraper.
//!
//! Every body has the fields the API documents (required ones in the constructor, the rest as
//! optional setters), the two common fields `limit` and `webhook`, and an `extra` map for any
//! field this crate does not model yet: a user can always send what the API accepts today.
//! Each field carries its evidence (`[V]`, `[C]`, `[I]`, see [`Evidence`]): fields marked `I`
//! mirror HasData's synchronous API for the same site and are not confirmed for jobs, so the
//! rules about them only warn.

use schemars::Schema;
use serde_json::{Map, Value};

use crate::validate::{Checker, Evidence, FieldSpec, Report, ValidateOptions, ValidationErrors};
use crate::webhook::Webhook;

mod amazon;
mod contacts;
mod crawler;
mod google;
mod jobs;
mod local;
mod real_estate;
mod sec_edgar;
mod stores;

pub use amazon::*;
pub use contacts::*;
pub use crawler::*;
pub use google::*;
pub use jobs::*;
pub use local::*;
pub use real_estate::*;
pub use sec_edgar::*;
pub use stores::*;

/// What every request body offers: validation and the two common fields.
pub trait JobBody:
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
    /// The scraper this body is for, so `client.submit(&ContactsBody::new(..))` knows it
    /// submits a `contacts` job and reads [`ContactsRow`](crate::rows::ContactsRow)s, with no
    /// turbofish.
    ///
    /// ```
    /// use hasdata_model::bodies::{ContactsBody, JobBody};
    /// use hasdata_model::{Scraper, scrapers::Contacts};
    ///
    /// fn slug_of<B: JobBody>(_: &B) -> &'static str {
    ///     <B::Scraper as Scraper>::SLUG
    /// }
    /// assert_eq!(slug_of(&ContactsBody::new(["https://example.com"])), Contacts::SLUG);
    /// ```
    type Scraper: crate::Scraper<Body = Self>;

    /// Every field this crate knows for the body, with its evidence, in wire order of the
    /// table (required fields first, `limit` and `webhook` last).
    const FIELDS: &'static [FieldSpec];

    /// Checks a body given as JSON (a file, a command line) for this scraper, reporting every
    /// problem at once, values of the wrong type included. Nothing is decoded, so a body this
    /// crate's types could not hold (`"maxDepth": "3"`) is checked too.
    fn check_json(body: &Value, options: ValidateOptions) -> Report;

    /// Checks this body as it will be sent: every problem, errors and warnings.
    fn check_with(&self, options: ValidateOptions) -> Report;

    /// [`JobBody::check_with`] with the default options.
    fn check(&self) -> Report {
        self.check_with(ValidateOptions::default())
    }

    /// Finds every problem before anything is sent: `Ok` with the warnings when no rule the
    /// docs verify is broken, [`ValidationErrors`] (with the warnings too) otherwise.
    fn validate(&self) -> Result<Report, ValidationErrors> {
        self.check().into_result()
    }

    /// [`JobBody::validate`] with `options` (a local simulator's http webhooks).
    fn validate_with(&self, options: ValidateOptions) -> Result<Report, ValidationErrors> {
        self.check_with(options).into_result()
    }

    /// The row cap (`0` = no cap), when set.
    fn row_limit(&self) -> Option<u64>;

    /// The webhook, when set.
    fn webhook_config(&self) -> Option<&Webhook>;
}

/// Rules of one body beyond those of its field types (required URLs, regexes, dates, what
/// the scraper probably needs), read from the body's JSON object.
pub(crate) trait BodyRules {
    fn check_rules(_body: &Map<String, Value>, _checker: &mut Checker) {}
}

/// Adds each field's evidence to its description in the body's schema, in words for users:
/// a field taken from the synchronous API says so.
pub(crate) fn note_evidence(schema: &mut Schema, fields: &[FieldSpec]) {
    let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
        return;
    };
    for spec in fields {
        if spec.evidence == Evidence::Verified {
            continue;
        }
        let Some(Value::Object(property)) = properties.get_mut(spec.wire) else {
            continue;
        };
        let note = spec.evidence.note();
        let text = match property.get("description").and_then(Value::as_str) {
            Some(text) => format!("{text} {note}"),
            None => note.to_owned(),
        };
        property.insert("description".to_owned(), Value::String(text));
    }
}

/// Defines a body struct with its constructor, setters, field table and `JobBody` impl.
///
/// Each field is `name: Type = "wireName" [E]`, where `E` is its evidence (`V`, `C`, `I`).
macro_rules! job_body {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            required { $( $(#[$rmeta:meta])* $rfield:ident : $rty:ty = $rwire:literal [$rev:ident] ),* $(,)? }
            optional { $( $(#[$ometa:meta])* $ofield:ident : $oty:ty = $owire:literal [$oev:ident] ),* $(,)? }
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
        #[schemars(transform = $name::note_evidence)]
        #[non_exhaustive]
        pub struct $name {
            $(
                $(#[$rmeta])*
                #[serde(rename = $rwire)]
                pub $rfield: $rty,
            )*
            $(
                $(#[$ometa])*
                #[serde(rename = $owire, default, skip_serializing_if = "Option::is_none")]
                pub $ofield: Option<$oty>,
            )*
            /// The most rows to produce; `0` means no cap.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub limit: Option<u64>,
            /// Where to send events while the job runs.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub webhook: Option<$crate::webhook::Webhook>,
            /// Fields this crate does not model yet, sent as given.
            #[serde(flatten)]
            pub extra: std::collections::BTreeMap<String, serde_json::Value>,
        }

        impl $name {
            /// A body with the required fields set and nothing else.
            #[allow(clippy::new_without_default)]
            pub fn new($($rfield: impl $crate::field::IntoFieldValue<$rty>),*) -> Self {
                $name {
                    $( $rfield: $rfield.into_field_value(), )*
                    $( $ofield: None, )*
                    limit: None,
                    webhook: None,
                    extra: std::collections::BTreeMap::new(),
                }
            }

            $(
                #[doc = concat!("Sets `", $owire, "`.")]
                pub fn $ofield(mut self, value: impl $crate::field::IntoFieldValue<$oty>) -> Self {
                    self.$ofield = Some(value.into_field_value());
                    self
                }
            )*

            /// Sets the most rows to produce; `0` means no cap.
            pub fn limit(mut self, limit: u64) -> Self {
                self.limit = Some(limit);
                self
            }

            /// Sets the webhook.
            pub fn webhook(mut self, webhook: $crate::webhook::Webhook) -> Self {
                self.webhook = Some(webhook);
                self
            }

            /// Sets a field this crate does not model. A key that a typed field already
            /// sends is refused by `validate()`: it would be sent twice.
            pub fn extra_field(mut self, key: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
                self.extra.insert(key.into(), value.into());
                self
            }

            /// The schema transform that adds each field's evidence to its description.
            fn note_evidence(schema: &mut schemars::Schema) {
                $crate::bodies::note_evidence(
                    schema,
                    <Self as $crate::bodies::JobBody>::FIELDS,
                );
            }
        }

        impl $crate::bodies::JobBody for $name {
            type Scraper = <$name as $crate::scraper::BodyOf>::Scraper;

            const FIELDS: &'static [$crate::validate::FieldSpec] = &[
                $( $crate::validate::FieldSpec {
                    wire: $rwire,
                    evidence: $crate::validate::Evidence::$rev,
                    required: true,
                    expected: <$rty as $crate::validate::CheckValue>::expected,
                    check: <$rty as $crate::validate::CheckValue>::check_value,
                }, )*
                $( $crate::validate::FieldSpec {
                    wire: $owire,
                    evidence: $crate::validate::Evidence::$oev,
                    required: false,
                    expected: <$oty as $crate::validate::CheckValue>::expected,
                    check: <$oty as $crate::validate::CheckValue>::check_value,
                }, )*
                $crate::validate::FieldSpec {
                    wire: "limit",
                    evidence: $crate::validate::Evidence::Verified,
                    required: false,
                    expected: <u64 as $crate::validate::CheckValue>::expected,
                    check: <u64 as $crate::validate::CheckValue>::check_value,
                },
                $crate::validate::FieldSpec {
                    wire: "webhook",
                    evidence: $crate::validate::Evidence::Verified,
                    required: false,
                    expected: <$crate::webhook::Webhook as $crate::validate::CheckValue>::expected,
                    check: <$crate::webhook::Webhook as $crate::validate::CheckValue>::check_value,
                },
            ];

            fn check_json(
                body: &serde_json::Value,
                options: $crate::validate::ValidateOptions,
            ) -> $crate::validate::Report {
                let mut checker = $crate::validate::Checker::new(options);
                $crate::validate::check_body(
                    <<Self as $crate::scraper::BodyOf>::Scraper as $crate::Scraper>::SLUG,
                    body,
                    Self::FIELDS,
                    <Self as $crate::bodies::BodyRules>::check_rules,
                    &mut checker,
                );
                checker.finish()
            }

            fn check_with(
                &self,
                options: $crate::validate::ValidateOptions,
            ) -> $crate::validate::Report {
                let mut checker = $crate::validate::Checker::new(options);
                for key in self.extra.keys() {
                    if Self::FIELDS.iter().any(|spec| spec.wire == key) {
                        checker.report(
                            key,
                            $crate::validate::Evidence::Verified,
                            "set twice: through its typed field and as an extra field (the key would be sent twice)",
                        );
                    }
                }
                match serde_json::to_value(self) {
                    Ok(value) => $crate::validate::check_body(
                        <<Self as $crate::scraper::BodyOf>::Scraper as $crate::Scraper>::SLUG,
                        &value,
                        Self::FIELDS,
                        <Self as $crate::bodies::BodyRules>::check_rules,
                        &mut checker,
                    ),
                    Err(e) => checker.report(
                        ".",
                        $crate::validate::Evidence::Verified,
                        format!("the body does not encode as JSON: {e}"),
                    ),
                }
                checker.finish()
            }

            fn row_limit(&self) -> Option<u64> {
                self.limit
            }

            fn webhook_config(&self) -> Option<&$crate::webhook::Webhook> {
                self.webhook.as_ref()
            }
        }
    };
}

pub(crate) use job_body;
