//! The fleet test: three `hasdata worker` processes drain 200 queued bodies from one
//! PostgreSQL database into JSONL files while a random worker is killed with SIGKILL every
//! couple of seconds and restarted. The simulator's running-jobs cap is 8, as is the fleet's.
//!
//! It asserts: exactly 200 jobs created (no item submitted twice); every job's rows in the sink
//! exactly once, equal to what the simulator serves; the simulator's peak of running jobs never
//! above 8. A submit cut between its intent and its answer is parked; the test resolves it as a
//! person would (the simulator's log plays the dashboard) with `hasdata queue resolve`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use hasdata_fleet::{ItemState, Queue};
use hasdata_sim::SimConfig;
use hasdata_testpg::TestPg;

use crate::Shell;

/// Checks `value` against the published schema `name` (`cli.queue-status`, ...).
fn valid(name: &str, value: &serde_json::Value) {
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

const ITEMS: usize = 200;
const WORKERS: usize = 3;
const CAP: usize = 8;

/// A small deterministic generator (splitmix64) for which worker dies and when.
struct Seeded(u64);

impl Seeded {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % bound.max(1)
    }
}

struct Fleet<'a> {
    shell: &'a Shell,
    url: String,
    out: std::path::PathBuf,
    workers: Vec<Child>,
    started: usize,
}

impl Fleet<'_> {
    fn spawn(&mut self) -> Child {
        self.started += 1;
        let log = std::fs::File::create(self.shell.path(&format!("worker-{}.log", self.started)))
            .unwrap();
        self.shell
            .command(&[
                "worker",
                "--out-dir",
                self.out.to_str().unwrap(),
                "--concurrency",
                "4",
                "--lease",
                "2",
                "--idle-poll",
                "0.1",
                "--retry-delay",
                "0.2",
                "--poll-initial",
                "0.05",
                "--poll-cap",
                "0.3",
            ])
            .env("HASDATA_LEDGER", &self.url)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_killed_at_random_lose_nothing_and_submit_nothing_twice() {
    let Some(pg) = TestPg::shared().await else {
        return;
    };
    let url = pg.fresh_database().await;
    let shell = Shell::start(SimConfig {
        job_duration: Duration::from_millis(400),
        max_running: CAP,
        ..SimConfig::default()
    })
    .await;
    let bodies: String = (0..ITEMS)
        .map(|i| {
            let urls: Vec<String> = (0..i % 4 + 1)
                .map(|u| format!("https://fleet{i}.example/{u}"))
                .collect();
            format!("{}\n", serde_json::json!({ "urls": urls }))
        })
        .collect();
    // Every line twice: the queue keeps one item per body.
    let file = shell.file("bodies.jsonl", &format!("{bodies}{bodies}"));
    let with_db = |args: &[&str]| {
        let mut command = shell.command(args);
        command.env("HASDATA_LEDGER", &url);
        command
    };
    let added = with_db(&["--json", "queue", "add", "contacts", "--bodies", &file])
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let added: serde_json::Value = serde_json::from_slice(&added.stdout).unwrap();
    assert_eq!(
        added,
        serde_json::json!({"added": ITEMS, "duplicates": ITEMS, "warnings": []})
    );
    assert!(
        with_db(&["queue", "cap", &CAP.to_string()])
            .status()
            .unwrap()
            .success()
    );

    let queue = Queue::connect(&url, 2).await.unwrap();
    let mut fleet = Fleet {
        shell: &shell,
        url: url.clone(),
        out: shell.path("out"),
        workers: Vec::new(),
        started: 0,
    };
    for _ in 0..WORKERS {
        let child = fleet.spawn();
        fleet.workers.push(child);
    }

    let mut rng = Seeded(0x5eed_f1ee7);
    let mut kills = 0;
    let mut resolved = 0;
    let began = Instant::now();
    let deadline = began + Duration::from_secs(240);
    let mut next_kill = Instant::now() + Duration::from_millis(1000 + rng.below(1500));
    loop {
        let status = queue.status().await.unwrap();
        if status.counts[&ItemState::Done] == ITEMS as u64 {
            break;
        }
        assert_eq!(status.counts[&ItemState::Failed], 0, "{status:?}");
        assert!(
            Instant::now() < deadline,
            "the fleet did not finish: {status:?}"
        );
        if Instant::now() >= next_kill {
            let victim = rng.below(WORKERS as u64) as usize;
            fleet.workers[victim].kill().unwrap(); // SIGKILL
            fleet.workers[victim].wait().unwrap();
            kills += 1;
            let child = fleet.spawn();
            fleet.workers[victim] = child;
            next_kill = Instant::now() + Duration::from_millis(1000 + rng.below(1500));
        }
        // A person resolves parked items, with the simulator's log as the dashboard.
        for item in queue.list(Some(ItemState::Parked), 100).await.unwrap() {
            let key = item.intent_key.clone().unwrap();
            let created = shell
                .sim
                .created_jobs()
                .into_iter()
                .find(|job| job.idempotency_key.as_deref() == Some(key.as_str()));
            let item_id = item.id.to_string();
            let answer = match &created {
                Some(job) => vec!["queue", "resolve", &item_id, "--job-id"]
                    .into_iter()
                    .map(str::to_owned)
                    .chain([job.id.to_string()])
                    .collect::<Vec<_>>(),
                None => vec![
                    "queue".into(),
                    "resolve".into(),
                    item_id,
                    "--not-created".into(),
                ],
            };
            let args: Vec<&str> = answer.iter().map(String::as_str).collect();
            assert!(with_db(&args).status().unwrap().success());
            resolved += 1;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = began.elapsed();
    // A graceful stop for the survivors: SIGTERM, exit 0.
    for worker in &mut fleet.workers {
        let pid = worker.id().to_string();
        assert!(
            std::process::Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
    }
    for worker in &mut fleet.workers {
        let status = tokio::task::block_in_place(|| worker.wait().unwrap());
        assert!(
            status.success(),
            "a worker stopped by SIGTERM exits 0: {status}"
        );
    }

    // Exactly one job per item, none submitted twice.
    let created = shell.sim.created_jobs();
    let keys: BTreeSet<_> = created.iter().map(|j| j.idempotency_key.clone()).collect();
    assert_eq!(created.len(), ITEMS, "exactly {ITEMS} jobs created");
    assert_eq!(keys.len(), ITEMS);
    // Every job's rows in the sink exactly once: one file per job, its rows as served.
    let items = queue.list(None, 1000).await.unwrap();
    let by_job: BTreeMap<u64, _> = items
        .iter()
        .map(|item| {
            (
                item.job_id.as_deref().unwrap().parse::<u64>().unwrap(),
                item,
            )
        })
        .collect();
    assert_eq!(by_job.len(), ITEMS, "one job per item");
    let mut expected_rows = 0;
    let mut sink_rows = 0;
    let mut seen = BTreeSet::new();
    for job in &created {
        let expected = shell.sim.expected_rows(job.id).unwrap();
        expected_rows += expected.len();
        let file = fleet.out.join(format!("{}.jsonl", job.id));
        let rows: Vec<serde_json::Value> = std::fs::read_to_string(&file)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        for index in 0..rows.len() {
            assert!(
                seen.insert((job.id, index)),
                "row ({}, {index}) twice",
                job.id
            );
        }
        sink_rows += rows.len();
        assert_eq!(rows, expected, "job {}", job.id);
        assert_eq!(by_job[&job.id].rows, Some(rows.len() as i64));
    }
    let visible: Vec<_> = std::fs::read_dir(&fleet.out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| !name.starts_with('.'))
        .collect();
    assert_eq!(
        visible.len(),
        ITEMS,
        "one file per job, nothing else visible"
    );
    assert_eq!(
        sink_rows, expected_rows,
        "rows in the sink = the sum of dataRowsCount"
    );
    let peak = shell.sim.peak_running();
    assert!(
        peak <= CAP as u64,
        "the simulator saw {peak} running jobs at once"
    );
    assert!(kills >= 2, "the workers were killed ({kills})");
    eprintln!(
        "fleet: {ITEMS} jobs, {expected_rows} rows in {elapsed:?} with {kills} SIGKILLs, \
         {resolved} parked items resolved, peak running {peak}/{CAP}, submits {:?}",
        shell.sim.requests().get("submit")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_commands_and_a_parquet_worker() {
    let Some(pg) = TestPg::shared().await else {
        return;
    };
    let url = pg.fresh_database().await;
    let shell = Shell::quick().await;
    let run = |args: &[&str]| {
        let mut command = shell.command(args);
        command.env("HASDATA_LEDGER", &url);
        let output = command.output().unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    // A bad line adds nothing and names the line.
    let bad = shell.file(
        "bad.jsonl",
        "{\"urls\": [\"https://a.example\"]}\n\n{\"urls\": 5}\n",
    );
    let (code, _, stderr) = run(&["queue", "add", "contacts", "--bodies", &bad]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("nothing was queued: line 3: "),
        "lines are named as submit --bodies names them: {stderr}"
    );
    let good = shell.file(
        "good.jsonl",
        "{\"urls\": [\"https://a.example\"]}\n{\"urls\": [\"https://b.example\", \"https://c.example\"]}\n",
    );
    let (code, stdout, stderr) = run(&["queue", "add", "contacts", "--bodies", &good]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim(), "added 2 items, 0 already queued");
    // Warnings are printed as a bulk submit prints them: on stderr, and per line in --json;
    // --strict refuses them, as it does for submit.
    let warned = shell.file(
        "warned.jsonl",
        "{\"urls\": [\"https://w.example\"], \"proxyCountry\": \"ES\"}\n",
    );
    let (code, _, stderr) = run(&["queue", "add", "crawler", "--strict", "--bodies", &warned]);
    assert_eq!(code, 2, "{stderr}");
    let (code, stdout, stderr) = run(&["--json", "queue", "add", "crawler", "--bodies", &warned]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("hasdata: line 1: warning: proxyCountry"),
        "{stderr}"
    );
    let added: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    valid("cli.queue-add", &added);
    assert_eq!(added["added"], 1);
    assert_eq!(added["warnings"][0]["line"], 1, "{added}");
    assert_eq!(
        added["warnings"][0]["warnings"][0]["path"], "proxyCountry",
        "{added}"
    );
    let (_, stdout, _) = run(&["--json", "queue", "status"]);
    let status: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    valid("cli.queue-status", &status);
    assert_eq!(status["counts"]["queued"], 3);
    assert_eq!(status["total"], 3);
    assert_eq!(status["maxRunning"], 5, "the default cap");

    let out = shell.path("pq");
    let (code, _, stderr) = run(&[
        "worker",
        // Relative to the worker's directory: stored absolute all the same.
        "--out-dir",
        "pq",
        "--sink",
        "parquet",
        "--exit-when-idle",
        "--idle-poll",
        "0.05",
        "--poll-initial",
        "0.05",
        "--poll-cap",
        "0.2",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = run(&[
        "--json",
        "worker",
        "--out-dir",
        out.to_str().unwrap(),
        "--exit-when-idle",
        "--idle-poll",
        "0.05",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    valid("cli.worker-report", &report);
    let files: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 3);
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"),
            "{}",
            file.display()
        );
    }
    let (_, stdout, _) = run(&["--json", "queue", "list", "--state", "done"]);
    assert_eq!(stdout.lines().count(), 3);
    for line in stdout.lines() {
        valid("cli.queue-item", &serde_json::from_str(line).unwrap());
    }
    let (_, listed, _) = run(&["--json", "jobs", "list"]);
    let mut collected = 0;
    for line in stdout.lines().chain(listed.lines()) {
        let item: serde_json::Value = serde_json::from_str(line).unwrap();
        for key in ["output", "collectedTo"] {
            if let Some(path) = item.get(key).and_then(serde_json::Value::as_str) {
                collected += 1;
                assert!(
                    std::path::Path::new(path).starts_with(&out),
                    "{key} {path} is not absolute under {}",
                    out.display()
                );
            }
        }
    }
    assert_eq!(collected, 6, "{stdout}{listed}");
    // Without a PostgreSQL URL the queue commands say what they need.
    let mut command = shell.command(&["queue", "status"]);
    let output = command.output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--ledger postgres://"));
}

/// Drains `bodies` with `workers` worker processes of `concurrency` each; the wall time.
async fn drain_with(
    workers: usize,
    concurrency: usize,
    slug: &str,
    bodies: &str,
    config: SimConfig,
) -> Duration {
    let pg = TestPg::shared().await.unwrap();
    let url = pg.fresh_database().await;
    let shell = Shell::start(config).await;
    let file = shell.file("bodies.jsonl", bodies);
    let with_db = |args: &[&str]| {
        let mut command = shell.command(args);
        command.env("HASDATA_LEDGER", &url);
        command
    };
    assert!(
        with_db(&["queue", "add", slug, "--bodies", &file])
            .status()
            .unwrap()
            .success()
    );
    assert!(with_db(&["queue", "cap", "8"]).status().unwrap().success());
    let out = shell.path("out");
    let concurrency = concurrency.to_string();
    let began = Instant::now();
    let children: Vec<Child> = (0..workers)
        .map(|_| {
            with_db(&[
                "worker",
                "--out-dir",
                out.to_str().unwrap(),
                "--concurrency",
                &concurrency,
                "--exit-when-idle",
                "--idle-poll",
                "0.05",
                "--poll-initial",
                "0.05",
                "--poll-cap",
                "0.2",
            ])
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
        })
        .collect();
    for mut child in children {
        let status = tokio::task::block_in_place(|| child.wait().unwrap());
        assert!(status.success());
    }
    let took = began.elapsed();
    assert!(shell.sim.peak_running() <= 8);
    took
}

/// Fleet against single process on the same simulator, for docs/scale-out.md:
/// `cargo test -p hasdata-cli --test cli fleet_throughput -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run by hand for docs/scale-out.md"]
async fn fleet_throughput() {
    // API-bound: 1 s jobs, cap 8, few rows each.
    let jobs = 120;
    let bodies: String = (0..jobs)
        .map(|i| {
            format!(
                "{}\n",
                serde_json::json!({"urls": [format!("https://t{i}.example")]})
            )
        })
        .collect();
    let api_bound = || SimConfig {
        job_duration: Duration::from_secs(1),
        max_running: CAP,
        ..SimConfig::default()
    };
    // Client-bound: jobs end at once with 5,000 rows each to collect.
    let heavy_jobs = 40;
    let heavy: String = (0..heavy_jobs)
        .map(|i| {
            format!(
                "{}\n",
                serde_json::json!({"urls": [format!("https://h{i}.example")], "limit": 5000})
            )
        })
        .collect();
    let client_bound = || SimConfig {
        job_duration: Duration::ZERO,
        max_running: CAP,
        ..SimConfig::default()
    };
    for (name, count, slug, text, config) in [
        (
            "api-bound",
            jobs,
            "contacts",
            &bodies,
            api_bound as fn() -> SimConfig,
        ),
        (
            "client-bound",
            heavy_jobs,
            "crawler",
            &heavy,
            client_bound as fn() -> SimConfig,
        ),
    ] {
        let single = drain_with(1, 8, slug, text, config()).await;
        let fleet = drain_with(3, 4, slug, text, config()).await;
        let rate = |d: Duration| count as f64 / d.as_secs_f64() * 60.0;
        eprintln!(
            "{name}: {count} jobs; 1 worker x8: {single:?} ({:.0} jobs/min); 3 workers x4: {fleet:?} ({:.0} jobs/min)",
            rate(single),
            rate(fleet)
        );
    }
}

/// Flags are checked before anything is read or sent: exit 2, naming the flag and what it
/// expects. The ledger URL points at nothing, so a command that got past its checks would
/// fail differently (exit 1, "unreachable").
#[tokio::test]
async fn bad_flags_and_empty_bodies_are_refused_before_anything_is_sent() {
    let shell = Shell::quick().await;
    let nowhere = "postgres://app@127.0.0.1:1/none?connect_timeout=1";
    let empty = shell.file("empty.jsonl", "");
    let blank = shell.file("blank.jsonl", "\n  \n\n");
    let out = shell.path("out");
    let out = out.to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["queue", "resolve", "1", "--job-id", "abc"], "--job-id"),
        (&["queue", "resolve", "1", "--job-id", "0"], "--job-id"),
        (
            &["worker", "--out-dir", out, "--concurrency", "0"],
            "--concurrency",
        ),
        (&["worker", "--out-dir", out, "--lease", "0"], "--lease"),
        (&["worker", "--out-dir", out, "--lease", "0.5"], "--lease"),
        (
            &["worker", "--out-dir", out, "--idle-poll", "0"],
            "--idle-poll",
        ),
        (&["worker", "--out-dir", &empty], "--out-dir"),
        (&["queue", "cap", "0"], "MAX_RUNNING"),
        (&["queue", "list", "--limit", "0"], "--limit"),
        (
            &[
                "submit",
                "contacts",
                "--bodies",
                &empty,
                "--concurrency",
                "0",
            ],
            "--concurrency",
        ),
        (
            &["queue", "add", "contacts", "--bodies", &empty],
            "no bodies",
        ),
        (
            &["queue", "add", "contacts", "--bodies", &blank],
            "no bodies",
        ),
        (&["submit", "contacts", "--bodies", &blank], "no bodies"),
    ];
    for (args, named) in cases {
        let ran = shell
            .run(&[&["--ledger", nowhere][..], args].concat())
            .await;
        assert_eq!(ran.code, 2, "{args:?}: {}", ran.stderr);
        assert!(
            ran.stderr.contains(named),
            "{args:?} names {named}: {}",
            ran.stderr
        );
        assert!(
            !ran.stderr.contains("unreachable"),
            "{args:?}: {}",
            ran.stderr
        );
    }
    // What a person finds on the dashboard is accepted (then the unreachable ledger fails).
    for id in ["416349", "4f0c7a36-4b1e-4c4e-9d38-0b6f6c1f2a11"] {
        let ran = shell
            .run(&["--ledger", nowhere, "queue", "resolve", "1", "--job-id", id])
            .await;
        assert_eq!(ran.code, 1, "{id}: {}", ran.stderr);
    }
    assert_eq!(shell.sim.submits(), 0);
}

/// `queue resolve --job-id` asks the API for the job before recording it: an id the API does
/// not know (a typo) is exit 1 naming it, and the item stays parked with its intent unsettled.
/// Recording it moved the item to `running` with a job that does not exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolving_with_a_job_the_api_does_not_know_changes_nothing() {
    let Some(pg) = TestPg::shared().await else {
        return;
    };
    let url = pg.fresh_database().await;
    let shell = Shell::quick().await;
    let bodies = shell.file("one.jsonl", "{\"urls\": [\"https://a.example\"]}\n");
    let added = shell
        .run(&[
            "--ledger", &url, "queue", "add", "contacts", "--bodies", &bodies,
        ])
        .await;
    assert_eq!(added.code, 0, "{}", added.stderr);
    let (db, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    db.execute(
        "UPDATE fleet_items SET state = 'parked', intent_key = 'k-1', detail = 'cut'",
        &[],
    )
    .await
    .unwrap();
    let unknown = shell
        .run(&[
            "--ledger",
            &url,
            "queue",
            "resolve",
            "1",
            "--job-id",
            "987654321",
        ])
        .await;
    assert_eq!(unknown.code, 1, "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("987654321") && unknown.stderr.contains("no such job"),
        "{}",
        unknown.stderr
    );
    let row = db
        .query_one("SELECT state, job_id FROM fleet_items WHERE id = 1", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "parked");
    assert_eq!(row.get::<_, Option<String>>(1), None);
    // A job the API has is recorded.
    let submitted = shell
        .run(&[
            "submit",
            "contacts",
            "--body",
            &shell.file("b.json", "{\"urls\": [\"https://b.example\"]}"),
        ])
        .await;
    assert_eq!(submitted.code, 0, "{}", submitted.stderr);
    let id = shell.sim.created_jobs()[0].id.to_string();
    let known = shell
        .run(&["--ledger", &url, "queue", "resolve", "1", "--job-id", &id])
        .await;
    assert_eq!(known.code, 0, "{}", known.stderr);
    let row = db
        .query_one("SELECT state, job_id FROM fleet_items WHERE id = 1", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "running");
    assert_eq!(row.get::<_, Option<String>>(1), Some(id));
}

/// A queued body is stored as written (`fleet_items.body`), so a line whose `webhook.headers`
/// carry a value (a secret) is refused, naming the line and the field, never the value, and
/// pointing to the workers' `--webhook-url`; nothing is queued. `--allow-header-secrets`
/// stores it as written. Before, the secret sat in the shared database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_add_refuses_webhook_header_secrets_unless_allowed() {
    let Some(pg) = TestPg::shared().await else {
        return;
    };
    let url = pg.fresh_database().await;
    let shell = Shell::quick().await;
    let bodies = shell.file(
        "hooked.jsonl",
        concat!(
            "{\"urls\": [\"https://a.example\"]}\n",
            "{\"urls\": [\"https://b.example\"], \"webhook\": {\"url\": \"https://hooks.example/h\", ",
            "\"headers\": {\"Authorization\": \"Bearer q-s3cret-991\"}}}\n",
        ),
    );
    let refused = shell
        .run(&[
            "--ledger", &url, "queue", "add", "contacts", "--bodies", &bodies,
        ])
        .await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    for named in [
        "line 2: webhook.headers",
        "--webhook-url",
        "--allow-header-secrets",
    ] {
        assert!(
            refused.stderr.contains(named),
            "{named}: {}",
            refused.stderr
        );
    }
    assert!(
        !refused.stderr.contains("q-s3cret-991"),
        "{}",
        refused.stderr
    );
    let (db, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    // Refused before the queue was opened: its tables may not even exist yet.
    let queued = db
        .query("SELECT body FROM fleet_items", &[])
        .await
        .map_or(0, |rows| rows.len());
    assert_eq!(queued, 0, "nothing was queued");
    let allowed = shell
        .run(&[
            "--ledger",
            &url,
            "queue",
            "add",
            "contacts",
            "--allow-header-secrets",
            "--bodies",
            &bodies,
        ])
        .await;
    assert_eq!(allowed.code, 0, "{}", allowed.stderr);
    let rows = db.query("SELECT body FROM fleet_items", &[]).await.unwrap();
    assert_eq!(rows.len(), 2);
}

/// `worker --exit-when-idle` exits 7 when it stops with items a person must decide on (a
/// parked item, and a queued one it keeps from the cap), so `worker --exit-when-idle &&
/// load-the-rows` does not go on without their rows; the blocked-cap warning is said once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_exit_with_items_left_for_a_person_is_not_success() {
    let Some(pg) = TestPg::shared().await else {
        return;
    };
    let url = pg.fresh_database().await;
    let shell = Shell::start(SimConfig {
        job_duration: Duration::from_millis(100),
        faults: "submit:lose-response=1".parse().unwrap(),
        ..SimConfig::default()
    })
    .await;
    let run = |args: &[&str]| {
        let mut command = shell.command(args);
        command.env("HASDATA_LEDGER", &url);
        let output = command.output().unwrap();
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let bodies = shell.file(
        "two.jsonl",
        "{\"urls\": [\"https://a.example\"]}\n{\"urls\": [\"https://b.example\"]}\n",
    );
    assert_eq!(run(&["queue", "add", "contacts", "--bodies", &bodies]).0, 0);
    assert_eq!(run(&["queue", "cap", "1"]).0, 0);
    let (code, stderr) = run(&[
        "worker",
        "--out-dir",
        shell.path("out").to_str().unwrap(),
        "--concurrency",
        "4",
        "--exit-when-idle",
        "--idle-poll",
        "0.05",
    ]);
    assert_eq!(code, 7, "{stderr}");
    assert!(
        stderr.contains("the queue is not drained: 1 item parked")
            && stderr.contains("1 item queued behind them"),
        "{stderr}"
    );
    assert_eq!(
        stderr
            .matches("parked items hold every running-job slot")
            .count(),
        1,
        "{stderr}"
    );
}
