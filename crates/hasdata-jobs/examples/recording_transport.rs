//! A custom `Transport`: a recording proxy that wraps the default reqwest transport and notes
//! every request's method, path and status, then hands the response on untouched.
//!
//! The client puts its own layers on top of the bottom transport you give it (the API key,
//! scoped to the API's origin, and the retries), so a recorder at the bottom sees each attempt
//! as it goes on the wire. Runs against the in-process simulator:
//! `cargo run -p hasdata-jobs --example recording_transport`.

use std::sync::{Arc, Mutex};

use hasdata_jobs::prelude::*;
use hasdata_transport::{Request, ReqwestTransport, Response, Transport, TransportError};

/// Forwards to `inner` and records `METHOD /path -> status` for each request.
#[derive(Debug)]
struct Recorder {
    inner: ReqwestTransport,
    log: Arc<Mutex<Vec<String>>>,
}

#[async_trait::async_trait]
impl Transport for Recorder {
    async fn send(&self, request: Request) -> std::result::Result<Response, TransportError> {
        let line = format!("{} {}", request.method(), request.uri().path());
        let answer = self.inner.send(request).await;
        let outcome = match &answer {
            Ok(response) => response.status().as_u16().to_string(),
            Err(error) => format!("failed: {error}"),
        };
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(format!("{line} -> {outcome}"));
        answer
    }
}

#[tokio::main]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
        job_duration: std::time::Duration::from_millis(200),
        ..Default::default()
    })
    .await?;
    let log = Arc::new(Mutex::new(Vec::new()));
    let recorder = Recorder {
        inner: ReqwestTransport::builder().build()?,
        log: log.clone(),
    };
    let client = Client::builder()
        .api_key(sim.api_key())
        .base_url(sim.base_url())
        .transport(Arc::new(recorder))
        .build()?;

    let job = client
        .submit(&ContactsBody::new(["https://example.com/about"]))
        .await?;
    job.wait(PollPolicy::fast()).await?;
    let rows: Vec<ContactsRow> = job.rows().try_collect().await?;
    println!("job {}: {} row(s)", job.id(), rows.len());

    let log = log.lock().unwrap_or_else(|e| e.into_inner());
    for line in log.iter() {
        println!("{line}");
    }
    // The submit, the polls, and the rows (data.json, on the simulator's storage origin).
    if !log
        .iter()
        .any(|l| l.starts_with("POST /scrapers/contacts/jobs -> 200"))
    {
        return Err("the recorder did not see the submit".into());
    }
    if !log.iter().any(|l| l.contains(".json -> 200")) {
        return Err("the recorder did not see the data.json download".into());
    }
    Ok(())
}
