//! The webhook receiver mounted in an axum app, at a path of the app's choosing, beside the
//! app's own routes.
//!
//! `WebhookReceiver::service` gives the receiver's handling (the shared secret checked in
//! constant time, the size limit, deduplication, the bounded queue) as a `tower::Service`;
//! `Router::route_service` mounts it. The app's server serves it: there is no second port.
//! Events come out of the `WebhookReceiver` as they would from the standalone server.
//!
//! Runs against the in-process simulator, which calls `http://` webhook URLs on loopback:
//! `cargo run -p hasdata-jobs --example webhook_in_axum`. HasData itself calls only `https://`
//! URLs it can reach: put the app behind TLS at a public address and give that URL instead.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use hasdata_jobs::prelude::*;
use hasdata_jobs::webhooks::{ReceiverConfig, WebhookReceiver, WebhookService};
use http::HeaderName;

/// Where the app takes HasData's calls.
pub const HOOK_PATH: &str = "/hooks/hasdata";

/// The header the shared secret travels in (pinned in the job's `webhook.headers`).
pub const SECRET_HEADER: &str = "x-hook-secret";

/// The app: its own routes, and the webhook receiver at [`HOOK_PATH`].
pub fn app(hook: WebhookService) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route_service(HOOK_PATH, hook)
}

/// The receiver's half to mount, and the half its events come out of. The address in the
/// config is unused when mounted: the app's server listens.
pub fn receiver(secret: &str) -> (WebhookService, WebhookReceiver) {
    WebhookReceiver::service(ReceiverConfig::new(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        HeaderName::from_static(SECRET_HEADER),
        secret,
    ))
}

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    // A real app reads its secret from its configuration; any unguessable string will do.
    let secret = format!("example-{}", std::process::id());
    let (hook, mut events) = receiver(&secret);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let app_url = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, app(hook)).await });

    let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
        job_duration: Duration::from_millis(200),
        allow_http_webhooks: true,
        ..Default::default()
    })
    .await?;
    let client = Client::builder()
        .api_key(sim.api_key())
        .base_url(sim.base_url())
        .allow_http_webhooks(true)
        .build()?;
    let hook = Webhook::new(format!("{app_url}{HOOK_PATH}"))
        .event(WebhookEventName::JobStarted)
        .event(WebhookEventName::JobFinished)
        .header(SECRET_HEADER, &secret);
    let job = client
        .submit(
            &GoogleSerpBody::new()
                .keywords(["coffee"])
                .limit(5)
                .webhook(hook),
        )
        .await?;
    println!(
        "submitted job {}; its webhooks go to {app_url}{HOOK_PATH}",
        job.id()
    );

    // The events, through the app's server, until the job's end.
    loop {
        let received = tokio::time::timeout(Duration::from_secs(60), events.next())
            .await
            .map_err(|_| "no webhook call within a minute")?
            .ok_or("the receiver stopped")?;
        let event = &received.event;
        println!("{} for job {:?}", event.event, event.job());
        if event.job() == Some(job.id()) && event.event == WebhookEventName::JobFinished {
            break;
        }
    }
    server.abort();
    Ok(())
}
