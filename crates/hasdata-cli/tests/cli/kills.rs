//! The submit fault matrix: `hasdata submit` and `hasdata submit --bodies` killed with SIGKILL
//! at seeded random points, against a simulator that also loses submit answers.
//!
//! After every trial, every job the simulator created must be in the ledger with its id, or
//! covered by an unresolved intent carrying the same Idempotency-Key; and a bulk file run
//! again after the kill must never create a second job for a line. The short matrix runs in
//! `cargo test`; the long one (`kill_matrix_long`, ignored) is what `docs/reliability.md`
//! reports: `cargo test -p hasdata-cli --test cli kill_matrix_long -- --ignored --nocapture`.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use hasdata_ledger::{IntentState, JobLedger, SqliteLedger};
use hasdata_sim::SimConfig;

use crate::Shell;

/// A small deterministic generator (splitmix64): the same seed gives the same kill points.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}

/// What a profile's trials gave.
#[derive(Debug, Default)]
struct Figures {
    trials: u64,
    killed: u64,
    finished: u64,
    jobs_created: u64,
    in_ledger_by_id: u64,
    covered_by_uncertain: u64,
    unaccounted: u64,
    uncertain_without_job: u64,
    lines: u64,
    lines_billed_twice: u64,
    lines_unsent_after_rerun: u64,
}

fn shell_config(faults: &str, seed: u64) -> SimConfig {
    SimConfig {
        faults: faults.parse().unwrap(),
        seed,
        max_running: 100_000,
        job_duration: Duration::from_secs(3600),
        ..SimConfig::default()
    }
}

/// Runs `args`, kills it with SIGKILL after `delay` unless it ended first; whether it was
/// killed.
async fn kill_after(shell: &Shell, args: &[&str], delay: Duration) -> bool {
    let mut child = shell
        .command(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    tokio::time::sleep(delay).await;
    let ended = child.try_wait().unwrap().is_some();
    if !ended {
        let _ = child.kill();
    }
    tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    !ended
}

/// Checks every job the simulator created against the ledger, and counts.
async fn account(shell: &Shell, figures: &mut Figures) {
    let ledger = SqliteLedger::open(&shell.path("ledger.sqlite"), shell.sim.base_url()).unwrap();
    let created = shell.sim.created_jobs();
    figures.jobs_created += created.len() as u64;
    for job in &created {
        let key = job
            .idempotency_key
            .as_deref()
            .expect("every POST carries a key");
        let intent = ledger.intent(key).await.unwrap();
        if let Some(entry) = ledger.get(hasdata_model::JobId::from(job.id)).unwrap() {
            assert_eq!(entry.intent_key.as_deref(), Some(key), "job {}", job.id);
            figures.in_ledger_by_id += 1;
        } else if intent.as_ref().is_some_and(|i| i.state.is_unresolved()) {
            figures.covered_by_uncertain += 1;
        } else {
            figures.unaccounted += 1;
            eprintln!("job {} is unaccounted for: intent {intent:?}", job.id);
        }
        if let Some(intent) = intent {
            assert_ne!(
                intent.state,
                IntentState::Refused,
                "a refused intent never has a job"
            );
        }
    }
    let with_jobs: std::collections::BTreeSet<String> = created
        .iter()
        .filter_map(|j| j.idempotency_key.clone())
        .collect();
    figures.uncertain_without_job += ledger
        .intents()
        .await
        .unwrap()
        .iter()
        .filter(|i| i.state.is_unresolved() && !with_jobs.contains(&i.intent.key))
        .count() as u64;
}

/// Single submits killed at a random point in `0..window_ms`.
async fn single_submits(trials: u64, faults: &str, seed: u64, window_ms: u64) -> Figures {
    let shell = Shell::start(shell_config(faults, seed)).await;
    let body = shell.file("body.json", r#"{"urls": ["https://a.example"]}"#);
    let mut rng = Seeded(seed);
    let mut figures = Figures::default();
    for _ in 0..trials {
        let delay = Duration::from_millis(rng.below(window_ms));
        let killed = kill_after(&shell, &["submit", "contacts", "--body", &body], delay).await;
        figures.trials += 1;
        if killed {
            figures.killed += 1;
        } else {
            figures.finished += 1;
        }
    }
    account(&shell, &mut figures).await;
    figures
}

/// Bulk submits of `lines` lines killed at a random point in `0..window_ms`, then run again
/// to the end: no line may get a second job, and none may stay unsent.
async fn bulk_submits(trials: u64, lines: u64, faults: &str, seed: u64, window_ms: u64) -> Figures {
    let shell = Shell::start(shell_config(faults, seed)).await;
    let mut rng = Seeded(seed);
    let mut figures = Figures::default();
    for trial in 0..trials {
        let text = (1..=lines)
            .map(|i| format!(r#"{{"urls": ["https://t{trial}-l{i}.example"]}}"#))
            .collect::<Vec<_>>()
            .join("\n");
        let path = shell.file(&format!("bodies-{trial}.jsonl"), &text);
        let args = [
            "submit",
            "contacts",
            "--bodies",
            &path,
            "--concurrency",
            "2",
        ];
        let delay = Duration::from_millis(rng.below(window_ms));
        let killed = kill_after(&shell, &args, delay).await;
        figures.trials += 1;
        if killed {
            figures.killed += 1;
        } else {
            figures.finished += 1;
        }
        // The rerun ends on its own (lost answers make it exit 1, which is fine here).
        shell.run(&args).await;
    }
    account(&shell, &mut figures).await;
    // Jobs per line, through the intent each job's key names.
    let ledger = SqliteLedger::open(&shell.path("ledger.sqlite"), shell.sim.base_url()).unwrap();
    let intents: BTreeMap<String, _> = ledger
        .intents()
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.intent.key.clone(), i))
        .collect();
    let mut per_line: BTreeMap<String, u64> = BTreeMap::new();
    for job in shell.sim.created_jobs() {
        let origin = job
            .idempotency_key
            .as_ref()
            .and_then(|k| intents.get(k))
            .and_then(|i| i.intent.origin.clone())
            .expect("every job's intent names its line");
        *per_line.entry(origin.to_string()).or_default() += 1;
    }
    figures.lines = trials * lines;
    figures.lines_billed_twice = per_line.values().filter(|n| **n > 1).count() as u64;
    // Every line has an intent that is submitted or unresolved: nothing stayed unsent.
    let mut settled = std::collections::BTreeSet::new();
    for intent in intents.values() {
        if intent.state == IntentState::Submitted || intent.state.is_unresolved() {
            settled.insert(intent.intent.origin.as_ref().unwrap().to_string());
        }
    }
    figures.lines_unsent_after_rerun = figures.lines - settled.len() as u64;
    figures
}

/// `hasdata run` to the end (no kill) against lost submit answers: a run whose answer was lost
/// fails, and its job must still be covered.
async fn runs_with_lost_answers(trials: u64, seed: u64) -> Figures {
    let shell = Shell::start(SimConfig {
        job_duration: Duration::from_millis(50),
        ..shell_config("submit:lose-response=0.3", seed)
    })
    .await;
    let body = shell.file("body.json", r#"{"urls": ["https://a.example"]}"#);
    let mut figures = Figures::default();
    for trial in 0..trials {
        let out = format!("rows-{trial}.jsonl");
        let ran = shell
            .run(&crate::fast(&[
                "run", "contacts", "--body", &body, "--out", &out,
            ]))
            .await;
        figures.trials += 1;
        if ran.code == 0 {
            figures.finished += 1;
        } else {
            assert!(ran.stderr.contains("may exist"), "{}", ran.stderr);
        }
    }
    account(&shell, &mut figures).await;
    figures
}

fn check(profile: &str, figures: &Figures) {
    println!("{profile}: {figures:?}");
    assert_eq!(figures.unaccounted, 0, "{profile}: {figures:?}");
    assert_eq!(figures.lines_billed_twice, 0, "{profile}: {figures:?}");
    assert_eq!(
        figures.lines_unsent_after_rerun, 0,
        "{profile}: {figures:?}"
    );
    assert_eq!(
        figures.in_ledger_by_id + figures.covered_by_uncertain,
        figures.jobs_created
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_matrix_short() {
    check(
        "single submit, killed",
        &single_submits(4, "", 11, 80).await,
    );
    check(
        "single submit, killed, 30% answers lost",
        &single_submits(4, "submit:lose-response=0.3", 12, 80).await,
    );
    check(
        "run, 30% answers lost",
        &runs_with_lost_answers(3, 14).await,
    );
    check(
        "bulk submit of 6 lines, killed, 30% answers lost, rerun",
        &bulk_submits(
            2,
            6,
            "submit:lose-response=0.3,submit:latency=10ms",
            13,
            100,
        )
        .await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the long matrix (under a minute): run by hand for docs/reliability.md"]
async fn kill_matrix_long() {
    check(
        "single submit, killed",
        &single_submits(100, "", 21, 60).await,
    );
    check(
        "single submit, killed, 30% answers lost",
        &single_submits(100, "submit:lose-response=0.3", 22, 60).await,
    );
    check(
        "run, 30% answers lost",
        &runs_with_lost_answers(20, 24).await,
    );
    check(
        "bulk submit of 10 lines, killed, 30% answers lost, rerun",
        &bulk_submits(40, 10, "submit:lose-response=0.3", 23, 300).await,
    );
}
