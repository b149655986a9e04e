//! Happy paths: info commands, submit, status, wait, stop, results and run in every format.

use serde_json::{Value, json};

use crate::{Shell, fast, read, until};

const CONTACTS: &str =
    r#"{"urls": ["https://a.example/about", "https://b.example/team", "https://c.example"]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrapers_and_schemas() {
    let shell = Shell::quick().await;
    let ran = shell.run(&["scrapers"]).await;
    assert_eq!(ran.code, 0);
    let slugs: Vec<&str> = ran.stdout.lines().collect();
    assert_eq!(slugs.len(), 20);
    assert!(slugs.contains(&"sec-edgar") && slugs.contains(&"yellow-pages"));
    let json = shell.run(&["--json", "scrapers"]).await.json_lines();
    assert_eq!(json.len(), 20);
    assert_eq!(json[1], json!({"slug": "contacts", "rowShapeKnown": true}));

    let body: Value =
        serde_json::from_str(&shell.run(&["schema", "contacts"]).await.stdout).unwrap();
    assert_eq!(body["required"], json!(["urls"]));
    let row: Value =
        serde_json::from_str(&shell.run(&["schema", "contacts", "--row"]).await.stdout).unwrap();
    assert!(row["properties"]["phoneNumbers"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_status_wait_stop() {
    let shell = Shell::quick().await;
    let body = shell.file("contacts.json", CONTACTS);
    let id: u64 = shell.submitted("contacts", &body).await.parse().unwrap();

    let id_text = id.to_string();
    let waited = shell.run(&fast(&["wait", &id_text])).await;
    assert_eq!(waited.code, 0, "{}", waited.stderr);
    assert!(
        waited.stdout.contains("finished · 3 rows · 15 credits"),
        "{}",
        waited.stdout
    );

    let status = shell
        .run(&["--json", "status", &id_text])
        .await
        .json_lines();
    assert_eq!(status[0]["status"], "finished");
    assert_eq!(status[0]["dataRowsCount"], "3", "kept as the API sent it");

    // Held mid-run, so the separate `stop` always finds it running.
    shell.sim.hold(hasdata_sim::Hold::InProgress);
    let long = shell.file("serp.json", r#"{"keywords": ["coffee"], "limit": 100000}"#);
    let long_id = shell.submitted("google-serp", &long).await;
    let stopped = shell.run(&["stop", &long_id]).await;
    shell.sim.release();
    assert_eq!(stopped.code, 0);
    assert!(stopped.stdout.contains("stopped"), "{}", stopped.stdout);
    assert_eq!(
        shell.run(&fast(&["wait", &long_id])).await.code,
        4,
        "a stopped job exits 4"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_writes_exactly_the_jobs_rows_in_every_format() {
    let shell = Shell::quick().await;
    let body = shell.file("crawl.json", r#"{"urls": ["https://docs.example.com"], "limit": 120, "outputFormat": ["markdown", "html"]}"#);
    for (format, file) in [
        ("jsonl", "rows.jsonl"),
        ("json", "rows.json"),
        ("csv", "rows.csv"),
    ] {
        let out = shell.path(file);
        let ran = shell
            .run(&fast(&[
                "--json",
                "run",
                "crawler",
                "--body",
                &body,
                "--format",
                format,
                "--out",
                out.to_str().unwrap(),
            ]))
            .await;
        assert_eq!(ran.code, 0, "{format}: {}", ran.stderr);
        let lines = ran.json_lines();
        let id = lines[0]["id"].as_u64().unwrap();
        assert_eq!(lines.last().unwrap()["export"]["rows"], 120);
        let expected = shell.sim.expected_rows(id).unwrap();
        let text = read(&out);
        let rows: Vec<Value> = match format {
            "jsonl" => text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect(),
            "json" => serde_json::from_str(&text).unwrap(),
            _ => {
                let mut reader = csv::Reader::from_reader(text.as_bytes());
                let header = reader.headers().unwrap().clone();
                reader
                    .records()
                    .map(|record| {
                        let record = record.unwrap();
                        let row: serde_json::Map<String, Value> = header
                            .iter()
                            .zip(record.iter())
                            .filter(|(_, cell)| !cell.is_empty())
                            .map(|(column, cell)| {
                                (
                                    column.to_owned(),
                                    serde_json::from_str(cell)
                                        .unwrap_or(Value::String(cell.to_owned())),
                                )
                            })
                            .collect();
                        Value::Object(row)
                    })
                    .collect()
            }
        };
        if format == "csv" {
            // CSV loses JSON types (and nulls): compare as text, row by row.
            assert_eq!(rows.len(), expected.len());
            for (got, want) in rows.iter().zip(&expected) {
                assert_eq!(got["url"], want["url"]);
                assert_eq!(
                    got["markdown"], want["markdown"],
                    "multi-line cells survive"
                );
                assert_eq!(got["statusCode"], want["statusCode"]);
            }
        } else {
            assert_eq!(
                rows, expected,
                "{format}: exactly the job's rows, unknown fields included"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_to_stdout_from_pages_or_file() {
    let shell = Shell::quick().await;
    let body = shell.file("contacts.json", CONTACTS);
    let id = shell.submitted("contacts", &body).await;
    shell.run(&fast(&["wait", &id])).await;
    let expected = shell.sim.expected_rows(id.parse().unwrap()).unwrap();
    for source in ["pages", "file", "auto"] {
        let ran = shell.run(&["results", &id, "--source", source]).await;
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        assert_eq!(ran.json_lines(), expected, "{source}");
    }
    assert_eq!(shell.sim.api_keys_seen_by_storage(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_submit_waits_out_429_and_records_each_line() {
    let shell = Shell::start(hasdata_sim::SimConfig {
        job_duration: std::time::Duration::from_millis(300),
        max_running: 1,
        ..hasdata_sim::SimConfig::default()
    })
    .await;
    let lines = (0..3)
        .map(|i| format!(r#"{{"urls": ["https://site{i}.example"]}}"#))
        .collect::<Vec<_>>()
        .join("\n");
    let bodies = shell.file("bodies.jsonl", &format!("{lines}\n\n"));
    // Jobs stay pending until the cap has answered 429 at least once, then run out.
    shell.sim.hold(hasdata_sim::Hold::Pending);
    let sim = &shell.sim;
    let args = [
        "--json",
        "submit",
        "contacts",
        "--bodies",
        &bodies,
        "--concurrency",
        "3",
    ];
    let (ran, ()) = tokio::join!(shell.run(&args), async move {
        until("a 429 from the concurrency cap", || async move {
            sim.fault_counts()
                .contains_key("submit:concurrency-cap")
                .then_some(())
        })
        .await;
        sim.release();
    });
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let submitted = ran.json_lines();
    let mut lines: Vec<u64> = submitted
        .iter()
        .filter_map(|l| l["line"].as_u64())
        .collect();
    lines.sort();
    assert_eq!(lines, [1, 2, 3]);
    assert_eq!(submitted.last().unwrap()["summary"]["submitted"], 3);
    assert_eq!(shell.sim.submits(), 3);
    assert!(
        shell
            .sim
            .fault_counts()
            .get("submit:concurrency-cap")
            .copied()
            .unwrap_or(0)
            > 0,
        "the cap was hit"
    );
    let ledger = shell.run(&["--json", "jobs", "list"]).await.json_lines();
    let mut origins: Vec<String> = ledger
        .iter()
        .map(|e| {
            e["origin"]
                .as_str()
                .unwrap()
                .rsplit(':')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    origins.sort();
    assert_eq!(origins, ["1", "2", "3"]);
}

/// The first thing `pick` finds in a child's output. The output keeps being read (and
/// discarded) afterwards, so the child never writes into a closed pipe.
pub async fn first_line_matching(
    output: impl std::io::Read + Send + 'static,
    pick: impl Fn(&str) -> Option<String> + Send + 'static,
) -> String {
    use std::io::BufRead;
    let (found, wanted) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut found = Some(found);
        for line in std::io::BufReader::new(output).lines() {
            let Ok(line) = line else { return };
            if let Some(value) = pick(&line)
                && let Some(sender) = found.take()
            {
                let _ = sender.send(value);
            }
        }
    });
    wanted.await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_listen_prints_events_as_json_lines() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let shell = Shell::quick().await;
    let mut child = shell
        .command(&[
            "webhook",
            "listen",
            "--port",
            "0",
            "--secret-header",
            "x-hook-secret:s3cret",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let url = first_line_matching(child.stderr.take().unwrap(), |line| {
        line.split_whitespace()
            .find(|w| w.starts_with("http://"))
            .map(str::to_owned)
    })
    .await;
    let stdout = child.stdout.take().unwrap();
    let http = hasdata_transport::ReqwestTransport::new().unwrap();
    for (secret, expected) in [("s3cret", 200), ("wrong", 401)] {
        let request = http::Request::post(url.as_str())
            .header("content-type", "application/json")
            .header("x-hook-secret", secret)
            .body(bytes::Bytes::from(
                r#"{"event": "scraper.job.finished", "jobId": 416349, "jobStatus": "finished"}"#,
            ))
            .unwrap();
        use hasdata_transport::Transport;
        assert_eq!(
            http.send(request).await.unwrap().status().as_u16(),
            expected
        );
    }
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    let event: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["event"], "scraper.job.finished");
    assert_eq!(event["jobId"], "416349", "a webhook jobId is kept as text");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sim_serves_the_api_from_the_same_binary() {
    use std::process::Stdio;

    let started = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros(),
    )
    .unwrap();

    let shell = Shell::quick().await;
    let mut child = shell
        .command(&[
            "sim",
            "--port",
            "0",
            "--api-key",
            "local",
            "--job-duration",
            "0",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let base = first_line_matching(child.stdout.take().unwrap(), |line| {
        line.strip_prefix("base URL: ").map(str::to_owned)
    })
    .await;
    let body = shell.file("b.json", r#"{"urls": ["https://a.example"]}"#);
    let mut submit = shell.command(&["submit", "contacts", "--body", &body]);
    submit
        .env("HASDATA_BASE_URL", &base)
        .env("HASDATA_API_KEY", "local");
    let output = tokio::task::spawn_blocking(move || submit.output().unwrap())
        .await
        .unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The first id comes from the clock (microseconds), so a restarted simulator never
    // hands out an id an earlier run gave: it is at least the time the test started.
    let id: u64 = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap();
    assert!(id >= started, "id {id} is older than the run ({started})");
}
