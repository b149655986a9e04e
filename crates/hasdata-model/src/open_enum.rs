//! String enums that never fail to decode.
//!
//! The API adds values without notice (`exporting_data` appeared live, undocumented), so every
//! string enum in this crate has an `Other(String)` variant that keeps an unknown value verbatim.
//! In a request body an unknown value is a warning (the lists mostly come from the synchronous
//! API; the server's 422 names what it accepts); responses keep it.

/// The behaviour shared by every enum made with `open_enum!`.
pub trait OpenEnum {
    /// Every value this crate knows, as sent on the wire.
    const KNOWN: &'static [&'static str];

    /// The value as sent on the wire.
    fn as_str(&self) -> &str;

    /// Whether this is one of [`OpenEnum::KNOWN`].
    fn is_known(&self) -> bool;
}

/// Defines a string enum with an `Other(String)` fallback, its wire names, serde impls, a
/// schema, `Display`, `FromStr` and `From<&str>`.
///
/// `strict` types get an `enum` schema (what a request may carry); `open` types get a plain
/// string schema listing the known values as examples (what a response may carry).
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $mode:ident $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this crate does not know yet, kept verbatim.
            Other(String),
        }

        impl $crate::open_enum::OpenEnum for $name {
            const KNOWN: &'static [&'static str] = &[$($wire),+];

            fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )+
                    Self::Other(other) => other,
                }
            }

            fn is_known(&self) -> bool {
                !matches!(self, Self::Other(_))
            }
        }

        impl $name {
            /// The value as sent on the wire.
            pub fn as_str(&self) -> &str {
                $crate::open_enum::OpenEnum::as_str(self)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $( $wire => Self::$variant, )+
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(s))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
                Ok(Self::from(text.as_ref()))
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                open_enum!(@schema $mode [$($wire),+])
            }
        }

        impl $crate::validate::CheckValue for $name {
            fn expected() -> String {
                format!("one of {}", <Self as $crate::open_enum::OpenEnum>::KNOWN.join(", "))
            }

            /// A value outside the known list is a warning: the lists come from the
            /// synchronous API, and the server's 422 names what it accepts.
            fn check_value(
                value: &serde_json::Value,
                path: &str,
                field: $crate::validate::Evidence,
                checker: &mut $crate::validate::Checker,
            ) {
                match value {
                    serde_json::Value::String(text) => checker.known_value(
                        path,
                        text,
                        <Self as $crate::open_enum::OpenEnum>::KNOWN,
                        $crate::validate::Evidence::Inferred,
                    ),
                    other => checker.report(
                        path,
                        field,
                        format!(
                            "expected {}, got {}",
                            <Self as $crate::validate::CheckValue>::expected(),
                            $crate::validate::kind_of(other)
                        ),
                    ),
                }
            }
        }
    };
    (@schema strict [$($wire:literal),+]) => {
        schemars::json_schema!({ "type": "string", "enum": [$($wire),+] })
    };
    (@schema open [$($wire:literal),+]) => {
        schemars::json_schema!({
            "type": "string",
            "description": "One of the known values listed in `examples`, or any other string the API may add.",
            "examples": [$($wire),+]
        })
    };
}
