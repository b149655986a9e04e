//! One request body type per scraper.
//!
//! Every body has the fields the API documents (required ones in the constructor, the rest as
//! optional setters), the two common fields `limit` and `webhook`, and an `extra` map for any
//! field this crate does not model yet: a user can always send what the API accepts today.
//! Fields marked *inferred* mirror HasData's synchronous API for the same site; nobody has
//! confirmed them for jobs.

use crate::validate::{Checker, ValidateOptions, ValidationErrors};
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

    /// Finds every problem the server would reject, before anything is sent.
    fn validate(&self) -> Result<(), ValidationErrors> {
        self.validate_with(ValidateOptions::default())
    }

    /// [`JobBody::validate`] with `options` (a local simulator's http webhooks).
    fn validate_with(&self, options: ValidateOptions) -> Result<(), ValidationErrors>;

    /// The row cap (`0` = no cap), when set.
    fn row_limit(&self) -> Option<u64>;

    /// The webhook, when set.
    fn webhook_config(&self) -> Option<&Webhook>;
}

/// Rules of one body beyond those of its field types (required URLs, regexes, dates).
pub(crate) trait BodyRules {
    fn check_rules(&self, _checker: &mut Checker) {}
}

/// Defines a body struct with its constructor, setters, `JobBody` impl and validation walk.
macro_rules! job_body {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            required { $( $(#[$rmeta:meta])* $rfield:ident : $rty:ty = $rwire:literal ),* $(,)? }
            optional { $( $(#[$ometa:meta])* $ofield:ident : $oty:ty = $owire:literal ),* $(,)? }
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
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
            /// sends is refused by `validate()`: the typed field wins on the wire.
            pub fn extra_field(mut self, key: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
                self.extra.insert(key.into(), value.into());
                self
            }
        }

        impl $crate::bodies::JobBody for $name {
            type Scraper = <$name as $crate::scraper::BodyOf>::Scraper;

            fn validate_with(
                &self,
                options: $crate::validate::ValidateOptions,
            ) -> Result<(), $crate::validate::ValidationErrors> {
                use $crate::validate::CheckField;
                let mut checker = $crate::validate::Checker::new(options);
                $crate::bodies::BodyRules::check_rules(self, &mut checker);
                $( self.$rfield.check_field($rwire, &mut checker); )*
                $( self.$ofield.check_field($owire, &mut checker); )*
                self.webhook.check_field("webhook", &mut checker);
                const TYPED: &[&str] = &[$($rwire,)* $($owire,)* "limit", "webhook"];
                for key in self.extra.keys() {
                    if TYPED.contains(&key.as_str()) {
                        checker.fail(key, "set through its typed field, not as an extra field");
                    }
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
