//! The API key reaches the API's origin and nothing else, and appears in no log, Debug,
//! Display or error.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hasdata_transport::test_util::CaptureTransport;
use hasdata_transport::{
    ApiKey, ApiKeyTransport, RetryTransport, SharedTransport, Transport, USER_AGENT,
};

use crate::server::{Action, TestServer};
use crate::{fast_retries, request, reqwest_transport};

const KEY: &str = "hd-live-3f9a2c7e5b1d4e8f";

fn keyed(api_base: &str) -> ApiKeyTransport {
    keyed_with_timeout(api_base, Duration::from_secs(5))
}

fn keyed_with_timeout(api_base: &str, timeout: Duration) -> ApiKeyTransport {
    ApiKeyTransport::new(
        reqwest_transport(timeout),
        ApiKey::new(KEY).unwrap(),
        api_base,
    )
    .unwrap()
}

#[tokio::test]
async fn the_key_goes_to_the_api_origin_only() {
    let api = TestServer::start(vec![], Action::ok("{}")).await;
    let storage = TestServer::start(vec![], Action::ok("[]")).await;
    let transport = keyed(&api.url(""));

    transport
        .send(request("GET", &api.url("/scrapers/jobs/1")))
        .await
        .unwrap();
    let mut download = request("GET", &storage.url("/file/data.json"));
    download
        .headers_mut()
        .insert("x-api-key", KEY.parse().unwrap());
    transport.send(download).await.unwrap();

    let api_hit = &api.hits()[0];
    assert_eq!(api_hit.headers.get("x-api-key").unwrap(), KEY);
    assert_eq!(api_hit.headers.get("user-agent").unwrap(), USER_AGENT);
    let storage_hit = &storage.hits()[0];
    assert!(
        storage_hit.headers.get("x-api-key").is_none(),
        "the key reached another port"
    );
}

/// The transport reads each origin's URL once and the rest of a request's URL relative to it
/// (src/urls.rs): requests to two origins, alternated through one stack, each reach their own
/// server, and the key only the API's. A path that names another host (`//host:port/`) is
/// still a path on the API's server: were it read as a scheme-relative reference, the key
/// checked for the API's origin would go to the storage server.
#[tokio::test]
async fn alternated_origins_and_paths_that_name_a_host_reach_their_own_server() {
    let api = TestServer::start(vec![], Action::ok("{}")).await;
    let storage = TestServer::start(vec![], Action::ok("[]")).await;
    let transport = keyed(&api.url(""));
    let elsewhere = format!("//{}/file/data.json", storage.addr);
    for round in 0..3 {
        transport
            .send(request(
                "GET",
                &api.url(&format!("/scrapers/jobs/{round}/results?page=1")),
            ))
            .await
            .unwrap();
        transport
            .send(request("GET", &storage.url("/file/data.json")))
            .await
            .unwrap();
        transport
            .send(request("GET", &api.url(&elsewhere)))
            .await
            .unwrap();
    }
    let api_hits = api.hits();
    assert_eq!(api_hits.len(), 6);
    assert!(
        api_hits
            .iter()
            .all(|hit| hit.headers.get("x-api-key").is_some_and(|key| key == KEY))
    );
    assert_eq!(
        api_hits.iter().filter(|hit| hit.path == elsewhere).count(),
        3,
        "{api_hits:?}"
    );
    let storage_hits = storage.hits();
    assert_eq!(storage_hits.len(), 3, "a request reached the wrong server");
    assert!(
        storage_hits
            .iter()
            .all(|hit| hit.headers.get("x-api-key").is_none()),
        "the key reached the storage server"
    );
}

/// Each builder setting changes only itself: the user agent set first is still the one sent
/// after every other setter ran.
#[tokio::test]
async fn a_custom_user_agent_survives_every_other_setting() {
    let api = TestServer::start(vec![], Action::ok("{}")).await;
    let transport = hasdata_transport::ReqwestTransport::builder()
        .user_agent("my-app/2.0")
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .read_timeout(Duration::from_secs(30))
        .max_idle_per_host(1)
        .build()
        .unwrap();
    transport
        .send(request("GET", &api.url("/scrapers/jobs/1")))
        .await
        .unwrap();
    assert_eq!(
        api.hits()[0].headers.get("user-agent").unwrap(),
        "my-app/2.0"
    );
}

#[tokio::test]
async fn a_redirect_to_another_origin_is_not_followed() {
    let storage = TestServer::start(vec![], Action::ok("[]")).await;
    let api = TestServer::start(
        vec![Action::Respond(
            302,
            vec![("location", storage.url("/file/data.json"))],
            String::new(),
        )],
        Action::ok("{}"),
    )
    .await;
    let response = keyed(&api.url(""))
        .send(request("GET", &api.url("/scrapers/jobs/1")))
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert_eq!(
        storage.hit_count(),
        0,
        "the redirect carried the key to another origin"
    );
}

#[tokio::test]
async fn a_redirect_within_the_origin_is_followed() {
    let api = TestServer::start(
        vec![Action::Respond(
            307,
            vec![("location", "/scrapers/jobs/2".into())],
            String::new(),
        )],
        Action::ok("{\"id\": 2}"),
    )
    .await;
    let response = keyed(&api.url(""))
        .send(request("GET", &api.url("/scrapers/jobs/1")))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let hits = api.hits();
    assert_eq!(hits[1].path, "/scrapers/jobs/2");
    assert_eq!(hits[1].headers.get("x-api-key").unwrap(), KEY);
}

/// Collects everything tracing writes.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_key_appears_in_no_log_debug_display_or_error() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let api = TestServer::start(
        vec![Action::status(503), Action::Reset, Action::Hang],
        Action::Respond(401, vec![], "{\"message\": \"Invalid API key\"}".into()),
    )
    .await;
    let keyed: SharedTransport =
        Arc::new(keyed_with_timeout(&api.url(""), Duration::from_millis(300)));
    let retrying = RetryTransport::new(keyed.clone(), fast_retries(2));
    let mut seen = Vec::new();
    for _ in 0..3 {
        match retrying
            .send(request("GET", &api.url("/scrapers/jobs/1")))
            .await
        {
            Ok(response) => seen.push(format!("{response:?}")),
            Err(error) => seen.push(format!("{error} {error:?}")),
        }
    }
    let post = retrying
        .send(request("POST", &api.url("/scrapers/contacts/jobs")))
        .await;
    seen.push(format!("{post:?}"));
    seen.push(format!("{retrying:?}"));
    seen.push(format!("{:?}", ApiKey::new(KEY).unwrap()));

    // The request as the transport below the key layer sees it: its Debug hides the value.
    let capture = Arc::new(CaptureTransport::new());
    let over_capture =
        ApiKeyTransport::new(capture.clone(), ApiKey::new(KEY).unwrap(), &api.url("")).unwrap();
    over_capture
        .send(request("GET", &api.url("/scrapers/jobs/1")))
        .await
        .unwrap();
    let sent = capture.expect_request();
    assert_eq!(
        sent.headers().get("x-api-key").unwrap(),
        KEY,
        "the key is sent"
    );
    seen.push(format!("{sent:?}"));

    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("retrying"),
        "the retry events were captured: {logged}"
    );
    for text in seen.iter().chain(std::iter::once(&logged)) {
        assert!(!text.contains(KEY), "the key leaked into: {text}");
    }
}
