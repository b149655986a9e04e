//! The production transport: reqwest over rustls (ring), with pooling and gzip.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::TryStreamExt;

use crate::auth::Origin;
use crate::body::Body;
use crate::error::{TransportError, TransportErrorKind, chain_message};
use crate::transport::{Request, Response, Transport};
use crate::urls::Origins;

/// The user agent every request carries.
pub const USER_AGENT: &str = concat!("hasdata-rs/", env!("CARGO_PKG_VERSION"));

/// Default time allowed to open a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Default time allowed from sending a request to its response headers. HasData's own
/// deadline is about 300 s, so a shorter one would abandon requests the server still serves.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// Default longest silence while a body is read. A download may take far longer than
/// [`DEFAULT_TIMEOUT`] in total; it fails only when the stream stalls.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(120);

/// Sends requests with reqwest.
///
/// Timeouts: `connect_timeout` bounds opening a connection; `timeout` bounds the wait for the
/// response headers; `read_timeout` bounds each silence while the body streams.
/// Redirects are followed within one origin only: a redirect to another host is returned to
/// the caller, so a header set for the API never travels to a host it was not meant for.
///
/// TLS is rustls with the ring provider and the webpki roots, configured per client: no
/// process-wide crypto provider is installed. reqwest is built with `rustls-no-provider`, so
/// another `reqwest::Client` in the same program that brings no configuration of its own
/// needs a provider installed first (`rustls::crypto::ring::default_provider()
/// .install_default()`), unless that program enables reqwest's default TLS feature.
#[derive(Clone, Debug)]
pub struct ReqwestTransport {
    client: reqwest::Client,
    timeout: Duration,
    read_timeout: Duration,
    /// Each origin's URL, parsed once (shared by clones).
    origins: Arc<Origins>,
}

/// Settings of a [`ReqwestTransport`].
#[derive(Clone, Debug)]
pub struct ReqwestTransportBuilder {
    connect_timeout: Duration,
    timeout: Duration,
    read_timeout: Duration,
    user_agent: String,
    max_idle_per_host: usize,
}

impl Default for ReqwestTransportBuilder {
    fn default() -> Self {
        ReqwestTransportBuilder {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
            user_agent: USER_AGENT.to_owned(),
            max_idle_per_host: 32,
        }
    }
}

/// A transport that could not be built.
#[derive(Debug, thiserror::Error)]
#[error("could not build the HTTP client: {0}")]
pub struct BuildError(String);

impl ReqwestTransportBuilder {
    /// Time allowed to open a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed from sending a request to its response headers (default 300 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Longest silence while a body is read (default 120 s).
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Replaces the user agent (default `hasdata-rs/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Idle connections kept per host (default 32).
    pub fn max_idle_per_host(mut self, max: usize) -> Self {
        self.max_idle_per_host = max;
        self
    }

    /// Builds the transport.
    pub fn build(self) -> Result<ReqwestTransport, BuildError> {
        // ring builds fast and needs no C toolchain beyond cc; no process-wide provider is
        // installed, so an application's own rustls setup is left alone.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| BuildError(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .user_agent(self.user_agent)
            .connect_timeout(self.connect_timeout)
            .pool_max_idle_per_host(self.max_idle_per_host)
            .redirect(same_origin_redirects())
            .build()
            .map_err(|e| BuildError(chain_message(&e)))?;
        Ok(ReqwestTransport {
            client,
            timeout: self.timeout,
            read_timeout: self.read_timeout,
            origins: Arc::default(),
        })
    }
}

fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = match (attempt.previous().last(), attempt.url()) {
            (Some(previous), next) => {
                let origin =
                    |url: &reqwest::Url| url.as_str().parse().ok().and_then(|uri| Origin::of(&uri));
                origin(previous).is_some() && origin(previous) == origin(next)
            }
            _ => false,
        };
        if !same_origin || attempt.previous().len() >= 10 {
            attempt.stop()
        } else {
            attempt.follow()
        }
    })
}

impl ReqwestTransport {
    /// A transport with the default settings.
    pub fn new() -> Result<Self, BuildError> {
        ReqwestTransportBuilder::default().build()
    }

    /// Settings to change before building.
    pub fn builder() -> ReqwestTransportBuilder {
        ReqwestTransportBuilder::default()
    }

    /// `request` as reqwest's. What `reqwest::Request::try_from` does, except that the URL
    /// comes from [`Origins`] (the same URL, its origin parsed once). The request's
    /// extensions stay behind: reqwest reads only its own.
    fn convert(&self, request: Request) -> Result<reqwest::Request, TransportError> {
        let (parts, body) = request.into_parts();
        let url = self.origins.url(&parts.uri).map_err(|reason| {
            TransportError::new(
                TransportErrorKind::Request,
                false,
                format!("the request's URL cannot be sent: {reason}"),
            )
        })?;
        let mut converted = reqwest::Request::new(parts.method, url);
        *converted.headers_mut() = parts.headers;
        *converted.version_mut() = parts.version;
        *converted.body_mut() = Some(body.into());
        Ok(converted)
    }
}

#[async_trait]
impl Transport for ReqwestTransport {
    async fn send(&self, request: Request) -> Result<Response, TransportError> {
        let request = self.convert(request)?;
        let mut response = tokio::time::timeout(self.timeout, self.client.execute(request))
            .await
            .map_err(|_| TransportError::timeout(format!("no response within {:?}", self.timeout)))?
            .map_err(classify)?;

        // The body's length as it will be read (none when it is decompressed), to size the
        // buffer it is collected into.
        let length = response.content_length();
        let mut builder = http::Response::builder()
            .status(response.status())
            .version(response.version());
        if let Some(headers) = builder.headers_mut() {
            // Moved over, not copied (an empty map allocates nothing).
            *headers = std::mem::take(response.headers_mut());
        }
        // The idle limit is applied here, to the body only: reqwest's own `read_timeout` also
        // runs while waiting for the headers, which would cut the API's 300 s deadline short.
        let body = Body::from_stream(idle_limited(
            response.bytes_stream().map_err(classify),
            self.read_timeout,
        ))
        .with_length_hint(length);
        builder
            .body(body)
            .map_err(|e| TransportError::new(TransportErrorKind::Other, true, e.to_string()))
    }
}

/// Ends `stream` with a timeout error when no chunk arrives for `idle`.
fn idle_limited<S>(stream: S, idle: Duration) -> IdleLimited<S>
where
    S: futures::Stream<Item = Result<bytes::Bytes, TransportError>> + Send + Unpin + 'static,
{
    IdleLimited {
        stream,
        idle,
        timer: None,
        waiting: false,
        ended: false,
    }
}

/// A stream that ends with a timeout error once its inner stream has been silent for `idle`.
///
/// The clock is read and the timer armed only when the inner stream has nothing ready: a
/// page whose body came with its headers (the usual case) costs no timer at all. One timer
/// per body, reset for each new wait, where a `tokio::time::timeout` per chunk built one
/// each time.
struct IdleLimited<S> {
    stream: S,
    idle: Duration,
    timer: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
    /// Whether `timer` is armed for the wait in progress (since the last chunk).
    waiting: bool,
    ended: bool,
}

impl<S> futures::Stream for IdleLimited<S>
where
    S: futures::Stream<Item = Result<bytes::Bytes, TransportError>> + Unpin,
{
    type Item = Result<bytes::Bytes, TransportError>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::future::Future;
        use std::task::Poll;

        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = futures::StreamExt::poll_next_unpin(&mut this.stream, cx) {
            this.waiting = false;
            this.ended = item.is_none();
            return Poll::Ready(item);
        }
        if !this.waiting {
            this.waiting = true;
            // A limit too far to add to the clock never ends the wait.
            if let Some(deadline) = tokio::time::Instant::now().checked_add(this.idle) {
                match &mut this.timer {
                    Some(timer) => timer.as_mut().reset(deadline),
                    None => this.timer = Some(Box::pin(tokio::time::sleep_until(deadline))),
                }
            } else {
                this.timer = None;
            }
        }
        if let Some(timer) = &mut this.timer
            && timer.as_mut().poll(cx).is_ready()
        {
            this.ended = true;
            return Poll::Ready(Some(Err(TransportError::timeout(format!(
                "the body went silent for {:?}",
                this.idle
            )))));
        }
        Poll::Pending
    }
}

/// Maps a reqwest error to a [`TransportError`], deciding whether the request may have
/// reached the server. URLs are dropped from messages: a signed download link carries its
/// token in the query.
fn classify(error: reqwest::Error) -> TransportError {
    let connect = error.is_connect();
    let timeout = error.is_timeout();
    let (kind, reached) = if connect && is_tls(&error) {
        (TransportErrorKind::Tls, false)
    } else if connect {
        // Refused, DNS, unreachable, or a connect timeout: no byte of the request was sent.
        (TransportErrorKind::Connect, false)
    } else if timeout {
        (TransportErrorKind::Timeout, true)
    } else if error.is_body() || error.is_decode() {
        (TransportErrorKind::Body, true)
    } else if error.is_builder() {
        (TransportErrorKind::Request, false)
    } else {
        (TransportErrorKind::Other, true)
    };
    TransportError::new(kind, reached, chain_message(&error.without_url()))
}

fn is_tls(error: &(dyn StdError + 'static)) -> bool {
    // `io::Error::source()` skips the error it wraps (it returns that error's source), so a
    // rustls error inside nested `io::Error`s is only reachable through `get_ref()`.
    let mut pending: Vec<&(dyn StdError + 'static)> = vec![error];
    while let Some(e) = pending.pop() {
        if e.is::<rustls::Error>() {
            return true;
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            pending.push(inner);
        }
        if let Some(source) = e.source() {
            pending.push(source);
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use futures::StreamExt;

    fn chunk_then_silence() -> impl futures::Stream<Item = Result<Bytes, TransportError>> + Unpin {
        futures::stream::iter([Ok(Bytes::from_static(b"ab"))]).chain(futures::stream::pending())
    }

    /// Each wait gets the whole limit again: chunks that come within it pass, however long
    /// they take in all; the silence after the last one ends the stream, once.
    #[tokio::test(start_paused = true)]
    async fn every_wait_gets_the_whole_limit_and_a_silence_ends_the_stream_once() {
        let slow = futures::stream::iter(0..3)
            .then(|_| async {
                tokio::time::sleep(Duration::from_secs(9)).await;
                Ok(Bytes::from_static(b"x"))
            })
            .chain(futures::stream::pending());
        let mut stream = idle_limited(Box::pin(slow), Duration::from_secs(10));
        let started = tokio::time::Instant::now();
        for _ in 0..3 {
            let chunk = stream
                .next()
                .await
                .expect("a chunk")
                .expect("within the limit");
            assert_eq!(chunk, Bytes::from_static(b"x"));
        }
        let error = stream.next().await.expect("an error").expect_err("silent");
        assert_eq!(error.kind(), TransportErrorKind::Timeout);
        assert_eq!(started.elapsed(), Duration::from_secs(37));
        assert!(stream.next().await.is_none());
    }

    /// A limit too long to add to the clock never fires (nor panics).
    #[tokio::test(start_paused = true)]
    async fn a_limit_past_the_clock_never_fires() {
        let mut stream = idle_limited(chunk_then_silence(), Duration::MAX);
        assert!(stream.next().await.expect("a chunk").is_ok());
        let waited = tokio::time::timeout(Duration::from_secs(1 << 40), stream.next()).await;
        assert!(waited.is_err(), "the stream stayed open: {waited:?}");
    }
}
