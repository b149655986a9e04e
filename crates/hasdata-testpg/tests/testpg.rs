//! The throwaway cluster works, isolates databases, and disappears when its process dies.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use hasdata_testpg::TestPg;

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to the fresh database");
    tokio::spawn(connection);
    client
}

#[tokio::test]
async fn fresh_databases_are_empty_and_isolated() {
    let Some(pg) = TestPg::shared().await else {
        return;
    };
    let first = pg.fresh_database().await;
    let second = pg.fresh_database().await;
    assert_ne!(first, second);
    assert!(
        first.starts_with("postgres://postgres@127.0.0.1:"),
        "{first}"
    );

    let a = connect(&first).await;
    a.batch_execute("CREATE TABLE marker (n int); INSERT INTO marker VALUES (7)")
        .await
        .unwrap();
    let n: i32 = a
        .query_one("SELECT n FROM marker", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 7);

    let b = connect(&second).await;
    let tables: i64 = b
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 0, "a fresh database starts empty");
}

#[tokio::test]
async fn one_cluster_per_process() {
    let Some(first) = TestPg::shared().await else {
        return;
    };
    let Some(second) = TestPg::shared().await else {
        return;
    };
    assert!(std::ptr::eq(first, second));
    assert_eq!(first.port(), second.port());
}

/// Run by `cluster_is_removed_when_its_process_dies` in a child process: starts the cluster,
/// reports where it lives, and aborts (no destructors, no exit hooks: like a crash or SIGKILL).
#[tokio::test]
#[ignore = "a helper: the parent test runs it in a child process"]
async fn child_starts_a_cluster_and_aborts() {
    if std::env::var_os("HASDATA_TESTPG_CHILD").is_none() {
        return;
    }
    let pg = TestPg::shared().await.expect("PostgreSQL in the child");
    let _url = pg.fresh_database().await;
    println!("CLUSTER_DIR={}", pg.dir().display());
    println!("CLUSTER_PORT={}", pg.port());
    std::process::abort();
}

#[tokio::test]
async fn cluster_is_removed_when_its_process_dies() {
    // Only where PostgreSQL exists (and under CI, where `shared` panics otherwise).
    if TestPg::shared().await.is_none() {
        return;
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_starts_a_cluster_and_aborts",
            "--ignored",
            "--nocapture",
        ])
        .env("HASDATA_TESTPG_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "the child aborts");
    let field = |key: &str| {
        stdout
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .unwrap_or_else(|| {
                panic!(
                    "child printed no {key}: {stdout}\n{}",
                    String::from_utf8_lossy(&output.stderr)
                )
            })
            .to_owned()
    };
    let dir = PathBuf::from(field("CLUSTER_DIR="));
    let port: u16 = field("CLUSTER_PORT=").parse().unwrap();

    // The watchdog stops the server and removes the directory; wait generously for it.
    let deadline = Instant::now() + Duration::from_secs(60);
    while dir.exists() || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(
            Instant::now() < deadline,
            "{} or port {port} outlived its process",
            dir.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
