//! Injected faults fire at their configured rates, reproducibly for a seed, and are counted.

use std::time::Duration;

use hasdata_sim::SimConfig;
use serde_json::json;

use crate::{Api, contacts_body};

async fn status_codes(
    seed: u64,
    requests: usize,
) -> (Vec<u16>, std::collections::BTreeMap<String, u64>) {
    let api = Api::start(SimConfig {
        job_duration: Duration::ZERO,
        seed,
        faults: "status:503=0.2,status:429=0.1,retry-after=3"
            .parse()
            .unwrap(),
        ..SimConfig::default()
    })
    .await;
    let id = api.submit_ok("contacts", contacts_body(1)).await;
    let mut codes = Vec::new();
    for _ in 0..requests {
        let response = api
            .http
            .get(api.url(&format!("/scrapers/jobs/{id}")))
            .header("x-api-key", "demo")
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            assert_eq!(response.headers()["retry-after"], "3");
        }
        codes.push(response.status().as_u16());
    }
    (codes, api.sim.fault_counts())
}

#[tokio::test]
async fn status_faults_fire_at_their_rates_and_repeat_with_the_seed() {
    let (codes, counts) = status_codes(42, 1000).await;
    let unavailable = codes.iter().filter(|c| **c == 503).count() as u64;
    let throttled = codes.iter().filter(|c| **c == 429).count() as u64;
    assert_eq!(counts.get("status:503"), Some(&unavailable));
    assert_eq!(counts.get("status:429"), Some(&throttled));
    // 429 is drawn first at 0.1, then 503 at 0.2 of the rest: about 100 and 180 of 1000.
    assert!((60..140).contains(&throttled), "{throttled}");
    assert!((130..230).contains(&unavailable), "{unavailable}");
    assert_eq!(
        status_codes(42, 1000).await.0,
        codes,
        "the same seed gives the same faults"
    );
}

#[tokio::test]
async fn a_reset_breaks_the_response_mid_body() {
    let api = Api::start(SimConfig {
        job_duration: Duration::ZERO,
        faults: "results:reset=1".parse().unwrap(),
        ..SimConfig::default()
    })
    .await;
    let id = api.submit_ok("contacts", contacts_body(2)).await;
    let response = api
        .http
        .get(api.url(&format!("/scrapers/jobs/{id}/results")))
        .header("x-api-key", "demo")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the headers arrive");
    assert!(response.bytes().await.is_err(), "the body is cut");
    assert_eq!(api.sim.fault_counts().get("results:reset"), Some(&1));
}

#[tokio::test]
async fn a_lost_submit_response_still_creates_the_job() {
    let api = Api::start(SimConfig {
        job_duration: Duration::ZERO,
        faults: "submit:lose-response=1".parse().unwrap(),
        ..SimConfig::default()
    })
    .await;
    let outcome = async {
        let response = api
            .http
            .post(api.url("/scrapers/contacts/jobs"))
            .header("x-api-key", "demo")
            .json(&contacts_body(1))
            .send()
            .await?;
        response.bytes().await
    }
    .await;
    assert!(outcome.is_err(), "the client saw an error");
    assert_eq!(api.sim.submits(), 1, "but the job exists");
    let first = api.sim.config().first_job_id;
    assert_eq!(api.status(first).await["status"], "finished");
}

#[tokio::test]
async fn latency_is_added_and_counted() {
    let api = Api::start(SimConfig {
        job_duration: Duration::ZERO,
        faults: "usage:latency=150ms".parse().unwrap(),
        ..SimConfig::default()
    })
    .await;
    for _ in 0..3 {
        // A lower bound only: load can slow a call down, never speed it up.
        let started = std::time::Instant::now();
        api.call(reqwest::Method::GET, "/user/me/usage", None).await;
        assert!(
            started.elapsed() >= Duration::from_millis(150),
            "the delay was added: {:?}",
            started.elapsed()
        );
    }
    assert_eq!(api.sim.fault_counts().get("usage:latency"), Some(&3));
    assert_eq!(api.sim.requests().get("usage"), Some(&3));
}

#[tokio::test]
async fn file_downloads_can_be_cut_too() {
    let api = Api::start(SimConfig {
        job_duration: Duration::ZERO,
        faults: "files:reset=1".parse().unwrap(),
        ..SimConfig::default()
    })
    .await;
    let id = api
        .submit_ok("google-serp", json!({"keywords": ["tea"], "limit": 2000}))
        .await;
    let link = api.status(id).await["data"]["json"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = api.http.get(link).send().await.unwrap();
    assert!(response.bytes().await.is_err());
}
