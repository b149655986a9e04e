//! Reading a job's rows through the paged results API.
//!
//! Pages are fetched with bounded concurrency and yielded in order, so every row comes out
//! exactly once, in the server's order. `meta.total` can lag right after a job finishes, so
//! the pager does not trust it: it pages to `lastPage`, and further while the job's row count
//! (from its status) says rows are missing, until an empty page.
//!
//! The rows are checked, not trusted: a wrapper `id` seen twice (a server that ignores `page`
//! sends page 1 again and again) ends the stream with [`Error::RepeatedRow`], and a job that has
//! ended but whose pages hold fewer rows than its `dataRowsCount` (or the last `meta.total`)
//! ends it with [`Error::Incomplete`]; pages that hold more rows than it reports end it with
//! [`Error::RowCountMismatch`] unless a second status read agrees with them. The repeat check runs in bounded memory, whatever the
//! job's size: what it remembers, and what it therefore catches, is in [`RepeatCheck`].

use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{self, BoxStream, FuturesOrdered, StreamExt};
use hasdata_model::decode::{self, DecodeError};
use hasdata_model::{Job, JobId, ResultsPage};
use http::Method;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::page_readers::{self, PageReaders};
use crate::repeats::{RepeatCheck, hash_id};

/// Rows per page: the API's maximum.
pub const PAGE_LIMIT: u64 = 100;

/// Pages a reading holds (queued, in flight, being read or waiting their turn) beyond twice
/// its requests. With one page a request, as before, a page that came early and waited for
/// the one before it, or one being read, held its request's place, and fewer requests than
/// asked for were in flight. Twice the requests keeps them in flight past one slow page; the
/// slack absorbs a consumer or a page thread that the OS holds back for a moment (on two
/// cores shared with the server, a 1M-row export was 5-15% faster with 32 more pages held
/// than with none, `docs/benchmarks.md`). Pages are ~40 KB each, their rows ~20 KB: about
/// 2 MB in all at the default concurrency.
const SLACK: usize = 32;

/// What the pager needs of a page, however its rows are read (typed, or as raw bytes).
pub(crate) trait Page: Send + Sized + 'static {
    /// Reads a page's body.
    fn parse(body: &Bytes) -> std::result::Result<Self, DecodeError>;
    /// Rows on this page.
    fn row_count(&self) -> u64;
    /// Row `index`'s wrapper id, when it has one: a string's text, or a number's digits (a
    /// numeric id repeats as surely as a text one, so both readings check it).
    fn row_id(&self, index: usize) -> Option<std::borrow::Cow<'_, str>>;
    /// Row `index`'s wrapper id's [`hash_id`], when it has one. A page parsed off the
    /// consumer's task computes them there.
    fn row_id_hash(&self, index: usize) -> Option<u64> {
        self.row_id(index).map(|id| hash_id(&id))
    }
    /// `meta.total`, as this page says.
    fn meta_total(&self) -> u64;
    /// The last page's number, as this page says.
    fn last_page(&self) -> u64;
}

impl<R: DeserializeOwned + Send + 'static> Page for ResultsPage<R> {
    fn parse(body: &Bytes) -> std::result::Result<Self, DecodeError> {
        decode::from_slice(body)
    }

    fn row_count(&self) -> u64 {
        self.data.len() as u64
    }

    fn row_id(&self, index: usize) -> Option<std::borrow::Cow<'_, str>> {
        match self.data.get(index)?.id.as_ref()? {
            serde_json::Value::String(text) => Some(std::borrow::Cow::Borrowed(text)),
            serde_json::Value::Number(number) => Some(std::borrow::Cow::Owned(number.to_string())),
            _ => None,
        }
    }

    fn meta_total(&self) -> u64 {
        self.meta.total.get()
    }

    fn last_page(&self) -> u64 {
        self.meta.last_page.get()
    }
}

type PageFuture<P> = futures::future::BoxFuture<'static, (u64, Result<P>)>;

/// A page's body, fetched: read already, or queued to the page thread (its body kept, to be
/// read here should the thread be gone).
enum Fetched<P> {
    Read(std::result::Result<P, DecodeError>),
    Queued(tokio::sync::oneshot::Receiver<page_readers::Read<P>>, Bytes),
}

/// A spawned task that is aborted when dropped, so a dropped stream stops its page fetches.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub(crate) struct Pager<R> {
    client: Client,
    id: JobId,
    /// Pages queued, fetched or read, not yet taken: twice the requests and [`SLACK`].
    ahead: usize,
    /// Requests in flight, `concurrency` at most: a permit is held from the request until its
    /// body is in, not while the page is read or waits its turn, so a slow page or a page read
    /// off this task never leaves the connection idle.
    fetching: Arc<Semaphore>,
    next_page: u64,
    last_page: u64,
    expected_rows: Option<u64>,
    /// Whether the job had ended when paging began: only then are the counts final.
    terminal: bool,
    /// The largest `meta.total` seen (it may lag, never lead).
    meta_total: u64,
    rows_seen: u64,
    /// The repeated-row check (bounded memory).
    repeats: RepeatCheck,
    in_flight: FuturesOrdered<PageFuture<R>>,
    /// The thread that reads the pages: `None` until the first fetch on a runtime asks for
    /// it, then the thread, or `None` when none could be had (as many run as cores). Asked
    /// for once: a reading refused a thread does not ask again for each page.
    readers: Option<Option<PageReaders>>,
    started: bool,
    exhausted: bool,
    done: bool,
}

impl<P: Page> Pager<P> {
    /// Fetches and reads a page. On a tokio runtime the fetch runs as a task of its own and
    /// the page is read on the reading's own thread ([`PageReaders`]), so pages are fetched
    /// and read while the consumer writes the previous ones, and the runtime's workers only
    /// move bytes. The fetch's task ends once the body is queued to that thread; the reading
    /// is awaited here, by the consumer, which the thread then wakes itself: one task woken
    /// a page, not the fetch's task and then the consumer after it.
    fn fetch(&mut self, page: u64) -> PageFuture<P> {
        let client = self.client.clone();
        let id = self.id;
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let readers = self.readers.get_or_insert_with(PageReaders::start).clone();
                let fetch = Self::fetch_here(
                    self.client.clone(),
                    id,
                    page,
                    Arc::clone(&self.fetching),
                    readers,
                );
                let task = AbortOnDrop(runtime.spawn(fetch));
                Box::pin(async move {
                    let mut task = task;
                    let fetched = match (&mut task.0).await {
                        Ok(fetched) => fetched,
                        Err(joined) if joined.is_panic() => {
                            std::panic::resume_unwind(joined.into_panic())
                        }
                        // Only a runtime shutting down cancels the task.
                        Err(_) => Err(Error::Shutdown),
                    };
                    (page, Self::read(&client, id, page, fetched).await)
                })
            }
            Err(_) => {
                let fetching = Arc::clone(&self.fetching);
                Box::pin(async move {
                    let fetched = Self::fetch_here(client.clone(), id, page, fetching, None).await;
                    (page, Self::read(&client, id, page, fetched).await)
                })
            }
        }
    }

    /// Fetches page `page` under a permit of `fetching`; queues its reading on `readers`
    /// when given, else reads it here.
    async fn fetch_here(
        client: Client,
        id: JobId,
        page: u64,
        fetching: Arc<Semaphore>,
        readers: Option<PageReaders>,
    ) -> Result<Fetched<P>> {
        let path = format!("/scrapers/jobs/{id}/results?page={page}&limit={PAGE_LIMIT}");
        // Never closed, so always a permit in the end.
        let permit = fetching.acquire_owned().await.ok();
        let body = client
            .idempotent_with(Method::GET, &path, Some(id), |body| Ok(body.clone()))
            .await;
        drop(permit);
        let body = body.map_err(|error| error.on_page(page))?;
        Ok(match readers {
            Some(readers) => Fetched::Queued(readers.read(body.clone(), P::parse), body),
            None => Fetched::Read(P::parse(&body)),
        })
    }

    /// The page's reading, once it is done; its failure named by page and job.
    async fn read(client: &Client, id: JobId, page: u64, fetched: Result<Fetched<P>>) -> Result<P> {
        let read = match fetched? {
            Fetched::Read(read) => read,
            Fetched::Queued(reading, body) => match reading.await {
                Ok(read) => read.unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                // The thread is gone (it cannot be, while the pager holds its queue): read
                // here.
                Err(_) => P::parse(&body),
            },
        };
        read.map_err(|error| Error::Decode {
            source: client.scrub_decode(error).within(&format!("page {page}")),
            job_id: Some(id),
        })
    }

    /// Takes the job's record as the start of paging: an ended job's counts are final.
    fn know(&mut self, job: &Job) {
        self.started = true;
        if job.status.is_terminal() {
            self.terminal = true;
            // A count that does not read is no count: the pages are read to `lastPage` (and
            // checked against `meta.total`), and the reading ends unchecked (`rows.rs`).
            if job.unreadable_rows_count().is_some() {
                return;
            }
            let rows = job.data_rows_count.get();
            self.expected_rows = Some(rows);
            // The pages the count needs are asked for from the start, not once page 1 has
            // said how many there are: a reading no longer begins with one request alone.
            self.last_page = self.last_page.max(rows.div_ceil(PAGE_LIMIT));
        }
    }

    /// The pages held more rows than the ended job reported (`reported`): its count may
    /// have been read before it settled, so it is read once more. The error, if the two still
    /// disagree.
    async fn recount(client: Client, id: JobId, rows_seen: u64, reported: u64) -> Option<Error> {
        let now = match client.status(id).await {
            Ok(job) => match job.unreadable_rows_count() {
                Some(sent) => return Some(Error::UncheckedRows { job_id: id, sent }),
                None => job.data_rows_count.get(),
            },
            Err(error) => {
                tracing::warn!(job_id = %id, %error, "could not read the job again to check its row count");
                reported
            }
        };
        (now != rows_seen).then_some(Error::RowCountMismatch {
            job_id: id,
            rows: rows_seen,
            expected: now,
        })
    }

    async fn step(mut self) -> Option<(Result<P>, Self)> {
        if self.done {
            return None;
        }
        if !self.started {
            self.started = true;
            // An ended job's row count is the truth `meta.total` may lag behind, and what the
            // rows are checked against; without it the rows cannot be checked, so no rows.
            match self.client.status(self.id).await {
                Ok(job) => self.know(&job),
                Err(error) => {
                    self.done = true;
                    return Some((Err(error.with_job(self.id)), self));
                }
            }
        }
        loop {
            while self.in_flight.len() < self.ahead
                && self.next_page <= self.last_page
                && !self.exhausted
            {
                let page = self.next_page;
                let fetch = self.fetch(page);
                self.in_flight.push_back(fetch);
                self.next_page += 1;
            }
            if self.in_flight.is_empty() {
                let missing = self
                    .expected_rows
                    .is_some_and(|expected| self.rows_seen < expected);
                if missing && !self.exhausted {
                    // Past `lastPage`, because the row count says rows are still to come.
                    self.last_page = self.next_page;
                    continue;
                }
                self.done = true;
                let expected = self.expected_rows.unwrap_or(0).max(self.meta_total);
                if self.terminal && self.rows_seen < expected {
                    let error = Error::Incomplete {
                        job_id: self.id,
                        rows: self.rows_seen,
                        expected,
                    };
                    return Some((Err(error), self));
                }
                if let Some(reported) = self
                    .expected_rows
                    .filter(|&n| self.terminal && self.rows_seen > n)
                {
                    let recount =
                        Self::recount(self.client.clone(), self.id, self.rows_seen, reported);
                    return recount.await.map(|error| (Err(error), self));
                }
                return None;
            }
            let (page_number, result) = self.in_flight.next().await?;
            let page = match result {
                Ok(page) => page,
                Err(error) => {
                    self.done = true;
                    return Some((Err(error), self));
                }
            };
            let rows = page.row_count();
            let ids =
                (0..rows as usize).filter_map(|index| Some((index, page.row_id_hash(index)?)));
            if let Some(index) = self.repeats.page(ids) {
                self.done = true;
                let error = Error::RepeatedRow {
                    job_id: self.id,
                    row_id: page
                        .row_id(index)
                        .map(|id| id.into_owned())
                        .unwrap_or_default(),
                    page: page_number,
                };
                return Some((Err(error), self));
            }
            self.rows_seen += rows;
            self.meta_total = self.meta_total.max(page.meta_total());
            self.last_page = self.last_page.max(page.last_page());
            if let Some(expected) = self.expected_rows {
                self.last_page = self.last_page.max(expected.div_ceil(PAGE_LIMIT));
            }
            if rows == 0 && page_number > 1 {
                // An empty page: nothing lies beyond it.
                self.exhausted = true;
                continue;
            }
            return Some((Ok(page), self));
        }
    }
}

impl Client {
    /// Pages of any [`Page`] reading, in order, `limit` 100, `concurrency` at once. For a
    /// job that has ended, the stream ends with [`Error::Incomplete`] when the pages hold
    /// fewer rows than the job reports, and with [`Error::RepeatedRow`] when a row comes
    /// twice; a running job's rows so far cannot be checked. `known` is the job's record when
    /// the caller has just read it (it saves a status call).
    pub(crate) fn pages<P: Page>(
        &self,
        id: JobId,
        concurrency: usize,
        known: Option<Job>,
    ) -> BoxStream<'static, Result<P>> {
        // No more than the client's own requests in flight: a page over that only waits for
        // one, and holds a spawned fetch and, later, its body. `--concurrency 100000` on a job
        // whose count promised far more rows than its pages held spawned 200,000 fetches
        // (450 MB) and sent every one before the reading could end.
        let concurrency = concurrency.clamp(1, self.inner.max_requests.max(1));
        let mut pager = Pager::<P> {
            client: self.clone(),
            id,
            ahead: concurrency.saturating_mul(2).saturating_add(SLACK),
            fetching: Arc::new(Semaphore::new(concurrency.min(Semaphore::MAX_PERMITS))),
            next_page: 1,
            last_page: 1,
            expected_rows: None,
            terminal: false,
            meta_total: 0,
            rows_seen: 0,
            repeats: RepeatCheck::default(),
            in_flight: FuturesOrdered::new(),
            readers: None,
            started: false,
            exhausted: false,
            done: false,
        };
        if let Some(job) = known {
            pager.know(&job);
        }
        stream::unfold(pager, Pager::step).boxed()
    }

    /// A job's rows of any type `R` (the unwrapped `data` of each result) decoded straight
    /// from the pages, in order, each exactly once. Decode errors name the page, the row
    /// index and the field.
    pub(crate) fn typed_page_rows<R: DeserializeOwned + Send + 'static>(
        &self,
        id: JobId,
        concurrency: usize,
        known: Option<Job>,
    ) -> BoxStream<'static, Result<R>> {
        self.pages::<ResultsPage<R>>(id, concurrency, known)
            .flat_map(|page| match page {
                Ok(page) => stream::iter(
                    page.data
                        .into_iter()
                        .map(|row| Ok(row.data))
                        .collect::<Vec<_>>(),
                ),
                Err(error) => stream::iter(vec![Err(error)]),
            })
            .boxed()
    }
}
