//! The `--shape` flags: each one changes exactly the answers it names, and running out of
//! credits stops running jobs.

use std::time::Duration;

use hasdata_sim::{Hold, Shape, SimConfig};
use reqwest::Method;
use serde_json::{Value, json};

use crate::receiver::{Answer, Receiver};
use crate::{Api, contacts_body, until};

async fn shaped(shape: &str) -> Api {
    Api::start(
        SimConfig {
            job_duration: Duration::ZERO,
            allow_http_webhooks: true,
            webhook_retry_delay: Duration::from_millis(5),
            ..SimConfig::default()
        }
        .with_shape(shape.parse().unwrap()),
    )
    .await
}

fn is_millis_timestamp(text: &str) -> bool {
    // 2025-05-02T17:26:28.603+03:00
    text.len() == 29 && text.as_bytes()[19] == b'.' && text.ends_with("+03:00")
}

fn is_seconds_timestamp(text: &str) -> bool {
    text.len() == 25 && text.ends_with("+03:00") && !text.contains('.')
}

#[tokio::test]
async fn the_seed_shape_is_the_api_pages() {
    let api = shaped("seed").await;
    let id = api.submit_ok("contacts", contacts_body(2)).await;
    let status = api.status(id).await;
    assert_eq!(status["status"], "finished");
    assert_eq!(status["dataRowsCount"], "2", "a string once populated");
    assert!(status["data"]["json"].is_string());
    assert!(is_seconds_timestamp(status["createdAt"].as_str().unwrap()));
    let wrapper = &api.page(id, 1, 100).await["data"][0];
    assert_eq!(wrapper["jobId"], id);
    assert!(wrapper["dataId"].is_string());
}

#[tokio::test]
async fn the_docs_shape_drops_wrapper_ids_and_writes_milliseconds_and_numbers() {
    let api = shaped("docs").await;
    let id = api.submit_ok("contacts", contacts_body(2)).await;
    let status = api.status(id).await;
    assert_eq!(status["dataRowsCount"], 2, "a number");
    assert_eq!(status["creditsSpent"], 10);
    assert!(
        is_millis_timestamp(status["createdAt"].as_str().unwrap()),
        "{status}"
    );
    let page = api.page(id, 1, 100).await;
    let wrapper = page["data"][0].as_object().unwrap();
    let mut keys: Vec<&str> = wrapper.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["createdAt", "data", "id", "updatedAt"]);
    assert!(is_millis_timestamp(wrapper["createdAt"].as_str().unwrap()));
    assert_eq!(api.all_rows(id).await, api.sim.expected_rows(id).unwrap());
}

#[tokio::test]
async fn the_docs_shape_sends_webhook_job_ids_as_text() {
    let receiver = Receiver::start(Answer::Ok).await;
    let api = shaped("text-webhook-id").await;
    let hook = json!({"url": receiver.url(), "events": ["scraper.job.finished"]});
    let id = api
        .submit_ok(
            "contacts",
            json!({"urls": ["https://a.example"], "webhook": hook}),
        )
        .await;
    until("the finished event", || async {
        (api.sim.webhooks_in_flight() == 0).then_some(())
    })
    .await;
    let calls = receiver.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].body["jobId"], json!(id.to_string()));
}

#[tokio::test]
async fn exporting_data_comes_once_before_finished_without_links() {
    let api = shaped("exporting-data").await;
    let id = api.submit_ok("contacts", contacts_body(3)).await;
    let first = api.status(id).await;
    assert_eq!(first["status"], "exporting_data");
    assert_eq!(first["dataRowsCount"], "3", "rows complete");
    assert!(first.get("data").is_none(), "no links while exporting");
    assert_eq!(api.all_rows(id).await.len(), 3, "the pages are complete");
    let second = api.status(id).await;
    assert_eq!(second["status"], "finished");
    assert!(second["data"]["json"].is_string());
}

#[tokio::test]
async fn null_counts_until_populated() {
    let api = shaped("null-counts").await;
    api.sim.hold(Hold::Pending);
    let (status, record) = api.submit("contacts", contacts_body(2)).await;
    assert_eq!(status, 200);
    assert_eq!(
        (&record["creditsSpent"], &record["dataRowsCount"]),
        (&Value::Null, &Value::Null)
    );
    let id = record["id"].as_u64().unwrap();
    let pending = api.status(id).await;
    assert_eq!(pending["dataRowsCount"], Value::Null);
    api.sim.release();
    assert_eq!(api.status(id).await["dataRowsCount"], "2");
}

#[tokio::test]
async fn the_first_submit_gets_429_and_creates_nothing() {
    let api = Api::start(
        SimConfig {
            job_duration: Duration::ZERO,
            faults: "retry-after=3".parse().unwrap(),
            ..SimConfig::default()
        }
        .with_shape(Shape::edge()),
    )
    .await;
    let response = api
        .http
        .post(api.url("/scrapers/contacts/jobs"))
        .header("x-api-key", "demo")
        .json(&contacts_body(1))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "3");
    assert_eq!(api.sim.submits(), 0);
    assert_eq!(api.sim.fault_counts().get("submit:first-429"), Some(&1));
    // A refused body does not use up the 429: it comes before the job would be created.
    let id = api.submit_ok("contacts", contacts_body(1)).await;
    assert_eq!(api.sim.submits(), 1);
    api.status(id).await; // exporting_data
    let done = api.status(id).await;
    assert_eq!(done["status"], "finished");
    let links = done["data"].as_object().unwrap();
    assert!(
        links.contains_key("csv") && !links.contains_key("json"),
        "{done}"
    );
}

#[tokio::test]
async fn finished_with_error_keeps_its_rows_and_says_why() {
    let api = shaped("finished-with-error").await;
    let id = api.submit_ok("contacts", contacts_body(2)).await;
    let status = api.status(id).await;
    assert_eq!(status["status"], "finished_with_error");
    assert_eq!(status["stopReason"], "data_limit_exceeded");
    assert!(status.get("data").is_none());
    assert_eq!(api.all_rows(id).await.len(), 2);
}

#[tokio::test]
async fn running_out_of_credits_stops_running_jobs_and_refuses_submits() {
    // google-serp costs 2 credits a row: 100 credits pay for 50 rows.
    let api = Api::start(SimConfig {
        job_duration: Duration::ZERO,
        credits: 100,
        ..SimConfig::default()
    })
    .await;
    let first = api
        .submit_ok("google-serp", json!({"keywords": ["a"], "limit": 30}))
        .await;
    let second = api
        .submit_ok("google-serp", json!({"keywords": ["b"], "limit": 30}))
        .await;
    assert_eq!(api.status(first).await["status"], "finished");
    let stopped = api.status(second).await;
    assert_eq!(stopped["status"], "stopped");
    assert_eq!(stopped["stopReason"], "not_enough_credits");
    assert_eq!(stopped["dataRowsCount"], "20");
    assert_eq!(api.all_rows(second).await.len(), 20, "rows so far are kept");
    let (status, body) = api.submit("google-serp", json!({"keywords": ["c"]})).await;
    assert_eq!(status, 403, "{body}");
    let (_, usage) = api.call(Method::GET, "/user/me/usage", None).await;
    assert_eq!(usage["data"]["availableCredits"], 0);
}

#[tokio::test]
async fn every_profile_serves_the_same_rows() {
    for (name, shape) in Shape::profiles() {
        let api = Api::start(
            SimConfig {
                job_duration: Duration::ZERO,
                faults: "retry-after=0".parse().unwrap(),
                ..SimConfig::default()
            }
            .with_shape(shape),
        )
        .await;
        let body = json!({"keywords": ["coffee"], "limit": 250});
        let (mut status, mut record) = api.submit("google-serp", body.clone()).await;
        if status == 429 {
            (status, record) = api.submit("google-serp", body).await;
        }
        assert_eq!(status, 200, "{name}: {record}");
        let id = record["id"].as_u64().unwrap();
        assert_eq!(
            api.all_rows(id).await,
            api.sim.expected_rows(id).unwrap(),
            "{name}"
        );
    }
}
