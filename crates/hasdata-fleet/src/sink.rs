//! Where a job's rows go: the [`Sink`] trait, and the default [`JsonlSink`] (one file per job).
//!
//! A sink sees one job at a time through a [`SinkWriter`]: rows in order with their index,
//! then [`SinkWriter::commit`]. The contract every sink keeps:
//!
//! - **complete or absent**: nothing a reader can see until `commit` returns `Ok`; a writer
//!   dropped without `commit` (a worker killed or shut down mid-job) leaves no trace;
//! - **idempotent**: a job collected twice (its worker died after `commit` and before the
//!   queue said `done`) ends up stored once: files are replaced whole, a table keys rows on
//!   (job id, row index).

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use tokio::io::AsyncWriteExt;

use crate::error::{FleetError, Result};

/// The job whose rows a writer takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SinkJob {
    /// The job id as the API sent it.
    pub job_id: String,
    /// The scraper's slug.
    pub slug: String,
    /// The queue item it came from.
    pub item_id: i64,
}

/// A destination for jobs' rows.
#[async_trait]
pub trait Sink: Send + Sync + std::fmt::Debug {
    /// The sink's name (`jsonl`, `parquet`, `postgres`), for messages.
    fn name(&self) -> &'static str;

    /// Starts taking one job's rows.
    async fn begin(&self, job: &SinkJob) -> Result<Box<dyn SinkWriter>>;
}

/// One job's rows on their way into a sink.
#[async_trait]
pub trait SinkWriter: Send {
    /// One row: its 0-based index in the job's output and its JSON text (the bytes the API
    /// sent, compact).
    async fn write_row(&mut self, index: u64, row: &[u8]) -> Result<()>;

    /// Makes the job's rows visible, all at once; returns where they are (a path, a table).
    async fn commit(self: Box<Self>) -> Result<String>;
}

/// A job id as a file name: anything but ASCII letters, digits, `-` and `_` becomes `_`, so a
/// text id from the server can never name a path outside the directory.
pub fn file_stem(job_id: &str) -> String {
    let stem: String = job_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() { "_".into() } else { stem }
}

/// A temporary file beside `target`, named so a sweep can tell whose it is.
pub(crate) fn temp_beside(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let unique: u32 = rand::random();
    target.with_file_name(format!(
        ".{name}.hasdata-tmp.{}.{unique:08x}",
        std::process::id()
    ))
}

/// Makes a written temporary file the target, durably: data synced, renamed over the target
/// (a reader sees the old file or the new one, never part), directory synced.
pub(crate) async fn publish(temp: &Path, target: &Path) -> std::io::Result<()> {
    tokio::fs::rename(temp, target).await?;
    if let Some(dir) = target.parent() {
        // Durability of the rename; a directory that cannot be opened for sync is no error.
        if let Ok(dir) = tokio::fs::File::open(dir).await {
            let _ = dir.sync_all().await;
        }
    }
    Ok(())
}

/// One JSON Lines file per job, `DIR/JOBID.jsonl`, one row per line: the rows' bytes as the
/// API sent them. Written to a temporary file beside it and renamed on commit.
#[derive(Clone, Debug)]
pub struct JsonlSink {
    dir: PathBuf,
}

impl JsonlSink {
    /// A sink writing into `dir` (created when missing).
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)
            .map_err(|e| FleetError::sink("jsonl", format!("--out-dir {}: {e}", dir.display())))?;
        Ok(JsonlSink { dir })
    }

    /// Where a job's file goes.
    pub fn path_of(&self, job_id: &str) -> PathBuf {
        self.dir.join(format!("{}.jsonl", file_stem(job_id)))
    }
}

#[async_trait]
impl Sink for JsonlSink {
    fn name(&self) -> &'static str {
        "jsonl"
    }

    async fn begin(&self, job: &SinkJob) -> Result<Box<dyn SinkWriter>> {
        let target = self.path_of(&job.job_id);
        let temp = temp_beside(&target);
        let file = tokio::fs::File::create(&temp)
            .await
            .map_err(|e| FleetError::sink("jsonl", format!("{}: {e}", temp.display())))?;
        Ok(Box::new(JsonlWriter {
            out: tokio::io::BufWriter::with_capacity(256 * 1024, file),
            temp: Some(temp),
            target,
        }))
    }
}

struct JsonlWriter {
    out: tokio::io::BufWriter<tokio::fs::File>,
    /// The temporary file; `None` once published (so `Drop` leaves it alone).
    temp: Option<PathBuf>,
    target: PathBuf,
}

impl JsonlWriter {
    fn fail(&self, error: std::io::Error) -> FleetError {
        FleetError::sink("jsonl", format!("{}: {error}", self.target.display()))
    }
}

#[async_trait]
impl SinkWriter for JsonlWriter {
    async fn write_row(&mut self, _index: u64, row: &[u8]) -> Result<()> {
        self.out.write_all(row).await.map_err(|e| self.fail(e))?;
        self.out.write_all(b"\n").await.map_err(|e| self.fail(e))
    }

    async fn commit(mut self: Box<Self>) -> Result<String> {
        self.out.flush().await.map_err(|e| self.fail(e))?;
        self.out
            .get_ref()
            .sync_all()
            .await
            .map_err(|e| self.fail(e))?;
        let temp = self.temp.take().unwrap_or_default();
        publish(&temp, &self.target)
            .await
            .map_err(|e| self.fail(e))?;
        Ok(self.target.display().to_string())
    }
}

impl Drop for JsonlWriter {
    fn drop(&mut self) {
        // Not committed: the rows never become visible.
        if let Some(temp) = self.temp.take() {
            let _ = std::fs::remove_file(temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str) -> SinkJob {
        SinkJob {
            job_id: id.into(),
            slug: "contacts".into(),
            item_id: 1,
        }
    }

    #[tokio::test]
    async fn a_committed_job_is_one_file_and_an_abandoned_one_is_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let sink = JsonlSink::new(dir.path()).unwrap();
        let mut writer = sink.begin(&job("41")).await.unwrap();
        writer.write_row(0, br#"{"a":1}"#).await.unwrap();
        writer.write_row(1, br#"{"a":2}"#).await.unwrap();
        let at = writer.commit().await.unwrap();
        assert_eq!(
            std::fs::read_to_string(&at).unwrap(),
            "{\"a\":1}\n{\"a\":2}\n"
        );

        let mut writer = sink.begin(&job("42")).await.unwrap();
        writer.write_row(0, br#"{"a":1}"#).await.unwrap();
        drop(writer);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["41.jsonl"], "no trace of the abandoned job");

        // Collected twice: the file is replaced whole, never appended to.
        let mut writer = sink.begin(&job("41")).await.unwrap();
        writer.write_row(0, br#"{"a":1}"#).await.unwrap();
        writer.write_row(1, br#"{"a":2}"#).await.unwrap();
        writer.commit().await.unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("41.jsonl")).unwrap(),
            "{\"a\":1}\n{\"a\":2}\n"
        );
    }

    #[test]
    fn a_job_id_never_names_a_path_elsewhere() {
        assert_eq!(file_stem("416349"), "416349");
        assert_eq!(file_stem("../../etc/passwd"), "______etc_passwd");
        assert_eq!(file_stem(""), "_");
    }
}
