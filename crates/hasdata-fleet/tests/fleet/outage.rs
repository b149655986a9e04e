//! A worker rides out a PostgreSQL outage: its database connection goes through a loopback
//! proxy the test cuts (every connection closed, new ones dropped) for longer than its leases,
//! while a second worker that still reaches the database takes over its expired items.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hasdata_fleet::{ItemState, JsonlSink, Queue, Worker, WorkerConfig};
use hasdata_jobs::{Client, JobLedger, PollPolicy};
use hasdata_ledger::PostgresLedger;
use hasdata_sim::{Hold, SimConfig, Simulator};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::{contacts_items, fresh_queue};

/// A TCP proxy to `target` that can be cut: [`Proxy::cut`] closes every connection through
/// it and drops new ones until [`Proxy::restore`], as a database outage looks to a client.
struct Proxy {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    cuts: watch::Sender<u64>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let (cuts, _) = watch::channel(0u64);
        let (accept_up, accept_cuts) = (up.clone(), cuts.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !accept_up.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let mut cut = accept_cuts.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy { addr, up, cuts }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

fn config(lease: Duration, concurrency: usize, exit_when_idle: bool) -> WorkerConfig {
    WorkerConfig {
        lease,
        concurrency,
        idle_poll: Duration::from_millis(50),
        poll: PollPolicy::fast(),
        retry_delay: Duration::from_millis(100),
        exit_when_idle,
        ..WorkerConfig::new()
    }
}

async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "waited for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_rides_out_an_outage_and_loses_or_repeats_nothing() {
    let Some((queue, url)) = fresh_queue().await else {
        return;
    };
    const ITEMS: usize = 16;
    let sim = Simulator::start(SimConfig {
        job_duration: Duration::from_millis(200),
        max_running: 8,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    sim.hold(Hold::InProgress);
    queue.add(&contacts_items(ITEMS)).await.unwrap();
    queue.set_max_running(8).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    let client = |ledger: Arc<dyn JobLedger>| {
        Client::builder()
            .api_key(sim.api_key())
            .base_url(sim.base_url())
            .ledger(ledger)
            .build()
            .unwrap()
    };

    // The worker under test reaches the queue and the ledger only through the proxy.
    let port: u16 = url
        .rsplit_once(':')
        .unwrap()
        .1
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let proxy = Proxy::start(SocketAddr::from(([127, 0, 0, 1], port))).await;
    let through = url.replacen(&format!(":{port}/"), &format!(":{}/", proxy.addr.port()), 1);
    let pool = hasdata_ledger::postgres::pool_of_size(&through, 4).unwrap();
    let cut_queue = Queue::from_pool(pool.clone()).await.unwrap();
    let cut_ledger = PostgresLedger::from_pool(pool, sim.base_url())
        .await
        .unwrap();
    let lease = Duration::from_secs(2);
    let first = Worker::new(
        cut_queue,
        client(Arc::new(cut_ledger)),
        Arc::new(JsonlSink::new(out.path()).unwrap()),
        config(lease, 8, true),
    );
    let (_stop_first, first_stopped) = watch::channel(false);
    let first_run = tokio::spawn(async move { first.run(first_stopped).await });
    until("8 jobs running under the first worker", async || {
        queue.status().await.unwrap().counts[&ItemState::Running] == 8
    })
    .await;

    // The outage: longer than the leases, so they run out.
    proxy.cut();
    sim.release();
    // Another worker that still reaches the database takes over expired items meanwhile.
    let ledger: Arc<dyn JobLedger> =
        Arc::new(PostgresLedger::connect(&url, sim.base_url()).await.unwrap());
    let second = Worker::new(
        queue.clone(),
        client(ledger),
        Arc::new(JsonlSink::new(out.path()).unwrap()),
        config(lease, 4, false),
    );
    let (stop_second, second_stopped) = watch::channel(false);
    let second_run = tokio::spawn(async move { second.run(second_stopped).await });
    until("the second worker finishing items", async || {
        queue.status().await.unwrap().counts[&ItemState::Done] >= 3
    })
    .await;
    stop_second.send(true).unwrap();
    let second_report = second_run.await.unwrap().unwrap();
    assert!(
        !first_run.is_finished(),
        "the first worker waits for the database"
    );
    proxy.restore();

    let first_report = tokio::time::timeout(Duration::from_secs(120), first_run)
        .await
        .expect("the first worker finishes once the database is back")
        .unwrap()
        .expect("and exits cleanly");
    let status = queue.status().await.unwrap();
    assert_eq!(status.counts[&ItemState::Done], ITEMS as u64, "{status:?}");
    assert_eq!(
        sim.created_jobs().len(),
        ITEMS,
        "one job per item, none twice"
    );
    // Never more than once each (a shutdown can drop a step after its statement committed
    // and before the report counted it, so "at most").
    assert!(
        first_report.done + second_report.done <= ITEMS as u64,
        "{first_report:?} {second_report:?}"
    );
    assert!(first_report.submitted + second_report.submitted <= ITEMS as u64);
    let mut files = 0;
    for item in queue.list(None, 100).await.unwrap() {
        let job_id: u64 = item.job_id.as_deref().unwrap().parse().unwrap();
        let text = std::fs::read_to_string(item.output.as_deref().unwrap()).unwrap();
        let rows: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            rows,
            sim.expected_rows(job_id).unwrap(),
            "job {job_id}'s rows once"
        );
        files += 1;
    }
    assert_eq!(files, ITEMS);
    let on_disk = std::fs::read_dir(out.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".jsonl")
        })
        .count();
    assert_eq!(on_disk, ITEMS, "one file per job");
}
