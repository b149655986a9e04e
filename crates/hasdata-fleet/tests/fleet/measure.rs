//! Measurements for docs/scale-out.md (ignored: figures, not checks):
//! `cargo test -p hasdata-fleet --test fleet claim_latency -- --ignored --nocapture`.

use std::time::{Duration, Instant};

use crate::{contacts_items, fresh_queue};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run by hand for docs/scale-out.md"]
async fn claim_latency_with_10000_queued_items() {
    let Some((queue, _)) = fresh_queue().await else {
        return;
    };
    let started = Instant::now();
    let report = queue.add(&contacts_items(10_000)).await.unwrap();
    let added_in = started.elapsed();
    assert_eq!(report.added, 10_000);
    queue.set_max_running(1_000_000).await.unwrap();
    let mut one_by_one = Vec::new();
    for n in 0..500 {
        let at = Instant::now();
        queue
            .claim("m", Duration::from_secs(600), &format!("k{n}"))
            .await
            .unwrap()
            .unwrap();
        one_by_one.push(at.elapsed());
    }
    // Eight claimers at once (they queue on the claim lock).
    let at = Instant::now();
    let claimers = (0..8).map(|w| {
        let queue = queue.clone();
        async move {
            let mut took = Vec::new();
            for n in 0..100 {
                let at = Instant::now();
                queue
                    .claim(
                        &format!("w{w}"),
                        Duration::from_secs(600),
                        &format!("c{w}-{n}"),
                    )
                    .await
                    .unwrap()
                    .unwrap();
                took.push(at.elapsed());
            }
            took
        }
    });
    let mut concurrent: Vec<Duration> = futures::future::join_all(claimers).await.concat();
    let concurrent_wall = at.elapsed();
    let pct = |v: &mut Vec<Duration>, p: f64| {
        v.sort();
        v[((v.len() as f64 - 1.0) * p).round() as usize]
    };
    eprintln!(
        "added 10000 items in {added_in:?}; one claimer: p50 {:?} p99 {:?}; 8 claimers: p50 {:?} p99 {:?}, {:.0} claims/s",
        pct(&mut one_by_one, 0.5),
        pct(&mut one_by_one, 0.99),
        pct(&mut concurrent, 0.5),
        pct(&mut concurrent, 0.99),
        800.0 / concurrent_wall.as_secs_f64()
    );
}
