//! Submit, status over time, stop, the concurrency cap, errors.

use std::time::Duration;

use hasdata_sim::{Hold, SimConfig};
use reqwest::Method;
use serde_json::{Value, json};

use crate::{Api, contacts_body, count, until};

#[tokio::test]
async fn the_submit_record_has_the_documented_shape() {
    let api = Api::instant().await;
    let (status, record) = api.submit("contacts", contacts_body(2)).await;
    assert_eq!(status, 200);
    assert!(record["id"].is_u64(), "the handle is an integer: {record}");
    assert_eq!(record["status"], "pending");
    assert_eq!(record["creditsSpent"], 0);
    assert_eq!(record["dataRowsCount"], 0);
    assert_eq!(record["scraper"]["slug"], "contacts");
    assert!(record["scraperId"].is_u64());
    assert_eq!(record["input"], contacts_body(2));
    assert!(
        record["columns"]
            .as_array()
            .unwrap()
            .contains(&json!("emails"))
    );
    for field in ["createdAt", "updatedAt"] {
        let stamp = record[field].as_str().unwrap();
        assert!(stamp.ends_with("+03:00"), "{field}: {stamp}");
    }
}

#[tokio::test]
async fn status_goes_pending_then_in_progress_with_growing_rows_then_finished() {
    // The hold pins each phase until the test has seen it: no timing window.
    const JOB_DURATION: Duration = Duration::from_millis(600);
    let api = Api::start(SimConfig {
        job_duration: JOB_DURATION,
        ..SimConfig::default()
    })
    .await;
    api.sim.hold(Hold::Pending);
    let id = api
        .submit_ok(
            "crawler",
            json!({"urls": ["https://docs.example.com"], "limit": 1000}),
        )
        .await;
    // The job's clock started before this instant, so its time is up by `ends_by`.
    let ends_by = tokio::time::Instant::now() + JOB_DURATION;
    let mut seen = Vec::new();
    let mut rows = Vec::new();
    let mut record = |status: &Value| {
        let name = status["status"].as_str().unwrap().to_owned();
        rows.push(count(&status["dataRowsCount"]));
        if seen.last() != Some(&name) {
            seen.push(name);
        }
    };
    let pending = api.status(id).await;
    assert_eq!(pending["status"], "pending");
    record(&pending);
    api.sim.hold(Hold::InProgress);
    let api_ref = &api;
    let last = until("rows while in progress", || async move {
        let status = api_ref.status(id).await;
        assert!(status.get("data").is_none(), "links only once finished");
        (count(&status["dataRowsCount"]) > 0).then_some(status)
    })
    .await;
    assert_eq!(last["status"], "in_progress");
    record(&last);
    // Held past its end: all rows but the last.
    let last = until("the held job at its last row", || async move {
        let status = api_ref.status(id).await;
        (count(&status["dataRowsCount"]) == 999).then_some(status)
    })
    .await;
    assert_eq!(last["status"], "in_progress", "a held job never finishes");
    record(&last);
    // The last row but one shows a little before the job's time is up (its rows grow with
    // its clock), so wait out the rest of its run: held past its end, then released.
    tokio::time::sleep_until(ends_by).await;
    let still = api.status(id).await;
    assert_eq!(still["status"], "in_progress", "held past its end");
    record(&still);
    api.sim.release();
    let status = api.status(id).await;
    record(&status);
    assert_eq!(status["status"], "finished", "released past its end");
    assert_eq!(
        status["dataRowsCount"], "1000",
        "populated counts are strings"
    );
    assert_eq!(
        status["creditsSpent"], "10000",
        "crawler costs 10 credits a row"
    );
    for format in ["csv", "json", "xlsx"] {
        assert!(status["data"][format].as_str().is_some(), "{format} link");
    }
    assert_eq!(seen, ["pending", "in_progress", "finished"]);
    assert!(
        rows.windows(2).all(|w| w[0] <= w[1]),
        "rows never shrink: {rows:?}"
    );
}

#[tokio::test]
async fn credits_per_row_follow_the_published_prices() {
    let api = Api::instant().await;
    for (slug, body, rows, per_row) in [
        ("contacts", contacts_body(3), 3, 5),
        (
            "google-serp",
            json!({"keywords": ["coffee"], "limit": 4}),
            4,
            2,
        ),
        ("crawler", json!({"urls": ["https://a.example"]}), 10, 10),
        (
            "zillow",
            json!({"type": "forSale", "keyword": "Austin, TX", "limit": 0}),
            10,
            5,
        ),
    ] {
        let id = api.submit_ok(slug, body).await;
        let status = api.status(id).await;
        assert_eq!(count(&status["dataRowsCount"]), rows, "{slug}");
        assert_eq!(count(&status["creditsSpent"]), rows * per_row, "{slug}");
    }
}

#[tokio::test]
async fn stop_keeps_the_rows_and_is_terminal() {
    // Finished at once by its clock, but held mid-run: the stop always lands on a running job,
    // and once released the job is past its original end.
    let api = Api::instant().await;
    api.sim.hold(Hold::InProgress);
    let id = api
        .submit_ok(
            "google-serp",
            json!({"keywords": ["coffee"], "limit": 1000}),
        )
        .await;
    let rows_before = count(&api.status(id).await["dataRowsCount"]);
    assert_eq!(rows_before, 999);
    let (code, stopped) = api
        .call(Method::DELETE, &format!("/scrapers/jobs/{id}"), None)
        .await;
    assert_eq!(code, 200);
    assert_eq!(stopped["status"], "stopped");
    let kept = count(&stopped["dataRowsCount"]);
    assert_eq!(kept, rows_before);
    api.sim.release();
    let later = api.status(id).await;
    assert_eq!(later["status"], "stopped", "stopped is terminal");
    assert_eq!(
        count(&later["dataRowsCount"]),
        kept,
        "no rows after the stop"
    );
    assert_eq!(
        api.all_rows(id).await.len() as u64,
        kept,
        "the rows produced before the stop remain"
    );
    let (again, _) = api
        .call(Method::DELETE, &format!("/scrapers/jobs/{id}"), None)
        .await;
    assert_eq!(again, 200, "stopping twice is harmless");
}

#[tokio::test]
async fn the_concurrency_cap_answers_429_until_a_slot_frees() {
    let api = Api::start(SimConfig {
        job_duration: Duration::from_secs(600),
        max_running: 2,
        ..SimConfig::default()
    })
    .await;
    let first = api.submit_ok("contacts", contacts_body(1)).await;
    api.submit_ok("contacts", contacts_body(1)).await;
    let (status, body) = api.submit("contacts", contacts_body(1)).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(api.sim.submits(), 2);
    api.call(Method::DELETE, &format!("/scrapers/jobs/{first}"), None)
        .await;
    api.submit_ok("contacts", contacts_body(1)).await;
}

#[tokio::test]
async fn bad_requests_get_the_api_error_shapes() {
    let api = Api::instant().await;
    let response = api
        .http
        .get(api.url("/scrapers/jobs/1"))
        .header("x-api-key", "wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let missing = api
        .http
        .get(api.url("/scrapers/jobs/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 401);

    let (status, body) = api.submit("google-serps", json!({})).await;
    assert_eq!(
        (
            status,
            body["message"].as_str().unwrap().contains("google-serps")
        ),
        (404, true)
    );

    let (status, body) = api
        .submit(
            "crawler",
            json!({"urls": ["ftp://x.example", "https://ok.example", "not a url"], "limit": -5,
                   "includePaths": "(", "startDate": 3}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["status"], "error");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["urls[0]", "urls[2]", "limit"],
        "every documented problem at once; includePaths' regex dialect is not documented"
    );
    let (status, body) = api.submit("contacts", json!({})).await;
    assert_eq!((status, &body["errors"][0]["field"]), (422, &json!("urls")));

    let (status, _) = api.submit("contacts", json!({"urls": []})).await;
    assert_eq!(status, 422);
    let (status, _) = api.call(Method::GET, "/scrapers/jobs/999", None).await;
    assert_eq!(status, 404);
    let (status, _) = api
        .call(Method::GET, "/scrapers/jobs/999/results", None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = api.call(Method::DELETE, "/scrapers/jobs/999", None).await;
    assert_eq!(status, 404);
    let raw = api
        .http
        .post(api.url("/scrapers/contacts/jobs"))
        .header("x-api-key", "demo")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
}

#[tokio::test]
async fn usage_reports_credits_spent() {
    let api = Api::instant().await;
    api.submit_ok("contacts", contacts_body(4)).await;
    let (status, usage) = api.call(Method::GET, "/user/me/usage", None).await;
    assert_eq!(status, 200);
    assert_eq!(usage["data"]["usedCredits"], 20);
    assert_eq!(
        usage["data"]["availableCredits"].as_u64().unwrap() + 20,
        usage["data"]["totalCredits"].as_u64().unwrap()
    );
}

#[tokio::test]
async fn submits_fail_with_403_once_credits_are_spent() {
    let api = Api::start(SimConfig {
        job_duration: Duration::ZERO,
        credits: 10,
        ..SimConfig::default()
    })
    .await;
    api.submit_ok("contacts", contacts_body(2)).await;
    let (status, body) = api.submit("contacts", contacts_body(1)).await;
    assert_eq!(status, 403, "{body}");
}
