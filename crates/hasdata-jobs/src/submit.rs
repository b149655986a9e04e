//! Submitting a job: validate, send once, record the id before returning.

use std::marker::PhantomData;

use bytes::Bytes;
use futures::stream::BoxStream;
use hasdata_model::bodies::JobBody;
use hasdata_model::{Job, JobId, Scraper, ScraperKind, ValidateOptions, decode};
use http::Method;
use serde_json::Value;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::ledger::LedgerEntry;
use crate::poll::PollPolicy;

/// A submitted job of scraper `S`: its id, the record the submit answered with, and the calls
/// that concern it.
pub struct JobHandle<S: Scraper> {
    client: Client,
    id: JobId,
    record: Option<Job>,
    scraper: PhantomData<fn() -> S>,
}

impl<S: Scraper> Clone for JobHandle<S> {
    fn clone(&self) -> Self {
        JobHandle {
            client: self.client.clone(),
            id: self.id,
            record: self.record.clone(),
            scraper: PhantomData,
        }
    }
}

impl<S: Scraper> std::fmt::Debug for JobHandle<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobHandle")
            .field("scraper", &S::SLUG)
            .field("id", &self.id)
            .finish()
    }
}

impl<S: Scraper> JobHandle<S> {
    /// The job's id.
    pub fn id(&self) -> JobId {
        self.id
    }

    /// The submit record, when this handle came from a submit.
    pub fn record(&self) -> Option<&Job> {
        self.record.as_ref()
    }

    /// The job's status now.
    pub async fn status(&self) -> Result<Job> {
        self.client.status(self.id).await
    }

    /// Waits until the job ends.
    pub async fn wait(&self, policy: PollPolicy) -> Result<Job> {
        self.client.wait(self.id, &policy).await
    }

    /// The job's rows through the paged results API.
    pub fn results(&self) -> BoxStream<'static, Result<S::Row>> {
        self.client.results::<S>(self.id)
    }

    /// The finished job's rows from its `data.json` file.
    pub fn download(&self) -> BoxStream<'static, Result<S::Row>> {
        self.client.download::<S>(self.id)
    }

    /// Stops the job; rows produced so far are kept.
    pub async fn stop(&self) -> Result<Job> {
        self.client.stop(self.id).await
    }
}

/// A random key sent as `Idempotency-Key`, as HasData's own CLI does; the POST is never sent
/// twice by this crate either way.
fn idempotency_key() -> String {
    format!("{:032x}", rand::random::<u128>())
}

impl Client {
    /// Submits a job. The body is validated first: an invalid body sends nothing.
    ///
    /// The POST is sent once. The id is recorded in the ledger before this returns; an
    /// error after the job may have been created says so ([`Error::SubmitUncertain`]).
    pub async fn submit<S: Scraper>(&self, body: &S::Body) -> Result<JobHandle<S>> {
        body.validate_with(self.validate_options())?;
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::Config(format!("body does not encode: {e}")))?;
        let record = self.submit_bytes(S::KIND, Bytes::from(bytes)).await?;
        Ok(JobHandle {
            client: self.clone(),
            id: record.id,
            record: Some(record),
            scraper: PhantomData,
        })
    }

    /// Submits a job when only the slug is known (a CLI, a config file). The slug and the
    /// body are checked first, with the same rules as [`Client::submit`].
    pub async fn submit_raw(&self, slug: &str, body: &Value) -> Result<Job> {
        let kind: ScraperKind = slug.parse()?;
        kind.validate_json_with(body, self.validate_options())?;
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::Config(format!("body does not encode: {e}")))?;
        self.submit_bytes(kind, Bytes::from(bytes)).await
    }

    /// A handle to a job submitted earlier (from the ledger, or another process).
    pub fn job<S: Scraper>(&self, id: JobId) -> JobHandle<S> {
        JobHandle {
            client: self.clone(),
            id,
            record: None,
            scraper: PhantomData,
        }
    }

    /// What `validate()` accepts from this client: http webhooks only for a simulator.
    fn validate_options(&self) -> ValidateOptions {
        ValidateOptions {
            allow_http_webhooks: self.inner.allow_http_webhooks,
        }
    }

    async fn submit_bytes(&self, kind: ScraperKind, body: Bytes) -> Result<Job> {
        let slug = kind.as_str();
        let mut request =
            self.request(Method::POST, &format!("/scrapers/{slug}/jobs"), Some(body))?;
        if let Ok(value) = http::HeaderValue::from_str(&idempotency_key()) {
            request.headers_mut().insert("idempotency-key", value);
        }
        let uncertain = |reason: String| Error::SubmitUncertain {
            slug: slug.to_owned(),
            reason,
        };
        let answer = match self.exchange(request).await {
            Ok(answer) => answer,
            Err(error) if !error.may_have_reached_server() => {
                return Err(Error::Transport {
                    source: error,
                    job_id: None,
                });
            }
            Err(error) => return Err(uncertain(error.to_string())),
        };
        if answer.status.is_server_error() {
            return Err(uncertain(self.api_error(&answer).to_string()));
        }
        if !answer.status.is_success() {
            // 4xx: the server refused the request; no job exists.
            return Err(Error::Api {
                source: self.api_error(&answer),
                job_id: None,
            });
        }
        let record: Job = decode::from_slice(&answer.body).map_err(|e| {
            uncertain(format!(
                "the answer could not be read: {}",
                self.scrub(&e.to_string())
            ))
        })?;
        let entry = LedgerEntry {
            job_id: record.id,
            scraper: kind,
            record: record.clone(),
        };
        self.inner
            .ledger
            .record(&entry)
            .map_err(|message| Error::Ledger {
                job_id: record.id,
                message,
            })?;
        tracing::info!(job_id = %record.id, scraper = slug, "job submitted");
        Ok(record)
    }

    /// A job's status now.
    pub async fn status(&self, id: JobId) -> Result<Job> {
        self.idempotent(Method::GET, &format!("/scrapers/jobs/{id}"), Some(id))
            .await
    }

    /// Stops a job early. Rows produced so far are kept; `stopped` is terminal.
    pub async fn stop(&self, id: JobId) -> Result<Job> {
        self.idempotent(Method::DELETE, &format!("/scrapers/jobs/{id}"), Some(id))
            .await
    }
}
