//! Serde types and JSON Schemas for HasData's asynchronous **Scraper Jobs** API.
//!
//! Everything a job sends or receives is here: the body of each of the 20 scrapers
//! ([`bodies`]), their result rows ([`rows`]), the job record and its [`JobStatus`], a results
//! [`ResultsPage`], and [`WebhookEvent`]s. The types absorb the API's quirks (counts sent as
//! strings or `null`, a job id that may be an integer or text, statuses the docs never listed,
//! fields that come and go) and keep every field they do not model, or whose value does not fit,
//! so nothing the server sends is lost and no response fails over a field the client can do
//! without.
//!
//! This crate does no I/O: no HTTP, no async runtime. It can be used alone.
//!
//! ```
//! use hasdata_model::bodies::{ContactsBody, JobBody};
//! use hasdata_model::{Webhook, WebhookEventName};
//!
//! let body = ContactsBody::new(["https://example.com/about", "https://example.com/team"])
//!     .webhook(Webhook::new("https://my.app/hook")
//!         .event(WebhookEventName::JobFinished)
//!         .header("x-shared-secret", "s3cret"));
//! let warnings = body.validate().expect("a valid body");
//! assert!(warnings.is_empty());
//!
//! // A body given as JSON is checked by evidence: only rules HasData documents are errors.
//! use hasdata_model::ScraperKind;
//! let report = ScraperKind::Crawler.check_json(
//!     &serde_json::json!({"urls": ["https://example.com"], "maxDepth": "3", "proxyCountry": "ES"}),
//! );
//! assert!(!report.has_errors());
//! assert_eq!(report.warnings().len(), 2);
//!
//! let job: hasdata_model::Job = hasdata_model::decode::from_slice(
//!     br#"{"id": 416349, "status": "finished", "creditsSpent": "5", "dataRowsCount": "1"}"#,
//! ).expect("a status response");
//! assert_eq!(job.id.as_u64(), Some(416349));
//! assert_eq!(job.credits_spent.get(), 5);
//! assert!(job.status.is_terminal());
//! ```

#[macro_use]
mod open_enum;
#[macro_use]
mod lenient;

pub mod bodies;
pub mod decode;
mod field;
mod job;
mod job_id;
mod page;
pub mod rows;
pub mod schemas;
mod scraper;
mod status;
pub mod validate;
mod webhook;

pub use field::{IntoFieldValue, Range};
pub use job::{DownloadLinks, Job, ScraperInfo};
pub use job_id::{JobId, MAX_DISTINCT_TEXT_IDS, MAX_TEXT_ID, ParseJobIdError};
pub use lenient::{Count, NumberOrText, TextOrList, TextOrObject};
pub use open_enum::OpenEnum;
pub use page::{PageMeta, ResultRow, ResultsPage};
pub use scraper::{Scraper, ScraperKind, ScraperVisitor, UnknownScraper, markers as scrapers};
pub use status::JobStatus;
pub use validate::{
    Evidence, Problem, Report, Severity, ValidateOptions, ValidationErrors, ValidationMode,
};
pub use webhook::{TypedEvent, Webhook, WebhookEvent, WebhookEventName};
