//! Serde types and JSON Schemas for HasData's asynchronous **Scraper Jobs** API.
//!
//! Everything a job sends or receives is here: the body of each of the 20 scrapers
//! ([`bodies`]), their result rows ([`rows`]), the job record and its [`JobStatus`], a results
//! [`ResultsPage`], and [`WebhookEvent`]s. The types absorb the API's quirks (counts sent as
//! strings, a job id that may arrive as text, statuses the docs never listed) and keep every
//! field they do not model, so nothing the server sends is lost.
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
//! body.validate().expect("a valid body");
//!
//! let job: hasdata_model::Job = hasdata_model::decode::from_slice(
//!     br#"{"id": 416349, "status": "finished", "creditsSpent": "5", "dataRowsCount": "1"}"#,
//! ).expect("a status response");
//! assert_eq!(job.id.get(), 416349);
//! assert_eq!(job.credits_spent.get(), 5);
//! assert!(job.status.is_terminal());
//! ```

#[macro_use]
mod open_enum;

pub mod bodies;
pub mod decode;
mod field;
mod job;
mod job_id;
mod lenient;
mod page;
pub mod rows;
pub mod schemas;
mod scraper;
mod status;
pub mod validate;
mod webhook;

pub use field::{IntoFieldValue, Range};
pub use job::{DownloadLinks, Job, ScraperInfo};
pub use job_id::{JobId, ParseJobIdError};
pub use lenient::{Count, NumberOrText};
pub use open_enum::OpenEnum;
pub use page::{PageMeta, ResultRow, ResultsPage};
pub use scraper::{Scraper, ScraperKind, ScraperVisitor, UnknownScraper, markers as scrapers};
pub use status::JobStatus;
pub use validate::{FieldError, ValidateOptions, ValidationErrors};
pub use webhook::{TypedEvent, Webhook, WebhookEvent, WebhookEventName};
