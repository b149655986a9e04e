//! The API key: kept secret, and sent only to the API's own origin.

use std::fmt;

use async_trait::async_trait;
use http::{HeaderName, HeaderValue, Uri};
use secrecy::{ExposeSecret, SecretString};

use crate::error::TransportError;
use crate::transport::{Request, Response, SharedTransport, Transport};

/// The header HasData reads the key from.
pub const API_KEY_HEADER: HeaderName = HeaderName::from_static("x-api-key");

/// A HasData API key. Its `Debug` shows `ApiKey([REDACTED])`; it has no `Display` and cannot be
/// serialized, so it cannot end up in a log line, an error or a file by accident.
#[derive(Clone)]
pub struct ApiKey(SecretString);

/// A key that cannot be sent as a header value. The message never repeats the key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid API key: {0}")]
pub struct InvalidApiKey(&'static str);

impl ApiKey {
    /// Wraps a key, refusing one that is empty or holds characters a header cannot carry.
    pub fn new(key: impl Into<String>) -> Result<Self, InvalidApiKey> {
        let key: String = key.into();
        let trimmed = key.trim();
        if trimmed.is_empty() {
            return Err(InvalidApiKey("it is empty"));
        }
        if !trimmed.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidApiKey(
                "it holds spaces, control or non-ASCII characters",
            ));
        }
        Ok(ApiKey(SecretString::from(trimmed.to_owned())))
    }

    /// The key as a header value marked sensitive (HTTP/2 never indexes it; `Debug` of the
    /// header map hides it).
    fn header_value(&self) -> HeaderValue {
        let mut value = HeaderValue::from_str(self.0.expose_secret())
            .unwrap_or_else(|_| HeaderValue::from_static("invalid"));
        value.set_sensitive(true);
        value
    }

    /// The key itself, for the rare code that must compare it (a simulator checking a
    /// request). Never log the result.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([REDACTED])")
    }
}

/// The scheme, host and port of a URL: requests to the same origin get the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

/// A base URL that has no scheme or host.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid base URL {given:?}: expected an absolute http(s) URL such as https://api.hasdata.com"
)]
pub struct InvalidBaseUrl {
    /// The URL that was given.
    pub given: String,
}

impl Origin {
    /// The origin of an absolute http(s) URI.
    pub fn of(uri: &Uri) -> Option<Origin> {
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => return None,
        };
        Some(Origin {
            host: uri.host()?.to_ascii_lowercase(),
            port: uri.port_u16().unwrap_or(default_port),
            scheme,
        })
    }

    /// The origin of an absolute http(s) URL given as text.
    pub fn parse(url: &str) -> Result<Origin, InvalidBaseUrl> {
        url.parse::<Uri>()
            .ok()
            .and_then(|uri| Origin::of(&uri))
            .ok_or_else(|| InvalidBaseUrl {
                given: url.to_owned(),
            })
    }

    /// The host name.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether `uri` is of this origin: `Origin::of(uri) == Some(self)`, read without
    /// building an `Origin` (it runs on every request; the proptest in this module holds the
    /// two to the same answer for every URI).
    pub fn holds(&self, uri: &Uri) -> bool {
        let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else {
            return false;
        };
        let default_port = if scheme.eq_ignore_ascii_case("https") {
            443
        } else if scheme.eq_ignore_ascii_case("http") {
            80
        } else {
            return false;
        };
        scheme.eq_ignore_ascii_case(&self.scheme)
            && host.eq_ignore_ascii_case(&self.host)
            && uri.port_u16().unwrap_or(default_port) == self.port
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// Adds `x-api-key` to requests for the API's origin, and to no other.
///
/// Download links point at a storage host; they must never see the key. A request for any
/// other origin is sent without the header, even if the caller set it by mistake.
pub struct ApiKeyTransport {
    inner: SharedTransport,
    key: ApiKey,
    /// The key as the header value every request to the origin carries, built once: a
    /// clone of it shares its bytes, where building it again copies the key each time.
    header: HeaderValue,
    origin: Origin,
}

impl ApiKeyTransport {
    /// Sends the key to `api_base_url`'s origin only.
    pub fn new(
        inner: SharedTransport,
        key: ApiKey,
        api_base_url: &str,
    ) -> Result<Self, InvalidBaseUrl> {
        Ok(ApiKeyTransport {
            inner,
            header: key.header_value(),
            key,
            origin: Origin::parse(api_base_url)?,
        })
    }

    /// The origin that receives the key.
    pub fn origin(&self) -> &Origin {
        &self.origin
    }
}

impl fmt::Debug for ApiKeyTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyTransport")
            .field("origin", &self.origin)
            .field("key", &self.key)
            .field("inner", &self.inner)
            .finish()
    }
}

#[async_trait]
impl Transport for ApiKeyTransport {
    async fn send(&self, mut request: Request) -> Result<Response, TransportError> {
        if self.origin.holds(request.uri()) {
            request
                .headers_mut()
                .insert(API_KEY_HEADER, self.header.clone());
        } else if request.headers_mut().remove(API_KEY_HEADER).is_some() {
            tracing::warn!(
                host = request.uri().host(),
                "removed an API key header from a request to another origin"
            );
        }
        self.inner.send(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_and_the_origin_show_what_they_hold_and_no_more() {
        let key = ApiKey::new("sk-live-123").expect("valid");
        assert_eq!(key.expose(), "sk-live-123");
        let origin = Origin::parse("https://API.hasdata.com/scrapers").expect("valid");
        assert_eq!(origin.host(), "api.hasdata.com");
        assert_eq!(origin.to_string(), "https://api.hasdata.com:443");
        let transport = ApiKeyTransport::new(
            std::sync::Arc::new(crate::ReqwestTransport::new().expect("builds")),
            key,
            "https://api.hasdata.com",
        )
        .expect("valid");
        let shown = format!("{transport:?}");
        assert!(
            shown.contains("ApiKeyTransport") && shown.contains("api.hasdata.com"),
            "{shown}"
        );
        assert!(!shown.contains("sk-live-123"), "{shown}");
    }

    #[test]
    fn keys_are_redacted_and_checked() {
        let key = ApiKey::new("sk-live-123").expect("valid");
        assert_eq!(format!("{key:?}"), "ApiKey([REDACTED])");
        assert!(!format!("{:?}", key.header_value()).contains("sk-live-123"));
        assert!(ApiKey::new("  ").is_err());
        let err = ApiKey::new("has space-secret").unwrap_err();
        assert!(!err.to_string().contains("secret"));
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let api = Origin::parse("https://API.hasdata.com").expect("valid");
        assert_eq!(
            Origin::parse("https://api.hasdata.com:443/scrapers/jobs/1").expect("valid"),
            api
        );
        assert_ne!(Origin::parse("http://api.hasdata.com").expect("valid"), api);
        assert_ne!(
            Origin::parse("https://api.hasdata.com:8443").expect("valid"),
            api
        );
        assert_ne!(
            Origin::parse("https://f005.backblazeb2.com/file/x.json").expect("valid"),
            api
        );
        assert!(Origin::parse("/relative").is_err());
        assert!(Origin::parse("ftp://api.hasdata.com").is_err());
    }

    proptest::proptest! {
        /// `holds` (per request, no allocation) answers as comparing `Origin::of` does,
        /// for every URI built of schemes, hosts and ports that differ in case or a byte.
        #[test]
        fn holds_answers_as_comparing_origins_does(
            base in proptest::sample::select(vec![
                "https://api.hasdata.com", "http://127.0.0.1:8080", "http://LOCALHOST",
            ]),
            scheme in proptest::sample::select(vec!["https", "HTTPS", "http", "Http", "ftp"]),
            host in proptest::sample::select(vec![
                "api.hasdata.com", "API.HASDATA.COM", "api.hasdata.co", "127.0.0.1",
                "localhost", "[::1]", "api.hasdata.com.evil",
            ]),
            port in proptest::option::of(proptest::sample::select(vec![80u16, 443, 8080, 0])),
            rest in proptest::sample::select(vec!["", "/", "/scrapers/jobs/1?page=2", "//x/y"]),
        ) {
            let origin = Origin::parse(base).expect("valid");
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let Ok(uri) = format!("{scheme}://{host}{port}{rest}").parse::<Uri>() else {
                return Ok(());
            };
            proptest::prop_assert_eq!(
                origin.holds(&uri),
                Origin::of(&uri).is_some_and(|o| o == origin),
                "{}", uri
            );
        }
    }
}
