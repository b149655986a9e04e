//! One retry layer: a call is retried by the transport alone (4 attempts), so a dead host fails
//! in seconds with one line, and a wait rides out failed polls on top of that.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::{Shell, fast};

/// A loopback port nothing listens on (bound, then released).
fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

fn retry_lines(stderr: &str) -> usize {
    stderr
        .lines()
        .filter(|l| l.contains("INFO retrying"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_host_fails_fast_with_one_line() {
    let shell = Shell::quick().await;
    let url = dead_url();
    let started = Instant::now();
    let ran = shell.run(&["--base-url", &url, "status", "1"]).await;
    // A bound that only turns a hang into a failure: the retries wait under 2 s in all.
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(ran.code, 6, "{}", ran.stderr);
    assert_eq!(
        ran.stderr.lines().count(),
        1,
        "one line, no retry chatter: {}",
        ran.stderr
    );
    assert!(
        ran.stderr.starts_with("hasdata: error: ") && ran.stderr.contains("gave up after retrying"),
        "{}",
        ran.stderr
    );

    // With -v each retry is shown: 4 attempts in all, so 3 retries (not 24: one layer).
    let ran = shell.run(&["-v", "--base-url", &url, "stop", "1"]).await;
    assert_eq!(ran.code, 6, "{}", ran.stderr);
    assert_eq!(retry_lines(&ran.stderr), 3, "{}", ran.stderr);
    assert!(!ran.stderr.contains("WARN"), "{}", ran.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_on_a_dead_host_fails_after_one_polls_retries() {
    let shell = Shell::quick().await;
    let url = dead_url();
    let started = Instant::now();
    // The default schedule: riding out 5 failed polls would take over a minute.
    let ran = shell.run(&["-v", "--base-url", &url, "wait", "1"]).await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(ran.code, 6, "{}", ran.stderr);
    assert_eq!(
        retry_lines(&ran.stderr),
        3,
        "one poll's retries: {}",
        ran.stderr
    );
    assert!(
        !ran.stderr.contains("status poll failed"),
        "nothing to ride out: the host never answered: {}",
        ran.stderr
    );
}

/// A TCP proxy to `target` that closes the first `refuse` connections it accepts at once and
/// forwards the others. Returns its URL and the count of connections accepted.
async fn flaky_proxy(target: SocketAddr, refuse: usize) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            if counter.fetch_add(1, Ordering::SeqCst) < refuse {
                drop(inbound);
                continue;
            }
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (url, accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_rides_out_a_failed_poll() {
    let shell = Shell::quick().await;
    let body = shell.file("b.json", r#"{"urls": ["https://a.example"]}"#);
    let id = shell.submitted("contacts", &body).await;
    let target: SocketAddr = shell
        .sim
        .base_url()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    // The first poll's 4 attempts and the second poll's first one find the connection closed.
    let (url, accepted) = flaky_proxy(target, 5).await;
    let ran = shell
        .run(&fast(&["-v", "--base-url", &url, "wait", &id]))
        .await;
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(accepted.load(Ordering::SeqCst) > 5);
    assert_eq!(retry_lines(&ran.stderr), 4, "{}", ran.stderr);
    let ridden = ran
        .stderr
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("status poll failed"))
        .count();
    assert_eq!(ridden, 1, "one failed poll, ridden out: {}", ran.stderr);
    assert!(ran.stdout.contains("finished"), "{}", ran.stdout);
}
