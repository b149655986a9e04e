use std::collections::{HashSet, VecDeque};
use std::convert::Infallible;
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use hasdata_model::WebhookEvent;
use http::{HeaderName, Method, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::AbortHandle;

/// How a [`WebhookReceiver`] listens.
///
/// ```
/// use std::time::Duration;
/// use hasdata_jobs::webhooks::ReceiverConfig;
///
/// let config = ReceiverConfig {
///     queue: 64,       // deliveries past this get 503 and HasData retries
///     confirm: true,   // 200 only once the consumer calls `delivered()`
///     confirm_timeout: Duration::from_secs(5),
///     ..ReceiverConfig::new("127.0.0.1:8088".parse()?, "x-hook-secret".parse()?, "s3cret")
/// };
/// assert!(!format!("{config:?}").contains("s3cret"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ReceiverConfig {
    /// Where to listen (`127.0.0.1:0` picks a free port; put it behind an HTTPS proxy).
    pub addr: SocketAddr,
    /// The path HasData posts to.
    pub path: String,
    /// The header that must carry the shared secret, and the secret. `None` accepts any
    /// caller: only for tests.
    pub secret: Option<(HeaderName, SecretString)>,
    /// The largest body accepted (default 10 MiB); larger ones get 413.
    pub max_body: usize,
    /// Events held for the consumer; when full, deliveries get 503 and HasData retries.
    pub queue: usize,
    /// Deliveries remembered to recognise retries.
    pub remember: usize,
    /// The longest a caller may take to send a request's headers (10 s).
    pub header_timeout: Duration,
    /// The longest a caller may take to send a body (30 s); slower ones get 408. An endless
    /// (unterminated chunked) body cannot hold a connection longer than this.
    pub body_timeout: Duration,
    /// Connections served at once (256); further callers wait to be accepted. Every
    /// connection serves one request, so the timeouts bound how long each holds its place.
    pub max_connections: usize,
    /// Answer 200 only once the consumer has confirmed the event with
    /// [`ReceivedEvent::delivered`] (off by default: an event is acknowledged once queued). An
    /// event dropped unconfirmed, or not confirmed within `confirm_timeout`, gets 503 so
    /// HasData sends it again: nothing is acknowledged that was not delivered.
    pub confirm: bool,
    /// How long a delivery waits for the consumer's confirmation (10 s).
    pub confirm_timeout: Duration,
}

impl ReceiverConfig {
    /// Listens on `addr` at `/hasdata-hook`, requiring `secret` in header `header`.
    ///
    /// ```
    /// use hasdata_jobs::webhooks::ReceiverConfig;
    ///
    /// let secret = std::env::var("HOOK_SECRET").unwrap_or_else(|_| "s3cret".into());
    /// let config = ReceiverConfig::new("127.0.0.1:8088".parse()?, "x-hook-secret".parse()?, secret);
    /// assert_eq!(config.path, "/hasdata-hook");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(addr: SocketAddr, header: HeaderName, secret: impl Into<String>) -> Self {
        ReceiverConfig {
            addr,
            path: "/hasdata-hook".into(),
            secret: Some((header, SecretString::from(secret.into()))),
            max_body: 10 * 1024 * 1024,
            queue: 1024,
            remember: 100_000,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 256,
            confirm: false,
            confirm_timeout: Duration::from_secs(10),
        }
    }
}

impl fmt::Debug for ReceiverConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiverConfig")
            .field("addr", &self.addr)
            .field("path", &self.path)
            .field("secret_header", &self.secret.as_ref().map(|(name, _)| name))
            .field("max_body", &self.max_body)
            .field("queue", &self.queue)
            .field("header_timeout", &self.header_timeout)
            .field("body_timeout", &self.body_timeout)
            .field("max_connections", &self.max_connections)
            .field("confirm", &self.confirm)
            .finish()
    }
}

/// One accepted event.
///
/// ```
/// # async fn post(url: &str, secret: &str, body: &str) -> Result<u16, Box<dyn std::error::Error>> {
/// #     use hasdata_transport::Transport;
/// #     let http = hasdata_transport::ReqwestTransport::builder().build()?;
/// #     let request = http::Request::post(url).header("x-hook-secret", secret).body(bytes::Bytes::from(body.to_owned()))?;
/// #     Ok(http.send(request).await?.status().as_u16())
/// # }
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use hasdata_jobs::webhooks::{ReceiverConfig, WebhookReceiver};
/// # let config = ReceiverConfig::new("127.0.0.1:0".parse()?, "x-hook-secret".parse()?, "s3cret");
/// # let mut receiver = WebhookReceiver::bind(config).await?;
/// # post(&receiver.url(), "s3cret", r#"{"event": "scraper.job.finished", "jobId": 7, "jobStatus": "finished"}"#).await?;
/// use hasdata_jobs::prelude::*;
///
/// let received = receiver.next().await.expect("an event");
/// assert_eq!(received.event.event, WebhookEventName::JobFinished);
/// assert_eq!(received.event.job(), Some(JobId::from(7)));
/// assert!(received.raw.is_none(), "it matched the documented shape");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ReceivedEvent {
    /// The event, decoded. Unknown event names arrive as `WebhookEventName::Other`; a field that
    /// did not fit is kept in its `extra`.
    pub event: WebhookEvent,
    /// The whole body as sent, when it did not match the documented event shape (no known
    /// event name, no job id, a field of an unexpected type, or JSON that is not an object).
    /// Such a call is acknowledged all the same, so HasData does not retry and drop it.
    pub raw: Option<serde_json::Value>,
    /// The body exactly as received (valid JSON, UTF-8). Store this for a faithful record:
    /// `raw` and `event` are decoded values, in which an integer past 64 bits is a float
    /// (the job id excepted: `event.job_id` keeps the digits as sent), and a database such as
    /// PostgreSQL cannot hold every text JSON can (`\u0000` in a string).
    pub body: Bytes,
    /// A fingerprint of the delivery's bytes: a retry of the same delivery has the same one.
    pub fingerprint: u64,
    /// The delivery's identity, stable across processes and versions: the SHA-256 (hex) of
    /// the body's JSON in canonical form (keys sorted, no whitespace). HasData's calls carry
    /// no delivery id, so a retry is recognised by its content: replicas sharing a database
    /// key their deduplication on this.
    pub delivery: String,
    /// With [`ReceiverConfig::confirm`]: the waiting delivery's answer.
    confirmation: Option<Arc<Confirmation>>,
}

/// The sender a delivery waits on; dropped unused (every clone of the event gone), the
/// delivery answers 503.
struct Confirmation(Mutex<Option<oneshot::Sender<()>>>);

impl fmt::Debug for Confirmation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Confirmation")
    }
}

impl ReceivedEvent {
    /// Confirms the event was delivered (written, stored): with [`ReceiverConfig::confirm`],
    /// only now is HasData answered 200. Without it, does nothing.
    ///
    /// ```
    /// # async fn post(url: &str, secret: &str, body: &str) -> Result<u16, Box<dyn std::error::Error>> {
    /// #     use hasdata_transport::Transport;
    /// #     let http = hasdata_transport::ReqwestTransport::builder().build()?;
    /// #     let request = http::Request::post(url).header("x-hook-secret", secret).body(bytes::Bytes::from(body.to_owned()))?;
    /// #     Ok(http.send(request).await?.status().as_u16())
    /// # }
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use hasdata_jobs::webhooks::{ReceiverConfig, WebhookReceiver};
    ///
    /// let config = ReceiverConfig {
    ///     confirm: true,
    ///     ..ReceiverConfig::new("127.0.0.1:0".parse()?, "x-hook-secret".parse()?, "s3cret")
    /// };
    /// let mut receiver = WebhookReceiver::bind(config).await?;
    /// let url = receiver.url();
    /// let delivery = tokio::spawn(async move { post(&url, "s3cret", r#"{"event": "scraper.job.finished", "jobId": 7, "jobStatus": "finished"}"#).await.ok() });
    /// let received = receiver.next().await.expect("an event");
    /// // ... the event stored durably; only then is HasData answered 200:
    /// received.delivered();
    /// assert_eq!(delivery.await?, Some(200));
    /// # Ok(())
    /// # }
    /// ```
    pub fn delivered(&self) {
        if let Some(confirmation) = &self.confirmation
            && let Some(sender) = confirmation
                .0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
        {
            let _ = sender.send(());
        }
    }
}

/// What the receiver has answered, by kind.
///
/// ```
/// # async fn post(url: &str, secret: &str, body: &str) -> Result<u16, Box<dyn std::error::Error>> {
/// #     use hasdata_transport::Transport;
/// #     let http = hasdata_transport::ReqwestTransport::builder().build()?;
/// #     let request = http::Request::post(url).header("x-hook-secret", secret).body(bytes::Bytes::from(body.to_owned()))?;
/// #     Ok(http.send(request).await?.status().as_u16())
/// # }
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # use hasdata_jobs::webhooks::{ReceiverConfig, WebhookReceiver};
/// # let config = ReceiverConfig::new("127.0.0.1:0".parse()?, "x-hook-secret".parse()?, "s3cret");
/// # let mut receiver = WebhookReceiver::bind(config).await?;
/// assert_eq!(post(&receiver.url(), "guess", r#"{"event": "scraper.job.finished", "jobId": 7, "jobStatus": "finished"}"#).await?, 401);
/// assert_eq!(post(&receiver.url(), "s3cret", "not json").await?, 400);
/// let stats = receiver.stats();
/// assert_eq!((stats.unauthorized, stats.malformed, stats.accepted), (1, 1, 0));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReceiverStats {
    /// Events queued (answered 200).
    pub accepted: u64,
    /// Repeated deliveries acknowledged without being queued again (200).
    pub duplicates: u64,
    /// Missing or wrong secret (401).
    pub unauthorized: u64,
    /// Bodies over the limit (413).
    pub too_large: u64,
    /// Bodies that were not JSON (400).
    pub malformed: u64,
    /// JSON that did not match the documented event shape: acknowledged (200) and queued with
    /// [`ReceivedEvent::raw`] set.
    pub unrecognised: u64,
    /// Refused because the queue was full (503).
    pub queue_full: u64,
    /// Refused after the receiver was closed, or unconfirmed by the consumer (503).
    pub undelivered: u64,
    /// Bodies not sent within the body timeout (408).
    pub timed_out: u64,
    /// Other paths or methods (404, 405).
    pub misrouted: u64,
}

#[derive(Default)]
struct Counters {
    accepted: AtomicU64,
    duplicates: AtomicU64,
    unauthorized: AtomicU64,
    too_large: AtomicU64,
    malformed: AtomicU64,
    unrecognised: AtomicU64,
    queue_full: AtomicU64,
    undelivered: AtomicU64,
    timed_out: AtomicU64,
    misrouted: AtomicU64,
}

/// Recent delivery fingerprints, oldest evicted first.
struct Seen {
    set: HashSet<u64>,
    order: VecDeque<u64>,
    capacity: usize,
}

impl Seen {
    fn insert(&mut self, fingerprint: u64) {
        if self.set.insert(fingerprint) {
            self.order.push_back(fingerprint);
            if self.order.len() > self.capacity
                && let Some(oldest) = self.order.pop_front()
            {
                self.set.remove(&oldest);
            }
        }
    }
}

struct Shared {
    /// The path to answer at; `None` when mounted in the caller's server, which routes.
    path: Option<String>,
    secret: Option<(HeaderName, SecretString)>,
    max_body: usize,
    body_timeout: Duration,
    confirm: bool,
    confirm_timeout: Duration,
    /// Set by [`WebhookReceiver::close`]: every delivery gets 503.
    closed: AtomicBool,
    sender: mpsc::Sender<ReceivedEvent>,
    seen: Mutex<Seen>,
    counters: Counters,
}

/// An HTTP server that receives HasData's webhook calls and queues them as typed events.
///
/// Answers: 401 for a missing or wrong secret (nothing echoed), 413 over the size limit, 400
/// for a body that is not JSON, 503 when the queue is full, and 200 once the event is queued,
/// or when it repeats a delivery already queued. The Content-Type is not checked (HasData's is
/// not documented): any JSON body is read. JSON that does not match the event shape is still
/// acknowledged and queued raw, with a warning: every refusal makes HasData retry three times
/// and then drop the event.
///
/// ```
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
/// #     job_duration: std::time::Duration::ZERO,
/// #     allow_http_webhooks: true,
/// #     ..Default::default()
/// # }).await?;
/// # let client = hasdata_jobs::Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).allow_http_webhooks(true).build()?;
/// use hasdata_jobs::prelude::*;
/// use hasdata_jobs::webhooks::{ReceiverConfig, WebhookReceiver};
///
/// let config = ReceiverConfig::new("127.0.0.1:0".parse()?, "x-hook-secret".parse()?, "s3cret");
/// let mut receiver = WebhookReceiver::bind(config).await?;
/// // HasData needs a public https URL: put the receiver behind a TLS proxy. The simulator
/// // calls the loopback URL.
/// let hook = Webhook::new(receiver.url())
///     .event(WebhookEventName::JobFinished)
///     .header("x-hook-secret", "s3cret");
/// let job = client.submit(&ContactsBody::new(["https://example.com/about"]).webhook(hook)).await?;
/// let received = receiver.next().await.expect("the job's finished event");
/// assert_eq!(received.event.job(), Some(job.id()));
/// # Ok(())
/// # }
/// ```
pub struct WebhookReceiver {
    addr: SocketAddr,
    path: String,
    events: mpsc::Receiver<ReceivedEvent>,
    shared: Arc<Shared>,
    /// The server's task; `None` when mounted in the caller's server.
    task: Option<AbortHandle>,
}

impl fmt::Debug for WebhookReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookReceiver")
            .field("addr", &self.addr)
            .field("path", &self.path)
            .finish()
    }
}

fn answer(status: StatusCode) -> http::Response<Full<Bytes>> {
    let mut response = http::Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

/// Reads any JSON as an event: never fails. The body comes back as `raw` when it does not
/// match the documented shape. `body` is the text `value` was read from: a numeric `jobId`
/// keeps its text as sent (`18446744073709551616` is past `u64`, and `Value` would make it
/// the float `1.8446744073709552e19`).
fn read_event(value: serde_json::Value, body: &[u8]) -> (WebhookEvent, Option<serde_json::Value>) {
    let decoded = WebhookEvent::deserialize(&value).map(|mut event| {
        if value.get("jobId").is_some_and(serde_json::Value::is_f64)
            && let Some(text) = top_level_text(body, "jobId")
        {
            event.job_id = Some(text);
        }
        event
    });
    match decoded {
        Ok(event) if event.matches_known_shape() => (event, None),
        Ok(event) => (event, Some(value)),
        Err(_) => (WebhookEvent::default(), Some(value)),
    }
}

/// The JSON text of `key` in the object `body`, as sent (the last one, as `Value` reads a
/// repeated key).
fn top_level_text(body: &[u8], key: &str) -> Option<String> {
    let fields: std::collections::BTreeMap<String, &serde_json::value::RawValue> =
        serde_json::from_slice(body).ok()?;
    fields.get(key).map(|raw| raw.get().trim().to_owned())
}

/// SHA-256 of the value's canonical JSON (serde_json's maps are sorted by key), in hex.
/// `body` is the text `value` was read from: an integer past 64 bits, which `Value` holds as
/// a float, is written with its digits as sent, so two deliveries that differ only there
/// (job ids 18446744073709551616 and 18446744073709551617) are two deliveries.
fn delivery_id(value: &serde_json::Value, body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let canonical = if holds_float(value) {
        canonical_text(body).unwrap_or_else(|| value.to_string())
    } else {
        value.to_string()
    };
    let digest = Sha256::digest(canonical.as_bytes());
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The identity of a delivery known by its exact bytes (one `Value` cannot hold).
fn delivery_of_bytes(body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(b"bytes:")
        .chain_update(body)
        .finalize();
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// `body` with every `\uXXXX` escape of a lone UTF-16 surrogate (one not in a high-low
/// pair) written `\ufffd`, or `None` when there is none. serde_json refuses such strings,
/// though they are JSON by its grammar and JavaScript and Python write them.
fn without_lone_surrogates(body: &[u8]) -> Option<Vec<u8>> {
    let unit = |at: usize| {
        let hex = body.get(at..at + 4)?;
        u16::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
    };
    let escape_at = |at: usize| body.get(at) == Some(&b'\\') && body.get(at + 1) == Some(&b'u');
    let high = |u: u16| (0xD800..0xDC00).contains(&u);
    let low = |u: u16| (0xDC00..0xE000).contains(&u);
    let mut out = Vec::with_capacity(body.len());
    let (mut at, mut in_string, mut changed) = (0, false, false);
    while let Some(&byte) = body.get(at) {
        if !in_string || byte == b'"' {
            in_string ^= byte == b'"';
            out.push(byte);
            at += 1;
        } else if escape_at(at)
            && let Some(first) = unit(at + 2)
        {
            let pair = high(first) && escape_at(at + 6) && unit(at + 8).is_some_and(low);
            if pair {
                out.extend_from_slice(&body[at..at + 12]);
                at += 12;
            } else if high(first) || low(first) {
                out.extend_from_slice(b"\\ufffd");
                changed = true;
                at += 6;
            } else {
                out.extend_from_slice(&body[at..at + 6]);
                at += 6;
            }
        } else if byte == b'\\' {
            // Any other escape: the backslash and what it escapes (a quote stays in the string).
            out.extend_from_slice(&body[at..(at + 2).min(body.len())]);
            at += 2;
        } else {
            out.push(byte);
            at += 1;
        }
    }
    changed.then_some(out)
}

/// Whether any number in `value` is held as a float (the rare case: the slow path above).
fn holds_float(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Number(n) => n.is_f64(),
        serde_json::Value::Array(items) => items.iter().any(holds_float),
        serde_json::Value::Object(map) => map.values().any(holds_float),
        _ => false,
    }
}

/// The canonical JSON of `body` (what `Value::to_string` writes: keys sorted, the last of a
/// repeated key, no whitespace), except that an integer `Value` cannot hold keeps its digits.
fn canonical_text(body: &[u8]) -> Option<String> {
    let raw: &serde_json::value::RawValue = serde_json::from_slice(body).ok()?;
    let mut out = String::with_capacity(body.len());
    write_canonical(raw.get(), &mut out)?;
    Some(out)
}

fn write_canonical(text: &str, out: &mut String) -> Option<()> {
    use serde_json::value::RawValue;
    let text = text.trim();
    match text.as_bytes().first()? {
        b'{' => {
            let fields: std::collections::BTreeMap<String, &RawValue> =
                serde_json::from_str(text).ok()?;
            out.push('{');
            for (i, (key, value)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(key).ok()?);
                out.push(':');
                write_canonical(value.get(), out)?;
            }
            out.push('}');
        }
        b'[' => {
            let items: Vec<&RawValue> = serde_json::from_str(text).ok()?;
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item.get(), out)?;
            }
            out.push(']');
        }
        b'-' | b'0'..=b'9' => {
            let number: serde_json::Number = serde_json::from_str(text).ok()?;
            let integer = text.trim_start_matches('-');
            if number.is_f64()
                && !integer.is_empty()
                && integer.bytes().all(|b| b.is_ascii_digit())
                && integer.bytes().any(|b| b != b'0')
            {
                out.push_str(text);
            } else {
                out.push_str(&number.to_string());
            }
        }
        _ => {
            let value: serde_json::Value = serde_json::from_str(text).ok()?;
            out.push_str(&value.to_string());
        }
    }
    Some(())
}

fn fingerprint(bytes: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    hasher.finish()
}

impl Shared {
    fn new(
        config: &ReceiverConfig,
        path: Option<String>,
    ) -> (Arc<Shared>, mpsc::Receiver<ReceivedEvent>) {
        let (sender, events) = mpsc::channel(config.queue.max(1));
        let shared = Arc::new(Shared {
            path,
            secret: config.secret.clone(),
            max_body: config.max_body,
            body_timeout: config.body_timeout,
            confirm: config.confirm,
            confirm_timeout: config.confirm_timeout,
            closed: AtomicBool::new(false),
            sender,
            seen: Mutex::new(Seen {
                set: HashSet::new(),
                order: VecDeque::new(),
                capacity: config.remember.max(1),
            }),
            counters: Counters::default(),
        });
        (shared, events)
    }

    fn authorized<B>(&self, request: &http::Request<B>) -> bool {
        let Some((name, secret)) = &self.secret else {
            return true;
        };
        let Some(given) = request.headers().get(name) else {
            return false;
        };
        // Constant time: the comparison does not stop at the first differing byte.
        bool::from(given.as_bytes().ct_eq(secret.expose_secret().as_bytes()))
    }

    async fn handle<B>(self: Arc<Self>, request: http::Request<B>) -> http::Response<Full<Bytes>>
    where
        B: hyper::body::Body,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let c = &self.counters;
        if self.closed.load(Ordering::Relaxed) {
            c.undelivered.fetch_add(1, Ordering::Relaxed);
            return answer(StatusCode::SERVICE_UNAVAILABLE);
        }
        if self
            .path
            .as_deref()
            .is_some_and(|path| request.uri().path() != path)
        {
            c.misrouted.fetch_add(1, Ordering::Relaxed);
            return answer(StatusCode::NOT_FOUND);
        }
        if request.method() != Method::POST {
            c.misrouted.fetch_add(1, Ordering::Relaxed);
            return answer(StatusCode::METHOD_NOT_ALLOWED);
        }
        if !self.authorized(&request) {
            c.unauthorized.fetch_add(1, Ordering::Relaxed);
            return answer(StatusCode::UNAUTHORIZED);
        }
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|length| length > self.max_body) {
            c.too_large.fetch_add(1, Ordering::Relaxed);
            return answer(StatusCode::PAYLOAD_TOO_LARGE);
        }
        let collected = tokio::time::timeout(
            self.body_timeout,
            Limited::new(request.into_body(), self.max_body).collect(),
        )
        .await;
        let Ok(collected) = collected else {
            c.timed_out.fetch_add(1, Ordering::Relaxed);
            return answer(StatusCode::REQUEST_TIMEOUT);
        };
        let body = match collected {
            Ok(body) => body.to_bytes(),
            Err(error)
                if error
                    .downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some() =>
            {
                c.too_large.fetch_add(1, Ordering::Relaxed);
                return answer(StatusCode::PAYLOAD_TOO_LARGE);
            }
            Err(_) => {
                c.malformed.fetch_add(1, Ordering::Relaxed);
                return answer(StatusCode::BAD_REQUEST);
            }
        };
        let (delivery, (event, raw)) = match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(value) => (delivery_id(&value, &body), read_event(value, &body)),
            Err(_) => {
                // JSON with a lone UTF-16 surrogate (`"\ud800"`: scraped text can hold one) is
                // JSON all the same: read it with U+FFFD in its place. The delivery is known by
                // its exact bytes, which `body` keeps.
                let Some((value, repaired)) = without_lone_surrogates(&body).and_then(|text| {
                    serde_json::from_slice::<serde_json::Value>(&text)
                        .ok()
                        .map(|value| (value, text))
                }) else {
                    c.malformed.fetch_add(1, Ordering::Relaxed);
                    return answer(StatusCode::BAD_REQUEST);
                };
                (delivery_of_bytes(&body), read_event(value, &repaired))
            }
        };
        if raw.is_some() {
            c.unrecognised.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                event = %event.event,
                job_id = ?event.job_id,
                unfit = ?event.unfit_fields(),
                "a webhook call that does not match the documented event shape; acknowledged and delivered raw"
            );
        }
        let fingerprint = fingerprint(&body);
        let (confirmation, confirmed) = if self.confirm {
            let (sender, receiver) = oneshot::channel();
            (
                Some(Arc::new(Confirmation(Mutex::new(Some(sender))))),
                Some(receiver),
            )
        } else {
            (None, None)
        };
        {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            if seen.set.contains(&fingerprint) {
                c.duplicates.fetch_add(1, Ordering::Relaxed);
                return answer(StatusCode::OK);
            }
            let received = ReceivedEvent {
                event,
                raw,
                body,
                fingerprint,
                delivery,
                confirmation,
            };
            if self.sender.try_send(received).is_err() {
                c.queue_full.fetch_add(1, Ordering::Relaxed);
                return answer(StatusCode::SERVICE_UNAVAILABLE);
            }
            if confirmed.is_none() {
                seen.insert(fingerprint);
                c.accepted.fetch_add(1, Ordering::Relaxed);
                return answer(StatusCode::OK);
            }
        }
        let Some(confirmed) = confirmed else {
            return answer(StatusCode::OK);
        };
        match tokio::time::timeout(self.confirm_timeout, confirmed).await {
            Ok(Ok(())) => {
                self.seen
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(fingerprint);
                c.accepted.fetch_add(1, Ordering::Relaxed);
                answer(StatusCode::OK)
            }
            _ => {
                c.undelivered.fetch_add(1, Ordering::Relaxed);
                answer(StatusCode::SERVICE_UNAVAILABLE)
            }
        }
    }
}

impl WebhookReceiver {
    /// Binds and starts serving. Stops when dropped.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use hasdata_jobs::webhooks::{ReceiverConfig, WebhookReceiver};
    ///
    /// let config = ReceiverConfig::new("127.0.0.1:0".parse()?, "x-hook-secret".parse()?, "s3cret");
    /// let mut receiver = WebhookReceiver::bind(config).await?;
    /// println!("HasData's calls go to {} (behind your TLS proxy)", receiver.url());
    /// # drop(receiver);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn bind(config: ReceiverConfig) -> std::io::Result<WebhookReceiver> {
        let listener = TcpListener::bind(config.addr).await?;
        let addr = listener.local_addr()?;
        let (shared, events) = Shared::new(&config, Some(config.path.clone()));
        let serving = shared.clone();
        let places = Arc::new(Semaphore::new(config.max_connections.max(1)));
        let header_timeout = config.header_timeout;
        let task = tokio::spawn(async move {
            loop {
                // A place first: at the cap, callers wait in the listen backlog.
                let Ok(place) = places.clone().acquire_owned().await else {
                    return;
                };
                let Ok((stream, _)) = listener.accept().await else {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                };
                let shared = serving.clone();
                tokio::spawn(async move {
                    let _place = place;
                    let service = service_fn(move |request| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(shared.handle(request).await) }
                    });
                    // One request a connection: an idle keep-alive connection cannot hold a
                    // place, and the header and body timeouts bound every connection's life.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(header_timeout)
                        .keep_alive(false)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(WebhookReceiver {
            addr,
            path: config.path,
            events,
            shared,
            task: Some(task.abort_handle()),
        })
    }

    /// A receiver served by your own HTTP server (an axum or hyper app): the
    /// [`WebhookService`] to mount at a path of your choosing, and the receiver its events
    /// come out of. The service answers as the standalone server does (secret, limits,
    /// deduplication, queue), at whatever path it is mounted: the app routes, so
    /// `config.path` and `config.addr` are not used, nor are the connection limits and
    /// header timeout, which are the app's server's. [`WebhookReceiver::url`] means nothing
    /// here: your app's public URL is the webhook URL.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use hasdata_jobs::prelude::*;
    /// use hasdata_jobs::webhooks::{ReceiverConfig, WebhookReceiver};
    /// use tower_service::Service;
    ///
    /// let config = ReceiverConfig::new("0.0.0.0:0".parse()?, "x-hook-secret".parse()?, "s3cret");
    /// let (hook, mut receiver) = WebhookReceiver::service(config);
    /// let mut app = axum::Router::new()
    ///     .route("/health", axum::routing::get(|| async { "ok" }))
    ///     .route_service("/hooks/hasdata", hook);
    /// // axum::serve(listener, app) serves it; here one request goes straight in.
    /// let delivery = http::Request::post("/hooks/hasdata")
    ///     .header("x-hook-secret", "s3cret")
    ///     .body(axum::body::Body::from(r#"{"event": "scraper.job.finished", "jobId": 7, "jobStatus": "finished"}"#))?;
    /// assert_eq!(app.call(delivery).await?.status(), 200);
    /// assert_eq!(receiver.next().await.expect("queued").event.job(), Some(JobId::from(7)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn service(config: ReceiverConfig) -> (WebhookService, WebhookReceiver) {
        let (shared, events) = Shared::new(&config, None);
        let receiver = WebhookReceiver {
            addr: config.addr,
            path: config.path,
            events,
            shared: shared.clone(),
            task: None,
        };
        (WebhookService { shared }, receiver)
    }

    /// The address it listens on.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use hasdata_jobs::webhooks::{ReceiverConfig, WebhookReceiver};
    ///
    /// let config = ReceiverConfig::new("127.0.0.1:0".parse()?, "x-hook-secret".parse()?, "s3cret");
    /// let mut receiver = WebhookReceiver::bind(config).await?;
    /// assert!(receiver.local_addr().ip().is_loopback());
    /// assert_ne!(receiver.local_addr().port(), 0, "the port picked");
    /// # Ok(())
    /// # }
    /// ```
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its URL on loopback, e.g. `http://127.0.0.1:PORT/hasdata-hook` (what a simulator
    /// started with `allow_http_webhooks` can call; HasData itself needs an https URL).
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use hasdata_jobs::webhooks::{ReceiverConfig, WebhookReceiver};
    ///
    /// let config = ReceiverConfig::new("127.0.0.1:0".parse()?, "x-hook-secret".parse()?, "s3cret");
    /// let mut receiver = WebhookReceiver::bind(config).await?;
    /// assert_eq!(receiver.url(), format!("http://{}/hasdata-hook", receiver.local_addr()));
    /// # Ok(())
    /// # }
    /// ```
    pub fn url(&self) -> String {
        format!("http://{}{}", self.addr, self.path)
    }

    /// The next event, in the order they were queued; `None` once stopped.
    ///
    /// ```
    /// # async fn post(url: &str, secret: &str, body: &str) -> Result<u16, Box<dyn std::error::Error>> {
    /// #     use hasdata_transport::Transport;
    /// #     let http = hasdata_transport::ReqwestTransport::builder().build()?;
    /// #     let request = http::Request::post(url).header("x-hook-secret", secret).body(bytes::Bytes::from(body.to_owned()))?;
    /// #     Ok(http.send(request).await?.status().as_u16())
    /// # }
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hasdata_jobs::webhooks::{ReceiverConfig, WebhookReceiver};
    /// # let config = ReceiverConfig::new("127.0.0.1:0".parse()?, "x-hook-secret".parse()?, "s3cret");
    /// # let mut receiver = WebhookReceiver::bind(config).await?;
    /// # post(&receiver.url(), "s3cret", r#"{"event": "scraper.job.finished", "jobId": 7, "jobStatus": "finished"}"#).await?;
    /// while let Some(received) = receiver.next().await {
    ///     println!("{} for job {:?}", received.event.event, received.event.job());
    /// #   break;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn next(&mut self) -> Option<ReceivedEvent> {
        self.events.recv().await
    }

    /// Stops accepting: every delivery from now on gets 503, so HasData keeps it for a retry.
    /// For a consumer that can no longer deliver events (its output is gone).
    ///
    /// ```
    /// # async fn post(url: &str, secret: &str, body: &str) -> Result<u16, Box<dyn std::error::Error>> {
    /// #     use hasdata_transport::Transport;
    /// #     let http = hasdata_transport::ReqwestTransport::builder().build()?;
    /// #     let request = http::Request::post(url).header("x-hook-secret", secret).body(bytes::Bytes::from(body.to_owned()))?;
    /// #     Ok(http.send(request).await?.status().as_u16())
    /// # }
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hasdata_jobs::webhooks::{ReceiverConfig, WebhookReceiver};
    /// # let config = ReceiverConfig::new("127.0.0.1:0".parse()?, "x-hook-secret".parse()?, "s3cret");
    /// # let mut receiver = WebhookReceiver::bind(config).await?;
    /// // The consumer's output is gone: let HasData keep the events for a retry.
    /// receiver.close();
    /// assert_eq!(post(&receiver.url(), "s3cret", r#"{"event": "scraper.job.finished", "jobId": 7, "jobStatus": "finished"}"#).await?, 503);
    /// # Ok(())
    /// # }
    /// ```
    pub fn close(&self) {
        self.shared.closed.store(true, Ordering::Relaxed);
    }

    /// What it has answered so far.
    ///
    /// ```
    /// # async fn post(url: &str, secret: &str, body: &str) -> Result<u16, Box<dyn std::error::Error>> {
    /// #     use hasdata_transport::Transport;
    /// #     let http = hasdata_transport::ReqwestTransport::builder().build()?;
    /// #     let request = http::Request::post(url).header("x-hook-secret", secret).body(bytes::Bytes::from(body.to_owned()))?;
    /// #     Ok(http.send(request).await?.status().as_u16())
    /// # }
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hasdata_jobs::webhooks::{ReceiverConfig, WebhookReceiver};
    /// # let config = ReceiverConfig::new("127.0.0.1:0".parse()?, "x-hook-secret".parse()?, "s3cret");
    /// # let mut receiver = WebhookReceiver::bind(config).await?;
    /// post(&receiver.url(), "s3cret", r#"{"event": "scraper.job.finished", "jobId": 7, "jobStatus": "finished"}"#).await?;
    /// post(&receiver.url(), "s3cret", r#"{"event": "scraper.job.finished", "jobId": 7, "jobStatus": "finished"}"#).await?; // HasData's retry of the same delivery
    /// let stats = receiver.stats();
    /// assert_eq!((stats.accepted, stats.duplicates), (1, 1));
    /// # Ok(())
    /// # }
    /// ```
    pub fn stats(&self) -> ReceiverStats {
        let c = &self.shared.counters;
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        ReceiverStats {
            accepted: load(&c.accepted),
            duplicates: load(&c.duplicates),
            unauthorized: load(&c.unauthorized),
            too_large: load(&c.too_large),
            malformed: load(&c.malformed),
            unrecognised: load(&c.unrecognised),
            queue_full: load(&c.queue_full),
            undelivered: load(&c.undelivered),
            timed_out: load(&c.timed_out),
            misrouted: load(&c.misrouted),
        }
    }

    /// The events as a stream. The server stops when the stream is dropped.
    ///
    /// ```
    /// # async fn post(url: &str, secret: &str, body: &str) -> Result<u16, Box<dyn std::error::Error>> {
    /// #     use hasdata_transport::Transport;
    /// #     let http = hasdata_transport::ReqwestTransport::builder().build()?;
    /// #     let request = http::Request::post(url).header("x-hook-secret", secret).body(bytes::Bytes::from(body.to_owned()))?;
    /// #     Ok(http.send(request).await?.status().as_u16())
    /// # }
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hasdata_jobs::webhooks::{ReceiverConfig, WebhookReceiver};
    /// # let config = ReceiverConfig::new("127.0.0.1:0".parse()?, "x-hook-secret".parse()?, "s3cret");
    /// # let mut receiver = WebhookReceiver::bind(config).await?;
    /// # post(&receiver.url(), "s3cret", r#"{"event": "scraper.job.finished", "jobId": 7, "jobStatus": "finished"}"#).await?;
    /// use hasdata_jobs::prelude::*;
    ///
    /// let url = receiver.url();
    /// let finished: Vec<JobId> = receiver
    ///     .into_stream()
    ///     .filter_map(|received| async move { received.event.job() })
    ///     .take(1)
    ///     .collect()
    ///     .await;
    /// assert_eq!(finished, [JobId::from(7)]);
    /// # drop(url);
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_stream(self) -> futures::stream::BoxStream<'static, ReceivedEvent> {
        futures::stream::unfold(self, |mut receiver| async move {
            receiver.next().await.map(|event| (event, receiver))
        })
        .boxed()
    }

    /// Calls `handler` with every event until the server stops.
    ///
    /// ```
    /// # async fn post(url: &str, secret: &str, body: &str) -> Result<u16, Box<dyn std::error::Error>> {
    /// #     use hasdata_transport::Transport;
    /// #     let http = hasdata_transport::ReqwestTransport::builder().build()?;
    /// #     let request = http::Request::post(url).header("x-hook-secret", secret).body(bytes::Bytes::from(body.to_owned()))?;
    /// #     Ok(http.send(request).await?.status().as_u16())
    /// # }
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use hasdata_jobs::webhooks::{ReceiverConfig, WebhookReceiver};
    /// # let config = ReceiverConfig::new("127.0.0.1:0".parse()?, "x-hook-secret".parse()?, "s3cret");
    /// # let mut receiver = WebhookReceiver::bind(config).await?;
    /// let url = receiver.url();
    /// let consumer = tokio::spawn(receiver.for_each(|received| async move {
    ///     println!("{}", received.event.event); // write it, store it
    /// }));
    /// assert_eq!(post(&url, "s3cret", r#"{"event": "scraper.job.finished", "jobId": 7, "jobStatus": "finished"}"#).await?, 200);
    /// consumer.abort(); // the server stops with it
    /// # Ok(())
    /// # }
    /// ```
    pub async fn for_each<F, Fut>(mut self, mut handler: F)
    where
        F: FnMut(ReceivedEvent) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        while let Some(event) = self.next().await {
            handler(event).await;
        }
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// The webhook receiver as a `tower::Service` (from [`WebhookReceiver::service`]): any
/// `http::Request<B>` with an `http_body::Body` in, the receiver's answer out, never an error.
/// Cheap to clone; every clone feeds the same receiver. With axum:
/// `Router::new().route_service("/hasdata-hook", service)`; with hyper:
/// `hyper_util::service::TowerToHyperService::new(service)`.
///
/// ```
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use hasdata_jobs::webhooks::{ReceiverConfig, WebhookReceiver};
///
/// let config = ReceiverConfig::new("0.0.0.0:0".parse()?, "x-hook-secret".parse()?, "s3cret");
/// let (hook, receiver) = WebhookReceiver::service(config);
/// let app: axum::Router = axum::Router::new().route_service("/hooks/hasdata", hook);
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let server = tokio::spawn(async move { axum::serve(listener, app).await });
/// # server.abort();
/// # drop(receiver);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct WebhookService {
    shared: Arc<Shared>,
}

impl fmt::Debug for WebhookService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookService").finish_non_exhaustive()
    }
}

impl<B> tower_service::Service<http::Request<B>> for WebhookService
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = http::Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = futures::future::BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        // Always ready: a full queue is answered 503, per request.
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let shared = self.shared.clone();
        Box::pin(async move { Ok(shared.handle(request).await) })
    }
}

#[cfg(test)]
mod tests {
    use super::{delivery_id, read_event};

    fn id(text: &str) -> String {
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        delivery_id(&value, text.as_bytes())
    }

    #[test]
    fn a_delivery_is_known_by_its_content_whatever_the_key_order_or_spacing() {
        let a = id(r#"{"event":"scraper.job.finished","jobId":7,"jobStatus":"finished"}"#);
        let b = id(r#"{ "jobStatus": "finished", "jobId": 7, "event": "scraper.job.finished" }"#);
        let c = id(r#"{"event":"scraper.job.finished","jobId":8,"jobStatus":"finished"}"#);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn integers_past_64_bits_keep_their_digits_in_the_identity_and_the_job_id() {
        let big = r#"{"event":"scraper.job.finished","jobId":18446744073709551616,"jobStatus":"finished"}"#;
        let next = r#"{"event":"scraper.job.finished","jobId":18446744073709551617,"jobStatus":"finished"}"#;
        assert_ne!(id(big), id(next), "two job ids, two deliveries");
        assert_eq!(
            id(big),
            id(
                r#"{ "jobStatus": "finished",  "jobId": 18446744073709551616, "event": "scraper.job.finished" }"#
            ),
            "still canonical"
        );
        let nested = |n: &str| {
            id(&format!(
                r#"{{"event":"x","jobId":1,"data":[{{"n":{n},"f":0.5}}]}}"#
            ))
        };
        assert_ne!(
            nested("-99999999999999999999"),
            nested("-99999999999999999998")
        );
        // A body with floats but no big integer has the identity it always had.
        let floats = r#"{"data":[1.5,-0,1e3,{"b":2.25,"a":null}],"jobId":1}"#;
        let value: serde_json::Value = serde_json::from_str(floats).unwrap();
        use sha2::{Digest, Sha256};
        let old: String = Sha256::digest(value.to_string().as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(id(floats), old);

        let (event, raw) = read_event(serde_json::from_str(big).unwrap(), big.as_bytes());
        assert_eq!(event.job_id.as_deref(), Some("18446744073709551616"));
        assert!(raw.is_none(), "a text id of digits: the documented shape");
    }

    #[test]
    fn lone_surrogates_are_read_as_replacement_characters_and_pairs_kept() {
        let body = br#"{"event":"scraper.data.scraped","jobId":5,"data":[{"t":"a\ud800b","u":"\udc00","v":"\ud83d\ude00","w":"q\"\\ud800"}]}"#;
        assert!(serde_json::from_slice::<serde_json::Value>(body).is_err());
        let repaired = super::without_lone_surrogates(body).expect("two to replace");
        let value: serde_json::Value = serde_json::from_slice(&repaired).unwrap();
        assert_eq!(value["data"][0]["t"], "a\u{fffd}b");
        assert_eq!(value["data"][0]["u"], "\u{fffd}");
        assert_eq!(
            value["data"][0]["v"], "\u{1f600}",
            "a pair is one character"
        );
        assert_eq!(
            value["data"][0]["w"], "q\"\\ud800",
            "an escaped backslash is no escape"
        );
        assert_eq!(
            super::without_lone_surrogates(br#"{"a":"\ud83d\ude00"}"#),
            None
        );
        assert_ne!(
            super::delivery_of_bytes(br#"["\ud800"]"#),
            super::delivery_of_bytes(br#"["\ud801"]"#)
        );
    }

    fn json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            ".{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(".{0,4}", inner, 0..4)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// The slow path (numbers read from the text) writes what `Value` writes whenever
        /// `Value` holds every number exactly: identities of such deliveries never change.
        #[test]
        fn the_canonical_text_is_values_own_for_any_json(value in json()) {
            let pretty = serde_json::to_string_pretty(&value).unwrap();
            // What the receiver reads (serde_json's float parsing is not exact: compare with
            // the value read back, as `delivery_id` gets it).
            let read: serde_json::Value = serde_json::from_str(&pretty).unwrap();
            proptest::prop_assert_eq!(
                super::canonical_text(pretty.as_bytes()),
                Some(read.to_string())
            );
        }
    }
}
