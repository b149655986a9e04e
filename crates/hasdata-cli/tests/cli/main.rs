//! The `hasdata` binary against hasdata-sim: every command's happy path and failure paths.

#![allow(clippy::unwrap_used, missing_docs)]

mod bulk;
mod commands;
mod conventions;
mod counts;
mod csv_rows;
mod edges;
mod exports;
mod failures;
mod fixes;
mod fleet;
mod kills;
mod ledger;
mod ledger_files;
mod ledger_locks;
mod ledger_values;
mod loopback;
mod pipes;
mod postgres;
mod receivers;
mod retries;
mod secrets;
mod shapes;
mod sim_shapes;
mod submit_signals;
mod validation;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use hasdata_sim::{SimConfig, SimHandle, Simulator};
use serde_json::Value;

/// A key that must never appear in any output.
pub const KEY: &str = "cli-test-key-5e1f9a";

/// A simulator, a ledger in a temporary directory, and the binary pointed at both.
pub struct Shell {
    pub sim: SimHandle,
    pub dir: tempfile::TempDir,
}

/// What a run of the binary gave.
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    fn from(output: Output) -> Ran {
        let ran = Ran {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        assert!(
            !ran.stdout.contains(KEY) && !ran.stderr.contains(KEY),
            "the key leaked: {}{}",
            ran.stdout,
            ran.stderr
        );
        ran
    }

    /// stdout as JSON lines; panics on a line that is not JSON.
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|line| {
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("not a JSON line: {line:?}: {e}"))
            })
            .collect()
    }
}

impl Shell {
    pub async fn start(config: SimConfig) -> Shell {
        Shell {
            sim: Simulator::start(SimConfig {
                api_key: KEY.into(),
                ..config
            })
            .await
            .unwrap(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub async fn quick() -> Shell {
        Shell::start(SimConfig {
            job_duration: Duration::from_millis(300),
            max_running: 50,
            ..SimConfig::default()
        })
        .await
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file in the temporary directory.
    pub fn file(&self, name: &str, text: &str) -> String {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hasdata"));
        command
            .args(args)
            .env("HASDATA_API_KEY", KEY)
            .env("HASDATA_BASE_URL", self.sim.base_url())
            .env("HASDATA_LEDGER", self.path("ledger.sqlite"))
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        command
    }

    /// Runs the binary to completion without blocking the simulator's runtime.
    pub async fn run(&self, args: &[&str]) -> Ran {
        ran(self.command(args)).await
    }

    /// Submits `body_path` to `slug` and returns the printed job id, failing loudly if the
    /// submit failed.
    pub async fn submitted(&self, slug: &str, body_path: &str) -> String {
        let ran = self.run(&["submit", slug, "--body", body_path]).await;
        assert_eq!(ran.code, 0, "submit failed: {}", ran.stderr);
        ran.stdout.trim().to_owned()
    }

    /// The fast poll flags every waiting command gets in tests.
    pub const FAST: [&'static str; 6] = [
        "--poll-initial",
        "0.05",
        "--poll-cap",
        "0.2",
        "--poll-factor",
        "1.5",
    ];
}

/// `args` followed by the fast poll flags.
pub fn fast<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = args.to_vec();
    all.extend(Shell::FAST);
    all
}

/// Waits until `check` gives a value, asking every 20 ms. The deadline is a generous two
/// minutes: it only turns a hang into a failure, it is never a timing assumption.
pub async fn until<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "gave up waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A count as the CLI prints it: kept as the API sent it, a number or a decimal string.
pub fn count(value: &Value) -> u64 {
    value
        .as_u64()
        .or_else(|| {
            value
                .as_str()
                .and_then(|s| s.split('.').next()?.parse().ok())
        })
        .unwrap_or_else(|| panic!("not a count: {value}"))
}

/// Whether `stderr` names the ledger's flag as the CLI does, and says each of `parts` (the
/// file or server, what is wrong with it).
pub fn names_the_ledger(stderr: &str, parts: &[&str]) -> bool {
    stderr.contains("--ledger (or HASDATA_LEDGER)")
        && parts.iter().all(|part| stderr.contains(part))
}

/// Sends `signal` (`-INT` for Ctrl-C, `-TERM`, `-KILL`) to process `pid`.
pub fn send_signal(pid: u32, signal: &str) {
    let sent = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill {signal} {pid}");
}

/// Sends `signal` to `child` and waits for its end and output, a minute at most: a command
/// still running by then did not hear the signal (a hang, not slowness), so it is killed and
/// the test fails, naming `what` it was.
pub async fn signal_and_wait(child: std::process::Child, signal: &str, what: &str) -> Output {
    let pid = child.id();
    send_signal(pid, signal);
    let waited = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()),
    )
    .await;
    let Ok(output) = waited else {
        send_signal(pid, "-KILL");
        panic!("{what} did not end on {signal}");
    };
    output.unwrap()
}

/// Runs `command` to its end, off the runtime's threads: its exit code and output.
pub async fn ran(mut command: Command) -> Ran {
    Ran::from(
        tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap(),
    )
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}
