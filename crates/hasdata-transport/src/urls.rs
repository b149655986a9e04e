//! A request's `http::Uri` as the `reqwest::Url` reqwest sends, without reading its origin
//! again on every request.
//!
//! reqwest's own conversion prints the URI and parses the text whole, scheme, host (through
//! IDNA) and all, for each request; a job's 10,000 results pages have one origin. Here each
//! origin's URL is parsed once, and a request's path and query are read relative to it.
//!
//! Why the result is the URL reqwest's conversion gives, origin included (so the origin
//! [`crate::ApiKeyTransport`] checked on the URI is the one the request goes to):
//! - the base is `Url::parse("{scheme}://{authority}/")`, keyed by the URI's scheme and
//!   authority text byte for byte, so it is that parse's scheme, user, host and port;
//! - the path and query are read relative to it only when they start with exactly one `/`
//!   (a path-absolute reference). In the URL standard such a reference keeps the base's
//!   scheme, credentials, host and port and parses the rest as a whole URL's path and query
//!   are parsed. A second `/` or `\` would make it a scheme-relative reference, whose host
//!   comes from the path (`//other-host/x`): those, and anything unusual, take reqwest's way.
//! - A proptest in this module checks the two agree on every URI it builds, and
//!   `tests/transport/keys.rs` sends `//host:port/` paths to real servers.

use std::sync::{Arc, Mutex};

use http::Uri;
use reqwest::Url;

/// Origins remembered at most: the API and a storage host or two.
const REMEMBERED: usize = 4;

/// Each origin's URL, parsed once.
#[derive(Debug, Default)]
pub(crate) struct Origins {
    /// The newest last.
    parsed: Mutex<Vec<Remembered>>,
}

/// An origin's scheme and authority as a URI spells them, and its base URL.
#[derive(Debug)]
struct Remembered {
    scheme: Box<str>,
    authority: Box<str>,
    url: Arc<Url>,
}

impl Origins {
    /// `uri` as a `Url`: exactly `Url::parse(&uri.to_string())`, the conversion reqwest does.
    /// The error is the parser's message.
    pub(crate) fn url(&self, uri: &Uri) -> Result<Url, String> {
        match self.relative(uri) {
            Some(url) => Ok(url),
            None => Url::parse(&uri.to_string()).map_err(|e| e.to_string()),
        }
    }

    /// The quick way, when it is certain to give the same URL; `None` otherwise.
    fn relative(&self, uri: &Uri) -> Option<Url> {
        let scheme = uri.scheme_str()?;
        let authority = uri.authority()?.as_str();
        let rest = uri.path_and_query()?.as_str();
        let bytes = rest.as_bytes();
        if bytes.first() != Some(&b'/') || matches!(bytes.get(1), Some(b'/' | b'\\')) {
            return None;
        }
        let base = self.base(scheme, authority)?;
        Url::options().base_url(Some(&base)).parse(rest).ok()
    }

    /// The origin's parsed URL, parsing it on first use.
    fn base(&self, scheme: &str, authority: &str) -> Option<Arc<Url>> {
        let mut parsed = self.parsed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(known) = parsed
            .iter()
            .find(|known| &*known.scheme == scheme && &*known.authority == authority)
        {
            return Some(known.url.clone());
        }
        let url = Arc::new(Url::parse(&format!("{scheme}://{authority}/")).ok()?);
        if parsed.len() == REMEMBERED {
            parsed.remove(0);
        }
        parsed.push(Remembered {
            scheme: scheme.into(),
            authority: authority.into(),
            url: url.clone(),
        });
        Some(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The conversion reqwest would do.
    fn reqwest_way(uri: &Uri) -> Result<Url, String> {
        Url::parse(&uri.to_string()).map_err(|e| e.to_string())
    }

    #[test]
    fn a_page_url_reads_as_reqwest_reads_it_and_the_origin_is_parsed_once() {
        let origins = Origins::default();
        for page in 1..=3 {
            let uri: Uri =
                format!("http://127.0.0.1:8080/scrapers/jobs/7/results?page={page}&limit=100")
                    .parse()
                    .expect("valid");
            let url = origins.url(&uri).expect("converts");
            assert_eq!(url, reqwest_way(&uri).expect("converts"));
            assert_eq!(url.query(), Some(format!("page={page}&limit=100").as_str()));
        }
        assert_eq!(origins.parsed.lock().expect("lock").len(), 1);
    }

    #[test]
    fn a_path_that_names_another_host_keeps_the_request_on_its_own() {
        let origins = Origins::default();
        for rest in [
            "//evil.example/x",
            "/\\evil.example/x",
            "//evil.example:443/",
        ] {
            let Ok(uri) = format!("https://api.hasdata.com{rest}").parse::<Uri>() else {
                continue;
            };
            assert!(origins.relative(&uri).is_none(), "{rest}");
            let url = origins.url(&uri).expect("converts");
            assert_eq!(url.host_str(), Some("api.hasdata.com"), "{rest}");
            assert_eq!(url, reqwest_way(&uri).expect("converts"));
        }
    }

    #[test]
    fn origins_are_remembered_a_few_at_a_time() {
        let origins = Origins::default();
        for port in 0..10u16 {
            let uri: Uri = format!("http://127.0.0.1:{}/a?b", 9000 + port)
                .parse()
                .expect("valid");
            assert_eq!(
                origins.url(&uri).expect("converts").port(),
                Some(9000 + port)
            );
        }
        assert_eq!(origins.parsed.lock().expect("lock").len(), REMEMBERED);
    }

    /// Text for the parts of a URI: the characters that change how a URL is read.
    fn piece() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("/"),
                Just("//"),
                Just("\\"),
                Just("."),
                Just(".."),
                Just("%"),
                Just("%2e"),
                Just("%2F"),
                Just("@"),
                Just(":"),
                Just("?"),
                Just("&"),
                Just("="),
                Just("#"),
                Just(";"),
                Just("~"),
                Just("'"),
                Just("\""),
                Just("<"),
                Just("{"),
                Just("|"),
                Just("^"),
                Just("`"),
                Just(" "),
                Just("a"),
                Just("Z"),
                Just("9"),
                Just("xn--"),
                Just("é"),
            ],
            0..12,
        )
        .prop_map(|parts| parts.concat())
    }

    fn authority() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("api.hasdata.com".to_owned()),
            Just("API.HasData.com".to_owned()),
            Just("127.0.0.1:8080".to_owned()),
            Just("127.0.0.1:80".to_owned()),
            Just("localhost:443".to_owned()),
            Just("[::1]:3000".to_owned()),
            Just("user:pw@api.hasdata.com".to_owned()),
            Just("xn--bcher-kva.example".to_owned()),
            Just("0x7f.1".to_owned()),
            Just("a.b.".to_owned()),
        ]
    }

    proptest! {
        /// For every URI `http` accepts, the URL is the one reqwest's own conversion gives
        /// (or both fail), and so is its origin.
        #[test]
        fn every_uri_converts_as_reqwest_converts_it(
            scheme in prop_oneof![Just("http"), Just("https"), Just("HTTP")],
            authority in authority(),
            rest in piece(),
        ) {
            let Ok(uri) = format!("{scheme}://{authority}{rest}").parse::<Uri>() else {
                return Ok(());
            };
            let origins = Origins::default();
            // Twice: parsing the origin, then reading it remembered.
            for _ in 0..2 {
                let ours = origins.url(&uri);
                let theirs = reqwest_way(&uri);
                // `Url`'s equality is its text's: the same bytes go out.
                prop_assert_eq!(&ours, &theirs, "{}", uri);
            }
        }
    }
}
