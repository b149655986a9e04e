//! One way to read a job's rows: [`Client::rows`] and [`JobHandle::rows`](crate::JobHandle::rows)
//! return a [`Rows`], a stream with options.
//!
//! Where the rows come from is chosen once, from the job's record: a `finished` job with a
//! `data.json` link is read from the file (one request, constant memory, falling back to the
//! pages when the file cannot be had); any other job (running, stopped, failed, or finished
//! without a link) from the paged results. Either way the rows are counted against the ended
//! job's `dataRowsCount` and come out in order, each exactly once. `.pages()` and `.file()`
//! force a source; `.concurrency(n)` sets how many pages are fetched at once.
//!
//! The row type is a type parameter: any `DeserializeOwned` type (a scraper's row type,
//! `serde_json::Value`, your own struct) or [`RowJson`], the row's bytes as the API sent them.

use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::{self, BoxStream, Stream, StreamExt};
use hasdata_model::decode::{self, DecodeError};
use hasdata_model::{Job, JobId, JobStatus};
use serde::de::DeserializeOwned;

use crate::batch::RowBatch;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::raw::RowJson;

/// Where a job's rows are read from.
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
/// # let job = client.submit(&GoogleSerpBody::new().keywords(["coffee"]).limit(30)).await?;
/// # job.wait(PollPolicy::fast()).await?;
/// let from_pages: Vec<GoogleSerpRow> = job.rows().source(RowSource::Pages).try_collect().await?;
/// let from_file: Vec<GoogleSerpRow> = job.rows().source(RowSource::File).try_collect().await?;
/// assert_eq!(from_pages.len(), from_file.len());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RowSource {
    /// `data.json` when the job has `finished` and its record links the file; the paged
    /// results otherwise (a running job's rows so far, a stopped or failed job's rows, a
    /// finished job without a link).
    #[default]
    Auto,
    /// `data.json` only (falling back to the pages if the file breaks or expires); a job that
    /// has not finished, or has no link, is [`Error::NoDownload`].
    File,
    /// The paged results API only.
    Pages,
}

/// A type a job's rows can be read as: [`RowJson`] (the bytes the API sent, for exports that
/// must not change them), or any `DeserializeOwned` type, decoded straight from the pages or
/// the file. Implemented for those; not meant to be implemented elsewhere.
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
/// // Only the fields this program needs: any `Deserialize` type is a `RowType`.
/// #[derive(serde::Deserialize)]
/// struct Hit { title: Option<String> }
///
/// # let job = client.submit(&GoogleSerpBody::new().keywords(["coffee"]).limit(10)).await?;
/// # job.wait(PollPolicy::fast()).await?;
/// let hits: Vec<Hit> = client.rows(job.id()).try_collect().await?;
/// assert_eq!(hits.len(), 10);
/// # Ok(())
/// # }
/// ```
pub trait RowType: Send + Sized + 'static {
    /// The rows of a job's results pages.
    #[doc(hidden)]
    fn from_pages(read: PageRead) -> BoxStream<'static, Result<Self>>;
    /// One row read from `data.json`, the `index`th of job `id`.
    #[doc(hidden)]
    fn from_json(row: RowJson, index: u64, id: JobId) -> Result<Self>;
}

/// What a paged read needs; built by [`Rows`] only.
#[doc(hidden)]
#[derive(Debug)]
pub struct PageRead {
    client: Client,
    id: JobId,
    concurrency: usize,
    known: Option<Job>,
}

impl RowType for RowJson {
    fn from_pages(read: PageRead) -> BoxStream<'static, Result<Self>> {
        read.client
            .raw_page_rows(read.id, read.concurrency, read.known)
    }

    fn from_json(row: RowJson, _index: u64, _id: JobId) -> Result<Self> {
        Ok(row)
    }
}

impl<T: DeserializeOwned + Send + 'static> RowType for T {
    fn from_pages(read: PageRead) -> BoxStream<'static, Result<Self>> {
        read.client
            .typed_page_rows(read.id, read.concurrency, read.known)
    }

    fn from_json(row: RowJson, index: u64, id: JobId) -> Result<Self> {
        decode::from_slice::<T>(row.as_bytes()).map_err(|e: DecodeError| Error::Decode {
            source: e.within(&format!("data.json row {index}")),
            job_id: Some(id),
        })
    }
}

/// A job's rows: a [`Stream`] of `Result<R>`, with options set before the first row is asked
/// for. Made by [`Client::rows`] and [`JobHandle::rows`](crate::JobHandle::rows).
///
/// The stream ends with [`Error::Incomplete`] when an ended job's rows come short of its
/// `dataRowsCount`, and with [`Error::RepeatedRow`] when the pages repeat a row; a running
/// job's rows so far cannot be checked. Dropping it stops the reading, not the job.
///
/// ```
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
/// #     job_duration: std::time::Duration::ZERO,
/// #     ..Default::default()
/// # }).await?;
/// use hasdata_jobs::prelude::*;
/// use hasdata_jobs::RowJson;
///
/// let client = Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).build()?;
/// let job = client.submit(&GoogleSerpBody::new().keywords(["coffee"]).limit(30)).await?;
/// job.wait(PollPolicy::fast()).await?;
///
/// // Typed, from data.json (the job finished):
/// let rows: Vec<GoogleSerpRow> = job.rows().try_collect().await?;
/// // The same rows from the pages, 8 at once, as the bytes the API sent:
/// let raw: Vec<RowJson> = client.rows(job.id()).pages().concurrency(8).try_collect().await?;
/// assert_eq!(rows.len(), raw.len());
/// # Ok(())
/// # }
/// ```
#[must_use = "a Rows reads nothing until it is polled as a stream"]
pub struct Rows<R> {
    client: Client,
    id: JobId,
    source: RowSource,
    concurrency: usize,
    known: Option<Job>,
    collected: Collected,
    started: Option<BoxStream<'static, Result<R>>>,
    row: PhantomData<fn() -> R>,
}

impl<R> std::fmt::Debug for Rows<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rows")
            .field("id", &self.id)
            .field("source", &self.source)
            .field("concurrency", &self.concurrency)
            .field("collected", &self.collected)
            .field("started", &self.started.is_some())
            .finish()
    }
}

impl<R: RowType> Rows<R> {
    pub(crate) fn new(client: Client, id: JobId) -> Self {
        let concurrency = client.inner.page_concurrency;
        Rows {
            client,
            id,
            source: RowSource::Auto,
            concurrency,
            known: None,
            collected: Collected::Program,
            started: None,
            row: PhantomData,
        }
    }

    /// Reads from the paged results API only.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
    /// #     job_duration: std::time::Duration::from_secs(3600),
    /// #     ..Default::default()
    /// # }).await?;
    /// # let client = hasdata_jobs::Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).build()?;
    /// use hasdata_jobs::prelude::*;
    ///
    /// let job = client.submit(&ContactsBody::new(["https://example.com/about"])).await?;
    /// // A running job's rows so far (not checked against a count: it is not final yet).
    /// let so_far: Vec<ContactsRow> = job.rows().pages().try_collect().await?;
    /// # drop(so_far);
    /// # Ok(())
    /// # }
    /// ```
    pub fn pages(self) -> Self {
        self.source(RowSource::Pages)
    }

    /// Reads from `data.json` only (see [`RowSource::File`]).
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
    /// #     job_duration: std::time::Duration::from_secs(3600),
    /// #     ..Default::default()
    /// # }).await?;
    /// # let client = hasdata_jobs::Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).build()?;
    /// use hasdata_jobs::prelude::*;
    ///
    /// let job = client.submit(&ContactsBody::new(["https://example.com/about"])).await?;
    /// let early: Result<Vec<ContactsRow>> = job.rows().file().try_collect().await;
    /// assert!(matches!(early, Err(Error::NoDownload { .. })), "no data.json before the job finishes");
    /// # Ok(())
    /// # }
    /// ```
    pub fn file(self) -> Self {
        self.source(RowSource::File)
    }

    /// Reads from `source` (default [`RowSource::Auto`]).
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
    /// # let job = client.submit(&GoogleSerpBody::new().keywords(["coffee"]).limit(30)).await?;
    /// # job.wait(PollPolicy::fast()).await?;
    /// let source = if std::env::var_os("PAGES_ONLY").is_some() { RowSource::Pages } else { RowSource::Auto };
    /// let rows: Vec<GoogleSerpRow> = job.rows().source(source).try_collect().await?;
    /// assert_eq!(rows.len(), 30);
    /// # Ok(())
    /// # }
    /// ```
    pub fn source(mut self, source: RowSource) -> Self {
        self.source = source;
        self
    }

    /// Result pages fetched at once (default: the client's
    /// [`page_concurrency`](crate::ClientBuilder::page_concurrency); at least 1, and at most
    /// the client's [`max_concurrent_requests`](crate::ClientBuilder::max_concurrent_requests):
    /// more could only wait for a request, holding memory).
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
    /// # let job = client.submit(&GoogleSerpBody::new().keywords(["coffee"]).limit(30)).await?;
    /// # job.wait(PollPolicy::fast()).await?;
    /// // One page at a time: the rows come in order either way.
    /// let rows: Vec<GoogleSerpRow> = job.rows().pages().concurrency(1).try_collect().await?;
    /// assert_eq!(rows.len(), 30);
    /// # Ok(())
    /// # }
    /// ```
    pub fn concurrency(mut self, pages: usize) -> Self {
        self.concurrency = pages.max(1);
        self
    }

    /// Where the rows go, as the client's ledger notes it once they have all been read
    /// (`hasdata jobs list` shows it after `->`): a file, a table, a bucket. By default the
    /// ledger notes `read by PROGRAM` (this executable's name).
    ///
    /// The ledger marks an ended job collected when its rows stream comes to its end with
    /// every row (the count check passed), as the CLI marks a job whose rows it wrote to a
    /// file; `hasdata jobs resume` then leaves it alone. A read that stops early, fails, or is
    /// of a job still running marks nothing.
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
    /// use hasdata_jobs::JobLedger;
    ///
    /// # let job = client.submit(&GoogleSerpBody::new().keywords(["coffee"]).limit(30)).await?;
    /// # job.wait(PollPolicy::fast()).await?;
    /// let rows: Vec<GoogleSerpRow> = job.rows().collected_to("s3://bucket/coffee.jsonl").try_collect().await?;
    /// // ... the rows written to the bucket ...
    /// # drop(rows);
    /// let entry = client.ledger().job(job.id()).await?.expect("in the ledger");
    /// assert_eq!(entry.output.as_deref(), Some("s3://bucket/coffee.jsonl"));
    /// assert!(entry.collected_at.is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub fn collected_to(mut self, output: impl Into<String>) -> Self {
        self.collected = Collected::To(output.into());
        self
    }

    /// Leaves the job uncollected in the ledger, however the read ends: for a caller that
    /// persists the rows after reading them, and marks the job itself once they are safe
    /// (`client.ledger().mark_collected(id, output)`), so a crash in between leaves the job
    /// for `hasdata jobs resume`. Also for a peek at a job's rows.
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
    /// use hasdata_jobs::JobLedger;
    ///
    /// # let job = client.submit(&GoogleSerpBody::new().keywords(["coffee"]).limit(30)).await?;
    /// # job.wait(PollPolicy::fast()).await?;
    /// let rows: Vec<RowJson> = job.rows().read_as().keep_uncollected().try_collect().await?;
    /// // ... the rows stored somewhere durable; only then:
    /// # drop(rows);
    /// client.ledger().mark_collected(job.id(), "/data/coffee.jsonl").await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn keep_uncollected(mut self) -> Self {
        self.collected = Collected::No;
        self
    }

    /// The same rows read as another type, such as [`RowJson`] or `serde_json::Value`.
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
    /// # let job = client.submit(&GoogleSerpBody::new().keywords(["coffee"]).limit(30)).await?;
    /// # job.wait(PollPolicy::fast()).await?;
    /// let raw: Vec<RowJson> = job.rows().read_as::<RowJson>().try_collect().await?;
    /// let values: Vec<serde_json::Value> = job.rows().read_as().try_collect().await?;
    /// assert_eq!(raw.len(), values.len());
    /// # Ok(())
    /// # }
    /// ```
    pub fn read_as<T: RowType>(self) -> Rows<T> {
        Rows {
            client: self.client,
            id: self.id,
            source: self.source,
            concurrency: self.concurrency,
            known: self.known,
            collected: self.collected,
            started: None,
            row: PhantomData,
        }
    }

    /// The job's record the caller has just read (the status that ended its wait): the
    /// source is chosen and the rows checked by it, without a status call of its own. Only an
    /// ended job's record fixes the row count the rows are checked against; any other record
    /// is taken as a starting point, as a fresh status would be.
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
    /// # let id = client.submit(&ContactsBody::new(["https://example.com/about"])).await?.id();
    /// let done = client.wait(id, PollPolicy::fast()).await?;
    /// // The wait's last record picks the source and the count: no status call of its own.
    /// let rows: Vec<ContactsRow> = client.rows(id).known(done).try_collect().await?;
    /// assert_eq!(rows.len(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn known(mut self, job: Job) -> Self {
        self.known = Some(job);
        self
    }

    /// The job these rows are of.
    ///
    /// ```
    /// use hasdata_jobs::prelude::*;
    ///
    /// let client = Client::new("my-api-key")?;
    /// let rows = client.rows::<ContactsRow>(JobId::from(42));
    /// assert_eq!(rows.job_id(), JobId::from(42));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn job_id(&self) -> JobId {
        self.id
    }

    /// The rows as a boxed stream (what polling the `Rows` itself does).
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
    /// use futures::stream::BoxStream;
    ///
    /// # let job = client.submit(&GoogleSerpBody::new().keywords(["coffee"]).limit(30)).await?;
    /// # job.wait(PollPolicy::fast()).await?;
    /// // A named type, to keep in a struct or return from a trait method.
    /// let stream: BoxStream<'static, Result<GoogleSerpRow>> = job.rows().into_stream();
    /// assert_eq!(stream.try_collect::<Vec<_>>().await?.len(), 30);
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_stream(self) -> BoxStream<'static, Result<R>> {
        match self.started {
            Some(stream) => stream,
            None => self.open(),
        }
    }

    fn open(&self) -> BoxStream<'static, Result<R>> {
        self.open_as(
            |client, id, concurrency, job| file::<R>(client, id, concurrency, Some(job)),
            R::from_pages,
        )
    }

    /// The stream of `T`s (rows, or batches of them) from the source the job's record picks.
    fn open_as<T: Send + 'static>(
        &self,
        from_file: fn(&Client, JobId, usize, Job) -> BoxStream<'static, Result<T>>,
        from_pages: fn(PageRead) -> BoxStream<'static, Result<T>>,
    ) -> BoxStream<'static, Result<T>> {
        let (client, id, concurrency) = (self.client.clone(), self.id, self.concurrency);
        let (source, known, collected) = (self.source, self.known.clone(), self.collected.clone());
        stream::once(async move {
            // The job's record decides the source and what the rows are checked against; it
            // is read once, here, and handed down.
            let job = match known {
                Some(job) => job,
                None => match client.status(id).await {
                    Ok(job) => job,
                    Err(error) => return stream::iter([Err(error.with_job(id))]).boxed(),
                },
            };
            let linked = job.data.as_ref().is_some_and(|links| links.json.is_some());
            let from_file_now = match source {
                RowSource::File => true,
                RowSource::Pages => false,
                RowSource::Auto => job.status == JobStatus::Finished && linked,
            };
            let ended = job.status.is_terminal();
            let unreadable = ended.then(|| job.unreadable_rows_count()).flatten();
            let rows = if from_file_now {
                from_file(&client, id, concurrency, job)
            } else {
                from_pages(PageRead {
                    client: client.clone(),
                    id,
                    concurrency,
                    known: Some(job),
                })
            };
            let rows = match unreadable {
                Some(sent) => unchecked(rows, id, sent),
                None => rows,
            };
            match collected.output() {
                // Only an ended job's rows are all there to read, and checked against it.
                Some(output) if ended => Collecting {
                    rows,
                    failed: false,
                    ended: false,
                    note: Some((client, id, output)),
                    noting: None,
                }
                .boxed(),
                _ => rows,
            }
        })
        .flatten()
        .boxed()
    }
}

/// The rows of an ended job whose `dataRowsCount` does not read (`sent`, as sent), ending
/// with [`Error::UncheckedRows`] where they would have ended well.
///
/// Why read them at all, and why not end well: such a count cannot say whether the rows are
/// all there, so a reading that ends `Ok` would claim a check that never happened (read as 0,
/// the count said the job held no rows: every row was "more than the job reports"); refusing
/// to read would keep from the caller rows that may well be complete, and that the CLI keeps
/// as `FILE.partial` for a person to judge. So every row is handed on, and the end says they
/// are unchecked, quoting the count. A row-count disagreement from the reading (its count,
/// read as 0, against the rows) is that same fault and becomes this error; any other error
/// passes as it is (a short `meta.total` is a count that did read).
fn unchecked<T: Send + 'static>(
    rows: BoxStream<'static, Result<T>>,
    id: JobId,
    sent: String,
) -> BoxStream<'static, Result<T>> {
    stream::unfold(Some(rows), move |rows| {
        let sent = sent.clone();
        async move {
            let mut rows = rows?;
            match rows.next().await {
                Some(Ok(row)) => Some((Ok(row), Some(rows))),
                None | Some(Err(Error::RowCountMismatch { .. })) => {
                    Some((Err(Error::UncheckedRows { job_id: id, sent }), None))
                }
                Some(Err(error)) => Some((Err(error), None)),
            }
        }
    })
    .boxed()
}

impl Rows<RowJson> {
    /// The same rows handed on many at a time: each [`RowBatch`] is a stretch of rows as JSON
    /// lines in one buffer (from `data.json`, about half a megabyte of it; from the pages,
    /// one page). Same source, order, checks and errors as the rows one by one; for a writer
    /// of millions of rows, whose cost per stream item would otherwise exceed the work.
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
    /// use std::io::Write;
    ///
    /// # let job = client.submit(&GoogleSerpBody::new().keywords(["coffee"]).limit(30)).await?;
    /// # job.wait(PollPolicy::fast()).await?;
    /// let mut out = std::io::sink();
    /// let mut batches = client.rows::<RowJson>(job.id()).file().batches();
    /// let mut rows = 0;
    /// while let Some(batch) = batches.try_next().await? {
    ///     out.write_all(batch.jsonl())?;
    ///     rows += batch.len();
    /// }
    /// assert_eq!(rows, 30);
    /// # Ok(())
    /// # }
    /// ```
    pub fn batches(self) -> BoxStream<'static, Result<RowBatch>> {
        self.open_as(
            |client, id, concurrency, job| client.file_batches(id, concurrency, Some(job)),
            |read| {
                read.client
                    .raw_page_batches(read.id, read.concurrency, read.known)
            },
        )
    }
}

/// What the ledger is told once every row has been read.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Collected {
    /// `read by PROGRAM`.
    Program,
    /// The caller's words for where the rows went.
    To(String),
    /// Nothing.
    No,
}

impl Collected {
    fn output(self) -> Option<String> {
        match self {
            Collected::Program => {
                let program = std::env::current_exe()
                    .ok()
                    .and_then(|path| Some(path.file_stem()?.to_string_lossy().into_owned()))
                    .unwrap_or_else(|| "a Rust program".to_owned());
                Some(format!("read by {program}"))
            }
            Collected::To(output) => Some(output),
            Collected::No => None,
        }
    }
}

/// An ended job's rows that, once they end without an error (every row read: the sources
/// check the count), mark the job collected in the ledger before saying they are done. So
/// when a `try_collect` returns, `hasdata jobs list` already shows the job collected.
struct Collecting<R> {
    rows: BoxStream<'static, Result<R>>,
    failed: bool,
    ended: bool,
    note: Option<(Client, JobId, String)>,
    noting: Option<futures::future::BoxFuture<'static, ()>>,
}

impl<R> Stream for Collecting<R> {
    type Item = Result<R>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(noting) = &mut this.noting {
                std::task::ready!(noting.as_mut().poll(cx));
                this.noting = None;
                return Poll::Ready(None);
            }
            if this.ended {
                return Poll::Ready(None);
            }
            match std::task::ready!(this.rows.poll_next_unpin(cx)) {
                Some(Ok(row)) => return Poll::Ready(Some(Ok(row))),
                Some(Err(error)) => {
                    this.failed = true;
                    return Poll::Ready(Some(Err(error)));
                }
                None => {
                    this.ended = true;
                    if let (false, Some((client, id, output))) = (this.failed, this.note.take()) {
                        this.noting = Some(Box::pin(async move {
                            client.note_collected(id, &output).await;
                        }));
                    }
                }
            }
        }
    }
}

/// `data.json`'s rows read as `R`.
fn file<R: RowType>(
    client: &Client,
    id: JobId,
    concurrency: usize,
    known: Option<Job>,
) -> BoxStream<'static, Result<R>> {
    let mut index = 0u64;
    client
        .file_batches(id, concurrency, known)
        .flat_map(move |batch| {
            let rows: Vec<Result<R>> = match batch {
                Ok(batch) => batch
                    .into_rows()
                    .map(|row| {
                        let at = index;
                        index += 1;
                        R::from_json(row, at, id)
                    })
                    .collect(),
                Err(error) => vec![Err(error)],
            };
            stream::iter(rows)
        })
        .boxed()
}

impl<R: RowType> Stream for Rows<R> {
    type Item = Result<R>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let stream = match &mut this.started {
            Some(stream) => stream,
            None => this.started.insert(this.open()),
        };
        stream.poll_next_unpin(cx)
    }
}

impl Client {
    /// A job's rows, read as `R`: a scraper's row type, `serde_json::Value`, your own
    /// `Deserialize` type, or [`RowJson`] for the bytes as sent. See [`Rows`] for the options
    /// (`.pages()`, `.file()`, `.concurrency(n)`) and the checks.
    ///
    /// ```
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sim = hasdata_sim::Simulator::start(hasdata_sim::SimConfig {
    /// #     job_duration: std::time::Duration::ZERO,
    /// #     ..Default::default()
    /// # }).await?;
    /// use hasdata_jobs::prelude::*;
    ///
    /// let client = Client::builder().api_key(sim.api_key()).base_url(sim.base_url()).build()?;
    /// # let id = client.submit(&ContactsBody::new(["https://example.com/about"])).await?.id();
    /// # client.wait(id, PollPolicy::fast()).await?;
    /// // Only the id is known (from the ledger, another process): name the row type.
    /// let rows: Vec<serde_json::Value> = client.rows(id).try_collect().await?;
    /// assert_eq!(rows[0]["url"], "https://example.com/about");
    /// # Ok(())
    /// # }
    /// ```
    pub fn rows<R: RowType>(&self, id: impl Into<JobId>) -> Rows<R> {
        Rows::new(self.clone(), id.into())
    }
}
