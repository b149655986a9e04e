//! Results pages, download files, link expiry, and bounded memory on a 1,000,000-row job.

use std::time::Duration;

use hasdata_sim::SimConfig;
use serde_json::{Value, json};

use crate::{Api, contacts_body, count, until};

#[tokio::test]
async fn pages_carry_full_meta_and_double_wrapped_rows() {
    let api = Api::instant().await;
    let id = api
        .submit_ok(
            "google-serp",
            json!({"keywords": ["coffee", "tea"], "limit": 250}),
        )
        .await;
    let first = api.page(id, 1, 500).await;
    let meta = &first["meta"];
    for field in [
        "total",
        "perPage",
        "currentPage",
        "lastPage",
        "firstPage",
        "firstPageUrl",
        "lastPageUrl",
        "nextPageUrl",
        "previousPageUrl",
    ] {
        assert!(meta.get(field).is_some(), "meta.{field} missing: {meta}");
    }
    assert_eq!(meta["perPage"], 100, "limit is capped at 100");
    assert_eq!(
        (meta["total"].as_u64(), meta["lastPage"].as_u64()),
        (Some(250), Some(3))
    );
    assert_eq!(meta["previousPageUrl"], Value::Null);
    assert_eq!(meta["nextPageUrl"], "/?page=2");
    let wrapped = &first["data"][0];
    assert_eq!(wrapped["jobId"], id);
    assert_eq!(wrapped["id"].as_str().unwrap().len(), 36, "a uuid");
    assert_eq!(wrapped["dataId"].as_str().unwrap().len(), 36);
    assert!(wrapped["createdAt"].as_str().unwrap().ends_with("+03:00"));
    assert_eq!(wrapped["data"]["keyword"], "coffee", "the row is data.data");

    let last = api.page(id, 3, 100).await;
    assert_eq!(last["data"].as_array().unwrap().len(), 50);
    assert_eq!(last["meta"]["nextPageUrl"], Value::Null);
    let beyond = api.page(id, 4, 100).await;
    assert!(beyond["data"].as_array().unwrap().is_empty());

    let rows = api.all_rows(id).await;
    assert_eq!(rows.len(), 250);
    let again = api.all_rows(id).await;
    assert_eq!(rows, again, "rows are deterministic");
    assert_eq!(Some(rows), api.sim.expected_rows(id));
}

#[tokio::test]
async fn contacts_give_one_row_per_url_with_empty_lists_not_null() {
    let api = Api::instant().await;
    let id = api.submit_ok("contacts", contacts_body(3)).await;
    let rows = api.all_rows(id).await;
    assert_eq!(rows.len(), 3);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["url"], format!("https://site{i}.example/about"));
        for field in [
            "emails",
            "phoneNumbers",
            "linkedin",
            "xcom",
            "facebook",
            "instagram",
            "dribbble",
            "clutch",
        ] {
            assert!(row[field].is_array(), "{field} is {}", row[field]);
        }
    }
}

#[tokio::test]
async fn download_files_match_the_results_and_live_on_another_origin() {
    let api = Api::instant().await;
    let id = api.submit_ok("crawler", json!({"urls": ["https://docs.example.com"], "limit": 600, "outputFormat": ["markdown"]})).await;
    let status = api.status(id).await;
    let json_link = status["data"]["json"].as_str().unwrap();
    assert!(json_link.starts_with(api.sim.storage_url()));
    assert!(
        !json_link.starts_with(api.sim.base_url()),
        "files are on another origin"
    );

    let file: Vec<Value> = api
        .http
        .get(json_link)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        file,
        api.all_rows(id).await,
        "data.json is the plain rows, in order"
    );
    assert!(file[0]["markdown"].as_str().unwrap().starts_with("# "));

    let csv = api
        .http
        .get(status["data"]["csv"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().unwrap().clone();
    assert!(header.iter().any(|h| h == "url") && header.iter().any(|h| h == "markdown"));
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 600, "one record per row");
    let markdown = header.iter().position(|h| h == "markdown").unwrap();
    assert_eq!(
        records[5][markdown],
        *file[5]["markdown"].as_str().unwrap(),
        "multi-line cells survive"
    );

    let xlsx = api
        .http
        .get(status["data"]["xlsx"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(xlsx.status(), 404);
    assert_eq!(api.sim.api_keys_seen_by_storage(), 0);
    api.http
        .get(json_link)
        .header("x-api-key", "demo")
        .send()
        .await
        .unwrap();
    assert_eq!(
        api.sim.api_keys_seen_by_storage(),
        1,
        "the storage host notices a leaked key"
    );
}

#[tokio::test]
async fn download_links_expire_with_403_and_a_fresh_status_gives_new_ones() {
    let api = Api::start(SimConfig {
        job_duration: Duration::ZERO,
        download_ttl: Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    let id = api.submit_ok("contacts", contacts_body(2)).await;
    let link = api.status(id).await["data"]["json"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(api.http.get(&link).send().await.unwrap().status(), 403);
    let tampered = link.replace("/2/", "/3/");
    assert_eq!(api.http.get(&tampered).send().await.unwrap().status(), 404);

    let long_lived = Api::instant().await;
    let id = long_lived.submit_ok("contacts", contacts_body(2)).await;
    let fresh = long_lived.status(id).await["data"]["json"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        long_lived.http.get(&fresh).send().await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn meta_total_can_lag_right_after_finishing_while_last_page_is_right() {
    let api = Api::start(SimConfig {
        job_duration: Duration::from_millis(300),
        faults: "total-lag=60s".parse().unwrap(),
        ..SimConfig::default()
    })
    .await;
    let id = api
        .submit_ok("google-serp", json!({"keywords": ["coffee"], "limit": 300}))
        .await;
    let api_ref = &api;
    until("the job to finish", || async move {
        (api_ref.status(id).await["status"] == "finished").then_some(())
    })
    .await;
    let page = api.page(id, 1, 100).await;
    assert!(
        count(&page["meta"]["total"]) < 300,
        "total lags: {}",
        page["meta"]
    );
    assert_eq!(page["meta"]["lastPage"], 3);
    assert_eq!(api.all_rows(id).await.len(), 300);
}

#[tokio::test]
async fn a_million_row_job_pages_to_the_end_while_bookkeeping_stays_bounded() {
    let api = Api::instant().await;
    let id = api
        .submit_ok(
            "google-serp",
            json!({"keywords": ["coffee"], "limit": 1_000_000}),
        )
        .await;
    let before = api.sim.bookkeeping();
    assert_eq!(count(&api.status(id).await["dataRowsCount"]), 1_000_000);

    let last_page = api.page(id, 1, 100).await["meta"]["lastPage"]
        .as_u64()
        .unwrap();
    assert_eq!(last_page, 10_000);
    // Eight pagers, each taking every eighth page, like a concurrent client.
    let pagers = (0..8u64).map(|lane| {
        let http = api.http.clone();
        let url = api.url(&format!("/scrapers/jobs/{id}/results"));
        async move {
            let mut rows = 0u64;
            let mut page = 1 + lane;
            while page <= last_page {
                let body: Value = http
                    .get(&url)
                    .header("x-api-key", "demo")
                    .query(&[("page", page), ("limit", 100)])
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let data = body["data"].as_array().unwrap();
                let first_position = data[0]["data"]["position"].as_u64().unwrap();
                assert_eq!(
                    first_position,
                    (page - 1) * 100 + 1,
                    "page {page} starts where it should"
                );
                rows += data.len() as u64;
                page += 8;
            }
            rows
        }
    });
    let total: u64 = futures::future::join_all(pagers).await.into_iter().sum();
    assert_eq!(total, 1_000_000);
    let after = api.sim.bookkeeping();
    assert_eq!(
        (after.jobs, after.job_bytes, after.webhook_log_entries),
        (before.jobs, before.job_bytes, before.webhook_log_entries),
        "paging a million rows stored nothing"
    );
    assert!(after.job_bytes < 4096, "one job record: {after:?}");
    assert!(
        after.cached_bytes > 0 && after.cached_bytes <= api.sim.config().render_cache_bytes,
        "rendered pages kept within the cache's budget: {after:?}"
    );
}

#[tokio::test]
async fn any_whole_page_number_is_a_page() {
    let api = Api::instant().await;
    let id = api.submit_ok("contacts", contacts_body(3)).await;
    let far = api.page(id, u64::MAX, 100).await;
    assert_eq!(far["data"].as_array().unwrap().len(), 0, "past the end");
    let path = format!("/scrapers/jobs/{id}/results?page=99999999999999999999999999&limit=-4");
    let (status, huge) = api.call(reqwest::Method::GET, &path, None).await;
    assert_eq!((status, huge["data"].as_array().unwrap().len()), (200, 0));
    let path = format!("/scrapers/jobs/{id}/results?page=-2");
    let (status, first) = api.call(reqwest::Method::GET, &path, None).await;
    assert_eq!((status, first["data"].as_array().unwrap().len()), (200, 3));
    let path = format!("/scrapers/jobs/{id}/results?page=two&limit=");
    let (status, default) = api.call(reqwest::Method::GET, &path, None).await;
    assert_eq!(
        (status, default["meta"]["currentPage"].as_u64()),
        (200, Some(1)),
        "not a number: the default"
    );
}
