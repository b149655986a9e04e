//! A PostgreSQL table as a sink: one row per result, keyed on (job id, row index), the row as
//! `jsonb`, for teams whose warehouse is the database the queue already lives in.
//!
//! How the [`Sink`] contract holds:
//!
//! - **streamed, not buffered**: rows go to the server as they come, through `COPY ... FROM
//!   STDIN` into a temporary staging table of the writer's own connection, so a job of millions
//!   of rows never sits in the worker's memory;
//! - **complete or absent**: the staging table is private to that connection; `commit` moves
//!   its rows into the target with one `INSERT ... SELECT`, which readers see all at once or
//!   not at all. A writer dropped before `commit` closes its connection (the server drops the
//!   staging table with it): nothing reaches the target;
//! - **idempotent**: the target's primary key is (job id, row index) and the move is
//!   `ON CONFLICT DO NOTHING`, so a job collected twice is stored once.

use std::pin::Pin;

use async_trait::async_trait;
use deadpool_postgres::{Object, Pool};
use futures::SinkExt;
use tokio_postgres::CopyInSink;
use tokio_postgres::types::ToSql;

use crate::error::{FleetError, Result, error_text};
use crate::sink::{Sink, SinkJob, SinkWriter};

/// The sink's name in messages.
const NAME: &str = "postgres";

/// Bytes of COPY text gathered before they are sent (fewer, larger messages).
const SEND_AT: usize = 256 * 1024;

/// The connection-private staging table.
const STAGE: &str = "pg_temp.hasdata_sink_stage";

fn failed(context: &str) -> impl Fn(tokio_postgres::Error) -> FleetError + '_ {
    move |error| FleetError::sink(NAME, format!("{context}: {}", error_text(&error)))
}

/// Rows into a PostgreSQL table: `(job_id text, row_index bigint, slug text, item_id bigint,
/// row jsonb, collected_at timestamptz)`, primary key `(job_id, row_index)`.
#[derive(Clone)]
pub struct PgSink {
    pool: Pool,
    /// The table, quoted for SQL (`"schema"."name"`).
    table: String,
}

impl std::fmt::Debug for PgSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgSink")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl PgSink {
    /// A sink into `table` (`name` or `schema.name`: letters, digits and `_`, not starting with
    /// a digit), created when missing, on connections from `pool`.
    pub async fn new(pool: Pool, table: &str) -> Result<PgSink> {
        let table = quote_table(table)?;
        let client = pool
            .get()
            .await
            .map_err(|e| FleetError::sink(NAME, format!("connecting: {e}")))?;
        client
            .batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {table} (
                     job_id       TEXT        NOT NULL,
                     row_index    BIGINT      NOT NULL,
                     slug         TEXT        NOT NULL,
                     item_id      BIGINT,
                     row          JSONB       NOT NULL,
                     collected_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                     PRIMARY KEY (job_id, row_index)
                 )"
            ))
            .await
            .or_else(|error| {
                // Two workers creating the table at once: the loser's race is no error.
                if error.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
                    Ok(())
                } else {
                    Err(failed("creating the table")(error))
                }
            })?;
        Ok(PgSink { pool, table })
    }

    /// The table, as SQL names it.
    pub fn table(&self) -> &str {
        &self.table
    }
}

#[async_trait]
impl Sink for PgSink {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn begin(&self, job: &SinkJob) -> Result<Box<dyn SinkWriter>> {
        let client = self
            .pool
            .get()
            .await
            .map_err(|e| FleetError::sink(NAME, format!("connecting: {e}")))?;
        client
            .batch_execute(&format!(
                "CREATE TEMP TABLE IF NOT EXISTS hasdata_sink_stage (row_index BIGINT NOT NULL, row JSONB NOT NULL);
                 TRUNCATE {STAGE}"
            ))
            .await
            .map_err(failed("preparing the staging table"))?;
        let copy = client
            .copy_in(&format!("COPY {STAGE} (row_index, row) FROM STDIN"))
            .await
            .map_err(failed("starting COPY"))?;
        Ok(Box::new(PgWriter {
            client: Some(client),
            copy: Box::pin(copy),
            buffer: Vec::with_capacity(SEND_AT + 4096),
            job: job.clone(),
            table: self.table.clone(),
            rows: 0,
        }))
    }
}

struct PgWriter {
    /// The connection that owns the staging table; `None` once committed.
    client: Option<Object>,
    copy: Pin<Box<CopyInSink<bytes::Bytes>>>,
    /// COPY text not yet sent.
    buffer: Vec<u8>,
    job: SinkJob,
    table: String,
    rows: u64,
}

impl PgWriter {
    async fn send(&mut self) -> Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = bytes::Bytes::from(std::mem::take(&mut self.buffer));
        self.copy.send(chunk).await.map_err(failed("sending rows"))
    }
}

#[async_trait]
impl SinkWriter for PgWriter {
    async fn write_row(&mut self, index: u64, row: &[u8]) -> Result<()> {
        let index = i64::try_from(index)
            .map_err(|_| FleetError::sink(NAME, format!("row index {index} is out of range")))?;
        self.buffer.extend_from_slice(index.to_string().as_bytes());
        self.buffer.push(b'\t');
        copy_text_escape(row, &mut self.buffer);
        self.buffer.push(b'\n');
        self.rows += 1;
        if self.buffer.len() >= SEND_AT {
            self.send().await?;
        }
        Ok(())
    }

    async fn commit(mut self: Box<Self>) -> Result<String> {
        self.send().await?;
        self.copy
            .as_mut()
            .finish()
            .await
            .map_err(failed("finishing COPY (is every row JSON?)"))?;
        let client = self
            .client
            .take()
            .ok_or_else(|| FleetError::sink(NAME, "the writer's connection is gone"))?;
        let item_id: Option<i64> = Some(self.job.item_id);
        let params: [&(dyn ToSql + Sync); 3] = [&self.job.job_id, &self.job.slug, &item_id];
        // One statement: readers see every row of the job at once, or none.
        let inserted = client
            .execute(
                &format!(
                    "INSERT INTO {} (job_id, row_index, slug, item_id, row)
                     SELECT $1, row_index, $2, $3, row FROM {STAGE}
                     ON CONFLICT (job_id, row_index) DO NOTHING",
                    self.table
                ),
                &params,
            )
            .await
            .map_err(failed("moving rows into the table"))?;
        client
            .batch_execute(&format!("TRUNCATE {STAGE}"))
            .await
            .map_err(failed("emptying the staging table"))?;
        tracing::debug!(job = %self.job.job_id, rows = self.rows, inserted, table = %self.table, "rows stored");
        Ok(format!("{} (job {})", self.table, self.job.job_id))
    }
}

impl Drop for PgWriter {
    fn drop(&mut self) {
        // Not committed: close the connection instead of returning it to the pool, so the
        // unfinished COPY and the staged rows die with it and nothing reaches the table.
        if let Some(client) = self.client.take() {
            drop(Object::take(client));
        }
    }
}

/// Appends `bytes` as a field of COPY's text format: backslash, tab, newline and carriage
/// return are escaped (compact JSON has no raw control characters, but a row is outside
/// input and must not break the stream).
fn copy_text_escape(bytes: &[u8], out: &mut Vec<u8>) {
    for &byte in bytes {
        match byte {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            other => out.push(other),
        }
    }
}

/// `name` or `schema.name` as quoted SQL, or a clear error naming the flag.
fn quote_table(table: &str) -> Result<String> {
    let parts: Vec<&str> = table.split('.').collect();
    let valid = |part: &&str| {
        !part.is_empty()
            && part.len() <= 63
            && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !part.as_bytes()[0].is_ascii_digit()
    };
    if parts.len() > 2 || !parts.iter().all(valid) {
        return Err(FleetError::Config(format!(
            "--sink-table {table:?}: a table is `name` or `schema.name`, letters, digits and _ \
             (not starting with a digit), at most 63 each"
        )));
    }
    Ok(parts
        .iter()
        .map(|part| format!("\"{part}\""))
        .collect::<Vec<_>>()
        .join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_are_checked_and_quoted() {
        assert_eq!(quote_table("rows").unwrap(), "\"rows\"");
        assert_eq!(
            quote_table("warehouse.hasdata_rows").unwrap(),
            "\"warehouse\".\"hasdata_rows\""
        );
        for bad in [
            "",
            "a.b.c",
            "1rows",
            "rows; DROP TABLE x",
            "ro\"ws",
            "a.",
            &"x".repeat(64),
        ] {
            assert!(quote_table(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn copy_text_escapes_what_would_break_a_line() {
        let mut out = Vec::new();
        copy_text_escape(b"{\"a\":\"x\\\"y\\\\z\",\"b\":\"\t\"}", &mut out);
        assert_eq!(out, b"{\"a\":\"x\\\\\"y\\\\\\\\z\",\"b\":\"\\t\"}".to_vec());
        let mut out = Vec::new();
        copy_text_escape(b"a\nb\rc", &mut out);
        assert_eq!(out, b"a\\nb\\rc".to_vec());
    }
}
