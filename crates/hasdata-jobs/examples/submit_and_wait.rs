//! Submit a job, wait for it, read its rows: the common path with one import.
//!
//! With `HASDATA_API_KEY` set this runs against the real API (and spends credits); without
//! it, against the in-process simulator, so `cargo run -p hasdata-jobs --example
//! submit_and_wait` works anywhere.

use hasdata_jobs::prelude::*;

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    // Keeps the simulator alive for the whole run when there is no key.
    let mut _sim = None;
    let (client, poll) = if std::env::var_os("HASDATA_API_KEY").is_some() {
        (Client::from_env()?, PollPolicy::default())
    } else {
        let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
            job_duration: std::time::Duration::from_millis(200),
            ..Default::default()
        })
        .await?;
        let client = Client::builder()
            .api_key(sim.api_key())
            .base_url(sim.base_url())
            .build()?;
        _sim = Some(sim);
        (client, PollPolicy::fast())
    };

    let job = client
        .submit(&ContactsBody::new([
            "https://example.com/about",
            "https://example.com/team",
        ]))
        .await?;
    println!("submitted job {}", job.id());
    match job.wait(poll).await {
        Ok(done) => println!("finished: {} rows", done.data_rows_count.get()),
        // Stopped or failed: the rows produced so far are still there to read.
        Err(Error::JobEnded { job: ended }) => {
            println!("ended {} ({:?})", ended.status, ended.stop_reason);
        }
        Err(other) => return Err(other.into()),
    }
    let rows: Vec<ContactsRow> = job.rows().try_collect().await?;
    for row in &rows {
        println!("{}", row.url);
    }
    Ok(())
}
