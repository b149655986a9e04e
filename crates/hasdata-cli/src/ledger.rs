//! The durable job ledger: every submit is recorded in SQLite before its id is printed.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use hasdata_jobs::{JobLedger, LedgerEntry};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// One ledger row.
#[derive(Clone, Debug)]
pub struct Entry {
    pub id: u64,
    pub scraper: String,
    pub submitted_at: String,
    pub origin: Option<String>,
    pub status: Option<String>,
    pub rows: Option<u64>,
    pub credits: Option<u64>,
    pub collected_at: Option<String>,
    pub output: Option<String>,
}

impl Entry {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id, "scraper": self.scraper, "submittedAt": self.submitted_at, "origin": self.origin,
            "status": self.status, "rows": self.rows, "credits": self.credits,
            "collectedAt": self.collected_at, "output": self.output,
        })
    }
}

/// The ledger of one base URL (ids of the simulator and of HasData never mix).
#[derive(Debug)]
pub struct SqliteLedger {
    conn: Mutex<Connection>,
    base_url: String,
}

fn now() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Where the ledger lives unless `--ledger` says otherwise.
pub fn default_path() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("hasdata")
        .join("ledger.sqlite")
}

impl SqliteLedger {
    pub fn open(path: &Path, base_url: &str) -> rusqlite::Result<SqliteLedger> {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path)?;
        // Several `hasdata` processes may share the ledger.
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // Switching a new file to WAL needs an exclusive lock, and SQLite does not wait for it
        // through the busy timeout: retry that setup for a while instead of failing.
        let mut attempt = 0;
        loop {
            match Self::prepare(&conn) {
                Err(rusqlite::Error::SqliteFailure(error, _))
                    if error.code == rusqlite::ErrorCode::DatabaseBusy && attempt < 200 =>
                {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(25));
                }
                other => break other?,
            }
        }
        Ok(SqliteLedger {
            conn: Mutex::new(conn),
            base_url: base_url.to_owned(),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn prepare(conn: &Connection) -> rusqlite::Result<()> {
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            conn.pragma_update(None, "journal_mode", "WAL")?;
        }
        // A recorded id must survive a crash the instant after it is printed.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS jobs (
                base_url     TEXT    NOT NULL,
                id           INTEGER NOT NULL,
                scraper      TEXT    NOT NULL,
                submitted_at TEXT    NOT NULL,
                origin       TEXT,
                status       TEXT,
                rows         INTEGER,
                credits      INTEGER,
                collected_at TEXT,
                output       TEXT,
                record       TEXT    NOT NULL,
                PRIMARY KEY (base_url, id)
            );",
        )
    }

    /// Notes where a job came from (`bodies.jsonl:3`).
    pub fn set_origin(&self, id: u64, origin: &str) -> rusqlite::Result<()> {
        self.conn().execute(
            "UPDATE jobs SET origin = ?3 WHERE base_url = ?1 AND id = ?2",
            params![self.base_url, id as i64, origin],
        )?;
        Ok(())
    }

    /// Notes a job's latest status.
    pub fn set_status(
        &self,
        id: u64,
        status: &str,
        rows: u64,
        credits: u64,
    ) -> rusqlite::Result<()> {
        self.conn().execute(
            "UPDATE jobs SET status = ?3, rows = ?4, credits = ?5 WHERE base_url = ?1 AND id = ?2",
            params![
                self.base_url,
                id as i64,
                status,
                rows as i64,
                credits as i64
            ],
        )?;
        Ok(())
    }

    /// Notes that a job's rows were written to `output`.
    pub fn set_collected(&self, id: u64, output: &str) -> rusqlite::Result<()> {
        self.conn().execute(
            "UPDATE jobs SET collected_at = ?3, output = ?4 WHERE base_url = ?1 AND id = ?2",
            params![self.base_url, id as i64, now(), output],
        )?;
        Ok(())
    }

    fn entry(row: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
        Ok(Entry {
            id: row.get::<_, i64>(0)? as u64,
            scraper: row.get(1)?,
            submitted_at: row.get(2)?,
            origin: row.get(3)?,
            status: row.get(4)?,
            rows: row.get::<_, Option<i64>>(5)?.map(|v| v as u64),
            credits: row.get::<_, Option<i64>>(6)?.map(|v| v as u64),
            collected_at: row.get(7)?,
            output: row.get(8)?,
        })
    }

    const COLUMNS: &'static str =
        "id, scraper, submitted_at, origin, status, rows, credits, collected_at, output";

    /// Every job of this base URL, newest first.
    pub fn list(&self) -> rusqlite::Result<Vec<Entry>> {
        let conn = self.conn();
        let mut statement = conn.prepare(&format!(
            "SELECT {} FROM jobs WHERE base_url = ?1 ORDER BY submitted_at DESC, id DESC",
            Self::COLUMNS
        ))?;
        let rows = statement.query_map(params![self.base_url], Self::entry)?;
        rows.collect()
    }

    /// One job.
    pub fn get(&self, id: u64) -> rusqlite::Result<Option<Entry>> {
        let conn = self.conn();
        conn.query_row(
            &format!(
                "SELECT {} FROM jobs WHERE base_url = ?1 AND id = ?2",
                Self::COLUMNS
            ),
            params![self.base_url, id as i64],
            Self::entry,
        )
        .optional()
    }

    /// Jobs whose rows were never written anywhere, oldest first.
    pub fn uncollected(&self) -> rusqlite::Result<Vec<Entry>> {
        let mut all = self.list()?;
        all.retain(|e| e.collected_at.is_none());
        all.reverse();
        Ok(all)
    }
}

impl JobLedger for SqliteLedger {
    fn record(&self, entry: &LedgerEntry) -> Result<(), String> {
        let record = serde_json::to_string(&entry.record).map_err(|e| e.to_string())?;
        self.conn()
            .execute(
                "INSERT OR REPLACE INTO jobs (base_url, id, scraper, submitted_at, status, rows, credits, record)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, 0, ?6)",
                params![
                    self.base_url,
                    entry.job_id.get() as i64,
                    entry.scraper.as_str(),
                    now(),
                    entry.record.status.as_str(),
                    record
                ],
            )
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
