//! hasdata-sim's black-box tests: plain reqwest and `serde_json::Value` over loopback, so the
//! simulator is checked independently of hasdata-model's types. One binary.

#![allow(clippy::unwrap_used, missing_docs)]

mod binary;
mod faults;
mod lifecycle;
mod paging;
mod python_example;
mod receiver;
mod shapes;
mod webhooks;

use std::time::Duration;

use hasdata_sim::{SimConfig, SimHandle, Simulator};
use serde_json::{Value, json};

/// A plain reqwest client. The workspace builds reqwest with `rustls-no-provider` (the
/// transport brings its own ring config), so a bare client needs a process-wide provider.
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A simulator plus a client that talks to it.
pub struct Api {
    pub sim: SimHandle,
    pub http: reqwest::Client,
}

impl Api {
    pub async fn start(config: SimConfig) -> Api {
        Api {
            sim: Simulator::start(config).await.unwrap(),
            http: http_client(),
        }
    }

    /// A simulator whose jobs finish at once.
    pub async fn instant() -> Api {
        Api::start(SimConfig {
            job_duration: Duration::ZERO,
            ..SimConfig::default()
        })
        .await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url())
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, self.url(path))
            .header("x-api-key", self.sim.api_key());
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn submit(&self, slug: &str, body: Value) -> (u16, Value) {
        self.call(
            reqwest::Method::POST,
            &format!("/scrapers/{slug}/jobs"),
            Some(body),
        )
        .await
    }

    pub async fn submit_ok(&self, slug: &str, body: Value) -> u64 {
        let (status, record) = self.submit(slug, body).await;
        assert_eq!(status, 200, "{record}");
        record["id"].as_u64().unwrap()
    }

    pub async fn status(&self, id: u64) -> Value {
        let (status, body) = self
            .call(reqwest::Method::GET, &format!("/scrapers/jobs/{id}"), None)
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    pub async fn page(&self, id: u64, page: u64, limit: u64) -> Value {
        let path = format!("/scrapers/jobs/{id}/results?page={page}&limit={limit}");
        let (status, body) = self.call(reqwest::Method::GET, &path, None).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Every row of a job, following `lastPage` like the API's own example.
    pub async fn all_rows(&self, id: u64) -> Vec<Value> {
        let mut rows = Vec::new();
        let mut page = 1;
        loop {
            let body = self.page(id, page, 100).await;
            rows.extend(
                body["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["data"].clone()),
            );
            if body["meta"]["currentPage"].as_u64() >= body["meta"]["lastPage"].as_u64() {
                return rows;
            }
            page += 1;
        }
    }
}

/// Waits until `check` gives a value, asking every 10 ms. The deadline is a generous minute:
/// it only turns a hang into a failure, it is never a timing assumption.
pub async fn until<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A count as the status sends it: a number, or a string of digits.
pub fn count(value: &Value) -> u64 {
    match value {
        Value::Number(n) => n.as_u64().unwrap(),
        Value::String(s) => s.parse().unwrap(),
        other => panic!("not a count: {other}"),
    }
}

pub fn contacts_body(urls: usize) -> Value {
    json!({"urls": (0..urls).map(|i| format!("https://site{i}.example/about")).collect::<Vec<_>>()})
}
