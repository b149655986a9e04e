//! `PgSink` against a real PostgreSQL: rows land once per (job, index), all at once at commit,
//! never from an abandoned writer, with the JSON intact.

use hasdata_fleet::{PgSink, Sink, SinkJob};
use hasdata_ledger::postgres::pool_of_size;
use hasdata_testpg::TestPg;
use serde_json::{Value, json};

fn job(id: &str) -> SinkJob {
    SinkJob {
        job_id: id.into(),
        slug: "contacts".into(),
        item_id: 7,
    }
}

async fn rows(client: &tokio_postgres::Client, table: &str) -> Vec<(String, i64, Value)> {
    client
        .query(
            &format!("SELECT job_id, row_index, row FROM {table} ORDER BY job_id, row_index"),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_land_once_per_job_and_index_and_only_on_commit() {
    let Some(pg) = TestPg::shared().await else {
        return;
    };
    let url = pg.fresh_database().await;
    let pool = pool_of_size(&url, 4).unwrap();
    let sink = PgSink::new(pool.clone(), "public.hasdata_rows")
        .await
        .unwrap();
    // A second sink on the same table (another worker) creates nothing twice.
    let again = PgSink::new(pool.clone(), "public.hasdata_rows")
        .await
        .unwrap();
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);

    // Rows with everything COPY's text format must escape, and enough of them to be sent in
    // several chunks.
    let tricky =
        json!({"q": "tab\there \"quoted\" back\\slash", "nl": "a\nb", "n": 1.50, "u": "é"});
    let mut writer = sink.begin(&job("416349")).await.unwrap();
    writer
        .write_row(0, tricky.to_string().as_bytes())
        .await
        .unwrap();
    let filler = "x".repeat(1000);
    for index in 1..400u64 {
        let row = json!({"i": index, "pad": filler});
        writer
            .write_row(index, row.to_string().as_bytes())
            .await
            .unwrap();
    }
    assert!(
        rows(&client, "public.hasdata_rows").await.is_empty(),
        "nothing visible before commit"
    );
    let at = writer.commit().await.unwrap();
    assert!(at.contains("hasdata_rows"), "{at}");
    let stored = rows(&client, "public.hasdata_rows").await;
    assert_eq!(stored.len(), 400);
    assert_eq!(stored[0], ("416349".into(), 0, tricky.clone()));
    assert_eq!(stored[399].2["i"], 399);

    // Collected again (a worker died after commit, before `done`): still one row per index.
    let mut writer = again.begin(&job("416349")).await.unwrap();
    for index in 0..400u64 {
        writer.write_row(index, b"{\"dup\":true}").await.unwrap();
    }
    writer.commit().await.unwrap();
    let stored = rows(&client, "public.hasdata_rows").await;
    assert_eq!(stored.len(), 400);
    assert_eq!(stored[0].2, tricky, "the first collection's rows stay");

    // An abandoned writer (a worker killed mid-job) leaves nothing, and its connection is not
    // handed to the next writer with a COPY half done.
    let mut writer = sink.begin(&job("416350")).await.unwrap();
    writer.write_row(0, b"{\"a\":1}").await.unwrap();
    drop(writer);
    assert_eq!(rows(&client, "public.hasdata_rows").await.len(), 400);
    let mut writer = sink.begin(&job("416351")).await.unwrap();
    writer.write_row(0, b"{\"b\":2}").await.unwrap();
    writer.commit().await.unwrap();
    let stored = rows(&client, "public.hasdata_rows").await;
    assert_eq!(stored.len(), 401);
    assert_eq!(stored[400], ("416351".into(), 0, json!({"b": 2})));
}

#[tokio::test]
async fn a_row_that_is_not_json_fails_the_commit_and_stores_nothing() {
    let Some(pg) = TestPg::shared().await else {
        return;
    };
    let url = pg.fresh_database().await;
    let pool = pool_of_size(&url, 2).unwrap();
    let sink = PgSink::new(pool, "rows").await.unwrap();
    let mut writer = sink.begin(&job("1")).await.unwrap();
    writer.write_row(0, b"{\"a\":1}").await.unwrap();
    writer.write_row(1, b"not json").await.unwrap();
    let error = writer.commit().await.unwrap_err();
    assert!(error.to_string().contains("postgres sink"), "{error}");
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    assert!(rows(&client, "rows").await.is_empty());
}

#[tokio::test]
async fn a_bad_table_name_is_refused_before_any_sql() {
    let Some(pg) = TestPg::shared().await else {
        return;
    };
    let url = pg.fresh_database().await;
    let pool = pool_of_size(&url, 1).unwrap();
    let error = PgSink::new(pool, "rows; DROP TABLE x").await.unwrap_err();
    assert!(error.to_string().contains("--sink-table"), "{error}");
}

/// Figures for docs/scale-out.md, not a pass/fail check:
/// `cargo test -p hasdata-fleet --test fleet measure_pg_sink -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run by hand with --ignored --nocapture"]
async fn measure_pg_sink_rows_per_second() {
    use std::time::Instant;
    const ROWS: u64 = 200_000;
    let Some(pg) = TestPg::shared().await else {
        return;
    };
    let url = pg.fresh_database().await;
    let sink = PgSink::new(pool_of_size(&url, 2).unwrap(), "rows")
        .await
        .unwrap();
    let row = json!({"email": "someone@example.com", "url": "https://site.example/contact", "phones": ["+1 555 0100"], "n": 12345});
    let row = row.to_string();
    let started = Instant::now();
    let mut writer = sink.begin(&job("1")).await.unwrap();
    for index in 0..ROWS {
        writer.write_row(index, row.as_bytes()).await.unwrap();
    }
    let streamed = started.elapsed();
    writer.commit().await.unwrap();
    let total = started.elapsed();
    println!(
        "PgSink: {ROWS} rows of {} bytes: streamed in {streamed:?}, committed in {total:?} = {:.0} rows/s",
        row.len(),
        ROWS as f64 / total.as_secs_f64()
    );
}
