//! Webhook rows early, API rows complete, every row exactly once.
//!
//! Webhook rows carry no row id, so rows are matched by content: each row is reduced to its
//! canonical JSON (keys sorted) and counted. While the job runs, rows from
//! `scraper.data.scraped` events are yielded as they arrive; a batch whose rows equal a batch
//! already seen is taken for a re-delivery and skipped. When the job ends, its results are
//! read through the API and each row is yielded unless a webhook row with the same content
//! was yielded before (counted: two identical rows in the results need two identical webhook
//! rows to be skipped twice). The output is therefore exactly the job's results, as a multiset.
//!
//! Limits: this relies on a webhook row being byte-for-byte the same JSON value as the result
//! row's `data`. If HasData ever shaped them differently, rows would be yielded twice; set
//! [`MergeOptions::early_rows`] to `false` to take rows from the API only. A webhook row that
//! never appears in the results cannot be taken back; it is counted in a warning.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt};
use hasdata_model::{JobId, TypedEvent, WebhookEvent, WebhookEventName, decode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::time::Instant;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::poll::PollPolicy;

/// How the merge behaves.
///
/// ```
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
/// #     job_duration: std::time::Duration::from_millis(300),
/// #     allow_http_webhooks: true,
/// #     ..Default::default()
/// # }).await?;
/// # let client = hasdata_jobs::Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).allow_http_webhooks(true).build()?;
/// use hasdata_jobs::prelude::*;
/// use hasdata_jobs::webhooks::{MergeOptions, ReceiverConfig, RowOrigin, WebhookReceiver};
///
/// let config = ReceiverConfig::new("127.0.0.1:0".parse()?, "x-hook-secret".parse()?, "s3cret");
/// let receiver = WebhookReceiver::bind(config).await?;
/// let hook = Webhook::new(receiver.url())
///     .event(WebhookEventName::DataScraped)
///     .event(WebhookEventName::JobFinished)
///     .header("x-hook-secret", "s3cret");
/// let job = client.submit(&GoogleSerpBody::new().keywords(["coffee"]).limit(30).webhook(hook)).await?;
/// let events = receiver.into_stream().map(|received| received.event).boxed();
/// let options = MergeOptions { poll: PollPolicy::fast(), ..MergeOptions::default() };
/// let rows: Vec<_> = client.merged_rows::<serde_json::Value>(job.id(), events, options).try_collect().await?;
/// assert_eq!(rows.len(), 30); // each row once, whichever way it came
/// let early = rows.iter().filter(|row| row.origin == RowOrigin::Webhook).count();
/// println!("{early} rows came by webhook, before the job ended");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct MergeOptions {
    /// Without any event for this long, poll the job's status (default 2 min): a long quiet
    /// period usually means missed callbacks.
    pub quiet_after: Duration,
    /// How to wait for the job's end once a source says it ended (the status must agree
    /// before the results are read).
    pub poll: PollPolicy,
    /// Yield webhook rows as they arrive (default). When `false`, rows come from the API only,
    /// and webhooks only tell when to read them.
    pub early_rows: bool,
}

impl Default for MergeOptions {
    fn default() -> Self {
        MergeOptions {
            quiet_after: Duration::from_secs(120),
            poll: PollPolicy::default(),
            early_rows: true,
        }
    }
}

/// Where a merged row came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RowOrigin {
    /// A `scraper.data.scraped` webhook, while the job ran.
    Webhook,
    /// The results API, after the job ended.
    Api,
}

/// One row of a merged feed.
#[derive(Clone, Debug, PartialEq)]
pub struct MergedRow<R> {
    /// The row.
    pub row: R,
    /// Where it came from.
    pub origin: RowOrigin,
}

enum Phase {
    Live,
    Reconcile(BoxStream<'static, Result<Value>>),
    Done,
}

struct Merge<R> {
    client: Client,
    id: JobId,
    options: MergeOptions,
    events: Option<BoxStream<'static, WebhookEvent>>,
    phase: Phase,
    pending: VecDeque<Value>,
    ended: bool,
    yielded: HashMap<String, u64>,
    batches: HashSet<u64>,
    last_activity: Instant,
    row_type: std::marker::PhantomData<fn() -> R>,
}

fn batch_key(rows: &[Value]) -> u64 {
    let mut hasher = DefaultHasher::new();
    for row in rows {
        row.to_string().hash(&mut hasher);
    }
    hasher.finish()
}

impl<R: DeserializeOwned + Send + 'static> Merge<R> {
    fn decode(&self, row: Value, origin: RowOrigin) -> Result<MergedRow<R>> {
        decode::from_value::<R>(&row)
            .map(|row| MergedRow { row, origin })
            .map_err(|source| Error::Decode {
                source,
                job_id: Some(self.id),
            })
    }

    fn take_event(&mut self, event: WebhookEvent) {
        if event.job() != Some(self.id) {
            return;
        }
        self.last_activity = Instant::now();
        if event.job_status.as_ref().is_some_and(|s| s.is_terminal())
            || event.event == WebhookEventName::JobFinished
        {
            self.ended = true;
        }
        if !self.options.early_rows {
            return;
        }
        if let Ok(TypedEvent::DataScraped(rows)) = event.typed::<Value>()
            && self.batches.insert(batch_key(&rows))
        {
            self.pending.extend(rows);
        }
    }

    async fn start_reconcile(&mut self) -> Option<Error> {
        // A stopped or failed job keeps the rows it produced: reconcile those too.
        let waited = self.client.wait(self.id, self.options.poll.clone()).await;
        if let Err(error) = waited
            && !matches!(error, Error::JobEnded { .. })
        {
            self.phase = Phase::Done;
            return Some(error);
        }
        self.phase = Phase::Reconcile(self.client.rows::<Value>(self.id).pages().into_stream());
        None
    }

    async fn step(mut self) -> Option<(Result<MergedRow<R>>, Self)> {
        loop {
            match &mut self.phase {
                Phase::Done => return None,
                Phase::Reconcile(rows) => match rows.next().await {
                    Some(Ok(row)) => {
                        let key = row.to_string();
                        if let Some(count) = self.yielded.get_mut(&key)
                            && *count > 0
                        {
                            *count -= 1;
                            continue;
                        }
                        let merged = self.decode(row, RowOrigin::Api);
                        return Some((merged, self));
                    }
                    Some(Err(error)) => {
                        self.phase = Phase::Done;
                        return Some((Err(error), self));
                    }
                    None => {
                        let unmatched: u64 = self.yielded.values().sum();
                        if unmatched > 0 {
                            tracing::warn!(job_id = %self.id, unmatched, "webhook rows that the results did not contain");
                        }
                        self.phase = Phase::Done;
                        return None;
                    }
                },
                Phase::Live => {
                    if let Some(row) = self.pending.pop_front() {
                        *self.yielded.entry(row.to_string()).or_default() += 1;
                        let merged = self.decode(row, RowOrigin::Webhook);
                        return Some((merged, self));
                    }
                    if self.ended {
                        if let Some(error) = self.start_reconcile().await {
                            return Some((Err(error), self));
                        }
                        continue;
                    }
                    let quiet_until = self.last_activity + self.options.quiet_after;
                    let event = match &mut self.events {
                        Some(events) => tokio::select! {
                            event = events.next() => Some(event),
                            () = tokio::time::sleep_until(quiet_until) => None,
                        },
                        None => {
                            tokio::time::sleep_until(quiet_until).await;
                            None
                        }
                    };
                    match event {
                        Some(Some(event)) => self.take_event(event),
                        // The webhook source ended: polling alone decides from now on.
                        Some(None) => self.events = None,
                        None => {
                            // Quiet for too long: ask the API.
                            self.last_activity = Instant::now();
                            match self.client.status(self.id).await {
                                Ok(job) if job.status.is_terminal() => self.ended = true,
                                Ok(_) => {}
                                Err(error) if error.is_transient() => {
                                    tracing::warn!(job_id = %self.id, error = %error, "status poll failed during a merge");
                                }
                                Err(error) => {
                                    self.phase = Phase::Done;
                                    return Some((Err(error), self));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
impl Client {
    /// Merges a job's webhook events with the API: rows from `scraper.data.scraped` events are
    /// yielded as they arrive, and when the job ends (a webhook says so, or a poll after a quiet
    /// period does) the rows the webhooks missed are added from the results API. The caller
    /// gets every row of the job's results exactly once, whatever the webhooks dropped,
    /// repeated or reordered. See the module docs for how rows are matched.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
    /// #     job_duration: std::time::Duration::from_millis(300),
    /// #     allow_http_webhooks: true,
    /// #     ..Default::default()
    /// # }).await?;
    /// # let client = hasdata_jobs::Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).allow_http_webhooks(true).build()?;
    /// use hasdata_jobs::prelude::*;
    /// use hasdata_jobs::webhooks::{MergeOptions, ReceiverConfig, RowOrigin, WebhookReceiver};
    ///
    /// let config = ReceiverConfig::new("127.0.0.1:0".parse()?, "x-hook-secret".parse()?, "s3cret");
    /// let receiver = WebhookReceiver::bind(config).await?;
    /// let hook = Webhook::new(receiver.url())
    ///     .event(WebhookEventName::DataScraped)
    ///     .event(WebhookEventName::JobFinished)
    ///     .header("x-hook-secret", "s3cret");
    /// let job = client.submit(&GoogleSerpBody::new().keywords(["coffee"]).limit(30).webhook(hook)).await?;
    /// let events = receiver.into_stream().map(|received| received.event).boxed();
    /// let options = MergeOptions { poll: PollPolicy::fast(), ..MergeOptions::default() };
    /// let rows: Vec<_> = client.merged_rows::<serde_json::Value>(job.id(), events, options).try_collect().await?;
    /// assert_eq!(rows.len(), 30); // each row once, whichever way it came
    /// let early = rows.iter().filter(|row| row.origin == RowOrigin::Webhook).count();
    /// println!("{early} rows came by webhook, before the job ended");
    /// # Ok(())
    /// # }
    /// ```
    pub fn merged_rows<R: DeserializeOwned + Send + 'static>(
        &self,
        id: impl Into<JobId>,
        events: BoxStream<'static, WebhookEvent>,
        options: MergeOptions,
    ) -> BoxStream<'static, Result<MergedRow<R>>> {
        let merge = Merge {
            client: self.clone(),
            id: id.into(),
            options,
            events: Some(events),
            phase: Phase::Live,
            pending: VecDeque::new(),
            ended: false,
            yielded: HashMap::new(),
            batches: HashSet::new(),
            last_activity: Instant::now(),
            row_type: std::marker::PhantomData,
        };
        stream::unfold(merge, Merge::step).boxed()
    }

    /// [`Client::merged_rows`] for many jobs sharing one webhook URL through a router; items
    /// carry their job id. Rows of one job keep their order; jobs interleave.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
    /// #     job_duration: std::time::Duration::from_millis(300),
    /// #     allow_http_webhooks: true,
    /// #     ..Default::default()
    /// # }).await?;
    /// # let client = hasdata_jobs::Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).allow_http_webhooks(true).build()?;
    /// use hasdata_jobs::prelude::*;
    /// use hasdata_jobs::webhooks::{MergeOptions, ReceiverConfig, WebhookReceiver, WebhookRouter};
    ///
    /// let config = ReceiverConfig::new("127.0.0.1:0".parse()?, "x-hook-secret".parse()?, "s3cret");
    /// let receiver = WebhookReceiver::bind(config).await?;
    /// let hook = Webhook::new(receiver.url())
    ///     .event(WebhookEventName::DataScraped)
    ///     .event(WebhookEventName::JobFinished)
    ///     .header("x-hook-secret", "s3cret");
    /// let router = WebhookRouter::new(receiver); // one URL for every job
    /// let mut ids = Vec::new();
    /// for keyword in ["coffee", "tea"] {
    ///     let body = GoogleSerpBody::new().keywords([keyword]).limit(10).webhook(hook.clone());
    ///     ids.push(client.submit(&body).await?.id());
    /// }
    /// let options = MergeOptions { poll: PollPolicy::fast(), ..MergeOptions::default() };
    /// let mut rows = client.merged_rows_of_jobs::<serde_json::Value>(&router, ids, options);
    /// let mut count = 0;
    /// while let Some((job, row)) = rows.next().await {
    ///     let _row = row?; // an error names its job too: `job`
    ///     count += 1;
    ///     # let _ = job;
    /// }
    /// assert_eq!(count, 20);
    /// # Ok(())
    /// # }
    /// ```
    pub fn merged_rows_of_jobs<R: DeserializeOwned + Send + 'static>(
        &self,
        router: &super::WebhookRouter,
        ids: impl IntoIterator<Item = impl Into<JobId>>,
        options: MergeOptions,
    ) -> BoxStream<'static, (JobId, Result<MergedRow<R>>)> {
        let feeds = ids.into_iter().map(Into::into).map(|id: JobId| {
            self.merged_rows::<R>(id, router.subscribe(id), options.clone())
                .map(move |item| (id, item))
                .boxed()
        });
        stream::select_all(feeds).boxed()
    }
}
