//! Bulk: many jobs submitted into a durable ledger, waited on together, their rows read.
//!
//! Every submit is written ahead to the SQLite ledger (the file `hasdata jobs list --ledger
//! PATH` reads), so a crash at any point leaves each job's id, or its unresolved intent, on
//! disk. Needs the `sqlite` feature:
//! `cargo run -p hasdata-jobs --features sqlite --example bulk_with_ledger [LEDGER]`.
//! With `HASDATA_API_KEY` set this runs against the real API (and spends credits); without
//! it, against the in-process simulator.

use hasdata_jobs::prelude::*;

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("hasdata-bulk-example-{}", std::process::id()));
    let ledger_path = std::env::args_os()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.join("ledger.sqlite"));
    let mut _sim = None;
    let mut builder = Client::builder().ledger_file(&ledger_path);
    let poll = if std::env::var_os("HASDATA_API_KEY").is_some() {
        builder = builder.api_key(std::env::var("HASDATA_API_KEY")?);
        PollPolicy::default()
    } else {
        let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
            job_duration: std::time::Duration::from_millis(200),
            ..Default::default()
        })
        .await?;
        builder = builder.api_key(sim.api_key()).base_url(sim.base_url());
        _sim = Some(sim);
        PollPolicy::fast()
    };
    let client = builder.build()?;

    let keywords = ["coffee", "tea", "cocoa"];
    let mut jobs = Vec::new();
    for keyword in keywords {
        let job = client
            .submit(&GoogleSerpBody::new().keywords([keyword]).limit(20))
            .await?;
        println!("submitted {keyword}: job {}", job.id());
        jobs.push(job);
    }

    // Wait on all of them at once; the client bounds its requests in flight.
    let waits = jobs.iter().map(|job| job.wait(poll.clone()));
    let mut total = 0;
    for (job, waited) in jobs.iter().zip(futures::future::join_all(waits).await) {
        match waited {
            Ok(done) => println!("job {} finished", done.id),
            Err(Error::JobEnded { job: ended }) => {
                println!("job {} ended {}", ended.id, ended.status)
            }
            Err(other) => return Err(other.into()),
        }
        let rows: Vec<GoogleSerpRow> = job.rows().try_collect().await?;
        total += rows.len();
    }
    println!("{total} rows from {} jobs", jobs.len());
    println!(
        "{} jobs recorded in {}",
        client.ledger().jobs().await?.len(),
        ledger_path.display()
    );
    drop(client);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
