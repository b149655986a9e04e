//! Reading a finished job's rows from its `data.json` file, in constant memory.
//!
//! The file sits on a storage host, not the API: the request carries no API key (the key
//! layer only adds it for the API's origin). Its link is short-lived: on a 400, 401, 403, 404 or
//! 410 (how storage hosts refuse an expired signed link) a fresh status is read for new links,
//! once; if that fails too, or the file cannot be read, the rows come from the paged results
//! instead. A download that breaks off is resumed by reading the file again (after the retry
//! policy's backoff) and skipping the rows already handed on, so every row still comes
//! exactly once. A body that ends as HTTP
//! says it ends but stops inside the array is the file as stored: it is not read again (that
//! would fetch the same bytes), and the pages give the rest.
//!
//! The rows are counted against the finished job's `dataRowsCount`: a file that ends short
//! (truncated, or cut off cleanly) is not trusted; the missing rows are read from the pages,
//! which check their own count, so a stream that ends without an error carried every row. A
//! file that holds more rows than the job reports is checked against a fresh status once; if
//! the two still disagree, the stream ends with [`Error::RowCountMismatch`].
//!
//! The reading runs as a task of its own (on a tokio runtime), and the splitting on both
//! cores: the chunks received make blocks of about [`BLOCK_BYTES`] (shared, not copied), each
//! block is split on one of the reading's few splitting threads ([`crate::guessers`]) from a
//! guessed element boundary while the task receives the next ones, and the one exact
//! splitter takes the blocks in order, checking each guess
//! ([`crate::json_blocks`]: the rows and errors are exactly those of one splitter reading the
//! whole file). A block's rows go on as one [`RowBatch`] through a short bounded channel; at
//! most [`BLOCKS_AHEAD`] blocks are out at once, so the memory held is a few blocks and
//! batches, whatever the file's size, and the batches' buffers are used again
//! ([`crate::pool`]).

use std::collections::VecDeque;

use bytes::Bytes;
use futures::FutureExt;
use futures::future::Either;
use futures::stream::{self, BoxStream, StreamExt};
use hasdata_model::{Job, JobId, JobStatus};
use hasdata_transport::{RetryPolicy, TransportError};
use tokio::sync::mpsc;

use crate::batch::RowBatch;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::guessers::{self, Guessed, Guessers};
use crate::json_array::Lines;
use crate::json_blocks::{Block, Exact};
use crate::pool::Pool;

/// The largest single row accepted from a file.
const MAX_ROW_BYTES: usize = 16 * 1024 * 1024;

/// A UTF-8 byte order mark. One before the array is not JSON, but RFC 8259 lets a reader
/// ignore it, and a file written by a Windows tool may start with one: it is dropped, so the
/// file is read rather than the whole job paged ("expected '[', found 'ï'").
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Times a broken download is restarted before falling back to the results pages.
const MAX_RESTARTS: u32 = 3;

/// A batch is handed on once its lines reach this size (or when no more of the file has
/// arrived yet): large writes, few wake-ups, little held.
const BATCH_BYTES: usize = 512 * 1024;

/// Batches between the reading task and the consumer: 8 rather than 4 lets the reading
/// run further ahead of a consumer that is briefly off its core (1M rows on two cores,
/// beside `BLOCKS_AHEAD` 6: about 3% less wall time, `docs/benchmarks.md`).
const CHANNEL_BATCHES: usize = 8;

/// The file is split in blocks of about this much, each on a splitting thread (see
/// [`crate::json_blocks`]).
const BLOCK_BYTES: usize = 256 * 1024;

/// Blocks received and not yet handed on, at most: some being split while the next ones
/// arrive, so both cores are kept busy, and what is held stays a few blocks (6 x 256 KiB).
/// Six rather than three: a splitting thread that loses its core for a moment no longer
/// stops the reading (1M rows on two cores: about 3% less wall time, the same CPU).
const BLOCKS_AHEAD: usize = 6;

/// Splitting threads, at most (and at most one a core): more blocks out than threads keeps
/// each thread fed without starting more of them.
const SPLITTING_THREADS: usize = 3;

/// A block received and being split on a guess.
struct Ahead {
    block: Block,
    guess: GuessTask,
}

/// The guess: queued to the reading's threads ([`Guessers`]), or none (no thread).
enum GuessTask {
    Thread(tokio::sync::oneshot::Receiver<Guessed>),
    None,
}

impl std::future::Future for GuessTask {
    type Output = Guessed;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Guessed> {
        match self.get_mut() {
            // Threads gone before answering: no guess (the exact splitter splits it).
            GuessTask::Thread(receiver) => {
                receiver.poll_unpin(cx).map(|got| got.unwrap_or(Ok(None)))
            }
            GuessTask::None => std::task::Poll::Ready(Ok(None)),
        }
    }
}

/// The blocks of one reading: the one being filled, and those being split.
struct Blocks {
    /// The threads the guesses run on, started with the first block cut; `None` before,
    /// when none could be started, or when the file is one block (the exact splitter then
    /// splits every block itself).
    guessers: Option<Guessers>,
    /// Whether the file may be more than one block (its length is unknown or larger): only
    /// then are threads started to split blocks beside the exact splitter. A file of one
    /// block is split as fast by the exact splitter alone, which would wait for that one
    /// guess anyway, and starting and ending two threads was about 6% of the CPU of a
    /// 100-row export (`docs/benchmarks.md`, "A run's fixed cost").
    several: bool,
    /// The block being filled.
    filling: Block,
    /// Blocks cut and not yet taken, oldest first.
    ahead: VecDeque<Ahead>,
    /// What is left of the last chunk received, to be cut into blocks as blocks are taken.
    pending: Bytes,
    /// Whether no block has been cut yet.
    first: bool,
    /// Buffers for the lines of guesses.
    lines: Pool,
}

impl Blocks {
    /// The blocks of a file of `length` bytes, when the server said.
    fn new(length: Option<u64>) -> Blocks {
        Blocks {
            guessers: None,
            several: length.is_none_or(|length| length > BLOCK_BYTES as u64),
            filling: Block::default(),
            ahead: VecDeque::new(),
            pending: Bytes::new(),
            first: true,
            lines: Pool::default(),
        }
    }

    /// Adds a chunk received (not copied: a block is a list of chunks); each block that is
    /// full is cut, and a large chunk is shared out between several, as long as fewer than
    /// [`BLOCKS_AHEAD`] are out: the rest waits in `pending` ([`Blocks::fill`]).
    fn add(&mut self, chunk: Bytes) {
        debug_assert!(
            self.pending.is_empty(),
            "a chunk added before the last was used"
        );
        self.pending = chunk;
        self.fill();
    }

    /// Moves what is pending into blocks while fewer than [`BLOCKS_AHEAD`] are out (each
    /// block cut starts a guess with a buffer of its own, so one large chunk cut all at once
    /// would hold its size again in guesses).
    fn fill(&mut self) {
        while !self.pending.is_empty() && self.ahead.len() < BLOCKS_AHEAD {
            let room = BLOCK_BYTES.saturating_sub(self.filling.len()).max(1);
            let piece = self.pending.split_to(room.min(self.pending.len()));
            self.filling.push(piece);
            if self.filling.len() >= BLOCK_BYTES {
                self.cut();
            }
        }
    }

    /// Cuts the block being filled, if it holds anything, and starts guessing it.
    fn cut(&mut self) {
        if self.filling.is_empty() {
            return;
        }
        let block = std::mem::take(&mut self.filling);
        let first = std::mem::replace(&mut self.first, false);
        if first && self.several {
            self.guessers = Guessers::start(
                guessers::threads(SPLITTING_THREADS),
                MAX_ROW_BYTES,
                &self.lines,
            );
        }
        let guess = match &self.guessers {
            Some(guessers) => GuessTask::Thread(guessers.guess(block.clone(), first)),
            None => GuessTask::None,
        };
        self.ahead.push_back(Ahead { block, guess });
    }
}

type Body = BoxStream<'static, std::result::Result<Bytes, TransportError>>;

enum Opened {
    /// The body, and its length when the server said.
    Body(Body, Option<u64>),
    /// Refused as an expired link may be (the status code): worth a fresh link, once.
    Expired(u16),
    Unusable(String),
}

/// How one reading of the file ended.
enum Read {
    /// To the closing `]`.
    Complete,
    /// The connection broke, or the file ended inside the array: read it again.
    Broken(String),
    /// Not a JSON array of valid rows: read the pages instead.
    Invalid(String),
}

/// Why the reading stopped early.
enum Halt {
    /// The consumer is gone.
    Gone,
    /// An error to hand on.
    Failed(Error),
}

struct Download {
    client: Client,
    id: JobId,
    /// Pages at once, should the rows come from the pages.
    concurrency: usize,
    link: Option<String>,
    refreshed: bool,
    restarts: u32,
    /// Rows handed on.
    yielded: u64,
    /// The finished job's `dataRowsCount`.
    expected: u64,
    tx: mpsc::Sender<Result<RowBatch>>,
}

impl Download {
    async fn fresh_link(&mut self) -> Result<()> {
        let job = self.client.status(self.id).await?;
        self.take_record(job)
    }

    /// Takes the link and the row count from a finished job's record.
    fn take_record(&mut self, job: Job) -> Result<()> {
        let link = job.data.as_ref().and_then(|links| links.json.clone());
        match (job.status, link) {
            (JobStatus::Finished, Some(link)) => {
                self.link = Some(link);
                self.expected = job.data_rows_count.get();
                Ok(())
            }
            (status, _) => Err(Error::NoDownload {
                job_id: self.id,
                status,
            }),
        }
    }

    /// Requests the file. Takes what it needs by value: the future must be `Send`, and the
    /// download's streams are not `Sync`.
    async fn open(client: Client, link: Option<String>) -> Opened {
        let Some(link) = link else {
            return Opened::Unusable("no link".into());
        };
        let request = match http::Request::get(link.as_str()).body(Bytes::new()) {
            Ok(request) => request,
            Err(e) => return Opened::Unusable(e.to_string()),
        };
        // The download counts against the client's request limit until its body is dropped.
        let permit = client.request_permit().await;
        match client.inner.transport.send(request).await {
            Ok(response) if response.status().is_success() => {
                let length = response.body().length_hint();
                Opened::Body(
                    response
                        .into_body()
                        .into_stream()
                        .map(move |chunk| {
                            let _held = &permit;
                            chunk
                        })
                        .boxed(),
                    length,
                )
            }
            // How storage hosts refuse a signed link past its time: S3, CloudFront and Azure
            // 403, Google Cloud Storage 400 (`ExpiredToken`), others 401, 404 or 410. Each is
            // worth one fresh link before the whole job is read from the pages; 400, 401 and
            // 410 went to the pages at once.
            Ok(response) if matches!(response.status().as_u16(), 400 | 401 | 403 | 404 | 410) => {
                Opened::Expired(response.status().as_u16())
            }
            Ok(response) => Opened::Unusable(format!("HTTP {}", response.status().as_u16())),
            Err(e) => Opened::Unusable(e.to_string()),
        }
    }

    /// Hands a batch on, skipping the first `skip` rows (already handed on by an earlier
    /// reading of the file).
    async fn send(&mut self, mut batch: RowBatch, skip: &mut u64) -> std::result::Result<(), Halt> {
        let skipped = usize::try_from(*skip)
            .unwrap_or(usize::MAX)
            .min(batch.len());
        batch.skip(skipped);
        *skip -= skipped as u64;
        if batch.is_empty() {
            return Ok(());
        }
        self.yielded += batch.len() as u64;
        self.tx.send(Ok(batch)).await.map_err(|_| Halt::Gone)
    }

    /// Hands on the lines split so far, if any.
    async fn flush(&mut self, lines: &mut Lines, skip: &mut u64) -> std::result::Result<(), Halt> {
        if lines.ends.is_empty() {
            return Ok(());
        }
        let full = std::mem::take(lines);
        self.send(RowBatch::from_lines(full), skip).await
    }

    /// Reads the rows from the pages, skipping those already handed on.
    async fn fall_back(&mut self, why: &str) -> std::result::Result<(), Halt> {
        tracing::warn!(job_id = %self.id, reason = why, "reading the rows from the results pages instead of data.json");
        let mut skip = self.yielded;
        let mut batches = self
            .client
            .raw_page_batches(self.id, self.concurrency, None);
        while let Some(batch) = batches.next().await {
            // An error must reach the consumer: it ends the rows.
            let batch = batch.map_err(Halt::Failed)?;
            self.send(batch, &mut skip).await?;
        }
        // The pages check their own count, not the rows the file handed on before it failed:
        // a file that held more rows than the job reports, then broke or went bad, ended here
        // with every one of them handed on and no error.
        if self.yielded > self.expected {
            return self.recount().await;
        }
        Ok(())
    }

    /// Opens the file (again), refreshing an expired link once. `Err` is why the pages must
    /// be read instead.
    async fn open_body(&mut self) -> std::result::Result<(Body, Option<u64>), String> {
        loop {
            match Self::open(self.client.clone(), self.link.clone()).await {
                Opened::Body(body, length) => return Ok((body, length)),
                Opened::Expired(status) if !self.refreshed => {
                    self.refreshed = true;
                    if self.fresh_link().await.is_err() {
                        return Err(format!(
                            "the link answered HTTP {status} (expired?) and no fresh one could be had"
                        ));
                    }
                }
                Opened::Expired(status) => {
                    return Err(format!("the fresh link answered HTTP {status} too"));
                }
                Opened::Unusable(why) => return Err(why),
            }
        }
    }

    /// One reading of the file: its rows go on in batches, those handed on before skipped.
    ///
    /// The chunks received are gathered in blocks of about [`BLOCK_BYTES`]; each block is
    /// split on a splitting thread from a guessed boundary ([`crate::json_blocks::guess`])
    /// while this task receives the next ones, and taken in order by the exact splitter
    /// ([`Exact`]), which splits it itself when the guess was wrong. At most
    /// [`BLOCKS_AHEAD`] blocks are out at once.
    async fn read(
        &mut self,
        mut body: Body,
        length: Option<u64>,
    ) -> std::result::Result<Read, Halt> {
        let mut exact = Exact::new(MAX_ROW_BYTES);
        let mut skip = self.yielded;
        let mut lines = Lines::default();
        let mut blocks = Blocks::new(length);
        let mut at_start = true;
        loop {
            // What is left of a large chunk becomes blocks first, as blocks are taken: the
            // body is only read again once none is left.
            blocks.fill();
            if blocks.ahead.len() >= BLOCKS_AHEAD {
                let taken = self.take_oldest(&mut blocks, &mut exact, &mut lines, &mut skip);
                if let Some(failed) = taken.await? {
                    return Ok(Read::Invalid(failed));
                }
                continue;
            }
            // What has arrived is taken at once; when nothing more has for now, the rows
            // split so far go on (so a slow file's rows are not held back).
            let next = match body.next().now_or_never() {
                Some(next) => next,
                None => {
                    if blocks.ahead.is_empty() {
                        blocks.cut();
                    }
                    match blocks.ahead.pop_front() {
                        None => {
                            self.flush(&mut lines, &mut skip).await?;
                            body.next().await
                        }
                        Some(Ahead { block, guess }) => {
                            match futures::future::select(guess, body.next()).await {
                                Either::Left((guess, _)) => {
                                    let taken = self.take(
                                        &block,
                                        guess,
                                        &blocks.lines,
                                        &mut exact,
                                        &mut lines,
                                        &mut skip,
                                    );
                                    if let Some(failed) = taken.await? {
                                        return Ok(Read::Invalid(failed));
                                    }
                                    continue;
                                }
                                Either::Right((next, guess)) => {
                                    blocks.ahead.push_front(Ahead { block, guess });
                                    next
                                }
                            }
                        }
                    }
                }
            };
            let end = match next {
                Some(Ok(mut chunk)) => {
                    if at_start && !chunk.is_empty() {
                        at_start = false;
                        if chunk.starts_with(UTF8_BOM) {
                            let _ = chunk.split_to(UTF8_BOM.len());
                        }
                    }
                    blocks.add(chunk);
                    continue;
                }
                Some(Err(e)) => Err(e.to_string()),
                None => Ok(()),
            };
            // The rows before the break (or the end) go on.
            blocks.cut();
            while !blocks.ahead.is_empty() {
                let taken = self.take_oldest(&mut blocks, &mut exact, &mut lines, &mut skip);
                if let Some(failed) = taken.await? {
                    return Ok(Read::Invalid(failed));
                }
            }
            let finished = match end {
                // The body ended as HTTP says a body ends (its length reached, its last
                // chunk sent): a file that stops inside its array, or goes on past it, is
                // stored so, and reading it again would fetch the same bytes, the whole file
                // each time.
                Ok(()) => exact
                    .finish(&mut lines)
                    .map_err(|e| Read::Invalid(format!("data.json as served: {e}"))),
                // The rows that arrived whole go on, even those still held after a large
                // one; a bad row among them is the file's own fault, not the break's.
                Err(e) => match exact.settle(&mut lines) {
                    Ok(()) => Err(Read::Broken(e)),
                    Err(bad) => Err(Read::Invalid(bad.to_string())),
                },
            };
            self.flush(&mut lines, &mut skip).await?;
            return Ok(match finished {
                Ok(()) => Read::Complete,
                Err(read) => read,
            });
        }
    }

    /// Takes the oldest block out when its guess is ready (see [`Download::take`]).
    async fn take_oldest(
        &mut self,
        blocks: &mut Blocks,
        exact: &mut Exact,
        lines: &mut Lines,
        skip: &mut u64,
    ) -> std::result::Result<Option<String>, Halt> {
        let Some(Ahead { block, guess }) = blocks.ahead.pop_front() else {
            return Ok(None);
        };
        let guess = guess.await;
        self.take(&block, guess, &blocks.lines, exact, lines, skip)
            .await
    }

    /// Takes a block: its guess, or its split by `exact`; its rows go on. `Some` is why the
    /// file is not a JSON array of valid rows (the rows before the bad one went on).
    async fn take(
        &mut self,
        block: &Block,
        guess: Guessed,
        pool: &Pool,
        exact: &mut Exact,
        lines: &mut Lines,
        skip: &mut u64,
    ) -> std::result::Result<Option<String>, Halt> {
        let guess = match guess {
            Ok(guess) => guess,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        match exact.block(block, guess, lines) {
            Ok(Some(guessed)) => {
                self.flush(lines, skip).await?;
                self.send(RowBatch::from_pooled(guessed, pool), skip)
                    .await?;
            }
            Ok(None) => {
                if lines.bytes.len() >= BATCH_BYTES {
                    self.flush(lines, skip).await?;
                }
            }
            Err(e) => {
                // The rows before the broken one were each checked: they go on.
                self.flush(lines, skip).await?;
                return Ok(Some(e.to_string()));
            }
        }
        Ok(None)
    }

    /// The whole reading: the file, read again when it breaks off, or the pages.
    async fn run(&mut self, known: bool) -> std::result::Result<(), Halt> {
        if !known {
            self.fresh_link().await.map_err(Halt::Failed)?;
        }
        loop {
            let (body, length) = match self.open_body().await {
                Ok(opened) => opened,
                Err(why) => return self.fall_back(&why).await,
            };
            match self.read(body, length).await? {
                Read::Complete => break,
                Read::Invalid(why) => return self.fall_back(&why).await,
                Read::Broken(why) if self.restarts < MAX_RESTARTS => {
                    self.restarts += 1;
                    let pause = restart_pause(&self.client.inner.retry, self.restarts);
                    tracing::warn!(job_id = %self.id, reason = %why, rows_so_far = self.yielded, pause_ms = pause.as_millis() as u64, "data.json broke off; reading it again");
                    tokio::time::sleep(pause).await;
                }
                Read::Broken(why) => return self.fall_back(&why).await,
            }
        }
        if self.yielded < self.expected {
            let why = format!("data.json held {} of {} rows", self.yielded, self.expected);
            return self.fall_back(&why).await;
        }
        if self.yielded > self.expected {
            return self.recount().await;
        }
        Ok(())
    }

    /// More rows than the job reported: its count may have been read before it settled, so
    /// it is read once more; if it still disagrees, the rows are not the job's as reported.
    async fn recount(&mut self) -> std::result::Result<(), Halt> {
        let now = match self.client.status(self.id).await {
            Ok(job) => job.data_rows_count.get(),
            Err(error) => {
                tracing::warn!(job_id = %self.id, %error, "could not read the job again to check its row count");
                self.expected
            }
        };
        if now == self.yielded {
            return Ok(());
        }
        Err(Halt::Failed(Error::RowCountMismatch {
            job_id: self.id,
            rows: self.yielded,
            expected: now,
        }))
    }
}

/// How long a download that broke off waits before it is read again (`restart` counts from
/// 1): the client's retry backoff for that attempt, half of it for certain and half at random.
/// Read again at once, a break that a moment cures (a storage host's hiccup) met all three
/// re-reads within a millisecond, and the whole job went to the pages; and readers broken off
/// together do not all come back at the same instant.
fn restart_pause(policy: &RetryPolicy, restart: u32) -> std::time::Duration {
    let half = policy.backoff_ceiling(restart) / 2;
    half + half.mul_f64(rand::random::<f64>())
}

/// A spawned task that is aborted when dropped, so a dropped stream stops the download.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Client {
    /// A finished job's rows as the bytes the API sent, in batches of JSON lines (see
    /// [`RowBatch`]), streamed from its `data.json` file in constant memory, in order, each
    /// exactly once. Falls back to the results pages (`concurrency` at once) when the file
    /// cannot be had. Errors with [`Error::NoDownload`] when the job is not finished, and
    /// ends with [`Error::Incomplete`] when neither the file nor the pages hold every row the
    /// job reports, or [`Error::RowCountMismatch`] when they hold more. `known` is the job's
    /// record when the caller has just read it.
    pub(crate) fn file_batches(
        &self,
        id: JobId,
        concurrency: usize,
        known: Option<Job>,
    ) -> BoxStream<'static, Result<RowBatch>> {
        let (tx, rx) = mpsc::channel(CHANNEL_BATCHES);
        let mut download = Download {
            client: self.clone(),
            id,
            concurrency,
            link: None,
            refreshed: false,
            restarts: 0,
            yielded: 0,
            expected: 0,
            tx,
        };
        if let Some(job) = known
            && let Err(error) = download.take_record(job)
        {
            return stream::iter([Err(error)]).boxed();
        }
        let known = download.link.is_some();
        let reading = async move {
            if let Err(Halt::Failed(error)) = download.run(known).await {
                let _ = download.tx.send(Err(error)).await;
            }
        };
        let received = stream::unfold(rx, |mut rx| async move {
            let batch = rx.recv().await?;
            Some((batch, rx))
        });
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let task = AbortOnDrop(runtime.spawn(reading));
                // Once the channel closes the task has ended: a panic in it is the consumer's.
                let ended = stream::once(async move {
                    let mut task = task;
                    match (&mut task.0).await {
                        Ok(()) => None,
                        Err(joined) if joined.is_panic() => {
                            std::panic::resume_unwind(joined.into_panic())
                        }
                        Err(_) => Some(Err(Error::Shutdown)),
                    }
                })
                .filter_map(futures::future::ready);
                received.chain(ended).boxed()
            }
            // No runtime to spawn on: the reading is driven by the consumer's polls.
            Err(_) => stream::select(
                reading
                    .into_stream()
                    .filter_map(|()| futures::future::ready(None)),
                received,
            )
            .boxed(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body that comes as one large chunk (a transport holding the whole file in memory)
    /// is cut into blocks only as blocks are taken: each block cut starts a guess on a
    /// splitting thread with a buffer of its own, so cutting all of them at once held the
    /// file's size again in guesses, on up to 512 threads.
    #[tokio::test]
    async fn a_large_chunk_makes_no_more_blocks_than_may_be_out_at_once() {
        let mut blocks = Blocks::new(None);
        blocks.add(Bytes::from(vec![b' '; 40 * BLOCK_BYTES]));
        assert!(
            blocks.ahead.len() <= BLOCKS_AHEAD,
            "{} blocks out",
            blocks.ahead.len()
        );
    }

    /// Threads to split blocks beside the exact splitter are started only for a file that
    /// may be more than one block: its length unknown or larger than a block.
    #[tokio::test]
    async fn splitting_threads_start_only_for_a_file_of_several_blocks() {
        let block = BLOCK_BYTES as u64;
        for (length, threads) in [
            (Some(10), false),
            (Some(block), false),
            (Some(block + 1), true),
            (None, true),
        ] {
            let mut blocks = Blocks::new(length);
            blocks.add(Bytes::from_static(b"[1,2]"));
            blocks.cut();
            assert_eq!(blocks.guessers.is_some(), threads, "length {length:?}");
            assert_eq!(blocks.ahead.len(), 1);
        }
    }
}
