//! Reading a finished job's rows from its `data.json` file, in constant memory.
//!
//! The file sits on a storage host, not the API: the request carries no API key (the key
//! layer only adds it for the API's origin). Its link is short-lived: on a 403 or 404 a fresh
//! status is read for new links, once; if that fails too, or the file cannot be read, the rows
//! come from the paged results instead. A download that breaks off is resumed by reading the
//! file again and skipping the rows already yielded, so every row still comes exactly once.
//!
//! The rows are counted against the finished job's `dataRowsCount`: a file that ends short
//! (truncated, or cut off cleanly) is not trusted; the missing rows are read from the pages,
//! which check their own count, so a stream that ends without an error carried every row.

use std::collections::VecDeque;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use hasdata_model::{Job, JobId, JobStatus};
use hasdata_transport::TransportError;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::json_array::{ArraySplitter, Elements};
use crate::raw::{RowJson, rows_of};

/// The largest single row accepted from a file.
const MAX_ROW_BYTES: usize = 16 * 1024 * 1024;

/// Times a broken download is restarted before falling back to the results pages.
const MAX_RESTARTS: u32 = 3;

enum Stage {
    Start,
    /// The link is known: open the file.
    Open,
    /// Failed before the first row.
    Failed(Option<Error>),
    Streaming {
        body: BoxStream<'static, std::result::Result<Bytes, TransportError>>,
        splitter: ArraySplitter,
        /// Rows split from the chunks read so far, not yet yielded (one chunk's worth).
        ready: VecDeque<Bytes>,
        skip: u64,
    },
    Fallback(BoxStream<'static, Result<RowJson>>),
    Done,
}

struct Download {
    client: Client,
    id: JobId,
    /// Pages at once, should the rows come from the pages.
    concurrency: usize,
    stage: Stage,
    link: Option<String>,
    refreshed: bool,
    restarts: u32,
    yielded: u64,
    /// The finished job's `dataRowsCount`.
    expected: u64,
}

enum Opened {
    Body(BoxStream<'static, std::result::Result<Bytes, TransportError>>),
    Expired,
    Unusable(String),
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
            Ok(response) if response.status().is_success() => Opened::Body(
                response
                    .into_body()
                    .into_stream()
                    .map(move |chunk| {
                        let _held = &permit;
                        chunk
                    })
                    .boxed(),
            ),
            Ok(response) if matches!(response.status().as_u16(), 403 | 404) => Opened::Expired,
            Ok(response) => Opened::Unusable(format!("HTTP {}", response.status().as_u16())),
            Err(e) => Opened::Unusable(e.to_string()),
        }
    }

    fn fall_back(&mut self, why: &str) {
        tracing::warn!(job_id = %self.id, reason = why, "reading the rows from the results pages instead of data.json");
        // Skips the rows already yielded, never an error: an error must reach the caller.
        let mut skip = self.yielded;
        let rows = self
            .client
            .raw_page_rows(self.id, self.concurrency, None)
            .filter(move |row| {
                let drop = skip > 0 && row.is_ok();
                if drop {
                    skip -= 1;
                }
                futures::future::ready(!drop)
            })
            .boxed();
        self.stage = Stage::Fallback(rows);
    }

    /// Opens the file (again), refreshing an expired link once, or falls back.
    async fn start_streaming(&mut self) {
        loop {
            match Self::open(self.client.clone(), self.link.clone()).await {
                Opened::Body(body) => {
                    self.stage = Stage::Streaming {
                        body,
                        splitter: ArraySplitter::new(MAX_ROW_BYTES),
                        ready: VecDeque::new(),
                        skip: self.yielded,
                    };
                    return;
                }
                Opened::Expired if !self.refreshed => {
                    self.refreshed = true;
                    if self.fresh_link().await.is_err() {
                        return self.fall_back("the link expired and no fresh one could be had");
                    }
                }
                Opened::Expired => return self.fall_back("the fresh link expired too"),
                Opened::Unusable(why) => return self.fall_back(&why),
            }
        }
    }

    async fn step(mut self) -> Option<(Result<RowJson>, Self)> {
        loop {
            match &mut self.stage {
                Stage::Done => return None,
                Stage::Failed(error) => {
                    let error = error.take()?;
                    self.stage = Stage::Done;
                    return Some((Err(error), self));
                }
                Stage::Open => self.start_streaming().await,
                Stage::Start => {
                    if let Err(error) = self.fresh_link().await {
                        self.stage = Stage::Done;
                        return Some((Err(error), self));
                    }
                    self.start_streaming().await;
                }
                Stage::Fallback(rows) => {
                    let next = rows.next().await;
                    match next {
                        Some(row) => {
                            self.yielded += 1;
                            return Some((row, self));
                        }
                        None => return None,
                    }
                }
                Stage::Streaming {
                    body,
                    splitter,
                    ready,
                    skip,
                } => {
                    if let Some(element) = ready.pop_front() {
                        if *skip > 0 {
                            *skip -= 1;
                            continue;
                        }
                        self.yielded += 1;
                        // The splitter checked the row as it found it.
                        return Some((Ok(RowJson::checked(element)), self));
                    }
                    let mut out = Elements::default();
                    match body.next().await {
                        Some(Ok(chunk)) => {
                            if let Err(e) = splitter.push(&chunk, &mut out) {
                                self.fall_back(&e.to_string());
                                continue;
                            }
                            ready.extend(rows_of(out));
                        }
                        Some(Err(e)) => self.restart(&e.to_string()).await,
                        None => match splitter.finish(&mut out) {
                            // The last rows were still held: yield them, then come back here
                            // (the splitter holds nothing now) for the count.
                            Ok(()) if !out.is_empty() => {
                                ready.extend(rows_of(out));
                                *body = stream::empty().boxed();
                            }
                            Ok(()) if self.yielded < self.expected => {
                                let why = format!(
                                    "data.json held {} of {} rows",
                                    self.yielded, self.expected
                                );
                                self.fall_back(&why);
                            }
                            Ok(()) => {
                                if self.yielded > self.expected {
                                    tracing::warn!(job_id = %self.id, rows = self.yielded, expected = self.expected, "data.json held more rows than the job reports");
                                }
                                self.stage = Stage::Done;
                            }
                            Err(e) => self.restart(&e.to_string()).await,
                        },
                    }
                }
            }
        }
    }

    async fn restart(&mut self, why: &str) {
        if self.restarts >= MAX_RESTARTS {
            return self.fall_back(why);
        }
        self.restarts += 1;
        // The broken body goes first: it holds a request permit the new one may need.
        self.stage = Stage::Done;
        tracing::warn!(job_id = %self.id, reason = why, rows_so_far = self.yielded, "data.json broke off; reading it again");
        self.start_streaming().await;
    }
}

impl Client {
    /// A finished job's rows as the bytes the API sent (see [`RowJson`]), streamed from its
    /// `data.json` file in constant memory, in order, each exactly once. Falls back to the
    /// results pages (`concurrency` at once) when the file cannot be had. Errors with
    /// [`Error::NoDownload`] when the job is not finished, and ends with
    /// [`Error::Incomplete`] when neither the file nor the pages hold every row the job
    /// reports. `known` is the job's record when the caller has just read it.
    pub(crate) fn file_rows(
        &self,
        id: JobId,
        concurrency: usize,
        known: Option<Job>,
    ) -> BoxStream<'static, Result<RowJson>> {
        let mut download = Download {
            client: self.clone(),
            id,
            concurrency,
            stage: Stage::Start,
            link: None,
            refreshed: false,
            restarts: 0,
            yielded: 0,
            expected: 0,
        };
        if let Some(job) = known {
            download.stage = match download.take_record(job) {
                Ok(()) => Stage::Open,
                Err(error) => Stage::Failed(Some(error)),
            };
        }
        stream::unfold(download, Download::step).boxed()
    }
}
