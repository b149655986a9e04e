//! Replicated receivers: two `hasdata webhook listen --ledger postgres://...` processes behind
//! "one URL" (the test posts to both, as a load balancer would) share delivery deduplication
//! through the queue's database, against hasdata-testpg's real PostgreSQL over loopback HTTP.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hasdata_fleet::Queue;
use hasdata_testpg::TestPg;
use hasdata_transport::{ReqwestTransport, Transport};
use serde_json::{Value, json};

use crate::Shell;

const SECRET: &str = "hook-s3cret-never-stored-5e1";
const PASSWORD: &str = "pw-never-shown-93d";

/// One running `hasdata webhook listen` replica.
struct Replica {
    child: Child,
    url: String,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

/// Reads `from` to its end into `into`, in a thread; the receiver gets the first line `pick`
/// likes.
fn collect(
    from: impl Read + Send + 'static,
    into: Arc<Mutex<String>>,
    pick: impl Fn(&str) -> Option<String> + Send + 'static,
) -> (
    tokio::sync::oneshot::Receiver<String>,
    std::thread::JoinHandle<()>,
) {
    let (found, first) = tokio::sync::oneshot::channel();
    let reader = std::thread::spawn(move || {
        let mut found = Some(found);
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { return };
            if let Some(value) = pick(&line)
                && let Some(sender) = found.take()
            {
                let _ = sender.send(value);
            }
            let mut all = into.lock().unwrap();
            all.push_str(&line);
            all.push('\n');
        }
    });
    (first, reader)
}

impl Replica {
    async fn start(shell: &Shell, url: &str, name: &str) -> Replica {
        Replica::start_with(shell, Some(url), &["--port", "0", "--name", name]).await
    }

    /// `webhook listen` with `args` (a port or an address among them), recording in the
    /// PostgreSQL database `ledger` when given (a SQLite ledger in the shell's directory
    /// otherwise: events are printed only).
    async fn start_with(shell: &Shell, ledger: Option<&str>, args: &[&str]) -> Replica {
        let sqlite = shell.path("ledger.db");
        let mut all = vec![
            "--ledger",
            ledger.unwrap_or(sqlite.to_str().unwrap()),
            "webhook",
            "listen",
            "--secret-header-name",
            "x-hook-secret",
        ];
        all.extend_from_slice(args);
        let mut child = shell
            .command(&all)
            .env("HASDATA_WEBHOOK_SECRET", SECRET)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (_, out_reader) = collect(child.stdout.take().unwrap(), stdout.clone(), |_| None);
        let (listening, err_reader) =
            collect(child.stderr.take().unwrap(), stderr.clone(), |line| {
                line.split_whitespace()
                    .find(|w| w.starts_with("http://"))
                    .map(str::to_owned)
            });
        let url = tokio::time::timeout(Duration::from_secs(120), listening)
            .await
            .expect("the replica starts listening")
            .unwrap_or_else(|_| panic!("the replica exited: {}", stderr.lock().unwrap()));
        Replica {
            child,
            url,
            stdout,
            stderr,
            readers: vec![out_reader, err_reader],
        }
    }

    /// Stops it and returns what it printed (stdout, stderr).
    async fn stop(mut self) -> (String, String) {
        self.child.kill().unwrap();
        let _ = self.child.wait();
        // The reader threads end when the pipes close: everything printed has been read.
        let readers = std::mem::take(&mut self.readers);
        tokio::task::spawn_blocking(move || {
            for reader in readers {
                let _ = reader.join();
            }
        })
        .await
        .unwrap();
        let out = self.stdout.lock().unwrap().clone();
        let err = self.stderr.lock().unwrap().clone();
        (out, err)
    }
}

/// A test that fails before `stop` leaves no listener running.
impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn post(http: &ReqwestTransport, url: &str, secret: &str, body: &Value) -> u16 {
    let request = http::Request::post(url)
        .header("content-type", "application/json")
        .header("x-hook-secret", secret)
        .body(bytes::Bytes::from(body.to_string()))
        .unwrap();
    http.send(request).await.unwrap().status().as_u16()
}

/// Posts `body` exactly as written (a `Value` cannot hold every JSON text: an integer past
/// 64 bits).
async fn post_text(http: &ReqwestTransport, url: &str, secret: &str, body: &str) -> u16 {
    let request = http::Request::post(url)
        .header("content-type", "application/json")
        .header("x-hook-secret", secret)
        .body(bytes::Bytes::from(body.to_owned()))
        .unwrap();
    http.send(request).await.unwrap().status().as_u16()
}

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_record_each_delivery_once_and_attach_it_to_the_queue_item() {
    let Some(pg) = TestPg::shared().await else {
        return;
    };
    let plain = pg.fresh_database().await;
    let url = plain.replacen("postgres@", &format!("postgres:{PASSWORD}@"), 1);
    let shell = Shell::quick().await;

    // A queue item running job 9001 (the queue's database is the receivers' database).
    let queue = Queue::connect(&plain, 2).await.unwrap();
    queue
        .add(&[hasdata_fleet::NewItem {
            slug: "contacts".into(),
            body: json!({"urls": ["https://a.example"]}),
            origin: None,
        }])
        .await
        .unwrap();
    let item = queue
        .claim("test", Duration::from_secs(600), "key-1")
        .await
        .unwrap()
        .unwrap();
    assert!(queue.set_running(item.id, "test", "9001").await.unwrap());

    let a = Replica::start(&shell, &url, "replica-a").await;
    let b = Replica::start(&shell, &url, "replica-b").await;
    let http = ReqwestTransport::new().unwrap();
    let (db, connection) = tokio_postgres::connect(&plain, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);

    // The same signed delivery, four copies to each replica at once, five rounds (each
    // round's delivery a different one): every copy acknowledged, one row per delivery.
    for round in 0..5 {
        let delivery = json!({
            "event": "scraper.job.finished",
            "jobId": 9001 + round,
            "jobStatus": "finished",
            "timestamp": "2026-11-30T00:00:00Z",
        });
        let copies = (0..8).map(|copy| {
            let target = if copy % 2 == 0 { &a.url } else { &b.url };
            post(&http, target, SECRET, &delivery)
        });
        let answers = futures::future::join_all(copies).await;
        assert!(
            answers.iter().all(|&s| s == 200),
            "round {round}: {answers:?}"
        );
        // A late retry of it, to either replica, is acknowledged and not stored again.
        assert_eq!(post(&http, &b.url, SECRET, &delivery).await, 200);
        assert_eq!(post(&http, &a.url, SECRET, &delivery).await, 200);
    }
    assert_eq!(
        count(&db, "SELECT count(*) FROM fleet_webhook_events").await,
        5
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM fleet_webhook_events WHERE job_id = '9001' AND terminal"
        )
        .await,
        1
    );

    // A burst of distinct deliveries split across the replicas: every one stored.
    const BURST: usize = 60;
    let burst: Vec<Value> = (0..BURST)
        .map(|i| {
            json!({
                "event": "scraper.data.scraped",
                "jobId": if i % 3 == 0 { 9001 } else { 7000 + i as u64 },
                "jobStatus": "in_progress",
                "timestamp": format!("2026-11-30T00:00:{:02}Z", i % 60),
                "data": [{"url": format!("https://a.example/{i}"), "n": i}, {"url": "https://b.example", "n": i}],
            })
        })
        .collect();
    let answers = futures::future::join_all(burst.iter().enumerate().map(|(i, body)| {
        let target = if i % 2 == 0 { &a.url } else { &b.url };
        post(&http, target, SECRET, body)
    }))
    .await;
    assert!(answers.iter().all(|&s| s == 200), "{answers:?}");
    assert_eq!(
        count(&db, "SELECT count(*) FROM fleet_webhook_events").await,
        5 + BURST as i64
    );
    assert_eq!(
        count(
            &db,
            "SELECT sum(row_count)::bigint FROM fleet_webhook_events WHERE event = 'scraper.data.scraped'"
        )
        .await,
        2 * BURST as i64
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM fleet_webhook_events
             WHERE jsonb_array_length(rows) = 2 AND rows->0->>'url' LIKE 'https://a.example/%'"
        )
        .await,
        BURST as i64,
        "the rows each delivery carried are stored with it"
    );

    // A wrong secret stores nothing.
    let forged = json!({"event": "scraper.job.finished", "jobId": 1, "jobStatus": "finished"});
    assert_eq!(post(&http, &a.url, "wrong", &forged).await, 401);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM fleet_webhook_events WHERE job_id = '1'"
        )
        .await,
        0
    );

    // A replica killed mid-request: nothing acknowledged, nothing lost; the sender's retry is
    // taken by the other replica.
    let cut = json!({"event": "scraper.job.finished", "jobId": 5555, "jobStatus": "stopped"});
    let text = cut.to_string();
    let addr = a
        .url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "POST /hasdata-hook HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\nx-hook-secret: {SECRET}\r\ncontent-length: {}\r\n\r\n{}",
        text.len(),
        &text[..text.len() / 2]
    )
    .unwrap();
    stream.flush().unwrap();
    let (a_out, a_err) = a.stop().await;
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(
        !answer.contains("200"),
        "the killed replica acknowledged: {answer}"
    );
    assert_eq!(post(&http, &b.url, SECRET, &cut).await, 200);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM fleet_webhook_events WHERE job_id = '5555'"
        )
        .await,
        1
    );

    // The events are shown with the item that owns their job; unknown jobs are kept, shown
    // with no item.
    let listed = shell
        .run(&[
            "--ledger", &url, "--json", "webhook", "events", "--job-id", "9001",
        ])
        .await;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let events = listed.json_lines();
    assert_eq!(events.len(), 1 + BURST / 3, "{}", listed.stdout);
    assert!(
        events.iter().all(|e| e["itemId"] == item.id),
        "{}",
        listed.stdout
    );
    let unknown = shell
        .run(&[
            "--ledger",
            &url,
            "--json",
            "webhook",
            "events",
            "--unknown",
            "--limit",
            "1000",
        ])
        .await;
    assert_eq!(unknown.code, 0, "{}", unknown.stderr);
    let unknown = unknown.json_lines();
    assert_eq!(unknown.len(), 4 + BURST - BURST / 3 + 1);
    assert!(unknown.iter().all(|e| e["itemId"].is_null()));

    // Every distinct delivery printed once across the replicas.
    let (b_out, b_err) = b.stop().await;
    let printed = a_out.lines().count() + b_out.lines().count();
    assert_eq!(printed, 5 + BURST + 1, "{a_out}\n{b_out}");
    assert!(b_err.contains("no queue item has this job"), "{b_err}");

    // The secret reached neither the database nor any output; the URL's password neither.
    let stored: String = db
        .query_one(
            "SELECT COALESCE(string_agg(e::text, ''), '') FROM fleet_webhook_events e",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    for text in [
        &stored,
        &a_out,
        &a_err,
        &b_out,
        &b_err,
        &listed.stdout,
        &listed.stderr,
    ] {
        assert!(!text.contains(SECRET), "the webhook secret leaked: {text}");
        assert!(!text.contains(PASSWORD), "the password leaked: {text}");
    }
}

/// The whole path with processes: `hasdata worker --webhook-url` adds the receivers' webhook
/// to every body it submits (the secret from the environment, never in the queue), the
/// simulator calls the replica when each job ends, and the waits, whose next poll is ten
/// minutes away, end at once: two status calls per job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_with_a_webhook_url_finishes_on_the_replicas_events() {
    let Some(pg) = TestPg::shared().await else {
        return;
    };
    let url = pg.fresh_database().await;
    let shell = Shell::start(hasdata_sim::SimConfig {
        job_duration: Duration::ZERO,
        max_running: 10,
        allow_http_webhooks: true,
        ..hasdata_sim::SimConfig::default()
    })
    .await;
    // Jobs run until released, so each wait's first poll sees them in progress.
    shell.sim.hold(hasdata_sim::Hold::InProgress);
    let bodies = shell.file(
        "bodies.jsonl",
        "{\"urls\": [\"https://a.example\"]}\n{\"urls\": [\"https://b.example\", \"https://c.example\"]}\n{\"urls\": [\"https://d.example\"]}\n",
    );
    let added = shell
        .run(&[
            "--ledger", &url, "queue", "add", "contacts", "--bodies", &bodies,
        ])
        .await;
    assert_eq!(added.code, 0, "{}", added.stderr);
    let replica = Replica::start(&shell, &url, "hook-a").await;
    let out = shell.path("rows");
    let mut worker = shell
        .command(&[
            "--ledger",
            &url,
            "worker",
            "--out-dir",
            out.to_str().unwrap(),
            "--exit-when-idle",
            "--idle-poll",
            "0.1",
            "--poll-initial",
            "600",
            "--poll-cap",
            "600",
            "--webhook-url",
            &replica.url,
            "--webhook-secret-header-name",
            "x-hook-secret",
        ])
        .env("HASDATA_WEBHOOK_SECRET", SECRET)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    crate::until("every wait's first poll", || async {
        (shell.sim.requests().get("status").copied().unwrap_or(0) >= 3).then_some(())
    })
    .await;
    shell.sim.release();
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::task::spawn_blocking(move || {
            let status = worker.wait().unwrap();
            let mut err = String::new();
            let _ = worker.stderr.take().unwrap().read_to_string(&mut err);
            (status, err)
        }),
    )
    .await
    .expect("the webhooks end the waits (the next poll is ten minutes away)")
    .unwrap();
    assert!(output.0.success(), "{}", output.1);
    assert_eq!(
        shell.sim.requests()["status"],
        6,
        "a first poll and one confirmation per job: {:?}",
        shell.sim.requests()
    );

    let (db, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    assert_eq!(
        count(&db, "SELECT count(*) FROM fleet_items WHERE state = 'done'").await,
        3
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM fleet_webhook_events e JOIN fleet_items i ON i.job_id = e.job_id
             WHERE e.terminal"
        )
        .await,
        3,
        "each job's finished event recorded against its item"
    );
    let stored: String = db
        .query_one(
            "SELECT (SELECT string_agg(i::text, '') FROM fleet_items i)
                 || (SELECT string_agg(l::text, '') FROM ledger_intents l)
                 || (SELECT string_agg(j::text, '') FROM ledger_jobs j)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        stored.contains("x-hook-secret"),
        "the webhook was sent: {stored}"
    );
    assert!(!stored.contains(SECRET), "the secret was stored: {stored}");
    let (out_text, err_text) = replica.stop().await;
    assert_eq!(out_text.lines().count(), 3, "{out_text}");
    for text in [&out_text, &err_text, &output.1] {
        assert!(!text.contains(SECRET));
    }
}

/// Checks `value` against the published schema `name` (`cli.webhook-event`, ...).
fn valid(name: &str, value: &Value) {
    let schema = hasdata_cli::output::schemas()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no schema {name}"));
    let validator = jsonschema::validator_for(&schema.schema.to_value()).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{value} is not a {name}: {errors:?}");
}

/// Every authenticated delivery of valid JSON is stored and shown as sent: a job id with a NUL
/// character (PostgreSQL text cannot hold one), rows with one, JSON that is not an object, and
/// job ids past 64 bits (a decoded `Value` makes them floats, and two of them one delivery).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_authenticated_delivery_is_stored_and_shown_as_sent() {
    let Some(pg) = TestPg::shared().await else {
        return;
    };
    let url = pg.fresh_database().await;
    let shell = Shell::quick().await;
    let replica = Replica::start(&shell, &url, "hook-a").await;
    let http = ReqwestTransport::new().unwrap();

    let nul_id = r#"{"event":"scraper.job.finished","jobId":"ab\u0000c","jobStatus":"finished"}"#;
    let nul_rows = r#"{"event":"scraper.data.scraped","jobId":"nul-rows","jobStatus":"in_progress","data":[{"t":"x\u0000y"},{"t":"z"}]}"#;
    let nul_name = r#"{"event":"scraper.\u0000","jobId":"nul-name","jobStatus":"sto\u0000pped"}"#;
    let big =
        r#"{"event":"scraper.job.finished","jobId":18446744073709551616,"jobStatus":"finished"}"#;
    let bigger =
        r#"{"event":"scraper.job.finished","jobId":18446744073709551617,"jobStatus":"finished"}"#;
    let not_objects = [r#"[]"#, r#""x""#, r#"42"#];
    // A job id of 9,000 characters that do not compress: past a btree index entry's limit
    // (about 2,700 bytes) and a NOTIFY payload's (8,000).
    let mut state = 0x5eed_u64;
    let long: String = (0..9000)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            char::from(b'!' + ((state >> 33) % 90) as u8)
        })
        .filter(|c| *c != '"' && *c != '\\')
        .collect();
    let long_id = json!({"event": "scraper.job.finished", "jobId": long, "jobStatus": "finished"})
        .to_string();
    // A lone UTF-16 surrogate in a row (JSON by its grammar; JavaScript and Python write it).
    let lone = r#"{"event":"scraper.data.scraped","jobId":"lone","jobStatus":"in_progress","data":[{"t":"a\ud800b"}]}"#;
    let mut all: Vec<&str> = vec![nul_id, nul_rows, nul_name, big, bigger, &long_id, lone];
    all.extend(not_objects);
    for body in &all {
        assert_eq!(
            post_text(&http, &replica.url, SECRET, body).await,
            200,
            "{}",
            &body[..body.len().min(200)]
        );
    }
    // A retry of each is recognised, whichever its text.
    for body in &all {
        assert_eq!(post_text(&http, &replica.url, SECRET, body).await, 200);
    }
    let (db, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    assert_eq!(
        count(&db, "SELECT count(*) FROM fleet_webhook_events").await,
        all.len() as i64,
        "one row per delivery"
    );
    let bodies: Vec<Vec<u8>> = db
        .query("SELECT body FROM fleet_webhook_events", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    for body in &all {
        assert!(
            bodies.iter().any(|b| b == body.as_bytes()),
            "{body} is kept as received"
        );
    }
    assert_eq!(
        count(
            &db,
            "SELECT row_count FROM fleet_webhook_events WHERE job_id = 'nul-rows'"
        )
        .await,
        2
    );

    let listed = shell
        .run(&[
            "--ledger", &url, "--json", "webhook", "events", "--body", "--limit", "100",
        ])
        .await;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let events = listed.json_lines();
    assert_eq!(events.len(), all.len(), "{}", listed.stdout);
    for event in &events {
        valid("cli.webhook-event", event);
    }
    let by_body = |body: &str| {
        events
            .iter()
            .find(|e| e["body"] == body)
            .unwrap_or_else(|| panic!("{body} is listed: {}", listed.stdout))
    };
    assert_eq!(by_body(nul_id)["jobId"], "ab\u{0}c");
    assert_eq!(by_body(nul_id)["terminal"], true);
    assert_eq!(
        by_body(nul_id)["unrecognised"],
        true,
        "no job id HasData gives has a NUL: not the documented shape, kept all the same"
    );
    assert_eq!(by_body(nul_rows)["rows"], 2);
    assert_eq!(by_body(nul_name)["event"], "scraper.\u{0}");
    assert_eq!(by_body(nul_name)["jobStatus"], "sto\u{0}pped");
    assert_eq!(by_body(big)["jobId"], "18446744073709551616");
    assert_eq!(by_body(bigger)["jobId"], "18446744073709551617");
    assert_eq!(by_body(&long_id)["jobId"], long.as_str());
    assert_eq!(by_body(&long_id)["terminal"], true);
    assert_eq!(by_body(lone)["rows"], 1);
    assert_eq!(by_body(lone)["unrecognised"], false);
    assert_eq!(by_body(big)["unrecognised"], false);
    for body in not_objects {
        let event = by_body(body);
        assert_eq!(event["unrecognised"], true, "{event}");
        assert!(event["jobId"].is_null(), "{event}");
    }
    // The escaped id is found by the id as sent.
    let one = shell
        .run(&[
            "--ledger",
            &url,
            "--json",
            "webhook",
            "events",
            "--job-id",
            "18446744073709551616",
        ])
        .await;
    assert_eq!(one.json_lines().len(), 1, "{}", one.stdout);
    // Unrecognised deliveries carry their body without --body; the text listing shows a NUL
    // escaped, never raw.
    let text = shell.run(&["--ledger", &url, "webhook", "events"]).await;
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(!text.stdout.contains('\0'), "{:?}", text.stdout);
    assert!(text.stdout.contains("job ab\\u{0}c"), "{}", text.stdout);
    assert!(text.stdout.contains("(unrecognised)"), "{}", text.stdout);
    assert!(text.stdout.contains("\t[]"), "{}", text.stdout);

    let (out, err) = replica.stop().await;
    assert_eq!(out.lines().count(), all.len(), "each printed once: {out}");
    let stored: String = db
        .query_one(
            "SELECT string_agg(e::text, '') FROM fleet_webhook_events e",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    for text in [&stored, &out, &err, &listed.stdout] {
        assert!(!text.contains(SECRET), "the webhook secret leaked: {text}");
    }
}

/// Old events are pruned, by `webhook events --prune-older-than` and by a replica's
/// `--retain`, except those of jobs whose queue item is not finished: a waiting worker reads
/// them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_events_are_pruned_except_those_a_waiting_worker_reads() {
    let Some(pg) = TestPg::shared().await else {
        return;
    };
    let url = pg.fresh_database().await;
    let shell = Shell::quick().await;
    let queue = Queue::connect(&url, 2).await.unwrap();
    queue
        .add(&[
            hasdata_fleet::NewItem {
                slug: "contacts".into(),
                body: json!({"urls": ["https://a.example"]}),
                origin: None,
            },
            hasdata_fleet::NewItem {
                slug: "contacts".into(),
                body: json!({"urls": ["https://b.example"]}),
                origin: None,
            },
        ])
        .await
        .unwrap();
    let running = queue
        .claim("test", Duration::from_secs(600), "key-1")
        .await
        .unwrap()
        .unwrap();
    assert!(queue.set_running(running.id, "test", "9001").await.unwrap());
    let done = queue
        .claim("test", Duration::from_secs(600), "key-2")
        .await
        .unwrap()
        .unwrap();
    assert!(queue.set_running(done.id, "test", "9002").await.unwrap());
    let (db, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    db.execute(
        "UPDATE fleet_items SET state = 'done' WHERE id = $1",
        &[&done.id],
    )
    .await
    .unwrap();

    let replica = Replica::start(&shell, &url, "hook-a").await;
    let http = ReqwestTransport::new().unwrap();
    for (job, event, status) in [
        (9001, "scraper.data.scraped", "in_progress"),
        (9001, "scraper.job.finished", "finished"),
        (9002, "scraper.job.finished", "finished"),
        (7777, "scraper.job.finished", "finished"),
        (7778, "scraper.job.finished", "finished"),
    ] {
        let body = json!({"event": event, "jobId": job, "jobStatus": status});
        assert_eq!(post(&http, &replica.url, SECRET, &body).await, 200);
    }
    replica.stop().await;
    // All but 7778's recorded a month ago.
    db.execute(
        "UPDATE fleet_webhook_events SET received_at = now() - interval '30 days'
         WHERE job_id <> '7778'",
        &[],
    )
    .await
    .unwrap();

    let pruned = shell
        .run(&[
            "--ledger",
            &url,
            "--json",
            "webhook",
            "events",
            "--prune-older-than",
            "7d",
        ])
        .await;
    assert_eq!(pruned.code, 0, "{}", pruned.stderr);
    let report = pruned.json_lines().remove(0);
    valid("cli.webhook-prune", &report);
    assert_eq!(report["pruned"], 2, "9002's (done) and 7777's (no item)");
    assert_eq!(report["olderThanSecs"], 7 * 86_400);
    let left: Vec<String> = db
        .query(
            "SELECT job_id FROM fleet_webhook_events ORDER BY job_id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(
        left,
        ["7778", "9001", "9001"],
        "the running item's, and the recent one"
    );
    // The waiting worker still finds its job's end, with the rows of every event.
    let terminal = queue.events().terminal("9001").await.unwrap();
    assert_eq!(terminal.map(|t| t.job_status).as_deref(), Some("finished"));

    let usage = shell
        .run(&[
            "--ledger",
            &url,
            "webhook",
            "events",
            "--prune-older-than",
            "0d",
        ])
        .await;
    assert_eq!(usage.code, 2, "{}", usage.stderr);
    assert!(
        usage.stderr.contains("--prune-older-than"),
        "{}",
        usage.stderr
    );

    // The item finishes, and everything grows old: a replica with --retain prunes at start.
    db.execute(
        "UPDATE fleet_items SET state = 'done' WHERE id = $1",
        &[&running.id],
    )
    .await
    .unwrap();
    db.execute(
        "UPDATE fleet_webhook_events SET received_at = now() - interval '8 days'",
        &[],
    )
    .await
    .unwrap();
    let pruning = Replica::start_with(
        &shell,
        Some(&url),
        &["--port", "0", "--name", "hook-b", "--retain", "7d"],
    )
    .await;
    crate::until("the replica prunes", || async {
        (count(&db, "SELECT count(*) FROM fleet_webhook_events").await == 0).then_some(())
    })
    .await;
    // What it records now is kept.
    let fresh = json!({"event": "scraper.job.finished", "jobId": 1, "jobStatus": "finished"});
    assert_eq!(post(&http, &pruning.url, SECRET, &fresh).await, 200);
    assert_eq!(
        count(&db, "SELECT count(*) FROM fleet_webhook_events").await,
        1
    );
    pruning.stop().await;

    let sqlite = shell.path("ledger.db");
    let refused = shell
        .run(&[
            "--ledger",
            sqlite.to_str().unwrap(),
            "webhook",
            "listen",
            "--port",
            "0",
            "--secret-header",
            "x-hook-secret:s",
            "--retain",
            "7d",
        ])
        .await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("--retain"), "{}", refused.stderr);
}

/// `--bind` listens beyond loopback (all IPv4 interfaces here), or on IPv6's loopback, and says
/// what binding beyond loopback means. The listener without a database prints a body that is
/// not a JSON object whole, never drops it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_listens_where_asked_and_every_body_is_printed() {
    let shell = Shell::quick().await;
    let http = ReqwestTransport::new().unwrap();
    let everywhere = Replica::start_with(&shell, None, &["--bind", "0.0.0.0:0"]).await;
    assert!(
        everywhere.url.starts_with("http://0.0.0.0:"),
        "{}",
        everywhere.url
    );
    let local = everywhere.url.replacen("0.0.0.0", "127.0.0.1", 1);
    let event = json!({"event": "scraper.job.finished", "jobId": 7, "jobStatus": "finished"});
    assert_eq!(post(&http, &local, SECRET, &event).await, 200);
    for body in ["[]", r#""x""#, "42"] {
        assert_eq!(post_text(&http, &local, SECRET, body).await, 200, "{body}");
    }
    let big = r#"{"event":"scraper.job.finished","jobId":18446744073709551616}"#;
    assert_eq!(post_text(&http, &local, SECRET, big).await, 200);
    let (out, err) = everywhere.stop().await;
    let lines: Vec<Value> = out
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert_eq!(lines[0]["jobId"], "7");
    assert_eq!(lines[1]["unrecognisedBody"], json!([]));
    assert_eq!(lines[2]["unrecognisedBody"], "x");
    assert_eq!(lines[3]["unrecognisedBody"], 42);
    assert_eq!(lines[4]["jobId"], "18446744073709551616");
    assert!(err.contains("in clear"), "the warning: {err}");
    assert!(!err.contains(SECRET) && !out.contains(SECRET));

    let v6 = Replica::start_with(&shell, None, &["--bind", "[::1]:0"]).await;
    assert!(v6.url.starts_with("http://[::1]:"), "{}", v6.url);
    assert_eq!(post(&http, &v6.url, SECRET, &event).await, 200);
    let (out, err) = v6.stop().await;
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(!err.contains("in clear"), "loopback: no warning: {err}");

    let bad = shell
        .run(&[
            "webhook",
            "listen",
            "--bind",
            "localhost",
            "--secret-header",
            "x-hook-secret:s",
        ])
        .await;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("ADDR:PORT"), "{}", bad.stderr);
}
