//! Waiting for a job: the documented schedule, a deadline, and polls that survive transient
//! errors.

use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt};
use hasdata_model::{Job, JobId, JobStatus};
use tokio::time::Instant;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::poll::PollPolicy;

/// One status snapshot of a watched job.
///
/// ```
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
/// #     job_duration: std::time::Duration::from_millis(300),
/// #     ..Default::default()
/// # }).await?;
/// # let client = hasdata_jobs::Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).build()?;
/// use hasdata_jobs::prelude::*;
///
/// let job = client.submit(&ContactsBody::new(["https://example.com/about"])).await?;
/// let mut snapshots = client.watch(job.id(), PollPolicy::fast());
/// while let Some(progress) = snapshots.try_next().await? {
///     println!("{} after {} polls, {:?}", progress.status(), progress.polls, progress.elapsed);
///     if progress.is_terminal() {
///         assert_eq!(progress.next_poll, None);
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Progress {
    /// The job as the status call answered.
    pub job: Job,
    /// Polls made so far, this one included.
    pub polls: u32,
    /// Time since the watch started.
    pub elapsed: Duration,
    /// When the next poll comes; `None` once the job has ended.
    pub next_poll: Option<Duration>,
    /// Credits spent per second between the last two polls, once there are two.
    pub credits_per_second: Option<f64>,
}

impl Progress {
    /// The job's status.
    pub fn status(&self) -> &JobStatus {
        &self.job.status
    }

    /// Whether the job has ended.
    pub fn is_terminal(&self) -> bool {
        self.job.status.is_terminal()
    }
}

struct Watch {
    client: Client,
    id: JobId,
    policy: PollPolicy,
    started: Instant,
    polls: u32,
    errors: u32,
    /// Whether the server has answered any poll (a record, or an error status).
    answered: bool,
    next_delay: Option<Duration>,
    last_status: Option<JobStatus>,
    done: bool,
    /// With [`Client::watch_capped`]: the credits not to pass.
    credit_cap: Option<u64>,
    /// The last poll's time and spend, and the spend rate since the one before.
    last_spend: Option<(Duration, u64)>,
    rate: Option<f64>,
}

/// Whether a poll's error proves its request never left this machine (a refused connection, a
/// name that does not resolve). Until the server has answered once, such a failure (after the
/// call's own retries) ends the watch instead of being ridden out: a wrong base URL or a dead
/// host is said in seconds, not after minutes of polls. Once the server has answered, an
/// outage is ridden out as any other transient error.
fn never_left(error: &Error) -> bool {
    matches!(error, Error::Transport { source, .. } if !source.may_have_reached_server())
}

/// The share of a credit cap past which a capped watch polls at its floor interval.
const NEAR_CAP: f64 = 0.9;

impl Watch {
    async fn step(mut self) -> Option<(Result<Progress>, Watch)> {
        if self.done {
            return None;
        }
        loop {
            if let Some(delay) = self.next_delay.take() {
                tokio::time::sleep(delay).await;
            }
            let result = self.client.status(self.id).await;
            self.polls += 1;
            let elapsed = self.started.elapsed();
            let over = elapsed >= self.policy.deadline;
            match result {
                Ok(job) => {
                    self.errors = 0;
                    self.answered = true;
                    self.last_status = Some(job.status.clone());
                    let spent = job.credits_spent.get();
                    // A rate from a poll before spending began would understate it (the
                    // job started somewhere in between): only polls that both saw spending
                    // count.
                    if let Some((then, before)) = self.last_spend
                        && elapsed > then
                        && before > 0
                    {
                        let seconds = (elapsed - then).as_secs_f64();
                        self.rate = Some(spent.saturating_sub(before) as f64 / seconds);
                    }
                    self.last_spend = Some((elapsed, spent));
                    if job.status.is_terminal() {
                        self.done = true;
                        let progress = Progress {
                            job,
                            polls: self.polls,
                            elapsed,
                            next_poll: None,
                            credits_per_second: self.rate,
                        };
                        return Some((Ok(progress), self));
                    }
                    if over {
                        return Some((Err(self.deadline_error(elapsed)), self.finish()));
                    }
                    let delay = self.schedule(elapsed);
                    let delay = self.near_cap(spent, delay);
                    let progress = Progress {
                        job,
                        polls: self.polls,
                        elapsed,
                        next_poll: Some(delay),
                        credits_per_second: self.rate,
                    };
                    return Some((Ok(progress), self));
                }
                Err(error)
                    if error.is_transient()
                        && self.errors < self.policy.max_consecutive_errors
                        && !over
                        && (self.answered || !never_left(&error)) =>
                {
                    self.answered |= matches!(error, Error::Api { .. });
                    self.errors += 1;
                    tracing::warn!(job_id = %self.id, error = %error, consecutive = self.errors, "status poll failed; waiting on");
                    self.schedule(elapsed);
                }
                Err(error) if over && error.is_transient() => {
                    return Some((Err(self.deadline_error(elapsed)), self.finish()));
                }
                Err(error) => {
                    let error = error.with_job(self.id);
                    return Some((Err(error), self.finish()));
                }
            }
        }
    }

    /// Sets and returns the delay before the next poll, never past the deadline.
    fn schedule(&mut self, elapsed: Duration) -> Duration {
        let unit = rand::random::<f64>() * 2.0 - 1.0;
        let delay = self
            .policy
            .jittered(self.polls - 1, unit)
            .min(self.policy.deadline.saturating_sub(elapsed));
        self.next_delay = Some(delay);
        delay
    }

    /// With a credit cap: once the spend projected at the next poll nears the cap (or spending
    /// has begun and its rate is not measured yet), the next poll comes at the floor interval
    /// (the policy's shortest), so the caller sees the cap coming one short interval ahead
    /// instead of one long one.
    fn near_cap(&mut self, spent: u64, delay: Duration) -> Duration {
        let Some(cap) = self.credit_cap else {
            return delay;
        };
        // Spending has begun but its rate is not known yet: one poll at the floor measures it.
        let measuring = spent > 0 && self.rate.is_none();
        let projected = spent as f64 + self.rate.unwrap_or(0.0) * delay.as_secs_f64();
        if !measuring && projected < cap as f64 * NEAR_CAP {
            return delay;
        }
        let floor = self.policy.initial.min(self.policy.cap).min(delay);
        self.next_delay = Some(floor);
        floor
    }

    fn deadline_error(&self, waited: Duration) -> Error {
        Error::WaitDeadline {
            job_id: self.id,
            waited,
            last_status: self.last_status.clone(),
        }
    }

    fn finish(mut self) -> Self {
        self.done = true;
        self
    }
}

impl Client {
    /// Status snapshots on the poll schedule, for progress displays. The stream ends after the
    /// snapshot that shows the job ended, or after an error (the deadline, a permanent error,
    /// or too many transient ones in a row).
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
    /// #     job_duration: std::time::Duration::from_millis(300),
    /// #     ..Default::default()
    /// # }).await?;
    /// # let client = hasdata_jobs::Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).build()?;
    /// use hasdata_jobs::prelude::*;
    ///
    /// let job = client.submit(&ContactsBody::new(["https://example.com/about"])).await?;
    /// let last = client
    ///     .watch(job.id(), PollPolicy::fast())
    ///     .inspect_ok(|progress| println!("{}: {} rows", progress.status(), progress.job.data_rows_count))
    ///     .try_fold(None, |_, progress| async move { Ok(Some(progress)) })
    ///     .await?;
    /// assert_eq!(last.map(|progress| progress.job.status), Some(JobStatus::Finished));
    /// # Ok(())
    /// # }
    /// ```
    pub fn watch(
        &self,
        id: impl Into<JobId>,
        policy: PollPolicy,
    ) -> BoxStream<'static, Result<Progress>> {
        self.watch_inner(id.into(), policy, None)
    }

    /// [`Client::watch`] for a caller that stops the job at `max_credits`: once the spend
    /// projected at the next poll (from the rate between the last two polls) reaches 90% of
    /// the cap, polls come at the policy's floor interval (`initial`). Each snapshot carries
    /// the rate ([`Progress::credits_per_second`]) for the caller's stop decision. The worst
    /// case past the cap is the spend of one floor interval plus the stop's round trip.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
    /// #     job_duration: std::time::Duration::from_millis(300),
    /// #     ..Default::default()
    /// # }).await?;
    /// # let client = hasdata_jobs::Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).build()?;
    /// use hasdata_jobs::prelude::*;
    ///
    /// let job = client.submit(&GoogleSerpBody::new().keywords(["coffee"]).limit(20)).await?;
    /// let max_credits = 1_000;
    /// let mut snapshots = client.watch_capped(job.id(), PollPolicy::fast(), max_credits);
    /// while let Some(progress) = snapshots.try_next().await? {
    ///     if !progress.is_terminal() && progress.job.credits_spent.get() >= max_credits {
    ///         job.stop().await?; // the cap is the caller's to enforce
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn watch_capped(
        &self,
        id: impl Into<JobId>,
        policy: PollPolicy,
        max_credits: u64,
    ) -> BoxStream<'static, Result<Progress>> {
        self.watch_inner(id.into(), policy, Some(max_credits))
    }

    fn watch_inner(
        &self,
        id: JobId,
        policy: PollPolicy,
        credit_cap: Option<u64>,
    ) -> BoxStream<'static, Result<Progress>> {
        if let Err(problem) = policy.check(self.host()) {
            return stream::once(async move { Err(Error::Config(problem)) }).boxed();
        }
        let watch = Watch {
            client: self.clone(),
            id,
            policy,
            started: Instant::now(),
            polls: 0,
            errors: 0,
            answered: false,
            next_delay: None,
            last_status: None,
            done: false,
            credit_cap,
            last_spend: None,
            rate: None,
        };
        stream::unfold(watch, Watch::step).boxed()
    }

    /// Waits until the job ends and returns its final record when it `finished`. Follows
    /// `policy` (by default HasData's 10 s, x1.5, 60 s schedule with jitter, for at most an
    /// hour). A transient poll error does not end the wait (once the server has answered a
    /// poll: until then, a request that never left the machine ends it, so a dead host is
    /// said at once); the deadline error carries the job id and the last status seen.
    ///
    /// A job that ends any other way (`stopped`, `finished_with_error`) is
    /// [`Error::JobEnded`], carrying the final record and its `stopReason`: a failed job never
    /// reads as success, and its rows so far can still be read by id.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
    /// #     job_duration: std::time::Duration::from_secs(3600),
    /// #     ..Default::default()
    /// # }).await?;
    /// use hasdata_jobs::prelude::*;
    ///
    /// let client = Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).build()?;
    /// let job = client.submit(&ContactsBody::new(["https://example.com/about"])).await?;
    /// job.stop().await?;
    /// match job.wait(PollPolicy::fast()).await {
    ///     Ok(done) => println!("finished with {} rows", done.data_rows_count.get()),
    ///     Err(Error::JobEnded { job: ended }) => {
    ///         assert_eq!(ended.status, JobStatus::Stopped);
    ///         println!("ended {}: {:?}", ended.status, ended.stop_reason);
    ///     }
    ///     Err(other) => return Err(other.into()),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait(&self, id: impl Into<JobId>, policy: PollPolicy) -> Result<Job> {
        let id = id.into();
        let mut snapshots = self.watch(id, policy);
        let mut last = None;
        while let Some(snapshot) = snapshots.next().await {
            last = Some(snapshot?);
        }
        match last {
            Some(progress) if progress.job.status == JobStatus::Finished => Ok(progress.job),
            Some(progress) if progress.is_terminal() => Err(Error::JobEnded {
                job: Box::new(progress.job),
            }),
            _ => Err(Error::WaitDeadline {
                job_id: id,
                waited: Duration::ZERO,
                last_status: None,
            }),
        }
    }
}
