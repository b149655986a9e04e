//! Submit, wait and read in one call.

use hasdata_model::bodies::JobBody;
use hasdata_model::{Job, JobId, Scraper};

use crate::client::Client;
use crate::error::Result;
use crate::poll::PollPolicy;
use crate::rows::{RowSource, Rows};

/// How `run` behaves.
///
/// ```
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
/// #     job_duration: std::time::Duration::ZERO,
/// #     ..Default::default()
/// # }).await?;
/// # let client = hasdata_jobs::Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).build()?;
/// use hasdata_jobs::prelude::*;
///
/// let options = RunOptions {
///     poll: PollPolicy::fast(),   // PollPolicy::default() against the real API
///     source: RowSource::Pages,   // or Auto (data.json once finished), File
///     stop_on_cancel: true,       // dropping the run stops the job
/// };
/// let run = client.run(&ContactsBody::new(["https://example.com/about"]), options).await?;
/// let rows: Vec<ContactsRow> = run.rows.try_collect().await?;
/// assert_eq!(rows.len() as u64, run.job.data_rows_count.get());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// How to wait.
    pub poll: PollPolicy,
    /// Where the rows come from.
    pub source: RowSource,
    /// Stop the job if the `run` future is dropped (cancelled) before the job ends. Off by
    /// default: a cancelled caller usually still wants the paid work.
    pub stop_on_cancel: bool,
}

/// A finished run: the final job record and its rows.
///
/// ```
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
/// #     job_duration: std::time::Duration::ZERO,
/// #     ..Default::default()
/// # }).await?;
/// # let client = hasdata_jobs::Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).build()?;
/// use hasdata_jobs::prelude::*;
/// use hasdata_jobs::RunOutput;
///
/// let options = RunOptions { poll: PollPolicy::fast(), ..Default::default() };
/// let RunOutput { job, rows } = client.run(&ContactsBody::new(["https://example.com/about"]), options).await?;
/// assert_eq!(job.status, JobStatus::Finished);
/// let rows: Vec<ContactsRow> = rows.try_collect().await?;
/// assert_eq!(rows[0].url, "https://example.com/about");
/// # Ok(())
/// # }
/// ```
pub struct RunOutput<R> {
    /// The job as it ended.
    pub job: Job,
    /// Its rows (see [`Rows`]), read from where `RunOptions::source` says.
    pub rows: Rows<R>,
}

/// Stops the job when dropped while armed.
struct StopOnDrop {
    client: Client,
    id: JobId,
    armed: bool,
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (client, id) = (self.client.clone(), self.id);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                tracing::info!(job_id = %id, "run cancelled; stopping the job");
                runtime.spawn(async move {
                    if let Err(error) = client.stop(id).await {
                        tracing::warn!(job_id = %id, error = %error, "could not stop the cancelled job");
                    }
                });
            }
            Err(_) => {
                tracing::warn!(job_id = %id, "run cancelled outside a runtime; the job goes on")
            }
        }
    }
}

impl Client {
    /// Submits `body`, waits for the job to end, and returns its rows.
    ///
    /// Errors after the submit carry the job id; a job that ends `stopped` or
    /// `finished_with_error` is [`Error::JobEnded`](crate::Error::JobEnded) with its record. With `stop_on_cancel`, dropping this future
    /// before the job ends stops the job.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
    /// #     job_duration: std::time::Duration::ZERO,
    /// #     ..Default::default()
    /// # }).await?;
    /// # let client = hasdata_jobs::Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).build()?;
    /// use hasdata_jobs::prelude::*;
    ///
    /// let options = RunOptions { poll: PollPolicy::fast(), ..Default::default() };
    /// match client.run(&GoogleSerpBody::new().keywords(["coffee"]).limit(10), options).await {
    ///     Ok(run) => {
    ///         let rows: Vec<GoogleSerpRow> = run.rows.try_collect().await?;
    ///         assert_eq!(rows.len(), 10);
    ///     }
    ///     Err(Error::JobEnded { job }) => println!("job {} ended {}", job.id, job.status),
    ///     Err(other) => return Err(other.into()),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run<B: JobBody>(
        &self,
        body: &B,
        options: RunOptions,
    ) -> Result<RunOutput<<B::Scraper as Scraper>::Row>> {
        let handle = self.submit(body).await?;
        let mut guard = StopOnDrop {
            client: self.clone(),
            id: handle.id(),
            armed: options.stop_on_cancel,
        };
        let waited = self.wait(handle.id(), options.poll).await;
        guard.armed = false;
        let job = waited?;
        let rows = self.rows(job.id).source(options.source).known(job.clone());
        Ok(RunOutput { job, rows })
    }
}
