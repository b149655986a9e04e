//! The `webhook_in_axum` example's app, served for real on loopback by axum: a delivery with
//! the secret posted to the app's hook path reaches the receiver once; one without it is
//! refused; the app's other routes still answer, and its unknown paths are axum's 404.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hasdata_model::{JobId, WebhookEventName};
use hasdata_transport::{ReqwestTransport, SharedTransport, Transport};
use serde_json::json;

#[allow(dead_code)]
#[path = "../../examples/webhook_in_axum.rs"]
mod example;

const SECRET: &str = "axum-s3cret";

async fn send(http: &SharedTransport, request: http::Request<Bytes>) -> (u16, Bytes) {
    let response = http.send(request).await.unwrap();
    let status = response.status().as_u16();
    (
        status,
        response.into_body().bytes_limited(1 << 20).await.unwrap(),
    )
}

#[tokio::test]
async fn a_delivery_to_the_axum_apps_hook_path_reaches_the_receiver_and_the_app_still_routes() {
    let (hook, mut receiver) = example::receiver(SECRET);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, example::app(hook)).await });
    let http: SharedTransport = Arc::new(
        ReqwestTransport::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
    );
    let hook_url = format!("{url}{}", example::HOOK_PATH);
    let delivery = || {
        let body = json!({"event": "scraper.job.finished", "jobId": 41, "jobStatus": "finished"});
        http::Request::post(&hook_url)
            .header("content-type", "application/json")
            .header(example::SECRET_HEADER, SECRET)
            .body(Bytes::from(body.to_string()))
            .unwrap()
    };

    assert_eq!(send(&http, delivery()).await.0, 200);
    let received = tokio::time::timeout(Duration::from_secs(10), receiver.next())
        .await
        .expect("the delivery is queued at once")
        .expect("the receiver is open");
    assert_eq!(received.event.event, WebhookEventName::JobFinished);
    assert_eq!(received.event.job(), Some(JobId::from(41)));
    // HasData's retry of the same delivery is acknowledged, not queued again.
    assert_eq!(send(&http, delivery()).await.0, 200);

    // Without the secret, or with another: 401, nothing queued.
    let unsigned = http::Request::post(&hook_url)
        .body(Bytes::from_static(b"{}"))
        .unwrap();
    assert_eq!(send(&http, unsigned).await.0, 401);
    let forged = http::Request::post(&hook_url)
        .header(example::SECRET_HEADER, "guess")
        .body(Bytes::from_static(b"{}"))
        .unwrap();
    assert_eq!(send(&http, forged).await.0, 401);
    // A GET at the hook path is the receiver's 405; the app's own route and 404 are axum's.
    let get = |path: &str| {
        http::Request::get(format!("{url}{path}"))
            .body(Bytes::new())
            .unwrap()
    };
    assert_eq!(send(&http, get(example::HOOK_PATH)).await.0, 405);
    assert_eq!(
        send(&http, get("/health")).await,
        (200, Bytes::from_static(b"ok"))
    );
    assert_eq!(send(&http, get("/hooks")).await.0, 404);

    let stats = receiver.stats();
    assert_eq!(
        (
            stats.accepted,
            stats.duplicates,
            stats.unauthorized,
            stats.misrouted
        ),
        (1, 1, 2, 1)
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(50), receiver.next())
            .await
            .is_err(),
        "nothing else was queued"
    );
    server.abort();
}
