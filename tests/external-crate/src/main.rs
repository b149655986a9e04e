//! What a user writes: submit, wait, read rows, with the CLI's ledger file.
//!
//! Usage: `hasdata-external-user LEDGER` with `HASDATA_API_KEY` and `HASDATA_BASE_URL` set
//! (the CI points them at `hasdata sim`). Prints the job's id and its row count as JSON.

use hasdata_jobs::prelude::*;

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let ledger = std::env::args_os()
        .nth(1)
        .ok_or("usage: hasdata-external-user LEDGER")?;
    let mut builder = Client::builder()
        .api_key(std::env::var("HASDATA_API_KEY")?)
        .ledger_file(ledger);
    if let Ok(url) = std::env::var("HASDATA_BASE_URL") {
        builder = builder.base_url(url);
    }
    let client = builder.build()?;
    let job = client
        .submit(&ContactsBody::new([
            "https://example.com/about",
            "https://example.com/team",
        ]))
        .await?;
    // A simulator finishes in moments; against the real API use PollPolicy::default().
    let done = job.wait(PollPolicy::fast()).await?;
    let rows: Vec<ContactsRow> = job.rows().try_collect().await?;
    if rows.len() as u64 != done.data_rows_count.get() {
        return Err(format!("{} rows of {}", rows.len(), done.data_rows_count.get()).into());
    }
    println!("{{\"id\": {}, \"rows\": {}}}", job.id(), rows.len());
    Ok(())
}
