//! A real, throwaway PostgreSQL for the workspace's tests.
//!
//! Each test process starts at most one cluster (`initdb` + `pg_ctl` from the machine's PostgreSQL
//! server package) in a temporary directory, on a free loopback port, the first time a test asks
//! for it; each test then takes a fresh, empty database on it, which costs a `CREATE DATABASE`
//! (milliseconds) instead of a cluster start (a second or two).
//!
//! Why a real server rather than a mock: the PostgreSQL code under test relies on the server's
//! semantics (transactions, `ON CONFLICT`, `COPY`, `FOR UPDATE SKIP LOCKED`), which no mock
//! reproduces faithfully.
//!
//! Three rules shape the code:
//!
//! - **PostgreSQL refuses to run as root**, and CI runs as root. When we are root, `initdb`,
//!   `pg_ctl` and the server run as the unprivileged `nobody` account (set on the child process by
//!   the standard library, no `sudo`/`runuser` needed), in a directory owned by it.
//! - **No stale clusters**, even when a test panics or the test binary is killed: a tiny watchdog
//!   shell process reads a pipe whose write end only this process holds. The kernel closes that
//!   end when the process ends, however it ends (normal exit, panic, `SIGKILL`), and the watchdog
//!   then stops the cluster (`pg_ctl stop -m immediate`) and removes the directory. Dropping a
//!   [`TestPg`] closes the pipe too.
//! - **Missing PostgreSQL is loud**: [`TestPg::shared`] returns `None` after a banner on stderr, so
//!   a developer without the server package sees why tests did nothing; under `CI=true` it panics
//!   instead, so CI can never pass by skipping.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// The database superuser of the throwaway cluster (trust authentication, loopback only).
const SUPERUSER: &str = "postgres";

/// How many free ports to try when another process takes ours between probing and binding.
const PORT_ATTEMPTS: usize = 8;

/// Server settings for a disposable cluster: durability off (the data dies with the test), room
/// for several pools at once (fleet tests run a few worker processes), loopback only.
const SERVER_SETTINGS: &str = "\n# hasdata-testpg: a throwaway test cluster\n\
listen_addresses = '127.0.0.1'\n\
fsync = off\n\
synchronous_commit = off\n\
full_page_writes = off\n\
max_connections = 200\n\
shared_buffers = 32MB\n\
log_min_messages = warning\n";

/// A throwaway PostgreSQL cluster, stopped and deleted when the process ends (or when dropped).
pub struct TestPg {
    port: u16,
    dir: PathBuf,
    next_database: AtomicU64,
    /// The write end of the watchdog's pipe: closing it (drop or process exit) stops the cluster.
    _watchdog: Mutex<ChildStdin>,
}

impl std::fmt::Debug for TestPg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPg")
            .field("port", &self.port)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

static SHARED: OnceLock<Option<TestPg>> = OnceLock::new();

impl TestPg {
    /// One throwaway cluster per test process, started on first use and stopped at exit.
    ///
    /// Returns `None` when no PostgreSQL server binaries are installed, after printing a loud
    /// message to stderr; panics with that message instead when the environment has `CI=true`.
    /// Panics when PostgreSQL is installed but the cluster cannot start (that is a broken machine,
    /// not a missing optional tool).
    pub async fn shared() -> Option<&'static TestPg> {
        // Starting a cluster blocks for a second or two: keep it off the async worker threads.
        let started =
            tokio::task::spawn_blocking(|| SHARED.get_or_init(start_or_explain).as_ref()).await;
        match started {
            Ok(pg) => pg,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(error) => panic!("hasdata-testpg: starting PostgreSQL was cancelled: {error}"),
        }
    }

    /// Creates a fresh, empty database on this cluster and returns its `postgres://` URL.
    ///
    /// The URL has no password: the cluster trusts loopback connections from its superuser.
    pub async fn fresh_database(&self) -> String {
        let n = self.next_database.fetch_add(1, Ordering::Relaxed);
        let name = format!("test_{n}");
        let (client, connection) =
            tokio_postgres::connect(&self.admin_conninfo(), tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "hasdata-testpg: connecting to the test cluster on port {}: {e}",
                        self.port
                    )
                });
        let driver = tokio::spawn(connection);
        client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap_or_else(|e| panic!("hasdata-testpg: CREATE DATABASE {name}: {e}"));
        drop(client);
        // The connection task ends once the client is gone; an error here is only the goodbye.
        let _ = driver.await;
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{name}", self.port)
    }

    /// The loopback port the cluster listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's directory (data, log and socket), removed when the process ends.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A URL to the cluster's `postgres` maintenance database (for tests that inspect the server).
    pub fn admin_url(&self) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/postgres", self.port)
    }

    fn admin_conninfo(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user={SUPERUSER} dbname=postgres",
            self.port
        )
    }
}

/// Starts the cluster, or explains (loudly) why there is none.
fn start_or_explain() -> Option<TestPg> {
    let Some(bin) = find_bin_dir() else {
        let message = "hasdata-testpg: PostgreSQL server binaries (initdb, pg_ctl) not found in \
                       /usr/lib/postgresql/*/bin or on PATH; install them with \
                       `apt-get install postgresql` (or set HASDATA_TEST_PG_BIN to their directory)";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{message}; CI=true, so tests needing PostgreSQL fail instead of skipping");
        }
        eprintln!(
            "\n{}\n!! {message}\n!! Tests that need PostgreSQL are SKIPPED on this machine.\n{}\n",
            "!".repeat(78),
            "!".repeat(78)
        );
        return None;
    };
    match start(&bin) {
        Ok(pg) => Some(pg),
        Err(message) => panic!(
            "hasdata-testpg: could not start PostgreSQL from {}: {message}",
            bin.display()
        ),
    }
}

/// The directory holding `initdb` and `pg_ctl`: `HASDATA_TEST_PG_BIN`, else the newest
/// `/usr/lib/postgresql/<version>/bin` (Debian's layout), else wherever `PATH` finds `pg_ctl`.
fn find_bin_dir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("HASDATA_TEST_PG_BIN") {
        let dir = PathBuf::from(dir);
        return has_tools(&dir).then_some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry
                .file_name()
                .to_str()?
                .split('.')
                .next()?
                .parse()
                .ok()?;
            let bin = entry.path().join("bin");
            has_tools(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .find(|dir| has_tools(dir))
        .map(|dir| {
            // Follow a symlinked pg_ctl (e.g. /usr/local/bin) to the real directory, where the server
            // binary it starts lives too.
            fs::canonicalize(dir.join("pg_ctl"))
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf))
                .filter(|real| has_tools(real))
                .unwrap_or(dir)
        })
}

/// The account the cluster runs as: `None` means "as we are" (we are not root).
#[derive(Clone, Copy)]
struct RunAs {
    uid: u32,
    gid: u32,
}

fn run_as() -> Result<Option<RunAs>, String> {
    let euid = fs::metadata("/proc/self")
        .map(|m| m.uid())
        .map_err(|e| format!("reading /proc/self to learn our user id: {e}"))?;
    if euid != 0 {
        return Ok(None);
    }
    // PostgreSQL refuses to run as root: use the unprivileged `nobody` account.
    let passwd =
        fs::read_to_string("/etc/passwd").map_err(|e| format!("reading /etc/passwd: {e}"))?;
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.len() >= 4 && fields[0] == "nobody")
                .then(|| Some(RunAs { uid: fields[2].parse().ok()?, gid: fields[3].parse().ok()? }))
                .flatten()
        })
        .map(Some)
        .ok_or_else(|| "we run as root, which PostgreSQL refuses, and there is no `nobody` account to run it as".to_owned())
}

/// A command for one of the PostgreSQL tools, as the cluster's account, in its directory.
fn tool(bin: &Path, name: &str, dir: &Path, user: Option<RunAs>) -> Command {
    let mut command = Command::new(bin.join(name));
    command.current_dir(dir).stdin(Stdio::null());
    // Locale settings of the caller could make initdb pick a locale the machine lacks.
    command
        .env("LC_ALL", "C")
        .env_remove("PGDATA")
        .env_remove("PGPORT");
    command.uid_gid(user);
    command
}

fn start(bin: &Path) -> Result<TestPg, String> {
    let user = run_as()?;
    // Under root the directory must be reachable by `nobody`: /tmp is, a root-only TMPDIR is not.
    let base = if user.is_some() {
        PathBuf::from("/tmp")
    } else {
        std::env::temp_dir()
    };
    let dir = tempfile::Builder::new()
        .prefix("hasdata-testpg-")
        .tempdir_in(&base)
        .map_err(|e| format!("creating a temporary directory in {}: {e}", base.display()))?
        .keep();
    if let Some(user) = user {
        std::os::unix::fs::chown(&dir, Some(user.uid), Some(user.gid))
            .map_err(|e| format!("handing {} to uid {}: {e}", dir.display(), user.uid))?;
    }
    let data = dir.join("data");

    // The watchdog first, so that even a failed start leaves nothing behind.
    let watchdog = Command::new("/bin/sh")
        .arg("-c")
        .arg(r#"cat >/dev/null; "$0" -D "$1" stop -m immediate -w >/dev/null 2>&1; rm -rf "$2""#)
        .arg(bin.join("pg_ctl"))
        .arg(&data)
        .arg(&dir)
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group: a Ctrl-C at the terminal must not kill it before it cleans up.
        .process_group(0)
        .uid_gid(user)
        .spawn()
        .map_err(|e| format!("starting the cleanup watchdog (/bin/sh): {e}"))?;
    let watchdog = watchdog.stdin.ok_or("the watchdog has no stdin pipe")?;

    let initdb = tool(bin, "initdb", &dir, user)
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        ])
        .output()
        .map_err(|e| format!("running initdb: {e}"))?;
    if !initdb.status.success() {
        return Err(format!(
            "initdb failed ({}): {}",
            initdb.status,
            String::from_utf8_lossy(&initdb.stderr)
        ));
    }
    let mut conf = OpenOptions::new()
        .append(true)
        .open(data.join("postgresql.conf"))
        .map_err(|e| format!("opening postgresql.conf: {e}"))?;
    // The socket lives in our directory, not /var/run/postgresql (which nobody cannot write).
    let settings = format!(
        "{SERVER_SETTINGS}unix_socket_directories = '{}'\n",
        dir.display()
    );
    conf.write_all(settings.as_bytes())
        .map_err(|e| format!("writing postgresql.conf: {e}"))?;
    drop(conf);

    let log = dir.join("server.log");
    let mut last_error = String::new();
    for _ in 0..PORT_ATTEMPTS {
        let port = free_port()?;
        let started = tool(bin, "pg_ctl", &dir, user)
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "120", "-s", "-o"])
            .arg(format!("-p {port}"))
            .arg("start")
            .output()
            .map_err(|e| format!("running pg_ctl start: {e}"))?;
        if started.status.success() {
            return Ok(TestPg {
                port,
                dir,
                next_database: AtomicU64::new(0),
                _watchdog: Mutex::new(watchdog),
            });
        }
        let server_log = fs::read_to_string(&log).unwrap_or_default();
        last_error = format!(
            "pg_ctl start on port {port} failed ({}): {}\nserver log:\n{server_log}",
            started.status,
            String::from_utf8_lossy(&started.stderr)
        );
        // Another process took the port between our probe and the server's bind: try another.
        if !server_log.contains("could not bind") && !server_log.contains("already in use") {
            break;
        }
        let _ = fs::remove_file(&log);
    }
    Err(last_error)
}

/// A loopback port free right now (the OS picks it; there is a window before the server binds it,
/// which the caller covers by retrying).
fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("finding a free loopback port: {e}"))
}

/// Sets the child's user and group when we drop privileges.
trait UidGid {
    fn uid_gid(&mut self, user: Option<RunAs>) -> &mut Self;
}

impl UidGid for Command {
    fn uid_gid(&mut self, user: Option<RunAs>) -> &mut Self {
        if let Some(user) = user {
            self.uid(user.uid).gid(user.gid);
        }
        self
    }
}
