//! The two HTTP listeners: the API, and the storage host that serves download files.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use hasdata_transport::SharedTransport;
use http::{Method, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::SimConfig;
use crate::cache::{self, RenderCache};
use crate::checks;
use crate::faults::{Endpoint, FaultInjector, Injected};
use crate::files::{self, FileRequest, Format};
use crate::jobs::{JobStore, Phase, SimJob, planned_rows};
use crate::render::{self, Links};
use crate::scrapers::Scraper;
use crate::webhooks::{self, Hook, WebhookLog};

/// The largest submit body accepted.
const MAX_BODY: usize = 1024 * 1024;

pub(crate) type SimBody = UnsyncBoxBody<Bytes, io::Error>;
type SimResponse = http::Response<SimBody>;

/// Everything the handlers share.
pub(crate) struct Shared {
    pub config: SimConfig,
    pub store: JobStore,
    pub faults: FaultInjector,
    pub webhooks: WebhookLog,
    pub webhook_http: SharedTransport,
    pub delivery_slots: Semaphore,
    pub storage_base: String,
    pub file_secret: u64,
    pub submits: AtomicU64,
    /// Rendered pages and file chunks of ended jobs.
    pub cache: Arc<RenderCache>,
    /// Whether a submit got past the checks yet (shape `first-submit-429`).
    pub first_submit_seen: AtomicBool,
    pub key_seen_by_storage: AtomicU64,
    pub requests: Mutex<BTreeMap<&'static str, u64>>,
    pub tasks: Mutex<Vec<AbortHandle>>,
    /// Every job created, in order, with the `Idempotency-Key` its POST carried (the real API's
    /// use of the key is undocumented, so the simulator only records it).
    pub created: Mutex<Vec<(u64, Option<String>)>>,
}

impl Shared {
    /// Keeps a background task, so shutting down stops it.
    pub fn track(&self, task: AbortHandle) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        tasks.retain(|t| !t.is_finished());
        tasks.push(task);
    }

    fn count_request(&self, endpoint: Endpoint) {
        *self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(endpoint.name())
            .or_default() += 1;
    }
}

/// Serves `listener` with `handler` until the task is aborted.
pub(crate) fn serve<F, Fut>(listener: TcpListener, shared: Arc<Shared>, handler: F) -> AbortHandle
where
    F: Fn(Arc<Shared>, http::Request<Incoming>) -> Fut + Copy + Send + Sync + 'static,
    Fut: std::future::Future<Output = SimResponse> + Send + 'static,
{
    let accept = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                // Out of file descriptors, most likely: back off instead of spinning.
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            };
            let shared = shared.clone();
            let connection = tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let shared = shared.clone();
                    async move { Ok::<_, Infallible>(handler(shared, request).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
            drop(connection);
        }
    });
    accept.abort_handle()
}

fn full(bytes: impl Into<Bytes>) -> SimBody {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

fn json_response(status: StatusCode, value: &Value) -> SimResponse {
    let mut response = http::Response::new(full(value.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

fn bytes_response(status: StatusCode, bytes: Bytes) -> SimResponse {
    let mut response = http::Response::new(full(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

fn error_response(status: StatusCode, message: &str) -> SimResponse {
    json_response(status, &render::error(message))
}

/// A body error, raised once what came before it has had time to reach the client: hyper
/// drops buffered bytes when a body fails, and a reset "mid-response" must deliver the headers.
fn reset_after_flush() -> impl futures::Stream<Item = Result<Frame<Bytes>, io::Error>> {
    futures::stream::once(async {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "injected reset",
        ))
    })
}

/// A 429 with the configured `Retry-After`.
fn too_many_requests(shared: &Shared, message: &str) -> SimResponse {
    let mut response = error_response(StatusCode::TOO_MANY_REQUESTS, message);
    let retry_after = shared.faults.spec().retry_after_secs.to_string();
    if let Ok(value) = header::HeaderValue::from_str(&retry_after) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// Sends the headers and the first half of the body, then breaks the connection.
async fn broken(response: SimResponse) -> SimResponse {
    let (parts, body) = response.into_parts();
    let bytes = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let half = bytes.slice(..bytes.len() / 2);
    let frames =
        futures::stream::once(async move { Ok(Frame::data(half)) }).chain(reset_after_flush());
    http::Response::from_parts(parts, BodyExt::boxed_unsync(StreamBody::new(frames)))
}

enum Route {
    Submit(String),
    Status(u64),
    Results(u64),
    Stop(u64),
    Usage,
}

impl Route {
    fn endpoint(&self) -> Endpoint {
        match self {
            Route::Submit(_) => Endpoint::Submit,
            Route::Status(_) => Endpoint::Status,
            Route::Results(_) => Endpoint::Results,
            Route::Stop(_) => Endpoint::Stop,
            Route::Usage => Endpoint::Usage,
        }
    }
}

fn route(method: &Method, path: &str) -> Option<Route> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let id = |text: &str| text.parse::<u64>().ok();
    match (method, parts.as_slice()) {
        (&Method::POST, ["scrapers", slug, "jobs"]) => Some(Route::Submit((*slug).to_owned())),
        (&Method::GET, ["scrapers", "jobs", job]) => id(job).map(Route::Status),
        (&Method::GET, ["scrapers", "jobs", job, "results"]) => id(job).map(Route::Results),
        (&Method::DELETE, ["scrapers", "jobs", job]) => id(job).map(Route::Stop),
        (&Method::GET, ["user", "me", "usage"]) => Some(Route::Usage),
        _ => None,
    }
}

/// The API listener's handler.
pub(crate) async fn api(shared: Arc<Shared>, request: http::Request<Incoming>) -> SimResponse {
    let Some(route) = route(request.method(), request.uri().path()) else {
        return error_response(StatusCode::NOT_FOUND, "Not found");
    };
    let endpoint = route.endpoint();
    shared.count_request(endpoint);
    if let Some(delay) = shared.faults.latency(endpoint) {
        tokio::time::sleep(delay).await;
    }
    let injected = shared.faults.decide(endpoint);
    match injected {
        Injected::TooManyRequests => return too_many_requests(&shared, "Too many requests"),
        Injected::InternalError => {
            return error_response(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error");
        }
        Injected::Unavailable => {
            return error_response(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable");
        }
        Injected::None | Injected::Reset | Injected::LoseResponse => {}
    }
    let key_ok = request
        .headers()
        .get("x-api-key")
        .is_some_and(|v| v.as_bytes() == shared.config.api_key.as_bytes());
    if !key_ok {
        return error_response(StatusCode::UNAUTHORIZED, "Invalid API key");
    }
    let query = request.uri().query().unwrap_or("").to_owned();
    let response = match route {
        Route::Submit(slug) => {
            let key = request
                .headers()
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            submit(&shared, &slug, key, request.into_body()).await
        }
        Route::Status(id) => status(&shared, id),
        Route::Results(id) => results(&shared, id, &query),
        Route::Stop(id) => stop(&shared, id),
        Route::Usage => usage(&shared),
    };
    match injected {
        Injected::Reset | Injected::LoseResponse => broken(response).await,
        _ => response,
    }
}

async fn submit(
    shared: &Arc<Shared>,
    slug: &str,
    idempotency_key: Option<String>,
    body: Incoming,
) -> SimResponse {
    let Some(scraper) = Scraper::from_slug(slug) else {
        return error_response(StatusCode::NOT_FOUND, &format!("Scraper not found: {slug}"));
    };
    let bytes = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return error_response(StatusCode::PAYLOAD_TOO_LARGE, "Body too large"),
    };
    let body: Value = match serde_json::from_slice(&bytes) {
        Ok(value @ Value::Object(_)) => value,
        Ok(_) => {
            return error_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                "The body must be a JSON object",
            );
        }
        Err(e) => return error_response(StatusCode::BAD_REQUEST, &format!("Invalid JSON: {e}")),
    };
    let problems = checks::check(scraper, &body, shared.config.allow_http_webhooks);
    if !problems.is_empty() {
        return json_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            &checks::refusal(&problems),
        );
    }
    let now = Instant::now();
    if shared.store.credits_spent(now) >= shared.config.credits {
        return error_response(StatusCode::FORBIDDEN, "Not enough credits");
    }
    if shared.config.shape.first_submit_429
        && !shared.first_submit_seen.swap(true, Ordering::SeqCst)
    {
        // Shape `first-submit-429`: another client of the key holds every slot, once.
        shared.faults.count("submit:first-429");
        return too_many_requests(shared, "Concurrency limit reached");
    }
    let webhook = Hook::from_body(&body);
    let job = SimJob {
        id: 0,
        scraper,
        total_rows: planned_rows(scraper, &body),
        input: body,
        webhook,
        created: now,
        created_wall: time::OffsetDateTime::now_utc(),
        duration: shared.config.job_duration,
        stopped: None,
        credit_cap: None,
        ends_with_error: shared.config.shape.finished_with_error,
        export_shown: false,
        held: None,
    };
    let Some(id) =
        shared
            .store
            .insert_if_room(job, shared.config.max_running, shared.config.credits, now)
    else {
        shared.faults.count("submit:concurrency-cap");
        return error_response(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "Concurrency limit reached: at most {} running jobs",
                shared.config.max_running
            ),
        );
    };
    shared.submits.fetch_add(1, Ordering::Relaxed);
    shared
        .created
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((id, idempotency_key));
    let Some(job) = shared.store.get(id) else {
        return error_response(StatusCode::INTERNAL_SERVER_ERROR, "job vanished");
    };
    if job.webhook.is_some() {
        let busy = shared.webhooks.busy();
        let task = tokio::spawn(webhooks::drive(shared.clone(), id, busy));
        shared.track(task.abort_handle());
    }
    json_response(
        StatusCode::OK,
        &render::submit_record(&job, &shared.config.shape),
    )
}

fn links(shared: &Shared, job: &SimJob, rows: u64) -> Links {
    let link = |format| {
        files::link(
            &shared.storage_base,
            shared.file_secret,
            job.id,
            rows,
            shared.config.download_ttl,
            format,
        )
    };
    Links {
        csv: link(Format::Csv),
        json: (!shared.config.shape.no_json_link).then(|| link(Format::Json)),
        xlsx: link(Format::Xlsx),
    }
}

fn status(shared: &Shared, id: u64) -> SimResponse {
    let Some(job) = shared.store.get(id) else {
        return error_response(StatusCode::NOT_FOUND, "Job not found");
    };
    let mut snapshot = job.snapshot(Instant::now());
    if snapshot.phase == Phase::Finished
        && shared.config.shape.exporting_data
        && shared.store.first_complete_read(id)
    {
        // Shape `exporting-data`: rows complete, files not written yet, once per job.
        snapshot.phase = Phase::ExportingData;
        snapshot.ended_at = None;
    }
    let links = (snapshot.phase == Phase::Finished).then(|| links(shared, &job, snapshot.rows));
    // Fault `count-short`: the finished job's count says fewer rows than it serves.
    let short = shared.faults.spec().count_short;
    if short > 0 && snapshot.phase == Phase::Finished {
        snapshot.rows = snapshot.rows.saturating_sub(short);
    }
    json_response(
        StatusCode::OK,
        &render::status(&job, snapshot, links, &shared.config.shape),
    )
}

fn query_number(query: &str, name: &str) -> Result<Option<u64>, String> {
    for pair in query.split('&') {
        if let Some((key, value)) = pair.split_once('=')
            && key == name
        {
            // Any whole number is taken: one too large for u64 is just far past the last
            // page, a negative one is below the first (both clamped by the caller).
            let digits = value.strip_prefix('-').unwrap_or(value);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                if value.starts_with('-') {
                    return Ok(Some(0));
                }
                return Ok(Some(value.parse::<u64>().unwrap_or(u64::MAX)));
            }
            // Empty or not a number: the default, as the results documents no 4xx for it.
            return Ok(None);
        }
    }
    Ok(None)
}

fn results(shared: &Shared, id: u64, query: &str) -> SimResponse {
    let Some(job) = shared.store.get(id) else {
        return error_response(StatusCode::NOT_FOUND, "Job not found");
    };
    let (page, limit) = match (query_number(query, "page"), query_number(query, "limit")) {
        (Ok(page), Ok(limit)) => (page.unwrap_or(1).max(1), limit.unwrap_or(100).clamp(1, 100)),
        (Err(e), _) | (_, Err(e)) => return error_response(StatusCode::UNPROCESSABLE_ENTITY, &e),
    };
    let ignore = shared
        .faults
        .spec()
        .endpoints
        .get(&Endpoint::Results)
        .map_or(0.0, |f| f.ignore_page);
    let page = if ignore > 0.0 && shared.faults.chance(ignore, "results:ignore-page") {
        1
    } else {
        page
    };
    let now = Instant::now();
    let snapshot = job.snapshot(now);
    // `meta.total` lags right after a job finishes, as seen live.
    let lag = shared.faults.spec().total_lag;
    let reported_total = match snapshot.ended_at {
        Some(ended)
            if now.saturating_duration_since(ended) < lag && snapshot.phase == Phase::Finished =>
        {
            job.snapshot(ended.checked_sub(lag / 2).unwrap_or(ended))
                .rows
        }
        _ => snapshot.rows,
    };
    let key = cache::Key::Page {
        job: id,
        page,
        limit,
        visible: snapshot.rows,
        total: reported_total,
    };
    // An ended job's pages never change: rendered once, then served from the cache.
    let bytes = shared
        .cache
        .get_or_render(key, snapshot.phase.is_terminal(), || {
            render::results_page(
                &job,
                snapshot.rows,
                reported_total,
                page,
                limit,
                &shared.config.shape,
            )
        });
    bytes_response(StatusCode::OK, bytes)
}

fn stop(shared: &Shared, id: u64) -> SimResponse {
    let now = Instant::now();
    let Some(job) = shared.store.stop(id, now) else {
        return error_response(StatusCode::NOT_FOUND, "Job not found");
    };
    let snapshot = job.snapshot(now);
    let links = (snapshot.phase == Phase::Finished).then(|| links(shared, &job, snapshot.rows));
    json_response(
        StatusCode::OK,
        &render::status(&job, snapshot, links, &shared.config.shape),
    )
}

fn usage(shared: &Shared) -> SimResponse {
    let used = shared.store.credits_spent(Instant::now());
    let total = shared.config.credits;
    json_response(
        StatusCode::OK,
        &json!({
            "status": "ok",
            "data": {
                "totalCredits": total,
                "availableCredits": total.saturating_sub(used),
                "usedCredits": used,
                "jobs": shared.store.len(),
            }
        }),
    )
}

/// The storage listener's handler: download files, no API key.
pub(crate) async fn storage(shared: Arc<Shared>, request: http::Request<Incoming>) -> SimResponse {
    shared.count_request(Endpoint::Files);
    if request.headers().contains_key("x-api-key") {
        shared.key_seen_by_storage.fetch_add(1, Ordering::Relaxed);
    }
    if request.method() != Method::GET {
        return error_response(StatusCode::METHOD_NOT_ALLOWED, "Only GET");
    }
    if let Some(delay) = shared.faults.latency(Endpoint::Files) {
        tokio::time::sleep(delay).await;
    }
    let injected = shared.faults.decide(Endpoint::Files);
    match injected {
        Injected::TooManyRequests => {
            return error_response(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
        }
        Injected::InternalError => {
            return error_response(StatusCode::INTERNAL_SERVER_ERROR, "Internal error");
        }
        Injected::Unavailable => {
            return error_response(StatusCode::SERVICE_UNAVAILABLE, "Service unavailable");
        }
        _ => {}
    }
    let (job, rows, format) = match files::check(request.uri().path(), shared.file_secret) {
        FileRequest::Valid { job, rows, format } => (job, rows, format),
        FileRequest::Expired => {
            return error_response(StatusCode::FORBIDDEN, "Request has expired");
        }
        FileRequest::Invalid => return error_response(StatusCode::NOT_FOUND, "File not found"),
    };
    if format == Format::Xlsx {
        return error_response(StatusCode::NOT_FOUND, "xlsx is not simulated");
    }
    let Some(job) = shared.store.get(job) else {
        return error_response(StatusCode::NOT_FOUND, "File not found");
    };
    let content_type = match format {
        Format::Csv => "text/csv",
        _ => "application/json",
    };
    let chunks = files::stream(job, rows, format, shared.cache.clone())
        .map(|bytes| Ok::<_, io::Error>(Frame::data(bytes)));
    let body = if injected == Injected::Reset {
        // A few chunks, then the connection breaks.
        BodyExt::boxed_unsync(StreamBody::new(chunks.take(2).chain(reset_after_flush())))
    } else {
        BodyExt::boxed_unsync(StreamBody::new(chunks))
    };
    let mut response = http::Response::new(body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response
}

/// Binds a listener on 127.0.0.1.
pub(crate) async fn bind(port: u16) -> io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}
